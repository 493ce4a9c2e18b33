// Shared helpers for the benchmarks: summaries of repeated runs and child processes that answer messages.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchModelInfo } from '../scripts/bench-model';
import type { Device } from '../src/engine/local/protocol';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BENCH = join(ROOT, 'bench');

export interface Summary { median: number; min: number; max: number; n: number; values: number[] }

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)!, n: s.length, values };
}

/** "median (min–max, n=…)" with `digits` decimals. */
export function fmt(s: Summary, digits = 1, unit = ''): string {
  const f = (v: number) => v.toFixed(digits);
  return `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)}, n=${s.n})`;
}

/**
 * Where prebundled workers live (`scripts/gpu-bundle.mjs` writes them), for machines without tsx: a GPU machine
 * gets plain JavaScript and no dev dependencies. Unset: workers run from their TypeScript sources through tsx.
 */
export const BUNDLE_DIR = process.env.LOUPE_BENCH_BUNDLE || undefined;

/** A TypeScript worker in its own Node process (tsx loader, or its prebundled .cjs), talking by IPC messages. */
export class Child {
  readonly proc: ChildProcess;
  private queue: ((m: Record<string, unknown>) => void)[] = [];
  private failed: Error | undefined;

  /** `onStderr` sees every stderr chunk (e.g. onnxruntime's verbose log); otherwise stderr is kept only for errors. */
  constructor(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, onStderr?: (text: string) => void) {
    const file = BUNDLE_DIR ? join(BUNDLE_DIR, script.replace(/\.ts$/, '.cjs')) : join(BENCH, script);
    const execArgv = BUNDLE_DIR ? [] : ['--import', 'tsx'];
    this.proc = fork(file, args, { execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    let err = '';
    this.proc.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      onStderr?.(text);
      // Dawn's missing-Vulkan warning is noise on a CPU-only machine.
      if (!/vulkan|Dawn|WebGPU/i.test(text)) err += text;
    });
    this.proc.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'error') this.failed = new Error(`${script}: ${String(m.message)}`);
      this.queue.shift()?.(m);
    });
    this.proc.on('exit', (code) => {
      if (code && !this.failed) this.failed = new Error(`${script} exited with ${code}: ${err.slice(-2000)}`);
      for (const q of this.queue.splice(0)) q({ type: 'error', message: this.failed?.message ?? 'exited' });
    });
  }

  /** Sends a message (or none) and waits for the next answer. */
  next<T = Record<string, unknown>>(msg?: object): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push((m) => (m.type === 'error' ? reject(new Error(String(m.message))) : resolve(m as T)));
      if (msg) this.proc.send(msg);
    });
  }

  kill(): void {
    this.proc.kill();
  }
}

/** Longest event-loop stall while fn runs: perf_hooks histogram max and a 1 ms interval drift probe. */
export async function withStallProbe<T>(fn: () => Promise<T>): Promise<{ result: T; maxStallMs: number; histMaxMs: number; p99Ms: number }> {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let last = performance.now();
  let worst = 0;
  const probe = setInterval(() => {
    const t = performance.now();
    worst = Math.max(worst, t - last - 1);
    last = t;
  }, 1);
  try {
    const result = await fn();
    return { result, maxStallMs: worst, histMaxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 };
  } finally {
    clearInterval(probe);
    h.disable();
  }
}

export const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

/** bench/bare-worker.ts's messages: 'ready' once, then one result per run. */
export interface BareReady { loadMs: number; rss: number; device: string; kvOnGpu: boolean; kvNote: string }
export interface BareResult { text: string; promptTokens: number; generated: number; tokens: number[]; firstTokenMs: number; decodeMsPerToken: number; runMsPerToken: number; totalMs: number }

/** The model host's requests for the bench model, the same on every device. */
export const benchLoad = (folder: string, device: Device) => ({ key: 'bench', folder, family: 'qwen2_vl' as const, dialect: 'qwen2_vl' as const, device, dtype: 'auto' as const, info: { id: 'bench-qwen2vl' } as never });
export const benchGenerate = (prompt: string, n: number) => ({ key: 'bench', task: 'ask' as const, prompt, images: [], regions: [], params: { max_new_tokens: n }, maxImageTokens: 1280, maxImagePixels: 50_000_000 });

/** B2's bytes read per decode token: every decoder weight (LM head included), K and V at the average context, one embedding row. */
export function decodeBytes(model: BenchModelInfo, promptTokens: number, newTokens: number) {
  const S = model.shape;
  const ctxAvg = promptTokens + newTokens / 2;
  const kvBytes = 2 * S.layers * S.kvHeads * (S.hidden / S.heads) * 4 * ctxAvg;
  // q4: packed codes and fp32 scales as generated; older bench-model.json files (fp32 only) lack the field.
  const weightBytes = model.decodeWeightBytes ?? 4 * model.params.decoder;
  return { ctxAvg, kvBytes, weightBytes, bytesPerToken: weightBytes + kvBytes + 4 * S.hidden };
}

/**
 * One benchmark's section of BENCHMARKS.md replaced in place (or put before B11), the rest kept, stamped as
 * measured apart from the full run: for `bench/bN.ts --write`; `npm run bench` writes the whole file.
 */
export function writeBenchSection(id: string, script: string, section: string): void {
  const file = join(ROOT, 'BENCHMARKS.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const stamp = `_Measured by \`${script} --write\` on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}, apart from the run above; \`npm run bench\` measures it with the rest._`;
  const body = section.trim().replace(/\n/, `\n\n${stamp}\n`) + '\n\n';
  const re = new RegExp(`^## ${id} [\\s\\S]*?(?=^## |(?![\\s\\S]))`, 'm');
  const out = re.test(old) ? old.replace(re, body) : old.includes('\n## B11 ') ? old.replace('\n## B11 ', `\n${body}## B11 `) : `${old.trimEnd()}\n\n${body}`;
  writeFileSync(file, out);
}
