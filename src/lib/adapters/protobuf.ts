// Minimal protobuf writer and reader for ONNX files: the fixture writes graphs with the
// writer; the LoRA patcher reads a graph's structure (never its weight bytes) with the
// reader. Browser-safe, no dependencies.

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

const utf8 = new TextEncoder();

export class PbWriter {
  // Small fields accumulate in `pending`; large byte blobs (weights) are kept as
  // separate chunks so they are copied only once, in finish().
  private chunks: Uint8Array[] = [];
  private pending: number[] = [];

  private flush(): void {
    if (this.pending.length) {
      this.chunks.push(Uint8Array.from(this.pending));
      this.pending = [];
    }
  }

  private rawVarint(v: number | bigint): void {
    // int64 fields with negative values (e.g. axis = -1) must be written as the
    // 10-byte two's-complement varint, hence the BigInt path.
    let b = BigInt.asUintN(64, BigInt(v));
    while (b >= 0x80n) {
      this.pending.push(Number(b & 0x7fn) | 0x80);
      b >>= 7n;
    }
    this.pending.push(Number(b));
  }

  private tag(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }

  varint(field: number, v: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.pending.push(...b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.rawVarint(data.length);
    if (data.length > 64) {
      this.flush();
      this.chunks.push(data);
    } else {
      this.pending.push(...data);
    }
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  message(field: number, m: PbWriter): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    this.flush();
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    // Collapse to one chunk so a repeated finish() stays cheap.
    this.chunks = [out];
    return out;
  }
}

/** A span [start, end) of the buffer: a field's payload. */
export interface Span {
  start: number;
  end: number;
}

/**
 * Reads fields of one message in buf[start, end). Every read is bounds-checked
 * and throws `onError(message)` on malformed input, so a corrupt file fails
 * with the caller's error type.
 */
export class PbReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    private readonly onError: (msg: string) => Error,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a JS number (exact up to 2^53; larger int64 values lose low bits, which the patcher never needs). */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.onError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (!(b & 0x80)) return result;
      mul *= 128;
    }
    throw this.onError('varint longer than 10 bytes');
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const t = this.varint();
    return { field: Math.floor(t / 8), wire: t % 8 };
  }

  /** A length-delimited payload's span (not copied). */
  span(): Span {
    const n = this.varint();
    const start = this.pos;
    if (n > this.end - start) throw this.onError('length-delimited field runs past its message');
    this.pos = start + n;
    return { start, end: start + n };
  }

  string(): string {
    const s = this.span();
    return new TextDecoder().decode(this.buf.subarray(s.start, s.end));
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.span();
    else if (wire === 5) this.pos += 4;
    else throw this.onError(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw this.onError('field runs past its message');
  }
}
