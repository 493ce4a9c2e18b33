// One image's regions as an SVG layer in original-image pixels (viewBox = natural size), plus HTML label chips.
// Because the SVG and the chips are sized to the image, zoom and pan move them with it for free.
import { labelColor, modelColor, PALETTE } from '../src/common/colors';
import { coordsText, regionBounds, regionInImage, regionName, regionShape } from '../src/common/regions';
import { allRegions, type LoupeResult, type Region } from '../src/common/result';
import { el, svgEl } from './dom';
import { tappableClass } from './elements';

export interface RegionRef {
  /** Index into the result's regions: stable while a result streams (regions are only appended). */
  id: number;
  region: Region;
  /** Side by side: the model (0-based) whose run found it; it is drawn in that model's colour and toggled with it. */
  model?: number;
}

/** Reading order: top to bottom, then left to right. Containers come before what they contain, so nested
 * (smaller) regions are drawn later, on top, and stay hoverable. */
export function readingOrder(refs: RegionRef[]): RegionRef[] {
  return refs
    .map((ref) => ({ ref, b: regionBounds(ref.region) }))
    .sort((a, b) => a.b[1] - b.b[1] || a.b[0] - b.b[0] || a.ref.id - b.ref.id)
    .map((x) => x.ref);
}

/** Above this many regions on one image, labels show only for the region under the pointer or focus
 * (a thousand overlapping labels are unreadable, and cost more than the rest of the overlay). */
export const MANY_LABELS = 200;

/** The palette class of a label: colours come from the stylesheet, so a thousand regions share a few styles. */
export function colorClass(label: string): string {
  return `loupe-c${PALETTE.indexOf(labelColor(label))}`;
}

/** Every region of a result, with its model when side by side (a run carries a model index only then). */
export function regionRefs(r: LoupeResult): RegionRef[] {
  return allRegions(r).map(({ id, region, run }) => {
    const model = r.runs[run]?.modelIndex;
    return { id, region, ...(model !== undefined ? { model } : {}) };
  });
}

/** Regions by the image they are on. */
export function refsByImage(refs: readonly RegionRef[]): Map<number, RegionRef[]> {
  const out = new Map<number, RegionRef[]>();
  for (const ref of refs) {
    const list = out.get(ref.region.image);
    if (list) list.push(ref);
    else out.set(ref.region.image, [ref]);
  }
  return out;
}

/** The palette class of a model side by side (its column, legend swatch and regions). */
export function modelColorClass(model: number): string {
  return `loupe-c${PALETTE.indexOf(modelColor(model))}`;
}

/** A region's classes: its model's colour and toggle class side by side, else its label's colour. */
export function refClass(ref: RegionRef): string {
  return ref.model !== undefined ? `${modelColorClass(ref.model)} loupe-m${ref.model}` : colorClass(ref.region.label);
}

export interface Overlay {
  svg: SVGSVGElement;
  chips: HTMLElement;
  /** Focusable shape of each region id, in reading order. */
  shapes: Map<number, SVGElement>;
  /** The label chip of a region, made on first use when there are many. */
  chip(id: number): HTMLElement | undefined;
}

function buildChip(doc: Document, r: Region, id: number, width: number, height: number, cls: string): HTMLElement {
  const [x1, y1] = regionBounds(r);
  const chip = el(doc, 'div', `loupe-chip ${cls}`, r.label);
  const badge = tappableClass(r);
  if (badge) chip.classList.add(badge);
  chip.dataset.region = String(id);
  chip.style.left = `${(x1 / width) * 100}%`;
  // Above the region's top-left corner, or just inside it when there is no room above.
  if (y1 / height < 0.04) {
    chip.style.top = `${(y1 / height) * 100}%`;
    chip.classList.add('is-inside');
  } else chip.style.bottom = `${(1 - y1 / height) * 100}%`;
  return chip;
}

function shapeOf(doc: Document, r: Region): SVGElement | undefined {
  const shape = regionShape(r);
  if (!shape) return undefined;
  if (shape.kind === 'rect') return svgEl(doc, 'rect', { x: shape.x, y: shape.y, width: shape.width, height: shape.height });
  if (shape.kind === 'polygon') return svgEl(doc, 'polygon', { points: shape.points.join(' ') });
  // A zero-length line with round caps is a dot of constant screen size at every zoom (non-scaling stroke).
  return svgEl(doc, 'path', { d: `M${shape.x} ${shape.y}h0`, class: 'loupe-point' });
}

export function buildOverlay(doc: Document, refs: RegionRef[], width: number, height: number, imageIndex: number): Overlay {
  const svg = svgEl(doc, 'svg', { class: 'loupe-svg', viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none' });
  const chips = el(doc, 'div', 'loupe-chips');
  chips.setAttribute('aria-hidden', 'true');
  const shapes = new Map<number, SVGElement>();
  const chipOf = new Map<number, HTMLElement>();
  const byId = new Map<number, { r: Region; cls: string }>();
  const ordered = readingOrder(refs);
  const lazy = ordered.length > MANY_LABELS;
  ordered.forEach((ref, n) => {
    // Drawn inside the image only, whatever the coordinates say.
    const r = regionInImage(ref.region, width, height);
    const shape = r && shapeOf(doc, r);
    if (!shape) return;
    const cls = refClass(ref);
    shape.setAttribute('class', `${shape.getAttribute('class') ?? ''} loupe-region ${cls}`.trim());
    shape.dataset.region = String(ref.id);
    shape.setAttribute('tabindex', '0');
    shape.setAttribute('role', 'button');
    shape.setAttribute('aria-label', `Region ${n + 1} of ${ordered.length} on image ${imageIndex}: ${regionName(r)}, ${r.kind} ${coordsText(r)}`);
    svg.appendChild(shape);
    shapes.set(ref.id, shape);
    byId.set(ref.id, { r, cls });
    if (r.label && !lazy) {
      const chip = buildChip(doc, r, ref.id, width, height, cls);
      chips.appendChild(chip);
      chipOf.set(ref.id, chip);
    }
  });
  const chip = (id: number) => {
    let c = chipOf.get(id);
    const b = byId.get(id);
    if (!c && b?.r.label) {
      c = buildChip(doc, b.r, id, width, height, b.cls);
      chips.appendChild(c);
      chipOf.set(id, c);
    }
    return c;
  };
  return { svg, chips, shapes, chip };
}
