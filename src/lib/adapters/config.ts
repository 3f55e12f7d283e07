/**
 * PEFT's adapter_config.json for LoRA: the fields that change the math are
 * honoured the way PEFT reads them (peft 0.21: check_target_module_exists,
 * get_pattern_key); fields whose effect the lab cannot reproduce exactly are
 * refused with an error naming the field.
 */
import { AdapterError } from './errors';

export interface LoraConfig {
  r: number;
  loraAlpha: number;
  useRslora: boolean;
  /** A list of module-name suffixes, a regex matched against the whole name, or 'all-linear'. */
  targetModules: string[] | { regex: string } | 'all-linear';
  excludeModules: string[] | { regex: string } | null;
  layersToTransform: number[] | null;
  layersPattern: string[] | null;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  /** PEFT forces it off for nn.Linear; the side branch x·Aᵀ·Bᵀ is the same either way. */
  fanInFanOut: boolean;
  baseModel: string | null;
}

const unsupported = (field: string, why: string) =>
  new AdapterError('unsupported', `adapter_config.json: ${field} ${why}; the lab applies plain LoRA on linear projections only, exactly, or not at all`, field);
const bad = (field: string, why: string) => new AdapterError('corrupt', `adapter_config.json: ${field} ${why}`, field);

const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const nonEmpty = (v: unknown) => v !== null && v !== undefined && v !== false && !(Array.isArray(v) && !v.length) && !(typeof v === 'object' && !Array.isArray(v) && !Object.keys(v as object).length);

function fullRegex(field: string, source: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    throw bad(field, `is not a regular expression the lab can read: ${JSON.stringify(source)}`);
  }
}

function numberMap(field: string, v: unknown): Record<string, number> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(field, 'must be an object of module pattern → number');
  for (const [k, n] of Object.entries(v)) {
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw bad(field, `has a bad value for "${k}": ${JSON.stringify(n)}`);
    fullRegex(field, k);
  }
  return v as Record<string, number>;
}

/** Parses and validates adapter_config.json (text or parsed JSON). */
export function parseLoraConfig(input: string | unknown): LoraConfig {
  let c: Record<string, unknown>;
  try {
    c = typeof input === 'string' ? JSON.parse(input) : (input as Record<string, unknown>);
  } catch {
    throw new AdapterError('corrupt', 'adapter_config.json is not valid JSON');
  }
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw new AdapterError('corrupt', 'adapter_config.json is not a JSON object');

  if (c.peft_type !== undefined && c.peft_type !== 'LORA') throw unsupported('peft_type', `is ${JSON.stringify(c.peft_type)}, not LORA`);
  if (c.use_dora) throw unsupported('use_dora', 'is set (DoRA rescales the whole weight)');
  if (c.bias !== undefined && c.bias !== 'none') throw unsupported('bias', `is ${JSON.stringify(c.bias)} (trained biases change the base model)`);
  if (c.lora_bias) throw unsupported('lora_bias', 'is set (a bias on lora_B)');
  if (nonEmpty(c.modules_to_save)) throw unsupported('modules_to_save', `lists ${JSON.stringify(c.modules_to_save)} (fully retrained modules)`);
  if (nonEmpty(c.trainable_token_indices)) throw unsupported('trainable_token_indices', 'is set (retrained embedding rows)');
  if (nonEmpty(c.target_parameters)) throw unsupported('target_parameters', 'is set (LoRA on raw parameters)');
  if (nonEmpty(c.layer_replication)) throw unsupported('layer_replication', 'is set (it duplicates layers)');
  if (nonEmpty(c.alora_invocation_tokens)) throw unsupported('alora_invocation_tokens', 'is set (activated LoRA)');
  const init = c.init_lora_weights;
  if (typeof init === 'string' && /^(pissa|olora|corda|loftq)/i.test(init))
    throw unsupported('init_lora_weights', `is "${init}" (it rewrites the base weights, which the adapter file does not carry)`);

  const r = c.r ?? 8;
  if (!Number.isSafeInteger(r) || (r as number) <= 0) throw bad('r', `must be a positive integer, got ${JSON.stringify(c.r)}`);
  const loraAlpha = c.lora_alpha ?? 8;
  if (typeof loraAlpha !== 'number' || !Number.isFinite(loraAlpha)) throw bad('lora_alpha', `must be a number, got ${JSON.stringify(c.lora_alpha)}`);

  let targetModules: LoraConfig['targetModules'];
  const t = c.target_modules;
  if (t === 'all-linear') targetModules = 'all-linear';
  else if (typeof t === 'string') {
    fullRegex('target_modules', t);
    targetModules = { regex: t };
  } else if (isStrList(t) && t.length) targetModules = t;
  else throw bad('target_modules', `must be a list of module names, a regex or "all-linear", got ${JSON.stringify(t)}`);

  let excludeModules: LoraConfig['excludeModules'] = null;
  const x = c.exclude_modules;
  if (typeof x === 'string') {
    fullRegex('exclude_modules', x);
    excludeModules = { regex: x };
  } else if (isStrList(x)) excludeModules = x;
  else if (x !== null && x !== undefined) throw bad('exclude_modules', 'must be a list or a regex');

  let layersToTransform: number[] | null = null;
  const l = c.layers_to_transform;
  if (Number.isSafeInteger(l)) layersToTransform = [l as number];
  else if (Array.isArray(l) && l.every((i) => Number.isSafeInteger(i))) layersToTransform = l as number[];
  else if (l !== null && l !== undefined) throw bad('layers_to_transform', 'must be a layer index or a list of them');
  const p = c.layers_pattern;
  const layersPattern = typeof p === 'string' ? [p] : isStrList(p) && p.length ? p : null;

  const base = c.base_model_name_or_path;
  return {
    r: r as number,
    loraAlpha,
    useRslora: c.use_rslora === true,
    targetModules,
    excludeModules,
    layersToTransform,
    layersPattern,
    rankPattern: numberMap('rank_pattern', c.rank_pattern),
    alphaPattern: numberMap('alpha_pattern', c.alpha_pattern),
    fanInFanOut: c.fan_in_fan_out === true,
    baseModel: typeof base === 'string' && base ? base : null,
  };
}

