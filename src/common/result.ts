// Output schema v2, shared by the kernel (writes it), the renderer, the exports and the CLI (read it).
// A result holds the cell's images and one run per model run over them: fan-out over images, and later several
// models or video frames, are runs side by side, never text joined and split again.
import type { BatchSummary } from './batch';
import { labelColor, modelColor } from './colors';
import type { Task } from './tasks';

export const NOTEBOOK_TYPE = 'loupe';
export const CONTROLLER_ID = 'loupe.local';
export const RENDERER_ID = 'loupe.renderer';
export const RESULT_MIME = 'application/vnd.loupe.result+json';
/** VS Code's own error output. */
export const ERROR_MIME = 'application/vnd.code.notebook.error';
export const RESULT_VERSION = 2;

export type { Task } from './tasks';

/** A region in the original image's pixels (after EXIF orientation). */
export interface Region {
  /** 1-based index into the result's images. */
  image: number;
  label: string;
  kind: 'box' | 'quad' | 'point';
  /** box: [x1, y1, x2, y2]; quad: [x1, y1, … x4, y4]; point: [x, y]. */
  coords: number[];
  /** [start, end) of its run's answer text this region came from. */
  span?: [number, number];
  /** The model's own text for this region, as matched. */
  raw?: string;
  /** UI elements (`@task list-elements`, detectors): the element's type (button, text, icon…); `label` is its text. */
  type?: string;
  /** Detectors: the confidence of this box, 0–1. */
  score?: number;
  /** `@task tappable`: the model's yes (true) or no (false) for this region, the cell's `@region`. */
  tappable?: boolean;
}

export interface DisplayImage {
  mime: 'image/png' | 'image/jpeg';
  /**
   * base64 of a display-sized copy (longest side ≤ 1600 px). Empty in a streaming update: the image is the one the
   * same output already showed, so each update carries only what changed.
   */
  data: string;
  width: number;
  height: number;
}

export interface ResultImage {
  /** 1-based, the order of the cell's `@image` lines. */
  index: number;
  /** As written in the cell (path relative to the notebook, or URL). */
  source: string;
  /** Natural size after EXIF orientation; 0 when the image could not be read. */
  width: number;
  height: number;
  format?: string;
  display?: DisplayImage;
  /** The resolution the model's processor worked at, for prompt cells. */
  modelWidth?: number;
  modelHeight?: number;
  /** Conversions the user should know about (first frame of an animation, 16-bit → 8-bit…). */
  notes?: string[];
  /** Why this image could not be shown. */
  error?: string;
  /** A video frame: its time in the clip, in seconds (the decoded frame's own timestamp). */
  time?: number;
  /** A video frame: the 1-based index of its clip in the result's `videos`. */
  video?: number;
}

/** A clip of a video cell or a prompt cell about a video: its facts and the frames sampled from it. */
export interface ResultVideo {
  /** 1-based, the order of the cell's `@video` lines. */
  index: number;
  /** As written in the cell. */
  source: string;
  /** Seconds; 0 when the clip could not be read. */
  duration: number;
  /** Average frame rate (frames per second). */
  fps: number;
  /** Upright size (rotation applied). */
  width: number;
  height: number;
  codec: string;
  /** Clockwise degrees the player turns the stored picture (rotation metadata), 0 when none. */
  rotation: number;
  container?: string;
  /** The frame rate varies (average and nominal rates differ). */
  variableFrameRate?: boolean;
  hasAudio?: boolean;
  /** The part of the clip sampled, in seconds, when the cell gave a range. */
  range?: [number, number];
  sampling: { frames?: number; fps?: number };
  /** 1-based indices into the result's images: this clip's frames, in time order. */
  frames: number[];
  /** Frames came from the cache (file identity and sampling unchanged): nothing was decoded. */
  cached?: boolean;
  notes?: string[];
  /** Why the clip could not be read. */
  error?: string;
}

