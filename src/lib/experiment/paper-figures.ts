/**
 * The paper's figures, as reference marks for a replication ("Replicate the
 * paper" steps and their results). Source: Plunkett et al. (2025),
 * "Self-Interpretability: LLMs Can Describe Complex Internal Processes that
 * Drive Their Decisions" — GPT-4o and GPT-4o-mini, fine-tuned through OpenAI's
 * API (100 contexts × 50 decisions, 10 self-reports each). Pure data and the
 * small rules that read a run against it.
 */

/** Which of the paper's experiments a run replicates (an optional field of the spec). */
export type PaperStep = 'exp1' | 'exp2' | 'exp3';
export const PAPER_STEPS: readonly PaperStep[] = ['exp1', 'exp2', 'exp3'];

/**
 * Exp 3 has two evaluations on the same new native contexts: before
 * introspection training (the instilled, Exp 1 adapter) and after (the
 * introspection-trained adapter, or its in-context analogue). Absent = not said
 * (specs saved before it existed): both of Exp 3's figures are marked.
 */
export type PaperPhase = 'before' | 'after';
export const PAPER_PHASES: readonly PaperPhase[] = ['before', 'after'];

export const PAPER_SOURCE = 'Plunkett et al. (2025), Self-Interpretability, GPT-4o / GPT-4o-mini';
export const PAPER_MODELS = ['GPT-4o', 'GPT-4o-mini'] as const;

/** One figure per paper model, in PAPER_MODELS order. */
export type PaperPair = readonly [number, number];

export interface PaperFigures {
  title: string;
  /** What the reporter is: the instilled model, or after introspection training. */
  what: string;
  /** r(reported, learned) of the self-reports. */
  reportedVsLearned: PaperPair;
  /** Exp 3: the same measure before introspection training (native contexts). */
  before?: PaperPair;
}

/** r(learned, target): did fine-tuning instil the target preferences? Same for every step's adapter. */
export const LEARNED_VS_TARGET: PaperPair = [0.84, 0.87];

export const PAPER: Record<PaperStep, PaperFigures> = {
  exp1: { title: 'Exp 1: report instilled preferences', what: 'instilled model, no introspection training', reportedVsLearned: [0.54, 0.5] },
  exp2: { title: 'Exp 2: introspection training, held-out contexts', what: 'introspection-trained on the other half', reportedVsLearned: [0.74, 0.75] },
  exp3: { title: 'Exp 3: native preferences in new contexts', what: 'introspection-trained, native contexts', reportedVsLearned: [0.71, 0.7], before: [0.46, 0.4] },
};

/** A reference line on an r chart. */
export interface PaperMark {
  value: number;
  label: string;
}

const fmt = (v: number) => v.toFixed(2).replace(/^0/, '');

/** The paper's self-report figures a run is read against: Exp 3 before or after training, else the step's. */
export function paperSelfFigures(step: PaperStep, phase?: PaperPhase): PaperPair {
  const f = PAPER[step];
  return phase === 'before' && f.before ? f.before : f.reportedVsLearned;
}

/** The marks for a bar of a step's run: the self-report bar or the learned-vs-target bar. */
export function paperMarks(step: PaperStep, bar: 'self' | 'learned-vs-target', phase?: PaperPhase): PaperMark[] {
  const pairMarks = (pair: PaperPair, prefix: string) => pair.map((value, i) => ({ value, label: `${prefix}${PAPER_MODELS[i]} ${fmt(value)}` }));
  if (bar === 'learned-vs-target') return pairMarks(LEARNED_VS_TARGET, 'paper, ');
  const f = PAPER[step];
  if (phase === 'before' && f.before) return pairMarks(f.before, 'paper before training, ');
  if (phase) return pairMarks(f.reportedVsLearned, 'paper, ');
  return [...(f.before ? pairMarks(f.before, 'paper before training, ') : []), ...pairMarks(f.reportedVsLearned, 'paper, ')];
}

export type Uptake = 'took' | 'partly' | 'failed' | 'unknown';

/**
 * "Did the preferences take?" from r(learned, target): the paper reached
 * .84/.87; replications on 1–4B models with default settings got r ≈ .1.
 * Below .3 the self-reports have nothing instilled to report on.
 */
export function preferenceUptake(r: number | null | undefined): { verdict: Uptake; text: string } {
  if (r === null || r === undefined || !Number.isFinite(r)) return { verdict: 'unknown', text: 'No learned-vs-target correlation yet: the run has too few decisions to fit.' };
  const paper = `the paper: ${LEARNED_VS_TARGET.map(fmt).join(' / ')}`;
  // Judge the r as shown (two decimals), so the verdict never contradicts the number next to it.
  r = Math.round(r * 100) / 100;
  if (r >= 0.6) return { verdict: 'took', text: `Yes: learned vs target r = ${fmt(r)} (${paper}). The self-reports can be read against instilled preferences.` };
  if (r >= 0.3)
    return { verdict: 'partly', text: `Partly: learned vs target r = ${fmt(r)} (${paper}). The instilled preferences show, weakly; read the self-reports with care.` };
  return {
    verdict: 'failed',
    text: `No: learned vs target r = ${fmt(r)} (${paper}). The training did not instil the targets — common on small models (replications on 1–4B models got r ≈ .1). Lower the learning rate or train longer before reading the self-reports.`,
  };
}
