// Video clips through the user's own ffmpeg/ffprobe (found on PATH or at a configured path; Loupe downloads and
// bundles neither): facts from ffprobe, one frame per sample time by seeking (a 10-minute clip is never decoded
// whole), rotation metadata applied by ffmpeg, frames written as PNG into a cache keyed by the file's identity and
// the sample time, so a rerun decodes nothing. Every ffmpeg run has a timeout and stops when the cell is cancelled.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants as fsc, existsSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { cpus, setPriority } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { DEFAULTS } from '../common/defaults';
import { LoupeError } from '../common/errors';
import { formatDuration, formatTime } from '../common/video';
import { resolveImagePath } from './load';

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

export interface VideoOptions {
  /** Folder that relative paths are resolved against (the notebook's folder). */
  baseDir?: string;
  /** `loupe.ffmpegPath` (or the CLI's --ffmpeg): the ffmpeg binary or its folder; empty: PATH. */
  ffmpegPath?: string;
  /** How the user sets that path, for messages: a setting in VS Code, an option on the command line. */
  ffmpegSetting?: string;
  env?: NodeJS.ProcessEnv;
  /** Frames written here, one folder per clip (file identity). */
  cacheDir: string;
  maxPixels?: number;
  maxMinutes?: number;
  signal?: AbortSignal;
  /** Longest one ffmpeg or ffprobe run may take. */
  timeoutMs?: number;
  /** ffmpeg processes at once. */
  concurrency?: number;
}

/** What ffprobe says about a clip, and what identifies the file it read. */
export interface VideoFacts {
  source: string;
  path: string;
  bytes: number;
  /** Path, size, modification time and inode: a clip edited or replaced is another clip. */
  identity: string;
  /** Seconds of video. */
  duration: number;
  /** The file's first timestamp; frame times are counted from it (as players count them). */
  startTime: number;
  /** Average frame rate. */
  fps: number;
  variableFrameRate: boolean;
  /** Upright size (rotation applied), as frames come out of ffmpeg. */
  width: number;
  height: number;
  /** Stored size, before rotation. */
  codedWidth: number;
  codedHeight: number;
  codec: string;
  codecName: string;
  /** Degrees the player turns the stored picture counterclockwise (the display matrix, as ffprobe reports it). */
  rotation: number;
  container: string;
  hasAudio: boolean;
}

