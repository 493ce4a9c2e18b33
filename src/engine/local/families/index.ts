import type { Family } from '../protocol';
import { idefics3, qwen2vl } from './chat';
import { florence2 } from './florence2';
import type { FamilyModule } from './types';

export const FAMILIES: Record<Family, FamilyModule> = { florence2, qwen2_vl: qwen2vl, idefics3 };

/** transformers.js model_type → Loupe family and default box dialect. */
export const MODEL_TYPES: Record<string, { family: Family; dialect: 'florence2' | 'qwen2_vl' | 'qwen2_5_vl' | 'qwen3_vl' | 'none' }> = {
  florence2: { family: 'florence2', dialect: 'florence2' },
  qwen2_vl: { family: 'qwen2_vl', dialect: 'qwen2_vl' },
  qwen2_5_vl: { family: 'qwen2_vl', dialect: 'qwen2_5_vl' },
  qwen3_vl: { family: 'qwen2_vl', dialect: 'qwen3_vl' },
  idefics3: { family: 'idefics3', dialect: 'none' },
  smolvlm: { family: 'idefics3', dialect: 'none' },
};
