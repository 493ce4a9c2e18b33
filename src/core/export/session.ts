// A JSON record of a session: for every code cell that ran, the model (id, revision, dtype, provider), the
// parameters and seed, the prompt, the images (paths and SHA-256 of their bytes), answers, regions and timings.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BatchSummary } from '../../common/batch';
import type { LoupeResult, ModelInfo, Region, ResultVideo, Run, Task } from '../../common/result';
import type { StoredNotebook } from '../notebook/format';
import { cellViews, type CellError, type ExportFile, type ExportOptions } from './common';

/** 2: answers, regions and models per run (one per model run: per image, later per model). */
export const SESSION_VERSION = 2;

export interface SessionImage {
  index: number;
  /** As written in the cell. */
  source: string;
  /** Absolute file path, for files. */
  path?: string;
  /** SHA-256 (hex) of the file's bytes as read now; null when it cannot be read (or is a URL). */
  sha256: string | null;
  width: number;
  height: number;
  format?: string;
  modelWidth?: number;
  modelHeight?: number;
  error?: string;
  /** A video frame: its time in the clip (seconds) and its clip (1-based index into `videos`). */
  time?: number;
  video?: number;
}

/** A clip: its facts and frames as the result has them, with the video file's path and SHA-256. */
export interface SessionVideo extends ResultVideo {
  path?: string;
  sha256: string | null;
}

export interface SessionRun {
  /** 1-based indices into the cell's images. */
  images: number[];
  /** Side by side (`@model a, b`): which of the cell's models ran it, 0-based. */
  modelIndex?: number;
  model?: ModelInfo;
  status: Run['status'];
  answer: string;
  raw?: string;
  regions: Region[];
  stats: Record<string, number>;
  seed?: number;
  warnings: string[];
  error?: string;
}

export interface SessionCell {
  cell: number;
  kind: 'images' | 'prompt' | 'batch' | 'video' | 'none';
  /** A batch's summary (its rows are in the sidecar it names, relative to the notebook). */
  batch?: Omit<BatchSummary, 'rows'>;
  source: string;
  status: 'ok' | 'error' | 'running' | 'not-run';
  task?: Task;
  prompt?: string;
  params?: Record<string, number | boolean>;
  images: SessionImage[];
  videos?: SessionVideo[];
  runs: SessionRun[];
  timings: Record<string, number>;
  warnings: string[];
  notes?: string[];
  errors: CellError[];
  fixture?: boolean;
}

export interface SessionRecord {
  loupeSession: typeof SESSION_VERSION;
  notebook?: string;
  exportedAt: string;
  /** Every distinct model that answered, in order of first use. */
  models: ModelInfo[];
  /** True when any answer comes from a generated fixture model. */
  fixture: boolean;
  cells: SessionCell[];
}

