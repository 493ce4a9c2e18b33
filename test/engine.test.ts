// The engine through the real model host process, on the generated fixture models.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LoupeError } from '../src/common/errors';
import { parseAnswer } from '../src/engine/dialects';
import { HostClient } from '../src/engine/local/client';
import { resolveModel } from '../src/engine/local/resolve';
import { spotPng } from './helpers/spot';

const ROOT = join(import.meta.dirname, '..');
const FLORENCE = join(ROOT, 'test', 'fixtures', 'models', 'tiny-florence2');
const QWEN = join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2vl');
const COFFEE = join(ROOT, 'examples', 'images', 'coffee.png');
const tmp = mkdtempSync(join(tmpdir(), 'loupe-engine-'));
const clients: HostClient[] = [];
const newClient = (o: Partial<ConstructorParameters<typeof HostClient>[0]> = {}) => {
  const c = new HostClient({ script: join(ROOT, 'dist', 'host.js'), ...o });
  clients.push(c);
  return c;
};
after(() => clients.forEach((c) => c.dispose()));

const florenceLoad = (folder = FLORENCE, key = 'florence') => ({ key, folder, family: 'florence2' as const, dialect: 'florence2' as const, device: 'auto' as const, dtype: 'auto' as const, info: { id: 'tiny-florence2' } });
const qwenLoad = (folder = QWEN, key = 'qwen') => ({ key, folder, family: 'qwen2_vl' as const, dialect: 'qwen2_vl' as const, device: 'cpu' as const, dtype: 'auto' as const, info: { id: 'tiny-qwen2vl' } });
const gen = (key: string, task: string, prompt: string, images: { path: string; source: string }[], extra: object = {}) => ({
  key,
  task: task as never,
  prompt,
  images,
  regions: [],
  params: { max_new_tokens: 60 },
  maxImageTokens: 1024,
  maxImagePixels: 50_000_000,
  ...extra,
});

/** Generates through the host and parses the answer as the runner does (the host returns the raw answer). */
async function generate(c: HostClient, req: ReturnType<typeof gen>, opts: Parameters<HostClient['generate']>[1] = {}) {
  const g = await c.generate(req, opts);
  const dialect = req.key.startsWith('florence') ? 'florence2' : 'qwen2_vl';
  return { ...g, ...parseAnswer(dialect, req.task, g.raw, { images: g.images, modelSizes: g.images.map((i) => ({ width: i.modelWidth, height: i.modelHeight })) }) };
}

const spotFile = async (name: string, w: number, h: number, box: [number, number, number, number], orientation?: number) => {
  const p = join(tmp, name);
  writeFileSync(p, await spotPng(w, h, box, { orientation }));
  return { path: p, source: name };
};

test('florence2 fixture: loads on CPU with the WebGPU fallback recorded, streams, answers the scripted text', async () => {
  const c = newClient();
  const info = await c.load(florenceLoad());
  assert.equal(info.provider, 'cpu');
  assert.equal(info.dtype, 'q4', 'auto picks q4 on the CPU when the folder ships it');
  assert.ok(info.fallbacks.some((f) => f.device === 'webgpu' && /WebGPU adapter/i.test(f.error)), JSON.stringify(info.fallbacks));
  const deltas: string[] = [];
  const r = await generate(c, gen('florence', 'caption', '', [{ path: COFFEE, source: 'coffee.png' }]), { onDelta: (t) => deltas.push(t) });
  assert.equal(r.text, 'A tiny fixture image.');
  assert.ok(deltas.length >= 3, 'text arrives token by token');
  assert.equal(deltas.join('').trim(), 'A tiny fixture image.');
  assert.equal(r.images[0]!.modelWidth, 768);
  assert.ok(r.stats.generatedTokens >= 5 && r.stats.timeToFirstTokenMs > 0 && r.stats.imageEncodeMs > 0);
  // The session stays loaded: a second load is answered from the host's cache.
  const again = await c.load(florenceLoad());
  assert.equal(again.loadMs, info.loadMs);
});

