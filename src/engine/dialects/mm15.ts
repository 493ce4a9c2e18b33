// MM1.5 / Ferret text dialect: boxes `[x1, y1, x2, y2]` and points `[x, y]`, integers 0–999 relative to the image.
import type { Region } from '../../common/result';
import { RegionCollector } from './collect';
import { fromPixel, type Frame, type Size } from './frames';

const BRACKET = /\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*(?:,\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*)?\]/g;

export function parseMm15(raw: string, size: Size, image = 1): { text: string; regions: Region[]; warnings: string[] } {
  return parseBrackets(raw, size, image, { kind: 'rel1000' }, 1000, 'a coordinate above 999 in a 0–999 answer');
}

/** Plain-text `[x1, y1, x2, y2]` boxes and `[x, y]` points in any frame (MM1.5/Ferret 0–999, ShowUI 0–1). */
export function parseBrackets(raw: string, size: Size, image: number, frame: Frame, max: number, tooBig: string): { text: string; regions: Region[]; warnings: string[] } {
  const text = String(raw);
  const c = new RegionCollector(image, size, frame);
  let last = 0;
  for (const m of text.matchAll(BRACKET)) {
    const before = text.slice(last, m.index);
    last = m.index! + m[0].length;
    // The label is the phrase just before the box: back to the previous punctuation.
    const phrase = /([^.,;:!?\n[\]]*?)\s*$/.exec(before)![1]!.trim();
    const lead = before.slice(0, before.length - before.trimEnd().length === 0 ? before.length : before.trimEnd().length);
    const labelStart = lead.lastIndexOf(phrase);
    c.append(lead.slice(0, labelStart));
    const span = c.append(phrase);
    c.append(lead.slice(labelStart + phrase.length));
    const nums = [m[1], m[2], m[3], m[4]].filter((x) => x !== undefined).map(Number);
    if (nums.some((n) => n > max)) {
      c.drop(tooBig);
      continue;
    }
    c.add(nums.length === 4 ? 'box' : 'point', phrase, nums, span, m[0]);
  }
  c.append(text.slice(last));
  return { text: c.text.trimEnd(), regions: c.regions, warnings: c.warnings() };
}

export function mm15BoxText(box: readonly number[], size: Size): string {
  return `[${box.map((v, i) => fromPixel(v, i % 2 === 0 ? 'x' : 'y', size, { kind: 'rel1000' })).join(', ')}]`;
}
