/**
 * Which engine runs a model, per model, for the UI and the engine provider:
 * the user's choice (auto / transformers.js / WebLLM, the spec's
 * `ModelRef.engine`), what this browser offers (WebGPU, shader-f16) and
 * whether WebLLM ships a build of the model (src/lib/models/webllm-catalog)
 * go to `chooseEngine`, which gives the engine and a reason in plain words.
 * This module adds what only the app knows: folders served by this site and
 * an explicit CPU device (WebLLM runs only its own downloaded builds, and only
 * on the GPU), the WebLLM build to load, and the words for a fallback after
 * WebLLM failed to load. What was chosen and why is kept with the run (see
 * `ChosenCapabilities`). Pure.
 */
import { chooseEngine, fallbackAfterLoadFailure, type EngineDecision, type EngineUserChoice } from '../lib/engine/choose';
import { EngineError, type EngineCapabilities, type EngineChoiceRecord, type EngineErrorCode, type EngineName } from '../lib/engine/types';

export type { EngineChoiceRecord } from '../lib/engine/types';
import { findModel } from '../lib/models/catalog';
import { pickWebLLMModel } from '../lib/models/webllm-catalog';
import type { DeviceChoice } from '../lib/experiment/spec';
import { modelSource, type ModelSource } from './local-models';

export type { EngineUserChoice } from '../lib/engine/choose';

export const ENGINE_LABEL: Record<EngineName, string> = { transformers: 'transformers.js', webllm: 'WebLLM', openai: 'OpenAI-compatible server', simulated: 'simulated (no model)' };

export const ENGINE_CHOICES: ReadonlyArray<readonly [EngineUserChoice, string]> = [
  ['auto', 'Automatic'],
  ['transformers', 'transformers.js'],
  ['webllm', 'WebLLM'],
];

const CHOICES = new Set<string>(['auto', 'transformers', 'webllm']);

export function isEngineChoice(v: unknown): v is EngineUserChoice {
  return typeof v === 'string' && CHOICES.has(v);
}

/** Stored per-model choices (model id → choice), keeping only valid entries. */
export function cleanEngineChoices(v: unknown): Record<string, EngineUserChoice> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v).filter(([, c]) => isEngineChoice(c) && c !== 'auto')) as Record<string, EngineUserChoice>;
}

/** What the choice needs to know of a model. */
export interface EngineModelInfo {
  id: string;
  label?: string;
  /** The family key shared by both catalogs ("qwen2.5-0.5b"), when known. */
  family?: string;
  /** A folder served by this site (transformers.js only). */
  local?: boolean;
  /** The LoRA adapter applied to it, if any (transformers.js only). */
  adapter?: string;
}

/** What the browser offers (DeviceReport has both). */
export interface EngineDevice {
  webgpu: boolean;
  shaderF16: boolean;
}

export interface EnginePlan extends EngineDecision {
  /** What the user asked for ('auto' when nothing). */
  requested: EngineUserChoice;
  /** The WebLLM build for this model on this device (q4f16 with shader-f16, else q4f32); null when WebLLM has none or cannot run it. */
  webllmModel: string | null;
}

/** The engine choice kept with a run: in `RunMeta.engines[key].choice`, next to what actually loaded. */
/** EngineCapabilities with the choice that led to it (what the provider returns and the run stores). */
export type ChosenCapabilities = EngineCapabilities;

/** The choice stored with a run's engine, if any (older runs have none). */
export function choiceOf(caps: EngineCapabilities | undefined | null): EngineChoiceRecord | null {
  const c = (caps as ChosenCapabilities | undefined | null)?.choice;
  return c && typeof c === 'object' && typeof c.reason === 'string' ? c : null;
}

/** A model id as the choice sees it: catalog entries bring label and family; served folders are local. `source`: where the id points, when already known. */
export function engineModelInfo(id: string, localModels?: string | null, known?: { label?: string; family?: string; local?: boolean }, source?: ModelSource): EngineModelInfo {
  const entry = findModel(id);
  const local = known?.local ?? (!entry && (source ?? modelSource(id, localModels)).kind === 'local');
  return {
    id,
    label: known?.label ?? entry?.label,
    family: entry?.family ?? (local ? undefined : known?.family),
    local,
  };
}

