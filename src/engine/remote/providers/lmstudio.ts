import type { Provider } from './types';

export const lmstudio: Provider = {
  kind: 'lmstudio',
  label: 'LM Studio',
  defaultBaseUrl: 'http://127.0.0.1:1234/v1',
  usuallyNeedsKey: false,
  serveHint: 'load a vision model in LM Studio and start its server (lms server start) (docs/remote.md)',
};
