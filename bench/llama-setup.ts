// The bench's own dependencies (bench/package.json: node-llama-cpp 3.21.1, whose prebuilt llama.cpp binaries come as
// npm packages), installed with `npm ci` from bench/package-lock.json the first time a benchmark needs them. The
// extension's `npm ci` and `npm test` never install them: bench/ is not a workspace of the root package.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH, BUNDLE_DIR } from './common';

export const LLAMA_VERSION = (JSON.parse(readFileSync(join(BENCH, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['node-llama-cpp']!;

function installed(): string | undefined {
  const pkg = join(BENCH, 'node_modules', 'node-llama-cpp', 'package.json');
  return existsSync(pkg) ? (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version : undefined;
}

/** Installs bench/node_modules when node-llama-cpp is missing or not the pinned version; returns the version. */
export function ensureLlamaDeps(log: (s: string) => void = console.log): string {
  if (BUNDLE_DIR) {
    // A GPU machine (scripts/gpu-run.sh): no npm there; scripts/gpu-bundle.mjs carried the package beside the workers.
    const pkg = join(BUNDLE_DIR, 'node_modules', 'node-llama-cpp', 'package.json');
    if (!existsSync(pkg)) throw new Error(`${pkg} is missing: run npm ci in bench/ before scripts/gpu-bundle.mjs`);
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  }
  if (installed() === LLAMA_VERSION) return LLAMA_VERSION;
  log(`installing the bench's dependencies (node-llama-cpp ${LLAMA_VERSION}) with npm ci in bench/…`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: BENCH, stdio: 'inherit' });
  if (r.status !== 0 || installed() !== LLAMA_VERSION) throw new Error(`npm ci in bench/ failed (exit ${r.status}): B11 needs node-llama-cpp ${LLAMA_VERSION}`);
  return LLAMA_VERSION;
}
