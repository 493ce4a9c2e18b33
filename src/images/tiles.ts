// Sub-image splitting (`@set tiles`): Ferret-UI's screen halves and MM1.5's page grid, planned in original pixels;
// crops of the upright image; and the way back: every part's regions moved to original pixels, pieces cut by a
// seam joined again, and the overview's boxes kept only where the parts found nothing.
import { boxArea, boxIntersection } from '../common/regions';
import type { Region } from '../common/result';
import { decodePipeline } from './load';
import { loadSharp } from './sharp';

export interface Tile {
  /** Top-left corner and size in original pixels; a part may reach past the image (padded), the overview never. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** 0-based grid cell; the overview has row = col = -1. */
  row: number;
  col: number;
}

export interface TilePlan {
  kind: 'screen' | 'grid';
  rows: number;
  cols: number;
  /** The sub-images in reading order, then the overview (the whole image) last, as MM1.5 feeds them. */
  tiles: Tile[];
  /** Side of a grid cell in original pixels (screens: 0). */
  side: number;
}

/**
 * MM1.5's grid: rows × cols with min ≤ rows·cols ≤ max cells of `input` pixels. Among grids the image fits at full
 * resolution, the least padding; when none fits, the least loss of resolution (largest scale), then the least padding.
 */
export function chooseGrid(width: number, height: number, input: number, min = 4, max = 16): { rows: number; cols: number; scale: number } {
  let best: { rows: number; cols: number; scale: number; fits: boolean; padding: number } | undefined;
  for (let rows = 1; rows <= max; rows++) {
    for (let cols = 1; rows * cols <= max; cols++) {
      if (rows * cols < min) continue;
      const cw = cols * input;
      const ch = rows * input;
      const fits = cw >= width && ch >= height;
      const scale = Math.min(cw / width, ch / height);
      // Padding of the canvas around the image as placed (scaled to fit when it does not).
      const padding = fits ? cw * ch - width * height : cw * ch - width * height * scale * scale;
      const c = { rows, cols, scale: fits ? Math.min(scale, 1) : scale, fits, padding };
      const better = !best || (c.fits && !best.fits) || (c.fits === best.fits && (c.fits ? c.padding < best.padding : c.scale > best.scale + 1e-9 || (Math.abs(c.scale - best.scale) <= 1e-9 && c.padding < best.padding)));
      if (better) best = c;
    }
  }
  const b = best!;
  // A grid the image fits at full resolution still uses the scale that fills it (the model sees the tiles at its input size).
  return { rows: b.rows, cols: b.cols, scale: Math.min((b.cols * input) / width, (b.rows * input) / height) };
}

/** The rows × cols with rows·cols = n whose shape is closest to the image's (least padding). */
function gridOf(n: number, width: number, height: number): { rows: number; cols: number } {
  let best = { rows: n, cols: 1, waste: Infinity };
  for (let rows = 1; rows <= n; rows++) {
    if (n % rows) continue;
    const cols = n / rows;
    const s = Math.min(cols / width, rows / height);
    const waste = cols * rows - width * height * s * s;
    if (waste < best.waste) best = { rows, cols, waste };
  }
  return best;
}

const overview = (width: number, height: number): Tile => ({ x: 0, y: 0, width, height, row: -1, col: -1 });

/** Ferret-UI: the whole screen plus two halves, top/bottom for a portrait screen and left/right for a landscape one. */
export function screenTiles(width: number, height: number): TilePlan {
  const portrait = height >= width;
  const parts: Tile[] = portrait
    ? [
        { x: 0, y: 0, width, height: Math.ceil(height / 2), row: 0, col: 0 },
        { x: 0, y: Math.ceil(height / 2), width, height: height - Math.ceil(height / 2), row: 1, col: 0 },
      ]
    : [
        { x: 0, y: 0, width: Math.ceil(width / 2), height, row: 0, col: 0 },
        { x: Math.ceil(width / 2), y: 0, width: width - Math.ceil(width / 2), height, row: 0, col: 1 },
      ];
  return { kind: 'screen', rows: portrait ? 2 : 1, cols: portrait ? 1 : 2, tiles: [...parts, overview(width, height)], side: 0 };
}

