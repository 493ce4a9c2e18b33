// The screen grounding score end to end: the committed generator renders the screens in Chromium and reads the same
// boxes as the committed truth file; a find-element batch through the notebook runner scores the fixture models.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { scoreAnswer, type GroundingTruth } from '../src/core/eval/grounding';
import { DEFAULT_TRUTH, FIXTURE_MODELS, screenScore, scoreTable } from '../scripts/screen-score';

const ROOT = join(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'loupe-screen-score-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const committed = JSON.parse(readFileSync(DEFAULT_TRUTH, 'utf8')) as (GroundingTruth & { img_size: [number, number] })[];

test('the generator renders four screens and reads each element\'s box from the DOM (the committed truth, within 2 px)', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'screens.ts'), '--out', tmp], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const fresh = JSON.parse(readFileSync(join(tmp, 'screenspot.json'), 'utf8')) as typeof committed;
  assert.deepEqual(fresh.map((t) => [t.img_filename, t.instruction, t.img_size]), committed.map((t) => [t.img_filename, t.instruction, t.img_size]));
  fresh.forEach((t, i) => assert.ok(t.bbox.every((v, k) => Math.abs(v - committed[i]!.bbox[k]!) <= 2), `${t.instruction}: ${t.bbox} vs ${committed[i]!.bbox}`));
  assert.deepEqual([...new Set(committed.map((t) => t.img_size.join('×')))], ['800×600', '720×900', '1080×2400', '2048×1280']);
});

test('scoring: point in box from a point or a box centre, IoU from boxes only', () => {
  const t: GroundingTruth = { img_filename: 'a.png', bbox: [10, 10, 100, 50], instruction: 'x' };
  assert.deepEqual(scoreAnswer(t, { image: 1, label: '', kind: 'point', coords: [50, 30] }), { hit: true, iou: 0, answered: true });
  assert.deepEqual(scoreAnswer(t, { image: 1, label: '', kind: 'box', coords: [10, 10, 110, 60] }), { hit: true, iou: 1, answered: true });
  const off = scoreAnswer(t, { image: 1, label: '', kind: 'box', coords: [70, 10, 170, 60] });
  assert.deepEqual([off.hit, off.iou], [false, 0.25]);
  assert.deepEqual(scoreAnswer(t, undefined), { hit: false, iou: 0, answered: false });
});

test('a find-element batch scores each fixture model; a detector is reported as not able to run it', async () => {
  // One screen keeps the test short; the README's command scores all four.
  const login = committed.filter((t) => t.img_filename === 'login-form.png');
  writeFileSync(join(tmp, 'login.json'), JSON.stringify(login));
  copyFileSync(join(ROOT, 'test', 'fixtures', 'screens', 'login-form.png'), join(tmp, 'login-form.png'));
  const scores = await screenScore({ models: FIXTURE_MODELS, truthFile: join(tmp, 'login.json'), allowDownloads: false });
  const [qwen, florence, yolo] = scores;
  for (const s of [qwen!, florence!]) {
    assert.equal(s.summary!.n, login.length);
    assert.equal(s.summary!.answered, login.length, `${s.model} answers every instruction with a region`);
    // The fixtures box the brightest part of the screen: on this dark form, the Sign in button.
    assert.deepEqual(s.hits, ['the Sign in button'], s.model);
    assert.ok(s.summary!.meanIou > 0 && s.summary!.meanIou < 0.5);
  }
  assert.match(yolo!.skipped!, /cannot run @task find-element\. Models that can: florence-2-base/);
  assert.equal(login.length, 6);
  assert.match(scoreTable(scores), /\| test\/fixtures\/models\/tiny-qwen2vl \| 6 \| 16\.7 % \|/);
});
