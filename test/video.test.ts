// Video decoding with the real ffmpeg on clips generated here: facts, timestamps exact to one frame, rotation,
// variable frame rate, the frame cache, and every bad input with the message it gets (no model involved).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { isLoupeError } from '../src/common/errors';
import { RESULT_MIME, type LoupeResult } from '../src/common/result';
import { parseCell } from '../src/core/cells/parser';
import { Kernel, type KernelCell } from '../src/core/kernel/kernel';
import type { OutputSpec } from '../src/core/kernel/outputs';
import { loadClip, videoOptions, type VideoSettings } from '../src/core/kernel/video';
import { extractFrames, openVideo } from '../src/images/video';
import { ensureBuilt, FIXTURE_ALIASES, runCli } from './helpers/cli';
import { brightBox, framePts, frameOf, makeSpotClip, NO_FFMPEG, SPOT, spotBox, truncated } from './helpers/video';

const dir = mkdtempSync(join(tmpdir(), 'loupe-video-'));
const cache = join(dir, 'frames');
const clips: Record<string, string> = {};
const FPS = 12;
const FRAMES = 24;

before(async () => {
  if (NO_FFMPEG) return;
  clips.cfr = await makeSpotClip(join(dir, 'spot.mp4'), { frames: FRAMES, fps: FPS });
  clips.rotated = await makeSpotClip(join(dir, 'rotated.mp4'), { frames: 6, fps: FPS, rotate: 90 });
  // Frames held 0.5, 0.1, 1.0, 0.2, 0.7 and 0.5 s: a variable frame rate.
  clips.vfr = await makeSpotClip(join(dir, 'vfr.mkv'), { frames: 6, durations: [0.5, 0.1, 1.0, 0.2, 0.7, 0.5] });
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=1', join(dir, 'audio.m4a')]);
});

const opts = (extra: Partial<Parameters<typeof videoOptions>[0]> = {}, signal = new AbortController().signal) => videoOptions({ framesDir: cache, ...extra }, 50_000_000, dir, signal);
const ref = (source: string, range?: { start?: number; end?: number }) => ({ source, line: 1, column: 8, ...(range ? { range } : {}) });
const failure = async (p: Promise<unknown>): Promise<{ code: string; message: string }> => {
  try {
    await p;
  } catch (e) {
    assert.ok(isLoupeError(e), `a LoupeError, got ${(e as Error)?.stack}`);
    return { code: e.code, message: e.message };
  }
  assert.fail('expected an error');
};

test('facts of a clip come from ffprobe: length, frame rate, size, codec, rotation', { skip: NO_FFMPEG }, async () => {
  const f = await openVideo('spot.mp4', opts());
  assert.deepEqual([f.duration, f.fps, f.width, f.height, f.codecName, f.rotation, f.hasAudio, f.variableFrameRate], [FRAMES / FPS, FPS, SPOT.width, SPOT.height, 'h264', 0, false, false]);
  const r = await openVideo('rotated.mp4', opts());
  // Stored 480×270 and turned by the player: frames come out upright, 270×480.
  assert.deepEqual([r.rotation, r.codedWidth, r.codedHeight, r.width, r.height], [90, SPOT.width, SPOT.height, SPOT.height, SPOT.width]);
});

