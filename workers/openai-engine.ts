/**
 * The Engine on an OpenAI-compatible chat-completions server the user names
 * (vLLM, SGLang, llama.cpp's server, Ollama, LM Studio): the way 7B–70B
 * models are served on one's own GPUs. Only HTTP, so it runs in Node (CLI) and
 * on the page; calls may overlap (the server batches them), which is the
 * throughput lever for large runs (capabilities().maxConcurrency).
 *
 * Load probes the server and says what it supports before a run starts:
 *  - GET /models: the served names; the model (or its adapter) must be one.
 *  - Adapters: a LoRA adapter is addressed by its served name (vLLM
 *    --lora-modules NAME=PATH); when it is not served, vLLM's runtime
 *    endpoint POST /load_lora_adapter is tried (VLLM_ALLOW_RUNTIME_LORA_UPDATING).
 *  - Decisions: one one-token completion with logprobs + top_logprobs (20, or
 *    5 when the server caps lower); none back → decisions are refused, saying why.
 *  - Constrained reports: each request format is tried on a probe whose only
 *    valid reply is {"probe": 7}; the first the server enforces is used
 *    (OpenAI json_schema: vLLM, SGLang, llama.cpp's C++ server, Ollama ≥ 0.5,
 *    LM Studio; GBNF `grammar`: llama.cpp's servers; `{type: json_object,
 *    schema}`: llama-cpp-python; Ollama's `format`).
 *
 * Decisions, exact where the server allows: each label's own log-probability,
 * sent as the open final assistant message with `prompt_logprobs` (vLLM),
 * basis 'full'. Otherwise P(A) from the labels' entries among the top-k
 * log-probabilities at temperature 1 (the model's own distribution; servers
 * report logprobs before sampling), basis 'top-k'; a label outside the top k
 * gets an upper bound (scoreFromTopLogprobs). Reports: greedy; constrained under the probed
 * format, free as the paper did; both parsed by parseReport.
 */
import type { ChatMessage } from '../src/lib/prompts';
import { parseReport } from '../src/lib/reports';
import type { ReportMode } from '../src/lib/experiment/spec';
import type { ChoiceScore, ConstrainedFormat, Engine, EngineCapabilities, LoadOptions, LoadProgress, ReportResult, ServerCapabilities } from '../src/lib/engine/types';
import { EngineError } from '../src/lib/engine/types';
import { ServerClient, type ServerClientOptions } from './openai-http';
import { constrainedBudget, reportGrammar, reportSchema, scoreFromLabelLogprobs, scoreFromTopLogprobs, type TopLogprob } from './webllm-helpers';

export interface OpenAIEngineOptions extends ServerClientOptions {
  /** Force a constrained-report format instead of probing ('none': constrained reports are refused). */
  constrained?: ConstrainedFormat | 'none';
  /** Token budget of a free-mode reply (default 160, as the other engines). */
  maxReplyTokens?: number;
  /** Calls the runner may keep in flight (default 64; the server queues what it cannot batch). */
  maxConcurrency?: number;
}

interface ChatReply {
  /** vLLM, when asked with `prompt_logprobs`: per prompt token, {token id: {logprob, decoded_token}} (null for the first). */
  prompt_logprobs?: Array<Record<string, { logprob?: unknown; decoded_token?: unknown }> | null> | null;
  choices?: Array<{
    message?: { content?: string | null };
    finish_reason?: string | null;
    logprobs?: { content?: Array<{ token: string; logprob: number; top_logprobs?: TopLogprob[] }> | null } | null;
  }>;
}

const FORMATS: ConstrainedFormat[] = ['json_schema', 'grammar', 'json_object_schema', 'ollama_format'];
const FORMAT_WORDS: Record<ConstrainedFormat, string> = {
  json_schema: 'response_format json_schema (vLLM, SGLang, llama.cpp, Ollama, LM Studio)',
  grammar: 'a GBNF grammar (llama.cpp)',
  json_object_schema: 'response_format json_object with a schema (llama-cpp-python)',
  ollama_format: "Ollama's format field",
};

/** The request fields that ask for a reply matching `schema` (or the equivalent grammar) in the given format. */
export function constrainedFields(format: ConstrainedFormat, schema: object, grammar: string): Record<string, unknown> {
  switch (format) {
    case 'json_schema':
      return { response_format: { type: 'json_schema', json_schema: { name: 'report', schema, strict: true } } };
    case 'grammar':
      return { grammar };
    case 'json_object_schema':
      return { response_format: { type: 'json_object', schema } };
    case 'ollama_format':
      return { format: schema };
  }
}

