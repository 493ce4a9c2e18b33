// A page of a batch's table, read from its sidecar when the renderer asks for rows beyond those in the output:
// the latest row of each image and model in the range, with thumbnails made on demand and scores when the batch
// has a truth file. Reads the sidecar line by line; only the page's rows are kept.
import { resolve, sep } from 'node:path';
import { THUMB_SIZE, type BatchRowView } from '../../common/batch';
import { LoupeError } from '../../common/errors';
import { loadImage } from '../../images/load';
import { readRows, rowOrder, slotOf } from './sidecar';
import { readTruth, scoreImage } from './truth';

/** Sidecars live in `<notebook>.runs/` next to the notebook: a page request naming anything else is refused. */
const SIDECAR = /^[^/\\]+\.runs\/batch-[0-9a-f]{16}\.jsonl$/;

export async function readPage(baseDir: string, o: { sidecar: string; offset: number; limit: number; truth?: string; maxImagePixels: number }): Promise<{ rows: BatchRowView[]; images: number }> {
  if (!SIDECAR.test(o.sidecar)) throw new LoupeError('bad-input', `not a batch sidecar: ${o.sidecar}`);
  const path = resolve(baseDir, o.sidecar);
  if (!path.startsWith(resolve(baseDir) + sep)) throw new LoupeError('bad-input', `not a batch sidecar: ${o.sidecar}`);
  const limit = Math.max(1, Math.min(200, Math.floor(o.limit)));
  const from = Math.max(0, Math.floor(o.offset));
  const latest = new Map<string, BatchRowView>();
  const names = new Set<string>();
  let images = 0;
  await readRows(path, (r) => {
    images = Math.max(images, r.index + 1);
    if (o.truth) names.add(r.image);
    if (r.index >= from && r.index < from + limit) latest.set(slotOf(r), r);
  });
  const rows = [...latest.values()].sort(rowOrder);
  const truth = o.truth ? await readTruth(o.truth, baseDir, [...names]).catch(() => undefined) : undefined;
  await Promise.all(
    rows.map(async (r) => {
      const boxes = truth && r.status === 'ok' ? truth.boxesOf(r.image) : undefined;
      if (boxes) r.score = scoreImage(r.regions, boxes);
      const img = await loadImage(resolve(baseDir, r.image), { maxPixels: o.maxImagePixels, maxSide: THUMB_SIZE });
      if (img.ok) r.thumb = { mime: img.image.display.mime, data: img.image.display.data, width: img.image.display.width, height: img.image.display.height };
    }),
  );
  return { rows, images };
}
