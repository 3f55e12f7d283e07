/**
 * Adds LoRA branches to an ONNX decoder at load time. Next to each targeted
 * projection y = x·W (MatMul, MatMulNBits or MatMulInteger; weights inline or
 * in external data, never read) it adds
 *
 *     y = y_base + (x·Aᵀ)·(s·Bᵀ)
 *
 * leaving the base weights untouched, so 4-bit weights keep the whole adapter.
 *
 * Without re-encoding the model: the projection's output name is renamed in
 * place (same byte length, so no offset moves), and the new nodes and
 * initializers go into a second `graph` field appended to the ModelProto —
 * protobuf merges repeated occurrences of a message field, concatenating the
 * repeated `node` and `initializer` lists. The base model's bytes are neither
 * copied nor decoded; with `headroom` bytes reserved after the model the patch
 * is written in place, so memory grows by the adapter alone.
 *
 * Layouts: Optimum (`/model/layers.{i}/self_attn/q_proj/MatMul`, quantized
 * `…/MatMul_Q4`, `…/MatMul_quant`) and ModelBuilder (`/attn/`, a packed
 * `qkv_proj` whose output is [q; k; v]: its branch uses a block-diagonal s·Bᵀ
 * so each adapter lands on its own slice). fp16 activations are cast to fp32
 * for the branch and back.
 */
import type { LoraAdapter, LoraModule } from './adapter';
import { AdapterError } from './errors';
import { ONNX_FLOAT, ONNX_FLOAT16, readOnnxGraph, type OnnxGraph, type OnnxNode } from './onnx-graph';
import { PbWriter } from './protobuf';

/** The parts of a HF config.json the patcher reads (only for packed qkv). */
export interface BaseModelConfig {
  hidden_size?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  head_dim?: number;
}

/** One projection of the graph that a LoRA module can land on. */
export interface ProjectionSite {
  /** The node doing the product (MatMul, MatMulNBits, MatMulInteger). */
  node: OnnxNode;
  op: 'MatMul' | 'MatMulNBits' | 'MatMulInteger';
  /** Float input and float output of the projection (for MatMulInteger: before quantization, after rescaling). */
  x: string;
  y: string;
  /** The node that produces y (renamed in place). */
  yNode: OnnxNode;
  inFeatures: number | null;
  outFeatures: number | null;
  /** ONNX element type of x and y (FLOAT or FLOAT16). */
  elemType: number;
  /** PyTorch module names on this output and their column ranges (three for a packed qkv_proj). */
  parts: { module: string; offset: number; size: number | null }[];
}

export interface AppliedModule {
  module: string;
  node: string;
  op: ProjectionSite['op'];
  rank: number;
  scale: number;
}

export interface PatchResult {
  /** The patched model: `buffer` itself (a view of it) when the headroom sufficed, else a new array. */
  bytes: Uint8Array;
  applied: AppliedModule[];
  /** Bytes appended to the model. */
  addedBytes: number;
  /** Whether the patch was written into the caller's buffer (no copy of the model). */
  inPlace: boolean;
}

const NODE_RE = /^\/model\/layers\.(\d+)\/(self_attn|attn|mlp)\/(q|k|v|o|qkv|gate|up|down)_proj\/(MatMul|MatMulNBits)(?:_Q\d+|_quant)?$/;

const layoutError = (msg: string) => new AdapterError('layout', msg);

function only<T>(list: T[] | undefined): T | undefined {
  return list && list.length === 1 ? list[0] : undefined;
}

function siteFor(g: OnnxGraph, node: OnnxNode): Omit<ProjectionSite, 'parts'> | null {
  if (node.opType === 'MatMul' && !node.domain) {
    const w = g.initializers.get(node.inputs[1]);
    const deq = w ? undefined : g.producer.get(node.inputs[1]);
    const wInfo = w ?? (deq?.opType === 'DequantizeLinear' ? g.initializers.get(deq.inputs[0]) : undefined);
    const typeSrc = w ?? (deq ? g.initializers.get(deq.inputs[1]) : undefined);
    return {
      node,
      op: 'MatMul',
      x: node.inputs[0],
      y: node.outputs[0],
      yNode: node,
      inFeatures: wInfo?.dims.length === 2 ? wInfo.dims[0] : null,
      outFeatures: wInfo?.dims.length === 2 ? wInfo.dims[1] : null,
      elemType: typeSrc?.dataType === ONNX_FLOAT16 ? ONNX_FLOAT16 : ONNX_FLOAT,
    };
  }
  if (node.opType === 'MatMulNBits') {
    const scales = g.initializers.get(node.inputs[2]);
    return {
      node,
      op: 'MatMulNBits',
      x: node.inputs[0],
      y: node.outputs[0],
      yNode: node,
      inFeatures: node.ints.K ?? null,
      outFeatures: node.ints.N ?? null,
      elemType: scales?.dataType === ONNX_FLOAT16 ? ONNX_FLOAT16 : ONNX_FLOAT,
    };
  }
  if (node.opType === 'MatMulInteger') {
    // ONNX Runtime's dynamic quantization: DynamicQuantizeLinear(x) → MatMulInteger → Cast → Mul(scale).
    const dq = g.producer.get(node.inputs[0]);
    const cast = only(g.consumers.get(node.outputs[0]));
    const mul = cast?.opType === 'Cast' ? only(g.consumers.get(cast.outputs[0])) : undefined;
    if (dq?.opType !== 'DynamicQuantizeLinear' || mul?.opType !== 'Mul')
      throw layoutError(`${node.name}: expected DynamicQuantizeLinear → MatMulInteger → Cast → Mul, found another pattern`);
    const w = g.initializers.get(node.inputs[1]);
    return {
      node,
      op: 'MatMulInteger',
      x: dq.inputs[0],
      y: mul.outputs[0],
      yNode: mul,
      inFeatures: w?.dims.length === 2 ? w.dims[0] : null,
      outFeatures: w?.dims.length === 2 ? w.dims[1] : null,
      elemType: ONNX_FLOAT,
    };
  }
  return null;
}

