// `loupe run`: executes a notebook's code cells with the same Kernel, EnginePromptRunner and model host as
// VS Code, writes the outputs into the notebook (or --out), and exports it on request.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { DEFAULTS } from '../common/defaults';
import { LoupeError } from '../common/errors';
import { ERROR_MIME, RESULT_MIME, readResult, type LoupeResult } from '../common/result';
import { exportNotebook } from '../core/export';
import { defaultAnnotationDir, exportAnnotations, isAnnotationFormat } from '../core/export/annotations';
import { Kernel, type KernelCell } from '../core/kernel/kernel';
import type { OutputSpec } from '../core/kernel/outputs';
import { EnginePromptRunner } from '../core/kernel/runner';
import type { VideoSettings } from '../core/kernel/video';
import { encodeItem, parseNotebook, type JsonObject, type StoredNotebook, type StoredOutput } from '../core/notebook/format';
import { checkWritable } from '../core/notebook/write';
import { parseCell } from '../core/cells/parser';
import { HostClient } from '../engine/local/client';
import { resolveEndpoint, resolveToken } from '../engine/local/download/hub';
import { Engines } from '../engine/engines';
import { LocalEngine, type LocalSettings } from '../engine/local/engine';
import { isLocalRef } from '../engine/local/resolve';
import { findEntry } from '../engine/registry';
import { UsageError, type CliExportFormat, type RunArgs } from './args';
import { BatchLine, DownloadBar, formatCellLine, formatScores, formatSeconds, type Stream } from './progress';
import { cliEngines } from './engines';
import { NotebookSaver } from './save';

export interface CliIO {
  stdout: Stream;
  stderr: Stream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** dist/host.js, next to dist/cli.js. */
  hostScript: string;
  /** Signalled on SIGINT or SIGTERM (the reason names it): the running cell stops, finished results stay written. */
  signal?: AbortSignal;
}

/** Exit status for an error: 2 for usage errors (a missing notebook among them), else 1. */
export function exitCodeOf(e: LoupeError): number {
  return e.code === 'usage' ? 2 : 1;
}

export function modelsDir(env: NodeJS.ProcessEnv): string {
  return env.LOUPE_MODELS_DIR?.trim() || join(homedir(), '.cache', 'loupe', 'models');
}

/** A model reference typed on the command line: relative folders are relative to the current directory. */
export function cliModelRef(ref: string, cwd: string): string {
  if (!isLocalRef(ref)) return ref;
  if (ref.startsWith('~/')) return join(homedir(), ref.slice(2));
  return isAbsolute(ref) ? ref : resolve(cwd, ref);
}

/** Registry ids and repos compare as the registry entry's id; everything else as written. */
function modelKey(ref: string): string {
  return findEntry(ref)?.id ?? ref;
}

export async function readNotebook(path: string): Promise<StoredNotebook> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LoupeError('usage', `notebook not found: ${path}`);
    if (code === 'EISDIR') throw new LoupeError('usage', `${path} is a folder: give the path of a .loupe notebook`);
    throw new LoupeError('notebook-format', `cannot read ${path}: ${(e as Error).message}`);
  }
  return parseNotebook(bytes, basename(path));
}

function toStored(o: OutputSpec): StoredOutput {
  const out: StoredOutput = { items: o.items.map((it) => encodeItem(it.mime, it.data)) };
  // Through JSON: drops undefined values, as the VS Code serializer's metadata would.
  if (o.metadata) out.metadata = JSON.parse(JSON.stringify(o.metadata)) as JsonObject;
  return out;
}

const isScoredBatch = (p: ReturnType<typeof parseCell>) => p.truth !== undefined && p.batch.length > 0;

function readOutputs(outputs: OutputSpec[]): { result?: LoupeResult; error?: string } {
  let result: LoupeResult | undefined;
  let error: string | undefined;
  for (const it of outputs.flatMap((o) => o.items)) {
    try {
      if (it.mime === RESULT_MIME) result = readResult(JSON.parse(new TextDecoder().decode(it.data))) ?? result;
      else if (it.mime === ERROR_MIME) {
        const v = JSON.parse(new TextDecoder().decode(it.data)) as { name?: string; message?: string };
        error ??= `${v.name ? v.name + ': ' : ''}${v.message ?? ''}`;
      }
    } catch {
      /* not ours */
    }
  }
  // Unreadable images are reported in the result, under each image.
  error ??= [...(result?.videos ?? []).filter((v) => v.error).map((v) => v.error), ...(result?.images ?? []).filter((i) => i.error).map((i) => i.error)].join('; ') || undefined;
  return { result, error };
}

