// Region geometry every drawing of regions shares: the renderer's SVG overlay, the HTML export and the PNGs with
// regions burned in. Coordinates are original-image pixels, upright (after EXIF orientation).
import { escapeHtml } from './markup';
import type { Region } from './result';

/** [x1, y1, x2, y2] around any region kind. */
export function regionBounds(r: Region): [number, number, number, number] {
  const xs = r.coords.filter((_, i) => i % 2 === 0);
  const ys = r.coords.filter((_, i) => i % 2 === 1);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** The region's coordinates rounded to pixels, in the `@region` syntax (what "copy coordinates" copies). */
export function coordsText(r: Region): string {
  return `[${r.coords.map((c) => Math.round(c)).join(', ')}]`;
}

export function regionName(r: Region): string {
  return r.label || r.kind;
}

export type Shape =
  | { kind: 'rect'; x: number; y: number; width: number; height: number }
  | { kind: 'polygon'; points: number[] }
  | { kind: 'point'; x: number; y: number };

/** The shape to draw for a region, or undefined when its coordinates cannot be drawn. */
export function regionShape(r: Region): Shape | undefined {
  const c = r.coords;
  if (!c.every(Number.isFinite)) return undefined;
  if (r.kind === 'box' && c.length === 4) {
    const [x1, y1, x2, y2] = regionBounds(r);
    return { kind: 'rect', x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
  }
  if (r.kind === 'quad' && c.length === 8) return { kind: 'polygon', points: [...c] };
  if (r.kind === 'point' && c.length === 2) return { kind: 'point', x: c[0]!, y: c[1]! };
  return undefined;
}

/**
 * A box [x1, y1, x2, y2] against an image of width × height: clamped to it when it reaches outside, undefined
 * when nothing of it is inside.
 */
export function clampBox(box: readonly number[], width: number, height: number): { box: [number, number, number, number]; clamped: boolean } | undefined {
  const [x1, y1, x2, y2] = box as [number, number, number, number];
  if (x1 >= width || y1 >= height || x2 <= 0 || y2 <= 0) return undefined;
  const out: [number, number, number, number] = [Math.max(0, x1), Math.max(0, y1), Math.min(width, x2), Math.min(height, y2)];
  return { box: out, clamped: out.some((v, i) => v !== box[i]) };
}

/** A region with its coordinates clamped to the image (for drawing), or undefined when none of it is inside. */
export function regionInImage(r: Region, width: number, height: number): Region | undefined {
  if (!(width > 0 && height > 0)) return r;
  if (r.kind === 'box') {
    const c = clampBox(r.coords, width, height);
    return c ? (c.clamped ? { ...r, coords: c.box } : r) : undefined;
  }
  const inside = r.coords.some((v, i) => (i % 2 === 0 ? v >= 0 && v <= width : v >= 0 && v <= height));
  if (!inside) return undefined;
  return { ...r, coords: r.coords.map((v, i) => Math.min(i % 2 === 0 ? width : height, Math.max(0, v))) };
}

/** Where a region's label goes: its top-left corner. */
export function labelAnchor(r: Region): [number, number] {
  const [x1, y1] = regionBounds(r);
  return [x1, y1];
}

/** A shape as SVG markup, scaled; `attrs` is markup added to the element (already escaped). */
export function shapeSvg(s: Shape, attrs: string, pointRadius: number, scale = 1): string {
  const v = (n: number) => Math.round(n * scale * 1000) / 1000;
  switch (s.kind) {
    case 'rect':
      return `<rect ${attrs} x="${v(s.x)}" y="${v(s.y)}" width="${v(s.width)}" height="${v(s.height)}"/>`;
    case 'polygon':
      return `<polygon ${attrs} points="${s.points.map(v).join(' ')}"/>`;
    case 'point':
      return `<circle ${attrs} cx="${v(s.x)}" cy="${v(s.y)}" r="${pointRadius}"/>`;
  }
}

/** A label for markup: escaped, and cut to `max` characters. */
export function labelText(label: string, max = 40): string {
  return escapeHtml(label.length > max ? label.slice(0, max - 1) + '…' : label);
}

/** Area of an [x1, y1, x2, y2] box (0 for an empty or inverted one). */
export function boxArea(b: readonly number[]): number {
  return Math.max(0, b[2]! - b[0]!) * Math.max(0, b[3]! - b[1]!);
}

/** Area two [x1, y1, x2, y2] boxes share. */
export function boxIntersection(a: readonly number[], b: readonly number[]): number {
  return Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!)) * Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
}

/** Intersection over union of two [x1, y1, x2, y2] boxes; 0 when they do not overlap. */
export function boxIou(a: readonly number[], b: readonly number[]): number {
  const inter = boxIntersection(a, b);
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}
