// The README's command-line example, run as written on a fresh clone of this tree with no network: every cell
// succeeds and the clone's `git status` stays clean.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from '../helpers/cli';

const tmp = mkdtempSync(join(tmpdir(), 'loupe-readme-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const git = (cwd: string, ...args: string[]) => {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** A clone of this tree as it is now: committed history plus the changes not yet committed. */
function cloneWorkingTree(to: string): void {
  git(ROOT, 'clone', '-q', ROOT, to);
  const changed = git(ROOT, 'ls-files', '-m', '-o', '--exclude-standard').split('\n').filter(Boolean);
  for (const f of changed) {
    mkdirSync(dirname(join(to, f)), { recursive: true });
    cpSync(join(ROOT, f), join(to, f));
  }
  for (const f of git(ROOT, 'ls-files', '-d').split('\n').filter(Boolean)) rmSync(join(to, f), { force: true });
  git(to, 'add', '-A');
  spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'working tree'], { cwd: to });
}

test('the README\'s command-line example runs offline on a fresh clone and leaves git status clean', { timeout: 180_000 }, () => {
  const clone = join(tmp, 'loupe');
  cloneWorkingTree(clone);
  const readme = readFileSync(join(clone, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Command line'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the Command line section has a sh block');
  // The clone shares this tree's installed packages instead of `npm ci` (no registry in a test).
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
  const script = block.replace(/^npm ci && /m, '');
  assert.notEqual(script, block, 'the example starts with npm ci');
  const env = { ...process.env, LOUPE_MODELS_DIR: join(tmp, 'models'), HF_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: '' };
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: clone, env, encoding: 'utf8', timeout: 170_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const cells = r.stderr.split('\n').filter((l) => /^cell \d+ /.test(l));
  assert.ok(cells.length >= 7, r.stderr);
  assert.deepEqual(cells.filter((l) => !/^cell \d+ {2}ok /.test(l)), [], 'every cell of the tour succeeds offline');
  assert.match(r.stdout, /tour\.html\n/, 'the HTML export was written');
  assert.match(r.stdout, /florence-2-base \(default\)/, 'loupe models listed the registry');
  assert.equal(git(clone, 'status', '--porcelain'), '', 'nothing in the clone changed');
});
