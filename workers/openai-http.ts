/**
 * Requests to an OpenAI-compatible server (vLLM, SGLang, llama.cpp's server,
 * Ollama, LM Studio) with the failures a long run meets turned into clear
 * EngineErrors carrying the server's own words: connection refused, no reply
 * in time, HTTP 4xx/5xx, rate limits (retried with backoff, honouring
 * Retry-After), a reply that is not JSON. Plain fetch: runs in Node (CLI), on
 * the page and in a worker alike.
 */
import { EngineError } from '../src/lib/engine/types';

export interface ServerClientOptions {
  /** The OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1. */
  baseUrl: string;
  /** Sent as "Authorization: Bearer …" when given. */
  apiKey?: string;
  /** Per request, in ms (default 120 s: a large model's long reply under load). */
  timeoutMs?: number;
  /** Retries of a rate-limited or overloaded request (429, 502, 503, 504); default 5. */
  retries?: number;
  /** First backoff in ms, doubled per retry (default 500). */
  backoffMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** The HTTP statuses worth retrying: the server is busy, not wrong. */
const RETRY = new Set([429, 502, 503, 504]);

export function normalizeBaseUrl(url: string): string {
  const u = url.trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(u)) throw new EngineError('server_unreachable', `"${url}" is not an http:// or https:// address`);
  return u;
}

/**
 * A reply that is a web page, not an API's JSON: a wrong address (the lab's own dev server, a
 * proxy's error page, a base URL without /v1) answers with HTML. Say so in words, with the
 * page's title, never the markup.
 */
export function webPageWords(body: string): string | null {
  if (!/^\s*(<!doctype html|<html|<head|<body|<\?xml|<[a-z]+[\s>])/i.test(body)) return null;
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1]?.replace(/\s+/g, ' ').trim();
  return `a web page${title ? ` titled "${title.slice(0, 80)}"` : ''}, not a model server's JSON: check the address (an OpenAI-compatible server's base URL usually ends in /v1, e.g. http://127.0.0.1:8080/v1)`;
}

/** The server's own words from an error body: OpenAI's {error: {message}}, FastAPI's {detail}, Ollama's {error}, or the text. */
export function serverWords(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: unknown; detail?: unknown; message?: unknown };
    const e = j.error;
    if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') return (e as { message: string }).message;
    if (typeof e === 'string') return e;
    if (typeof j.message === 'string') return j.message;
    if (j.detail !== undefined) return typeof j.detail === 'string' ? j.detail : JSON.stringify(j.detail);
  } catch {
    /* not JSON: the text itself, unless it is a web page */
  }
  return webPageWords(body) ?? (body.trim().slice(0, 500) || '(empty body)');
}

export class ServerClient {
  readonly baseUrl: string;
  constructor(private readonly o: ServerClientOptions) {
    this.baseUrl = normalizeBaseUrl(o.baseUrl);
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.o.sleep) return this.o.sleep(ms);
    return new Promise((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(new EngineError('cancelled'));
      });
    });
  }

  /**
   * GET or POST `path` (relative to the base URL) and parse the JSON reply.
   * `signal` aborts it (code 'cancelled'); timeouts, refusals and HTTP errors
   * become EngineErrors with the server's words.
   */
  async request<T>(path: string, body?: unknown, signal?: AbortSignal, accept: 'json' | 'text' = 'json'): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const retries = this.o.retries ?? 5;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new EngineError('cancelled');
      const timeout = AbortSignal.timeout(this.o.timeoutMs ?? 120_000);
      const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let res: Response;
      let text: string;
      try {
        res = await (this.o.fetch ?? fetch)(url, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...(this.o.apiKey ? { Authorization: `Bearer ${this.o.apiKey}` } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: both,
        });
        text = await res.text();
      } catch (e) {
        if (signal?.aborted) throw new EngineError('cancelled');
        if (timeout.aborted) throw new EngineError('server_unreachable', `no reply from ${url} within ${Math.round((this.o.timeoutMs ?? 120_000) / 1000)} s`);
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new EngineError('server_unreachable', `${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
      }
      if (res.ok) {
        // vLLM's adapter endpoints answer in plain text ("Success: LoRA adapter … added successfully").
        if (accept === 'text') return text as T;
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new EngineError('server_error', `${url} answered with ${webPageWords(text) ?? `something that is not JSON: ${text.slice(0, 200)}`}`);
        }
      }
      if (RETRY.has(res.status) && attempt < retries) {
        const after = Number(res.headers.get('retry-after'));
        const wait = Number.isFinite(after) && after > 0 ? after * 1000 : (this.o.backoffMs ?? 500) * 2 ** attempt;
        await this.sleep(Math.min(wait, 60_000), signal);
        continue;
      }
      const words = serverWords(text);
      const what = `HTTP ${res.status} from ${url}${RETRY.has(res.status) ? ` after ${attempt + 1} tries` : ''}: ${words}`;
      if (res.status === 404 && /model/i.test(words)) throw new EngineError('model_not_found', what);
      throw new EngineError('server_error', res.status === 401 || res.status === 403 ? `${what} (check the API key)` : what);
    }
  }
}
