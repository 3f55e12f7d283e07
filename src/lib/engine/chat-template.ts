/**
 * Where a model folder keeps its chat template, and the check that one renders.
 *
 * transformers (Python) has written it in three places over time, and a model folder may use any:
 * - `tokenizer_config.json` → `chat_template`: a string, or a list of `{name, template}` (named
 *   templates, "default" among them). The only place transformers.js 4.3 reads.
 * - `chat_template.jinja`: the template itself. transformers ≥ 4.50 saves tokenizers this way (4.57
 *   removes `chat_template` from tokenizer_config.json when it writes the file), so does Optimum's
 *   export; named templates other than the default go to `additional_chat_templates/<name>.jinja`,
 *   which the lab does not need: it always renders the default (transformers picks another one
 *   only by name, or "tool_use" when tools are passed).
 * - `chat_template.json`: `{"chat_template": …}`, the processors' legacy file (multimodal repos).
 */
import type { ChatMessage } from '../prompts';

/** The files looked in, in order, after tokenizer_config.json. */
export const CHAT_TEMPLATE_FILES = ['chat_template.jinja', 'chat_template.json'] as const;
export type ChatTemplateFile = (typeof CHAT_TEMPLATE_FILES)[number];

/** A single template, or named templates (transformers.js picks "default"). */
export type ChatTemplate = string | Record<string, string>;

/** Named templates as tokenizer_config.json lists them, or a dict, to transformers.js's dict form. */
function namedTemplates(value: unknown, where: string): Record<string, string> {
  const list = Array.isArray(value) ? value : Object.entries(value as object).map(([name, template]) => ({ name, template }));
  const out: Record<string, string> = {};
  for (const item of list as { name?: unknown; template?: unknown }[]) {
    if (typeof item?.name !== 'string' || typeof item.template !== 'string')
      throw new Error(`${where}: named chat templates must be {name, template} strings`);
    out[item.name] = item.template;
  }
  return out;
}

/** The template a file holds; null when it holds none (empty, or no `chat_template` key). Throws on a malformed file. */
export function parseChatTemplateFile(file: ChatTemplateFile, text: string): ChatTemplate | null {
  if (file === 'chat_template.jinja') return text.trim() ? text : null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message})`);
  }
  const t = (json as { chat_template?: unknown } | null)?.chat_template;
  if (t === undefined || t === null || t === '') return null;
  if (typeof t === 'string') return t;
  if (typeof t === 'object') return namedTemplates(t, file);
  throw new Error(`${file}: chat_template must be a string or named templates`);
}

/** A conversation of the lab's shape (system + user, generation prompt added) rendered at load. */
export const PROBE_CONVERSATION: readonly ChatMessage[] = Object.freeze([
  { role: 'system', content: 'You choose between two options.' },
  { role: 'user', content: 'Option A or option B? Answer with A or B.' },
]);

/** What a user reads when a folder has no usable chat template. */
export function missingTemplateMessage(model: string, problem?: string): string {
  const looked = ['tokenizer_config.json ("chat_template")', ...CHAT_TEMPLATE_FILES].join(', ');
  const why = problem ? `its chat template does not render a conversation: ${problem}` : 'it has no chat template';
  return `${model}: ${why}. Looked in ${looked}. The lab needs a chat (instruction-tuned) model whose folder has one of these.`;
}
