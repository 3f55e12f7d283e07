/**
 * A small safetensors reader (no well-kept npm package reads tensor bytes).
 * Format: u64 little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`, then the
 * data block; offsets are relative to the data block. Every check that can
 * fail on hostile input throws AdapterError('corrupt'), never anything else.
 */
import { AdapterError } from './errors';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';
const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** Dtypes of the format we refuse with a clear message rather than "unknown". */
const KNOWN_OTHER = new Set(['F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'U16', 'U32', 'U64', 'BOOL', 'F8_E4M3', 'F8_E5M2']);
/** A header longer than this is not an adapter (the format's own limit is 100 MB). */
const MAX_HEADER = 100_000_000;

export interface SafetensorsTensor {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Values widened to float32 (F16/BF16 convert exactly). */
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const corrupt = (msg: string, field?: string) => new AdapterError('corrupt', `adapter_model.safetensors: ${msg}`, field);

/** IEEE half → float (exact). */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** float → IEEE half, round to nearest even (for fp16 graphs and the fixture's F16 writer). */
export function f32ToF16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) throw corrupt(`the file is ${bytes.length} bytes, shorter than the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) throw corrupt(`the header length (${n} bytes) runs beyond the end of the file (${bytes.length} bytes): truncated or not a safetensors file`);
  if (n > BigInt(MAX_HEADER)) throw corrupt(`the header length (${n} bytes) is implausibly large`);
  const headerLen = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    throw corrupt('the header is not valid UTF-8 JSON');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw corrupt('the header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { begin: number; end: number; name: string }[] = [];
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry && typeof entry === 'object' && !Array.isArray(entry))
        for (const [k, v] of Object.entries(entry)) if (typeof v === 'string') metadata[k] = v;
      continue;
    }
    if (!entry || typeof entry !== 'object') throw corrupt(`tensor "${name}" has no description`, name);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string') throw corrupt(`tensor "${name}" has no dtype`, name);
    if (!(dtype in BYTES))
      throw corrupt(
        KNOWN_OTHER.has(dtype)
          ? `tensor "${name}" has dtype ${dtype}; LoRA weights must be F32, F16 or BF16`
          : `tensor "${name}" has an unknown dtype "${dtype}"`,
        name,
      );
    if (!isShape(shape)) throw corrupt(`tensor "${name}" has an invalid shape`, name);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      throw corrupt(`tensor "${name}" has invalid data_offsets`, name);
    const [begin, end] = offsets as number[];
    if (begin > end || end > dataLen)
      throw corrupt(`tensor "${name}" data_offsets [${begin}, ${end}] lie outside the ${dataLen}-byte data block`, name);
    const size = BYTES[dtype as SafetensorsDtype];
    const count = shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count) || count * size !== end - begin)
      throw corrupt(`tensor "${name}" shape [${shape}] × ${dtype} needs ${count * size} bytes but its offsets span ${end - begin}`, name);
    spans.push({ begin, end, name });
    tensors.set(name, { name, dtype: dtype as SafetensorsDtype, shape, data: decode(bytes, dataStart + begin, count, dtype as SafetensorsDtype) });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < spans.length; i++)
    if (spans[i].begin < spans[i - 1].end) throw corrupt(`tensors "${spans[i - 1].name}" and "${spans[i].name}" overlap`, spans[i].name);
  return { tensors, metadata };
}

function decode(bytes: Uint8Array, at: number, count: number, dtype: SafetensorsDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, count * BYTES[dtype]);
  const out = new Float32Array(count);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  else if (dtype === 'F16') for (let i = 0; i < count; i++) out[i] = f16ToF32(view.getUint16(i * 2, true));
  else {
    // BF16 is the top half of a float32.
    const u = new Uint32Array(1);
    const f = new Float32Array(u.buffer);
    for (let i = 0; i < count; i++) {
      u[0] = view.getUint16(i * 2, true) << 16;
      out[i] = f[0];
    }
  }
  return out;
}

/** Writes a safetensors file (the fixture's adapter writer and the fuzz test's seed files). */
export function writeSafetensors(tensors: { name: string; dtype: SafetensorsDtype; shape: number[]; data: ArrayLike<number> }[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  // PEFT (safetensors' save_file) writes tensors sorted by name.
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const t of sorted) {
    const n = t.data.length * BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  // The format pads the header with spaces to a multiple of 8 bytes.
  while ((json.length + 8) % 8) json += ' ';
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of sorted) {
    for (let i = 0; i < t.data.length; i++) {
      const v = t.data[i];
      if (t.dtype === 'F32') view.setFloat32(at + i * 4, v, true);
      else if (t.dtype === 'F16') view.setUint16(at + i * 2, f32ToF16(v), true);
      else view.setUint16(at + i * 2, new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16, true);
    }
    at += t.data.length * BYTES[t.dtype];
  }
  return out;
}
