// Qwen-VL answers. Qwen2-VL: `<|object_ref_start|>label<|object_ref_end|><|box_start|>(x1,y1),(x2,y2)<|box_end|>`,
// relative 0–1000. Qwen2.5-VL: JSON `{"bbox_2d": [...], "label": ...}` in pixels of the resized input.
// Qwen3-VL: the same JSON, relative 0–1000.
import type { Dialect } from './index';
import type { Region } from '../../common/result';
import { RegionCollector } from './collect';
import type { Frame, Size } from './frames';

export interface QwenParsed {
  text: string;
  regions: Region[];
  warnings: string[];
}

const END_TOKENS = /<\|im_end\|>|<\|endoftext\|>|<\|im_start\|>(assistant)?/g;
const TAGGED = /(?:<\|object_ref_start\|>([\s\S]*?)<\|object_ref_end\|>)?\s*<\|box_start\|>([\s\S]*?)(?:<\|box_end\|>|$)|<\|object_ref_start\|>([\s\S]*?)<\|object_ref_end\|>/g;
const PAIR = /\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)/g;
const FENCE = /```(?:json)?\s*([\s\S]*?)(?:```|$)/g;

export function frameFor(dialect: Dialect, modelSize: Size): Frame {
  return dialect === 'qwen2_5_vl' ? { kind: 'resized', width: modelSize.width, height: modelSize.height } : { kind: 'rel1000' };
}

export function parseQwen(raw: string, size: Size, modelSize: Size, dialect: Dialect, image = 1): QwenParsed {
  const text = String(raw).replace(END_TOKENS, '');
  const c = new RegionCollector(image, size, frameFor(dialect, modelSize));
  if (text.includes('<|box_start|>') || text.includes('<|object_ref_start|>')) parseTagged(text, c);
  else parseJsonish(text, c);
  return { text: c.text.trimEnd(), regions: c.regions, warnings: c.warnings() };
}

function parseTagged(text: string, c: RegionCollector): void {
  let last = 0;
  let label = { label: '', span: [0, 0] as [number, number] };
  for (const m of text.matchAll(TAGGED)) {
    c.append(text.slice(last, m.index));
    last = m.index! + m[0].length;
    const ref = m[1] ?? m[3];
    if (ref !== undefined) label = { label: ref.trim(), span: c.append(ref.trim()) };
    if (m[2] === undefined) continue;
    const pairs = [...m[2].matchAll(PAIR)].map((p) => [Number(p[1]), Number(p[2])] as const);
    if (pairs.length === 0) {
      c.drop('a box with no coordinates');
      continue;
    }
    for (let i = 0; i + 1 < pairs.length; i += 2) c.add('box', label.label, [...pairs[i]!, ...pairs[i + 1]!], label.span, m[0]);
    if (pairs.length === 1) c.add('point', label.label, [...pairs[0]!], label.span, m[0]);
    else if (pairs.length % 2 === 1) c.drop('an incomplete box (one corner)');
  }
  c.append(text.slice(last));
}

interface JsonItem {
  bbox_2d?: unknown;
  point_2d?: unknown;
  label?: unknown;
  /** UI elements (`@task list-elements`): the element's type and text. */
  type?: unknown;
  text?: unknown;
}

/** Finds `{…"bbox_2d"…}` objects even in a truncated or fenced answer, and lists their labels as the text. */
function parseJsonish(text: string, c: RegionCollector): void {
  const fenced = [...text.matchAll(FENCE)];
  const blocks = fenced.length ? fenced.map((m) => ({ start: m.index!, end: m.index! + m[0].length, body: m[1]! })) : findBareJson(text);
  let last = 0;
  for (const b of blocks) {
    const items = objectsIn(b.body);
    if (items.length === 0) continue;
    c.append(text.slice(last, b.start));
    last = b.end;
    let first = true;
    for (const { item, raw } of items) {
      const label = typeof item.label === 'string' ? item.label : typeof item.text === 'string' ? item.text : '';
      if (!first) c.append(', ');
      first = false;
      const span = c.append(label);
      const coords = Array.isArray(item.bbox_2d) ? item.bbox_2d : Array.isArray(item.point_2d) ? item.point_2d : undefined;
      if (!coords) {
        c.drop('an object without bbox_2d or point_2d');
        continue;
      }
      const nums = coords.map(Number);
      const before = c.regions.length;
      if (Array.isArray(item.bbox_2d) && nums.length === 4) c.add('box', label, nums, span, raw);
      else if (Array.isArray(item.point_2d) && nums.length === 2) c.add('point', label, nums, span, raw);
      else c.drop(`a ${Array.isArray(item.bbox_2d) ? 'box' : 'point'} with ${nums.length} numbers`);
      if (typeof item.type === 'string' && c.regions[before]) c.regions[before]!.type = item.type.toLowerCase();
    }
  }
  c.append(text.slice(last));
}

function findBareJson(text: string): { start: number; end: number; body: string }[] {
  const start = text.search(/[[{]\s*\{?\s*"(bbox_2d|point_2d|label|type|text)"/);
  if (start < 0) return [];
  return [{ start, end: text.length, body: text.slice(start) }];
}

/** Whole JSON first; if that fails (truncated answer), each complete `{…}` object on its own. */
function objectsIn(body: string): { item: JsonItem; raw: string }[] {
  try {
    const v: unknown = JSON.parse(body.trim());
    const arr = Array.isArray(v) ? v : [v];
    return arr.filter((x): x is JsonItem => typeof x === 'object' && x !== null).map((item) => ({ item, raw: JSON.stringify(item) }));
  } catch {
    const out: { item: JsonItem; raw: string }[] = [];
    for (const m of body.matchAll(/\{[^{}]*\}/g)) {
      try {
        const item = JSON.parse(m[0]) as JsonItem;
        if (typeof item === 'object' && item !== null) out.push({ item, raw: m[0] });
      } catch {
        /* a fragment that is not JSON: skipped */
      }
    }
    return out;
  }
}

/** A region in original pixels written in the dialect's own box syntax, for referring prompts. */
export function qwenBoxText(box: readonly number[], size: Size, modelSize: Size, dialect: Dialect): string {
  const f = frameFor(dialect, modelSize);
  const conv = (v: number, axis: 'x' | 'y') => {
    const s = axis === 'x' ? size.width : size.height;
    if (f.kind === 'resized') return Math.round((v * (axis === 'x' ? f.width : f.height)) / s);
    return Math.min(1000, Math.max(0, Math.round((v / s) * 1000)));
  };
  const [x1, y1, x2, y2] = [conv(box[0]!, 'x'), conv(box[1]!, 'y'), conv(box[2]!, 'x'), conv(box[3]!, 'y')];
  return dialect === 'qwen2_vl' ? `<|box_start|>(${x1},${y1}),(${x2},${y2})<|box_end|>` : `[${x1}, ${y1}, ${x2}, ${y2}]`;
}
