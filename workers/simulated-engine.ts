/**
 * The engine of simulated models (`sim:` ids, see src/lib/experiment/simulated.ts): no
 * weights, no download, no worker. It decides and reports from the trial
 * context the runner passes (scenario, options, target weights, shown
 * decisions), never from the prompt text, which users may edit.
 */
import type { ChoiceScore, Engine, EngineCapabilities, LoadOptions, ReportResult, TrialContext } from '../src/lib/engine/types';
import { EngineError } from '../src/lib/engine/types';
import type { ChatMessage } from '../src/lib/prompts';
import { parseReport } from '../src/lib/reports';
import { parseSimulatedId, SimulatedIdError, simulatedPA, simulatedPrediction, simulatedReport, simulatedWeights, type SimulatedParams } from '../src/lib/experiment/simulated';
import type { ReportMode } from '../src/lib/experiment/spec';

export class SimulatedEngine implements Engine {
  private params: SimulatedParams | null = null;
  private caps: EngineCapabilities | null = null;

  async load(options: LoadOptions): Promise<EngineCapabilities> {
    try {
      this.params = parseSimulatedId(options.model);
    } catch (e) {
      throw new EngineError('bad_model', e instanceof SimulatedIdError ? e.message : String(e));
    }
    if (options.adapter) throw new EngineError('unsupported', 'a simulated model takes no adapter');
    this.caps = { engine: 'simulated', model: options.model, device: 'cpu', dtype: 'simulated', contextLength: 1_000_000, adapter: null };
    return this.caps;
  }

  private need(context: TrialContext | undefined): { p: SimulatedParams; c: TrialContext } {
    if (!this.params) throw new EngineError('not_loaded');
    if (!context) throw new EngineError('unsupported', 'a simulated model needs the trial context, not only the prompt');
    return { p: this.params, c: context };
  }

  async scoreChoice(_messages: ChatMessage[], labels: string[], context?: TrialContext): Promise<ChoiceScore> {
    const { p, c } = this.need(context);
    if (labels.length !== 2) throw new EngineError('unsupported', 'a simulated model chooses between two labels');
    if (c.predict === 'choice') {
      const q = simulatedPrediction(p, this.predictionInput(c));
      return { labels, probs: [q, 1 - q], logprobs: [Math.log(q), Math.log(1 - q)], labelMass: 1, choice: q >= 0.5 ? labels[0] : labels[1], basis: 'full' };
    }
    const w = simulatedWeights(p, c.scenario.id, c.target, c.intervention);
    const pA = simulatedPA(p, c.scenario.attributes, w, c.a, c.b);
    const probs = [pA, 1 - pA];
    return { labels, probs, logprobs: probs.map(Math.log), labelMass: 1, choice: pA >= 0.5 ? labels[0] : labels[1], basis: 'full' };
  }

  async report(_messages: ChatMessage[], attributeNames: string[], mode: ReportMode, context?: TrialContext): Promise<ReportResult> {
    const { p, c } = this.need(context);
    if (c.predict === 'probability') {
      const text = JSON.stringify({ [attributeNames[0]]: Math.round(100 * simulatedPrediction(p, this.predictionInput(c))) });
      const parse = parseReport(text, attributeNames);
      return { mode, text, weights: parse.ok ? parse.weights : null, parse };
    }
    const weights = simulatedReport(p, {
      trialId: c.trialId,
      scenarioId: c.scenario.id,
      attributes: c.scenario.attributes,
      target: c.target,
      examples: c.examples,
      intervention: c.intervention,
    });
    const text = JSON.stringify(Object.fromEntries(attributeNames.map((n, i) => [n, weights[i]])));
    const parse = parseReport(text, attributeNames);
    return { mode, text, weights: parse.ok ? parse.weights : null, parse };
  }

  private predictionInput(c: TrialContext) {
    return { trialId: c.trialId, scenarioId: c.scenario.id, attributes: c.scenario.attributes, target: c.target, a: c.a, b: c.b, examples: c.examples, intervention: c.intervention };
  }

  async cancel(): Promise<void> {}
  async unload(): Promise<void> {
    this.params = null;
    this.caps = null;
  }
  async capabilities(): Promise<EngineCapabilities | null> {
    return this.caps;
  }
}
