// Clips generated at test time with Debian's ffmpeg (installed by test/e2e/setup.sh) from fixture frames: a dark
// picture with one bright square that moves right by SPOT_STEP pixels each frame, so a frame's spot tells which frame
// it is, and the fixture models' boxes (which follow the brightest region) move with it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

export const HAS_FFMPEG = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0 && spawnSync('ffprobe', ['-version'], { stdio: 'ignore' }).status === 0;
/**
 * Why video tests are skipped: only with LOUPE_E2E_SKIP set and no ffmpeg (npm test runs test/e2e/setup.sh, which
 * installs Debian's ffmpeg). Otherwise a missing ffmpeg fails the tests, saying so.
 */
export const NO_FFMPEG = HAS_FFMPEG || !process.env.LOUPE_E2E_SKIP ? false : 'ffmpeg/ffprobe not found and LOUPE_E2E_SKIP is set: run test/e2e/setup.sh (it installs Debian\'s ffmpeg)';

export const SPOT = { width: 480, height: 270, size: 60, top: 100, left0: 12, step: 16 } as const;

/** The spot's box in frame k: [x1, y1, x2, y2). */
export function spotBox(k: number): [number, number, number, number] {
  const x = SPOT.left0 + k * SPOT.step;
  return [x, SPOT.top, x + SPOT.size, SPOT.top + SPOT.size];
}

async function spotFrame(k: number): Promise<Buffer> {
  const [x1, y1] = spotBox(k);
  return sharp({ create: { width: SPOT.width, height: SPOT.height, channels: 3, background: { r: 16, g: 16, b: 24 } } })
    .composite([{ input: { create: { width: SPOT.size, height: SPOT.size, channels: 3, background: { r: 255, g: 255, b: 255 } } }, left: x1, top: y1 }])
    .png()
    .toBuffer();
}

export interface ClipSpec {
  frames: number;
  /** Constant frame rate; ignored when `durations` gives each frame's own display time (a variable frame rate). */
  fps?: number;
  durations?: number[];
  /** Rotation metadata (degrees, as ffmpeg 5.1's `rotate` tag), added without re-encoding. */
  rotate?: number;
  /** ffmpeg encoder options; default H.264 in yuv420p. */
  codec?: string[];
  /** Keyframe interval in frames (x264's -g). */
  gop?: number;
}

const ff = (args: string[]) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });

/** Writes the frames as PNG and encodes them into `path` (the container from its extension). */
export async function makeSpotClip(path: string, spec: ClipSpec): Promise<string> {
  const dir = `${path}.frames`;
  mkdirSync(dir, { recursive: true });
  for (let k = 0; k < spec.frames; k++) writeFileSync(join(dir, `f${String(k).padStart(3, '0')}.png`), await spotFrame(k));
  const codec = spec.codec ?? ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', ...(spec.gop ? ['-g', String(spec.gop)] : [])];
  const target = spec.rotate ? `${path}.plain${path.slice(path.lastIndexOf('.'))}` : path;
  if (spec.durations) {
    // The concat demuxer gives each frame its own duration: a variable frame rate.
    const list = spec.durations.map((d, k) => `file 'f${String(k).padStart(3, '0')}.png'\nduration ${d}\n`).join('') + `file 'f${String(spec.frames - 1).padStart(3, '0')}.png'\n`;
    writeFileSync(join(dir, 'list.txt'), list);
    ff(['-f', 'concat', '-i', join(dir, 'list.txt'), '-fps_mode', 'vfr', ...codec, target]);
  } else {
    ff(['-framerate', String(spec.fps ?? 12), '-i', join(dir, 'f%03d.png'), ...codec, target]);
  }
  if (spec.rotate) {
    ff(['-i', target, '-c', 'copy', '-metadata:s:v:0', `rotate=${spec.rotate}`, path]);
    rmSync(target, { force: true });
  }
  rmSync(dir, { recursive: true, force: true });
  return path;
}

/** Every frame's own time in the file, as ffprobe lists them (the ground truth for timestamps). */
export function framePts(path: string): number[] {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.split(',')[0]!.trim()).filter(Boolean).map(Number);
}

/** The bright square's bounding box in a decoded frame (pixels brighter than mid-grey). */
export async function brightBox(png: string | Buffer): Promise<[number, number, number, number] | undefined> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -1;
  let y2 = -1;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const o = (y * info.width + x) * info.channels;
      if (data[o]! + data[o + 1]! + data[o + 2]! < 3 * 128) continue;
      x1 = Math.min(x1, x);
      y1 = Math.min(y1, y);
      x2 = Math.max(x2, x + 1);
      y2 = Math.max(y2, y + 1);
    }
  }
  return x2 < 0 ? undefined : [x1, y1, x2, y2];
}

/** Which frame of a spot clip an (upright, unrotated) picture is: the k whose spot starts nearest. */
export function frameOf(box: [number, number, number, number]): number {
  return Math.round((box[0] - SPOT.left0) / SPOT.step);
}

/** A copy of an mp4 cut to its first `bytes` bytes (the index is at the end: "moov atom not found"). */
export function truncated(src: string, dst: string, bytes: number): string {
  writeFileSync(dst, readFileSync(src).subarray(0, bytes));
  return dst;
}