export interface ModelInfo {
  id: string;
  /** The engine that ran it: `local` (the model host) unless a remote engine did. */
  engine?: string;
  revision?: string;
  dtype?: string | Record<string, string>;
  provider?: string;
  /** Providers tried first and why they could not run the model. */
  fallbacks?: { device: string; error: string }[];
  /** A generated test model, not a real one: its answers are scripted. */
  fixture?: boolean;
}

/** One model run: a model over some of the cell's images. */
export interface Run {
  /** 1-based indices into the result's images: the images this run's model saw. */
  images: number[];
  /** Side by side (`@model a, b`): which of the cell's models ran it, 0-based; absent when the cell names one. */
  modelIndex?: number;
  model?: ModelInfo;
  status: 'running' | 'ok' | 'error';
  /** The answer with the model's markup turned into plain text. */
  answer: string;
  /** The answer as decoded, markup included (what the region parser read). */
  raw?: string;
  regions: Region[];
  warnings: string[];
  /** Milliseconds unless the key says otherwise (promptTokens, generatedTokens, tokensPerSecond). */
  stats: Record<string, number>;
  seed?: number;
  error?: string;
}

export interface LoupeResult {
  version: typeof RESULT_VERSION;
  /**
   * `batch`: `@images <glob>`, one run per image kept in a sidecar file; `images` and `runs` are then empty.
   * `video`: a cell of `@video` lines only (facts and filmstrip); a prompt about a video is `prompt` with `videos`.
   */
  kind: 'images' | 'prompt' | 'batch' | 'video';
  status: 'running' | 'ok' | 'error';
  task: Task;
  images: ResultImage[];
  /** Clips whose sampled frames are among `images`. */
  videos?: ResultVideo[];
  prompt?: string;
  runs: Run[];
  batch?: BatchSummary;
  params: Record<string, number | boolean>;
  /** The whole cell, milliseconds unless the key says otherwise. */
  timings: Record<string, number>;
  /** About the cell as a whole; each run has its own. */
  warnings: string[];
  /** What the user should know that is not a problem (which model ran when the cell named none). */
  notes?: string[];
  error?: string;
}

/** Every region of a result with its run, numbered across runs (the id the renderer and exports use). */
export function allRegions(r: LoupeResult): { id: number; region: Region; run: number }[] {
  const out: { id: number; region: Region; run: number }[] = [];
  r.runs.forEach((run, k) => run.regions.forEach((region) => out.push({ id: out.length, region, run: k })));
  return out;
}

/** The models of a result, one each, in the cell's order (`@model a, b`): side by side, or the one that ran. */
export function resultModels(r: LoupeResult): ModelInfo[] {
  const byIndex = new Map<number, ModelInfo>();
  for (const run of r.runs) if (run.model && !byIndex.has(run.modelIndex ?? 0)) byIndex.set(run.modelIndex ?? 0, run.model);
  return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m);
}

/** Several models over the same images (`@model a, b`): runs carry the index of their model. */
export function isSideBySide(r: LoupeResult): boolean {
  return r.runs.some((x) => x.modelIndex !== undefined);
}

/** The colour every drawing of a region uses: its model's side by side, else its label's. */
export function regionColor(r: LoupeResult, run: number, region: Region): string {
  const m = r.runs[run]?.modelIndex;
  return m !== undefined ? modelColor(m) : labelColor(region.label);
}

/** The model of the first run that has one: what a one-model cell ran on. */
export function mainModel(r: LoupeResult): ModelInfo | undefined {
  return r.runs.find((x) => x.model)?.model;
}

/** Token and time figures summed over runs (time to first token is the first run's). */
export function runTotals(r: LoupeResult): Record<string, number> {
  const sum = (k: string) => r.runs.reduce((a, x) => a + (x.stats[k] ?? 0), 0);
  const rates = r.runs.map((x) => x.stats.tokensPerSecond ?? 0).filter((v) => v > 0);
  return {
    promptTokens: sum('promptTokens'),
    generatedTokens: sum('generatedTokens'),
    tokensPerSecond: rates.length ? Math.round((rates.reduce((a, b) => a + b, 0) / rates.length) * 10) / 10 : 0,
  };
}

