/**
 * Model folders that keep their chat template where the tools of different years put it
 * (src/lib/engine/chat-template.ts): made from a folder whose tokenizer_config.json holds it.
 */
import { readdir, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export type TemplatePlace =
  /** tokenizer_config.json's chat_template (as written). */
  | 'inline'
  /** chat_template.jinja, as transformers ≥ 4.50 and Optimum write it. */
  | 'jinja'
  /** chat_template.json {"chat_template": …}, the processors' legacy file. */
  | 'json'
  /** tokenizer_config.json's named list, "default" among them. */
  | 'named'
  /** named templates without a default: nothing to render. */
  | 'named-no-default'
  /** chat_template.jinja that is not a template (a Jinja syntax error). */
  | 'broken'
  /** none anywhere. */
  | 'none';

export const TEMPLATE_PLACES: readonly TemplatePlace[] = ['inline', 'jinja', 'json', 'named', 'named-no-default', 'broken', 'none'];

/** Moves the template of `dir`'s tokenizer_config.json to `place` (in place). */
export async function placeChatTemplate(dir: string, place: TemplatePlace): Promise<void> {
  const path = join(dir, 'tokenizer_config.json');
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  const template = config.chat_template;
  if (typeof template !== 'string') throw new Error(`${path} has no chat_template string to move`);
  if (place === 'inline') return;
  delete config.chat_template;
  if (place === 'named') config.chat_template = [{ name: 'default', template }, { name: 'tool_use', template: '{{ "tools" }}' }];
  if (place === 'named-no-default') config.chat_template = [{ name: 'tool_use', template }, { name: 'rag', template }];
  await writeFile(path, JSON.stringify(config, null, 2));
  if (place === 'jinja') await writeFile(join(dir, 'chat_template.jinja'), template);
  if (place === 'json') await writeFile(join(dir, 'chat_template.json'), JSON.stringify({ chat_template: template }, null, 2));
  if (place === 'broken') await writeFile(join(dir, 'chat_template.jinja'), '{% for message in messages %}{{ message.content }}');
}

/** A folder of links to every file of `src` but those named in `leaveOut` (a big model without copying it). */
export async function linkFolder(src: string, dest: string, leaveOut: string[]): Promise<string> {
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  for (const name of await readdir(src)) if (!leaveOut.includes(name)) await symlink(join(src, name), join(dest, name));
  return dest;
}
