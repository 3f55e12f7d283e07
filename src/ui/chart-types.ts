import type { PaperMark } from '../lib/experiment/paper-figures';

/** Data shapes the charts take. */
export interface Series {
  key: string;
  label: string;
  color: string;
  points: Array<{ x: number; y: number; title: string }>;
}

export interface Bar {
  key: string;
  label: string;
  r: number;
  ci: [number, number];
  color: string;
  /** The highest r the measurements' reliability allows (drawn as a dashed mark). */
  ceiling?: number;
  /** Reference figures from the paper (runs of a "Replicate the paper" step), drawn as solid ticks. */
  marks?: PaperMark[];
  /** Runs with several models: the heading the bar is listed under (bars are then drawn as rows). */
  group?: string;
}
