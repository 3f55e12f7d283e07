/**
 * A test double of the Engine interface: an agent with known weights that
 * reads the options back out of the rendered prompt and chooses by a logistic
 * rule, and whose self-reports are its true weights plus noise (or pure noise,
 * for an agent that knows nothing about itself). It lets the runner, storage
 * and analysis be tested end to end without a model.
 */
import type { ChoiceScore, Engine, EngineCapabilities, ReportResult } from '../../src/lib/engine/types';
import { EngineError } from '../../src/lib/engine/types';
import type { ChatMessage } from '../../src/lib/prompts';
import { rngFor } from '../../src/lib/rng';
import type { Scenario } from '../../src/lib/scenarios/types';
import { parseReport } from '../../src/lib/reports';

export interface AgentOptions {
  scenarios: Scenario[];
  /** The weights the agent decides by, per scenario id. */
  weights: Record<string, number[]>;
  /** Inverse temperature on utility in units of weight/100 per full range. */
  beta?: number;
  /** 'self': reports its weights plus noise; 'blind': reports noise. */
  knows?: 'self' | 'blind';
  seed?: string;
  /** Throw this on the n-th call (1-based), to test failures. */
  failOnCall?: { n: number; error: Error };
}

function parseOption(block: string, names: string[]): number[] {
  return names.map((name) => {
    const m = new RegExp(`^${name}: (-?[\\d.]+)`, 'm').exec(block);
    if (!m) throw new Error(`option value for ${name} not found`);
    return Number(m[1]);
  });
}

export class SimulatedAgent implements Engine {
  calls = 0;
  private loaded = false;
  private rng;
  constructor(private o: AgentOptions) {
    this.rng = rngFor(o.seed ?? 'agent');
  }

  private find(messages: ChatMessage[]) {
    const user = messages[messages.length - 1].content;
    const scenario = this.o.scenarios.find((s) => user.includes(s.question));
    if (!scenario) throw new Error('unknown scenario in prompt');
    const [, rest] = user.split(`${scenario.question}\n`);
    const [aBlock, bBlock] = rest.split('\n\nB:\n');
    const names = scenario.attributes.map((x) => x.name);
    return { scenario, a: parseOption(aBlock, names), b: parseOption(bBlock, names) };
  }

  private tick() {
    this.calls++;
    if (!this.loaded) throw new EngineError('not_loaded');
    if (this.o.failOnCall && this.calls === this.o.failOnCall.n) throw this.o.failOnCall.error;
  }

  async load(): Promise<EngineCapabilities> {
    this.loaded = true;
    return (await this.capabilities())!;
  }
  async scoreChoice(messages: ChatMessage[], labels: string[]): Promise<ChoiceScore> {
    this.tick();
    const { scenario, a, b } = this.find(messages);
    const w = this.o.weights[scenario.id];
    const u = scenario.attributes.reduce((s, attr, i) => s + (w[i] / 100) * ((a[i] - b[i]) / (attr.max - attr.min)), 0);
    const pA = 1 / (1 + Math.exp(-(this.o.beta ?? 8) * u));
    const mass = 0.9;
    const probs = [pA, 1 - pA];
    return { labels, probs, logprobs: probs.map((p) => Math.log(p * mass)), labelMass: mass, choice: pA >= 0.5 ? labels[0] : labels[1], basis: 'full' };
  }
  async report(messages: ChatMessage[], names: string[], mode: 'constrained' | 'free'): Promise<ReportResult> {
    this.tick();
    const { scenario } = this.find(messages);
    const w = this.o.weights[scenario.id];
    const noisy = w.map((x) => Math.max(-100, Math.min(100, Math.round((this.o.knows === 'blind' ? 0 : x) + this.rng.uniform(-40, 40)))));
    const text = JSON.stringify(Object.fromEntries(names.map((n, i) => [n, noisy[i]])));
    const parse = parseReport(text, names);
    return { mode, text, weights: parse.ok ? parse.weights : null, parse };
  }
  async cancel() {}
  async unload() {
    this.loaded = false;
  }
  async capabilities(): Promise<EngineCapabilities | null> {
    return this.loaded ? { engine: 'transformers', model: 'simulated-agent', device: 'cpu', dtype: 'none', contextLength: 4096, adapter: null } : null;
  }
}
