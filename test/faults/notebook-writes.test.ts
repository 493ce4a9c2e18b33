// Fault injection, notebook files: each case runs the real `loupe run` and checks what is on disk afterwards.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseNotebook, serializeNotebook, type StoredCell } from '../../src/core/notebook/format';
import { STALE_WARNING } from '../../src/core/notebook/merge';
import { cellLines, code, ensureBuilt, FLORENCE, md, notebook, resultOf, ROOT, runCli } from '../helpers/cli';

const dir = mkdtempSync(join(tmpdir(), 'loupe-faults-'));
before(() => {
  ensureBuilt();
  cpSync(join(ROOT, 'examples', 'images'), join(dir, 'images'), { recursive: true });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** n quick caption cells on the fixture, each with a source of its own. */
const captions = (n: number, extra = ''): StoredCell[] => Array.from({ length: n }, (_, i) => code(`@image images/coffee.png\n@task caption\n@set seed=${i + 1}${extra}`));
const OLD = { items: [{ mime: 'application/vnd.code.notebook.error', json: { name: 'Old', message: 'from an earlier run', stack: '' } }] };
const write = (name: string, cells: StoredCell[]) => {
  const p = join(dir, name);
  writeFileSync(p, serializeNotebook(notebook(cells)));
  return p;
};
const read = (p: string) => parseNotebook(readFileSync(p), p);
const tmpFiles = (d: string) => readdirSync(d).filter((f) => f.endsWith('.tmp'));
const args = (nb: string, ...more: string[]) => ['run', nb, '--model', FLORENCE, '--offline', ...more];

test('edits saved during a run are kept: each result goes to its cell, an edited cell keeps its old output marked stale, a new cell stays', { timeout: 120_000 }, async () => {
  const cells = captions(30).map((c) => ({ ...c, outputs: [OLD] }));
  const p = write('edit.loupe', cells);
  let edited = false;
  const r = await runCli(args('edit.loupe'), {
    cwd: dir,
    onLine: async (line) => {
      if (edited || !line.startsWith('cell 5 ')) return;
      edited = true;
      // Edit once cell 5's result is on disk, while cell 6 runs: an edit landing in the instant between the saver's
      // check and its rename can still be replaced (write.ts says why), and this line is printed just as a save starts.
      for (let t = 0; t < 2000 && resultOf(read(p).cells[4]!)?.runs[0]?.answer !== 'A tiny fixture image.'; t++) await new Promise((r) => setTimeout(r, 5));
      // What an editor does on save: the whole file, written beside and renamed over it.
      const nb = read(p);
      nb.cells[27] = { ...nb.cells[27]!, source: nb.cells[27]!.source + '\n@set max_new_tokens=9' };
      nb.cells.splice(10, 0, md('## Added while it ran'));
      writeFileSync(`${p}.editor`, serializeNotebook(nb));
      renameSync(`${p}.editor`, p);
    },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(edited, 'the run was edited mid-way');
  assert.doesNotMatch(r.stderr, /MaxListenersExceededWarning/, 'no listener leak on a 30-cell notebook');
  assert.match(r.stderr, /edit\.loupe was edited during the run: 1 edited cell keeps its earlier output, marked stale/);
  const nb = read(p);
  assert.equal(nb.cells.length, 31);
  assert.equal(nb.cells[10]!.source, '## Added while it ran', 'the added cell is kept');
  const editedCell = nb.cells[28]!;
  assert.match(editedCell.source, /max_new_tokens=9$/, 'the edit is kept');
  assert.deepEqual(editedCell.outputs.map((o) => o.items[0]!.mime), ['application/vnd.code.notebook.error'], 'the edited cell keeps its old output');
  assert.equal((editedCell.outputs[0]!.metadata?.loupe as { stale?: boolean }).stale, true, 'marked stale');
  const fresh = nb.cells.filter((c, i) => c.kind === 'code' && i !== 28);
  assert.equal(fresh.length, 29);
  for (const c of fresh) assert.equal(resultOf(c)?.runs[0]?.answer, 'A tiny fixture image.', `new result in ${c.source.split('\n').at(-1)}`);
  assert.deepEqual(tmpFiles(dir), []);
});

test('a save never replaces a file another program saved meanwhile: the write is refused and the saver merges into the newer file', async () => {
  const { writeNotebookFile } = await import('../../src/core/notebook/write');
  const { NotebookSaver } = await import('../../src/cli/save');
  const p = join(dir, 'cas.loupe');
  const ran = notebook([code('@image a.png\n@task caption'), code('@image b.png\n@task caption')]);
  writeFileSync(p, serializeNotebook(ran));
  const old = readFileSync(p);
  // Someone saves between our read and our rename: the write is refused and nothing is left behind.
  const theirs = notebook([md('## theirs'), ...ran.cells]);
  writeFileSync(p, serializeNotebook(theirs));
  assert.equal(await writeNotebookFile(p, Buffer.from('ours'), { unchangedFrom: old }), false);
  assert.equal(read(p).cells[0]!.source, '## theirs');
  assert.deepEqual(tmpFiles(dir), []);
  // The saver, racing an editor that saves on every look, still lands its result and keeps the editor's cells.
  const saver = new NotebookSaver(ran, p, true, { say: () => undefined });
  let saves = 0;
  const timer = setInterval(() => {
    const nb = read(p);
    if (saves++ >= 10) return;
    // As editors save: the whole file beside, renamed over it.
    writeFileSync(`${p}.editor`, serializeNotebook({ ...nb, cells: [...nb.cells, md(`## save ${saves}`)] }));
    renameSync(`${p}.editor`, p);
  }, 1);
  try {
    await saver.record(1, [OLD]);
  } finally {
    clearInterval(timer);
  }
  const nb = read(p);
  assert.equal(nb.cells[0]!.source, '## theirs');
  const second = nb.cells.find((c) => c.source === ran.cells[1]!.source)!;
  assert.equal(second.outputs.length, 1, 'the result landed in its cell');
  assert.ok(nb.cells.some((c) => /^## save \d+$/.test(c.source)), 'the editor\'s saves are kept');
});

test('a stale mark reaches the result the renderer and exports read', () => {
  // The merge marks a Loupe result stale with a warning, not only its output metadata.
  const p = write('stale.loupe', [code('@image images/coffee.png\n@task caption')]);
  const nb = read(p);
  nb.cells[0]!.outputs = [{ items: [{ mime: 'application/vnd.loupe.result+json', json: { version: 2, kind: 'prompt', status: 'ok', task: 'caption', images: [], runs: [], params: {}, timings: {}, warnings: [] } }] }];
  return import('../../src/core/notebook/merge').then(({ markStale }) => {
    const [o] = markStale(nb.cells[0]!.outputs);
    assert.deepEqual((o!.items[0] as unknown as { json: { warnings: string[] } }).json.warnings, [STALE_WARNING]);
    assert.deepEqual(markStale([o!]), [o], 'marking twice changes nothing');
  });
});

test('SIGTERM and SIGINT mid-run: the running cell stops, finished results are on disk, exit 143 and 130', { timeout: 180_000 }, async () => {
  for (const [signal, exit] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    const p = write(`${signal}.loupe`, captions(30));
    let sent = false;
    const r = await runCli(args(`${signal}.loupe`), {
      cwd: dir,
      onLine: (line, child) => {
        if (!sent && line.startsWith('cell 10 ')) {
          sent = true;
          child.kill(signal);
        }
      },
    });
    assert.equal(r.code, exit, `${signal}: ${r.stderr}`);
    const nb = read(p);
    const done = nb.cells.filter((c) => resultOf(c)?.status === 'ok').length;
    assert.ok(done >= 10 && done < 30, `${signal}: ${done} of 30 results kept`);
    // Written in order: the finished cells are the first ones.
    assert.ok(nb.cells.slice(0, done).every((c) => resultOf(c)?.status === 'ok'));
    assert.match(r.stderr, new RegExp(`${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: stopping the running cell`));
    assert.match(r.stderr, /skipped/);
    assert.deepEqual(tmpFiles(dir), []);
  }
});

test('--out: a missing folder is created; a folder is refused before anything runs and nothing is left behind', { timeout: 60_000 }, async () => {
  const p = write('out.loupe', captions(2));
  const before = readFileSync(p);
  const ok = await runCli(args('out.loupe', '--out', 'new/deeper/run.loupe'), { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(read(join(dir, 'new', 'deeper', 'run.loupe')).cells.filter((c) => resultOf(c)?.status === 'ok').length, 2);
  assert.deepEqual(readFileSync(p), before, 'with --out the notebook itself is left alone');

  mkdirSync(join(dir, 'afolder'));
  const bad = await runCli(args('out.loupe', '--out', 'afolder'), { cwd: dir });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--out .*afolder is a folder: give a file path/);
  assert.deepEqual(cellLines(bad.stderr), [], 'refused before any cell ran');
  assert.deepEqual(readdirSync(join(dir, 'afolder')), []);
  assert.deepEqual(tmpFiles(dir), []);
  assert.deepEqual(readFileSync(p), before);

  const html = await runCli(args('out.loupe', '--export', 'html', '--out', 'pages/sub/out.html'), { cwd: dir });
  assert.equal(html.code, 0, html.stderr);
  assert.ok(statSync(join(dir, 'pages', 'sub', 'out.html')).size > 1000);
});

test('a symlinked notebook stays a link to an updated target; a hard link stays shared; the file mode is kept', { timeout: 60_000 }, async () => {
  const real = write('real.loupe', captions(1));
  chmodSync(real, 0o640);
  symlinkSync('real.loupe', join(dir, 'link.loupe'));
  const r = await runCli(args('link.loupe'), { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(join(dir, 'link.loupe')).isSymbolicLink(), 'still a symbolic link');
  assert.equal(resultOf(read(real).cells[0]!)?.status, 'ok', 'the target got the results');
  assert.equal(statSync(real).mode & 0o777, 0o640, 'mode kept');

  const a = write('a.loupe', captions(1));
  chmodSync(a, 0o600);
  linkSync(a, join(dir, 'b.loupe'));
  const h = await runCli(args('a.loupe'), { cwd: dir });
  assert.equal(h.code, 0, h.stderr);
  assert.equal(statSync(a).ino, statSync(join(dir, 'b.loupe')).ino, 'one file, two names');
  assert.equal(statSync(a).nlink, 2);
  assert.equal(resultOf(read(join(dir, 'b.loupe')).cells[0]!)?.status, 'ok', 'the other name sees the results');
  assert.equal(statSync(a).mode & 0o777, 0o600);
  assert.deepEqual(tmpFiles(dir), []);
});

test('keys this Loupe does not know survive a run, on every level; an empty file is reported, not rewritten', { timeout: 60_000 }, async () => {
  const nb = {
    loupe: 1,
    metadata: { kept: true },
    cells: [
      { kind: 'markdown', language: 'markdown', source: '# Keys', metadata: {}, outputs: [], tags: ['intro'] },
      { kind: 'code', language: 'loupe', source: '@image images/coffee.png\n@task caption', metadata: {}, outputs: [], id: 'cell-2', execution: { count: 3 } },
    ],
    newerLoupe: { schema: 'x' },
  };
  const p = join(dir, 'keys.loupe');
  writeFileSync(p, JSON.stringify(nb, null, 2));
  const r = await runCli(args('keys.loupe'), { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const after = JSON.parse(readFileSync(p, 'utf8'));
  assert.deepEqual(after.newerLoupe, { schema: 'x' });
  assert.deepEqual(after.metadata, { kept: true });
  assert.deepEqual(after.cells[0].tags, ['intro']);
  assert.deepEqual([after.cells[1].id, after.cells[1].execution], ['cell-2', { count: 3 }]);
  assert.equal(resultOf(after.cells[1])?.status, 'ok');

  const empty = join(dir, 'empty.loupe');
  writeFileSync(empty, '');
  for (const cmd of [args('empty.loupe'), ['export', 'empty.loupe', '--export', 'html']]) {
    const e = await runCli(cmd, { cwd: dir });
    assert.equal(e.code, 1, e.stderr);
    assert.match(e.stderr, /empty\.loupe: the file is empty/);
  }
  assert.equal(statSync(empty).size, 0, 'still empty');
});

test('a notebook deleted during a run is not recreated over: the results go beside it, and the run says where', { timeout: 60_000 }, async () => {
  const p = write('gone.loupe', captions(6));
  let removed = false;
  const r = await runCli(args('gone.loupe'), {
    cwd: dir,
    onLine: (line) => {
      if (!removed && line.startsWith('cell 2 ')) {
        removed = true;
        writeFileSync(p, '{ "not": "a notebook" ');
      }
    },
  });
  assert.equal(r.code, 0, r.stderr);
  const m = /the results go to (\S+\.loupe)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.equal(readFileSync(p, 'utf8'), '{ "not": "a notebook" ', 'what the user left there is untouched');
  const beside = read(m[1]!);
  assert.equal(beside.cells.filter((c) => resultOf(c)?.status === 'ok').length, 6);
});
