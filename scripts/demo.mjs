// `npm run demo`: installs what is missing, builds, runs examples/tour.loupe headlessly with the default model
// (and qwen2-vl-2b for its two-image cell), and writes tour.html. When the Hugging Face Hub cannot be reached and
// the models are not downloaded yet, it says so and runs the generated fixture models instead; every answer they
// give is marked as coming from a fixture in tour.html.
//
// Env: HF_ENDPOINT (Hub or mirror), LOUPE_MODELS_DIR (default ~/.cache/loupe/models),
//      LOUPE_DEMO_OUT (where tour.html goes; default: the repository root).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const say = (msg) => console.log(`[demo] ${msg}`);
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`[demo] ${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  return r;
};

if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  say('installing dependencies (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}
say('building (node esbuild.mjs)…');
run(process.execPath, ['esbuild.mjs']);

const cli = join(root, 'dist', 'cli.js');
const out = resolve(process.env.LOUPE_DEMO_OUT || join(root, 'tour.html'));
// The tour's models: the default model for most cells, qwen2-vl-2b for the question across two images, the icon detector for screens.
const TOUR_MODELS = { 'florence-2-base': 'tiny-florence2', 'qwen2-vl-2b': 'tiny-qwen2vl', 'omniparser-icon-detect': 'tiny-yolo' };

const listed = spawnSync(process.execPath, [cli, 'models', '--json'], { cwd: root, encoding: 'utf8' });
if (listed.status !== 0) {
  console.error(listed.stderr);
  process.exit(1);
}
const { models, modelsDir } = JSON.parse(listed.stdout);
const missing = Object.keys(TOUR_MODELS).filter((id) => !models.find((m) => m.id === id)?.downloaded);

const endpoint = (process.env.HF_ENDPOINT?.trim() || 'https://huggingface.co').replace(/\/+$/, '');
const cliArgs = [];
if (missing.length) {
  const problem = await hubProblem(endpoint);
  if (problem) {
    console.log(
      `\nThe Hugging Face Hub cannot be reached (${endpoint}: ${problem}): running the fixture models instead; every answer in ${relativeOut(out)} is marked as coming from a fixture.\n` +
        `(Fixture models are tiny generated test models with scripted answers. Not downloaded yet: ${missing.join(', ')}; models folder: ${modelsDir}.)\n`,
    );
    run(process.execPath, ['--import', 'tsx', 'scripts/fixtures.ts', '--if-missing']);
    for (const id of missing) cliArgs.push('--alias', `${id}=${join(root, 'test', 'fixtures', 'models', TOUR_MODELS[id])}`);
    cliArgs.push('--offline');
  } else {
    say(`downloading ${missing.join(' and ')} from ${endpoint} on first use (into ${modelsDir})…`);
  }
}

// Run a copy: the committed example keeps its empty outputs.
const work = mkdtempSync(join(tmpdir(), 'loupe-demo-'));
let status = 1;
try {
  cpSync(join(root, 'examples'), work, { recursive: true });
  say(`running examples/tour.loupe (a copy in ${work})…`);
  const r = spawnSync(process.execPath, [cli, 'run', join(work, 'tour.loupe'), '--export', 'html', '--out', out, ...cliArgs], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  status = r.status ?? 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (existsSync(out)) console.log(`\n[demo] wrote ${out}${status ? ' (some cells failed: see above)' : ''}`);
process.exit(status);

/** Why the Hub cannot be reached, or undefined when it answers (any HTTP status counts as an answer). */
async function hubProblem(url) {
  try {
    await fetch(`${url}/api/models/onnx-community/Florence-2-base-ft`, { method: 'HEAD', signal: AbortSignal.timeout(5000), redirect: 'manual' });
    return undefined;
  } catch (e) {
    if (e?.name === 'TimeoutError') return 'no answer within 5 s';
    const c = e?.cause;
    return c?.code ? `${c.code}${c.address ? ` ${c.address}${c.port ? ':' + c.port : ''}` : ''}` : (c?.message ?? e?.message ?? String(e));
  }
}

function relativeOut(p) {
  return p.startsWith(root + '/') ? p.slice(root.length + 1) : p;
}
