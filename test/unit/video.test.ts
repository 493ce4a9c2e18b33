// The video vocabulary without ffmpeg or a model: `@video` lines, ranges, `@set frames/fps`, `@region <time>`,
// times as written and shown, uniform sampling, SmolVLM2's prompt text, and how many frames a question samples.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipFacts, formatTime, framesLabel, hmsDuration, mmss, numberWords, parseRange, parseTime, sampleTimes } from '../../src/common/video';
import { isImageCell, parseCell } from '../../src/core/cells/parser';
import { isVideoCell } from '../../src/core/cells/video';
import { defaultFrameCount } from '../../src/core/kernel/video';
import { smolvlmVideoText } from '../../src/engine/local/families/idefics3';

test('@video: a path, quoted or not, and an optional range; a cell of @video lines only is a video cell', () => {
  const c = parseCell('@video clips/a.mp4\n@video "my clip.mov" 0:10-0:40\n@video b.webm 1:00-\n@set frames=12');
  assert.deepEqual(c.errors, []);
  assert.deepEqual(c.videos!.map((v) => [v.source, v.range, v.line, v.column]), [
    ['clips/a.mp4', undefined, 1, 8],
    ['my clip.mov', { start: 10, end: 40 }, 2, 8],
    ['b.webm', { start: 60 }, 3, 8],
  ]);
  assert.deepEqual(c.sampling, { frames: 12 });
  assert.ok(isVideoCell(c) && !isImageCell(c));
  // A file name with a dash is a path, not a range.
  assert.equal(parseCell('@video my-clip.mp4').videos![0]!.source, 'my-clip.mp4');
  const q = parseCell('@video a.mp4 -0:30\n@set fps=0.5 seed=3\n@task caption');
  assert.deepEqual([q.videos![0]!.range, q.sampling, q.params, isVideoCell(q)], [{ end: 30 }, { fps: 0.5 }, { seed: 3 }, false]);
});

test('@video, sampling and @region <time>: mistakes say what is wrong, where', () => {
  const msg = (src: string) => parseCell(src).errors.map((e) => `${e.line}:${e.column} ${e.message}`);
  assert.deepEqual(msg('@video'), ['1:7 @video needs the path of a video file (mp4, mov, webm, mkv, avi, animated GIF)']);
  assert.deepEqual(msg('@video a.mp4 0:40-0:10'), ['1:8 @video range needs its end after its start (start-end)']);
  assert.deepEqual(msg('@video a.mp4 0:6x-1:00'), ['1:8 @video range must look like 0:10-0:40 (start-end; either may be left out), found "0:6x-1:00"']);
  assert.deepEqual(msg('@video https://x.org/a.mp4'), ['1:8 @video reads local files, not https: URLs: download the clip next to the notebook and write its path']);
  assert.deepEqual(msg('@video a.mp4\n@image b.png'), ['1:8 a cell takes @video or @image lines, not both: put the images in a cell of their own']);
  assert.deepEqual(msg('@video a.mp4\n@video b.mp4\nWhat happens?'), ['2:8 a prompt cell takes one @video: ask about each clip in a cell of its own']);
  assert.deepEqual(msg('@video a.mp4\n@set frames=0'), ['2:6 frames must be a whole number between 1 and 64, found "0"']);
  assert.deepEqual(msg('@video a.mp4\n@set fps=60'), ['2:6 fps must be a number in (0, 30], found "60"']);
  assert.deepEqual(msg('@video a.mp4\n@set frames=8 fps=1'), ['2:15 @set takes frames=N or fps=x, not both: frames samples N frames spread evenly, fps a frame every 1/x seconds']);
  assert.deepEqual(msg('@image a.png\n@set frames=8'), ['2:6 @set frames=… and fps=… sample a @video, but the cell has none']);
  assert.deepEqual(msg('@video a.mp4\n@task describe-region\n@region [1, 2, 3, 4]'), ['3:9 @region on a video cell names a frame by its time: @region 0:12 [x1, y1, x2, y2]']);
  assert.deepEqual(msg('@image a.png\n@region 0:12 [1, 2, 3, 4]'), ['2:9 @region with a time names a frame of a @video, but the cell has no @video']);
  // A clip is not a batch: @video and @images do not mix.
  assert.deepEqual(msg('@video a.mp4\n@images photos/*.jpg\n@task caption'), ['1:8 @video and @images do not mix: a batch (@images) runs the same prompt on each image it matches; ask about a clip in a cell of its own']);
  const r = parseCell('@video a.mp4\n@task describe-region\n@region 1:02.5 [10, 20, 30, 40]');
  assert.deepEqual(r.errors, []);
  assert.deepEqual([r.regions[0]!.time, r.regions[0]!.box], [62.5, [10, 20, 30, 40]]);
  assert.equal(parseCell('@video a.mp4\n@region 12s [1, 2, 3, 4]').regions[0]!.time, 12);
});

