/**
 * The few globals the pure core may use: present in browsers, workers and
 * Node ≥ 18 alike, but not in the ES library. Only tsconfig.lib.json reads
 * this file (the app and Node configs get them from DOM / @types/node).
 */
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** UTF-8 text codecs (the adapter reader, the ONNX patcher). */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