function displayName(m: EngineModelInfo): string {
  if (m.label) return m.label;
  const id = m.id.replace(/\/+$/, '');
  return id.split('/').pop() || id;
}

const gpuOnly = (device: DeviceChoice | undefined) => device === 'wasm' || device === 'cpu';

/**
 * The engine for a model: chooseEngine's decision and reason, with the WebLLM
 * build to load. `deviceChoice` is the spec's device: an explicit CPU choice
 * rules WebLLM out (it runs only on the GPU).
 */
export function planEngine(model: EngineModelInfo, requested: EngineUserChoice | undefined, device: EngineDevice, deviceChoice?: DeviceChoice): EnginePlan {
  const choice: EngineUserChoice = requested ?? 'auto';
  const name = displayName(model);
  const build = model.local ? null : pickWebLLMModel(model.family ?? model.id, device.shaderF16);
  const decision = chooseEngine({
    model: { family: model.family ?? model.id, label: name },
    webllmAvailableForModel: build !== null,
    webgpu: device.webgpu,
    shaderF16: device.shaderF16,
    userChoice: choice,
    adapter: model.adapter,
  });
  const plan = (d: EngineDecision): EnginePlan => ({ ...d, requested: choice, webllmModel: d.engine === 'webllm' ? build!.modelId : null });
  if (choice === 'transformers' || model.adapter) return plan(decision);

  // A folder on this site: WebLLM would download its own build from elsewhere instead of these files.
  if (model.local) {
    return plan(
      choice === 'webllm'
        ? { engine: 'transformers', userChoiceHonored: false, reason: `You chose WebLLM, but ${name} is a model folder on this site and WebLLM runs only its own downloaded builds; ${name} runs with transformers.js instead.` }
        : { engine: 'transformers', userChoiceHonored: true, reason: `${name} is a model folder on this site, which only transformers.js can load, so it runs with transformers.js.` },
    );
  }
  // The CPU was chosen to run on: WebLLM has no CPU path.
  if (gpuOnly(deviceChoice) && decision.engine === 'webllm') {
    return plan(
      choice === 'webllm'
        ? { engine: 'transformers', userChoiceHonored: false, reason: `You chose WebLLM, but also to run on the CPU (WASM), and WebLLM runs only on the GPU; ${name} runs with transformers.js on the CPU instead.` }
        : { engine: 'transformers', userChoiceHonored: true, reason: `You chose to run on the CPU (WASM), and WebLLM runs only on the GPU, so ${name} runs with transformers.js.` },
    );
  }
  if (gpuOnly(deviceChoice) && decision.engine === 'transformers' && decision.userChoiceHonored && device.webgpu)
    return plan({ ...decision, reason: `WebLLM has no build of ${name}, so it runs with transformers.js, on the CPU (WASM) as chosen.` });
  return plan(decision);
}

/** The plan as a record to keep with the run. */
export function choiceRecord(p: EnginePlan): EngineChoiceRecord {
  return {
    requested: p.requested,
    planned: p.engine,
    reason: p.reason,
    userChoiceHonored: p.userChoiceHonored,
    ...(p.webllmModel ? { webllmModel: p.webllmModel } : {}),
  };
}

/** After WebLLM failed to load: the fallback record, its reason naming the model. */
export function fallbackRecord(error: unknown, modelName: string): NonNullable<EngineChoiceRecord['fallback']> {
  const fb = fallbackAfterLoadFailure(error, modelName);
  const err = EngineError.from(error);
  // EngineError's message is "[code] <user message> (<detail>)": keep the detail, else the user message.
  const rest = err.message.slice(`[${err.code}] ${err.userMessage}`.length).trim();
  const detail = rest.startsWith('(') && rest.endsWith(')') ? rest.slice(1, -1) : err.userMessage;
  return { reason: fb.reason, code: fb.code, detail };
}