/** A page as a grid of square cells (MM1.5), cells wholly outside the image left out, the overview last. */
export function gridTiles(width: number, height: number, input: number, parts?: number): TilePlan {
  let rows: number;
  let cols: number;
  let scale: number;
  if (parts) {
    ({ rows, cols } = gridOf(parts, width, height));
    scale = Math.min((cols * input) / width, (rows * input) / height);
  } else ({ rows, cols, scale } = chooseGrid(width, height, input));
  const side = input / scale;
  const tiles: Tile[] = [];
  for (let row = 0; row < rows; row++) {
    for (let col = 0; col < cols; col++) {
      const x = Math.round(col * side);
      const y = Math.round(row * side);
      if (x >= width || y >= height) continue;
      tiles.push({ x, y, width: Math.round((col + 1) * side) - x, height: Math.round((row + 1) * side) - y, row, col });
    }
  }
  return { kind: 'grid', rows, cols, tiles: [...tiles, overview(width, height)], side };
}

/**
 * What `@set tiles` asks for, for an image of this size and a model with a fixed input of `input` pixels (undefined:
 * the model resizes dynamically). auto (-1): screens split in two halves and pages into a grid, only for fixed-input
 * models and only when the image's long side is more than twice the model's input; 0: off; N: N parts.
 */
export function planTiles(width: number, height: number, o: { tiles: number; screen: boolean; input: number | undefined }): TilePlan | undefined {
  if (o.tiles === 0 || o.tiles === 1) return undefined;
  if (o.tiles < 0) {
    if (!o.input || Math.max(width, height) <= 2 * o.input) return undefined;
    return o.screen ? screenTiles(width, height) : gridTiles(width, height, o.input);
  }
  if (o.screen && o.tiles === 2) return screenTiles(width, height);
  return gridTiles(width, height, o.input ?? Math.ceil(Math.sqrt((width * height) / o.tiles)), o.tiles);
}

/** Each tile as a PNG of the upright image; parts reaching past the image are padded with black to their full size. */
export async function cropTiles(bytes: Buffer, tiles: Tile[], maxPixels?: number): Promise<Buffer[]> {
  // Decoded once, upright; every crop is cut from the same pixels.
  const { data, info } = await (await decodePipeline(bytes, maxPixels)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const sharp = await loadSharp();
  const out: Buffer[] = [];
  for (const t of tiles) {
    const w = Math.min(t.width, info.width - t.x);
    const h = Math.min(t.height, info.height - t.y);
    let p = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).extract({ left: t.x, top: t.y, width: w, height: h });
    if (w < t.width || h < t.height) p = p.extend({ right: t.width - w, bottom: t.height - h, background: { r: 0, g: 0, b: 0 } });
    out.push(await p.png({ compressionLevel: 1 }).toBuffer());
  }
  return out;
}

// ---------- the way back ----------

const bounds = (c: number[]): [number, number, number, number] => {
  const xs = c.filter((_, i) => i % 2 === 0);
  const ys = c.filter((_, i) => i % 2 === 1);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
};

/** A part's region moved into original pixels, cut to the part's area inside the image; undefined when nothing is left. */
export function regionToOriginal(r: Region, t: Tile, width: number, height: number): Region | undefined {
  const x2 = Math.min(width, t.x + t.width);
  const y2 = Math.min(height, t.y + t.height);
  const coords = r.coords.map((v, i) => (i % 2 === 0 ? Math.min(x2, Math.max(t.x, v + t.x)) : Math.min(y2, Math.max(t.y, v + t.y))));
  if (r.kind !== 'point') {
    const [a, b, c, d] = bounds(coords);
    if (c - a <= 0 || d - b <= 0) return undefined;
  }
  return { ...r, coords };
}

function overlap1d(a1: number, a2: number, b1: number, b2: number): number {
  return Math.max(0, Math.min(a2, b2) - Math.max(a1, b1));
}

export interface PartRegions {
  tile: Tile;
  /** Already in original pixels. */
  regions: Region[];
}