test('uniform sampling takes the frame shown at each segment centre, and each frame carries its own timestamp, exact to the frame', { skip: NO_FFMPEG }, async () => {
  const warnings: string[] = [];
  const clip = await loadClip(ref('spot.mp4'), 1, opts(), { sampling: { frames: 8 }, defaultFrames: 8 }, warnings);
  const pts = framePts(clips.cfr!);
  assert.equal(pts.length, FRAMES);
  assert.equal(clip.frames.length, 8);
  for (let i = 0; i < 8; i++) {
    const centre = ((i + 0.5) * 2) / 8;
    const want = pts.reduce((w, p, j) => (p <= centre + 1e-6 ? j : w), -1);
    const f = clip.frames[i]!;
    assert.ok(f.ok);
    // The picture is frame `want` (its spot says so), and the time reported is that frame's own.
    const k = frameOf((await brightBox(f.image.path!))!);
    assert.equal(k, want, `sample ${i} at ${centre} s shows frame ${k}, expected ${want}`);
    assert.ok(Math.abs(clip.times[i]! - pts[want]!) < 1e-3, `time ${clip.times[i]} vs frame ${want} at ${pts[want]}`);
    assert.ok(clip.times[i]! <= centre + 1e-4 && centre - clip.times[i]! < 1 / FPS, 'the frame shown at the sample time');
    assert.match(f.image.source, /^spot\.mp4 @ 0:0\d\.\d\d$/);
  }
  assert.deepEqual(clip.video.sampling, { frames: 8 });
  assert.deepEqual(warnings, []);
  // fps=3 over the range 0:01-0:02: three frames, one every 1/3 s.
  const part = await loadClip(ref('spot.mp4', { start: 1, end: 2 }), 1, opts(), { sampling: { fps: 3 }, defaultFrames: 8 }, warnings);
  assert.equal(part.frames.length, 3);
  assert.deepEqual(part.video.range, [1, 2]);
  assert.ok(part.times.every((t, i) => t <= 1 + (i + 0.5) / 3 + 1e-4 && t > 1 + (i + 0.5) / 3 - 1 / FPS), JSON.stringify(part.times));
  // As many samples as frames: each centre falls in its own frame's display time, the last one after the last timestamp.
  const every = await loadClip(ref('spot.mp4'), 1, opts(), { sampling: { frames: FRAMES }, defaultFrames: 8 }, warnings);
  assert.equal(every.frames.length, FRAMES);
  every.times.forEach((t, k) => assert.ok(Math.abs(t - pts[k]!) < 1e-3, `frame ${k}: ${t} vs ${pts[k]}`));
  assert.equal(frameOf((await brightBox((every.frames.at(-1) as { image: { path: string } }).image.path))!), FRAMES - 1);
});

test('rotation metadata is applied: frames are upright, the spot where the player shows it', { skip: NO_FFMPEG }, async () => {
  const clip = await loadClip(ref('rotated.mp4'), 1, opts(), { sampling: { frames: 2 }, defaultFrames: 2 }, []);
  const f = clip.frames[1]!;
  assert.ok(f.ok);
  assert.deepEqual([f.image.width, f.image.height], [SPOT.height, SPOT.width]);
  const k = Math.round(clip.times[1]! * FPS);
  // Turned 90° counterclockwise (display matrix 90): stored (x, y) is shown at (y, width − x).
  const [x1, y1, x2, y2] = spotBox(k);
  const want = [y1, SPOT.width - x2, y2, SPOT.width - x1];
  const got = (await brightBox(f.image.path!))!;
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 2, `upright spot ${got} vs ${want}`));
});

test('variable frame rate: every frame shows at its own time, and samples that land on one held frame take it once', { skip: NO_FFMPEG }, async () => {
  const pts = framePts(clips.vfr!);
  const clip = await loadClip(ref('vfr.mkv'), 1, opts(), { sampling: { frames: 10 }, defaultFrames: 10 }, []);
  assert.ok(clip.frames.length < 10 && clip.frames.length >= 4, `distinct frames: ${clip.times}`);
  assert.match(clip.video.notes?.join(' ') ?? '', /10 sample times gave \d distinct frames/);
  // The concat demuxer repeats the last picture as a final frame: picture k is at pts[k], or also at the end for the last.
  const pictureAt = (j: number) => Math.min(j, 5);
  for (let i = 0; i < clip.frames.length; i++) {
    const f = clip.frames[i]!;
    assert.ok(f.ok);
    const k = frameOf((await brightBox(f.image.path!))!);
    assert.ok(pts.some((p, j) => pictureAt(j) === k && Math.abs(clip.times[i]! - p) < 1e-3), `picture ${k}: reported ${clip.times[i]} (frame times: ${pts})`);
  }
  assert.deepEqual([...clip.times].sort((a, b) => a - b), clip.times, 'in time order');
});

