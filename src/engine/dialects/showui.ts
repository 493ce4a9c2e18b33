// ShowUI-style answers: a point `[x, y]` (or a box `[x1, y1, x2, y2]`) relative to the screenshot, 0–1 on each axis.
import type { Region } from '../../common/result';
import { fromPixel, type Size } from './frames';
import { parseBrackets } from './mm15';

export function parseShowUi(raw: string, size: Size, image = 1): { text: string; regions: Region[]; warnings: string[] } {
  // 1.5 lets a model's rounding past the edge be clamped; anything larger is another frame, not 0–1.
  return parseBrackets(raw, size, image, { kind: 'unit' }, 1.5, 'a coordinate above 1 in a 0–1 answer');
}

/** A box in original pixels as ShowUI writes one: `[x1, y1, x2, y2]`, 0–1 with two decimals. */
export function showUiBoxText(box: readonly number[], size: Size): string {
  return `[${box.map((v, i) => fromPixel(v, i % 2 === 0 ? 'x' : 'y', size, { kind: 'unit' }).toFixed(2)).join(', ')}]`;
}
