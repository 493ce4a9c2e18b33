// `loupe run`: executes a notebook's code cells with the same Kernel, EnginePromptRunner and model host as
// VS Code, writes the outputs into the notebook (or --out), and exports it on request.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { DEFAULTS } from '../common/defaults';
import { LoupeError } from '../common/errors';
import { ERROR_MIME, RESULT_MIME, readResult, type LoupeResult } from '../common/result';
import { exportNotebook, type ExportFormat } from '../core/export';
import { Kernel, type KernelCell, type PromptRunner } from '../core/kernel/kernel';
import type { OutputSpec } from '../core/kernel/outputs';
import { EnginePromptRunner } from '../core/kernel/runner';
import { encodeItem, parseNotebook, serializeNotebook, type JsonObject, type StoredNotebook, type StoredOutput } from '../core/notebook/format';
import { HostClient } from '../engine/local/client';
import { resolveEndpoint, resolveToken } from '../engine/local/download/hub';
import { LocalEngine, type LocalSettings } from '../engine/local/engine';
import { isLocalRef } from '../engine/local/resolve';
import { findEntry } from '../engine/registry';
import type { RunArgs } from './args';
import { DownloadBar, formatCellLine, formatSeconds, type Stream } from './progress';

export interface CliIO {
  stdout: Stream;
  stderr: Stream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** dist/host.js, next to dist/cli.js. */
  hostScript: string;
  /** Signalled on Ctrl+C: running cells are interrupted, the notebook is still written. */
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
    throw code === 'ENOENT' ? new LoupeError('usage', `notebook not found: ${path}`) : new LoupeError('notebook-format', `cannot read ${path}: ${(e as Error).message}`);
  }
  return parseNotebook(bytes, basename(path));
}

async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await writeFile(tmp, data);
  await rename(tmp, path);
}

function toStored(o: OutputSpec): StoredOutput {
  const out: StoredOutput = { items: o.items.map((it) => encodeItem(it.mime, it.data)) };
  // Through JSON: drops undefined values, as the VS Code serializer's metadata would.
  if (o.metadata) out.metadata = JSON.parse(JSON.stringify(o.metadata)) as JsonObject;
  return out;
}

function readOutputs(outputs: OutputSpec[]): { result?: LoupeResult; error?: string } {
  let result: LoupeResult | undefined;
  let error: string | undefined;
  for (const it of outputs.flatMap((o) => o.items)) {
    try {
      if (it.mime === RESULT_MIME) result = readResult(JSON.parse(new TextDecoder().decode(it.data))) ?? result; else if (it.mime === ERROR_MIME) {
        const v = JSON.parse(new TextDecoder().decode(it.data)) as { name?: string; message?: string };
        error ??= `${v.name ? v.name + ': ' : ''}${v.message ?? ''}`;
      }
    } catch {
      /* not ours */
    }
  }
  // Unreadable images are reported in the result, under each image.
  error ??= result?.images.filter((i) => i.error).map((i) => i.error).join('; ') || undefined;
  return { result, error };
}

