// What the exporters read from a stored notebook: cells, Loupe results, errors and fallbacks.
// Pure TypeScript (no `vscode`): used by the VS Code export command and the CLI.
import { modelLabel } from '../../common/labels';
import { ERROR_MIME, RESULT_MIME, isSideBySide, mainModel, readResult, resultModels, runTotals, type LoupeResult, type ResultImage, type Run } from '../../common/result';
import { formatTime, framesLabel } from '../../common/video';
import { decodeItem, type StoredCell, type StoredNotebook } from '../notebook/format';

export type ExportFormat = 'html' | 'md' | 'ipynb' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['html', 'md', 'ipynb', 'json'];

/** One file an exporter produces; `path` is relative to the folder of the main export file. */
export interface ExportFile {
  path: string;
  data: Uint8Array;
}

export interface ExportOptions {
  /** Folder of the notebook: relative image paths are resolved against it (session record hashes). */
  notebookDir?: string;
  /** Base name of the export, without extension (`tour` → `tour.md`, `tour_files/…`). */
  name: string;
  /** The notebook's file name, recorded in the export. */
  notebookName?: string;
}

export interface CellError {
  name: string;
  message: string;
}

/** One output of a cell, as the exporters see it. */
export type OutputView =
  | { type: 'result'; result: LoupeResult; png?: Uint8Array; pngMime?: string; text?: string; metadata?: Record<string, unknown> }
  | { type: 'error'; error: CellError }
  | { type: 'other'; items: { mime: string; data: Uint8Array }[]; metadata?: Record<string, unknown> };

export interface CellView {
  /** 1-based position in the notebook (markdown cells counted), as the CLI's progress lines say. */
  index: number;
  cell: StoredCell;
  outputs: OutputView[];
}

const utf8 = new TextDecoder();

export function cellViews(nb: StoredNotebook): CellView[] {
  return nb.cells.map((cell, i) => ({ index: i + 1, cell, outputs: cell.outputs.map(outputView) }));
}

function outputView(o: StoredCell['outputs'][number]): OutputView {
  const err = o.items.find((it) => it.mime === ERROR_MIME);
  if (err) {
    const v = parseJson(decodeItem(err)) as Partial<CellError> | undefined;
    return { type: 'error', error: { name: String(v?.name ?? 'Error'), message: String(v?.message ?? '') } };
  }
  const res = o.items.find((it) => it.mime === RESULT_MIME);
  // Results written by an older Loupe (schema v1) are read as this version's.
  const result = res ? readResult(parseJson(decodeItem(res))) : undefined;
  if (result) {
    // The fallback image: PNG, or JPEG for photos (images/composite.ts).
    const png = o.items.find((it) => it.mime === 'image/png') ?? o.items.find((it) => it.mime === 'image/jpeg');
    const text = o.items.find((it) => it.mime === 'text/plain');
    return { type: 'result', result, png: png ? decodeItem(png) : undefined, pngMime: png?.mime, text: text ? utf8.decode(decodeItem(text)) : undefined, metadata: o.metadata };
  }
  return { type: 'other', items: o.items.map((it) => ({ mime: it.mime, data: decodeItem(it) })), metadata: o.metadata };
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}

