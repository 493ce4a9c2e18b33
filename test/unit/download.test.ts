// Downloader against a local fake Hub: two HTTP servers on 127.0.0.1 — the "Hub" (tree API, resolve
// URLs) and a "CDN" on another origin that LFS files redirect to, as huggingface.co does.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  DownloadError,
  downloadFiles,
  listRepoFiles,
  MANIFEST_NAME,
  resolveEndpoint,
  verifyModelDir,
  type DownloadFilesOptions,
  type DownloadProgress,
  type HubFile,
} from '../../src/engine/local/download/hub';

// ---------------------------------------------------------------------------------------------
// Fixture repo

function seeded(seed: number, n: number): Buffer {
  // mulberry32: deterministic "random" bytes, so failures reproduce.
  const out = Buffer.alloc(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

interface Fixture {
  path: string;
  content: Buffer;
  lfs: boolean;
}

const REPO = 'loupe-test/tiny-vlm';
const FIXTURES: Fixture[] = [
  { path: 'config.json', content: Buffer.from(JSON.stringify({ model_type: 'tiny', hidden_size: 8 }, null, 2)), lfs: false },
  { path: 'onnx/model.onnx', content: seeded(1, 48 * 1024), lfs: true },
  { path: 'onnx/model.onnx_data', content: seeded(2, 96 * 1024), lfs: true },
];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitOid = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const byPath = new Map(FIXTURES.map((f) => [f.path, f]));
const bySha = new Map(FIXTURES.filter((f) => f.lfs).map((f) => [sha256(f.content), f]));

const HUB_FILES: HubFile[] = FIXTURES.map((f) =>
  f.lfs
    ? { path: f.path, size: f.content.length, sha256: sha256(f.content) }
    : { path: f.path, size: f.content.length, gitOid: gitOid(f.content) },
);
const hubFile = (p: string) => HUB_FILES.find((f) => f.path === p)!;

/** The tree API's JSON, including a directory entry that must be skipped. */
const TREE = [
  { type: 'file', oid: gitOid(FIXTURES[0].content), size: FIXTURES[0].content.length, path: 'config.json' },
  { type: 'directory', oid: 'f'.repeat(40), size: 0, path: 'onnx' },
  ...FIXTURES.slice(1).map((f) => ({
    type: 'file',
    oid: gitOid(Buffer.from(`pointer for ${f.path}`)),
    size: f.content.length,
    path: f.path,
    lfs: { oid: sha256(f.content), size: f.content.length, pointerSize: 134 },
  })),
];
const PAGE = 2;

// ---------------------------------------------------------------------------------------------
// Servers

interface LogEntry {
  server: 'hub' | 'cdn';
  url: string;
  range?: string;
  auth?: string;
}

interface Behaviour {
  log: LogEntry[];
  requireToken?: string;
  ignoreRange: boolean;
  corrupt: Set<string>;
  /** Path → bytes after which the connection is destroyed (once), as soon as `ready()` holds. */
  dropAfter: Map<string, { bytes: number; ready: () => boolean }>;
  /** Path → bytes after which the response hangs forever. */
  stallAfter: Map<string, number>;
  /** Path → status answered once before serving normally. */
  failOnce: Map<string, number>;
}

const fresh = (): Behaviour => ({
  log: [],
  ignoreRange: false,
  corrupt: new Set(),
  dropAfter: new Map(),
  stallAfter: new Map(),
  failOnce: new Map(),
});
let b: Behaviour = fresh();
let hub: http.Server;
let cdn: http.Server;
let endpoint: string;
let cdnOrigin: string;
let tmpRoot: string;

function serveContent(req: http.IncomingMessage, res: http.ServerResponse, f: Fixture): void {
  const failure = b.failOnce.get(f.path);
  if (failure) {
    b.failOnce.delete(f.path);
    res.writeHead(failure).end('try later');
    return;
  }
  let content = f.content;
  if (b.corrupt.has(f.path)) {
    content = Buffer.from(content);
    content[content.length >> 1] ^= 0xff;
  }
  let start = 0;
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m && !b.ignoreRange) {
    start = Number(m[1]);
    if (start >= content.length) {
      res.writeHead(416, { 'content-range': `bytes */${content.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-length': content.length - start,
      'content-range': `bytes ${start}-${content.length - 1}/${content.length}`,
      'accept-ranges': 'bytes',
    });
  } else {
    res.writeHead(200, { 'content-length': content.length, 'accept-ranges': 'bytes' });
  }
  const body = content.subarray(start);
  const drop = b.dropAfter.get(f.path);
  const stall = b.stallAfter.get(f.path);
  if (drop !== undefined) {
    b.dropAfter.delete(f.path);
    // Kill the connection mid-body once the client has stored some bytes (a stream error discards
    // chunks not yet read, so dropping at once could leave nothing to resume from under load).
    res.write(body.subarray(0, drop.bytes), () => {
      const deadline = Date.now() + 2000;
      const poll = () => (drop.ready() || Date.now() > deadline ? res.socket?.destroy() : setTimeout(poll, 2));
      poll();
    });
  } else if (stall !== undefined) {
    res.write(body.subarray(0, stall)); // …and never end.
  } else {
    res.end(body);
  }
}

function hubHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '/';
  b.log.push({ server: 'hub', url, range: req.headers.range, auth: req.headers.authorization });
  if (b.requireToken && req.headers.authorization !== `Bearer ${b.requireToken}`) {
    res.writeHead(401, { 'x-error-message': 'Invalid credentials in Authorization header' }).end();
    return;
  }
  const u = new URL(url, endpoint);
  const treePrefix = `/api/models/${REPO}/tree/`;
  if (u.pathname.startsWith(treePrefix)) {
    const cursor = Number(u.searchParams.get('cursor') ?? 0);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
    if (cursor + PAGE < TREE.length) {
      const next = new URL(u.pathname, endpoint);
      next.searchParams.set('recursive', 'true');
      next.searchParams.set('cursor', String(cursor + PAGE));
      headers.link = `<${next}>; rel="next"`;
    }
    res.writeHead(200, headers).end(JSON.stringify(TREE.slice(cursor, cursor + PAGE)));
    return;
  }
  const m = new RegExp(`^/${REPO}/resolve/([^/]+)/(.+)$`).exec(u.pathname);
  const f = m && byPath.get(decodeURIComponent(m[2]));
  if (!f) {
    res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found');
    return;
  }
  if (f.lfs) {
    // Like huggingface.co: LFS content lives on another origin.
    res.writeHead(302, { location: `${cdnOrigin}/lfs/${sha256(f.content)}` }).end();
    return;
  }
  serveContent(req, res, f);
}

function cdnHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  b.log.push({ server: 'cdn', url: req.url ?? '/', range: req.headers.range, auth: req.headers.authorization });
  const f = bySha.get((req.url ?? '').replace('/lfs/', ''));
  if (!f) res.writeHead(404).end();
  else serveContent(req, res, f);
}

async function listen(handler: http.RequestListener): Promise<[http.Server, string]> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

before(async () => {
  [hub, endpoint] = await listen(hubHandler);
  [cdn, cdnOrigin] = await listen(cdnHandler);
  tmpRoot = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'loupe-dl-'));
});

after(async () => {
  await Promise.all([close(hub), close(cdn)]);
  await fs.promises.rm(tmpRoot, { recursive: true, force: true });
});

let savedToken: string | undefined;
beforeEach(() => {
  b = fresh();
  savedToken = process.env.HF_TOKEN;
  delete process.env.HF_TOKEN;
});

// Restore after each test through a wrapper so a failing test cannot leak HF_TOKEN.
function restoreToken(): void {
  if (savedToken === undefined) delete process.env.HF_TOKEN;
  else process.env.HF_TOKEN = savedToken;
}

let dirCount = 0;
const newDir = () => path.join(tmpRoot, `m${dirCount++}`);

function opts(destDir: string, extra: Partial<DownloadFilesOptions> = {}): DownloadFilesOptions {
  return { endpoint, repo: REPO, revision: 'main', files: HUB_FILES, destDir, retries: 3, retryBaseMs: 1, ...extra };
}

async function assertIntact(destDir: string, files = FIXTURES): Promise<void> {
  for (const f of files) {
    const got = await fs.promises.readFile(path.join(destDir, f.path));
    assert.ok(got.equals(f.content), `${f.path} content`);
    assert.equal(fs.existsSync(path.join(destDir, f.path + '.part')), false, `${f.path}.part removed`);
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, file?: string): Promise<DownloadError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DownloadError, `expected DownloadError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (file) {
      assert.equal(err.file, file);
      assert.ok(err.message.includes(file), `message names ${file}: ${err.message}`);
    }
    return err;
  }
  assert.fail(`expected a ${code} error`);
}

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const resolves = () => b.log.filter((e) => e.url.includes('/resolve/') || e.server === 'cdn');

// ---------------------------------------------------------------------------------------------

test('resolveEndpoint: setting > HF_ENDPOINT > huggingface.co, no trailing slash', () => {
  assert.equal(resolveEndpoint('https://mirror.example/', { HF_ENDPOINT: 'https://env.example' }), 'https://mirror.example');
  assert.equal(resolveEndpoint('  ', { HF_ENDPOINT: 'https://env.example//' }), 'https://env.example');
  assert.equal(resolveEndpoint(undefined, {}), 'https://huggingface.co');
});

test('listRepoFiles follows Link pagination, skips directories, encodes the revision', async () => {
  const files = await listRepoFiles({ endpoint, repo: REPO, revision: 'refs/pr/1' });
  assert.deepEqual(files, HUB_FILES);
  const trees = b.log.filter((e) => e.url.startsWith('/api/'));
  assert.equal(trees.length, 2);
  assert.ok(trees[0].url.startsWith(`/api/models/${REPO}/tree/refs%2Fpr%2F1?recursive=true`), trees[0].url);
  assert.match(trees[1].url, /cursor=2/);
});

test('full download writes verified files and a stable manifest; a second run downloads nothing', async () => {
  const dir = newDir();
  const progress: DownloadProgress[] = [];
  await downloadFiles(opts(dir, { onProgress: (p) => progress.push(p) }));
  await assertIntact(dir);

  const manifest = JSON.parse(await fs.promises.readFile(path.join(dir, MANIFEST_NAME), 'utf8'));
  assert.equal(manifest.repo, REPO);
  assert.equal(manifest.revision, 'main');
  assert.equal(manifest.endpoint, endpoint);
  assert.deepEqual(
    manifest.files,
    [...HUB_FILES].sort((x, y) => (x.path < y.path ? -1 : 1)),
  );
  assert.deepEqual(Object.keys(manifest), ['completedAt', 'endpoint', 'files', 'repo', 'revision']);
  assert.deepEqual(await verifyModelDir(dir, { deep: true }), []);

  const last = progress.at(-1)!;
  assert.equal(last.done, true);
  assert.equal(last.bytes, last.total);
  assert.equal(last.filesDone, 3);
  assert.ok(progress.every((p, i) => i === 0 || p.bytes >= progress[i - 1].bytes), 'progress only grows');

  b.log = [];
  await downloadFiles(opts(dir));
  assert.equal(resolves().length, 0, 'already-verified files are skipped');
});

test('a connection dropped mid-file is resumed with a Range request', async () => {
  const dir = newDir();
  const part = path.join(dir, 'onnx/model.onnx_data.part');
  b.dropAfter.set('onnx/model.onnx_data', { bytes: 40 * 1024, ready: () => fs.existsSync(part) && fs.statSync(part).size > 0 });
  await downloadFiles(opts(dir));
  await assertIntact(dir);
  const ranges = b.log.filter((e) => e.server === 'cdn' && e.range).map((e) => e.range!);
  assert.equal(ranges.length, 1, JSON.stringify(b.log));
  const n = Number(/^bytes=(\d+)-$/.exec(ranges[0])?.[1]);
  assert.ok(n > 0 && n <= 40 * 1024, `resumed from ${n}`);
});

test('a server that ignores Range (200) still yields a correct file', async () => {
  const dir = newDir();
  const f = byPath.get('onnx/model.onnx')!;
  await fs.promises.mkdir(path.join(dir, 'onnx'), { recursive: true });
  await fs.promises.writeFile(path.join(dir, 'onnx/model.onnx.part'), f.content.subarray(0, 10_000));
  b.ignoreRange = true;
  await downloadFiles(opts(dir, { files: [hubFile(f.path)] }));
  await assertIntact(dir, [f]);
  assert.ok(b.log.some((e) => e.server === 'cdn' && e.range === 'bytes=10000-'));
});

test('a corrupt .part that resumes to a bad hash is thrown away and downloaded afresh', async () => {
  const dir = newDir();
  const f = byPath.get('onnx/model.onnx')!;
  await fs.promises.mkdir(path.join(dir, 'onnx'), { recursive: true });
  await fs.promises.writeFile(path.join(dir, 'onnx/model.onnx.part'), Buffer.alloc(5000, 7));
  await downloadFiles(opts(dir, { files: [hubFile(f.path)] }));
  await assertIntact(dir, [f]);
  assert.deepEqual(
    b.log.filter((e) => e.server === 'cdn').map((e) => e.range),
    ['bytes=5000-', undefined],
  );
});

test('wrong hash → hash-mismatch naming the file, nothing left in place', async () => {
  const dir = newDir();
  b.corrupt.add('onnx/model.onnx');
  const err = await rejectsWith(downloadFiles(opts(dir)), 'hash-mismatch', 'onnx/model.onnx');
  assert.match(err.message, /re-download/i);
  assert.equal(fs.existsSync(path.join(dir, 'onnx/model.onnx')), false);
  assert.equal(fs.existsSync(path.join(dir, 'onnx/model.onnx.part')), false);
  assert.equal(fs.existsSync(path.join(dir, MANIFEST_NAME)), false);
  assert.equal(b.log.filter((e) => e.server === 'cdn').length, 1, 'a hash mismatch is not retried');
});

test('a 503 is retried with backoff', async () => {
  const dir = newDir();
  b.failOnce.set('config.json', 503);
  await downloadFiles(opts(dir));
  await assertIntact(dir);
  assert.equal(b.log.filter((e) => e.url.endsWith('/config.json')).length, 2);
});

test('401 → unauthorized, with advice about HF_TOKEN and the licence', async () => {
  b.requireToken = 'hf_right';
  const dir = newDir();
  const err = await rejectsWith(downloadFiles(opts(dir, { token: 'hf_wrong' })), 'unauthorized', 'config.json');
  assert.match(err.message, /HF_TOKEN/);
  assert.match(err.message, /licence/);
  assert.equal(b.log.length, 1, '401 is not retried');
  await rejectsWith(listRepoFiles({ endpoint, repo: REPO }), 'unauthorized');
});

test('404 → not-found naming the file', async () => {
  const dir = newDir();
  const missing: HubFile = { path: 'onnx/missing_q4.onnx', size: 10, sha256: 'a'.repeat(64) };
  await rejectsWith(downloadFiles(opts(dir, { files: [missing] })), 'not-found', missing.path);
  assert.equal(b.log.length, 1, '404 is not retried');
});

test('too little disk space → disk-full before any byte is written', async () => {
  const dir = newDir();
  const err = await rejectsWith(downloadFiles(opts(dir, { freeSpace: async () => 1000 })), 'disk-full');
  assert.match(err.message, /needs .* but only 1000 bytes is free/);
  assert.equal(b.log.length, 0);
  assert.equal(fs.existsSync(dir), false);
});

test('abort mid-download → cancelled, .part kept, the next call resumes', async () => {
  const dir = newDir();
  const f = byPath.get('onnx/model.onnx_data')!;
  const part = path.join(dir, f.path + '.part');
  b.stallAfter.set(f.path, 30 * 1024);
  const ac = new AbortController();
  const run = downloadFiles(opts(dir, { signal: ac.signal }));
  run.catch(() => undefined); // Observed below; avoid an unhandled rejection meanwhile.
  await waitFor(() => fs.existsSync(part) && fs.statSync(part).size > 0);
  ac.abort();
  await rejectsWith(run, 'cancelled');
  const kept = fs.statSync(part).size;
  assert.ok(kept > 0 && kept <= 30 * 1024);

  b.stallAfter.clear();
  b.log = [];
  await downloadFiles(opts(dir));
  await assertIntact(dir);
  const cdnLog = b.log.filter((e) => e.server === 'cdn');
  assert.deepEqual(cdnLog.map((e) => e.range), [`bytes=${kept}-`], 'only the unfinished file is fetched, from where it stopped');
});

test('HF_TOKEN is sent as Bearer to the endpoint origin, never to the redirect origin', async () => {
  process.env.HF_TOKEN = 'hf_secret';
  try {
    b.requireToken = 'hf_secret';
    const dir = newDir();
    const files = await listRepoFiles({ endpoint, repo: REPO });
    await downloadFiles(opts(dir, { files }));
    await assertIntact(dir);
    assert.ok(b.log.filter((e) => e.server === 'hub').every((e) => e.auth === 'Bearer hf_secret'));
    const cdnLog = b.log.filter((e) => e.server === 'cdn');
    assert.equal(cdnLog.length, 2);
    assert.ok(cdnLog.every((e) => e.auth === undefined), 'token not forwarded cross-origin');
  } finally {
    restoreToken();
  }
});

test('an unreachable Hub → network error that explains how to work offline', async () => {
  const [s, dead] = await listen(() => undefined);
  await close(s);
  const err = await rejectsWith(listRepoFiles({ endpoint: dead, repo: REPO, retries: 1, retryBaseMs: 1 }), 'network');
  assert.ok(err.message.includes(dead));
  assert.match(err.message, /local folder/);
  assert.match(err.message, /loupe\.allowDownloads/);
});

test('verifyModelDir finds truncated, LFS-pointer, partial and (deep) corrupted files', async () => {
  const dir = newDir();
  await downloadFiles(opts(dir));
  const model = path.join(dir, 'onnx/model.onnx');
  const data = path.join(dir, 'onnx/model.onnx_data');
  const config = path.join(dir, 'config.json');

  await fs.promises.truncate(model, 1000);
  const pointer =
    'version https://git-lfs.github.com/spec/v1\n' +
    `oid sha256:${sha256(byPath.get('onnx/model.onnx_data')!.content)}\nsize ${96 * 1024}\n`;
  await fs.promises.writeFile(data, pointer);
  const cfg = await fs.promises.readFile(config);
  cfg[5] ^= 0x01;
  await fs.promises.writeFile(config, cfg);

  const shallow = await verifyModelDir(dir);
  assert.deepEqual(
    shallow.map((p) => [p.file, p.kind]),
    [
      ['onnx/model.onnx', 'size-mismatch'],
      ['onnx/model.onnx_data', 'lfs-pointer'],
    ],
  );
  for (const p of shallow) {
    assert.ok(p.message.includes(p.file));
    assert.equal(p.redownload, true);
  }
  assert.match(shallow[0].message, /truncated/);
  assert.match(shallow[1].message, /Git LFS pointer/);

  const deep = await verifyModelDir(dir, { deep: true });
  assert.deepEqual(deep.find((p) => p.file === 'config.json')?.kind, 'hash-mismatch');

  await fs.promises.rename(model, model + '.part');
  const partial = await verifyModelDir(dir);
  assert.equal(partial.find((p) => p.file === 'onnx/model.onnx')?.kind, 'partial');

  // The downloader repairs all of it.
  await downloadFiles(opts(dir));
  // config.json was trusted from the manifest (same size); a deep check finds it, a re-download after deleting it fixes it.
  await fs.promises.rm(config);
  await downloadFiles(opts(dir));
  assert.deepEqual(await verifyModelDir(dir, { deep: true }), []);
  await assertIntact(dir);
});

test('verifyModelDir without a manifest scans ONNX files for pointers and empty files', async () => {
  const dir = newDir();
  await fs.promises.mkdir(path.join(dir, 'onnx'), { recursive: true });
  await fs.promises.writeFile(
    path.join(dir, 'onnx/model.onnx'),
    `version https://git-lfs.github.com/spec/v1\noid sha256:${'b'.repeat(64)}\nsize 123456789\n`,
  );
  await fs.promises.writeFile(path.join(dir, 'onnx/model.onnx_data'), '');
  await fs.promises.writeFile(path.join(dir, 'onnx/decoder.onnx'), seeded(3, 2048));
  await fs.promises.writeFile(path.join(dir, 'config.json'), '{}');
  const problems = await verifyModelDir(dir);
  assert.deepEqual(
    problems.map((p) => [p.file, p.kind]),
    [
      ['onnx/model.onnx', 'lfs-pointer'],
      ['onnx/model.onnx_data', 'empty'],
    ],
  );
  assert.match(problems[0].message, /117\.7 MB/);
});
