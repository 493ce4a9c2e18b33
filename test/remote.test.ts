// RemoteEngine against a real server process on 127.0.0.1 (test/helpers/openai-server.ts): fixture-model answers
// streamed token by token, exact boxes on odd-sized and EXIF-rotated images, every fault of the issue, recorded
// transcripts of vLLM, Ollama and llama.cpp, and several models side by side.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { isLoupeError } from '../src/common/errors';
import { ERROR_MIME, RESULT_MIME, type LoupeResult } from '../src/common/result';
import { Kernel, type KernelCell } from '../src/core/kernel/kernel';
import type { OutputSpec } from '../src/core/kernel/outputs';
import { EnginePromptRunner } from '../src/core/kernel/runner';
import { Engines } from '../src/engine/engines';
import { HostClient } from '../src/engine/local/client';
import { LocalEngine } from '../src/engine/local/engine';
import { dialectFromName, parseEngineConfigs, type EngineConfig } from '../src/engine/remote/config';
import { RemoteEngine, serverSize } from '../src/engine/remote/engine';
import { ensureBuilt, FLORENCE, QWEN, ROOT } from './helpers/cli';
import { errorJson, sse, startServer, streamPieces, type TestServer } from './helpers/openai-server';
import { spotPng } from './helpers/spot';

const dir = mkdtempSync(join(tmpdir(), 'loupe-remote-'));
const KEY = 'sk-secret-0123456789abcdef';
let fixture: TestServer;
let spot: TestServer;
const servers: TestServer[] = [];
const local = new LocalEngine(new HostClient({ script: join(ROOT, 'dist', 'host.js') }), () => ({ device: 'cpu', dtype: 'auto', allowDownloads: false, endpoint: 'http://127.0.0.1:9', modelsDir: join(dir, 'models') }));

