/**
 * A PEFT LoRA adapter in memory: its validated config and, per targeted module,
 * A [r, in], B [out, r] and the scale s, so that W' = W + s·B·A (PyTorch
 * layout, W [out, in]). Nothing here knows about ONNX; patch.ts applies it.
 */
import { AdapterError } from './errors';
import { moduleScale, parseLoraConfig, sameBaseModel, whyNotTargeted, type LoraConfig } from './config';
import { readSafetensors, type SafetensorsTensor } from './safetensors';

export interface LoraModule {
  /** The module's name in the PyTorch model, e.g. "model.layers.0.self_attn.q_proj". */
  name: string;
  /** Layer index, when the name has one. */
  layer: number | null;
  /** Last name part: "q_proj", "gate_proj", … */
  kind: string;
  r: number;
  inFeatures: number;
  outFeatures: number;
  /** [r, in], row-major. */
  A: Float32Array;
  /** [out, r], row-major. */
  B: Float32Array;
  /** The adapter's own scale (alpha/r or alpha/√r) times the user's scale. */
  scale: number;
}

export interface LoraAdapter {
  config: LoraConfig;
  modules: LoraModule[];
  /** The multiplier the user asked for (AdapterRef.scale, default 1). */
  userScale: number;
}

export interface AdapterFiles {
  /** adapter_config.json, as text or bytes. */
  config: string | Uint8Array;
  /** adapter_model.safetensors. */
  weights: Uint8Array;
}

export interface BuildAdapterOptions {
  /** AdapterRef.scale (default 1). */
  scale?: number;
  /** The base model's id or folder: checked against base_model_name_or_path when both are known. */
  baseModel?: string;
}

const PREFIX = 'base_model.model.';

export function buildLoraAdapter(files: AdapterFiles, opts: BuildAdapterOptions = {}): LoraAdapter {
  const configText = typeof files.config === 'string' ? files.config : new TextDecoder().decode(files.config);
  const config = parseLoraConfig(configText);
  const userScale = opts.scale ?? 1;
  if (!Number.isFinite(userScale)) throw new AdapterError('corrupt', `the adapter scale must be a finite number, got ${userScale}`, 'scale');
  if (opts.baseModel && config.baseModel && !sameBaseModel(config.baseModel, opts.baseModel))
    throw new AdapterError(
      'mismatch',
      `the adapter was trained on "${config.baseModel}" (base_model_name_or_path) but the model is "${opts.baseModel}"`,
      'base_model_name_or_path',
    );

  const { tensors } = readSafetensors(files.weights);
  const pairs = new Map<string, { A?: SafetensorsTensor; B?: SafetensorsTensor }>();
  for (const [key, t] of tensors) {
    if (/\.lora_magnitude_vector(\.|$)/.test(key)) throw new AdapterError('unsupported', `the weights hold DoRA magnitudes (${key}); use_dora adapters are not supported`, 'use_dora');
    if (/\.lora_embedding_[AB](\.|$)/.test(key))
      throw new AdapterError('unsupported', `the weights hold an embedding LoRA (${key}); target_modules may only name linear projections`, 'target_modules');
    if (/\.lora_B\.bias$/.test(key)) throw new AdapterError('unsupported', `the weights hold a LoRA bias (${key}); lora_bias is not supported`, 'lora_bias');
    const m = /^(.*)\.lora_([AB])\.weight$/.exec(key);
    if (!m || !m[1].startsWith(PREFIX))
      throw new AdapterError('unsupported', `the weights hold "${key}", which is not a LoRA A/B matrix (modules_to_save or another method?)`, key);
    const module = m[1].slice(PREFIX.length);
    const entry = pairs.get(module) ?? {};
    entry[m[2] as 'A' | 'B'] = t;
    pairs.set(module, entry);
  }
  if (!pairs.size) throw new AdapterError('corrupt', 'adapter_model.safetensors holds no LoRA weights');

  const modules: LoraModule[] = [];
  for (const [name, { A, B }] of pairs) {
    if (!A || !B) throw new AdapterError('corrupt', `module ${name} has lora_${A ? 'B' : 'A'}.weight missing`, `${PREFIX}${name}.lora_${A ? 'B' : 'A'}.weight`);
    const why = whyNotTargeted(config, name);
    if (why) throw new AdapterError('inconsistent', `the weights adapt ${name}, which the config's ${why} rules out`, why);
    if (A.shape.length !== 2 || B.shape.length !== 2 || A.shape[0] !== B.shape[1])
      throw new AdapterError('corrupt', `module ${name}: lora_A [${A.shape}] and lora_B [${B.shape}] are not [r, in] and [out, r]`, `${PREFIX}${name}.lora_A.weight`);
    const { r, scale } = moduleScale(config, name);
    if (A.shape[0] !== r) {
      const field = Object.keys(config.rankPattern).length ? 'rank_pattern' : 'r';
      throw new AdapterError('inconsistent', `module ${name} has rank ${A.shape[0]} in the weights but ${r} by the config's ${field}`, field);
    }
    for (const t of [A, B])
      for (const v of t.data) if (!Number.isFinite(v)) throw new AdapterError('corrupt', `tensor ${t.name} contains ${v} (NaN or infinite values)`, t.name);
    const layer = /\.(\d+)\./.exec(name);
    modules.push({
      name,
      layer: layer ? Number(layer[1]) : null,
      kind: name.split('.').pop()!,
      r,
      inFeatures: A.shape[1],
      outFeatures: B.shape[0],
      A: A.data,
      B: B.data,
      scale: scale * userScale,
    });
  }
  modules.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { config, modules, userScale };
}

/** The dense update s·B·A [out, in] of one module in float64 (tests' references and merging). */
export function deltaWeight(m: LoraModule): Float64Array {
  const d = new Float64Array(m.outFeatures * m.inFeatures);
  for (let o = 0; o < m.outFeatures; o++)
    for (let k = 0; k < m.r; k++) {
      const b = m.scale * m.B[o * m.r + k];
      if (b === 0) continue;
      for (let i = 0; i < m.inFeatures; i++) d[o * m.inFeatures + i] += b * m.A[k * m.inFeatures + i];
    }
  return d;
}