/**
 * Joins the parts' regions: pieces of one thing cut by a seam (each touching the seam from its side, overlapping along
 * it, same type) become one region, their texts joined in reading order; overview regions that overlap a part's region
 * are dropped (the parts saw it at a higher resolution), the rest are kept.
 */
export function mergeTiled(parts: PartRegions[], tolerance = 3): Region[] {
  type Item = { r: Region; b: [number, number, number, number]; tile: Tile; parent: number };
  const items: Item[] = [];
  const over: Region[] = [];
  for (const p of parts) {
    for (const r of p.regions) {
      if (p.tile.row < 0) over.push(r);
      else items.push({ r, b: bounds(r.coords), tile: p.tile, parent: items.length });
    }
  }
  const find = (i: number): number => (items[i]!.parent === i ? i : (items[i]!.parent = find(items[i]!.parent)));
  const touches = (v: number, edge: number) => Math.abs(v - edge) <= tolerance;
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i]!;
      const b = items[j]!;
      if (a.tile === b.tile || a.r.kind === 'point' || b.r.kind === 'point' || (a.r.type ?? '') !== (b.r.type ?? '')) continue;
      // Left/right neighbours share a vertical seam; top/bottom neighbours a horizontal one.
      const [l, r] = a.tile.x < b.tile.x ? [a, b] : [b, a];
      const [t, d] = a.tile.y < b.tile.y ? [a, b] : [b, a];
      const vSeam = a.tile.row === b.tile.row && Math.abs(a.tile.col - b.tile.col) === 1 && touches(l.b[2], r.tile.x) && touches(r.b[0], r.tile.x);
      const hSeam = a.tile.col === b.tile.col && Math.abs(a.tile.row - b.tile.row) === 1 && touches(t.b[3], d.tile.y) && touches(d.b[1], d.tile.y);
      const along = vSeam ? overlap1d(a.b[1], a.b[3], b.b[1], b.b[3]) / Math.min(a.b[3] - a.b[1], b.b[3] - b.b[1]) : hSeam ? overlap1d(a.b[0], a.b[2], b.b[0], b.b[2]) / Math.min(a.b[2] - a.b[0], b.b[2] - b.b[0]) : 0;
      if (along >= 0.5) items[find(j)]!.parent = find(i);
    }
  }
  const groups = new Map<number, Item[]>();
  items.forEach((it, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), it]));
  const merged: Region[] = [];
  for (const g of groups.values()) {
    if (g.length === 1) {
      merged.push(g[0]!.r);
      continue;
    }
    // Reading order: left to right, top to bottom; texts joined, the best score kept.
    g.sort((a, b) => a.tile.row - b.tile.row || a.tile.col - b.tile.col);
    const [x1, y1, x2, y2] = [Math.min(...g.map((x) => x.b[0])), Math.min(...g.map((x) => x.b[1])), Math.max(...g.map((x) => x.b[2])), Math.max(...g.map((x) => x.b[3]))];
    const first = g[0]!.r;
    const labels = [...new Set(g.map((x) => x.r.label).filter(Boolean))];
    const sameRow = g.every((x) => x.tile.row === g[0]!.tile.row);
    const scores = g.map((x) => x.r.score).filter((s): s is number => s !== undefined);
    merged.push({
      ...first,
      label: sameRow ? labels.join(' ') : labels.sort((a, b) => b.length - a.length)[0] ?? '',
      coords: first.kind === 'quad' ? [x1, y1, x2, y1, x2, y2, x1, y2] : [x1, y1, x2, y2],
      ...(scores.length ? { score: Math.max(...scores) } : {}),
    });
  }
  const partBoxes = merged.map((r) => bounds(r.coords));
  for (const r of over) {
    const b = bounds(r.coords);
    const area = Math.max(1e-9, boxArea(b));
    const hit = partBoxes.some((p) => {
      const inter = boxIntersection(b, p);
      const pArea = Math.max(1e-9, boxArea(p));
      return inter / Math.min(area, pArea) >= 0.3 || (r.kind === 'point' && b[0] >= p[0] && b[0] <= p[2] && b[1] >= p[1] && b[1] <= p[3]);
    });
    if (!hit) merged.push(r);
  }
  return merged;
}
