// B9 (not a test): 8 frames from a 10-minute 1080p H.264 clip. Loupe's extraction (ffprobe, then one seek per frame
// with `openVideo` + `extractFrames`, a cold frame cache each round) against decoding every frame of the clip with the
// same ffmpeg (`ffmpeg -i clip -f null -`), alternating, in one run. Writes the "## B9" section of BENCHMARKS.md.
//
//   node --import tsx bench/video.ts [--quick]
//
// The clips are generated once with Debian's ffmpeg into bench/.out/video/ (git-ignored): x264's default keyframe
// interval (250 frames, 10 s at 25 fps) and a 2-second one (50 frames, as phones and streaming services write).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleTimes } from '../src/common/video';
import { extractFrames, openVideo } from '../src/images/video';
import { fmt, ROOT, summarize, type Summary } from './common';
import { log, machine } from './setup';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 5;
const FRAMES = 8;
const MINUTES = 10;
const OUT = join(ROOT, 'bench', '.out', 'video');

interface Clip {
  name: string;
  gop: number;
  path: string;
}

function ffmpegVersion(): string {
  return execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split('\n')[0]!.replace(/ Copyright.*/, '');
}

/** A 10-minute 1920×1080 25 fps H.264 clip of ffmpeg's moving test pattern, made once. */
function clip(gop: number): Clip {
  mkdirSync(OUT, { recursive: true });
  const name = `testsrc2-1080p-${MINUTES}min-gop${gop}.mp4`;
  const path = join(OUT, name);
  if (!existsSync(path)) {
    log(`generating ${name} (about 3 minutes on 2 cores)…`);
    const t = Date.now();
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `testsrc2=s=1920x1080:r=25:d=${MINUTES * 60}`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '28', '-g', String(gop), '-pix_fmt', 'yuv420p', `${path}.tmp.mp4`], { stdio: 'inherit' });
    execFileSync('mv', [`${path}.tmp.mp4`, path]);
    log(`  ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }
  return { name, gop, path };
}

/** Loupe's path with a cold cache: probe, sample 8 uniform times, one seeking ffmpeg per frame (2 at a time here). */
async function loupeOnce(c: Clip): Promise<{ ms: number; times: number[] }> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'loupe-b9-'));
  try {
    const t0 = performance.now();
    const facts = await openVideo(c.path, { cacheDir });
    const frames = await extractFrames(facts, sampleTimes(0, facts.duration, { frames: FRAMES }, FRAMES), { cacheDir });
    return { ms: performance.now() - t0, times: frames.map((f) => f.time) };
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** Every frame decoded by the same ffmpeg, with its default threads: what extraction without seeking costs at least. */
function fullDecodeOnce(c: Clip): { ms: number; frames: number } {
  const t0 = performance.now();
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'info', '-stats_period', '60', '-i', c.path, '-map', '0:v:0', '-f', 'null', '-'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr.slice(-500)}`);
  // The last progress line says how many frames were decoded.
  const frames = Number(/frame=\s*(\d+)/.exec(r.stderr.split(/[\r\n]/).filter((l) => /frame=/.test(l)).at(-1) ?? '')?.[1] ?? NaN);
  return { ms, frames };
}

async function main(): Promise<void> {
  const m = machine();
  const version = ffmpegVersion();
  const clips = [clip(250), clip(50)];
  const loadBefore = loadavg()[0]!;
  const rows: { c: Clip; loupe: Summary; full: Summary; ratio: Summary; frames: number; times: number[] }[] = [];
  for (const c of clips) {
    log(`B9 ${c.name}: warm-up…`);
    await loupeOnce(c);
    const loupe: number[] = [];
    const full: number[] = [];
    let frames = 0;
    let times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Alternating, so both sides see the same machine (it is shared).
      const l = await loupeOnce(c);
      const f = fullDecodeOnce(c);
      loupe.push(l.ms);
      full.push(f.ms);
      frames = f.frames;
      times = l.times;
      log(`  round ${i + 1}: Loupe ${l.ms.toFixed(0)} ms, every frame ${f.ms.toFixed(0)} ms (${f.frames} frames)`);
    }
    rows.push({ c, loupe: summarize(loupe), full: summarize(full), ratio: summarize(full.map((v, i) => v / loupe[i]!)), frames, times });
  }

  const section = [
    '## B9 Video frame extraction',
    '',
    `8 frames from a 10-minute 1920×1080 25 fps H.264 clip (generated: ffmpeg's \`testsrc2\` pattern, x264 \`-preset veryfast -crf 28\`). **Loupe**: \`openVideo\` (ffprobe) and \`extractFrames\` (\`src/images/video.ts\`) with a cold frame cache: one \`ffmpeg -ss\` per frame, seeking to the keyframe before it and decoding from there, PNG out, ${Math.min(4, m.cores)} at a time, one thread each. **Every frame**: \`ffmpeg -i clip -f null -\` with the same ffmpeg and its default threads (decoding alone: extracting 8 frames without seeking costs at least this). Alternating, ${ROUNDS} rounds each, medians (min–max). ${version}; ${m.cpu}, ${m.cores} cores, shared (1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after); ${m.date}.`,
    '',
    '| clip (keyframe interval) | Loupe, 8 frames (ms) | every frame decoded (ms) | ratio (every frame ÷ Loupe) |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.c.gop} frames (${r.c.gop / 25} s)${r.c.gop === 250 ? ', x264 default' : ''} | ${fmt(r.loupe, 0)} | ${fmt(r.full, 0)} (${r.frames} frames) | **${fmt(r.ratio, 1, '×')}** |`),
    '',
    `Goal: ≥ 20× faster. Seeking decodes from the keyframe before each sample, about half a keyframe interval per frame, so decoding alone bounds the ratio at about ${rows.map((r) => `${(r.frames / (FRAMES * (r.c.gop / 2 + 1))).toFixed(0)}× for ${r.c.gop}-frame intervals`).join(' and ')} (process starts, probing and PNG writing come on top). Medians here: ${rows.map((r) => `${r.ratio.median.toFixed(1)}× (${r.c.gop}-frame intervals, goal ${r.ratio.median >= 20 ? 'met' : 'missed'})`).join(', ')}. The machine is shared with other test runs: single rounds vary by up to 5×, on both sides. Frame times taken (s): ${rows[0]!.times.map((t) => t.toFixed(2)).join(', ')}.`,
    '',
  ].join('\n');
  const file = join(ROOT, 'BENCHMARKS.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const re = /^## B9 Video frame extraction\n[\s\S]*?(?=^## |(?![\s\S]))/m;
  const next = re.test(old) ? old.replace(re, section + '\n') : old.includes('\n## Renderer\n') ? old.replace('\n## Renderer\n', `\n${section}\n## Renderer\n`) : `${old.trimEnd()}\n\n${section}`;
  writeFileSync(file, next.replace(/\n{3,}/g, '\n\n').replace(/\n*$/, '\n'));
  log(`wrote the B9 section of ${file}`);
  console.log(JSON.stringify(rows.map((r) => ({ gop: r.c.gop, loupeMs: r.loupe.median, fullMs: r.full.median, ratio: r.ratio.median }))));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
