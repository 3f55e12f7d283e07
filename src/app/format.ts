/** Small, pure formatting helpers for numbers people read. */
import { isSimulatedId, simulatedName } from '../lib/experiment/simulated';

export function formatBytes(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec) || sec < 0) return '—';
  if (sec < 1) return '< 1 s';
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export function formatRate(perSec: number, unit = 'trials'): string {
  if (!(perSec > 0)) return '—';
  return perSec >= 10 ? `${perSec.toFixed(0)} ${unit}/s` : perSec >= 1 ? `${perSec.toFixed(1)} ${unit}/s` : `${(perSec * 60).toFixed(1)} ${unit}/min`;
}

/** A correlation as people read it: "0.62", "−0.05", "n/a". */
export function formatR(r: number | null | undefined, digits = 2): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return 'n/a';
  const t = r.toFixed(digits);
  // A value that rounds to zero has no sign: "0.00", never "-0.00" or "−0.00".
  if (Number(t) === 0) return t.replace('-', '');
  return t.startsWith('-') ? `−${t.slice(1)}` : t;
}

export function formatCi(ci: readonly [number, number] | null | undefined, digits = 2): string {
  if (!ci || !Number.isFinite(ci[0]) || !Number.isFinite(ci[1])) return 'interval n/a';
  return `${formatR(ci[0], digits)} to ${formatR(ci[1], digits)}`;
}

/** A share as a percentage; a positive share too small to show at `digits` reads "< 0.1 %", not "0.0 %". */
export function formatPercent(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return 'n/a';
  const smallest = 10 ** -digits;
  if (x > 0 && 100 * x < smallest / 2) return `< ${smallest.toFixed(digits)} %`;
  return `${(100 * x).toFixed(digits)} %`;
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** A model id as a short name: "onnx-community/Qwen2.5-0.5B-Instruct" → "Qwen2.5-0.5B-Instruct". */
export function shortModelName(id: string): string {
  // A simulated model's name always says so (every view that shows one).
  if (isSimulatedId(id)) return simulatedName(id);
  const parts = id.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] || id;
}

/** A file-name-safe slug. */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'run';
}
