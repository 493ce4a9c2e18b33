// Fault injection, waiting: a frozen model host, a long prefill, and `--offline` with an https image.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { isLoupeError } from '../../src/common/errors';
import { parseNotebook, serializeNotebook } from '../../src/core/notebook/format';
import { HostClient } from '../../src/engine/local/client';
import { cellLines, childPids, code, ensureBuilt, FLORENCE, notebook, procState, QWEN, resultOf, ROOT, runCli } from '../helpers/cli';

const dir = mkdtempSync(join(tmpdir(), 'loupe-hangs-'));
before(() => {
  ensureBuilt();
  cpSync(join(ROOT, 'examples', 'images'), join(dir, 'images'), { recursive: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a frozen model host (SIGSTOP) is stopped after --host-timeout: that cell fails saying so, the next cells run', { timeout: 120_000 }, async () => {
  const cells = [1, 2, 3].map((i) => code(`@image images/coffee.png\n@task caption\n@set seed=${i}`));
  const p = join(dir, 'frozen.loupe');
  writeFileSync(p, serializeNotebook(notebook(cells)));
  let frozen: number | undefined;
  const r = await runCli(['run', 'frozen.loupe', '--model', FLORENCE, '--offline', '--host-timeout', '3'], {
    cwd: dir,
    onLine: (line, child) => {
      if (frozen === undefined && line.startsWith('cell 1 ')) {
        frozen = childPids(child.pid!)[0];
        if (frozen) process.kill(frozen, 'SIGSTOP');
      }
    },
  });
  assert.ok(frozen, 'the model host was found and stopped');
  assert.equal(r.code, 1, r.stderr);
  const lines = cellLines(r.stderr);
  assert.match(lines[0]!, /^cell 1 {2}ok/);
  assert.match(lines[1]!, /^cell 2 {2}FAIL .*The model host sent nothing for 3 s \(--host-timeout\): it was stopped, and it starts again for the next cell/);
  assert.match(lines[2]!, /^cell 3 {2}ok/, 'the run went on with a new host');
  assert.match(r.stderr, /3 cells ran, 1 failed/);
  assert.ok(!['T', 't'].includes(procState(frozen!) ?? ''), 'the stopped host is gone, not left frozen');
  const nb = parseNotebook(readFileSync(p));
  assert.equal(resultOf(nb.cells[2]!)?.status, 'ok');
});

test('a long prefill does not trip the watchdog: the host beats from a thread of its own while its main thread works', { timeout: 120_000 }, async () => {
  // A 3000×3000 image at 16,000 image tokens keeps the host's main thread busy for seconds, sending nothing.
  const img = join(dir, 'big.png');
  writeFileSync(img, await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#336699' } }).png().toBuffer());
  const client = new HostClient({ script: join(ROOT, 'dist', 'host.js'), timeoutMs: 2000 });
  try {
    await client.load({ key: 'q', folder: QWEN, family: 'qwen2_vl', dialect: 'qwen2_vl', device: 'cpu', dtype: 'auto', info: { id: 'tiny-qwen2vl' } });
    const t0 = Date.now();
    const gen = await client.generate({ key: 'q', task: 'ask', prompt: 'Hi', images: [{ path: img, source: 'big.png' }], regions: [], params: { max_new_tokens: 4 }, maxImageTokens: 16000, maxImagePixels: 5e7 });
    assert.ok(Date.now() - t0 > 2000, `the request took longer than the timeout (${Date.now() - t0} ms), and still succeeded`);
    assert.ok(gen.stats.promptTokens > 10_000);
  } finally {
    client.dispose();
  }
});

test('a host that never answers its first message fails the wait with a message, not forever', { timeout: 30_000 }, async () => {
  // A "host" script that stays silent: the start itself has a timeout.
  const script = join(dir, 'silent-host.js');
  writeFileSync(script, 'setInterval(() => {}, 1000);');
  const client = new HostClient({ script, timeoutMs: 1500, timeoutSetting: 'the test' });
  try {
    await assert.rejects(client.status().then(() => client.load({ key: 'x', folder: FLORENCE, family: 'florence2', dialect: 'florence2', device: 'cpu', dtype: 'auto', info: { id: 'x' } })), (e: unknown) => isLoupeError(e, 'host-timeout') && /did not start within 2 s \(the test\)/.test(e.message));
  } finally {
    client.dispose();
  }
});

test('--offline means no network at all: an https image is refused without a connection', { timeout: 60_000 }, async () => {
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const url = `https://127.0.0.1:${port}/photo.png`;
    writeFileSync(join(dir, 'web.loupe'), serializeNotebook(notebook([code(`@image ${url}`), code(`@image ${url}\n@task caption`)])));
    const r = await runCli(['run', 'web.loupe', '--model', FLORENCE, '--offline'], { cwd: dir });
    assert.equal(r.code, 1);
    const lines = cellLines(r.stderr);
    assert.equal(lines.length, 2);
    for (const l of lines) assert.match(l, /FAIL .*photo\.png was not downloaded: this run is offline \(--offline\)/);
    assert.equal(connections, 0, 'nothing was fetched');
  } finally {
    server.close();
  }
});
