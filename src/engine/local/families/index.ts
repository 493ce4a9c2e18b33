// The model families the model host runs: one line per family.
import { usesBoxes } from '../../../common/tasks';
import type { Dialect } from '../../dialects';
import type { Capability } from '../../types';
import { florence2 } from './florence2';
import { idefics3 } from './idefics3';
import { qwen2vl } from './qwen2_vl';
import type { Family, FamilyModule } from './types';

export const FAMILIES: Record<Family, FamilyModule> = { florence2, qwen2_vl: qwen2vl, idefics3 };

/** transformers.js model_type → family and the box dialect its models write. */
export function familyOfModelType(type: string): { family: Family; dialect: Dialect } | undefined {
  for (const f of Object.values(FAMILIES)) {
    const dialect = f.modelTypes[type];
    if (dialect) return { family: f.family, dialect };
  }
  return undefined;
}

export const MODEL_TYPES: readonly string[] = Object.values(FAMILIES).flatMap((f) => Object.keys(f.modelTypes));

/** What a model of a family can do with a box dialect: tasks with boxes need one. */
export function familyCapabilities(family: Family, dialect: Dialect): Capability[] {
  const f = FAMILIES[family];
  const tasks = f.tasks.filter((t) => dialect !== 'none' || !usesBoxes(t));
  return f.multiImage ? [...tasks, 'multi-image'] : [...tasks];
}
