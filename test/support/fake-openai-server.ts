/**
 * A protocol double of an OpenAI-compatible server, for what llama.cpp's
 * server does not do. Built from the servers' documentation, not from our
 * engine:
 *  - vLLM (docs.vllm.ai, "OpenAI-Compatible Server", "LoRA Adapters"): /v1/models
 *    lists the base model with `max_model_len` and each --lora-modules adapter
 *    by name (with `parent`); POST /v1/load_lora_adapter {lora_name, lora_path}
 *    answers in plain text when VLLM_ALLOW_RUNTIME_LORA_UPDATING is on (404
 *    otherwise); structured output through `response_format: {type:
 *    "json_schema", json_schema: {schema}}`; errors as `{object: "error",
 *    message, type, code}`.
 *  - Ollama (its OpenAI compatibility and /api/chat docs): the schema in a
 *    `format` field; errors as `{error: {message, type}}`.
 *  - Rate limits: HTTP 429 with Retry-After (seconds), as OpenAI's API.
 * It answers like a model would: decision replies carry `top_logprobs`
 * (sorted, the sampled token first) from a seeded distribution over a small
 * vocabulary; constrained replies satisfy the schema; free replies are JSON
 * most of the time and prose otherwise. Faults can be switched on per test.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Flavor = 'vllm' | 'ollama';

export interface FakeServerOptions {
  flavor?: Flavor;
  /** Served base model name. */
  model?: string;
  /** Adapters served by name (vLLM --lora-modules). */
  adapters?: string[];
  /** vLLM's VLLM_ALLOW_RUNTIME_LORA_UPDATING. */
  runtimeLora?: boolean;
  /** Largest top_logprobs accepted (vLLM's --max-logprobs, default 20). */
  maxLogprobs?: number;
  /** Milliseconds each completion takes. */
  delayMs?: number;
  /**
   * vLLM's `prompt_logprobs` with `continue_final_message` (chat template options; vLLM flavor only).
   * Off by default: an older vLLM, which ignores them.
   */
  promptLogprobs?: boolean;
}

export interface Faults {
  /** Answer this many next requests with 429 + Retry-After: 0. */
  rateLimit?: number;
  /** Answer chat completions with this status and the flavor's error body. */
  status?: number;
  /** Answer chat completions with a body that is not JSON. */
  malformed?: boolean;
  /** Leave `logprobs` out of decision replies. */
  noLogprobs?: boolean;
  /**
   * End this many next decision replies at once (the sampled token was the end of the reply): empty
   * content and an empty logprobs list, as llama.cpp's servers answer then.
   */
  endAtOnce?: number;
}

export interface FakeServer {
  baseUrl: string;
  faults: Faults;
  /** Every request body received, in order. */
  requests: Array<{ path: string; body: Record<string, unknown> | null }>;
  /** Adapters loaded at run time. */
  loaded: string[];
  /** Most requests in flight at once. */
  maxInFlight: number;
  close(): Promise<void>;
}

const VOCAB = ['A', 'B', ' A', ' B', 'The', 'I', 'Option', '{', 'a', 'b', 'Hello', '\n', ' the', 'Choice', '1', '2', 'Answer', ':', '.', 'Yes', 'No', 'maybe'];

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * A seeded log-softmax over VOCAB plus 2000 unlisted tokens at logit 0 (so the listed mass is < 1):
 * the listed tokens, most likely first, and the log-probability of any unlisted one.
 */
function distribution(seed: string): Array<{ token: string; logprob: number }> & { unlisted: number } {
  let x = hash(seed) || 1;
  const rnd = () => ((x = Math.imul(x ^ (x >>> 15), 2246822519) >>> 0), x / 2 ** 32);
  const logits = VOCAB.map(() => rnd() * 6);
  const z = Math.log(logits.reduce((s, l) => s + Math.exp(l), 0) + 2000);
  const listed = VOCAB.map((token, i) => ({ token, logprob: logits[i] - z })).sort((a, b) => b.logprob - a.logprob);
  return Object.assign(listed, { unlisted: -z });
}

interface Schema {
  properties?: Record<string, { minimum?: number; maximum?: number }>;
  required?: string[];
}

function satisfy(schema: Schema, seed: string): string {
  const names = schema.required ?? Object.keys(schema.properties ?? {});
  const obj: Record<string, number> = {};
  names.forEach((n, i) => {
    const p = schema.properties?.[n] ?? {};
    const lo = p.minimum ?? -100;
    const hi = p.maximum ?? 100;
    obj[n] = lo + (hash(seed + i) % (hi - lo + 1));
  });
  return JSON.stringify(obj);
}