test('florence2 fixture: a grounding answer becomes a box on the bright pixels of a non-square image', async () => {
  const c = newClient();
  await c.load(florenceLoad());
  const img = await spotFile('spot-600x400.png', 600, 400, [360, 80, 480, 160]);
  const r = await generate(c, gen('florence', 'ground', 'the lamp', [img]));
  assert.equal(r.text, 'the lamp');
  assert.equal(r.regions.length, 1);
  const [x1, y1, x2, y2] = r.regions[0]!.coords;
  // One 32-px patch of the 768×768 input is 25 px across and 16.7 px down on 600×400.
  assert.ok(Math.abs(x1! - 360) <= 25 && Math.abs(x2! - 480) <= 25, `x ${x1}–${x2}`);
  assert.ok(Math.abs(y1! - 80) <= 17 && Math.abs(y2! - 160) <= 17, `y ${y1}–${y2}`);
  assert.deepEqual(r.regions[0]!.span, [0, 8]);
});

test('qwen2_vl fixture: two images in one prompt; the box follows the bright region', async () => {
  const c = newClient();
  await c.load(qwenLoad());
  const a = await spotFile('q-a.png', 640, 480, [400, 100, 520, 200]);
  const r = await generate(c, gen('qwen', 'ground', 'the bright region', [a]));
  assert.equal(r.text, 'the bright region');
  const [x1, y1, x2, y2] = r.regions[0]!.coords;
  assert.ok(Math.abs(x1! - 400) <= 30 && Math.abs(x2! - 520) <= 30 && Math.abs(y1! - 100) <= 30 && Math.abs(y2! - 200) <= 30, JSON.stringify(r.regions[0]));
  const two = await generate(c, gen('qwen', 'ask', 'What differs?', [a, { path: COFFEE, source: 'coffee.png' }]));
  assert.equal(two.text, 'A tiny fixture image with a bright region.');
  assert.equal(two.images.length, 2);
  assert.deepEqual([two.images[1]!.modelWidth, two.images[1]!.modelHeight], [588, 392], 'smart_resize of 600×400');
});

test('referring: the @region reaches each model as its own tokens', async () => {
  const c = newClient();
  await c.load(florenceLoad());
  await c.load(qwenLoad());
  const region = { image: 1, box: [60, 40, 300, 200] as [number, number, number, number] };
  const f = await generate(c, gen('florence', 'describe-region', '', [{ path: COFFEE, source: 'coffee.png' }], { regions: [region] }));
  assert.match(f.raw, /a region of the fixture image<loc_100><loc_100><loc_500><loc_500>/);
  const q = await generate(c, gen('qwen', 'describe-region', '', [{ path: COFFEE, source: 'coffee.png' }], { regions: [region] }));
  assert.match(q.raw, /You asked about <\|box_start\|>\(100,100\),\(500,500\)<\|box_end\|>/);
});

test('a seed makes sampling reproducible', async () => {
  const c = newClient();
  await c.load(qwenLoad());
  // A huge temperature and no top-k/top-p cut flatten the scripted logits, so different seeds really do sample differently.
  const p = (seed: number) => gen('qwen', 'ask', 'Hi', [], { params: { max_new_tokens: 12, do_sample: true, temperature: 1e6, top_k: 5000, top_p: 1, seed } });
  const a = await generate(c, p(7));
  const b = await generate(c, p(7));
  const d = await generate(c, p(8));
  assert.equal(a.seed, 7);
  assert.equal(a.raw, b.raw);
  assert.notEqual(a.raw, d.raw);
});

test('cancel stops a generation mid-stream, and the next one works', async () => {
  const c = newClient();
  await c.load(qwenLoad());
  const abort = new AbortController();
  let n = 0;
  const r = await generate(c, gen('qwen', 'ask', 'Hi', [], { params: { max_new_tokens: 3000, do_sample: true, temperature: 1e6, top_k: 5000, top_p: 1, seed: 1 } }), {
    signal: abort.signal,
    onDelta: () => {
      if (++n === 3) abort.abort();
    },
  });
  assert.equal(r.interrupted, true);
  assert.ok(r.stats.generatedTokens < 100, `stopped after ${r.stats.generatedTokens} tokens`);
  const next = await generate(c, gen('qwen', 'ask', 'Hi', []));
  assert.equal(next.text, 'Hello from tiny-qwen2vl.');
});

