/**
 * adapter_config.json as PEFT 0.21 itself reads it (python/peft_probe.py runs the venv's PEFT):
 * the same configs must target the same modules in the lab and in PEFT, configs PEFT refuses
 * are refused, and of the init_lora_weights values those that rewrite the base weights (or that
 * PEFT does not know) are refused by name while those that only initialise A and B are accepted.
 * Skips, saying why, where the project venv is missing.
 */
import { describe, expect, it } from 'vitest';
import { AdapterError, parseLoraConfig, whyNotTargeted } from '../src/lib/adapters';
import { pythonSkip, runPython } from './support/python';

const MODULES = [
  ...[0, 1, 2].flatMap((l) => ['q', 'k', 'v', 'o'].map((p) => `model.layers.${l}.self_attn.${p}_proj`)),
  ...[0, 1].flatMap((l) => ['gate', 'up', 'down'].map((p) => `model.layers.${l}.mlp.${p}_proj`)),
  // A mixture-of-experts layer: the expert index follows the layer index.
  ...[0, 1].flatMap((e) => ['gate', 'down'].map((p) => `model.layers.2.mlp.experts.${e}.${p}_proj`)),
  ...[0, 1].map((l) => `transformer.h.${l}.attn.c_attn`),
];

const CONFIGS: Record<string, object> = {
  'a list': { target_modules: ['q_proj', 'v_proj'] },
  'layers_to_transform: [] (no restriction)': { target_modules: ['q_proj', 'v_proj'], layers_to_transform: [] },
  'layers_pattern: "" (the default pattern)': { target_modules: ['q_proj', 'down_proj'], layers_to_transform: [1], layers_pattern: '' },
  'layers_pattern: [] (the default pattern)': { target_modules: ['q_proj'], layers_to_transform: [0], layers_pattern: [] },
  'layers_pattern: "model.layers" (a match at the start)': { target_modules: ['q_proj', 'down_proj'], layers_to_transform: [1], layers_pattern: 'model.layers' },
  'MoE, default pattern (the layer index, not the expert index)': { target_modules: ['down_proj'], layers_to_transform: [1] },
  'MoE, layers_pattern "layers"': { target_modules: ['down_proj', 'gate_proj'], layers_to_transform: [2], layers_pattern: 'layers' },
  'an exact name skips the layer check': { target_modules: ['model.layers.0.self_attn.q_proj', 'v_proj'], layers_to_transform: [1] },
  'an int and two patterns': { target_modules: ['c_attn', 'q_proj'], layers_to_transform: 1, layers_pattern: ['h', 'layers'] },
  'exclude_modules list': { target_modules: ['q_proj', 'k_proj'], exclude_modules: ['model.layers.1.self_attn.k_proj', 'q_proj'] },
  'regex target and regex exclusion': { target_modules: String.raw`.*\.layers\.[01]\.self_attn\.(q|v)_proj`, exclude_modules: String.raw`.*\.layers\.1\..*` },
  'all-linear (no lm_head here)': { target_modules: 'all-linear', exclude_modules: ['c_attn'] },
  'ALL-LINEAR': { target_modules: 'ALL-LINEAR' },
  'all-linear with layers_to_transform (PEFT refuses)': { target_modules: 'all-linear', layers_to_transform: [0] },
  'a regex with layers_to_transform: [] (PEFT refuses)': { target_modules: '.*q_proj', layers_to_transform: [] },
  'a regex with layers_pattern (PEFT refuses)': { target_modules: '.*q_proj', layers_pattern: 'layers' },
  'layers_pattern without layers_to_transform (PEFT refuses)': { target_modules: ['q_proj'], layers_pattern: 'layers' },
};

type Outcome = { targeted: string[] } | { error: string };

function lab(config: object): Outcome {
  try {
    const c = parseLoraConfig({ peft_type: 'LORA', r: 8, lora_alpha: 16, ...config });
    return { targeted: MODULES.filter((m) => whyNotTargeted(c, m) === null).sort() };
  } catch (e) {
    if (!(e instanceof AdapterError)) throw e;
    return { error: e.message };
  }
}

describe.skipIf(pythonSkip)('adapter_config.json as PEFT 0.21 reads it', () => {
  it('targets the same modules as PEFT for every layer-selection case, and refuses what PEFT refuses', () => {
    const names = Object.keys(CONFIGS);
    const peft: Outcome[] = JSON.parse(runPython('peft_probe.py', ['targets', JSON.stringify({ modules: MODULES, configs: Object.values(CONFIGS) })]));
    const rows = names.map((name, i) => ({ name, peft: peft[i], lab: lab(CONFIGS[name]) }));
    for (const r of rows) console.log(`${r.name}: PEFT ${'error' in r.peft ? `refuses (${r.peft.error.slice(0, 90)})` : r.peft.targeted.length + ' modules'}, lab ${'error' in r.lab ? `refuses (${r.lab.error})` : r.lab.targeted.length + ' modules'}`);
    for (const r of rows) {
      if ('error' in r.peft) expect('error' in r.lab, `${r.name}: PEFT refuses (${r.peft.error}), the lab accepts`).toBe(true);
      else expect(r.lab, r.name).toEqual({ targeted: r.peft.targeted });
    }
    // The cases are not vacuous: each layer-selection case targets some modules and leaves others.
    for (const r of rows.filter((x) => 'targeted' in x.peft && /layers_|MoE|exact/.test(x.name)))
      expect((r.peft as { targeted: string[] }).targeted.length, r.name).toBeGreaterThan(0);
  });

  it('refuses by name the init_lora_weights values that rewrite the base weights or that PEFT does not know, and accepts the rest', () => {
    const values = [true, false, null, '', 'gaussian', 'Gaussian', 'eva', 'orthogonal', 'mica', 'MICA', 'pissa', 'pissa_niter_4', 'olora', 'OLoRA', 'corda', 'loftq', 'lora_ga', 'kaiming', 'PISSA'];
    // Read in PEFT 0.21's source where the probe cannot run the method (LoftQ needs scipy, not in the venv):
    // loftq_init sets the base layer's weight to its quantized residual.
    const bySource = new Map([['loftq', 'rewrites']]);
    const peft: ({ rewrites: boolean } | { error: string } | { skipped: string })[] = JSON.parse(runPython('peft_probe.py', ['init', JSON.stringify({ values })]));
    values.forEach((v, i) => {
      const p = peft[i];
      const refuse = 'skipped' in p ? bySource.get(String(v)) === 'rewrites' : 'error' in p || p.rewrites;
      console.log(`init_lora_weights ${JSON.stringify(v)}: PEFT ${JSON.stringify(p)} → the lab ${refuse ? 'refuses' : 'accepts'}`);
      const config = { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj'], init_lora_weights: v };
      if (!refuse) {
        expect(() => parseLoraConfig(config), JSON.stringify(v)).not.toThrow();
        return;
      }
      let err: unknown;
      try {
        parseLoraConfig(config);
      } catch (e) {
        err = e;
      }
      expect(err, `${JSON.stringify(v)} must be refused`).toBeInstanceOf(AdapterError);
      expect((err as AdapterError).field).toBe('init_lora_weights');
      expect((err as AdapterError).message).toContain(`"${v}"`);
    });
    expect(peft.filter((p) => 'rewrites' in p && p.rewrites).length).toBeGreaterThanOrEqual(6);
  });
});
