// Prompt cells about a clip through the kernel, the runner and the real model host on the fixture models: grounding
// across frames (Florence-2, one run per frame), SmolVLM2's video prompt (tiny-smolvlm echoes what it was given),
// Qwen2-VL's timestamp lines, `@region <time>`, and the SmolVLM family on images and text.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AutoProcessor, RawImage, cat } from '@huggingface/transformers';
import { ERROR_MIME, RESULT_MIME, type LoupeResult } from '../src/common/result';
import { Kernel, type KernelCell } from '../src/core/kernel/kernel';
import type { OutputSpec } from '../src/core/kernel/outputs';
import { EnginePromptRunner } from '../src/core/kernel/runner';
import { HostClient } from '../src/engine/local/client';
import { LocalEngine, type LocalSettings } from '../src/engine/local/engine';
import { qwen2vl } from '../src/engine/local/families/qwen2_vl';
import { smolvlmVideoText } from '../src/engine/local/families/idefics3';
import { makeSpotClip, NO_FFMPEG, SPOT, spotBox } from './helpers/video';

const ROOT = join(import.meta.dirname, '..');
const MODELS = join(ROOT, 'test', 'fixtures', 'models');
const dir = mkdtempSync(join(tmpdir(), 'loupe-video-engine-'));
const client = new HostClient({ script: join(ROOT, 'dist', 'host.js') });
after(() => client.dispose());

const local: LocalSettings = {
  device: 'cpu',
  dtype: 'auto',
  allowDownloads: false,
  endpoint: 'http://127.0.0.1:9',
  modelsDir: join(dir, 'models'),
  // tiny-smolvlm with the MM1.5 box dialect: a SmolVLM fine-tuned to ground would be named so.
  customModels: [{ id: 'smol-mm15', path: join(MODELS, 'tiny-smolvlm'), dialect: 'mm15' }],
};
const engine = new LocalEngine(client, () => local);
const runner = new EnginePromptRunner({
  engines: { pick: (ref) => ({ engine, ref }) },
  settings: () => ({ defaultModel: join(MODELS, 'tiny-florence2'), maxImageTokens: 1024, maxImagePixels: 50_000_000, video: { framesDir: join(dir, 'frames') } }),
  withProgress: (_l, fn) => fn(() => undefined, new AbortController().signal),
});
const kernel = new Kernel({ isTrusted: () => true, maxImagePixels: () => 50_000_000, prompts: runner, video: () => ({ framesDir: join(dir, 'frames') }) });

const FPS = 12;
before(async () => {
  if (!NO_FFMPEG) await makeSpotClip(join(dir, 'spot.mp4'), { frames: 24, fps: FPS });
});

async function run(source: string): Promise<{ out: OutputSpec[]; ok: boolean | undefined }> {
  let out: OutputSpec[] = [];
  let ok: boolean | undefined;
  const cell: KernelCell = { notebook: 'nb', baseDir: dir, source, language: 'loupe', createExecution: () => ({ signal: new AbortController().signal, start() {}, async replaceOutputs(o) { out = o; }, end(s) { ok = s; } }) };
  await kernel.execute([cell]);
  return { out, ok };
}
const resultOf = (o: OutputSpec[]) => JSON.parse(new TextDecoder().decode(o.flatMap((x) => x.items).find((i) => i.mime === RESULT_MIME)!.data)) as LoupeResult;
const errorOf = (o: OutputSpec[]) => (JSON.parse(new TextDecoder().decode(o.flatMap((x) => x.items).find((i) => i.mime === ERROR_MIME)!.data)) as { message: string }).message;
const florence = `@model ${join(MODELS, 'tiny-florence2')}`;

test('grounding across frames: one Florence-2 run per frame, each box on the spot of its own frame, each answer with its time', { skip: NO_FFMPEG, timeout: 120_000 }, async () => {
  const { out, ok } = await run(`@video spot.mp4\n@set frames=6\n${florence}\n@task ground\nthe spot`);
  assert.equal(ok, true, JSON.stringify(out.map((o) => o.items.map((i) => i.mime))));
  const r = resultOf(out);
  assert.equal(r.kind, 'prompt');
  assert.equal(r.videos?.length, 1);
  assert.equal(r.runs.length, 6);
  const xs: number[] = [];
  r.runs.forEach((run, i) => {
    assert.deepEqual(run.images, [i + 1]);
    const img = r.images[i]!;
    assert.equal(run.regions.length, 1, `frame ${i + 1}`);
    // The frame shown at its time is k = floor(time × fps); its spot is where the box must be, within a patch (480/24 px).
    const k = Math.round(img.time! * FPS);
    const [x1, y1, x2, y2] = run.regions[0]!.coords;
    const [sx1, sy1, sx2, sy2] = spotBox(k);
    const tolX = SPOT.width / 24 + 1;
    const tolY = SPOT.height / 24 + 1;
    assert.ok(Math.abs(x1! - sx1) <= tolX && Math.abs(x2! - sx2) <= tolX && Math.abs(y1! - sy1) <= tolY && Math.abs(y2! - sy2) <= tolY, `frame at ${img.time}: box ${run.regions[0]!.coords} vs spot ${spotBox(k)}`);
    assert.equal(run.regions[0]!.image, i + 1);
    xs.push(x1!);
  });
  assert.ok(xs.every((x, i) => i === 0 || x > xs[i - 1]!), `the boxes move with the spot: ${xs}`);
  const text = new TextDecoder().decode(out[0]!.items.find((i) => i.mime === 'text/plain')!.data);
  assert.match(text, /^Frame at 0:00\.\d\d: the spot$/m);
  assert.match(text, /^the spot \[\d+, \d+, \d+, \d+\] \(image 6\)$/m);
});

