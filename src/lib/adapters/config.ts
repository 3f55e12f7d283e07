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

/**
 * init_lora_weights, dispatched as PEFT 0.21's LoraLayer.update_layer does (tuners/lora/layer.py).
 * Accepted: those that only initialise A and B (the file's trained A and B replace them).
 * Refused by name: those that also rewrite the base weight when the adapter is made — the
 * adapter was trained on top of that rewritten weight, which the file does not carry — and
 * values PEFT does not know.
 */
const INIT_REWRITES: [test: (v: string) => boolean, what: string][] = [
  [(v) => v.startsWith('pissa'), 'PiSSA moves the principal singular components of W into A and B: W becomes W − s·B₀A₀'],
  [(v) => v.startsWith('corda'), 'CorDA moves context-oriented components of W into A and B: W becomes W − s·B₀A₀'],
  [(v) => v.toLowerCase() === 'olora', 'OLoRA moves a QR factor of W into A and B: W becomes W − s·B₀A₀'],
  [(v) => v === 'loftq', 'LoftQ replaces W by its quantized residual'],
  [(v) => v === 'lora_ga', 'LoRA-GA sets A and B from gradients and W becomes W − s·B₀A₀'],
];
/** Kaiming/zero (true), random (false, "" or null: PEFT's falsy values), Gaussian, EVA (B = 0), orthogonal, MiCA (B from W's SVD, A = 0; W untouched). */
const INIT_AB_ONLY = (v: string) => v === '' || v === 'eva' || v === 'orthogonal' || ['gaussian', 'mica'].includes(v.toLowerCase());

function checkInit(v: unknown): void {
  if (v === undefined || v === null || typeof v === 'boolean') return;
  if (typeof v !== 'string') throw bad('init_lora_weights', `must be true, false or the name of an initialisation, got ${JSON.stringify(v)}`);
  const rewrite = INIT_REWRITES.find(([test]) => test(v));
  if (rewrite) throw unsupported('init_lora_weights', `is "${v}" (${rewrite[1]}; that rewritten base weight is not in the adapter file)`);
  if (!INIT_AB_ONLY(v)) throw unsupported('init_lora_weights', `is "${v}", an initialisation PEFT 0.21 does not know`);
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
  checkInit(c.init_lora_weights);

  const r = c.r ?? 8;
  if (!Number.isSafeInteger(r) || (r as number) <= 0) throw bad('r', `must be a positive integer, got ${JSON.stringify(c.r)}`);
  const loraAlpha = c.lora_alpha ?? 8;
  if (typeof loraAlpha !== 'number' || !Number.isFinite(loraAlpha)) throw bad('lora_alpha', `must be a number, got ${JSON.stringify(c.lora_alpha)}`);

  let targetModules: LoraConfig['targetModules'];
  const t = c.target_modules;
  if (typeof t === 'string' && t.toLowerCase() === 'all-linear') targetModules = 'all-linear';
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

  // LoraConfig.__post_init__'s checks (PEFT refuses these configs when it loads them).
  const l = c.layers_to_transform;
  const p = c.layers_pattern;
  if (typeof t === 'string' && l !== null && l !== undefined) throw bad('layers_to_transform', 'cannot be used when target_modules is a string (PEFT refuses this config)');
  if (typeof t === 'string' && p !== null && p !== undefined) throw bad('layers_pattern', 'cannot be used when target_modules is a string (PEFT refuses this config)');
  if (nonEmpty(p) && p !== '' && (l === null || l === undefined)) throw bad('layers_pattern', 'is set without layers_to_transform (PEFT refuses this config)');
  let layersToTransform: number[] | null = null;
  // An empty list restricts nothing (PEFT: "is_using_layer_indexes" is false).
  if (Number.isSafeInteger(l)) layersToTransform = [l as number];
  else if (Array.isArray(l) && l.every((i) => Number.isSafeInteger(i))) layersToTransform = l.length ? (l as number[]) : null;
  else if (l !== null && l !== undefined) throw bad('layers_to_transform', 'must be a layer index or a list of them');
  // None, "" and [] all mean PEFT's default pattern; each pattern must be a regex the lab can read.
  const layersPattern = typeof p === 'string' && p ? [p] : isStrList(p) && p.length ? p : null;
  if (p !== null && p !== undefined && typeof p !== 'string' && !isStrList(p)) throw bad('layers_pattern', 'must be a name or a list of names');
  for (const pat of layersPattern ?? []) layerRegex(pat);

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

/**
 * PEFT's layer-index regexes (check_target_module_exists): the lazy `.*?` takes the first
 * numbered segment — the layer, not an expert index as in "layers.1.experts.0" — and a
 * pattern may match at the start of the name.
 */
const DEFAULT_LAYER_RE = /^.*?\.[^.]*\.(\d+)\./;
function layerRegex(pattern: string): RegExp {
  try {
    return new RegExp(String.raw`^(?:^|.*?\.)${pattern}\.(\d+)\.`);
  } catch {
    throw bad('layers_pattern', `is not a regular expression the lab can read: ${JSON.stringify(pattern)}`);
  }
}

/**
 * Whether PEFT would put a LoRA layer on `module` (a name like "model.layers.0.self_attn.q_proj");
 * null if so, else the field that rules it out. As PEFT 0.21's check_target_module_exists: a
 * name listed exactly in target_modules skips the layer check.
 */
export function whyNotTargeted(c: LoraConfig, module: string): string | null {
  const x = c.excludeModules;
  if (x && ('regex' in x ? fullRegex('exclude_modules', x.regex).test(module) : endsWithModule(module, x))) return 'exclude_modules';
  const t = c.targetModules;
  if (t === 'all-linear') return /(^|\.)lm_head$/.test(module) ? 'target_modules' : null;
  if ('regex' in t) return fullRegex('target_modules', t.regex).test(module) ? null : 'target_modules';
  if (t.includes(module)) return null;
  if (!endsWithModule(module, t)) return 'target_modules';
  if (c.layersToTransform) {
    let m: RegExpExecArray | null = null;
    for (const re of c.layersPattern ? c.layersPattern.map(layerRegex) : [DEFAULT_LAYER_RE]) if ((m = re.exec(module))) break;
    if (!m || !c.layersToTransform.includes(Number(m[1]))) return 'layers_to_transform';
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