const rel = (cwd: string, p: string) => {
  const r = relative(cwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
};

export async function runCommand(a: RunArgs, io: CliIO): Promise<number> {
  const nbPath = resolve(io.cwd, a.notebook);
  const nb = await readNotebook(nbPath);
  const baseDir = dirname(nbPath);
  const aliases = new Map(Object.entries(a.aliases).map(([from, to]) => [modelKey(from), cliModelRef(to, io.cwd)]));
  const mapModel = (ref: string) => aliases.get(modelKey(ref)) ?? ref;
  const defaultModel = mapModel(a.model ? cliModelRef(a.model, io.cwd) : DEFAULTS.model);
  const local: LocalSettings = {
    device: a.device,
    dtype: a.dtype,
    allowDownloads: !a.offline,
    endpoint: resolveEndpoint(undefined, io.env),
    token: resolveToken(undefined, io.env),
    modelsDir: modelsDir(io.env),
  };
  const client = new HostClient({ script: io.hostScript, idleUnloadMs: 0, onLog: a.verbose ? (line) => io.stderr.write(`[host] ${line}\n`) : undefined });
  const engine = new LocalEngine(client, () => local);
  const interrupt = new AbortController();
  const runner = new EnginePromptRunner({
    engines: { pick: (ref) => ({ engine, ref }) },
    settings: () => ({ defaultModel, maxImageTokens: DEFAULTS.maxImageTokens, maxImagePixels: DEFAULTS.maxImagePixels }),
    withProgress: async (label, fn) => {
      const bar = new DownloadBar(io.stderr, label.replace(/^Loupe: preparing /, 'downloading '));
      try {
        return await fn((p) => bar.update(p), interrupt.signal);
      } finally {
        bar.end();
      }
    },
  });
  // `--alias`: a cell's @model (and the default) may be swapped for another model, e.g. a local fixture.
  const prompts: PromptRunner = aliases.size ? { run: (cell, ctx) => runner.run({ ...cell, model: cell.model === undefined ? undefined : mapModel(cell.model) }, ctx) } : runner;
  const kernel = new Kernel({ isTrusted: () => true, maxImagePixels: () => DEFAULTS.maxImagePixels, prompts });

  const code = nb.cells.map((c, i) => ({ cell: c, index: i + 1 })).filter((x) => x.cell.kind === 'code');
  io.stderr.write(`loupe: running ${rel(io.cwd, nbPath)}: ${code.length} code cell${code.length === 1 ? '' : 's'}, default model ${defaultModel}, device ${a.device}, dtype ${a.dtype}${a.offline ? ', offline' : ''}\n`);
  const t0 = Date.now();
  let failed = 0;
  const onAbort = () => {
    interrupt.abort();
    kernel.interrupt(nbPath);
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const cells: KernelCell[] = code.map(({ cell, index }) => ({
      notebook: nbPath,
      baseDir,
      source: cell.source,
      language: cell.language,
      createExecution: () => {
        let started = Date.now();
        let last: OutputSpec[] = [];
        return {
          signal: interrupt.signal,
          start() {
            started = Date.now();
          },
          async replaceOutputs(outputs: OutputSpec[]) {
            last = outputs;
          },
          end(success: boolean | undefined) {
            const ms = Date.now() - started;
            if (success === undefined) {
              io.stderr.write(`cell ${index}  SKIP  interrupted\n`);
              failed++;
              return;
            }
            cell.outputs = last.map(toStored);
            const { result, error } = readOutputs(last);
            if (!success) failed++;
            io.stderr.write(formatCellLine(index, success, ms, result, error) + '\n');
          },
        };
      },
    }));
    await kernel.execute(cells);
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    engine.dispose();
  }

  const bytes = serializeNotebook(nb);
  const notebookOut = a.export ? nbPath : resolve(io.cwd, a.out ?? a.notebook);
  await writeAtomic(notebookOut, bytes);
  const ran = code.length;
  io.stderr.write(`loupe: ${ran} cell${ran === 1 ? '' : 's'} ran, ${failed} failed, ${formatSeconds(Date.now() - t0)}; wrote ${rel(io.cwd, notebookOut)}\n`);
  if (a.export) {
    const exported = await exportTo(nb, a.export, notebookOut, a.out ? resolve(io.cwd, a.out) : undefined);
    io.stderr.write(`loupe: exported ${rel(io.cwd, exported)}\n`);
    io.stdout.write(exported + '\n');
  }
  return failed ? 1 : 0;
}

export async function exportTo(nb: StoredNotebook, format: ExportFormat, notebookPath: string, outPath: string | undefined): Promise<string> {
  try {
    return (await exportNotebook(nb, format, { notebookPath, outPath })).path;
  } catch (e) {
    throw new LoupeError('write-failed', `export failed: ${(e as Error).message}`, { cause: e });
  }
}