test('SmolVLM2\'s video prompt: the frames in time order after "Frame from MM:SS:", the clip length in H:MM:SS, the count in words', { skip: NO_FFMPEG, timeout: 120_000 }, async () => {
  const { out, ok } = await run(`@video spot.mp4 0:00-0:02\n@set frames=4\n@model ${join(MODELS, 'tiny-smolvlm')}\nWhat moves?`);
  assert.equal(ok, true, out.length ? JSON.stringify(resultOf(out).error) : '');
  const r = resultOf(out);
  assert.equal(r.runs.length, 1, 'one run sees every frame');
  assert.deepEqual(r.runs[0]!.images, [1, 2, 3, 4]);
  const times = r.images.map((i) => i.time!);
  // tiny-smolvlm answers a video prompt with the prompt's text (image tokens left out): exactly what it was given.
  const expected = `User: ${smolvlmVideoText({ duration: 2, times }, '')}What moves?\nAssistant:`;
  assert.equal(r.runs[0]!.answer, expected);
  assert.match(r.runs[0]!.answer, /^User: You are provided the following series of four frames from a 0:00:02 \[H:MM:SS\] video\.\n\nFrame from 00:00:\nFrame from 00:00:\nFrame from 00:01:\nFrame from 00:01:\n\nWhat moves\?/);
  // 64 image tokens per frame (unsplit), plus the text.
  assert.ok(r.runs[0]!.stats.promptTokens! > 4 * 64 && r.runs[0]!.stats.promptTokens! < 4 * 64 + 120, `prompt tokens ${r.runs[0]!.stats.promptTokens}`);
});

test('tiny-smolvlm on images and text: the SmolVLM family builds real inputs (split tiles, no image, boxes in the MM1.5 dialect)', { timeout: 120_000 }, async () => {
  const image = await run(`@image ${join(ROOT, 'examples/images/coffee.png')}\n@model ${join(MODELS, 'tiny-smolvlm')}\nWhat is this?`);
  const ri = resultOf(image.out);
  assert.equal(ri.runs[0]!.answer, 'A tiny fixture image with a bright region.');
  // 600×400 is resized to a 2048 longest edge and split into 4×3 tiles of 512 plus the whole picture: 13 × 64 tokens.
  assert.ok(ri.runs[0]!.stats.promptTokens! >= 13 * 64, `prompt tokens ${ri.runs[0]!.stats.promptTokens}`);
  const text = await run(`@model ${join(MODELS, 'tiny-smolvlm')}\nHello?`);
  assert.equal(resultOf(text.out).runs[0]!.answer, 'Hello from tiny-smolvlm.');
  const refused = await run(`@image ${join(ROOT, 'examples/images/coffee.png')}\n@model ${join(MODELS, 'tiny-smolvlm')}\n@task ground\nthe cup`);
  assert.equal(refused.ok, false);
  assert.match(errorOf(refused.out), /cannot run @task ground/);
});

test('grounding across frames on SmolVLM with a box dialect, and @region <time> asks about the frame at that time', { skip: NO_FFMPEG, timeout: 120_000 }, async () => {
  const g = await run('@video spot.mp4\n@set frames=3\n@model smol-mm15\n@task ground\nthe spot');
  assert.equal(g.ok, true);
  const r = resultOf(g.out);
  assert.equal(r.runs.length, 3);
  for (const [i, run] of r.runs.entries()) {
    const k = Math.round(r.images[i]!.time! * FPS);
    const [x1, , x2] = run.regions[0]!.coords;
    const [sx1, , sx2] = spotBox(k);
    // One patch of the 8×8 grid of a 512 tile: 480/8 = 60 px.
    assert.ok(Math.abs(x1! - sx1) <= 61 && Math.abs(x2! - sx2) <= 61, `frame ${i + 1} (k=${k}): ${run.regions[0]!.coords} vs ${spotBox(k)}`);
  }
  // @region 0:01 names the frame shown at 1 s (frame 12): Florence-2 receives the region as <loc_N> tokens of that frame.
  const q = await run(`@video spot.mp4\n${florence}\n@task describe-region\n@region 0:01 [48, 27, 240, 135]`);
  assert.equal(q.ok, true);
  const rq = resultOf(q.out);
  assert.equal(rq.images.length, 1);
  assert.ok(Math.abs(rq.images[0]!.time! - 1) < 1e-3, `frame at ${rq.images[0]!.time}`);
  assert.match(rq.runs[0]!.raw!, /<loc_100><loc_100><loc_500><loc_500>/);
  const late = await run(`@video spot.mp4\n${florence}\n@task describe-region\n@region 0:05 [48, 27, 240, 135]`);
  assert.match(errorOf(late.out), /0:05\.00 is after the end of spot\.mp4, which lasts 0:02\.00/);
});