/** Every projection the adapter could target, by PyTorch module name. */
export function findProjections(g: OnnxGraph, config: BaseModelConfig = {}): Map<string, ProjectionSite> {
  const sites = new Map<string, ProjectionSite>();
  for (const node of g.nodes) {
    const m = NODE_RE.exec(node.name);
    if (!m) continue;
    const [, layer, block, kind] = m;
    const s = siteFor(g, node);
    if (!s) continue;
    const prefix = `model.layers.${layer}.${block === 'mlp' ? 'mlp' : 'self_attn'}`;
    let parts: ProjectionSite['parts'];
    if (kind === 'qkv') {
      const heads = config.num_attention_heads;
      const kvHeads = config.num_key_value_heads ?? heads;
      const headDim = config.head_dim ?? (config.hidden_size && heads ? config.hidden_size / heads : undefined);
      const q = heads && headDim ? heads * headDim : null;
      const kv = kvHeads && headDim ? kvHeads * headDim : null;
      parts = [
        { module: `${prefix}.q_proj`, offset: 0, size: q },
        { module: `${prefix}.k_proj`, offset: q ?? 0, size: kv },
        { module: `${prefix}.v_proj`, offset: q !== null && kv !== null ? q + kv : 0, size: kv },
      ];
      if (q === null || kv === null) parts.forEach((p) => (p.size = null));
    } else parts = [{ module: `${prefix}.${kind}_proj`, offset: 0, size: s.outFeatures }];
    const site = { ...s, parts };
    for (const p of parts) sites.set(p.module, site);
  }
  return sites;
}

/** Bytes to reserve after the model so patching needs no copy of it. */
export function patchHeadroom(adapter: LoraAdapter): number {
  let n = 64 * 1024;
  for (const m of adapter.modules) {
    const packable = /^[qkv]_proj$/.test(m.kind);
    // A packed qkv output is at most three times the attention width, which is at most ~3× the input.
    n += 4 * m.r * (m.inFeatures + (packable ? 3 * Math.max(m.inFeatures, m.outFeatures) : m.outFeatures)) + 1024;
  }
  return n;
}

/** A same-length name not in `taken`: the last character replaced. */
function renameInPlace(name: string, taken: Set<string>): string {
  if (!name.length || name.charCodeAt(name.length - 1) > 0x7f) throw layoutError(`cannot rename output "${name}"`);
  for (const c of '~^!#$%&*+=@|') {
    const candidate = name.slice(0, -1) + c;
    if (!taken.has(candidate)) return candidate;
  }
  throw layoutError(`no free name next to "${name}"`);
}