test('a host killed mid-generation fails that request clearly; the next request starts a new host', async () => {
  const c = newClient();
  await c.load(qwenLoad());
  const firstPid = c.pid;
  let killed = false;
  const p = c.generate(gen('qwen', 'ask', 'Hi', [], { params: { max_new_tokens: 3000, do_sample: true, temperature: 1e6, top_k: 5000, top_p: 1 } }), {
    onDelta: () => {
      if (!killed) {
        killed = true;
        process.kill(firstPid!, 'SIGKILL');
      }
    },
  });
  await assert.rejects(p, (e: unknown) => e instanceof LoupeError && e.code === 'host-crashed' && /signal SIGKILL/.test(e.message) && /restarts on the next run/.test(e.message));
  await c.load(qwenLoad());
  assert.notEqual(c.pid, firstPid);
  assert.equal((await generate(c, gen('qwen', 'ask', 'Hi', []))).text, 'Hello from tiny-qwen2vl.');
});

test('an ignored cancel kills the host after the grace period', async () => {
  const c = newClient({ cancelGraceMs: 1 });
  await c.load(qwenLoad());
  const abort = new AbortController();
  const img = await spotFile('big.png', 3000, 2000, [10, 10, 100, 100]);
  const p = c.generate(gen('qwen', 'ask', 'Hi', [img], { maxImageTokens: 16000 }), { signal: abort.signal });
  setTimeout(() => abort.abort(), 5);
  await assert.rejects(p, (e: unknown) => e instanceof LoupeError && e.code === 'cancelled' && /model host was restarted/.test(e.message));
});

test('corrupt, truncated and LFS-pointer model files are named before any session is created', async () => {
  const c = newClient();
  const truncated = join(tmp, 'truncated');
  cpSync(FLORENCE, truncated, { recursive: true });
  const dec = join(truncated, 'onnx', 'decoder_model_merged_q4.onnx');
  truncateSync(dec, Math.floor(readFileSync(dec).length / 2));
  await assert.rejects(c.load(florenceLoad(truncated, 'trunc')), (e: unknown) => e instanceof LoupeError && e.code === 'corrupt-model' && e.message.includes('decoder_model_merged_q4.onnx') && /download it again/i.test(e.message));
  const lfs = join(tmp, 'lfs');
  cpSync(FLORENCE, lfs, { recursive: true });
  writeFileSync(join(lfs, 'onnx', 'encoder_model_q4.onnx'), 'version https://git-lfs.github.com/spec/v1\noid sha256:' + 'a'.repeat(64) + '\nsize 123456\n');
  await assert.rejects(c.load(florenceLoad(lfs, 'lfs')), (e: unknown) => e instanceof LoupeError && e.code === 'corrupt-model' && /encoder_model_q4\.onnx/.test(e.message) && /LFS pointer/i.test(e.message));
  // The host is still fine.
  assert.equal((await c.load(florenceLoad())).provider, 'cpu');
});

test('an explicit provider that cannot run is a clear error, not a silent fallback', async () => {
  const c = newClient();
  await assert.rejects(c.load({ ...florenceLoad(FLORENCE, 'cuda'), device: 'cuda' }), (e: unknown) => e instanceof LoupeError && e.code === 'load-failed');
});

test('a prompt longer than the context is refused before generating', async () => {
  const small = join(tmp, 'small-ctx');
  cpSync(QWEN, small, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(small, 'config.json'), 'utf8'));
  cfg.max_position_embeddings = 64;
  writeFileSync(join(small, 'config.json'), JSON.stringify(cfg));
  const c = newClient();
  await c.load(qwenLoad(small, 'small'));
  await assert.rejects(c.generate(gen('small', 'ask', 'Describe', [{ path: COFFEE, source: 'coffee.png' }])), (e: unknown) => e instanceof LoupeError && e.code === 'context-too-long' && /handles 64/.test(e.message));
});

test('explicit dtype loads that variant; a dtype the folder lacks is named', async () => {
  const c = newClient();
  assert.equal((await c.load({ ...qwenLoad(QWEN, 'q8'), dtype: 'q8' })).dtype, 'q8');
  await assert.rejects(c.load({ ...qwenLoad(QWEN, 'fp16'), dtype: 'fp16' }), (e: unknown) => e instanceof LoupeError && /no onnx\/vision_encoder_fp16\.onnx/.test(e.message));
});