test('a question about a clip on Florence-2 is refused before any frame is decoded, naming the models that can (the video models among them)', { skip: NO_FFMPEG }, async () => {
  const { out, ok } = await run(`@video spot.mp4\n${florence}\nWhat happens?`);
  assert.equal(ok, false);
  assert.match(errorOf(out), /tiny-florence2 cannot run @task ask\. Models that can: qwen2-vl-2b, smolvlm-256m, smolvlm-500m, smolvlm2-256m-video, smolvlm2-500m-video\./);
  assert.equal(out.length, 1, 'the error alone: no frame was decoded');
});

test('side by side on a clip (@model a, b): the frames are sampled once for both models, each run keeps its model; a model that cannot answer fails in its own column', { skip: NO_FFMPEG, timeout: 180_000 }, async () => {
  const g = await run(`@video spot.mp4\n@set frames=3\n@model ${join(MODELS, 'tiny-florence2')}, smol-mm15\n@task ground\nthe spot`);
  assert.equal(g.ok, true, g.out.length ? JSON.stringify(resultOf(g.out).runs.map((x) => x.error)) : '');
  const r = resultOf(g.out);
  assert.equal(r.images.length, 3);
  assert.equal(r.videos?.[0]?.frames.length, 3);
  assert.deepEqual(r.runs.map((x) => [x.modelIndex, x.images]), [[0, [1]], [0, [2]], [0, [3]], [1, [1]], [1, [2]], [1, [3]]]);
  for (const run of r.runs) assert.equal(run.regions.length, 1, `model ${run.modelIndex}, frame ${run.images[0]}`);
  const text = new TextDecoder().decode(g.out[0]!.items.find((i) => i.mime === 'text/plain')!.data);
  assert.match(text, /· Frame at 0:00\.\d\d: the spot$/m);
  // A question: both models read several frames, so they get the same frames, as many as the smaller budget allows
  // (tiny-qwen2vl 8192 / 1024 image tokens = 8; tiny-smolvlm 64 a frame would take 24); Florence-2 cannot ask and says so in its column.
  const q = await run(`@video spot.mp4\n@model ${join(MODELS, 'tiny-smolvlm')}, ${join(MODELS, 'tiny-qwen2vl')}, ${join(MODELS, 'tiny-florence2')}\nWhat moves?`);
  assert.equal(q.ok, false, 'one model failed');
  const rq = resultOf(q.out);
  assert.equal(rq.images.length, 8);
  const byModel = (m: number) => rq.runs.filter((x) => x.modelIndex === m);
  assert.deepEqual(byModel(0).map((x) => [x.status, x.images]), [['ok', [1, 2, 3, 4, 5, 6, 7, 8]]]);
  assert.match(byModel(0)[0]!.answer, /series of eight frames/);
  assert.deepEqual(byModel(1).map((x) => [x.status, x.images]), [['ok', [1, 2, 3, 4, 5, 6, 7, 8]]]);
  assert.equal(byModel(2).length, 1);
  assert.equal(byModel(2)[0]!.status, 'error');
  assert.match(byModel(2)[0]!.error!, /tiny-florence2 cannot run @task ask/);
});

test('Qwen2-VL family: a timestamp line before each frame, in the real chat template', async () => {
  const processor = (await AutoProcessor.from_pretrained(join(MODELS, 'tiny-qwen2vl'))) as never;
  const frame = () => new RawImage(new Uint8ClampedArray(56 * 56 * 3).fill(30), 56, 56, 3);
  const images = [0, 1, 2].map(() => ({ raw: frame(), width: 56, height: 56, pixelWidth: 56, pixelHeight: 56 }));
  const built = await qwen2vl.build({ processor, task: 'ask', prompt: 'What happens?', images, regions: [], dialect: 'qwen2_vl', video: { duration: 40, times: [2.5, 12.48, 37.5] }, cat: (t, d) => cat(t as never, d) as never });
  const text = (processor as { tokenizer: { decode(ids: unknown, o: object): string } }).tokenizer.decode((built.inputs.input_ids as unknown as { tolist(): number[][] }).tolist()[0], { skip_special_tokens: false }).replace(/(<\|image_pad\|>)+/g, '<|image_pad|>');
  assert.match(text, /<\|im_start\|>user\nThe following 3 frames are sampled from a 0:40 video, each after its time\.\nFrame at 0:02\.5:\n<\|vision_start\|><\|image_pad\|><\|vision_end\|>\nFrame at 0:12\.5:\n<\|vision_start\|><\|image_pad\|><\|vision_end\|>\nFrame at 0:37\.5:\n<\|vision_start\|><\|image_pad\|><\|vision_end\|>\nWhat happens\?<\|im_end\|>/);
});