export async function sessionRecord(nb: StoredNotebook, opts: ExportOptions & { now?: () => Date }): Promise<SessionRecord> {
  const cells: SessionCell[] = [];
  const models = new Map<string, ModelInfo>();
  const hashes = new Map<string, Promise<string | null>>();
  const hash = (path: string) => {
    let h = hashes.get(path);
    if (!h) {
      h = readFile(path).then(
        (b) => createHash('sha256').update(b).digest('hex'),
        () => null,
      );
      hashes.set(path, h);
    }
    return h;
  };
  for (const v of cellViews(nb)) {
    if (v.cell.kind !== 'code') continue;
    const results = v.outputs.flatMap((o) => (o.type === 'result' ? [o.result] : []));
    const errors = v.outputs.flatMap((o) => (o.type === 'error' ? [o.error] : []));
    const r: LoupeResult | undefined = results.at(-1);
    const images = await Promise.all(
      (r?.images ?? []).map(async (img): Promise<SessionImage> => {
        // A frame has no file of its own: its clip (in `videos`) carries the path and hash.
        const path = img.time === undefined ? localPath(img.source, opts.notebookDir) : undefined;
        return {
          index: img.index,
          source: img.source,
          ...(path ? { path } : {}),
          sha256: path ? await hash(path) : null,
          width: img.width,
          height: img.height,
          ...(img.format ? { format: img.format } : {}),
          ...(img.modelWidth ? { modelWidth: img.modelWidth, modelHeight: img.modelHeight } : {}),
          ...(img.error ? { error: img.error } : {}),
          ...(img.time !== undefined ? { time: img.time, video: img.video } : {}),
        };
      }),
    );
    const videos = await Promise.all(
      (r?.videos ?? []).map(async (v): Promise<SessionVideo> => {
        const path = localPath(v.source, opts.notebookDir);
        return { ...v, ...(path ? { path } : {}), sha256: path ? await hash(path) : null };
      }),
    );
    const batchModels = r?.batch?.rows.flatMap((x) => (x.model ? [x.model] : [])) ?? [];
    for (const m of [...(r?.runs.flatMap((x) => (x.model ? [x.model] : [])) ?? []), ...batchModels]) {
      const key = JSON.stringify([m.engine, m.id, m.revision, m.provider, m.dtype]);
      if (!models.has(key)) models.set(key, { id: m.id, ...(m.engine ? { engine: m.engine } : {}), revision: m.revision, dtype: m.dtype, provider: m.provider, ...(m.fixture ? { fixture: true } : {}) });
    }
    cells.push({
      cell: v.index,
      kind: r?.kind ?? 'none',
      source: v.cell.source,
      status: r?.status ?? (errors.length ? 'error' : 'not-run'),
      ...(r?.kind === 'prompt' || r?.kind === 'batch' ? { task: r.task, prompt: r.prompt ?? '', params: r.params } : {}),
      ...(r?.batch ? { batch: (({ rows: _rows, ...rest }) => rest)(r.batch) } : {}),
      images,
      ...(videos.length ? { videos } : {}),
      runs: (r?.runs ?? []).map((x) => ({
        images: x.images,
        ...(x.modelIndex !== undefined ? { modelIndex: x.modelIndex } : {}),
        ...(x.model ? { model: x.model } : {}),
        status: x.status,
        answer: x.answer,
        ...(x.raw !== undefined ? { raw: x.raw } : {}),
        regions: x.regions,
        stats: x.stats,
        ...(x.seed !== undefined ? { seed: x.seed } : {}),
        warnings: x.warnings,
        ...(x.error ? { error: x.error } : {}),
      })),
      timings: r?.timings ?? {},
      warnings: r?.warnings ?? [],
      ...(r?.notes?.length ? { notes: r.notes } : {}),
      errors: [...errors, ...(r?.error && !errors.some((e) => e.message === r.error) ? [{ name: 'Error', message: r.error }] : [])],
      ...(r?.kind === 'prompt' && r.runs.some((x) => x.model?.fixture) ? { fixture: true } : {}),
    });
  }
  const all = [...models.values()];
  return {
    loupeSession: SESSION_VERSION,
    ...(opts.notebookName ? { notebook: opts.notebookName } : {}),
    exportedAt: (opts.now?.() ?? new Date()).toISOString(),
    models: all,
    fixture: all.some((m) => m.fixture === true),
    cells,
  };
}

function localPath(source: string, baseDir: string | undefined): string | undefined {
  if (/^https?:/i.test(source)) return undefined;
  if (/^file:/i.test(source)) return fileURLToPath(source);
  if (isAbsolute(source)) return source;
  return baseDir ? resolve(baseDir, source) : undefined;
}

export async function exportSession(nb: StoredNotebook, opts: ExportOptions): Promise<ExportFile[]> {
  const record = await sessionRecord(nb, opts);
  return [{ path: `${opts.name}.session.json`, data: new TextEncoder().encode(JSON.stringify(record, null, 2) + '\n') }];
}
