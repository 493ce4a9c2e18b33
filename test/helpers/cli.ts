// Runs the real `loupe` (dist/cli.js) as a child process, with a hook on each stderr line so a test can act in
// the middle of a run (edit the notebook, send a signal, stop the model host).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredCell, StoredNotebook } from '../../src/core/notebook/format';
import { RESULT_MIME, readResult, type LoupeResult } from '../../src/common/result';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');
export const FLORENCE = join(FIXTURES, 'tiny-florence2');
export const QWEN = join(FIXTURES, 'tiny-qwen2vl');
/** Every registry model the tests meet, mapped to a fixture: offline, nothing is downloaded. */
export const FIXTURE_ALIASES = ['--offline', '--alias', `florence-2-base=${FLORENCE}`, '--alias', `qwen2-vl-2b=${QWEN}`];

/** Builds dist/ and the fixtures when a test file runs on its own (`npm test` has done both). */
export function ensureBuilt(): void {
  if (!existsSync(CLI)) spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (!existsSync(join(FLORENCE, 'config.json'))) spawnSync(process.execPath, ['--import', 'tsx', 'scripts/fixtures.ts', '--if-missing'], { cwd: ROOT, stdio: 'inherit' });
}

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Called with each stderr line as it arrives, and the process, to act mid-run. */
  onLine?: (line: string, child: ChildProcess) => void | Promise<void>;
}

export function runCli(args: string[], o: RunOptions): Promise<Ran> {
  return new Promise((done, fail) => {
    const env = o.env ?? { ...process.env, LOUPE_MODELS_DIR: join(o.cwd, 'models'), HF_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: '' };
    const child = spawn(process.execPath, [CLI, ...args], { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      for (const line of lines) void o.onLine?.(line, child);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 90_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

export const md = (source: string): StoredCell => ({ kind: 'markdown', language: 'markdown', source, metadata: {}, outputs: [] });
export const code = (source: string): StoredCell => ({ kind: 'code', language: 'loupe', source, metadata: {}, outputs: [] });
export const notebook = (cells: StoredCell[]): StoredNotebook => ({ loupe: 1, metadata: {}, cells });

export function resultOf(c: StoredCell): LoupeResult | undefined {
  const it = c.outputs.flatMap((o) => o.items).find((i) => i.mime === RESULT_MIME);
  return it && 'json' in it ? readResult(it.json) : undefined;
}

export const cellLines = (stderr: string) => stderr.split('\n').filter((l) => /^cell \d+ /.test(l));

/** Pids of the processes a process started (the model host of a `loupe run`). */
export function childPids(pid: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

/** A process's state letter from /proc (R, S, T for stopped…), or undefined once it is gone. */
export function procState(pid: number): string | undefined {
  try {
    return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
