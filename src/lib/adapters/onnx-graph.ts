/**
 * Reads the structure of an ONNX ModelProto — nodes, initializer metadata,
 * value names — without decoding or copying any tensor bytes, and remembers
 * where each node output's name lies in the buffer so the patcher can rename
 * it in place. Field numbers from onnx/onnx.proto.
 */
import { AdapterError } from './errors';
import { PbReader, type Span } from './protobuf';

export const ONNX_FLOAT = 1;
export const ONNX_FLOAT16 = 10;

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** Where each output name's UTF-8 bytes lie in the model buffer. */
  outputSpans: Span[];
  /** Integer attributes (K, N, bits, block_size, to …). */
  ints: Record<string, number>;
  /** Where the node's field lies in the buffer: `tag` the position of its one-byte tag, `body` its encoded NodeProto. */
  entry: { tag: number; body: Span };
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  dataType: number;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  initializers: Map<string, OnnxInitializer>;
  /** Every value, node and initializer name (new names must avoid them). */
  names: Set<string>;
  /** Node producing each value. */
  producer: Map<string, OnnxNode>;
  /** Nodes consuming each value. */
  consumers: Map<string, OnnxNode[]>;
}

const layout = (msg: string) => new AdapterError('layout', `the ONNX model could not be read: ${msg}`);

function readNode(buf: Uint8Array, s: Span, tag: number): OnnxNode {
  const r = new PbReader(buf, s.start, s.end, layout);
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], outputSpans: [], ints: {}, entry: { tag, body: s } };
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (wire !== 2) {
      r.skip(wire);
      continue;
    }
    if (field === 1) n.inputs.push(r.string());
    else if (field === 2) {
      const sp = r.span();
      n.outputSpans.push(sp);
      n.outputs.push(new TextDecoder().decode(buf.subarray(sp.start, sp.end)));
    } else if (field === 3) n.name = r.string();
    else if (field === 4) n.opType = r.string();
    else if (field === 7) n.domain = r.string();
    else if (field === 5) {
      const a = r.span();
      const ar = new PbReader(buf, a.start, a.end, layout);
      let name = '';
      let i: number | undefined;
      while (!ar.done()) {
        const t = ar.tag();
        if (t.field === 1 && t.wire === 2) name = ar.string();
        else if (t.field === 3 && t.wire === 0) i = ar.varint();
        else ar.skip(t.wire);
      }
      if (i !== undefined) n.ints[name] = i;
    } else r.skip(wire);
  }
  return n;
}

function readTensorInfo(buf: Uint8Array, s: Span): OnnxInitializer {
  const r = new PbReader(buf, s.start, s.end, layout);
  const t: OnnxInitializer = { name: '', dims: [], dataType: 0 };
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 0) t.dims.push(r.varint());
    else if (field === 1 && wire === 2) {
      const p = r.span();
      const pr = new PbReader(buf, p.start, p.end, layout);
      while (!pr.done()) t.dims.push(pr.varint());
    } else if (field === 2 && wire === 0) t.dataType = r.varint();
    else if (field === 8 && wire === 2) t.name = r.string();
    else r.skip(wire); // raw_data and external_data are skipped, never copied
  }
  return t;
}

function readValueName(buf: Uint8Array, s: Span): string {
  const r = new PbReader(buf, s.start, s.end, layout);
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) return r.string();
    r.skip(wire);
  }
  return '';
}

/** Reads model bytes [0, length). */
export function readOnnxGraph(buf: Uint8Array, length = buf.length): OnnxGraph {
  const g: OnnxGraph = { nodes: [], initializers: new Map(), names: new Set(), producer: new Map(), consumers: new Map() };
  const m = new PbReader(buf, 0, length, layout);
  let graphs = 0;
  while (!m.done()) {
    const { field, wire } = m.tag();
    if (field !== 7 || wire !== 2) {
      m.skip(wire);
      continue;
    }
    graphs++;
    const gs = m.span();
    const r = new PbReader(buf, gs.start, gs.end, layout);
    while (!r.done()) {
      const tag = r.pos;
      const { field: f, wire: w } = r.tag();
      if (w !== 2) {
        r.skip(w);
        continue;
      }
      const s = r.span();
      if (f === 1) g.nodes.push(readNode(buf, s, tag));
      else if (f === 5) {
        const t = readTensorInfo(buf, s);
        g.initializers.set(t.name, t);
        g.names.add(t.name);
      } else if (f === 11 || f === 12 || f === 13) g.names.add(readValueName(buf, s));
    }
  }
  if (!graphs) throw layout('it has no graph');
  for (const n of g.nodes) {
    g.names.add(n.name);
    for (const o of n.outputs) {
      g.names.add(o);
      g.producer.set(o, n);
    }
    for (const i of n.inputs) {
      g.names.add(i);
      const list = g.consumers.get(i);
      if (list) list.push(n);
      else g.consumers.set(i, [n]);
    }
  }
  return g;
}
