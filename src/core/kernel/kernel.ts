// The kernel's logic: per-notebook queue, interrupt, and what running a cell means.
// VS Code is reached only through the small interfaces below, so this is testable without it.
import { formatCellErrors, isImageCell, parseCell, type ParsedCell } from '../cells/parser';
import { isVideoCell } from '../cells/video';
import { describeError, ERROR_TITLES } from '../../common/errors';
import { loadImage } from '../../images/load';
import { errorOutput, imageCellOutput, type OutputSpec } from './outputs';
import { videoCellOutput, type VideoSettings } from './video';

export interface CellExecution {
  /** Sets the execution order and marks the cell running. */
  start(order: number): void;
  replaceOutputs(outputs: OutputSpec[]): Promise<void>;
  /** success undefined: no mark (interrupted before it started). */
  end(success: boolean | undefined): void;
  /** Signalled when the user interrupts this cell or the notebook. */
  readonly signal: AbortSignal;
  /** Told when the model starts and stops generating (for responsiveness measurements). */
  generating?(on: boolean): void;
}

export interface KernelCell {
  /** Identifies the notebook: queues and execution order are per notebook. */
  notebook: string;
  /** Folder of the notebook file, for relative image paths; undefined while untitled. */
  baseDir: string | undefined;
  /** The notebook file, when saved (a batch writes its results beside it). */
  notebookPath?: string;
  source: string;
  language: string;
  /** Creates the execution now, so queued cells show as pending. */
  createExecution(): CellExecution;
}

export interface PromptContext {
  baseDir: string | undefined;
  notebookPath?: string;
  signal: AbortSignal;
  replaceOutputs(outputs: OutputSpec[]): Promise<void>;
  generating?(on: boolean): void;
}

export interface PromptRunner {
  run(cell: ParsedCell, ctx: PromptContext): Promise<boolean>;
}

export interface KernelDeps {
  isTrusted(): boolean;
  maxImagePixels(): number;
  /** No network at all: https images are refused (the CLI's --offline). */
  offline?(): boolean;
  prompts: PromptRunner;
  now?: () => number;
  /** ffmpeg, the frames cache and the clip-length limit, for video cells. */
  video?(): VideoSettings;
}

interface Job {
  cell: KernelCell;
  exec: CellExecution;
  abort: AbortController;
  /** Aborted by the user's interrupt or by ours. */
  signal: AbortSignal;
  finished: () => void;
}

interface NotebookQueue {
  order: number;
  jobs: Job[];
  running: boolean;
  /** Waiting for the queue to empty. */
  idle?: (() => void)[];
}

export const UNTRUSTED_MESSAGE =
  'Loupe does not run cells in an untrusted workspace: running a cell reads files and runs a model. Trust this folder (Manage Workspace Trust) to run it.';

export class Kernel {
  private readonly queues = new Map<string, NotebookQueue>();
  constructor(private readonly deps: KernelDeps) {}

  /** Queues cells in order; resolves when all of them have finished. */
  execute(cells: KernelCell[]): Promise<void> {
    if (cells.length === 0) return Promise.resolve();
    const done: Promise<void>[] = [];
    for (const cell of cells) {
      const q = this.queue(cell.notebook);
      const exec = cell.createExecution();
      const abort = new AbortController();
      // Both the user's interrupt (exec.signal) and ours end the job. AbortSignal.any adds no listener to
      // exec.signal, which executions may share (the CLI's): a long notebook piles none up on it.
      const signal = AbortSignal.any([exec.signal, abort.signal]);
      done.push(new Promise<void>((finished) => q.jobs.push({ cell, exec, abort, signal, finished })));
    }
    for (const nb of new Set(cells.map((c) => c.notebook))) void this.pump(nb);
    return Promise.all(done).then(() => undefined);
  }