export interface ExtractedFrame {
  /** The sample time asked for, in seconds from the clip's start. */
  requested: number;
  /** The decoded frame's own time: the frame shown at `requested` (the last one whose timestamp is not after it). */
  time: number;
  /** The frame as PNG, upright, in the cache. */
  path: string;
  cached: boolean;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** Clips whose frames stay in the cache (least recently used go first). */
const CACHE_CLIPS = 64;
const CACHE_VERSION = 1;
const exe = (name: string) => (process.platform === 'win32' ? `${name}.exe` : name);

const INSTALL_HINT =
  'Install ffmpeg (it brings ffprobe): Debian/Ubuntu `sudo apt install ffmpeg`, Fedora `sudo dnf install ffmpeg` (RPM Fusion), Arch `sudo pacman -S ffmpeg`, macOS `brew install ffmpeg`, Windows `winget install Gyan.FFmpeg` (or `choco install ffmpeg`).';

export function videoError(message: string): LoupeError {
  return new LoupeError('bad-video', message);
}

function executable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, fsc.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** ffmpeg and ffprobe from the setting (a binary or its folder) or PATH; a clear message with install commands when missing. */
export function findFfmpeg(opts: Pick<VideoOptions, 'ffmpegPath' | 'ffmpegSetting' | 'env'> = {}): FfmpegTools {
  const setting = opts.ffmpegSetting ?? 'setting loupe.ffmpegPath';
  const configured = opts.ffmpegPath?.trim();
  if (configured) {
    const dir = existsSync(configured) && statSync(configured).isDirectory() ? configured : dirname(configured);
    const ffmpeg = dir === configured ? join(dir, exe('ffmpeg')) : configured;
    const ffprobe = join(dir, exe('ffprobe'));
    const missing = [ffmpeg, ffprobe].filter((p) => !executable(p));
    if (missing.length) {
      throw new LoupeError('ffmpeg-missing', `${setting} is "${configured}", but ${missing.map((m) => `${m} is not there or not executable`).join(', and ')}. Point it at the ffmpeg binary (ffprobe must be in the same folder) or at that folder, or clear it to use ffmpeg from PATH. ${INSTALL_HINT}`);
    }
    return { ffmpeg, ffprobe };
  }
  const env = opts.env ?? process.env;
  const dirs = (env.PATH ?? env.Path ?? '').split(delimiter).filter(Boolean);
  // VS Code started from the macOS Dock gets a short PATH without Homebrew's folders.
  if (process.platform === 'darwin' && !opts.env) dirs.push('/opt/homebrew/bin', '/usr/local/bin');
  const find = (name: string) => dirs.map((d) => join(d, exe(name))).find(executable);
  const ffmpeg = find('ffmpeg');
  const ffprobe = find('ffprobe');
  if (!ffmpeg || !ffprobe) {
    throw new LoupeError('ffmpeg-missing', `Video cells need ffmpeg and ffprobe, and ${!ffmpeg && !ffprobe ? 'neither was' : `${!ffmpeg ? 'ffmpeg' : 'ffprobe'} was not`} found on PATH. ${INSTALL_HINT} Or set ${setting} to where it is. Loupe does not download or bundle ffmpeg.`);
  }
  return { ffmpeg, ffprobe };
}

interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs ffmpeg or ffprobe with a timeout; a cancel kills it at once. */
function runTool(bin: string, args: string[], what: string, opts: { signal?: AbortSignal; timeoutMs: number; tool: 'ffmpeg' | 'ffprobe' }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new LoupeError('cancelled', 'Interrupted.'));
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    // Decoding fills the cores: a lower priority keeps the editor responsive (as the model host does).
    try {
      if (child.pid) setPriority(child.pid, 10);
    } catch {
      /* not permitted here: normal priority */
    }
    const out: Buffer[] = [];
    let err = '';
    let settled = false;
    const finish = (e: Error | undefined, r?: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (e) {
        child.kill('SIGKILL');
        reject(e);
      } else resolve(r!);
    };
    const onAbort = () => finish(new LoupeError('cancelled', 'Interrupted.'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => finish(videoError(`${opts.tool} took longer than ${Math.round(opts.timeoutMs / 1000)} s ${what} and was stopped: the clip may be damaged, have very few keyframes, or sit on a slow disk.`)),
      opts.timeoutMs,
    );
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    // Keep the end of stderr: ffmpeg's reason for a failure is on its last lines.
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      if (err.length > 256 * 1024) err = err.slice(-128 * 1024);
    });
    child.on('error', (e: NodeJS.ErrnoException) => finish(new LoupeError('ffmpeg-missing', `${opts.tool} could not be started (${bin}: ${e.code ?? e.message}). ${INSTALL_HINT}`)));
    child.on('close', (code, signal) => {
      if (signal) return finish(videoError(`${opts.tool} crashed (${signal}) ${what}${lastLine(err) ? `: ${lastLine(err)}` : ''}. Try the clip with ffmpeg alone, or convert it (ffmpeg -i in -c:v libx264 out.mp4).`));
      if (code !== 0) return finish(Object.assign(videoError(lastLine(err) || `${opts.tool} exited with status ${code}`), { exitCode: code, stderr: err }));
      finish(undefined, { stdout: Buffer.concat(out), stderr: err });
    });
  });
}

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !/^\s*(frame|size|video|Stream mapping|Press|Conversion failed|Error marking filters|Cannot determine format)/i.test(l));
  return (lines.at(-1) ?? '').replace(/^\[[^\]]+\]\s*/, '').slice(0, 300);
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  codec_long_name?: string;
  codec_tag_string?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  start_time?: string;
  duration?: string;
  nb_frames?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number }[];
  disposition?: { attached_pic?: number };
}

interface Probe {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string; start_time?: string; size?: string };
}

const rate = (r: string | undefined) => {
  const [n, d] = (r ?? '0/0').split('/').map(Number);
  return n && d ? n / d : 0;
};

/** Path checks with the same words as images: not found, a folder, empty. */
async function videoFile(source: string, baseDir: string | undefined): Promise<{ path: string; size: number; identity: string }> {
  let path: string;
  try {
    path = resolveImagePath(source, baseDir);
  } catch (e) {
    throw videoError((e as Error).message.replace('an absolute path', 'an absolute path for the video'));
  }
  let info;
  try {
    path = await realpath(path);
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw videoError(`video not found: ${source}`);
    if (code === 'EACCES' || code === 'EPERM') throw videoError(`cannot read ${source}: permission denied`);
    throw videoError(`cannot read ${source}: ${(e as Error).message}`);
  }
  if (info.isDirectory()) throw videoError(`${source} is a folder, not a video file`);
  if (!info.isFile()) throw videoError(`${source} is not a regular file`);
  if (info.size === 0) throw videoError(`${source} is empty (0 bytes): a zero-length clip has no frames to show`);
  const identity = createHash('sha256').update(`${CACHE_VERSION}\0${path}\0${info.size}\0${info.mtimeMs}\0${info.ino}`).digest('hex').slice(0, 32);
  return { path, size: info.size, identity };
}

