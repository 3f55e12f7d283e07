/**
 * The Run view's "latest trial", shortened: a trial with shown decisions can be a 20-turn
 * transcript, so by default only the last messages (the question and the answer), each
 * clipped, with how much is hidden. Pure.
 */
import type { ChatMessage } from '../lib/prompts';

export const SHORT_MESSAGES = 2;
export const SHORT_CHARS = 600;

export function shortTranscript(messages: ChatMessage[], all = false): { messages: ChatMessage[]; hidden: number; clipped: boolean } {
  if (all) return { messages, hidden: 0, clipped: false };
  const tail = messages.slice(-SHORT_MESSAGES);
  let clipped = false;
  const shown = tail.map((m) => {
    if (m.content.length <= SHORT_CHARS) return m;
    clipped = true;
    // Keep the end: the question comes last in a long prompt.
    return { ...m, content: `…${m.content.slice(-SHORT_CHARS)}` };
  });
  return { messages: shown, hidden: messages.length - tail.length, clipped };
}