export async function startFakeServer(o: FakeServerOptions = {}): Promise<FakeServer> {
  const flavor = o.flavor ?? 'vllm';
  const model = o.model ?? 'fake-model';
  const adapters = [...(o.adapters ?? [])];
  const state: FakeServer = { baseUrl: '', faults: {}, requests: [], loaded: [], maxInFlight: 0, close: async () => {} };
  let inFlight = 0;

  const error = (res: ServerResponse, status: number, message: string, type = 'BadRequestError') => {
    const body = flavor === 'vllm' ? { object: 'error', message, type, param: null, code: status } : { error: { message, type: 'invalid_request_error' } };
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };

  const chat = async (body: Record<string, unknown>, res: ServerResponse) => {
    const name = String(body.model);
    if (name !== model && !adapters.includes(name)) return error(res, 404, `The model \`${name}\` does not exist.`, 'NotFoundError');
    if (state.faults.status) return error(res, state.faults.status, `Internal failure (${state.faults.status})`, 'InternalServerError');
    if (state.faults.malformed) return res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"choices": [ {"message": ');
    const messages = body.messages as Array<{ role: string; content: string }>;
    const seed = name + JSON.stringify(messages);
    const wantTop = Number(body.top_logprobs ?? 0);
    if (body.logprobs && wantTop > (o.maxLogprobs ?? 20))
      return error(res, 400, `Requested top logprobs of ${wantTop} exceeds the maximum allowed value of ${o.maxLogprobs ?? 20}`);
    if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));

    const last = messages.at(-1);
    if (flavor === 'vllm' && o.promptLogprobs && typeof body.prompt_logprobs === 'number' && body.continue_final_message && last?.role === 'assistant') {
      // The prompt's last token is the open assistant message's text: its log-probability after the rest.
      const before = distribution(name + JSON.stringify(messages.slice(0, -1)));
      const hit = before.find((t) => t.token === last.content);
      const entry = { [String(hash(last.content) % 50000)]: { logprob: hit ? hit.logprob : before.unlisted, rank: hit ? before.indexOf(hit) + 1 : before.length + 1, decoded_token: last.content } };
      return res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({ id: 'chatcmpl-p', object: 'chat.completion', model: name, prompt_logprobs: [null, ...messages.map(() => ({ '7': { logprob: -1.5, rank: 3, decoded_token: 'x' } })), entry], choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, logprobs: null, finish_reason: 'length' }] }),
      );
    }
    let schema: Schema | null = null;
    const rf = body.response_format as { type?: string; json_schema?: { schema?: Schema } } | undefined;
    if (flavor === 'vllm' && rf?.type === 'json_schema') schema = rf.json_schema?.schema ?? null;
    if (flavor === 'ollama' && body.format && typeof body.format === 'object') schema = body.format as Schema;

    const dist = distribution(seed);
    let content: string;
    if (schema) content = satisfy(schema, seed);
    else if (Number(body.max_tokens) === 1) content = dist[0].token;
    else if (hash(seed) % 4 === 0) content = 'I weighed every attribute carefully.';
    else content = `{"weight": ${hash(seed) % 100}}`;
    if (body.logprobs && state.faults.endAtOnce) {
      state.faults.endAtOnce--;
      return res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({ id: 'chatcmpl-end', object: 'chat.completion', model: name, choices: [{ index: 0, message: { role: 'assistant', content: '' }, logprobs: { content: [] }, finish_reason: 'stop' }] }),
      );
    }
    const logprobs =
      body.logprobs && !state.faults.noLogprobs
        ? { content: [{ token: dist[0].token, logprob: dist[0].logprob, bytes: null, top_logprobs: dist.slice(0, wantTop).map((t) => ({ ...t, bytes: null })) }] }
        : null;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(
      JSON.stringify({
        id: `chatcmpl-${hash(seed)}`,
        object: 'chat.completion',
        model: name,
        choices: [{ index: 0, message: { role: 'assistant', content }, logprobs, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
      }),
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const path = (req.url ?? '').replace(/\?.*$/, '');
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
    state.requests.push({ path, body });
    if (state.faults.rateLimit) {
      state.faults.rateLimit--;
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '0' });
      return res.end(JSON.stringify(flavor === 'vllm' ? { object: 'error', message: 'Too many requests', type: 'RateLimitError', code: 429 } : { error: { message: 'Too many requests' } }));
    }
    if (req.method === 'GET' && path === '/v1/models') {
      const data = [
        { id: model, object: 'model', owned_by: flavor, ...(flavor === 'vllm' ? { max_model_len: 8192, root: model, parent: null } : {}) },
        ...adapters.map((a) => ({ id: a, object: 'model', owned_by: flavor, root: a, parent: model })),
      ];
      return res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ object: 'list', data }));
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') return chat(body ?? {}, res);
    if (req.method === 'POST' && path === '/v1/load_lora_adapter' && flavor === 'vllm' && o.runtimeLora) {
      const name = String(body?.lora_name);
      adapters.push(name);
      state.loaded.push(name);
      return res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`Success: LoRA adapter '${name}' added successfully.`);
    }
    if (flavor === 'vllm') return res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"detail":"Not Found"}');
    return res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found');
  };

  const server: Server = createServer((req, res) => {
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    handle(req, res).catch((e) => error(res, 500, String(e)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  state.close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
  return state;
}
