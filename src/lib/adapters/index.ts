/** LoRA adapters: reading PEFT files, validating them, and patching ONNX graphs with them. */
export * from './errors';
export * from './safetensors';
export * from './config';
export * from './adapter';
export * from './patch';
export * from './source';
export { readOnnxGraph, ONNX_FLOAT, ONNX_FLOAT16 } from './onnx-graph';
export type { OnnxGraph, OnnxNode, OnnxInitializer } from './onnx-graph';
