// Batches (`@images <glob>`): one prompt over many images. Each finished image is one JSON line in a sidecar file
// next to the notebook (`<notebook>.runs/<key>.jsonl`); the notebook's output holds only a summary and the first
// rows, so a 10,000-image batch never puts 10,000 images into the .loupe file. Shared by the runner (writes rows),
// the renderer (shows the table), the exports and the CLI (read rows).
import type { ModelInfo, Region } from './result';

export const BATCH_ROW_VERSION = 1;
/** Rows shown in the notebook output (with thumbnails); the rest are paged in from the sidecar. */
export const BATCH_PAGE_ROWS = 20;
/** Longest side of a row's thumbnail. */
export const THUMB_SIZE = 64;

/** One image run by one model: a line of the sidecar. */
export interface BatchRow {
  v: typeof BATCH_ROW_VERSION;
  /** 0-based position in the batch's sorted image list. */
  index: number;
  /** The image as matched: a path relative to the notebook's folder, with `/` separators. */
  image: string;
  sha256: string;
  /** File size in bytes. */
  bytes: number;
  /** Upright size (EXIF orientation applied); 0 when the image could not be read. */
  width: number;
  height: number;
  /** Side by side (`@model a, b`): which model, 0-based; absent with one model. */
  modelIndex?: number;
  model?: ModelInfo;
  status: 'ok' | 'error';
  answer: string;
  /** In the image's original (upright) pixels; `image` is always 1. */
  regions: Region[];
  /** Milliseconds unless the key says otherwise (promptTokens, generatedTokens). */
  stats: Record<string, number>;
  warnings?: string[];
  error?: string;
  /** When it finished (ISO 8601). */
  at: string;
}

/** How a batch's regions compare with the truth (`@truth`), for one image or summed. */
export interface ScoreCounts {
  /** Images that have truth (images the truth file does not list are not scored). */
  images: number;
  /** Truth boxes, predicted boxes, and truth boxes matched by a prediction with IoU ≥ 0.5. */
  truth: number;
  predicted: number;
  hits: number;
  /** Sum of each truth box's best IoU with a prediction (mean IoU = iouSum / truth). */
  iouSum: number;
  /** Point answers, and those inside a truth box. */
  points: number;
  pointsIn: number;
}

export interface BatchScore extends ScoreCounts {
  modelIndex?: number;
  model?: ModelInfo;
}

/** A row as the table shows it: the sidecar's row, with its thumbnail and score when there are. */
export interface BatchRowView extends BatchRow {
  thumb?: { mime: 'image/jpeg' | 'image/png'; data: string; width: number; height: number };
  score?: ScoreCounts;
}

/** The batch part of a Loupe result (`kind: 'batch'`). */
export interface BatchSummary {
  /** The sidecar, relative to the notebook's folder, with `/` separators. */
  sidecar: string;
  /** The `@images` globs as written. */
  globs: string[];
  /** `@truth` as written. */
  truth?: string;
  /** Images matched, and models: total rows = images × models. */
  images: number;
  models: number;
  /** Rows finished (ok or error), from this run and from earlier ones (resumed). */
  done: number;
  ok: number;
  errors: number;
  /** Rows found in the sidecar from an earlier run and not run again. */
  resumed: number;
  state: 'running' | 'done' | 'cancelled' | 'failed';
  /** Rows finished by this run per second, and the time left at that rate. */
  imagesPerSecond?: number;
  etaMs?: number;
  elapsedMs: number;
  /** The first rows, in image order (each model's row for an image together). */
  rows: BatchRowView[];
  /** Per model, against `@truth`. */
  scores?: BatchScore[];
  /** Why the batch stopped, when it did (the rows done are kept). */
  error?: string;
}

/** The sidecar's file name for a batch cell, from the key of what decides its results. */
export function sidecarRelative(notebookName: string, key: string): string {
  return `${notebookName}.runs/${key}.jsonl`;
}

/** A rate as a percentage with one decimal: `83.3%`. */
export function formatPercent(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

/** Time left, to the second: `48 s`, `1 min 48 s`, `2 h 5 min`. */
export function formatEta(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function hitRate(s: ScoreCounts): number {
  return s.truth ? s.hits / s.truth : 0;
}

export function meanIou(s: ScoreCounts): number {
  return s.truth ? s.iouSum / s.truth : 0;
}

export function pointInBoxRate(s: ScoreCounts): number {
  return s.points ? s.pointsIn / s.points : 0;
}

export function emptyCounts(): ScoreCounts {
  return { images: 0, truth: 0, predicted: 0, hits: 0, iouSum: 0, points: 0, pointsIn: 0 };
}

export function addCounts(a: ScoreCounts, b: ScoreCounts): ScoreCounts {
  return { images: a.images + b.images, truth: a.truth + b.truth, predicted: a.predicted + b.predicted, hits: a.hits + b.hits, iouSum: a.iouSum + b.iouSum, points: a.points + b.points, pointsIn: a.pointsIn + b.pointsIn };
}

/** Checks one parsed sidecar line; undefined for anything else (a torn last line after a crash, another format). */
export function asBatchRow(v: unknown): BatchRow | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Partial<BatchRow>;
  if (r.v !== BATCH_ROW_VERSION || typeof r.index !== 'number' || typeof r.image !== 'string' || typeof r.sha256 !== 'string') return undefined;
  if (r.status !== 'ok' && r.status !== 'error') return undefined;
  if (!Array.isArray(r.regions) || typeof r.answer !== 'string') return undefined;
  return r as BatchRow;
}
