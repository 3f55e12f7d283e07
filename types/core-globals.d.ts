/**
 * The few globals the pure core may use: present in browsers, workers and
 * Node ≥ 18 alike, but not in the ES library. Only tsconfig.lib.json reads
 * this file (the app and Node configs get them from DOM / @types/node).
 */
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
