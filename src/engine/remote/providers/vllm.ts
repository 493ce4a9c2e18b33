import type { Provider } from './types';

export const vllm: Provider = {
  kind: 'vllm',
  label: 'vLLM',
  // vLLM drops special tokens by default; Qwen2-VL writes its boxes with them.
  extraBody: ({ keepSpecialTokens }) => (keepSpecialTokens ? { skip_special_tokens: false } : {}),
  serveHint: 'vllm serve Qwen/Qwen2.5-VL-7B-Instruct --limit-mm-per-prompt \'{"image": 4}\' --mm-processor-kwargs \'{"max_pixels": 1003520}\' (docs/remote.md)',
};