test('frames are cached by file identity and sampling: a rerun decodes nothing (no ffmpeg at all); an edited file is read again', { skip: NO_FFMPEG }, async () => {
  const own = join(dir, 'cache-test');
  const first = await loadClip(ref('spot.mp4'), 1, opts({ framesDir: own }), { sampling: { frames: 4 }, defaultFrames: 4 }, []);
  assert.equal(first.video.cached, undefined);
  // No ffmpeg where the settings point: only a cache hit can succeed.
  const again = await loadClip(ref('spot.mp4'), 1, opts({ framesDir: own, ffmpegPath: join(dir, 'no-ffmpeg-here') }), { sampling: { frames: 4 }, defaultFrames: 4 }, []);
  assert.equal(again.video.cached, true);
  assert.deepEqual(again.times, first.times);
  // Another sampling of the same file needs ffmpeg: the cache holds what was decoded, not more.
  const other = await failure(loadClip(ref('spot.mp4'), 1, opts({ framesDir: own, ffmpegPath: join(dir, 'no-ffmpeg-here') }), { sampling: { frames: 5 }, defaultFrames: 5 }, []));
  assert.equal(other.code, 'ffmpeg-missing');
  // The same name with other bytes is another clip.
  const copy = join(dir, 'edited.mp4');
  writeFileSync(copy, readFileSync(clips.cfr!));
  await loadClip(ref('edited.mp4'), 1, opts({ framesDir: own }), { sampling: { frames: 4 }, defaultFrames: 4 }, []);
  await makeSpotClip(copy, { frames: 12, fps: FPS });
  const edited = await loadClip(ref('edited.mp4'), 1, opts({ framesDir: own }), { sampling: { frames: 4 }, defaultFrames: 4 }, []);
  assert.equal(edited.video.cached, undefined);
  assert.equal(edited.video.duration, 1);
});

/** A folder with a real ffprobe and an `ffmpeg` that runs `script` instead. */
function fakeFfmpeg(name: string, script: string): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  symlinkSync(execFileSync('sh', ['-c', 'command -v ffprobe'], { encoding: 'utf8' }).trim(), join(d, 'ffprobe'));
  writeFileSync(join(d, 'ffmpeg'), `#!/bin/sh\n${script}\n`);
  chmodSync(join(d, 'ffmpeg'), 0o755);
  return d;
}

