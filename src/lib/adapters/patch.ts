/**
 * Adds LoRA branches to an ONNX decoder at load time. Next to each targeted
 * projection y = x·W (MatMul, MatMulNBits or MatMulInteger; weights inline or
 * in external data, never read) it adds
 *
 *     y = y_base + (x·Aᵀ)·(s·Bᵀ)
 *
 * leaving the base weights untouched, so 4-bit weights keep the whole adapter.
 *
 * Without re-encoding the model: the new nodes and initializers go into a
 * second `graph` field appended to the ModelProto — protobuf merges repeated
 * occurrences of a message field, concatenating the repeated `node` and
 * `initializer` lists. Nodes must stay in topological order (onnx.checker
 * requires it), so each branch has to come right after its projection and
 * before that projection's consumers: every node from the first adapted
 * projection on is copied to the appended graph in its order (the projection
 * with its output renamed, then its branch), and its old entry is retagged in
 * place, one byte, as GraphProto field 3, which ONNX reserves (parsers skip it
 * as an unknown field). The base model's weights are neither copied nor
 * decoded (only node bytes are copied); with `headroom` bytes reserved after
 * the model the patch is written in place, so memory grows by the adapter and
 * the node list alone.
 *
 * Layouts: Optimum (`/model/layers.{i}/self_attn/q_proj/MatMul`, quantized
 * `…/MatMul_Q4`, `…/MatMul_quant`) and ModelBuilder (`/attn/`, a packed
 * `qkv_proj` whose output is [q; k; v]: its branch uses a block-diagonal s·Bᵀ
 * so each adapter lands on its own slice). fp16 activations are cast to fp32
 * for the branch and back.
 */
import type { LoraAdapter, LoraModule } from './adapter';
import { AdapterError } from './errors';
import { ONNX_FLOAT, ONNX_FLOAT16, readOnnxGraph, type OnnxGraph, type OnnxInitializer, type OnnxNode } from './onnx-graph';
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

/** GraphProto `node` (field 1, length-delimited) and the reserved field 3 its moved entries become. */
const NODE_TAG = (1 << 3) | 2;
const RESERVED_TAG = (3 << 3) | 2;
/** The node list's share of a model file, at most (measured on Optimum and ModelBuilder exports; see patch tests). */
export const NODE_SHARE = 0.02;

const NODE_RE = /^\/model\/layers\.(\d+)\/(self_attn|attn|mlp)\/(q|k|v|o|qkv|gate|up|down)_proj\/(MatMul|MatMulNBits)(?:_Q\d+|_quant)?$/;

const layoutError = (msg: string) => new AdapterError('layout', msg);

function only<T>(list: T[] | undefined): T | undefined {
  return list && list.length === 1 ? list[0] : undefined;
}

/** [in, out] of a 2-D weight initializer, when known. */
const inOut = (t?: OnnxInitializer) => (t?.dims.length === 2 ? { inFeatures: t.dims[0], outFeatures: t.dims[1] } : { inFeatures: null, outFeatures: null });
const elemOf = (t?: OnnxInitializer) => (t?.dataType === ONNX_FLOAT16 ? ONNX_FLOAT16 : ONNX_FLOAT);