function tensor(name: string, dims: number[], data: Float32Array): PbWriter {
  return new PbWriter()
    .varint(1, dims[0])
    .varint(1, dims[1])
    .varint(2, ONNX_FLOAT)
    .string(8, name)
    .bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function node(op: string, name: string, inputs: string[], output: string, to?: number): PbWriter {
  const w = new PbWriter();
  for (const i of inputs) w.string(1, i);
  w.string(2, output).string(3, name).string(4, op);
  if (to !== undefined) w.message(5, new PbWriter().string(1, 'to').varint(3, to).varint(20, 2));
  return w;
}

export interface PatchOptions {
  /** The base model's config.json (needed for a packed qkv_proj when the adapter lacks some of q/k/v). */
  config?: BaseModelConfig;
}

/**
 * Patches `buffer[0, length)` (an ONNX model) with `adapter`. Validates
 * everything first: on any mismatch it throws AdapterError and leaves the
 * buffer untouched.
 */
export function patchOnnxWithLora(buffer: Uint8Array, length: number, adapter: LoraAdapter, opts: PatchOptions = {}): PatchResult {
  const g = readOnnxGraph(buffer, length);
  const sites = findProjections(g, opts.config);
  if (!sites.size) throw layoutError('the ONNX graph has no projection nodes named like an Optimum or ModelBuilder export (/model/layers.{i}/self_attn/q_proj/MatMul …)');

  // Group the adapter's modules by the output they land on, checking every shape first.
  const groups = new Map<ProjectionSite, { part: ProjectionSite['parts'][number]; m: LoraModule }[]>();
  for (const m of adapter.modules) {
    const site = sites.get(m.name);
    if (!site)
      throw new AdapterError('mismatch', `the adapter targets ${m.name}, which the model's ONNX graph does not have (another base model?)`, m.name);
    const part = site.parts.find((p) => p.module === m.name)!;
    if (site.parts.length > 1 && part.size === null) {
      // Packed qkv without a config: infer from the adapter when it covers all three.
      const all = site.parts.map((p) => adapter.modules.find((x) => x.name === p.module));
      if (all.some((x) => !x)) throw layoutError(`${site.node.name} packs q, k and v; the model's config.json is needed to find each slice`);
      let off = 0;
      site.parts.forEach((p, i) => ((p.offset = off), (p.size = all[i]!.outFeatures), (off += p.size)));
    }
    if (site.inFeatures !== null && site.inFeatures !== m.inFeatures)
      throw new AdapterError('mismatch', `${m.name}: the adapter expects ${m.inFeatures} input features, the model has ${site.inFeatures}`, m.name);
    if (part.size !== null && part.size !== m.outFeatures)
      throw new AdapterError('mismatch', `${m.name}: the adapter produces ${m.outFeatures} output features, the model has ${part.size}`, m.name);
    const list = groups.get(site) ?? [];
    list.push({ part, m });
    groups.set(site, list);
  }

  const taken = new Set(g.names);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const patch = new PbWriter();
  const inits: PbWriter[] = [];
  const renames: { span: { start: number; end: number }; name: string }[] = [];
  const applied: AppliedModule[] = [];
  for (const [site, list] of groups) {
    const N = site.parts.length > 1 ? site.parts.reduce((a, p) => a + (p.size ?? 0), 0) : list[0].m.outFeatures;
    const K = list[0].m.inFeatures;
    const R = list.reduce((a, { m }) => a + m.r, 0);
    // Aᵀ stacked along the rank [K, R]; s·Bᵀ block-diagonal [R, N] (each module on its own columns).
    const At = new Float32Array(K * R);
    const sBt = new Float32Array(R * N);
    let r0 = 0;
    for (const { part, m } of list) {
      for (let k = 0; k < m.r; k++) {
        for (let i = 0; i < K; i++) At[i * R + r0 + k] = m.A[k * K + i];
        for (let o = 0; o < m.outFeatures; o++) sBt[(r0 + k) * N + part.offset + o] = m.scale * m.B[o * m.r + k];
      }
      r0 += m.r;
      applied.push({ module: m.name, node: site.node.name, op: site.op, rank: m.r, scale: m.scale });
    }
    const tag = site.parts.length > 1 ? site.parts[0].module.replace(/q_proj$/, 'qkv_proj') : list[0].m.name;
    const atName = fresh(`lora.${tag}.A_t`);
    const btName = fresh(`lora.${tag}.sB_t`);
    inits.push(tensor(atName, [K, R], At), tensor(btName, [R, N], sBt));

    const base = renameInPlace(site.y, taken);
    taken.add(base);
    const yIndex = site.yNode.outputs.indexOf(site.y);
    renames.push({ span: site.yNode.outputSpans[yIndex], name: base });
    const half = site.elemType === ONNX_FLOAT16;
    let x = site.x;
    if (half) patch.message(1, node('Cast', fresh(`/lora/${tag}/CastIn`), [site.x], (x = fresh(`/lora/${tag}/x_f32`)), ONNX_FLOAT));
    const h = fresh(`/lora/${tag}/xA`);
    patch.message(1, node('MatMul', fresh(`/lora/${tag}/MatMulA`), [x, atName], h));
    let d = fresh(`/lora/${tag}/delta`);
    patch.message(1, node('MatMul', fresh(`/lora/${tag}/MatMulB`), [h, btName], d));
    if (half) {
      const d16 = fresh(`/lora/${tag}/delta_f16`);
      patch.message(1, node('Cast', fresh(`/lora/${tag}/CastOut`), [d], d16, ONNX_FLOAT16));
      d = d16;
    }
    patch.message(1, node('Add', fresh(`/lora/${tag}/Add`), [base, d], site.y));
  }
  for (const t of inits) patch.message(5, t);
  const appended = new PbWriter().message(7, patch).finish();

  // All checks passed: only now touch the buffer.
  const total = length + appended.length;
  const inPlace = buffer.length >= total;
  const out = inPlace ? buffer.subarray(0, total) : new Uint8Array(total);
  if (!inPlace) out.set(buffer.subarray(0, length));
  const enc = new TextEncoder();
  for (const { span, name } of renames) out.set(enc.encode(name), span.start);
  out.set(appended, length);
  return { bytes: out, applied, addedBytes: appended.length, inPlace };
}