// ---------- reading, with version 1 upgraded ----------

interface ResultV1 {
  version: 1;
  kind: 'images' | 'prompt';
  status: LoupeResult['status'];
  task: Task;
  model?: ModelInfo;
  images: ResultImage[];
  prompt?: string;
  answer: string;
  raw?: string;
  answers?: { image: number; text: string }[];
  regions: Region[];
  params: Record<string, number | boolean>;
  timings: Record<string, number>;
  warnings: string[];
  error?: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A result of this version, or one written by Loupe 0.1 (version 1) brought up to it; anything else: undefined. */
export function readResult(value: unknown): LoupeResult | undefined {
  if (!isObject(value) || !Array.isArray(value.images)) return undefined;
  if (value.version === RESULT_VERSION) return Array.isArray(value.runs) && (value.kind !== 'batch' || isObject(value.batch)) ? (value as unknown as LoupeResult) : undefined;
  if (value.version === 1 && typeof value.answer === 'string' && Array.isArray(value.regions)) return upgradeV1(value as unknown as ResultV1);
  return undefined;
}

/**
 * Version 1 kept one answer per cell: fan-out answers were joined as "Image N: …" with `answers` saying where each
 * one is, and region spans indexed the joined text. Each answer becomes its own run with spans made relative to it.
 */
function upgradeV1(v: ResultV1): LoupeResult {
  const base = { version: RESULT_VERSION, kind: v.kind, status: v.status, task: v.task, images: v.images, params: v.params ?? {}, timings: v.timings ?? {}, warnings: v.warnings ?? [] } as const;
  const extra = { ...(v.prompt !== undefined ? { prompt: v.prompt } : {}), ...(v.error !== undefined ? { error: v.error } : {}) };
  if (v.kind === 'images') return { ...base, ...extra, runs: [] };
  const runStatus = v.status;
  const seed = typeof v.params?.seed === 'number' ? v.params.seed : undefined;
  const stats = pickStats(v.timings ?? {});
  if (!v.answers?.length) {
    const images = v.images.map((i) => i.index);
    return { ...base, ...extra, runs: [{ images, ...(v.model ? { model: v.model } : {}), status: runStatus, answer: v.answer, ...(v.raw !== undefined ? { raw: v.raw } : {}), regions: v.regions, warnings: [], stats, ...(seed !== undefined ? { seed } : {}) }] };
  }
  const raws = v.raw?.split('\n\n');
  const rawOf = (i: number) => (raws && raws.length === v.answers!.length ? raws[i] : undefined);
  let from = 0;
  const runs = v.answers.map((a, i) => {
    let at = v.answer.indexOf(a.text, from);
    if (at < 0) at = from;
    else from = at + a.text.length;
    const regions = v.regions
      .filter((r) => r.image === a.image)
      .map((r) => (r.span ? { ...r, span: [Math.max(0, r.span[0] - at), Math.max(0, r.span[1] - at)] as [number, number] } : r));
    const raw = rawOf(i);
    return { images: [a.image], ...(v.model ? { model: v.model } : {}), status: runStatus, answer: a.text, ...(raw !== undefined ? { raw } : {}), regions, warnings: [], stats: {}, ...(seed !== undefined ? { seed } : {}) };
  });
  return { ...base, ...extra, runs };
}

const STAT_KEYS = ['preprocessMs', 'imageEncodeMs', 'timeToFirstTokenMs', 'generateMs', 'promptTokens', 'generatedTokens', 'tokensPerSecond'];

function pickStats(t: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of STAT_KEYS) if (typeof t[k] === 'number') out[k] = t[k]!;
  return out;
}
