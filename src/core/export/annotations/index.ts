// Annotation exports of batch cells (`@images <glob>`): COCO, YOLO, Label Studio predictions, and a CSV/JSONL table
// of answers, read from each cell's sidecar. Image paths in every format are the rows' own: relative to the
// notebook's folder, with `/` separators; coordinates are the upright image's pixels (EXIF orientation applied).
// Layout under outDir: one batch cell → its files directly; several → `cell-<N>/`; a cell that ran several models →
// `model-<k>-<model id>/` inside that, one per model.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { BatchRow } from '../../../common/batch';
import { LoupeError } from '../../../common/errors';
import { modelName } from '../../../common/labels';
import type { LoupeResult } from '../../../common/result';
import { readAllRows } from '../../batch/sidecar';
import type { StoredNotebook } from '../../notebook/format';
import { cellViews } from '../common';
import { cocoFiles } from './coco';
import { categoryNames, type AnnotationGroup, type OutFile } from './common';
import { csvFiles } from './csv';
import { labelStudioFiles } from './labelstudio';
import { yoloFiles } from './yolo';

export type AnnotationFormat = 'coco' | 'yolo' | 'labelstudio' | 'csv';
export const ANNOTATION_FORMATS: readonly AnnotationFormat[] = ['coco', 'yolo', 'labelstudio', 'csv'];

export function isAnnotationFormat(f: string): f is AnnotationFormat {
  return (ANNOTATION_FORMATS as readonly string[]).includes(f);
}

/** Where annotations go unless the user says: `tour.loupe` → the folder `tour.coco` beside it. */
export function defaultAnnotationDir(notebookPath: string, format: AnnotationFormat): string {
  return `${notebookPath.replace(/\.loupe$/i, '')}.${format}`;
}

/** Whether the notebook has a batch to export annotations of. */
export function hasBatches(nb: StoredNotebook): boolean {
  return batchCells(nb).length > 0;
}

/** Writes the annotations of every batch cell of the notebook under outDir (created); returns the files written (absolute paths). */
export async function exportAnnotations(nb: StoredNotebook, format: AnnotationFormat, o: { notebookPath: string; outDir: string }): Promise<{ files: string[]; batches: number }> {
  const notebookDir = dirname(resolve(o.notebookPath));
  const notebookName = basename(o.notebookPath);
  const root = resolve(o.outDir);
  const cells = batchCells(nb);
  if (!cells.length) {
    throw new LoupeError('bad-input', `No batch cell of ${notebookName} has run: annotation exports are for @images cells.`, { hint: 'Run the @images cell first, then export again.' });
  }
  const out: { path: string; data: string }[] = [];
  for (const { cell, result } of cells) {
    const sidecar = resolve(notebookDir, result.batch!.sidecar);
    if (!(await stat(sidecar).then((s) => s.isFile(), () => false))) {
      throw new LoupeError('bad-input', `The results of cell ${cell} are missing: ${sidecar} does not exist. Run the cell again to write them.`);
    }
    const rows = await readAllRows(sidecar);
    const categories = categoryNames(rows, result.prompt);
    const cellDir = cells.length > 1 ? `cell-${cell}` : '';
    for (const { dir, rows: modelRows } of byModel(rows, result.batch!.models)) {
      const group: AnnotationGroup = { cell, notebookName, notebookDir, ...(result.prompt ? { prompt: result.prompt } : {}), ...modelOf(modelRows), rows: modelRows, categories };
      for (const f of filesOf(format, group)) out.push({ path: resolve(root, cellDir, dir, ...f.path.split('/')), data: f.data });
    }
  }
  // Every path is checked before anything is written: no export writes outside outDir.
  for (const f of out) {
    const rel = relative(root, f.path);
    if (!rel || rel === '..' || rel.startsWith('..' + sep) || isAbsolute(rel)) throw new LoupeError('internal', `Annotation export would write ${f.path}, outside ${root}.`);
  }
  for (const f of out) {
    await mkdir(dirname(f.path), { recursive: true });
    await writeFile(f.path, f.data, 'utf8');
  }
  return { files: out.map((f) => f.path), batches: cells.length };
}

function filesOf(format: AnnotationFormat, g: AnnotationGroup): OutFile[] {
  switch (format) {
    case 'coco':
      return cocoFiles(g, new Date());
    case 'yolo':
      return yoloFiles(g);
    case 'labelstudio':
      return labelStudioFiles(g);
    case 'csv':
      return csvFiles(g);
  }
}

/** Code cells whose latest Loupe result is a batch with a sidecar. */
function batchCells(nb: StoredNotebook): { cell: number; result: LoupeResult }[] {
  return cellViews(nb).flatMap((v) => {
    if (v.cell.kind !== 'code') return [];
    const r = v.outputs.flatMap((o) => (o.type === 'result' ? [o.result] : [])).at(-1);
    return r?.kind === 'batch' && r.batch?.sidecar ? [{ cell: v.index, result: r }] : [];
  });
}

/** One group with one model (no folder); several models: one `model-<k>-<id>` folder each, models without rows included. */
function byModel(rows: BatchRow[], models: number): { dir: string; rows: BatchRow[] }[] {
  const count = Math.max(models || 1, ...rows.map((r) => (r.modelIndex ?? 0) + 1));
  if (count === 1) return [{ dir: '', rows }];
  return Array.from({ length: count }, (_, k) => {
    const mine = rows.filter((r) => (r.modelIndex ?? 0) === k);
    const id = modelOf(mine).model;
    const safe = id ? modelName(id).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 64) : '';
    return { dir: `model-${k + 1}${safe ? `-${safe}` : ''}`, rows: mine };
  });
}

function modelOf(rows: BatchRow[]): Pick<AnnotationGroup, 'model'> {
  const model = rows.find((r) => r.model)?.model;
  return model ? { model } : {};
}