/** The clip's facts, from the cache when this exact file was read before, else from ffprobe. */
export async function openVideo(source: string, opts: VideoOptions): Promise<VideoFacts> {
  const file = await videoFile(source, opts.baseDir);
  const dir = join(opts.cacheDir, file.identity);
  const cachedFacts = await readFile(join(dir, 'facts.json'), 'utf8').then((t) => JSON.parse(t) as VideoFacts, () => undefined);
  const facts = cachedFacts ? { ...cachedFacts, source } : await probe(source, file, opts);
  checkLimits(facts, opts);
  if (!cachedFacts) {
    await mkdir(dir, { recursive: true });
    await writeAtomic(join(dir, 'facts.json'), JSON.stringify(facts));
    await pruneCache(opts.cacheDir, file.identity);
  }
  return facts;
}

async function probe(source: string, file: { path: string; size: number; identity: string }, opts: VideoOptions): Promise<VideoFacts> {
  const tools = findFfmpeg(opts);
  let json: Probe;
  try {
    const r = await runTool(tools.ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '-i', file.path], `reading ${source}`, { signal: opts.signal, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, tool: 'ffprobe' });
    json = JSON.parse(r.stdout.toString('utf8')) as Probe;
  } catch (e) {
    // A cancel, a timeout, a crash or a missing ffprobe say so themselves; a refusal means the file.
    if ((e as { exitCode?: number }).exitCode === undefined) throw e;
    throw videoError(`${source} is not a video Loupe can read: it is corrupt, truncated or not a video (ffprobe: ${(e as Error).message})`);
  }
  const streams = json.streams ?? [];
  const format = json.format ?? {};
  const containerName = format.format_name ?? 'unknown';
  const v = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!v) {
    const audio = streams.filter((s) => s.codec_type === 'audio');
    if (audio.length) throw videoError(`${source} has no video stream: it is an audio-only file (${audio.map((a) => a.codec_name ?? 'unknown codec').join(', ')})`);
    if (streams.length) throw videoError(`${source} has no video stream ffprobe can read (only ${[...new Set(streams.map((s) => s.codec_type ?? 'unknown'))].join(', ')}): it is truncated, damaged or not a video`);
    throw videoError(`${source} has no video stream and no frames: a zero-length or empty clip (${containerName})`);
  }
  if (/(^|,)(image2|png_pipe|jpeg_pipe|webp_pipe|bmp_pipe|tiff_pipe)(,|$)/.test(containerName) || (v.codec_name && /^(png|mjpeg|bmp|tiff)$/.test(v.codec_name) && !format.duration)) {
    throw videoError(`${source} is a still image, not a video: show it with @image`);
  }
  if (!v.codec_name) {
    throw videoError(`${source}'s video codec (${v.codec_tag_string && !/^\[0\]/.test(v.codec_tag_string) ? v.codec_tag_string : 'unidentified'}) is unknown to this ffmpeg, which cannot decode it: convert the clip (ffmpeg -i in -c:v libx264 out.mp4) or use an ffmpeg built with that decoder`);
  }
  const codedWidth = v.width ?? 0;
  const codedHeight = v.height ?? 0;
  if (!codedWidth || !codedHeight) throw videoError(`${source} has a video stream without a frame size: it is corrupt or truncated`);
  const raw = v.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation ?? (v.tags?.rotate !== undefined ? -Number(v.tags.rotate) : 0);
  const rotation = ((Math.round(raw / 90) * 90) % 360 + 360) % 360;
  const turned = rotation === 90 || rotation === 270;
  const streamDuration = Number(v.duration);
  const formatDur = Number(format.duration);
  const hasAudio = streams.some((s) => s.codec_type === 'audio');
  // A stream's own duration is the video's; the container's counts audio too, so it is used only without audio.
  let duration = Number.isFinite(streamDuration) && streamDuration > 0 ? streamDuration : Number.isFinite(formatDur) ? formatDur : 0;
  if (!hasAudio && Number.isFinite(formatDur) && formatDur > duration) duration = formatDur;
  const nbFrames = Number(v.nb_frames);
  if (!(duration > 0) && !(nbFrames > 1)) throw videoError(`${source} is a zero-length clip: its video lasts 0 s and has no frames to show`);
  const avg = rate(v.avg_frame_rate);
  const nominal = rate(v.r_frame_rate);
  const fps = avg || nominal || (nbFrames > 0 && duration > 0 ? nbFrames / duration : 0);
  return {
    source,
    path: file.path,
    bytes: file.size,
    identity: file.identity,
    duration,
    startTime: Number(format.start_time) || Number(v.start_time) || 0,
    fps: Math.round(fps * 1000) / 1000,
    variableFrameRate: avg > 0 && nominal > 0 && Math.abs(avg - nominal) / nominal > 0.01,
    width: turned ? codedHeight : codedWidth,
    height: turned ? codedWidth : codedHeight,
    codedWidth,
    codedHeight,
    codec: v.codec_long_name ? `${v.codec_name} (${v.codec_long_name})` : v.codec_name,
    codecName: v.codec_name,
    rotation,
    container: containerName,
    hasAudio,
  };
}

