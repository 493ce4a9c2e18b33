// Progress on stderr: a download bar (one line rewritten with \r on a terminal, plain lines otherwise)
// and one line per cell with its status, time, task, model and tokens.
import { mainModel, runTotals, type LoupeResult } from '../common/result';
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
    const msg = (error ?? result?.error ?? 'failed').split('\n').filter((l) => l.trim())[0] ?? 'failed';
    return `${head}  ${result?.kind === 'prompt' ? `${result.task}  ` : ''}${msg}`;
  }
  if (!result) return `${head}  (nothing to run)`;
  if (result.kind === 'images') return `${head}  images  ${result.images.length} image${result.images.length === 1 ? '' : 's'}`;
  if (result.kind === 'video') return `${head}  video  ${result.videos?.length ?? 0} clip${result.videos?.length === 1 ? '' : 's'}, ${result.images.length} frame${result.images.length === 1 ? '' : 's'}${result.videos?.every((v) => v.cached) ? ' (cached)' : ''}`;
  const parts = [head, result.task];
  const model = mainModel(result);
  if (model) parts.push(modelLabel(model) + (model.fixture ? ' [fixture]' : ''));
  const t = runTotals(result);
  if (result.runs.length) parts.push(`${t.generatedTokens} tok${t.tokensPerSecond ? ` ${t.tokensPerSecond} tok/s` : ''}`);
  return parts.join('  ');
}