function siteFor(g: OnnxGraph, node: OnnxNode): Omit<ProjectionSite, 'parts'> | null {
  const plain = { node, x: node.inputs[0], y: node.outputs[0], yNode: node };
  if (node.opType === 'MatMul' && !node.domain) {
    // The weight is the second input: an initializer, or a DequantizeLinear of one.
    const w = g.initializers.get(node.inputs[1]);
    const deq = w ? undefined : g.producer.get(node.inputs[1]);
    const wInfo = w ?? (deq?.opType === 'DequantizeLinear' ? g.initializers.get(deq.inputs[0]) : undefined);
    return { ...plain, op: 'MatMul', ...inOut(wInfo), elemType: elemOf(w ?? (deq ? g.initializers.get(deq.inputs[1]) : undefined)) };
  }
  if (node.opType === 'MatMulNBits')
    return { ...plain, op: 'MatMulNBits', inFeatures: node.ints.K ?? null, outFeatures: node.ints.N ?? null, elemType: elemOf(g.initializers.get(node.inputs[2])) };
  if (node.opType === 'MatMulInteger') {
    // ONNX Runtime's dynamic quantization: DynamicQuantizeLinear(x) → MatMulInteger → Cast → Mul(scale).
    const dq = g.producer.get(node.inputs[0]);
    const cast = only(g.consumers.get(node.outputs[0]));
    const mul = cast?.opType === 'Cast' ? only(g.consumers.get(cast.outputs[0])) : undefined;
    if (dq?.opType !== 'DynamicQuantizeLinear' || mul?.opType !== 'Mul')
      throw layoutError(`${node.name}: expected DynamicQuantizeLinear → MatMulInteger → Cast → Mul, found another pattern`);
    return { node, op: 'MatMulInteger', x: dq.inputs[0], y: mul.outputs[0], yNode: mul, ...inOut(g.initializers.get(node.inputs[1])), elemType: ONNX_FLOAT };
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

/**
 * Bytes to reserve after the model so patching needs no copy of it: the adapter's
 * tensors, and the copied node list (`modelBytes` known: a share of it; see NODE_SHARE).
 */
export function patchHeadroom(adapter: LoraAdapter, modelBytes = 0): number {
  let n = 64 * 1024 + Math.ceil(modelBytes * NODE_SHARE);
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

/** A packed q+k+v output must be exactly as wide as q, k and v together (a wrong config.json would otherwise fail only inside ONNX Runtime). */
function checkPacked(site: ProjectionSite, config: BaseModelConfig = {}): void {
  const sizes = site.parts.map((p) => p.size);
  if (site.outFeatures === null || sizes.some((x) => x === null)) return;
  const sum = sizes.reduce((a, b) => a! + b!, 0)!;
  if (sum === site.outFeatures) return;
  const fromConfig = config.num_attention_heads !== undefined && (config.head_dim !== undefined || config.hidden_size !== undefined);
  const source = fromConfig
    ? `the model's config.json (num_attention_heads ${config.num_attention_heads}, num_key_value_heads ${config.num_key_value_heads ?? 'absent'}, head_dim ${config.head_dim ?? 'absent'}, hidden_size ${config.hidden_size ?? 'absent'}) gives`
    : "the adapter's q, k and v give";
  throw new AdapterError(
    'mismatch',
    `${site.node.name} packs q, k and v into ${site.outFeatures} outputs, but ${source} q ${sizes[0]} + k ${sizes[1]} + v ${sizes[2]} = ${sum}: ${fromConfig ? 'a config.json of another model?' : 'an adapter for another model?'}`,
    fromConfig ? 'config.json' : site.parts[0].module,
  );
}

export interface PatchOptions {
  /** The base model's config.json (needed for a packed qkv_proj when the adapter lacks some of q/k/v). */
  config?: BaseModelConfig;
}

/** The edits that patch a model: same-length byte edits at offsets (retagged node entries), and bytes to append. */
export interface LoraPatchPlan {
  renames: { offset: number; bytes: Uint8Array }[];
  appended: Uint8Array;
  applied: AppliedModule[];
}

/**
 * Patches `buffer[0, length)` (an ONNX model) with `adapter`. Validates
 * everything first: on any mismatch it throws AdapterError and leaves the
 * buffer untouched.
 */
export function patchOnnxWithLora(buffer: Uint8Array, length: number, adapter: LoraAdapter, opts: PatchOptions = {}): PatchResult {
  const { renames, appended, applied } = planLoraPatch(buffer, length, adapter, opts);
  const total = length + appended.length;
  const inPlace = buffer.length >= total;
  const out = inPlace ? buffer.subarray(0, total) : new Uint8Array(total);
  if (!inPlace) out.set(buffer.subarray(0, length));
  for (const r of renames) out.set(r.bytes, r.offset);
  out.set(appended, length);
  return { bytes: out, applied, addedBytes: appended.length, inPlace };
}

/**
 * The edits without applying them: what patchOnnxWithLora writes, for a caller
 * that applies them to a file (Node: a copy of the model file, never read into
 * memory). Reads only the graph's structure, never tensor bytes, so `buffer`
 * may hold zeros where raw_data lies.
 */
export function planLoraPatch(buffer: Uint8Array, length: number, adapter: LoraAdapter, opts: PatchOptions = {}): LoraPatchPlan {
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
    if (site.parts.length > 1) checkPacked(site, opts.config);
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
  const inits: PbWriter[] = [];
  /** Per adapted projection node: which output it renames, to what, and the branch nodes that follow it. */
  const branches = new Map<OnnxNode, { output: number; base: string; nodes: PbWriter[] }>();
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
    const nodes: PbWriter[] = [];
    const half = site.elemType === ONNX_FLOAT16;
    let x = site.x;
    if (half) nodes.push(node('Cast', fresh(`/lora/${tag}/CastIn`), [site.x], (x = fresh(`/lora/${tag}/x_f32`)), ONNX_FLOAT));
    const h = fresh(`/lora/${tag}/xA`);
    nodes.push(node('MatMul', fresh(`/lora/${tag}/MatMulA`), [x, atName], h));
    let d = fresh(`/lora/${tag}/delta`);
    nodes.push(node('MatMul', fresh(`/lora/${tag}/MatMulB`), [h, btName], d));
    if (half) {
      const d16 = fresh(`/lora/${tag}/delta_f16`);
      nodes.push(node('Cast', fresh(`/lora/${tag}/CastOut`), [d], d16, ONNX_FLOAT16));
      d = d16;
    }
    nodes.push(node('Add', fresh(`/lora/${tag}/Add`), [base, d], site.y));
    branches.set(site.yNode, { output: site.yNode.outputs.indexOf(site.y), base, nodes });
  }

  // Topological order: from the first adapted projection on, every node moves to the appended graph
  // (its old entry retagged in place), each projection followed by its branch.
  const enc = new TextEncoder();
  const patch = new PbWriter();
  const renames: { offset: number; bytes: Uint8Array }[] = [];
  const first = g.nodes.findIndex((n) => branches.has(n));
  for (const n of g.nodes.slice(first)) {
    if (buffer[n.entry.tag] !== NODE_TAG) throw layoutError(`node ${n.name}: expected a one-byte node tag at ${n.entry.tag}`);
    renames.push({ offset: n.entry.tag, bytes: Uint8Array.of(RESERVED_TAG) });
    const b = branches.get(n);
    let body = buffer.subarray(n.entry.body.start, n.entry.body.end);
    if (b) {
      body = body.slice(); // the projection's output takes the base name (same length), the branch's Add the old one
      body.set(enc.encode(b.base), n.outputSpans[b.output].start - n.entry.body.start);
    }
    patch.bytes(1, body);
    for (const w of b?.nodes ?? []) patch.message(1, w);
  }
  for (const t of inits) patch.message(5, t);
  const appended = new PbWriter().message(7, patch).finish();
  return { renames, appended, applied };
}