function checkLimits(f: VideoFacts, opts: VideoOptions): void {
  const maxMinutes = opts.maxMinutes ?? DEFAULTS.maxVideoMinutes;
  if (f.duration > maxMinutes * 60) {
    throw videoError(`${f.source} lasts ${formatDuration(f.duration)}, longer than the ${maxMinutes} minutes Loupe reads (setting loupe.maxVideoMinutes): nothing was decoded. Cut the part you want (ffmpeg -ss 10:00 -t 5:00 -i in -c copy part.mp4), or raise the limit.`);
  }
  const maxPixels = opts.maxPixels ?? DEFAULTS.maxImagePixels;
  const pixels = f.codedWidth * f.codedHeight;
  if (pixels > maxPixels) {
    throw videoError(`${f.source}'s frames are ${f.codedWidth}×${f.codedHeight} pixels (${(pixels / 1e6).toFixed(1)} MP), above the limit of ${(maxPixels / 1e6).toFixed(0)} MP per frame (setting loupe.maxImagePixels): no frame was decoded`);
  }
}

async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Keeps the CACHE_CLIPS most recently used clips' folders. */
async function pruneCache(cacheDir: string, keep: string): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  if (names.length <= CACHE_CLIPS) return;
  const dated = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(cacheDir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
  dated.sort((a, b) => b.t - a.t);
  for (const { n } of dated.slice(CACHE_CLIPS)) if (n !== keep) await rm(join(cacheDir, n), { recursive: true, force: true }).catch(() => undefined);
}

const PTS_RE = /pts_time:\s*(-?[\d.]+)/g;
const ptsOf = (stderr: string) => [...stderr.matchAll(PTS_RE)].map((m) => Number(m[1]));

const DAMAGE_RE = /^.*(partial file|invalid nal|error while decoding|corrupt input|truncat|invalid data found).*$/im;

/** No frame where the index says there are frames, and the demuxer or decoder complained: the data is missing or bad. */
function throwIfDamaged(stderr: string, f: VideoFacts, at: string): void {
  const line = DAMAGE_RE.exec(stderr)?.[0];
  if (line) throw videoError(`no frame of ${f.source} could be decoded at ${at}: the file is truncated or damaged there (ffmpeg: ${line.replace(/^\[[^\]]+\]\s*/, '').trim().slice(0, 200)})`);
}

/**
 * The frame shown at `t` (seconds from the clip's start): the last frame whose timestamp is at or before t. ffmpeg
 * seeks to the keyframe before a short window ending at t, decodes up to t and stops (trim ends the stream there);
 * the frames of the window overwrite one PNG, so the last one stays. Returns that frame's own time.
 */