/** Backslash-escapes what Markdown could read as syntax (CommonMark allows escaping any ASCII punctuation). */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/[\\`*_{}[\]<>|~&]/g, (c) => '\\' + c)
    .replace(/^(\s*)([-+#=>])/, '$1\\$2')
    .replace(/^(\s*\d+)([.)])/, '$1\\$2');
}

/** Markdown text of a (possibly multi-line) string: escaped, paragraphs kept, single line breaks as hard breaks. */
export function markdownText(s: string): string {
  return s
    .split(/(?:\r\n|\r|\n)[ \t]*(?:\r\n|\r|\n)+/)
    .map((para) =>
      para
        .split(/\r\n|\r|\n/)
        .map((line) => escapeMarkdown(line.trim()))
        .filter((line) => line !== '')
        .join('\\\n'),
    )
    .filter((p) => p !== '')
    .join('\n\n');
}

/** Text outputs longer than this are cut in HTML and Markdown exports (the export says so). */
export const MAX_TEXT_BYTES = 1024 * 1024;
/** Images of other outputs larger than this are left out of HTML and Markdown exports (the export says so). */
export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;
const PAGE_IMAGES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

/**
 * What a page (HTML, Markdown) shows of an output that is not Loupe's: its text (cut at MAX_TEXT_BYTES), its first
 * raster image, and a note for everything it leaves out, so nothing is dropped silently.
 */
export function otherOutput(items: { mime: string; data: Uint8Array }[]): { text?: string; image?: { mime: string; data: Uint8Array }; notes: string[] } {
  const notes: string[] = [];
  let text: string | undefined;
  let image: { mime: string; data: Uint8Array } | undefined;
  for (const it of items) {
    if (it.mime === 'text/plain' && text === undefined) {
      text = utf8.decode(it.data.subarray(0, MAX_TEXT_BYTES));
      if (it.data.length > MAX_TEXT_BYTES) notes.push(`text output cut at ${formatSize(MAX_TEXT_BYTES)} of ${formatSize(it.data.length)}`);
    } else if (PAGE_IMAGES.includes(it.mime) && !image) {
      if (it.data.length > MAX_IMAGE_BYTES) notes.push(`${it.mime} output of ${formatSize(it.data.length)} left out (over ${formatSize(MAX_IMAGE_BYTES)})`);
      else image = it;
    } else notes.push(`${it.mime} output of ${formatSize(it.data.length)} left out (this export shows text and images only)`);
  }
  return { ...(text !== undefined ? { text } : {}), ...(image ? { image } : {}), notes };
}

function formatSize(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : n >= 1024 ? `${Math.round(n / 1024)} kB` : `${n} bytes`;
}

export const FIXTURE_NOTE = 'fixture model: a generated test model with scripted answers, not a real model';

export function isFixtureResult(r: LoupeResult): boolean {
  return r.kind === 'prompt' && r.runs.some((x) => x.model?.fixture === true);
}

/** `1.2 s`, `85 ms`. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** One line describing a result: task, model, time, tokens. */
export function resultSummary(r: LoupeResult): string {
  const parts: string[] = [];
  if (r.kind === 'prompt') parts.push(r.task);
  // Side by side, every model is named; each run's heading then says which answer is whose.
  const models = isSideBySide(r) ? resultModels(r) : [mainModel(r)].filter((m) => m !== undefined);
  if (models.length) parts.push(models.map((m) => modelLabel(m)).join(' vs '));
  if (r.timings.totalMs !== undefined) parts.push(formatMs(r.timings.totalMs));
  const t = runTotals(r);
  if (t.generatedTokens) parts.push(`${t.generatedTokens} tok`);
  if (t.tokensPerSecond) parts.push(`${t.tokensPerSecond} tok/s`);
  if (r.params.seed !== undefined) parts.push(`seed ${r.params.seed}`);
  return parts.join(' · ');
}

/**
 * The heading of a run's answer when a cell has several: which model answered (side by side, with its engine and
 * time) and which images it is about (fan-out).
 */
export function runHeading(r: LoupeResult, run: Run): string | undefined {
  const parts: string[] = [];
  const side = isSideBySide(r);
  if (side) {
    const stats = [formatMs(run.stats.totalMs), run.stats.generatedTokens ? `${run.stats.generatedTokens} tok` : ''].filter(Boolean);
    parts.push(`${modelLabel(run.model) || `model ${(run.modelIndex ?? 0) + 1}`}${stats.length ? ` (${stats.join(', ')})` : ''}`);
  }
  const peers = side ? r.runs.filter((x) => x.modelIndex === run.modelIndex) : r.runs;
  // Frames of a clip are named by their times (`Frame 3 at 0:12.48`).
  if (peers.length > 1) parts.push(framesLabel(r.images, run.images) ?? `Image ${run.images.join(', ')}`);
  return parts.length ? parts.join(' · ') : undefined;
}

/** A run's text for a page: its answer, or why it failed (side by side, one model's failure is its own). */
export function runText(run: Run): { text: string; error: boolean } | undefined {
  if (run.error) return { text: run.answer ? `${run.answer}\n[${run.error}]` : run.error, error: true };
  return run.answer ? { text: run.answer, error: false } : undefined;
}

/** `Frame 3 at 0:12.48` for a video frame; undefined for an image. */
export function frameCaption(img: ResultImage): string | undefined {
  return img.time === undefined ? undefined : `Frame ${img.index} at ${formatTime(img.time)}`;
}

/** Where a region is, after its coordinates, when a result has several images: ` image 2`, ` frame at 0:12.48`. */
export function regionPlace(r: LoupeResult, image: number): string {
  if (r.images.length < 2) return '';
  const t = r.images[image - 1]?.time;
  return t === undefined ? ` image ${image}` : ` frame at ${formatTime(t)}`;
}

/** The notebook's title: its first Markdown heading, else the file name. */
export function notebookTitle(nb: StoredNotebook, fallback: string): string {
  for (const c of nb.cells) {
    if (c.kind !== 'markdown') continue;
    const m = /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/m.exec(c.source);
    if (m) return m[1]!;
  }
  return fallback;
}

/** Image file name for the Markdown export's folder. */
export function imageFileName(cellIndex: number, imageIndex: number, outputIndex = 0): string {
  return `cell-${cellIndex}${outputIndex > 0 ? `-${outputIndex + 1}` : ''}-image-${imageIndex}.png`;
}