before(async () => {
  ensureBuilt();
  fixture = await startServer({ models: ['Qwen/Qwen2-VL-2B-Instruct'], mode: 'fixture', key: KEY });
  spot = await startServer({ models: ['Qwen/Qwen2.5-VL-7B-Instruct', 'Qwen/Qwen3-VL-8B-Instruct', 'Qwen/Qwen2-VL-7B-Instruct', 'ferret-ui-13b'], mode: 'spot' });
  servers.push(fixture, spot);
});
after(async () => {
  local.dispose();
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const engine = (config: Partial<EngineConfig> & { baseUrl: string }, key?: string, maxRetries?: number) =>
  new RemoteEngine({ config: { id: 'gpu', kind: 'vllm', ...config }, apiKey: async () => key, keyHint: 'set LOUPE_API_KEY_GPU', source: 'the test', ...(maxRetries !== undefined ? { maxRetries } : {}) });

/** Runs cells through the kernel and the runner, with `remotes` configured beside the local engine. */
function runner(remotes: RemoteEngine[]) {
  const r = new EnginePromptRunner({
    engines: new Engines(local, () => remotes, 'loupe.engines'),
    settings: () => ({ defaultModel: FLORENCE, maxImageTokens: 1024, maxImagePixels: 5e7 }),
    withProgress: (_l, fn) => fn(() => undefined, new AbortController().signal),
    streamIntervalMs: 0,
  });
  const kernel = new Kernel({ isTrusted: () => true, maxImagePixels: () => 5e7, prompts: r });
  return async (source: string, signal = new AbortController().signal) => {
    const updates: OutputSpec[][] = [];
    let success: boolean | undefined;
    const cell: KernelCell = { notebook: 'nb', baseDir: dir, source, language: 'loupe', createExecution: () => ({ signal, start() {}, async replaceOutputs(o) { updates.push(o); }, end(s) { success = s; } }) };
    await kernel.execute([cell]);
    const final = updates.at(-1)!;
    const item = (mime: string) => final.flatMap((o) => o.items).find((i) => i.mime === mime);
    const json = (mime: string) => (item(mime) ? JSON.parse(new TextDecoder().decode(item(mime)!.data)) : undefined);
    return { success, updates, result: json(RESULT_MIME) as LoupeResult | undefined, error: json(ERROR_MIME) as { name: string; message: string } | undefined };
  };
}

test('a fixture model behind the protocol: its answer streams token by token, and its box lands on the spot', { timeout: 60_000 }, async () => {
  writeFileSync(join(dir, 'spot.png'), await spotPng(617, 403, [360, 80, 480, 160]));
  const gpu = engine({ baseUrl: fixture.url }, KEY);
  assert.deepEqual((await gpu.listModels()).map((m) => m.id), ['gpu:Qwen/Qwen2-VL-2B-Instruct']);
  const run = runner([gpu]);
  const r = await run('@model gpu:Qwen/Qwen2-VL-2B-Instruct\n@image spot.png\n@task ground\nthe lamp');
  assert.equal(r.success, true, JSON.stringify(r.error));
  const streamed = r.updates.slice(0, -1).map((u) => JSON.parse(new TextDecoder().decode(u[0]!.items[0]!.data)) as LoupeResult);
  assert.ok(streamed.filter((x) => x.runs[0]?.answer).length >= 3, 'the answer grew piece by piece');
  const run0 = r.result!.runs[0]!;
  assert.equal(run0.answer, 'the bright region');
  assert.deepEqual([run0.model?.id, run0.model?.engine, run0.model?.provider], ['gpu:Qwen/Qwen2-VL-2B-Instruct', 'gpu', 'vLLM']);
  const [x1, y1, x2, y2] = run0.regions[0]!.coords;
  assert.ok(Math.abs(x1! - 360) <= 30 && Math.abs(x2! - 480) <= 30 && Math.abs(y1! - 80) <= 30 && Math.abs(y2! - 160) <= 30, JSON.stringify(run0.regions[0]));
  const sent = fixture.requests.at(-1)!;
  assert.equal(sent.body.skip_special_tokens, false, 'Qwen2-VL boxes need the special tokens: asked of vLLM');
  assert.deepEqual(sent.body.stream_options, { include_usage: true });
  assert.equal(sent.authorization, `Bearer ${KEY}`);
  assert.ok(sent.images[0]!.width % 28 === 0 && sent.images[0]!.height % 28 === 0);
  assert.ok(run0.stats.generatedTokens! > 3, 'usage from the null-choices usage chunk');
});

test('exact boxes from a server: Loupe picks the pixels the model sees, and maps its coordinates back to the original', { timeout: 60_000 }, async () => {
  const cases: [string, number, number, [number, number, number, number], number | undefined][] = [
    ['odd.png', 737, 491, [301, 117, 455, 229], undefined],
    ['tall.png', 1003, 1511, [88, 1200, 600, 1391], undefined],
    ['rotated.jpg', 480, 640, [40, 420, 160, 540], 6],
  ];
  const gpu = engine({ baseUrl: spot.url, maxPixels: 200_000 });
  const run = runner([gpu]);
  for (const [name, w, h, box, orientation] of cases) {
    writeFileSync(join(dir, name), await spotPng(w, h, box, { orientation }));
    for (const model of ['Qwen/Qwen2.5-VL-7B-Instruct', 'Qwen/Qwen3-VL-8B-Instruct', 'Qwen/Qwen2-VL-7B-Instruct', 'ferret-ui-13b']) {
      const r = await run(`@model gpu:${model}\n@image ${name}\n@task ground\nthe bright region`);
      assert.equal(r.success, true, `${name} ${model}: ${JSON.stringify(r.error)}`);
      const sent = spot.requests.at(-1)!.images[0]!;
      const grid = /qwen3/i.test(model) ? 32 : /qwen/i.test(model) ? 28 : 1;
      assert.ok(sent.width * sent.height <= 200_000, `${model}: within maxPixels`);
      if (grid > 1) assert.ok(sent.width % grid === 0 && sent.height % grid === 0, `${model}: ${sent.width}×${sent.height} on its ${grid}-px grid`);
      assert.deepEqual(serverSize({ width: w, height: h }, /qwen3/i.test(model) ? 'qwen3_vl' : /qwen2\.5/i.test(model) ? 'qwen2_5_vl' : /qwen/i.test(model) ? 'qwen2_vl' : 'mm15', 200_000), { width: sent.width, height: sent.height });
      const got = r.result!.runs[0]!.regions[0]!.coords;
      // One pixel of what the model saw is w/sent pixels of the original; relative dialects round to 1/1000.
      const tol = [w / sent.width, h / sent.height].map((s) => Math.ceil(s) + (grid === 28 && /2\.5/.test(model) ? 0 : Math.ceil(Math.max(w, h) / 1000)) + 1);
      box.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) <= tol[i % 2]!, `${name} ${model}: coordinate ${i} ${got[i]} vs ${v} (±${tol[i % 2]}) — sent ${sent.width}×${sent.height}`));
    }
  }
});

