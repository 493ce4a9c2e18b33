// The fixed input size of a family's models, read from the folder where it says (preprocessor_config.json), for
// sub-image splitting: Florence-2 resizes every image to 768×768, a YOLO detector letterboxes to 640×640.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Family } from './index';

const FIXED: Partial<Record<Family, number>> = { florence2: 768, yolo: 640 };

export function fixedInputOf(family: Family, folder: string): { fixedInput?: number } {
  const fallback = FIXED[family];
  if (fallback === undefined) return {};
  try {
    const p = join(folder, 'preprocessor_config.json');
    const size = existsSync(p) ? ((JSON.parse(readFileSync(p, 'utf8')) as { size?: { width?: number; height?: number } }).size ?? {}) : {};
    return { fixedInput: Math.max(size.width ?? 0, size.height ?? 0) || fallback };
  } catch {
    return { fixedInput: fallback };
  }
}