test('bad input: each gets an error naming the cause (and the fix where there is one)', { skip: NO_FFMPEG, timeout: 60_000 }, async () => {
  const bad = async (source: string, extra: Partial<VideoSettings> = {}, pick: { range?: { start?: number; end?: number }; maxPixels?: number } = {}) =>
    failure(loadClip(ref(source, pick.range), 1, { ...opts(extra), ...(pick.maxPixels ? { maxPixels: pick.maxPixels } : {}) }, { defaultFrames: 4 }, []));
  // Truncated: the index of an mp4 is at its end.
  truncated(clips.cfr!, join(dir, 'truncated.mp4'), Math.floor(readFileSync(clips.cfr!).length * 0.8));
  // With its index in front (faststart) a cut file opens, but its later frames are gone.
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', clips.cfr!, '-c', 'copy', '-movflags', '+faststart', join(dir, 'faststart.mp4')]);
  truncated(join(dir, 'faststart.mp4'), join(dir, 'cut.mp4'), Math.floor(readFileSync(join(dir, 'faststart.mp4')).length * 0.5));
  writeFileSync(join(dir, 'corrupt.mp4'), Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 251)));
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=s=64x64:d=1', '-frames:v', '0', '-c:v', 'libx264', join(dir, 'zero.mp4')]);
  writeFileSync(join(dir, 'empty.mp4'), '');
  // An unknown codec: a Matroska file whose codec id is no codec ffmpeg knows (same length, so the file stays valid).
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', clips.cfr!, '-c', 'copy', join(dir, 'h264.mkv')]);
  const mkv = readFileSync(join(dir, 'h264.mkv'));
  writeFileSync(join(dir, 'unknown.mkv'), Buffer.from(mkv.toString('latin1').replace('V_MPEG4/ISO/AVC', 'V_LOUPE/NO/SUCH'), 'latin1'));
  mkdirSync(join(dir, 'a-folder.mp4'), { recursive: true });
  await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png().toFile(join(dir, 'still.png'));

  // The slow ffmpeg's cache already has the clip's facts: only ffmpeg (not ffprobe) meets the short timeout.
  await openVideo('spot.mp4', opts({ framesDir: join(dir, 'f4') }));
  const cases: [string, Promise<{ code: string; message: string }>, RegExp][] = [
    ['truncated', bad('truncated.mp4'), /^truncated\.mp4 (has no video stream ffprobe can read \(only data\): it is truncated|is not a video Loupe can read: it is corrupt, truncated)/],
    ['truncated, index first', bad('cut.mp4'), /no frame of cut\.mp4 could be decoded at \d:\d\d\.\d\d: the file is (probably )?truncated or damaged there/],
    ['corrupt', bad('corrupt.mp4'), /corrupt\.mp4 is not a video Loupe can read.*Invalid data/],
    ['audio only', bad('audio.m4a'), /audio\.m4a has no video stream: it is an audio-only file \(aac\)/],
    ['zero length', bad('zero.mp4'), /zero\.mp4 has no video stream and no frames: a zero-length or empty clip/],
    ['empty file', bad('empty.mp4'), /empty\.mp4 is empty \(0 bytes\)/],
    ['unknown codec', bad('unknown.mkv'), /unknown\.mkv's video codec .* is unknown to this ffmpeg, which cannot decode it: convert the clip/],
    ['missing', bad('nope.mp4'), /^video not found: nope\.mp4$/],
    ['folder', bad('a-folder.mp4'), /a-folder\.mp4 is a folder, not a video file/],
    ['still image', bad('still.png'), /still\.png is a still image, not a video: show it with @image/],
    ['range outside', bad('spot.mp4', {}, { range: { start: 5, end: 9 } }), /@video spot\.mp4 0:05-0:09 \(line 1\) starts after the end of the clip, which lasts 0:02\.00/],
    ['pixel limit', bad('spot.mp4', {}, { maxPixels: 100_000 }), /spot\.mp4's frames are 480×270 pixels \(0\.1 MP\), above the limit of 0 MP per frame \(setting loupe\.maxImagePixels\): no frame was decoded/],
    ['too long a clip', bad('spot.mp4', { maxVideoMinutes: 0.01 }), /spot\.mp4 lasts 0:02, longer than the 0\.01 minutes Loupe reads \(setting loupe\.maxVideoMinutes\): nothing was decoded/],
    ['ffmpeg missing', bad('spot.mp4', { ffmpegPath: join(dir, 'nowhere'), framesDir: join(dir, 'f2') }), /setting loupe\.ffmpegPath is ".*nowhere", but .* not there or not executable.*sudo apt install ffmpeg.*brew install ffmpeg/],
    ['ffmpeg crashing', bad('spot.mp4', { ffmpegPath: fakeFfmpeg('crash', 'kill -SEGV $$'), framesDir: join(dir, 'f3') }), /ffmpeg crashed \(SIGSEGV\) decoding the frame at 0:00\.\d\d of spot\.mp4/],
    ['ffmpeg too slow', bad('spot.mp4', { ffmpegPath: fakeFfmpeg('slow', 'exec sleep 30'), framesDir: join(dir, 'f4'), timeoutMs: 1500 }), /ffmpeg took longer than 2 s decoding the frame at 0:00\.\d\d of spot\.mp4 and was stopped/],
  ];
  for (const [name, p, re] of cases) {
    const e = await p;
    assert.match(e.message, re, `${name}: ${e.message}`);
    assert.ok(['bad-video', 'bad-input', 'ffmpeg-missing'].includes(e.code), `${name}: code ${e.code}`);
  }
  // Nothing found on PATH: the message gives the install command for each OS.
  const { findFfmpeg } = await import('../src/images/video');
  assert.throws(() => findFfmpeg({ env: { PATH: join(dir, 'nowhere') } }), /Video cells need ffmpeg and ffprobe, and neither was found on PATH\. Install ffmpeg .*apt install ffmpeg.*dnf install ffmpeg.*brew install ffmpeg.*winget install.*Loupe does not download or bundle ffmpeg/);
});

