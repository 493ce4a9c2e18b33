// Progress on stderr: a download bar (one line rewritten with \r on a terminal, plain lines otherwise)
// and one line per cell with its status, time, task, model and tokens.
import { formatEta, formatPercent, hitRate, meanIou, pointInBoxRate, type BatchSummary } from '../common/batch';
import { resultModels, runTotals, type LoupeResult } from '../common/result';
import { formatBytes } from '../engine/local/download/errors';
import type { PrepareProgress as DownloadProgress } from '../engine/types';
import { modelLabel } from '../common/labels';

export interface Stream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const BAR = 24;

export function formatBar(label: string, p: DownloadProgress): string {
  const frac = p.total > 0 ? Math.min(1, p.bytes / p.total) : p.done ? 1 : 0;
  const filled = Math.round(frac * BAR);
  const pct = `${Math.floor(frac * 100)}`.padStart(3);
  const file = p.done ? 'done' : `${p.file} (${p.filesDone}/${p.filesTotal} files)`;
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${pct}% ${formatBytes(p.bytes)} / ${formatBytes(p.total)}  ${file}`;
}

/** A download bar for one model: call `update` with each report and `end` when it finishes or fails. */
export class DownloadBar {
  private lastLine = '';
  private lastPlainPct = -1;
  private lastFile = '';
  private open = false;
  constructor(
    private readonly out: Stream,
    private readonly label: string,
  ) {}

  update(p: DownloadProgress): void {
    const line = formatBar(this.label, p);
    if (this.out.isTTY) {
      const width = Math.max(40, (this.out.columns ?? 100) - 1);
      const shown = line.length > width ? line.slice(0, width - 1) + '…' : line;
      if (shown === this.lastLine) return;
      this.out.write(`\r\x1b[2K${shown}`);
      this.lastLine = shown;
      this.open = true;
      if (p.done) this.end();
      return;
    }
    // Not a terminal (a log, CI): a plain line per file and every 10 %.
    const pct = p.total > 0 ? Math.floor((p.bytes / p.total) * 10) * 10 : 0;
    if (p.done || pct !== this.lastPlainPct || p.file !== this.lastFile) {
      this.out.write(line + '\n');
      this.lastPlainPct = pct;
      this.lastFile = p.file;
    }
  }

  end(): void {
    if (this.open) this.out.write('\n');
    this.open = false;
    this.lastLine = '';
  }
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** `cell 3  ok    1.2 s  ground  tiny-florence2 (cpu, q4)  12 tok 85 tok/s` or `cell 4  FAIL  0.1 s  …message`. */
export function formatCellLine(index: number, ok: boolean, ms: number, result: LoupeResult | undefined, error: string | undefined): string {
  const head = `cell ${index}  ${ok ? 'ok  ' : 'FAIL'}  ${formatSeconds(ms).padStart(6)}`;
  if (!ok) {
    const first = (s: string) => s.split('\n').filter((l) => l.trim())[0] ?? 'failed';
    const task = result?.kind === 'prompt' ? `${result.task}  ` : '';
    // Side by side, each model's column carries its own error: list them, one per line, under the cell.
    const failedRuns = result?.kind === 'prompt' && !error && !result.error ? result.runs.filter((r) => r.error) : [];
    if (failedRuns.length && result?.kind === 'prompt') {
      const lines = failedRuns.map((r) => `  ${r.model ? modelLabel(r.model) : 'model'}: ${first(r.error!)}`);
      return `${head}  ${task}${failedRuns.length} of ${resultModels(result).length || failedRuns.length} models failed\n${lines.join('\n')}`;
    }
    const batch = result?.kind === 'batch' && result.batch ? `${batchCounts(result.batch)}; ` : '';
    return `${head}  ${task}${batch}${first(error ?? result?.batch?.error ?? result?.error ?? 'failed')}`;
  }
  if (!result) return `${head}  (nothing to run)`;
  if (result.kind === 'batch' && result.batch) return `${head}  ${result.task}  ${batchCounts(result.batch)}`;
  if (result.kind === 'images') return `${head}  images  ${result.images.length} image${result.images.length === 1 ? '' : 's'}`;
  if (result.kind === 'video') return `${head}  video  ${result.videos?.length ?? 0} clip${result.videos?.length === 1 ? '' : 's'}, ${result.images.length} frame${result.images.length === 1 ? '' : 's'}${result.videos?.every((v) => v.cached) ? ' (cached)' : ''}`;
  const parts = [head, result.task];
  const models = resultModels(result);
  if (models.length) parts.push(models.map((m) => modelLabel(m) + (m.fixture ? ' [fixture]' : '')).join(', '));
  const t = runTotals(result);
  if (result.runs.length) parts.push(`${t.generatedTokens} tok${t.tokensPerSecond ? ` ${t.tokensPerSecond} tok/s` : ''}`);
  return parts.join('  ');
}

/** `batch 20 images: 18 ok, 2 errors (5 from an earlier run); results in nb.loupe.runs/…`. */
function batchCounts(b: BatchSummary): string {
  const models = b.models > 1 ? ` × ${b.models} models` : '';
  return `batch ${b.images} image${b.images === 1 ? '' : 's'}${models}: ${b.ok} ok, ${b.errors} error${b.errors === 1 ? '' : 's'}${b.resumed ? ` (${b.resumed} from an earlier run)` : ''}; rows in ${b.sidecar}`;
}

/** `batch (cell 3) [#####-----] 120/1000  8.1 img/s  ETA 1 min 48 s  2 errors` (not a `cell N` line: those are results). */
export function formatBatchLine(label: string, b: BatchSummary): string {
  const total = b.images * b.models;
  const frac = total ? b.done / total : 0;
  const filled = Math.round(frac * BAR);
  return [
    `batch (${label}) [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${b.done}/${total}`,
    b.imagesPerSecond ? `${b.imagesPerSecond} img/s` : '',
    b.etaMs !== undefined && b.done < total ? `ETA ${formatEta(b.etaMs)}` : '',
    `${b.errors} error${b.errors === 1 ? '' : 's'}`,
  ]
    .filter(Boolean)
    .join('  ');
}

/** A batch's progress: one line rewritten on a terminal; otherwise a plain line every 10 % or 10 s. */
export class BatchLine {
  private open = false;
  private lastTenth = -1;
  private lastAt = 0;
  constructor(
    private readonly out: Stream,
    private readonly label: string,
  ) {}

  update(b: BatchSummary): void {
    const line = formatBatchLine(this.label, b);
    if (this.out.isTTY) {
      const width = Math.max(40, (this.out.columns ?? 100) - 1);
      this.out.write(`\r\x1b[2K${line.length > width ? line.slice(0, width - 1) + '…' : line}`);
      this.open = true;
      return;
    }
    const total = b.images * b.models;
    const tenth = total ? Math.floor((b.done / total) * 10) : 0;
    if (tenth !== this.lastTenth || Date.now() - this.lastAt > 10_000) {
      this.out.write(line + '\n');
      this.lastTenth = tenth;
      this.lastAt = Date.now();
    }
  }

  end(): void {
    if (this.open) this.out.write('\r\x1b[2K');
    this.open = false;
  }
}

/** `loupe eval`: a batch's score against its truth, per model, and the overall hit rate as a percentage. */
export function formatScores(cell: number, r: LoupeResult): string {
  const b = r.batch!;
  const scores = b.scores ?? [];
  const rows = [['model', 'images', 'true boxes', 'hits', 'hit rate', 'mean IoU', 'point in box']];
  for (const s of scores) rows.push([modelLabel(s.model) || 'model', String(s.images), String(s.truth), String(s.hits), formatPercent(hitRate(s)), meanIou(s).toFixed(3), s.points ? formatPercent(pointInBoxRate(s)) : '-']);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const table = rows.map((row) => row.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ')).join('\n');
  const overall = scores.map((s) => (scores.length > 1 ? `overall hit rate (${modelLabel(s.model)}): ${formatPercent(hitRate(s))}` : `overall hit rate: ${formatPercent(hitRate(s))}`)).join('\n');
  return `cell ${cell}: ${b.globs.map((g) => `@images ${g}`).join(', ')} against @truth ${b.truth ?? ''}${b.state !== 'done' ? ` (${b.state}: ${b.done} of ${b.images * b.models} done)` : ''}\n${table}\n${overall}`;
}
