// Packs what a GPU check needs into .gpu/ (git-ignored: add `/.gpu/` to .git/info/exclude) for a lent GPU machine
// that has no Node.js, no npm and no network: the Node binary (xz), the runtime node_modules for linux-x64 only
// (the VSIX's allow-list plus transformers.js's ESM build), dist/host.js, and the bench and fixture-check entry
// points bundled into plain CommonJS (no tsx there). scripts/gpu-run.sh unpacks and runs them. See docs/gpu.md.
//
//   node esbuild.mjs && node scripts/gpu-bundle.mjs
//
// The Vulkan loader and the glvnd libraries the WebGPU provider needs come from Debian (download their .debs into .gpu/ by hand,
// see docs/gpu.md). Prints the size of what travels.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const G = join(root, '.gpu');
mkdirSync(join(G, 'dist'), { recursive: true });

// 1. Entry points. import.meta.url becomes a file beside the bundle in .gpu/, so ROOT (one folder up) is the repository.
const banner = "var __loupe_bundle_url = require('node:url').pathToFileURL(require('node:path').join(__dirname, '__bundle__.js')).href;";
await esbuild.build({
  entryPoints: { run: 'bench/run.ts', 'bare-worker': 'bench/bare-worker.ts', 'gpu-fixtures': 'scripts/gpu-fixtures.ts', b11: 'bench/b11.ts', 'llama-worker': 'bench/llama-worker.ts' },
  absWorkingDir: root,
  outdir: G,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  banner: { js: banner },
  define: { 'import.meta.url': '__loupe_bundle_url', 'import.meta.dirname': '__dirname' },
  external: ['onnxruntime-node', '@huggingface/transformers', 'sharp', 'esbuild'],
});

// 2. The model host as the extension ships it.
if (!existsSync(join(root, 'dist', 'host.js'))) throw new Error('dist/host.js is missing: run node esbuild.mjs first');
copyFileSync(join(root, 'dist', 'host.js'), join(G, 'dist', 'host.js'));

// 3. Runtime packages, linux-x64 only (what .vscodeignore lets into the VSIX, plus the ESM builds the bench imports).
const nm = [
  'node_modules/sharp/package.json', 'node_modules/sharp/dist', 'node_modules/sharp/lib',
  'node_modules/@img/colour', 'node_modules/@img/sharp-linux-x64', 'node_modules/@img/sharp-libvips-linux-x64',
  'node_modules/detect-libc', 'node_modules/semver',
  'node_modules/onnxruntime-common/package.json', 'node_modules/onnxruntime-common/dist',
  'node_modules/onnxruntime-node/package.json', 'node_modules/onnxruntime-node/dist', 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64',
  'node_modules/@huggingface/transformers/package.json', 'node_modules/@huggingface/transformers/dist/transformers.node.cjs',
  'node_modules/@huggingface/transformers/dist/transformers.node.mjs',
];
const tarball = join(G, 'node_modules.tar.xz');
execFileSync('bash', ['-c', `tar -cf - ${nm.map((p) => `'${p}'`).join(' ')} | xz -T0 -6 > '${tarball}'`], { cwd: root, stdio: 'inherit' });

// 3b. B11's llama.cpp: node-llama-cpp and its dependencies from bench/node_modules (npm ci in bench/ first), with only the
// Vulkan build of llama.cpp's binaries (the CUDA ones are 540 MB), unpacked into .gpu/node_modules where the bundled
// llama-worker.cjs resolves it. The q4 model and its GGUF are generated on the GPU machine (seeded, ~2 GB: too big to carry).
const benchNm = join(root, 'bench', 'node_modules');
if (existsSync(join(benchNm, 'node-llama-cpp'))) {
  const llamaTar = join(G, 'bench_node_modules.tar.xz');
  execFileSync('bash', ['-c', `tar -C '${benchNm}' --exclude='./@node-llama-cpp/linux-x64-cuda*' --exclude='./@node-llama-cpp/linux-arm*' --exclude='./@node-llama-cpp/linux-riscv*' --exclude='./@node-llama-cpp/mac-*' --exclude='./@node-llama-cpp/win-*' --exclude='./node-llama-cpp/llama' -cf - . | xz -T0 -6 > '${llamaTar}'`], { stdio: 'inherit' });
} else console.warn('[gpu-bundle] bench/node_modules has no node-llama-cpp (run npm ci in bench/): B11 will run without llama.cpp');

// 4. Node itself (about 24 MB as xz); kept between runs.
const nodeXz = join(G, 'node.xz');
if (!existsSync(nodeXz)) execFileSync('bash', ['-c', `xz -T0 -9 -c '${process.execPath}' > '${nodeXz}'`], { stdio: 'inherit' });

if (!readdirSync(G).some((f) => f.endsWith('.deb'))) console.warn('[gpu-bundle] no .deb in .gpu/: download libvulkan1 and the glvnd libraries (docs/gpu.md), or WebGPU finds no adapter');
let total = 0;
const walk = (d) => { for (const f of readdirSync(d)) { const p = join(d, f); const s = statSync(p); if (s.isDirectory()) walk(p); else total += s.size; } };
walk(G);
console.log(`[gpu-bundle] .gpu/ holds ${(total / 2 ** 20).toFixed(1)} MiB: ${readdirSync(G).join(', ')}`);
