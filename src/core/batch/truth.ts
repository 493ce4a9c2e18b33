// `@truth <COCO json>`: the true boxes of a batch's images, and how a batch's regions score against them
// (IoU ≥ 0.5 hits with one-to-one matching, mean best IoU, and point-in-box for point answers).
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { emptyCounts, type ScoreCounts } from '../../common/batch';
import { LoupeError } from '../../common/errors';
import { boxIou, regionBounds } from '../../common/regions';
import type { Region } from '../../common/result';

export type Box = [number, number, number, number];

export interface Truth {
  /** The truth file as written in the cell. */
  source: string;
  /** Boxes [x1, y1, x2, y2] by the batch image they describe (the image's path relative to the notebook). */
  boxesOf(image: string): Box[] | undefined;
}

interface CocoImage {
  id: number | string;
  file_name: string;
}

/** Reads a COCO file and ties its images to the batch's (same relative path, else same path ending, else a unique base name). */
export async function readTruth(source: string, baseDir: string, batchImages: string[]): Promise<Truth> {
  const path = resolve(baseDir, source);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new LoupeError('bad-input', `@truth ${source}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}). Give the path of a COCO JSON file, relative to the notebook.`);
  }
  let coco: { images?: unknown; annotations?: unknown };
  try {
    coco = JSON.parse(text);
  } catch (e) {
    throw new LoupeError('bad-input', `@truth ${source} is not JSON (${(e as Error).message}): it must be a COCO file with "images" and "annotations".`);
  }
  if (!Array.isArray(coco.images) || !Array.isArray(coco.annotations)) {
    throw new LoupeError('bad-input', `@truth ${source} is not a COCO file: it needs "images" (id, file_name) and "annotations" (image_id, bbox [x, y, width, height]).`);
  }
  const byPath = new Map(batchImages.map((p) => [p, p]));
  const byBase = new Map<string, string[]>();
  // A file_name that ends a batch path after a '/': the first such path in batch order (one map, not a scan per name).
  const bySuffix = new Map<string, string>();
  for (const p of batchImages) {
    const base = basename(p);
    if (byBase.has(base)) byBase.get(base)!.push(p);
    else byBase.set(base, [p]);
    for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) if (!bySuffix.has(p.slice(i + 1))) bySuffix.set(p.slice(i + 1), p);
  }
  const imageOf = new Map<string, string>();
  coco.images.forEach((raw, i) => {
    const im = raw as Partial<CocoImage>;
    if ((typeof im.id !== 'number' && typeof im.id !== 'string') || typeof im.file_name !== 'string') {
      throw new LoupeError('bad-input', `@truth ${source}: images[${i}] needs an id and a file_name.`);
    }
    const name = im.file_name.replace(/\\/g, '/').replace(/^\.\//, '');
    const hit = byPath.get(name) ?? bySuffix.get(name) ?? (byBase.get(basename(name))?.length === 1 ? byBase.get(basename(name))![0] : undefined);
    if (hit) imageOf.set(String(im.id), hit);
  });
  const boxes = new Map<string, Box[]>();
  for (const p of imageOf.values()) boxes.set(p, []);
  coco.annotations.forEach((raw, i) => {
    const a = raw as { image_id?: unknown; bbox?: unknown };
    const bbox = a.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new LoupeError('bad-input', `@truth ${source}: annotations[${i}].bbox must be [x, y, width, height] in pixels.`);
    }
    const image = imageOf.get(String(a.image_id));
    if (!image) return;
    const [x, y, w, h] = bbox as number[];
    boxes.get(image)!.push([x!, y!, x! + w!, y! + h!]);
  });
  return { source, boxesOf: (image) => boxes.get(image) };
}

/** One image's regions against its truth: boxes (and quads, by their bounds) matched one to one, points tested. */
export function scoreImage(regions: Region[], truth: Box[]): ScoreCounts {
  const s = emptyCounts();
  s.images = 1;
  s.truth = truth.length;
  const boxes = regions.filter((r) => r.kind !== 'point').map((r) => regionBounds(r) as Box);
  const points = regions.filter((r) => r.kind === 'point');
  s.predicted = boxes.length + points.length;
  // Greedy one-to-one matching by IoU, highest first (COCO's evaluation does the same per threshold).
  const pairs: { t: number; p: number; v: number }[] = [];
  truth.forEach((t, ti) => boxes.forEach((p, pi) => pairs.push({ t: ti, p: pi, v: boxIou(t, p) })));
  pairs.sort((a, b) => b.v - a.v);
  const usedT = new Set<number>();
  const usedP = new Set<number>();
  for (const x of pairs) {
    if (x.v < 0.5) break;
    if (usedT.has(x.t) || usedP.has(x.p)) continue;
    usedT.add(x.t);
    usedP.add(x.p);
    s.hits++;
  }
  for (const t of truth) s.iouSum += Math.max(0, ...boxes.map((p) => boxIou(t, p)));
  s.points = points.length;
  s.pointsIn = points.filter((p) => truth.some((t) => p.coords[0]! >= t[0] && p.coords[0]! <= t[2] && p.coords[1]! >= t[1] && p.coords[1]! <= t[3])).length;
  return s;
}
