import type { Provider } from './types';

export const openai: Provider = {
  kind: 'openai',
  label: 'OpenAI-compatible API',
  serveHint: 'any server that speaks POST /v1/chat/completions with image_url parts (docs/remote.md)',
};
