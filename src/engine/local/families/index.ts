// The model families the model host runs: one line per family.
import type { Dialect } from '../../dialects';
import { dialectTasks } from '../../dialects/prompts';
import type { Capability } from '../../types';
import { florence2 } from './florence2';
import { idefics3 } from './idefics3';
import { qwen2vl } from './qwen2_vl';
import type { AnyFamily } from './types';
import { yolo } from './yolo';

export const FAMILIES = { florence2, qwen2_vl: qwen2vl, idefics3, yolo } satisfies Record<string, AnyFamily>;
/** A family Loupe runs: a key of FAMILIES. */
export type Family = keyof typeof FAMILIES;

/** transformers.js model_type → family and the box dialect its models write. */
export function familyOfModelType(type: string): { family: Family; dialect: Dialect } | undefined {
  for (const [family, f] of Object.entries(FAMILIES) as [Family, AnyFamily][]) {
    const dialect = f.modelTypes[type];
    if (dialect) return { family, dialect };
  }
  return undefined;
}

export const MODEL_TYPES: readonly string[] = Object.values(FAMILIES).flatMap((f) => Object.keys(f.modelTypes));

/** What a model of a family can do with a box dialect: the family's tasks that the dialect can be asked. */
export function familyCapabilities(family: Family, dialect: Dialect): Capability[] {
  const f: AnyFamily = FAMILIES[family];
  const asked = dialectTasks(dialect);
  const tasks = f.tasks.filter((t) => asked.includes(t));
  return f.multiImage ? [...tasks, 'multi-image'] : [...tasks];
}
