// Machine facts and the bench model, shared by bench/run.ts and bench/gpu.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ensureBenchGguf, type GgufInfo } from '../scripts/bench-gguf';
import { BENCH_MODEL_DIR, ensureBenchModel, generateBenchModel, type BenchModelInfo } from '../scripts/bench-model';
import { ensureLlamaDeps } from './llama-setup';
import { BUNDLE_DIR, ROOT } from './common';

export const log = (s: string) => console.log(`[bench] ${s}`);

export function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const pkg = (name: string) => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version as string;
  return {
    cpu: model.trim(),
    cores: cpus().length,
    memGiB: totalmem() / 2 ** 30,
    node: process.version,
    ort: pkg('onnxruntime-node'),
    tf: pkg('@huggingface/transformers'),
    sharp: pkg('sharp'),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

export function prepare(): BenchModelInfo {
  if (BUNDLE_DIR) {
    // A machine with only the prebundled bench (scripts/gpu-bundle.mjs): dist/ and the fixtures came along; no tsx, no esbuild.
    for (const f of [join(ROOT, 'dist', 'host.js'), join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2vl', 'tokenizer.json')]) {
      if (!existsSync(f)) throw new Error(`${f} is missing: the prebundled bench needs dist/ and the fixtures`);
    }
    const json = join(BENCH_MODEL_DIR, 'bench-model.json');
    if (existsSync(json)) return JSON.parse(readFileSync(json, 'utf8')) as BenchModelInfo;
    log('bench model: generating (seeded)…');
    return generateBenchModel();
  }
  log('building dist/ (node esbuild.mjs)…');
  const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (b.status !== 0) throw new Error('build failed');
  const f = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/fixtures.ts', '--if-missing'], { cwd: ROOT, stdio: 'inherit' });
  if (f.status !== 0) throw new Error('fixtures failed');
  log('bench model (scripts/bench-model.ts)…');
  return ensureBenchModel();
}

/** B11's models and engine: the q4 bench model, its GGUF twin (both generated once, seeded) and bench/node_modules. */
export function prepareQ4(): { model: BenchModelInfo; gguf: GgufInfo; llama: string } {
  log('q4 bench model (scripts/bench-model.ts --variant q4-2b), its GGUF (scripts/bench-gguf.ts), node-llama-cpp…');
  const model = ensureBenchModel(undefined, 'q4-2b');
  const gguf = ensureBenchGguf();
  return { model, gguf, llama: ensureLlamaDeps(log) };
}