test('model references: local folders, unknown ids with close matches, unsupported model types, offline', async () => {
  const opts = { modelsDir: join(tmp, 'models'), allowDownloads: false, endpoint: 'http://127.0.0.1:9', dtype: 'auto' as const, baseDir: ROOT };
  const f = await resolveModel('./test/fixtures/models/tiny-florence2', opts);
  assert.deepEqual([f.family, f.dialect, f.info.fixture, f.folder], ['florence2', 'florence2', true, FLORENCE]);
  assert.ok(!f.capabilities.includes('ask') && f.capabilities.includes('ground'));
  const q = await resolveModel(QWEN, opts);
  assert.ok(q.capabilities.includes('multi-image'));
  await assert.rejects(resolveModel('florence-2-bas', opts), /unknown model "florence-2-bas"\. Did you mean florence-2-base/);
  const bert = join(tmp, 'bert');
  cpSync(QWEN, bert, { recursive: true });
  writeFileSync(join(bert, 'config.json'), JSON.stringify({ model_type: 'bert' }));
  await assert.rejects(resolveModel(bert, opts), /is a "bert" model; Loupe runs these model types: florence2, qwen2_vl/);
  await assert.rejects(resolveModel('qwen2-vl-2b', opts), (e: unknown) => e instanceof LoupeError && e.code === 'offline' && /downloads are off/.test(e.message) && /local folder/.test(e.message));
});

test('a custom registry entry names a folder and selects the MM1.5 box dialect', async () => {
  const opts = { modelsDir: join(tmp, 'models'), allowDownloads: false, endpoint: 'http://127.0.0.1:9', dtype: 'auto' as const, customModels: [{ id: 'my-ferret', path: QWEN, dialect: 'mm15' as const }] };
  const m = await resolveModel('my-ferret', opts);
  assert.deepEqual([m.info.id, m.family, m.dialect], ['my-ferret', 'qwen2_vl', 'mm15']);
  const c = newClient();
  await c.load({ key: m.key, folder: m.folder, family: m.family, dialect: m.dialect, device: 'cpu', dtype: 'auto', info: m.info });
  // The fixture echoes boxes written as <|box_start|>…: in the MM1.5 dialect the region is plain [x1, y1, x2, y2] text instead.
  const r = await generate(c, gen(m.key, 'describe-region', '', [{ path: COFFEE, source: 'coffee.png' }], { regions: [{ image: 1, box: [60, 40, 300, 200] }] }));
  assert.doesNotMatch(r.raw, /box_start/);
  assert.equal(r.text, 'A tiny fixture image with a bright region.');
});

test('a long answer streams in pieces that add up to the decoded text', async () => {
  const c = newClient();
  await c.load(qwenLoad());
  const deltas: string[] = [];
  // Seed 15 samples 300 random tokens, among them multi-byte characters split across tokens at a streamer flush.
  const r = await generate(c, gen('qwen', 'ask', 'Hi', [], { params: { max_new_tokens: 300, do_sample: true, temperature: 1e6, top_k: 5000, top_p: 1, seed: 15 } }), { onDelta: (t) => deltas.push(t) });
  assert.equal(r.stats.generatedTokens, 300);
  assert.equal(deltas.join(''), r.raw.replace(/<\|[a-z_]+\|>/g, ''));
});

// /proc/<pid>/stat fields after the command name: state is field 3, so field N is at index N - 3.
const statField = (path: string, n: number) => {
  const s = readFileSync(path, 'utf8');
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[n - 3]);
};

test('the model host runs below the editor: every thread of it at nice 10', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const c = newClient();
  // After a load, so the inference thread pool exists too.
  await c.load(qwenLoad(QWEN, 'nice'));
  const pid = c.pid!;
  const tids = readdirSync(`/proc/${pid}/task`);
  assert.ok(tids.length > 3, `the host has its worker threads (${tids.length})`);
  for (const tid of tids) assert.equal(statField(`/proc/${pid}/task/${tid}/stat`, 19), 10, `thread ${tid} nice`);
});

test('the model host exits when the process that started it dies', { timeout: 60_000 }, async () => {
  const parent = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'helpers', 'host-parent.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    parent.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /host (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    parent.once('exit', (code) => reject(new Error(`the parent exited (${code}) before its host was ready`)));
  });
  const alive = (p: number) => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  assert.ok(alive(pid), 'the host runs');
  parent.kill('SIGKILL');
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const left = alive(pid);
  if (left) process.kill(pid, 'SIGKILL');
  assert.ok(!left, 'the host outlived its parent by 10 s');
});