const rel = (cwd: string, p: string) => {
  const r = relative(cwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
};

/** ffmpeg from --ffmpeg, $LOUPE_FFMPEG or PATH; frames cached in $LOUPE_FRAMES_DIR or ~/.cache/loupe/frames. */
export function cliVideoSettings(a: Pick<RunArgs, 'ffmpeg'>, io: Pick<CliIO, 'env' | 'cwd'>): VideoSettings {
  const ffmpeg = a.ffmpeg ?? io.env.LOUPE_FFMPEG?.trim();
  return {
    ...(ffmpeg ? { ffmpegPath: resolve(io.cwd, ffmpeg) } : {}),
    ffmpegSetting: a.ffmpeg ? '--ffmpeg' : ffmpeg ? '$LOUPE_FFMPEG' : 'the --ffmpeg option',
    framesDir: io.env.LOUPE_FRAMES_DIR?.trim() || join(homedir(), '.cache', 'loupe', 'frames'),
  };
}

/** Exit status after an interrupt: 128 + the signal's number, as shells report it. */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** What `--offline` and missing models tell a CLI user (not the VS Code setting). */
export function offlineHint(env: NodeJS.ProcessEnv): string {
  return `Without network, loupe run --offline uses downloaded models only: download it first (loupe models --download <id>), put it in $LOUPE_MODELS_DIR (now ${modelsDir(env)}), or run it on a local folder with --alias <id>=./path/to/model.`;
}

export async function runCommand(a: RunArgs, io: CliIO): Promise<number> {
  const nbPath = resolve(io.cwd, a.notebook);
  const nb = await readNotebook(nbPath);
  const baseDir = dirname(nbPath);
  // Where results go: the notebook itself (merged with edits made meanwhile), or --out when there is no export.
  const target = a.export || !a.out ? nbPath : resolve(io.cwd, a.out);
  const exportOut = a.export && a.out ? resolve(io.cwd, a.out) : undefined;
  // eval scores batches against their @truth: a notebook without one is a usage error, before anything runs.
  if (a.command === 'eval' && !nb.cells.some((c) => c.kind === 'code' && isScoredBatch(parseCell(c.source)))) {
    throw new UsageError(`${basename(nbPath)} has no batch cell with @truth to score: add @images <glob> and @truth <COCO json> to a cell (see loupe help)`);
  }
  // Bad output paths are refused before anything runs.
  await checkWritable(target, target === nbPath ? 'the notebook' : '--out');
  if (exportOut && !isAnnotationFormat(a.export!)) await checkWritable(exportOut, '--out');

  const aliases = new Map(Object.entries(a.aliases).map(([from, to]) => [modelKey(from), cliModelRef(to, io.cwd)]));
  // `--alias`: every model reference (a cell's @model and the defaults) may be swapped for another, e.g. a local folder.
  const mapModel = (ref: string) => aliases.get(modelKey(ref)) ?? ref;
  const defaultModel = a.model ? cliModelRef(a.model, io.cwd) : DEFAULTS.model;
  const local: LocalSettings = {
    device: a.device,
    dtype: a.dtype,
    allowDownloads: !a.offline,
    endpoint: resolveEndpoint(undefined, io.env),
    token: resolveToken(undefined, io.env),
    modelsDir: modelsDir(io.env),
    offlineHint: offlineHint(io.env),
  };
  const client = new HostClient({
    script: io.hostScript,
    idleUnloadMs: 0,
    timeoutMs: a.hostTimeoutSeconds * 1000,
    timeoutSetting: '--host-timeout',
    onLog: a.verbose ? (line) => io.stderr.write(`[host] ${line}\n`) : undefined,
  });
  const engine = new LocalEngine(client, () => local);
  const remote = await cliEngines(a.engines, io.env, io.cwd);
  const engines = new Engines(engine, () => remote.engines, remote.source);
  const interrupt = new AbortController();
  const video = cliVideoSettings(a, io);
  const runner = new EnginePromptRunner({
    engines: { pick: (ref) => engines.pick(mapModel(ref)) },
    settings: () => ({
      defaultModel,
      // --model is the model for every cell without @model; without it, each task's default.
      defaultModels: a.model ? {} : DEFAULTS.taskModels,
      maxImageTokens: DEFAULTS.maxImageTokens,
      maxImagePixels: DEFAULTS.maxImagePixels,
      offline: a.offline,
      batchMaxImages: a.maxImages ?? DEFAULTS.batchMaxImages,
      batchLimitHint: '--max-images',
      video,
    }),
    withProgress: async (label, fn) => {
      const bar = new DownloadBar(io.stderr, label.replace(/^Loupe: preparing /, 'downloading '));
      try {
        return await fn((p) => bar.update(p), interrupt.signal);
      } finally {
        bar.end();
      }
    },
  });
  const kernel = new Kernel({ isTrusted: () => true, maxImagePixels: () => DEFAULTS.maxImagePixels, offline: () => a.offline, prompts: runner, video: () => video });
  const saver = new NotebookSaver(nb, target, target === nbPath, { say: (m) => io.stderr.write(`loupe: ${m}\n`) });

  const code = nb.cells.map((c, i) => ({ cell: c, i })).filter((x) => x.cell.kind === 'code');
  // Only batch cells report progress as they go: other cells' updates (images and all) are not decoded here.
  const batchCells = new Set(code.filter((x) => parseCell(x.cell.source).batch.length).map((x) => x.i));
  io.stderr.write(`loupe: running ${rel(io.cwd, nbPath)}: ${code.length} code cell${code.length === 1 ? '' : 's'}, default model ${defaultModel}, device ${a.device}, dtype ${a.dtype}${a.offline ? ', offline' : ''}\n`);
  const t0 = Date.now();
  let failed = 0;
  let skipped = 0;
  let saves: Promise<void> = Promise.resolve();
  const scored: { cell: number; result: LoupeResult }[] = [];
  const onAbort = () => {
    interrupt.abort();
    kernel.interrupt(nbPath);
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const cells: KernelCell[] = code.map(({ cell, i }) => ({
      notebook: nbPath,
      baseDir,
      notebookPath: nbPath,
      source: cell.source,
      language: cell.language,
      createExecution: () => {
        let started = Date.now();
        let last: OutputSpec[] = [];
        let batch: BatchLine | undefined;
        return {
          signal: interrupt.signal,
          start() {
            started = Date.now();
          },
          async replaceOutputs(outputs: OutputSpec[]) {
            last = outputs;
            if (!batchCells.has(i)) return;
            // A batch reports done/total, images per second, time left and errors as it goes.
            const { result } = readOutputs(outputs);
            if (result?.kind === 'batch' && result.batch) {
              batch ??= new BatchLine(io.stderr, `cell ${i + 1}`);
              if (result.batch.state === 'running') batch.update(result.batch);
              else batch.end();
            }
          },
          end(success: boolean | undefined) {
            batch?.end();
            const ms = Date.now() - started;
            if (success === undefined) {
              io.stderr.write(`cell ${i + 1}  SKIP  interrupted\n`);
              skipped++;
              return;
            }
            const { result, error } = readOutputs(last);
            if (!success) failed++;
            io.stderr.write(formatCellLine(i + 1, success, ms, result, error) + '\n');
            if (result?.kind === 'batch' && result.batch?.scores?.length) scored.push({ cell: i + 1, result });
            // Each finished cell is on disk before the next one runs: an interrupted run keeps what it finished.
            saves = saver.record(i, last.map(toStored));
          },
        };
      },
    }));
    await kernel.execute(cells);
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    engine.dispose();
  }
  await saves;
  if (!code.length) await saver.save();
  const ran = code.length - skipped;
  io.stderr.write(`loupe: ${ran} cell${ran === 1 ? '' : 's'} ran, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}, ${formatSeconds(Date.now() - t0)}; wrote ${rel(io.cwd, saver.written)}\n`);
  const signal = io.signal?.aborted ? String(io.signal.reason ?? 'SIGINT') : undefined;
  if (a.export && !signal) {
    const exported = await exportTo(saver.current(), a.export, nbPath, exportOut, io);
    io.stderr.write(`loupe: exported ${rel(io.cwd, exported)}\n`);
    io.stdout.write(exported + '\n');
  }
  if (a.command === 'eval') {
    for (const x of scored) io.stdout.write(formatScores(x.cell, x.result) + '\n');
    if (!scored.length) io.stderr.write('loupe: no batch with @truth finished, so nothing was scored\n');
  }
  if (signal) return SIGNAL_EXIT[signal] ?? 130;
  return failed ? 1 : 0;
}

/** Writes an export: the notebook as a page or file, or (annotation formats) its batches' annotations to a folder. */
export async function exportTo(nb: StoredNotebook, format: CliExportFormat, notebookPath: string, outPath: string | undefined, io?: Pick<CliIO, 'stderr'>): Promise<string> {
  if (isAnnotationFormat(format)) {
    const outDir = outPath ?? defaultAnnotationDir(notebookPath, format);
    const r = await exportAnnotations(nb, format, { notebookPath, outDir });
    io?.stderr.write(`loupe: ${r.files.length} file${r.files.length === 1 ? '' : 's'} for ${r.batches} batch${r.batches === 1 ? '' : 'es'}\n`);
    return outDir;
  }
  try {
    return (await exportNotebook(nb, format, { notebookPath, outPath })).path;
  } catch (e) {
    throw new LoupeError('write-failed', `export failed: ${(e as Error).message}`, { cause: e });
  }
}