const endsWithModule = (name: string, list: string[]) => list.some((k) => name === k || name.endsWith(`.${k}`));

/** Whether PEFT would put a LoRA layer on `module` (a name like "model.layers.0.self_attn.q_proj"); null if so, else the field that rules it out. */
export function whyNotTargeted(c: LoraConfig, module: string): string | null {
  const x = c.excludeModules;
  if (x && ('regex' in x ? fullRegex('exclude_modules', x.regex).test(module) : endsWithModule(module, x))) return 'exclude_modules';
  const t = c.targetModules;
  const found =
    t === 'all-linear' ? !/(^|\.)lm_head$/.test(module) : 'regex' in t ? fullRegex('target_modules', t.regex).test(module) : endsWithModule(module, t);
  if (!found) return 'target_modules';
  if (c.layersToTransform) {
    const patterns = c.layersPattern ?? [null];
    let index: number | null = null;
    for (const pat of patterns) {
      const m = new RegExp(pat === null ? String.raw`^.*\.[^.]*\.(\d+)\.` : String.raw`^.*\.${pat}\.(\d+)\.`).exec(module);
      if (m) {
        index = Number(m[1]);
        break;
      }
    }
    if (index === null || !c.layersToTransform.includes(index)) return 'layers_to_transform';
  }
  return null;
}

/** PEFT's get_pattern_key: the first pattern key k with `(.*\.)?(k)$` matching the module name. */
function patternValue(pattern: Record<string, number>, module: string): number | undefined {
  for (const [k, v] of Object.entries(pattern)) if (new RegExp(String.raw`^(.*\.)?(${k})$`).test(module)) return v;
  return undefined;
}

/** Rank, alpha and the adapter's own scale (alpha/r, or alpha/√r with rsLoRA) for one module. */
export function moduleScale(c: LoraConfig, module: string): { r: number; alpha: number; scale: number } {
  const r = patternValue(c.rankPattern, module) ?? c.r;
  const alpha = patternValue(c.alphaPattern, module) ?? c.loraAlpha;
  return { r, alpha, scale: c.useRslora ? alpha / Math.sqrt(r) : alpha / r };
}

/**
 * Whether an adapter made for `adapterBase` fits `model` (ids, URLs or folders).
 * Compared by the last path segment, case-insensitively and without ONNX-export
 * suffixes, because the lab runs ONNX conversions ("onnx-community/Qwen2.5-0.5B-Instruct")
 * of the models PEFT trained on ("Qwen/Qwen2.5-0.5B-Instruct").
 */
export function sameBaseModel(adapterBase: string, model: string): boolean {
  const norm = (s: string) =>
    (s.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? s)
      .toLowerCase()
      .replace(/([-_.](onnx|web|ort|int8|fp16|q4|q4f16|quantized))+$/, '');
  return norm(adapterBase) === norm(model);
}