test('cancel stops extraction at once: the ffmpeg process is killed and the cell is not marked failed; its earlier output stays', { skip: NO_FFMPEG, timeout: 30_000 }, async () => {
  const slow = fakeFfmpeg('slow-cancel', `echo $$ >> ${join(dir, 'slow-pids')}\nexec sleep 30`);
  const abort = new AbortController();
  const facts = await openVideo('spot.mp4', opts());
  const t0 = Date.now();
  const running = extractFrames(facts, [0.5, 1.5], { ...opts({ ffmpegPath: slow, framesDir: join(dir, 'f5') }, abort.signal), concurrency: 2 });
  setTimeout(() => abort.abort(), 500);
  const e = await failure(running);
  assert.equal(e.code, 'cancelled');
  assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
  await new Promise((r) => setTimeout(r, 200));
  const pids = readFileSync(join(dir, 'slow-pids'), 'utf8').trim().split('\n').map(Number);
  assert.equal(pids.length, 2, 'two ffmpeg processes were running');
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `ffmpeg ${pid} was killed`);

  // Through the kernel: the interrupted video cell keeps the output it had and is not marked failed.
  const settings: VideoSettings = { ffmpegPath: slow, framesDir: join(dir, 'f6') };
  const kernel = new Kernel({ isTrusted: () => true, maxImagePixels: () => 50_000_000, prompts: { run: () => Promise.reject(new Error('not a prompt cell')) }, video: () => settings });
  const updates: OutputSpec[][] = [];
  let success: boolean | undefined | 'unset' = 'unset';
  const ctl = new AbortController();
  const cell: KernelCell = {
    notebook: 'nb',
    baseDir: dir,
    source: '@video spot.mp4',
    language: 'loupe',
    createExecution: () => ({ signal: ctl.signal, start() {}, async replaceOutputs(o) { updates.push(o); }, end(s) { success = s; } }),
  };
  setTimeout(() => ctl.abort(), 500);
  await kernel.execute([cell]);
  assert.equal(success, undefined, 'interrupted, not failed');
  assert.deepEqual(updates, [], 'no output replaced the one the cell had');
});