  /** Resolves when no cell of the notebook is running or queued. */
  async whenIdle(notebook: string): Promise<void> {
    for (;;) {
      const q = this.queues.get(notebook);
      if (!q || (!q.running && q.jobs.length === 0)) return;
      await new Promise<void>((r) => (q.idle ??= []).push(r));
    }
  }

  /** Stops the running cell and drops the queued ones of a notebook. */
  interrupt(notebook: string): void {
    const q = this.queues.get(notebook);
    if (!q) return;
    for (const job of q.jobs) job.abort.abort();
  }

  private queue(notebook: string): NotebookQueue {
    let q = this.queues.get(notebook);
    if (!q) {
      q = { order: 0, jobs: [], running: false };
      this.queues.set(notebook, q);
    }
    return q;
  }

  private async pump(notebook: string): Promise<void> {
    const q = this.queue(notebook);
    if (q.running) return;
    q.running = true;
    try {
      while (q.jobs.length) {
        const job = q.jobs[0]!;
        try {
          if (job.signal.aborted) job.exec.end(undefined);
          else await this.runOne(job, ++q.order);
        } catch (e) {
          // A bug here must not wedge the queue or crash the extension host.
          const err = describeError(e);
          await job.exec.replaceOutputs([errorOutput(err.title, err.message)]).catch(() => undefined);
          job.exec.end(false);
        } finally {
          q.jobs.shift();
          job.finished();
        }
      }
    } finally {
      q.running = false;
      for (const r of q.idle?.splice(0) ?? []) r();
    }
  }

  private async runOne(job: Job, order: number): Promise<void> {
    const { exec, cell } = job;
    exec.start(order);
    if (!this.deps.isTrusted()) {
      await exec.replaceOutputs([errorOutput(ERROR_TITLES.untrusted, UNTRUSTED_MESSAGE)]);
      exec.end(false);
      return;
    }
    const parsed = parseCell(cell.source);
    if (parsed.errors.length) {
      await exec.replaceOutputs([errorOutput(ERROR_TITLES['cell-syntax'], formatCellErrors(parsed.errors))]);
      exec.end(false);
      return;
    }
    if (isImageCell(parsed)) {
      const ok = await this.runImageCell(parsed, cell, exec, job.signal);
      exec.end(job.signal.aborted ? undefined : ok);
      return;
    }
    if (isVideoCell(parsed)) {
      const v = await videoCellOutput(parsed, cell.baseDir, this.deps.video?.(), this.deps.maxImagePixels(), job.signal, this.deps.now ?? Date.now);
      if (!v.cancelled) await exec.replaceOutputs([v.output]);
      exec.end(job.signal.aborted ? undefined : v.ok);
      return;
    }
    if (!parsed.prompt.trim() && parsed.images.length === 0 && parsed.batch.length === 0 && !parsed.videos?.length) {
      await exec.replaceOutputs([]);
      exec.end(true);
      return;
    }
    const ok = await this.deps.prompts.run(parsed, { baseDir: cell.baseDir, ...(cell.notebookPath ? { notebookPath: cell.notebookPath } : {}), signal: job.signal, replaceOutputs: (o) => exec.replaceOutputs(o), generating: (on) => exec.generating?.(on) });
    exec.end(job.signal.aborted ? undefined : ok);
  }

  private async runImageCell(parsed: ParsedCell, cell: KernelCell, exec: CellExecution, signal: AbortSignal): Promise<boolean> {
    const now = this.deps.now ?? Date.now;
    const t0 = now();
    const maxPixels = this.deps.maxImagePixels();
    // Images are independent: one bad file never stops the others.
    const results = await Promise.all(parsed.images.map((img) => loadImage(img.source, { baseDir: cell.baseDir, maxPixels, signal, offline: this.deps.offline?.() })));
    if (signal.aborted) return false;
    const output = await imageCellOutput(results, { totalMs: now() - t0 });
    await exec.replaceOutputs([output]);
    return results.every((r) => r.ok);
  }
}
