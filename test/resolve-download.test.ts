// A Hub repo id resolves through Loupe's downloader (a local server on 127.0.0.1 stands in for the Hub),
// then loads in the model host like any local folder.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { HostClient } from '../src/engine/local/client';
import { resolveModel } from '../src/engine/local/resolve';
import { LocalEngine } from '../src/engine/local/engine';
import { parseAnswer } from '../src/engine/dialects';

const ROOT = join(import.meta.dirname, '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'models', 'tiny-florence2');
const REPO = 'loupe-test/tiny-florence2';
let server: Server;
let endpoint = '';
const requested: string[] = [];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}

before(async () => {
  const files = walk(FIXTURE).map((abs) => {
    const data = readFileSync(abs);
    const path = relative(FIXTURE, abs);
    const lfs = path.endsWith('.onnx');
    const gitOid = createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
    return { path, data, entry: { type: 'file', path, size: data.length, oid: gitOid, ...(lfs ? { lfs: { oid: createHash('sha256').update(data).digest('hex'), size: data.length, pointerSize: 130 } } : {}) } };
  });
  server = createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? '');
    requested.push(url.split('?')[0]!);
    if (url.startsWith(`/api/models/${REPO}/tree/`)) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify([{ type: 'directory', path: 'onnx', oid: 'x', size: 0 }, ...files.map((f) => f.entry)]));
      return;
    }
    const m = new RegExp(`^/${REPO}/resolve/[^/]+/(.+)$`).exec(url);
    const f = m && files.find((x) => x.path === m[1]);
    if (!f) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('content-length', String(f.data.length));
    res.end(f.data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

test('a Hub repo is downloaded (one dtype only), verified, and then loads offline', async () => {
  const modelsDir = mkdtempSync(join(tmpdir(), 'loupe-models-'));
  const progress: number[] = [];
  const m = await resolveModel(REPO, { modelsDir, allowDownloads: true, endpoint, dtype: 'auto', onProgress: (p) => progress.push(p.bytes) });
  assert.equal(m.folder, join(modelsDir, 'loupe-test', 'tiny-florence2'));
  assert.deepEqual([m.family, m.dialect, m.info.id, m.info.revision], ['florence2', 'florence2', REPO, 'main']);
  const got = readdirSync(join(m.folder, 'onnx')).sort();
  assert.deepEqual(got, ['decoder_model_merged_q4.onnx', 'embed_tokens_q4.onnx', 'encoder_model_q4.onnx', 'vision_encoder_q4.onnx'], 'auto fetches q4 only');
  assert.ok(progress.length > 0 && progress.at(-1)! > 0);
  assert.ok(!requested.some((u) => u.includes('README')), 'only model files are fetched');

  // Offline now: no request may reach the server.
  const before = requested.length;
  const again = await resolveModel(REPO, { modelsDir, allowDownloads: false, endpoint: 'http://127.0.0.1:9', dtype: 'auto' });
  assert.equal(again.folder, m.folder);
  assert.equal(requested.length, before);
  // The same model through the Engine seam, offline: prepare finds it on disk, the model host runs it.
  const engine = new LocalEngine(new HostClient({ script: join(ROOT, 'dist', 'host.js') }), () => ({ device: 'cpu', dtype: 'auto', allowDownloads: false, endpoint: 'http://127.0.0.1:9', modelsDir }));
  try {
    const handle = await engine.prepare(REPO, {});
    assert.equal(requested.length, before);
    assert.deepEqual([handle.engine, handle.dialect, handle.info.id, handle.needsImage], ['local', 'florence2', REPO, true]);
    const loaded = await engine.load(handle);
    assert.equal(loaded.dtype, 'q4');
    const r = await engine.generate(loaded, { task: 'caption', prompt: '', images: [{ path: join(ROOT, 'examples', 'images', 'coffee.png'), source: 'coffee.png' }], regions: [], params: {}, maxImageTokens: 1024, maxImagePixels: 5e7 });
    assert.equal(parseAnswer(handle.dialect, 'caption', r.raw, { images: r.images, modelSizes: [] }).text, 'A tiny fixture image.');
  } finally {
    engine.dispose();
  }
});

test('an unreachable Hub says so and how to work offline', async () => {
  const modelsDir = mkdtempSync(join(tmpdir(), 'loupe-models-'));
  await assert.rejects(resolveModel('florence-2-base', { modelsDir, allowDownloads: true, endpoint: 'http://127.0.0.1:9', dtype: 'auto' }), (e: Error) => /127\.0\.0\.1:9/.test(e.message) && /offline|local folder/i.test(e.message));
});

test('idle models are unloaded after loupe.unloadAfterMinutes', async () => {
  const client = new HostClient({ script: join(ROOT, 'dist', 'host.js'), idleUnloadMs: 300 });
  try {
    await client.load({ key: 'idle', folder: FIXTURE, family: 'florence2', dialect: 'florence2', device: 'cpu', dtype: 'auto', info: { id: 'tiny' } });
    assert.equal(client.loadedModels().length, 1);
    await new Promise((r) => setTimeout(r, 900));
    assert.equal(client.loadedModels().length, 0);
    assert.deepEqual((await client.status())?.loaded, []);
  } finally {
    client.dispose();
  }
});

import { statusText } from '../src/extension/statusText';

test('the status bar names the provider that runs and why the GPU was skipped', () => {
  assert.equal(statusText('florence-2-base', { provider: 'webgpu', fallbacks: [] }), 'Loupe: florence-2-base · WebGPU');
  assert.equal(
    statusText('florence-2-base', { provider: 'cpu', fallbacks: [{ device: 'webgpu', error: '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 x was false. Failed to get a WebGPU adapter: No supported adapters' }] }),
    'Loupe: florence-2-base · CPU (WebGPU unavailable: Failed to get a WebGPU adapter: No supported adapters)',
  );
});
