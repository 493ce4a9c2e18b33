import type { Provider } from './types';

export const lmstudio: Provider = {
  kind: 'lmstudio',
  label: 'LM Studio',
  serveHint: 'load a vision model in LM Studio and start its server (lms server start) (docs/remote.md)',
};
