// The platform VSIX carries what the extension loads, and only that platform's native binaries.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');

test('npm run package builds the linux-x64 VSIX with only linux-x64 binaries and no CUDA files', { skip: process.platform !== 'linux' || process.arch !== 'x64' }, () => {
  const r = spawnSync('npm', ['run', 'package', '--', '--target', 'linux-x64'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, r.stderr);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const vsix = join(ROOT, `loupe-linux-x64-${pkg.version}.vsix`);
  assert.ok(statSync(vsix).size < 40 * 1024 * 1024, 'under 40 MB');
  const list = spawnSync('unzip', ['-Z1', vsix], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const has = (p: string) => list.some((f) => f === `extension/${p}`);
  for (const f of ['dist/extension.js', 'dist/host.js', 'dist/renderer.js', 'package.json', 'dist/loupe.tmLanguage.json', 'media/walkthrough/tour.md', 'examples/tour.loupe', 'examples/videos/rocket-pan.mp4', 'node_modules/@huggingface/transformers/dist/transformers.node.cjs', 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node']) assert.ok(has(f), f);
  assert.ok(list.some((f) => f.startsWith('extension/node_modules/@img/sharp-linux-x64/')), 'sharp for linux-x64');
  const ort = list.filter((f) => f.includes('onnxruntime-node/bin/'));
  assert.ok(ort.every((f) => f.includes('/linux/x64/')), `other platforms' onnxruntime binaries: ${ort.filter((f) => !f.includes('/linux/x64/')).join(', ')}`);
  assert.ok(!list.some((f) => /cuda|tensorrt/i.test(f)), 'no CUDA or TensorRT provider files');
  assert.ok(!list.some((f) => f.startsWith('extension/src/') || f.startsWith('extension/test/') || f.includes('onnxruntime-web')), 'no sources, tests or onnxruntime-web');
});
