/**
 * The one error every adapter problem becomes: bad files, configs the lab
 * cannot apply exactly, an adapter made for another base model. `field` names
 * the config field or tensor at fault so the message can say what to change.
 */
export type AdapterErrorCode =
  /** The safetensors / JSON bytes are malformed (truncated, corrupt, out of range). */
  | 'corrupt'
  /** A file the adapter needs is missing, or in a format the lab does not read (adapter_model.bin). */
  | 'missing_file'
  /** The config asks for something the lab cannot apply exactly (DoRA, LoRA bias, modules_to_save …). */
  | 'unsupported'
  /** The config and the weights disagree with each other. */
  | 'inconsistent'
  /** The adapter does not fit the base model (other base model, missing module, shape). */
  | 'mismatch'
  /** The ONNX graph is not in a layout the patcher knows. */
  | 'layout';

export class AdapterError extends Error {
  override name = 'AdapterError';
  constructor(
    readonly code: AdapterErrorCode,
    message: string,
    /** The config field or tensor name at fault, when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}