/** A reply whose first sampled token ended it, so it carries an empty logprobs list. */
function endedAtOnce(reply: ChatReply): boolean {
  const c = reply.choices?.[0];
  return !!c && c.finish_reason === 'stop' && !c.message?.content && Array.isArray(c.logprobs?.content) && c.logprobs.content.length === 0;
}

/**
 * Why a model is not served, in words that help: the names the server does serve, and how to
 * give a server the name the lab asks for. llama.cpp's servers name a model by the file they were
 * started with (a path) unless given an alias.
 */
export function notServedMessage(baseUrl: string, model: string, served: readonly string[]): string {
  const list = served.length ? served.map((m) => `"${m}"`).join(', ') : 'nothing';
  const byPath = served.filter((m) => /[/\\]|\.gguf$/i.test(m));
  const wanted = model.split('/').pop()!.toLowerCase();
  const same = served.find((m) => m.split(/[/\\]/).pop()!.toLowerCase().startsWith(wanted));
  const hints = [
    same ? `Use "${same}" as the model name` : 'Use one of these as the model name',
    `or start the server with the name you want: llama.cpp's server with --alias ${model} (llama-cpp-python: --model_alias ${model}), vLLM with --served-model-name ${model}`,
  ];
  const why = byPath.length ? ` (llama.cpp names a model by its file path unless started with an alias)` : '';
  return `the server at ${baseUrl} does not serve "${model}"; it serves: ${list}${why}. ${hints.join(', ')}.`;
}

export class OpenAIEngine implements Engine {
  private readonly client: ServerClient;
  private caps: EngineCapabilities | null = null;
  private server: ServerCapabilities | null = null;
  private readonly inFlight = new Set<AbortController>();
  private generation = 0;
  /** Requests sent, by kind (for tests and the benchmark). */
  readonly stats = { decisions: 0, reports: 0, probes: 0, resampled: 0, topKFallbacks: 0 };

  constructor(private readonly o: OpenAIEngineOptions) {
    this.client = new ServerClient(o);
  }

  /** One chat completion, abortable by cancel()/unload(). */
  private async chat(body: Record<string, unknown>): Promise<ChatReply> {
    const ctl = new AbortController();
    this.inFlight.add(ctl);
    try {
      return await this.client.request<ChatReply>('/chat/completions', body, ctl.signal);
    } finally {
      this.inFlight.delete(ctl);
    }
  }

