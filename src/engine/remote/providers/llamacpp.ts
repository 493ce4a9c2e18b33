import type { Provider } from './types';

export const llamacpp: Provider = {
  kind: 'llamacpp',
  label: 'llama.cpp server',
  defaultBaseUrl: 'http://127.0.0.1:8080/v1',
  usuallyNeedsKey: false,
  serveHint: 'llama-server -m model.gguf --mmproj mmproj.gguf (docs/remote.md)',
};