test('a video cell through the kernel: facts, frames with their times, a contact sheet and text for other viewers', { skip: NO_FFMPEG }, async () => {
  const kernel = new Kernel({ isTrusted: () => true, maxImagePixels: () => 50_000_000, prompts: { run: () => Promise.reject(new Error('not a prompt cell')) }, video: () => ({ framesDir: cache }) });
  let out: OutputSpec[] = [];
  let ok: boolean | undefined;
  const source = '@video spot.mp4\n@set frames=6\n@video audio.m4a';
  assert.equal(parseCell(source).errors.length, 0);
  await kernel.execute([{ notebook: 'nb', baseDir: dir, source, language: 'loupe', createExecution: () => ({ signal: new AbortController().signal, start() {}, async replaceOutputs(o) { out = o; }, end(s) { ok = s; } }) }]);
  assert.equal(ok, false, 'one bad clip fails the cell');
  const r = JSON.parse(new TextDecoder().decode(out[0]!.items.find((i) => i.mime === RESULT_MIME)!.data)) as LoupeResult;
  assert.equal(r.kind, 'video');
  assert.equal(r.videos!.length, 2);
  assert.deepEqual(r.videos![0]!.frames, [1, 2, 3, 4, 5, 6]);
  assert.ok(r.images.every((i) => i.video === 1 && typeof i.time === 'number' && i.display!.data.length > 100));
  assert.match(r.videos![1]!.error!, /audio-only/);
  const sheet = out[0]!.items.find((i) => i.mime === 'image/png')!.data;
  const meta = await sharp(Buffer.from(sheet)).metadata();
  assert.ok(meta.width! <= 6 * 240 + 5 * 6 && meta.height! < 400, `a contact sheet, not a 6-frame-wide strip: ${meta.width}×${meta.height}`);
  const text = new TextDecoder().decode(out[0]!.items.find((i) => i.mime === 'text/plain')!.data);
  assert.match(text, /^Video 1: spot\.mp4: 0:02, 12 fps, 480×270, h264, 6 frames, uniform$/m);
  assert.match(text, /^Frame 1 at 0:00\.17 \(480×270\)$/m);
  assert.match(text, /^Video 2: audio\.m4a: audio\.m4a has no video stream/m);
});

test('loupe run: video cells run from the command line; a bad clip fails its cell only, and every result is saved', { skip: NO_FFMPEG, timeout: 120_000 }, async () => {
  ensureBuilt();
  const nb = join(dir, 'clips.loupe');
  const cells = ['@video spot.mp4\n@set frames=3', '@video audio.m4a', '@video spot.mp4\n@set frames=3\n@task ground\nthe spot'];
  writeFileSync(nb, JSON.stringify({ loupe: 1, metadata: {}, cells: cells.map((source) => ({ kind: 'code', language: 'loupe', source, metadata: {}, outputs: [] })) }));
  const r = await runCli(['run', nb, '--export', 'html', ...FIXTURE_ALIASES], { cwd: dir, env: { ...process.env, LOUPE_FRAMES_DIR: join(dir, 'cli-frames'), LOUPE_MODELS_DIR: join(dir, 'models'), HF_ENDPOINT: 'http://127.0.0.1:9' } });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => /^cell \d+ /.test(l));
  assert.match(lines[0]!, /^cell 1 {2}ok .* video {2}1 clip, 3 frames$/);
  assert.match(lines[1]!, /^cell 2 {2}FAIL .* audio\.m4a has no video stream: it is an audio-only file \(aac\)$/);
  assert.match(lines[2]!, /^cell 3 {2}ok .* ground {2}tiny-florence2/);
  const saved = JSON.parse(readFileSync(nb, 'utf8')) as { cells: { source: string; outputs: { items: { mime: string; json?: LoupeResult }[] }[] }[] };
  assert.deepEqual(saved.cells.map((c) => c.source), cells, 'sources unchanged');
  const results = saved.cells.map((c) => c.outputs.flatMap((o) => o.items).find((i) => i.mime === RESULT_MIME)?.json);
  assert.deepEqual(results.map((x) => [x?.kind, x?.status, x?.images.length]), [['video', 'ok', 3], ['video', 'error', 0], ['prompt', 'ok', 3]]);
  assert.ok(results[2]!.runs.every((run) => run.regions.length === 1), 'a box on every frame');
  const html = readFileSync(join(dir, 'clips.html'), 'utf8');
  assert.equal((html.match(/<span class="tick found"/g) ?? []).length, 3, 'the timeline marks the three frames with the spot');
  assert.match(html, /audio\.m4a has no video stream/);
});
