// What the annotation exporters share: one batch cell's rows for one model, the cell's categories, and each region
// as a shape clamped to its image. Coordinates stay in the image's upright pixels (EXIF orientation applied), as
// the sidecar stores them; paths stay relative to the notebook's folder, as the rows write them.
import type { BatchRow } from '../../../common/batch';
import { regionBounds } from '../../../common/regions';
import type { ModelInfo, Region } from '../../../common/result';

/** What one format writes for one batch cell and one model. */
export interface AnnotationGroup {
  /** 1-based cell index, as `cellViews` gives. */
  cell: number;
  notebookName: string;
  /** Absolute folder of the notebook: the rows' image paths are relative to it. */
  notebookDir: string;
  prompt?: string;
  model?: ModelInfo;
  /** Image then model order, as `readAllRows` gives; errors included. */
  rows: BatchRow[];
  /** Category names of the whole cell in first-seen order, so ids agree between one cell's model folders. */
  categories: string[];
}

/** A file to write; `path` is relative to the group's folder, with `/` separators. */
export interface OutFile {
  path: string;
  data: string;
}

export interface Shape {
  label: string;
  kind: Region['kind'];
  /** [x1, y1, x2, y2] clamped to the image; a point's is the point twice. */
  box: [number, number, number, number];
  /** quad: its corners clamped to the image; point: [x, y]; box: `box`. */
  coords: number[];
  /** Only when the region carries one (no model gives one yet). */
  score?: number;
}

const COORDS = { box: 4, quad: 8, point: 2 } as const;

/** A row whose image was read: only these have a size to place regions in. */
export const isOkImage = (r: BatchRow) => r.status === 'ok' && r.width > 0 && r.height > 0;

/** A region's category: its label on one line, else the cell's prompt, else `object`. */
export function labelOf(r: Region, prompt: string | undefined): string {
  const one = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();
  return one(r.label) || one(prompt) || 'object';
}

export function scoreOf(r: Region): number | undefined {
  const s = (r as Region & { score?: unknown }).score;
  return typeof s === 'number' && Number.isFinite(s) ? s : undefined;
}

/**
 * The row's regions that can be placed on its image, clamped to it. Left out: malformed coordinates, boxes and quads
 * with nothing inside the image, points outside it.
 */
export function rowShapes(row: BatchRow, prompt: string | undefined): Shape[] {
  if (!isOkImage(row)) return [];
  const { width: w, height: h } = row;
  const clamp = (v: number, i: number) => Math.min(i % 2 === 0 ? w : h, Math.max(0, v));
  const out: Shape[] = [];
  for (const r of row.regions) {
    if (COORDS[r.kind] !== r.coords.length || !r.coords.every(Number.isFinite)) continue;
    const score = scoreOf(r);
    const base = { label: labelOf(r, prompt), kind: r.kind, ...(score !== undefined ? { score } : {}) };
    if (r.kind === 'point') {
      const [x, y] = r.coords as [number, number];
      if (x < 0 || y < 0 || x > w || y > h) continue;
      out.push({ ...base, box: [x, y, x, y], coords: [x, y] });
      continue;
    }
    const [x1, y1, x2, y2] = regionBounds(r);
    if (x1 >= w || y1 >= h || x2 <= 0 || y2 <= 0) continue;
    const coords = (r.kind === 'box' ? [x1, y1, x2, y2] : r.coords).map(clamp);
    const box = regionBounds({ ...r, coords });
    if (box[2] <= box[0] || box[3] <= box[1]) continue;
    out.push({ ...base, box, coords });
  }
  return out;
}

/** Category names in first-seen order over the rows' exported shapes. */
export function categoryNames(rows: BatchRow[], prompt: string | undefined): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const s of rowShapes(row, prompt)) names.add(s.label);
  return [...names];
}

export const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};
