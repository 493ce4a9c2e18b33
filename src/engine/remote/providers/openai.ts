import type { Provider } from './types';

export const openai: Provider = {
  kind: 'openai',
  label: 'OpenAI-compatible API',
  defaultBaseUrl: 'https://api.openai.com/v1',
  usuallyNeedsKey: true,
  serveHint: 'any server that speaks POST /v1/chat/completions with image_url parts (docs/remote.md)',
};
