/**
 * Servers the user names: OpenAI-compatible endpoints (vLLM, SGLang,
 * llama.cpp's server, Ollama, LM Studio) whose models the lab can use as
 * deciders and reporters (the model under study or the control). Connecting
 * lists the served models and probes one (log-probabilities, structured output) so what the server
 * supports is shown in words before a run. An API key stays in this page's
 * memory unless the user asks the lab to remember it in this browser.
 * The lab talks to no host but these servers and the model hosts it downloads from.
 */
import type { EngineCapabilities, EngineChoiceRecord, ServerCapabilities } from '../lib/engine/types';
import { OpenAIEngine } from '../../workers/openai-engine';
import { normalizeBaseUrl, ServerClient } from '../../workers/openai-http';
import { readList, writeJson } from './settings';

const SERVERS_KEY = 'lab.servers';

export interface ServerConnection {
  baseUrl: string;
  /** Model names the server lists. */
  models: string[];
  /** The model the probe ran on, and what it found. */
  probedModel: string;
  probe: ServerCapabilities;
  /** Kept only when the user chose to remember it in this browser. */
  apiKey?: string;
}

export function serverEngine(baseUrl: string, apiKey?: string): OpenAIEngine {
  return new OpenAIEngine({ baseUrl, apiKey });
}

/** How a served model's engine was chosen, in words (recorded with the run like the browser engines' choice). */
export function serverChoiceRecord(caps: EngineCapabilities): EngineChoiceRecord {
  const server = caps.server;
  return {
    requested: 'openai',
    planned: 'openai',
    reason: `${caps.model} runs on the server at ${server?.baseUrl ?? 'the address given'}. ${server?.notes.join(' ') ?? ''}`.trim(),
    userChoiceHonored: true,
  };
}

/** List the server's models and probe one (the first unless named). Throws EngineError with the server's words. */
export async function connectServer(baseUrl: string, apiKey?: string, model?: string): Promise<ServerConnection> {
  const url = normalizeBaseUrl(baseUrl);
  const listed = await new ServerClient({ baseUrl: url, apiKey }).request<{ data?: Array<{ id?: unknown }> }>('/models');
  const models = Array.isArray(listed.data) ? listed.data.map((m) => String(m.id)) : [];
  const probedModel = model ?? models[0];
  const engine = serverEngine(url, apiKey);
  try {
    const caps = await engine.load({ model: probedModel ?? '' });
    return { baseUrl: url, models, probedModel, probe: caps.server! };
  } finally {
    await engine.unload();
  }
}

/** One served model as a choice in the model lists (a select's value). */
export function serverModelValue(baseUrl: string, model: string): string {
  return `server:${JSON.stringify([baseUrl, model])}`;
}

export function parseServerModelValue(value: string): { baseUrl: string; model: string } | null {
  if (!value.startsWith('server:')) return null;
  try {
    const [baseUrl, model] = JSON.parse(value.slice('server:'.length)) as [string, string];
    return typeof baseUrl === 'string' && typeof model === 'string' ? { baseUrl, model } : null;
  } catch {
    return null;
  }
}

/** Connections kept in this browser (keys only where the user asked). */
export function readServers(): ServerConnection[] {
  return readList<ServerConnection>(SERVERS_KEY).filter((s) => typeof s?.baseUrl === 'string' && Array.isArray(s.models));
}

export function writeServers(list: ServerConnection[]): void {
  writeJson(SERVERS_KEY, list);
}