/** One line for the engine that ran, e.g. "transformers.js · webgpu · fp32". */
export function engineSummary(caps: Pick<EngineCapabilities, 'engine' | 'device' | 'dtype'>): string {
  return `${ENGINE_LABEL[caps.engine] ?? caps.engine} · ${caps.device} · ${caps.dtype}`;
}

/** What the UI shows about one model's engine in a run: live while it loads, then from the run's record. */
export interface EngineRow {
  /** Model key in the spec ("self", "control"). */
  key: string;
  modelId: string;
  name: string;
  /** 'loading': chosen, not loaded yet; 'loaded': running (or ran) on `engine`. */
  state: 'loading' | 'loaded';
  /** The engine in use: the one loaded, else the one being tried. */
  engine: EngineName;
  requested: EngineChoiceRecord['requested'];
  reason: string;
  userChoiceHonored: boolean;
  webllmModel?: string;
  fallback?: EngineChoiceRecord['fallback'];
  /** Device and build once loaded, e.g. "webgpu · fp32". */
  runsOn?: string;
}

/** What the engine provider tells the UI about a model's engine while it loads. */
export type EngineEvent =
  | { kind: 'planned'; key: string; modelId: string; name: string; plan: EnginePlan }
  | { kind: 'fallback'; key: string; modelId: string; name: string; fallback: NonNullable<EngineChoiceRecord['fallback']> }
  | { kind: 'loaded'; key: string; modelId: string; name: string; caps: ChosenCapabilities };

/** Live state of one model key, as the provider's events build it. */
export interface EngineLive {
  modelId: string;
  name: string;
  choice: EngineChoiceRecord;
  caps?: ChosenCapabilities;
}

/** Fold a provider event into the live state (pure: returns the next state). */
export function applyEngineEvent(
  live: Record<string, EngineLive>,
  e: EngineEvent,
): Record<string, EngineLive> {
  const prev = live[e.key];
  if (e.kind === 'planned') return { ...live, [e.key]: { modelId: e.modelId, name: e.name, choice: choiceRecord(e.plan) } };
  if (!prev) return live;
  if (e.kind === 'fallback') return { ...live, [e.key]: { ...prev, choice: { ...prev.choice, fallback: e.fallback } } };
  return { ...live, [e.key]: { ...prev, caps: e.caps, choice: choiceOf(e.caps) ?? prev.choice } };
}

/**
 * One row per model of the spec that has a choice: live events first (this
 * session's load), else what the run stored (`engines[key].choice`). Models
 * without either (not reached yet, or a run from before engine choice) are
 * left out, except that a stored engine without a choice still shows what ran.
 */
export function engineRows(
  models: ReadonlyArray<{ key: string; id: string; label?: string }>,
  engines: Record<string, EngineCapabilities> | undefined,
  live: Record<string, EngineLive>,
): EngineRow[] {
  const rows: EngineRow[] = [];
  for (const m of models) {
    const l = live[m.key] && live[m.key].modelId === m.id ? live[m.key] : null;
    const stored = engines?.[m.key];
    const caps = l?.caps ?? (l ? undefined : stored);
    const choice = l?.choice ?? choiceOf(stored);
    const name = l?.name ?? m.label ?? m.id;
    if (choice) {
      rows.push({
        key: m.key,
        modelId: m.id,
        name,
        state: caps ? 'loaded' : 'loading',
        engine: caps?.engine ?? (choice.fallback ? 'transformers' : choice.planned),
        requested: choice.requested,
        reason: choice.reason,
        userChoiceHonored: choice.userChoiceHonored,
        ...(choice.webllmModel ? { webllmModel: choice.webllmModel } : {}),
        ...(choice.fallback ? { fallback: choice.fallback } : {}),
        ...(caps ? { runsOn: `${caps.device} · ${caps.dtype}` } : {}),
      });
    } else if (caps) {
      rows.push({ key: m.key, modelId: m.id, name, state: 'loaded', engine: caps.engine, requested: 'auto', reason: 'This run was recorded before the lab kept the reason for its engine.', userChoiceHonored: true, runsOn: `${caps.device} · ${caps.dtype}` });
    }
  }
  return rows;
}
