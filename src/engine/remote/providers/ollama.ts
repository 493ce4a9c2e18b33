import type { Provider } from './types';

export const ollama: Provider = {
  kind: 'ollama',
  label: 'Ollama',
  defaultBaseUrl: 'http://127.0.0.1:11434/v1',
  usuallyNeedsKey: false,
  serveHint: 'ollama pull qwen2.5vl:7b, then ollama serve (docs/remote.md)',
};
