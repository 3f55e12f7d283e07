/**
 * Same prompts on both engines: for a Qwen3-style model the transformers.js
 * engine renders the model's Jinja chat template with thinking off, and WebLLM
 * builds the prompt from its conversation template with `enable_thinking:
 * false` (an empty think block after the assistant header). Both texts are
 * rendered here by the libraries' own code and must be identical.
 */
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { decisionMessages, introspectionMessages, PAPER_PROMPTS, type ChatMessage } from '../src/lib/prompts';
import { renderPrompt } from '../workers/transformers-engine';
import { buildTokenizer } from './fixture/tokenizer';
import { chatmlConfig, loadWebLLMInternals, ToyTokenizer, type WebLLMInternals } from './support/fake-mlc-engine';
import { toyScenarios } from './support/toy-scenarios';

/**
 * The parts of Qwen3's chat template that a system + user conversation reaches
 * (ChatML turns; the generation prompt closes an empty think block when
 * `enable_thinking` is false, and leaves the model to think otherwise).
 */
const QWEN3_STYLE_TEMPLATE =
  "{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}{%- endif %}" +
  "{%- for message in messages %}{%- if message.role == 'user' or (message.role == 'system' and not loop.first) %}" +
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}" +
  "{%- elif message.role == 'assistant' %}{{- '<|im_start|>assistant\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}" +
  "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}";

let webllm: WebLLMInternals;
let tokenizer: PreTrainedTokenizer;

beforeAll(async () => {
  webllm = await loadWebLLMInternals();
  const files = buildTokenizer(300);
  tokenizer = new PreTrainedTokenizer(files.tokenizerJson, { ...files.tokenizerConfig, chat_template: QWEN3_STYLE_TEMPLATE });
});

/** WebLLM's prompt for a chat completion with `extra_body: { enable_thinking: false }` (LLMChatPipeline.forwardPrefill). */
function webllmPrompt(messages: ChatMessage[]): string {
  const config = chatmlConfig(new ToyTokenizer());
  const conv = webllm.getConversationFromChatCompletionRequest({ messages }, config) as ReturnType<
    WebLLMInternals['getConversationFromChatCompletionRequest']
  > & { appendEmptyThinkingReplyHeader(role: string, block: string): void };
  conv.appendMessage('user', messages[messages.length - 1].content);
  conv.appendEmptyThinkingReplyHeader('assistant', '<think>\n\n</think>\n\n');
  return conv.getPromptArray(config).join('');
}

describe('the same prompt text on transformers.js and WebLLM (Qwen3-style template)', () => {
  const [scenario] = toyScenarios(1);
  const a = scenario.attributes.map((x) => x.min);
  const b = scenario.attributes.map((x) => x.max);
  const cases: [string, ChatMessage[]][] = [
    ['decision', decisionMessages(scenario, a, b, PAPER_PROMPTS)],
    ['self-report', introspectionMessages(scenario, a, b, PAPER_PROMPTS)],
  ];

  it.each(cases)('%s prompt', (_, messages) => {
    const transformers = renderPrompt(tokenizer as never, messages);
    expect(transformers).toBe(webllmPrompt(messages));
    expect(transformers.endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n')).toBe(true);
    // Without the switch the template would leave thinking on, and the texts would differ.
    const thinkingOn = tokenizer.apply_chat_template(messages, { add_generation_prompt: true, tokenize: false }) as string;
    expect(thinkingOn).not.toBe(transformers);
  });

  it('templates without the switch are unaffected', () => {
    const plain = new PreTrainedTokenizer(buildTokenizer(300).tokenizerJson, buildTokenizer(300).tokenizerConfig);
    const messages = cases[0][1];
    expect(renderPrompt(plain as never, messages)).toBe(plain.apply_chat_template(messages, { add_generation_prompt: true, tokenize: false }));
  });
});