  async load(opts: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<EngineCapabilities> {
    await this.unload();
    const generation = this.generation;
    onProgress?.({ phase: 'init', text: `Connecting to ${this.client.baseUrl}` });
    const listed = await this.client.request<{ data?: Array<{ id?: unknown; max_model_len?: unknown; meta?: { n_ctx_train?: unknown } }> }>('/models');
    if (!Array.isArray(listed.data)) throw new EngineError('server_error', `${this.client.baseUrl}/models did not list models`);
    const models = listed.data.map((m) => String(m.id));
    const notes: string[] = [];
    if (!models.includes(opts.model)) throw new EngineError('model_not_found', notServedMessage(this.client.baseUrl, opts.model, models));

    let servedModel = opts.model;
    let adapter: ServerCapabilities['adapter'] = null;
    if (opts.adapter) {
      servedModel = opts.adapter.id;
      if (opts.adapter.scale !== undefined && opts.adapter.scale !== 1)
        throw new EngineError('unsupported', 'servers apply a LoRA adapter at its trained scale; an adapter scale other than 1 is not available');
      if (models.includes(servedModel)) adapter = 'named';
      else {
        await this.client.request('/load_lora_adapter', { lora_name: servedModel, lora_path: servedModel }, undefined, 'text').catch((e: unknown) => {
          throw new EngineError('unsupported', `the server does not serve an adapter named "${servedModel}" and could not load it at run time (${EngineError.from(e).message}). vLLM: --enable-lora --lora-modules ${servedModel}=PATH, or VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`);
        });
        adapter = 'runtime';
      }
      notes.push(`The adapter runs as the served model "${servedModel}" (${adapter === 'named' ? 'served by name' : 'loaded at run time'}).`);
    }

    onProgress?.({ phase: 'init', text: 'Probing log-probabilities' });
    const { logprobs, topLogprobs } = await this.probeLogprobs(servedModel);
    const exactLabels = logprobs && (await this.labelLogprob(servedModel, [{ role: 'user', content: 'Answer with A or B.' }], 'A', true)) !== null;
    notes.push(
      exactLabels
        ? "Decisions: exact — each label's own log-probability (the label as an open assistant message, prompt_logprobs)."
        : logprobs
        ? `Decisions: top-${topLogprobs} log-probabilities (P(A) from the labels' entries; a label outside the top ${topLogprobs} gets an upper bound).`
        : 'Decisions: this server returns no log-probabilities, so decision trials cannot run (vLLM and llama.cpp return them; Ollama only in recent versions).',
    );

    onProgress?.({ phase: 'init', text: 'Probing structured output' });
    const constrained = this.o.constrained === 'none' ? null : this.o.constrained ?? (await this.probeConstrained(servedModel));
    notes.push(
      constrained
        ? `Constrained reports: ${FORMAT_WORDS[constrained]}.`
        : 'Constrained reports: the server enforced none of the structured-output formats tried, so only free reports can run.',
    );

    const meta = listed.data[models.indexOf(opts.model)];
    const ctx = [meta.max_model_len, meta.meta?.n_ctx_train].find((v): v is number => typeof v === 'number' && v > 0);
    if (!ctx) notes.push('The server does not report its context length (2048 shown); it refuses longer prompts with its own message.');
    if (generation !== this.generation) throw new EngineError('cancelled', 'unloaded while connecting');

    this.server = { baseUrl: this.client.baseUrl, models, servedModel, logprobs, topLogprobs, exactLabels, constrained, adapter, notes };
    this.caps = {
      engine: 'openai',
      model: opts.model,
      device: 'server',
      dtype: 'as served',
      contextLength: ctx ?? 2048,
      adapter: opts.adapter ? servedModel : null,
      approximateChoice: !exactLabels,
      maxConcurrency: this.o.maxConcurrency ?? 64,
      server: this.server,
    };
    onProgress?.({ phase: 'ready', progress: 1 });
    return this.capabilitiesNow();
  }

  private decisionBody(model: string, messages: ChatMessage[], top: number) {
    return {
      model,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      max_tokens: 1,
      // Temperature 1 and no penalties: the reported log-probabilities are the model's own distribution.
      temperature: 1,
      top_p: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      logprobs: true,
      top_logprobs: top,
    };
  }

  /**
   * log P(label | prompt) read directly: the label as the open final assistant message
   * (`continue_final_message`, vLLM's chat template options) and the prompt tokens'
   * log-probabilities (`prompt_logprobs: 0`). Null when the server does not answer that way or the
   * label is not one token of its own there (it merged with what precedes it).
   */
  private async labelLogprob(model: string, messages: ChatMessage[], label: string, probing = false): Promise<number | null> {
    const request = this.chat({
      model,
      messages: [...messages.map((m) => ({ role: m.role, content: m.content })), { role: 'assistant', content: label }],
      add_generation_prompt: false,
      continue_final_message: true,
      max_tokens: 1,
      temperature: 1,
      prompt_logprobs: 0,
    });
    // At the probe, a server that refuses these fields simply has no exact path; in a run, errors are errors.
    const reply = probing ? await request.catch(() => null) : await request;
    const last = reply?.prompt_logprobs?.at(-1);
    if (!last || typeof last !== 'object') return null;
    const hit = Object.values(last).find((t) => t?.decoded_token === label && typeof t.logprob === 'number' && t.logprob <= 0);
    return hit ? (hit.logprob as number) : null;
  }

  private async probeLogprobs(model: string): Promise<{ logprobs: boolean; topLogprobs: number }> {
    const messages: ChatMessage[] = [{ role: 'user', content: 'Answer with A or B.' }];
    for (const top of [20, 5]) {
      this.stats.probes++;
      try {
        let reply = await this.chat(this.decisionBody(model, messages, top));
        for (let again = 1; again <= 16 && endedAtOnce(reply); again++) reply = await this.chat({ ...this.decisionBody(model, messages, top), seed: again });
        const got = reply.choices?.[0]?.logprobs?.content?.[0]?.top_logprobs;
        return Array.isArray(got) && got.length ? { logprobs: true, topLogprobs: top } : { logprobs: false, topLogprobs: 0 };
      } catch (e) {
        // A server capping top_logprobs below 20 answers 400; try 5 (OpenAI's own minimum useful setting).
        if (EngineError.from(e).code !== 'server_error' || top === 5) throw e;
      }
    }
    return { logprobs: false, topLogprobs: 0 };
  }

  private async probeConstrained(model: string): Promise<ConstrainedFormat | null> {
    const schema = { type: 'object', properties: { probe: { type: 'integer', minimum: 7, maximum: 7 } }, required: ['probe'], additionalProperties: false };
    const grammar = 'root ::= "{" ws "\\"probe\\"" ws ":" ws "7" ws "}"\nws ::= [ ]?\n';
    for (const format of FORMATS) {
      this.stats.probes++;
      const reply = await this.chat({
        model,
        messages: [{ role: 'user', content: 'Say hello.' }],
        max_tokens: 24,
        temperature: 0,
        ...constrainedFields(format, schema, grammar),
      }).catch(() => null); // A format the server rejects outright is simply not supported.
      const text = reply?.choices?.[0]?.message?.content ?? '';
      try {
        const j = JSON.parse(text) as Record<string, unknown>;
        if (Object.keys(j).length === 1 && j.probe === 7) return format;
      } catch {
        /* not enforced */
      }
    }
    return null;
  }

  private need(): ServerCapabilities {
    if (!this.caps || !this.server) throw new EngineError('not_loaded');
    return this.server;
  }

  private content(reply: ChatReply): { text: string; finish: string | null } {
    const choice = reply.choices?.[0];
    if (!choice || !choice.message) throw new EngineError('server_error', `the reply has no choices[0].message: ${JSON.stringify(reply).slice(0, 200)}`);
    return { text: choice.message.content ?? '', finish: choice.finish_reason ?? null };
  }

  async scoreChoice(messages: ChatMessage[], labels: string[]): Promise<ChoiceScore> {
    const server = this.need();
    if (!server.logprobs) throw new EngineError('unsupported', `the server at ${server.baseUrl} returns no log-probabilities, which decision trials need`);
    this.stats.decisions++;
    if (server.exactLabels) {
      const exact = await Promise.all(labels.map((l) => this.labelLogprob(server.servedModel, messages, l)));
      if (exact.every((x): x is number => x !== null)) return scoreFromLabelLogprobs(labels, exact, 'full');
      this.stats.topKFallbacks++;
    }
    let reply = await this.chat(this.decisionBody(server.servedModel, messages, server.topLogprobs));
    // When the sampled first token ends the reply, llama.cpp returns no logprobs entry for it. The
    // distribution does not depend on which token was sampled, so another sample gives the same one.
    // A new `seed` per try: some servers (llama-cpp-python) would otherwise draw the same token again.
    for (let again = 1; again <= 16 && endedAtOnce(reply); again++) {
      this.stats.resampled++;
      reply = await this.chat({ ...this.decisionBody(server.servedModel, messages, server.topLogprobs), seed: again });
    }
    const top = reply.choices?.[0]?.logprobs?.content?.[0]?.top_logprobs;
    if (!Array.isArray(top) || !top.length || !top.every((t) => typeof t?.token === 'string' && typeof t.logprob === 'number'))
      throw new EngineError('server_error', `the reply has no usable logprobs.content[0].top_logprobs: ${JSON.stringify(reply.choices?.[0] ?? reply).slice(0, 300)}`);
    // Only the k most likely: llama.cpp also lists the sampled token, which would make a bound depend on the draw.
    const topK = [...top].sort((x, y) => y.logprob - x.logprob).slice(0, server.topLogprobs);
    const { estimated: _estimated, ...score } = scoreFromTopLogprobs(labels, topK);
    return score;
  }

  async report(messages: ChatMessage[], attributeNames: string[], mode: ReportMode): Promise<ReportResult> {
    const server = this.need();
    const base = { model: server.servedModel, messages: messages.map((m) => ({ role: m.role, content: m.content })), temperature: 0 };
    let body: Record<string, unknown>;
    if (mode === 'constrained') {
      if (!server.constrained)
        throw new EngineError('unsupported', `the server at ${server.baseUrl} enforces no structured-output format, so constrained reports cannot run (use free reports)`);
      body = { ...base, max_tokens: constrainedBudget(attributeNames), ...constrainedFields(server.constrained, reportSchema(attributeNames), reportGrammar(attributeNames)) };
    } else body = { ...base, max_tokens: this.o.maxReplyTokens ?? 160 };
    this.stats.reports++;
    const { text } = this.content(await this.chat(body));
    const parse = parseReport(text, attributeNames);
    return { mode, text, weights: parse.ok ? parse.weights : null, parse };
  }

  async cancel(): Promise<void> {
    for (const c of this.inFlight) c.abort();
  }

  async unload(): Promise<void> {
    this.generation++;
    this.caps = null;
    this.server = null;
    await this.cancel();
  }

  private capabilitiesNow(): EngineCapabilities {
    return { ...this.caps!, server: { ...this.server!, models: [...this.server!.models], notes: [...this.server!.notes] } };
  }

  async capabilities(): Promise<EngineCapabilities | null> {
    return this.caps ? this.capabilitiesNow() : null;
  }

  /** Drop the connection now (the provider's stop): in-flight requests are aborted. */
  terminate(): void {
    void this.unload();
  }
}