test('cancel closes the connection: the server sees it within a second, and the partial answer is kept', { timeout: 60_000 }, async () => {
  const gpu = engine({ baseUrl: fixture.url }, KEY);
  const run = runner([gpu]);
  const abort = new AbortController();
  let abortedAt = 0;
  fixture.handle(async (rec, res) => {
    const s = sse(res);
    for (let i = 0; i < 200 && !res.destroyed; i++) {
      s.send({ id: 'x', object: 'chat.completion.chunk', created: 0, model: rec.model, choices: [{ index: 0, delta: { content: `w${i} ` }, finish_reason: null }] });
      if (i === 5) {
        abortedAt = Date.now();
        abort.abort();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  try {
    const r = await run('@model gpu:Qwen/Qwen2-VL-2B-Instruct\nTell me everything.', abort.signal);
    assert.notEqual(r.success, true);
    assert.equal(r.result!.runs[0]!.answer, 'w0 w1 w2 w3 w4', 'the partial answer is kept');
    const rec = fixture.requests.at(-1)!;
    // The server notices the closed connection on its own time: wait for it, then check when it was.
    for (let i = 0; i < 40 && rec.closedAfterMs === undefined; i++) await new Promise((res) => setTimeout(res, 50));
    assert.ok(rec.closedAt !== undefined, 'the connection was closed before the answer ended');
    assert.ok(rec.closedAt - abortedAt < 1000, `the server saw the connection close ${rec.closedAt - abortedAt} ms after the cancel`);
  } finally {
    fixture.handle(undefined);
  }
});

test('every fault gets a clear error that names the server, the cause and the fix; the key never shows', { timeout: 120_000 }, async () => {
  writeFileSync(join(dir, 'spot.png'), await spotPng(617, 403, [360, 80, 480, 160]));
  const expectError = async (gpu: RemoteEngine, source: string, code: string, re: RegExp) => {
    const r = await runner([gpu])(source);
    assert.equal(r.success, false, source);
    const msg = r.error?.message ?? r.result?.runs.find((x) => x.error)?.error ?? '';
    assert.match(msg, re, `${code}: ${msg}`);
    assert.doesNotMatch(JSON.stringify(r), new RegExp(KEY), 'the key appears nowhere');
    return { r, msg };
  };
  // Connection refused: a port nobody listens on.
  const closed = await startServer({ models: [] });
  const deadUrl = closed.url;
  await closed.close();
  await expectError(engine({ baseUrl: deadUrl }, undefined, 0), '@model gpu:Qwen/Qwen2-VL-2B-Instruct\nHi', 'server-unreachable', /Could not connect to engine gpu \(vLLM at http:\/\/127\.0\.0\.1:\d+\/v1\): connection refused.*baseUrl of engine gpu in the test/);

  // TLS: a self-signed certificate.
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  assert.equal(spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' }).status, 0);
  const tls = createHttps({ key: readFileSync(key), cert: readFileSync(cert) }, (_q, s) => s.end('{}'));
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  try {
    await expectError(engine({ baseUrl: `https://127.0.0.1:${(tls.address() as AddressInfo).port}/v1` }, undefined, 0), '@model gpu:m\nHi', 'server-tls', /TLS connection failed \(self[- ]signed certificate\).*NODE_EXTRA_CA_CERTS/);
  } finally {
    tls.close();
  }

  // 401: no key, then a wrong one.
  await expectError(engine({ baseUrl: fixture.url }), '@model gpu:Qwen/Qwen2-VL-2B-Instruct\nHi', 'server-auth', /refused the request \(HTTP 401: Incorrect API key provided\.\)\. It needs a valid API key for engine gpu: set LOUPE_API_KEY_GPU/);
  await expectError(engine({ baseUrl: fixture.url }, 'sk-wrong'), '@model gpu:Qwen/Qwen2-VL-2B-Instruct\nHi', 'server-auth', /HTTP 401/);

  // A model the server does not serve: named, with the ones it does.
  await expectError(engine({ baseUrl: spot.url }), '@model gpu:Qwen/Qwen2-VL-72B\nHi', 'server-model', /has no model "Qwen\/Qwen2-VL-72B"\. It serves: Qwen\/Qwen2\.5-VL-7B-Instruct, Qwen\/Qwen3-VL-8B-Instruct/);

  const withHandler = async (h: Parameters<TestServer['handle']>[0], fn: () => Promise<unknown>) => {
    spot.handle(h);
    try {
      await fn();
    } finally {
      spot.handle(undefined);
    }
  };
  const model = '@model gpu:Qwen/Qwen2.5-VL-7B-Instruct\n@image spot.png\n';
  // 400: too many image tokens — says how many were sent and which setting lowers it.
  await withHandler((_r, res) => errorJson(res, 400, "This model's maximum context length is 4096 tokens. However, you requested 9100 tokens."), () =>
    expectError(engine({ baseUrl: spot.url }), `${model}Describe it.`, 'server-refused', /refused the request \(HTTP 400\): .*maximum context length.*The request carried 1 image \(616×392, about 308 image tokens\); maxPixels of engine gpu in the test \(now 1,003,520\) lowers what each image costs/),
  );
  // 429 twice, then an answer: bounded retries with backoff get through.
  let tries = 0;
  await withHandler(async (rec, res) => (++tries <= 2 ? errorJson(res, 429, 'Too many requests', { 'retry-after': '0' }) : streamPieces(res, rec.model, ['Fine', '.'])), async () => {
    const r = await runner([engine({ baseUrl: spot.url })])(`${model}Hi`);
    assert.equal(r.result?.runs[0]?.answer, 'Fine.');
    assert.equal(tries, 3);
  });
  // 503 every time: three tries, then a clear error.
  tries = 0;
  await withHandler((_r, res) => {
    tries++;
    errorJson(res, 503, 'Service Unavailable', { 'retry-after': '0' });
  }, async () => {
    await expectError(engine({ baseUrl: spot.url }), `${model}Hi`, 'server-busy', /is busy \(HTTP 503: .*\) and stayed busy after 3 tries/);
    assert.equal(tries, 3);
  });
  // An HTML error page instead of JSON.
  await withHandler((_r, res) => {
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>');
  }, () => expectError(engine({ baseUrl: spot.url }, undefined, 0), `${model}Hi`, 'server-error', /answered with a web page \(HTTP 502\) instead of the API's JSON/));
  // A stream that stops mid-answer: the partial answer is kept and marked.
  await withHandler((rec, res) => {
    const s = sse(res);
    for (const p of ['The ', 'cup ', 'is ']) s.send({ id: 'x', object: 'chat.completion.chunk', created: 0, model: rec.model, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] });
    setTimeout(() => res.destroy(), 50);
  }, async () => {
    const r = await runner([engine({ baseUrl: spot.url })])(`${model}Hi`);
    const run0 = r.result!.runs[0]!;
    assert.equal(run0.answer, 'The cup is');
    assert.ok(run0.warnings.some((w) => /closed the stream mid-answer.*the answer is incomplete/.test(w)), run0.warnings.join(' | '));
  });
  // A server that never answers: the engine's timeout.
  await withHandler(() => new Promise<void>(() => undefined), async () => {
    const t0 = Date.now();
    await expectError(engine({ baseUrl: spot.url, timeoutSeconds: 1 }, undefined, 0), `${model}Hi`, 'server-timeout', /sent nothing for 1 s: the request was closed\. If the server is only slow .* raise timeoutSeconds of engine gpu in the test/);
    assert.ok(Date.now() - t0 < 10_000);
  });
});

test('transcripts of vLLM, Ollama and llama.cpp (old and new usage chunks, choices null) read the same', { timeout: 60_000 }, async () => {
  const fx = join(ROOT, 'test', 'fixtures', 'remote');
  for (const file of ['vllm.sse', 'vllm-choices-null.sse', 'ollama.sse', 'llamacpp-2024.sse', 'llamacpp-2025.sse']) {
    spot.handle((_rec, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(readFileSync(join(fx, file)));
    });
    try {
      const r = await runner([engine({ baseUrl: spot.url, kind: file.startsWith('ollama') ? 'ollama' : file.startsWith('llama') ? 'llamacpp' : 'vllm' })])('@model gpu:Qwen/Qwen2.5-VL-7B-Instruct\nHi');
      const run0 = r.result!.runs[0]!;
      assert.equal(run0.answer, 'A tiny fixture image.', file);
      assert.deepEqual([run0.stats.promptTokens, run0.stats.generatedTokens, run0.warnings], [120, 5, []], file);
    } finally {
      spot.handle(undefined);
    }
  }
  for (const [file, status, re] of [['vllm-error.json', 400, /maximum context length is 4096 tokens/], ['ollama-error.json', 404, /model "llava:7b" not found, try pulling it first/], ['llamacpp-error.json', 400, /exceeds the available context size/]] as const) {
    spot.handle((_rec, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(readFileSync(join(fx, file)));
    });
    try {
      const r = await runner([engine({ baseUrl: spot.url }, undefined, 0)])('@model gpu:Qwen/Qwen2.5-VL-7B-Instruct\nHi');
      assert.match(r.error?.message ?? '', re, file);
    } finally {
      spot.handle(undefined);
    }
  }
});

test('several models side by side, local and remote: each answers in its own run, and one that fails shows its error there', { timeout: 90_000 }, async () => {
  writeFileSync(join(dir, 'spot.png'), await spotPng(617, 403, [360, 80, 480, 160]));
  const run = runner([engine({ baseUrl: spot.url })]);
  const r = await run(`@model ${QWEN}, gpu:Qwen/Qwen2.5-VL-7B-Instruct\n@image spot.png\n@task ground\nthe bright region`);
  assert.equal(r.success, true, JSON.stringify(r.error));
  const byModel = (m: number) => r.result!.runs.filter((x) => x.modelIndex === m);
  assert.equal(byModel(0)[0]!.model?.engine, 'local');
  assert.equal(byModel(1)[0]!.model?.id, 'gpu:Qwen/Qwen2.5-VL-7B-Instruct');
  for (const m of [0, 1]) assert.equal(byModel(m)[0]!.regions.length, 1, `model ${m} found the spot`);
  const bad = await run(`@model ${QWEN}, gpu:nope\n@image spot.png\nWhat is this?`);
  assert.equal(bad.success, false);
  assert.equal(bad.error, undefined, 'no cell-wide error: each column speaks for itself');
  assert.equal(bad.result!.runs.find((x) => x.modelIndex === 0)!.answer, 'A tiny fixture image with a bright region.');
  assert.match(bad.result!.runs.find((x) => x.modelIndex === 1)!.error ?? '', /Model not served: engine gpu .* has no model "nope"/);
  assert.match((await run(`@model ${QWEN}, ${QWEN}\nHi`)).error?.message ?? '', /names .* twice/);
  const nope = await run('@model evil:model\nHi');
  assert.match(nope.error?.message ?? '', /names engine "evil", which loupe\.engines does not list \(engines: gpu\)/);
});

test('engine lists are checked, naming the entry and the field', () => {
  assert.deepEqual(parseEngineConfigs([{ id: 'gpu', kind: 'vllm', baseUrl: 'http://h:8000' }], 'x'), [{ id: 'gpu', kind: 'vllm', baseUrl: 'http://h:8000/v1' }]);
  for (const [v, re] of [
    [{}, /must be a list/],
    [[{ id: 'g', kind: 'vllm', baseUrl: 'http://h' }], /x\[0\]\.id must be a name of two or more/],
    [[{ id: 'gpu', kind: 'tgi', baseUrl: 'http://h' }], /x\[0\]\.kind must be one of vllm, ollama, llamacpp, lmstudio, openai/],
    [[{ id: 'gpu', kind: 'vllm', baseUrl: 'gpu-box:8000' }], /x\[0\]\.baseUrl must be an http\(s\) URL/],
    [[{ id: 'gpu', kind: 'vllm', baseUrl: 'http://h' }, { id: 'gpu', kind: 'ollama', baseUrl: 'http://h' }], /"gpu" is used twice/],
    // A detector's dialect is the model host's: no chat server writes it.
    [[{ id: 'gpu', kind: 'vllm', baseUrl: 'http://h', dialect: 'detections' }], /x\[0\]\.dialect must be one of florence2, qwen2_vl, qwen2_5_vl, qwen3_vl, mm15, showui, none$/],
  ] as const) assert.throws(() => parseEngineConfigs(v, 'x'), (e: unknown) => isLoupeError(e, 'usage') && re.test(e.message));
  assert.equal(parseEngineConfigs([{ id: 'gpu', kind: 'vllm', baseUrl: 'http://h', dialect: 'showui' }], 'x')[0]!.dialect, 'showui');
  // ShowUI (a Qwen2-VL fine-tune, points in 0–1) is known by its name; its images go out on Qwen-VL's 28-pixel grid.
  assert.equal(dialectFromName('showlab/ShowUI-2B'), 'showui');
  assert.deepEqual(serverSize({ width: 1000, height: 700 }, 'showui', 1280 * 28 * 28), serverSize({ width: 1000, height: 700 }, 'qwen2_vl', 1280 * 28 * 28));
});

test('the image payload follows maxPixels: a 12 MP photo goes out at most maxPixels, whatever the server would reserve', { timeout: 60_000 }, async () => {
  writeFileSync(join(dir, 'big.jpg'), await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#446688' } }).jpeg().toBuffer());
  const gpu = engine({ baseUrl: spot.url, maxPixels: 500_000 });
  await runner([gpu])('@model gpu:Qwen/Qwen2.5-VL-7B-Instruct\n@image big.jpg\nWhat is this?');
  const sent = spot.requests.at(-1)!.images[0]!;
  assert.ok(sent.width * sent.height <= 500_000 && sent.width % 28 === 0, `${sent.width}×${sent.height}`);
  assert.ok(sent.bytes < 200_000, `${sent.bytes} bytes on the wire`);
});

test('loupe run --engines: a side-by-side cell of a local fixture and a server, keys from LOUPE_API_KEY_<ID>, exported with each model\'s run', { timeout: 90_000 }, async () => {
  const { runCli, cellLines } = await import('./helpers/cli');
  writeFileSync(join(dir, 'spot.png'), await spotPng(617, 403, [360, 80, 480, 160]));
  writeFileSync(join(dir, 'engines.json'), JSON.stringify([{ id: 'gpu-box', kind: 'vllm', baseUrl: fixture.url }]));
  const { serializeNotebook, parseNotebook } = await import('../src/core/notebook/format');
  writeFileSync(join(dir, 'side.loupe'), serializeNotebook({ loupe: 1, metadata: {}, cells: [{ kind: 'code', language: 'loupe', source: `@model ${QWEN}, gpu-box:Qwen/Qwen2-VL-2B-Instruct\n@image spot.png\n@task ground\nthe lamp`, metadata: {}, outputs: [] }] }));
  const env = { ...process.env, LOUPE_MODELS_DIR: join(dir, 'models'), HF_ENDPOINT: 'http://127.0.0.1:9', LOUPE_API_KEY_GPU_BOX: KEY };
  const r = await runCli(['run', 'side.loupe', '--engines', 'engines.json', '--export', 'json'], { cwd: dir, env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(cellLines(r.stderr)[0]!, /ok .* ground {2}tiny-qwen2vl \(cpu, q4\) \[fixture\], gpu-box:Qwen\/Qwen2-VL-2B-Instruct \(vLLM\)/);
  const session = JSON.parse(readFileSync(join(dir, 'side.session.json'), 'utf8'));
  assert.deepEqual(session.cells[0].runs.map((x: { model: { engine: string } }) => x.model.engine), ['local', 'gpu-box']);
  for (const f of ['side.loupe', 'side.session.json']) assert.doesNotMatch(readFileSync(join(dir, f), 'utf8'), new RegExp(KEY), `${f} holds no key`);
  assert.doesNotMatch(r.stderr + r.stdout, new RegExp(KEY));
  assert.equal(parseNotebook(readFileSync(join(dir, 'side.loupe'))).cells.length, 1);
  const noKey = await runCli(['run', 'side.loupe', '--engines', 'engines.json'], { cwd: dir, env: { ...env, LOUPE_API_KEY_GPU_BOX: '' } });
  assert.equal(noKey.code, 1);
  assert.match(noKey.stderr, /It needs a valid API key for engine gpu-box: set LOUPE_API_KEY_GPU_BOX/);
  const models = await runCli(['models', '--engines', 'engines.json'], { cwd: dir, env });
  assert.match(models.stdout, /Engine gpu-box \(vllm at http:\/\/127\.0\.0\.1:\d+\/v1\)\n {2}@model gpu-box:Qwen\/Qwen2-VL-2B-Instruct {2}tasks: ask, caption/);
});
