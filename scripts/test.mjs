// `npm test`: installs what is missing, builds, then runs every test with Node's own runner.
// `npm run test:unit` (`--unit`): only test/unit/ — no build, no browser, no model host, no code-server.
// Extra arguments select test files by part of their path: `npm test -- cli export`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const argv = process.argv.slice(2);
const unit = argv.includes('--unit');
const only = argv.filter((a) => a !== '--unit');

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  console.log('[test] installing dependencies (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}
if (!unit) {
  run(process.execPath, ['esbuild.mjs']);
  // Chromium (renderer, export and end-to-end tests), ffmpeg (video tests) and code-server (end-to-end) come from one
  // idempotent script.
  if (!process.env.LOUPE_E2E_SKIP || !existsSync('/usr/bin/chromium') || !existsSync('/usr/bin/ffmpeg')) run('bash', ['test/e2e/setup.sh']);
  run(process.execPath, ['--import', 'tsx', 'scripts/fixtures.ts', '--if-missing']);
}

const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures') walk(p);
    } else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
};
walk(join(root, unit ? 'test/unit' : 'test'));
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
selected.sort();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...selected], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
