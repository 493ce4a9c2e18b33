import type { Provider } from './types';

export const llamacpp: Provider = {
  kind: 'llamacpp',
  label: 'llama.cpp server',
  serveHint: 'llama-server -m model.gguf --mmproj mmproj.gguf (docs/remote.md)',
};
