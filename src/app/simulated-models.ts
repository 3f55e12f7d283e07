/**
 * Simulated models in the lab (src/lib/experiment/simulated.ts): the ones it offers and
 * the small form that makes a new one. Pure.
 */
import { SIMULATED_PRESET_MODELS } from '../lib/experiment/presets';
import { parseSimulatedId, SimulatedIdError, simulatedId, simulatedName, type SimulatedParams } from '../lib/experiment/simulated';

export interface SimulatedChoice {
  id: string;
  /** Says "simulated". */
  label: string;
}

export const PRESET_SIMULATED: readonly SimulatedChoice[] = SIMULATED_PRESET_MODELS.map((m) => ({ id: m.id, label: m.label ?? simulatedName(m.id) }));

/** The form's fields as typed (numbers as text). */
export interface SimulatedFormParams {
  label: string;
  weights: SimulatedParams['weights'];
  access: string;
  noise: string;
  bias: string;
  beta?: string;
  own?: string;
}

/** A simulated model from the form, or the problems in words. */
export function simulatedFromForm(f: SimulatedFormParams): SimulatedChoice | { error: string } {
  const label = f.label.trim();
  if (!label) return { error: 'Give the simulated model a name.' };
  const q = [`weights=${f.weights}`, ...(['access', 'noise', 'bias', 'beta', 'own'] as const).flatMap((k) => (f[k]?.trim() ? [`${k}=${encodeURIComponent(f[k]!.trim())}`] : []))];
  try {
    const id = simulatedId(parseSimulatedId(`sim:${encodeURIComponent(label)}?${q.join('&')}`));
    return { id, label: simulatedName(id) };
  } catch (e) {
    if (e instanceof SimulatedIdError) return { error: e.message };
    throw e;
  }
}