async function extractOne(tools: FfmpegTools, f: VideoFacts, t: number, out: string, opts: VideoOptions): Promise<number> {
  const at = formatTime(t);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const run = (args: string[], what: string) => runTool(tools.ffmpeg, ['-nostdin', '-hide_banner', '-nostats', '-v', 'info', '-threads', '1', '-copyts', ...args], what, { signal: opts.signal, timeoutMs, tool: 'ffmpeg' });
  const tmp = `${out}.${process.pid}-${randomBytes(4).toString('hex')}.tmp.png`;
  const png = ['-f', 'image2', '-update', '1', '-c:v', 'png', '-compression_level', '1', '-y', tmp];
  // -ss before -i counts from the file's start; with -copyts frames keep their own timestamps (start time included).
  const end = (f.startTime + t + 1e-4).toFixed(6);
  const window = (from: number) => ['-ss', Math.max(0, from).toFixed(6), '-i', f.path, '-map', '0:v:0', '-an', '-sn', '-dn'];
  const what = `decoding the frame at ${at} of ${f.source}`;
  try {
    const W = f.fps > 0 ? Math.min(1, Math.max(0.05, 1.5 / f.fps)) : 0.5;
    const first = await run([...window(t - W), '-vf', `trim=end=${end},showinfo`, ...png], what);
    let pts = ptsOf(first.stderr);
    // No frame where the index says there are frames, and the demuxer or decoder complained: the data is missing.
    if (!pts.length) throwIfDamaged(first.stderr, f, at);
    if (!pts.length && t > W) {
      // A frame held longer than the window (a variable frame rate, a gap): find the last frame at or before t by
      // decoding a longer stretch without writing anything, then take that frame.
      const back = ptsOf((await run([...window(t - 30), '-vf', `trim=end=${end},showinfo`, '-f', 'null', '-'], what)).stderr).at(-1);
      if (back !== undefined) pts = ptsOf((await run([...window(back - f.startTime - 1e-3), '-vf', `trim=end=${(back + 1e-4).toFixed(6)},showinfo`, ...png], what)).stderr);
    }
    if (!pts.length) {
      // Nothing at or before t (a first frame with a later timestamp): the first frame after it.
      pts = ptsOf((await run([...window(t), '-frames:v', '1', '-vf', 'showinfo', ...png], what)).stderr).slice(0, 1);
    }
    if (!pts.length || !existsSync(tmp)) throw videoError(`no frame of ${f.source} could be decoded at ${at}: the file is probably truncated or damaged there`);
    await rename(tmp, out);
    return Math.max(0, pts.at(-1)! - f.startTime);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    if ((e as { stderr?: string }).stderr) throwIfDamaged((e as { stderr: string }).stderr, f, at);
    if ((e as { exitCode?: number }).exitCode !== undefined) throw videoError(`ffmpeg could not decode the frame at ${at} of ${f.source}: ${(e as Error).message}`);
    throw e;
  }
}

/**
 * One frame per sample time, by seeking; frames already in the cache (same file, same time) are not decoded again.
 * Runs a few ffmpeg processes at once; the first failure (or a cancel) stops the others.
 */
export async function extractFrames(f: VideoFacts, times: number[], opts: VideoOptions): Promise<ExtractedFrame[]> {
  const dir = join(opts.cacheDir, f.identity);
  await mkdir(dir, { recursive: true });
  // Touch the clip's folder: the cache keeps the most recently used.
  await utimes(dir, new Date(), new Date()).catch(() => undefined);
  const frames: (ExtractedFrame | undefined)[] = await Promise.all(
    times.map(async (t) => {
      const base = join(dir, `t${Math.round(t * 1000)}`);
      const meta = await readFile(`${base}.json`, 'utf8').then((x) => JSON.parse(x) as { time: number }, () => undefined);
      return meta && existsSync(`${base}.png`) ? { requested: t, time: meta.time, path: `${base}.png`, cached: true } : undefined;
    }),
  );
  const todo = times.map((t, i) => ({ t, i })).filter((x) => !frames[x.i]);
  if (todo.length) {
    const tools = findFfmpeg(opts);
    const stop = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
    const limit = Math.max(1, opts.concurrency ?? Math.min(4, cpus().length || 1));
    let next = 0;
    let failure: unknown;
    const worker = async () => {
      while (next < todo.length && failure === undefined) {
        const { t, i } = todo[next++]!;
        const base = join(dir, `t${Math.round(t * 1000)}`);
        try {
          const time = await extractOne(tools, f, t, `${base}.png`, { ...opts, signal });
          await writeAtomic(`${base}.json`, JSON.stringify({ time }));
          frames[i] = { requested: t, time, path: `${base}.png`, cached: false };
        } catch (e) {
          failure ??= e;
          stop.abort();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, todo.length) }, worker));
    // A cancel wins over the failures it caused.
    if (opts.signal?.aborted) throw new LoupeError('cancelled', 'Interrupted.');
    if (failure !== undefined) throw failure;
  }
  return frames as ExtractedFrame[];
}
