import type { Provider } from './types';

export const ollama: Provider = {
  kind: 'ollama',
  label: 'Ollama',
  serveHint: 'ollama pull qwen2.5vl:7b, then ollama serve (docs/remote.md)',
};
