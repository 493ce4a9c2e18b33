// The kinds of server `loupe.engines` accepts: one line per provider.
import { llamacpp } from './llamacpp';
import { lmstudio } from './lmstudio';
import { ollama } from './ollama';
import { openai } from './openai';
import type { Provider } from './types';
import { vllm } from './vllm';

export const PROVIDERS = { vllm, ollama, llamacpp, lmstudio, openai } satisfies Record<string, Provider>;
export type EngineKind = keyof typeof PROVIDERS;
export const ENGINE_KINDS = Object.keys(PROVIDERS) as EngineKind[];
export type { Provider } from './types';