test('times: as written (seconds, m:ss, h:mm:ss, 12s) and as shown (to the hundredth; SmolVLM2\'s own forms)', () => {
  assert.deepEqual(['12', '12.5', '12s', '0:12', '1:02:03.5', '90'].map((t) => parseTime(t)), [12, 12.5, 12, 12, 3723.5, 90]);
  assert.deepEqual(['0:60', '1:2:3:4', 'x', '-1', ''].map((t) => parseTime(t)), [undefined, undefined, undefined, undefined, undefined]);
  assert.equal(parseTime('12', { bare: false }), undefined, 'where a bare number means an image, a time needs a colon or s');
  assert.deepEqual(parseRange('0:10-0:40'), { start: 10, end: 40 });
  assert.equal(parseRange('-'), undefined);
  assert.deepEqual([formatTime(0), formatTime(12.48), formatTime(62.5), formatTime(3723.456)], ['0:00.00', '0:12.48', '1:02.50', '1:02:03.46']);
  assert.deepEqual([hmsDuration(40.9), hmsDuration(3723), mmss(61.9), mmss(7.2)], ['0:00:40', '1:02:03', '01:01', '00:07']);
  assert.deepEqual([1, 8, 21, 24, 64, 100].map(numberWords), ['one', 'eight', 'twenty-one', 'twenty-four', 'sixty-four', 'one hundred']);
});

test('uniform sampling: N frames at the centres of N equal segments of the range (MM1.5); fps a frame every 1/x s', () => {
  assert.deepEqual(sampleTimes(0, 40, { frames: 4 }, 8), [5, 15, 25, 35]);
  assert.deepEqual(sampleTimes(10, 20, {}, 2), [12.5, 17.5]);
  assert.deepEqual(sampleTimes(0, 3, { fps: 1 }, 8), [0.5, 1.5, 2.5]);
  assert.deepEqual(sampleTimes(0, 0.4, { fps: 1 }, 8), [0.4], 'a clip shorter than one step still gives a frame');
  assert.throws(() => sampleTimes(0, 600, { fps: 1 }, 8), /fps=1 over 10:00 takes 600 frames; Loupe samples at most 64: lower fps, shorten the range, or write frames=N/);
});

test('SmolVLM2\'s video text, as its Python processor writes it', () => {
  assert.equal(
    smolvlmVideoText({ duration: 40.7, times: [5, 15.2, 61] }),
    'You are provided the following series of three frames from a 0:00:40 [H:MM:SS] video.\n\nFrame from 00:05:<image>\nFrame from 00:15:<image>\nFrame from 01:01:<image>\n\n',
  );
});

test('default frame count: a filmstrip for per-frame tasks and single-image models; a question by the model\'s image budget, at most 24', () => {
  const smol = { capabilities: ['ask', 'caption', 'multi-image'] as const, frameTokens: 64 };
  const qwen = { capabilities: ['ask', 'ground', 'multi-image'] as const };
  const florence = { capabilities: ['caption', 'ground'] as const };
  assert.equal(defaultFrameCount(smol as never, 'ask', 1280), 24);
  assert.equal(defaultFrameCount(qwen as never, 'ask', 1280), 6);
  assert.equal(defaultFrameCount(qwen as never, 'ask', 256), 24);
  assert.equal(defaultFrameCount(qwen as never, 'ground', 1280), 8);
  assert.equal(defaultFrameCount(florence as never, 'caption', 1280), 8);
});

test('facts and frame labels read the same everywhere', () => {
  const v = { index: 1, source: 'clip.mp4', duration: 40.2, fps: 25, width: 1080, height: 1920, codec: 'h264', rotation: 90, sampling: { frames: 2 }, frames: [1, 2], range: [10, 30] as [number, number] };
  assert.equal(clipFacts(v), 'clip.mp4: 0:40, 25 fps, 1080×1920, h264, rotated 90°, range 0:10.00-0:30.00, 2 frames, uniform');
  assert.equal(clipFacts({ ...v, error: 'boom' }), 'clip.mp4: boom');
  const images = [{ index: 1, time: 12.48 }, { index: 2, time: 20 }, { index: 3 }];
  assert.deepEqual([framesLabel(images, [1]), framesLabel(images, [1, 2]), framesLabel(images, [3])], ['Frame at 0:12.48', 'Frames 0:12.48-0:20.00', undefined]);
});
