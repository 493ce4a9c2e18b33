// Video in cells: a video cell (only `@video` lines) shows each clip's facts and a filmstrip; a prompt cell about a
// video samples frames and hands them to the runner as the cell's images, each with its time, so per-frame tasks fan
// out over frames (answers keep their timestamps) and questions see every frame with its timestamp.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../../common/defaults';
import { describeError, LoupeError } from '../../common/errors';
import { RESULT_VERSION, type LoupeResult, type ResultImage, type ResultVideo } from '../../common/result';
import { taskSpec } from '../../common/tasks';
import { clipSpan, DEFAULT_MAX_FRAMES, FILMSTRIP_FRAMES, formatTime, sampleTimes, VIDEO_TOKEN_BUDGET, type Sampling } from '../../common/video';
import { modelsFor } from '../../engine/registry';
import type { GenerateRequest, ModelHandle } from '../../engine/types';
import { loadImage, type ImageResult } from '../../images/load';
import { extractFrames, openVideo, type VideoFacts, type VideoOptions } from '../../images/video';
import type { ParsedCell, VideoRef } from '../cells/parser';
import { resultOutput, toResultImages, type OutputSpec } from './outputs';

export interface VideoSettings {
  /** loupe.ffmpegPath: the ffmpeg binary or its folder; empty: PATH. */
  ffmpegPath?: string;
  /** How the user sets it, for messages (`setting loupe.ffmpegPath`, `--ffmpeg`). */
  ffmpegSetting?: string;
  maxVideoMinutes?: number;
  /** Where decoded frames are cached (extension storage, the CLI's cache); default: a folder in the temp dir. */
  framesDir?: string;
  /** Longest one ffmpeg run may take. */
  timeoutMs?: number;
}

/** Frames are shown smaller than photos: a clip has many, and every byte is saved in the notebook. */
const FRAME_DISPLAY_SIDE = 960;

export function videoOptions(v: VideoSettings | undefined, maxPixels: number, baseDir: string | undefined, signal: AbortSignal): VideoOptions {
  return {
    baseDir,
    ffmpegPath: v?.ffmpegPath ?? DEFAULTS.ffmpegPath,
    ...(v?.ffmpegSetting ? { ffmpegSetting: v.ffmpegSetting } : {}),
    cacheDir: v?.framesDir ?? join(tmpdir(), 'loupe-frames'),
    maxPixels,
    maxMinutes: v?.maxVideoMinutes ?? DEFAULTS.maxVideoMinutes,
    signal,
    ...(v?.timeoutMs ? { timeoutMs: v.timeoutMs } : {}),
  };
}

/** `clip.mp4 @ 0:12.48`: how a frame is named in captions, alt text and messages. */
export function frameLabel(source: string, time: number): string {
  return `${source} @ ${formatTime(time)}`;
}

export interface LoadedClip {
  video: ResultVideo;
  frames: ImageResult[];
  times: number[];
  facts?: VideoFacts;
}

/** The part of the clip to sample, checked against its length: wholly outside is an error, partly outside is clamped. */
function span(ref: VideoRef, facts: VideoFacts, warnings: string[]): { start: number; end: number } {
  const { start, end } = clipSpan(facts.duration, ref.range);
  const written = `${ref.range?.start !== undefined ? formatTime(ref.range.start, 0) : ''}-${ref.range?.end !== undefined ? formatTime(ref.range.end, 0) : ''}`;
  if (start >= facts.duration) throw new LoupeError('bad-input', `@video ${ref.source} ${written} (line ${ref.line}) starts after the end of the clip, which lasts ${formatTime(facts.duration)}: a range is start-end within 0:00-${formatTime(facts.duration)}.`);
  if (end > facts.duration + 1e-3) {
    warnings.push(`@video ${ref.source} ${written} (line ${ref.line}) reaches past the end of the clip (${formatTime(facts.duration)}) and was cut there.`);
    return { start, end: facts.duration };
  }
  return { start, end };
}

/** `@region <time>` names a frame within the clip: a time past its end is refused. */
function checkFrameTimes(ref: VideoRef, facts: VideoFacts, times: readonly number[]): void {
  for (const t of times) {
    if (t > facts.duration) throw new LoupeError('bad-input', `${formatTime(t)} is after the end of ${ref.source}, which lasts ${formatTime(facts.duration)}: @region names a frame by its time within the clip.`);
  }
}

/**
 * Reads one clip: facts, sample times, frames (decoded or from the cache) and their display copies. `times` given:
 * exactly those (an `@region`'s frame); else the sampling, or `defaultFrames` spread evenly.
 */
export async function loadClip(ref: VideoRef, index: number, opts: VideoOptions, pick: { sampling?: Sampling; defaultFrames: number; times?: number[] }, warnings: string[]): Promise<LoadedClip> {
  const facts = await openVideo(ref.source, opts);
  let times: number[];
  let range: [number, number] | undefined;
  if (pick.times) {
    checkFrameTimes(ref, facts, pick.times);
    times = pick.times;
  } else {
    const { start, end } = span(ref, facts, warnings);
    if (ref.range) range = [start, end];
    times = sampleTimes(start, end, pick.sampling ?? {}, pick.defaultFrames);
  }
  const all = await extractFrames(facts, times, opts);
  // Samples that land on the same frame (a variable frame rate holds some frames long) show it once.
  const extracted = all.filter((f, i) => all.findIndex((g) => g.time === f.time) === i);
  const frames = await Promise.all(
    extracted.map(async (f) => {
      const r = await loadImage(f.path, { maxPixels: opts.maxPixels, maxSide: FRAME_DISPLAY_SIDE, signal: opts.signal });
      const label = frameLabel(ref.source, f.time);
      return r.ok ? { ok: true as const, image: { ...r.image, source: label } } : { ok: false as const, source: label, error: r.error };
    }),
  );
  const notes: string[] = [];
  if (extracted.length < all.length) notes.push(`${all.length} sample times gave ${extracted.length} distinct frames: a frame shown for longer than the spacing of the samples is taken once`);
  if (facts.variableFrameRate) notes.push(`variable frame rate (about ${facts.fps} fps): each frame is shown at its own time`);
  const video: ResultVideo = {
    index,
    source: ref.source,
    duration: facts.duration,
    fps: facts.fps,
    width: facts.width,
    height: facts.height,
    codec: facts.codecName,
    rotation: facts.rotation,
    container: facts.container,
    ...(facts.variableFrameRate ? { variableFrameRate: true } : {}),
    hasAudio: facts.hasAudio,
    ...(range ? { range } : {}),
    sampling: pick.times ? {} : { ...(pick.sampling?.fps !== undefined ? { fps: pick.sampling.fps } : { frames: pick.sampling?.frames ?? pick.defaultFrames }) },
    frames: [],
    ...(all.every((f) => f.cached) ? { cached: true } : {}),
    ...(notes.length ? { notes } : {}),
  };
  return { video, frames, times: extracted.map((f) => f.time), facts };
}

/** Puts clips' frames into a result: images numbered across clips, each with its time and clip. */
function addFrames(result: LoupeResult, clips: LoadedClip[]): ImageResult[] {
  const all = clips.flatMap((c) => c.frames);
  result.images = toResultImages(all);
  stampFrames(result, clips);
  return all;
}

/** Gives each clip's frames (the result's images, in clip order) their time and clip, and the clips their frames. */
function stampFrames(result: LoupeResult, clips: LoadedClip[]): void {
  result.videos = [];
  let n = 0;
  for (const c of clips) {
    c.video.frames = c.frames.map(() => ++n);
    c.times.forEach((t, k) => Object.assign(result.images[c.video.frames[k]! - 1]!, { time: Math.round(t * 1e6) / 1e6, video: c.video.index } satisfies Partial<ResultImage>));
    result.videos.push(c.video);
  }
}

/** A clip that could not be read still has a line in the result saying why. */
function failedClip(ref: VideoRef, index: number, e: unknown): LoadedClip {
  return { video: { index, source: ref.source, duration: 0, fps: 0, width: 0, height: 0, codec: '', rotation: 0, sampling: {}, frames: [], error: describeError(e).message }, frames: [], times: [] };
}

/** A cell of `@video` lines: each clip's facts and frames; one bad clip never stops the others. */
export async function videoCellOutput(cell: ParsedCell, baseDir: string | undefined, settings: VideoSettings | undefined, maxPixels: number, signal: AbortSignal, now: () => number): Promise<{ output: OutputSpec; ok: boolean; cancelled: boolean }> {
  const t0 = now();
  const opts = videoOptions(settings, maxPixels, baseDir, signal);
  const warnings: string[] = [];
  const clips = await Promise.all(
    (cell.videos ?? []).map((ref, i) => loadClip(ref, i + 1, opts, { sampling: cell.sampling, defaultFrames: FILMSTRIP_FRAMES }, warnings).catch((e: unknown) => failedClip(ref, i + 1, e))),
  );
  const cancelled = signal.aborted || clips.some((c) => /^Interrupted/.test(c.video.error ?? ''));
  const result: LoupeResult = { version: RESULT_VERSION, kind: 'video', status: 'ok', task: 'ask', images: [], runs: [], params: {}, timings: {}, warnings };
  const loaded = addFrames(result, clips);
  const ok = clips.every((c) => !c.video.error) && loaded.every((r) => r.ok);
  result.status = ok ? 'ok' : 'error';
  result.timings.totalMs = Math.round((now() - t0) * 10) / 10;
  return { output: await resultOutput(result, loaded.flatMap((r) => (r.ok ? [r.image.displayPng] : []))), ok, cancelled };
}

/** What a prompt cell about a video hands the runner: the frames as its images, and what the prompts need. */
export interface PreparedVideo {
  /** The cell with the frames as its images (by absolute path) and `@region` times turned into frame numbers. */
  cell: ParsedCell;
  loaded: ImageResult[];
  clip: LoadedClip;
  /** Adds the clip and the frames' times to the result's images. */
  decorate(result: LoupeResult): void;
  /** The video facts a model's prompt needs for a run over these frames; undefined for per-frame runs. */
  request(images: number[], task: ParsedCell['task']): GenerateRequest['video'];
}

/** How many frames a prompt cell samples when it does not say: per-frame runs a filmstrip's worth; a question as many as the model's image budget allows, at most 24. */
export function defaultFrameCount(handle: Pick<ModelHandle, 'capabilities' | 'frameTokens'>, task: ParsedCell['task'], maxImageTokens: number): number {
  const fanOut = taskSpec(task).runs === 'per-image' || !handle.capabilities.includes('multi-image');
  if (fanOut) return FILMSTRIP_FRAMES;
  const perFrame = Math.max(1, handle.frameTokens ?? maxImageTokens);
  return Math.max(1, Math.min(DEFAULT_MAX_FRAMES, Math.floor(VIDEO_TOKEN_BUDGET / perFrame)));
}

/** Reads the clip's facts (ffprobe, or the cache) and checks its range and `@region` times: before a model is downloaded. */
export async function probeVideoCell(cell: ParsedCell, s: { video?: VideoSettings; maxImagePixels: number }, ctx: { baseDir: string | undefined; signal: AbortSignal }): Promise<void> {
  const ref = cell.videos![0]!;
  const facts = await openVideo(ref.source, videoOptions(s.video, s.maxImagePixels, ctx.baseDir, ctx.signal));
  span(ref, facts, []);
  checkFrameTimes(ref, facts, regionTimesOf(cell));
}

/** The times of the frames the cell's `@region` lines name. */
function regionTimesOf(cell: ParsedCell): number[] {
  return cell.regions.flatMap((r) => (r.time !== undefined ? [r.time] : []));
}

/** Refuses what a model cannot do with a clip, before anything is decoded: a question about the whole clip needs a model that reads several frames. */
export function checkVideoModel(cell: ParsedCell, handle: Pick<ModelHandle, 'info' | 'capabilities'>): void {
  if (!regionTimesOf(cell).length && taskSpec(cell.task).runs === 'all-images' && !handle.capabilities.includes('multi-image')) {
    throw new LoupeError('task-unsupported', `${handle.info.id} reads one image at a time and cannot answer a question about a whole clip. Ask a per-frame task (@task caption, ocr, detect or ground: each frame gets its own answer, with its time), or use a model that reads several frames: ${modelsFor('multi-image').join(', ')}.`);
  }
}

/**
 * Samples the cell's clip for a prompt, for the models given (side by side, every model sees the same frames: as
 * many as the model with the smallest budget takes); refuses what a model cannot do before anything is decoded.
 */
export async function prepareVideoPrompt(cell: ParsedCell, handles: readonly ModelHandle[], s: { video?: VideoSettings; maxImagePixels: number; maxImageTokens: number }, ctx: { baseDir: string | undefined; signal: AbortSignal }, warnings: string[]): Promise<PreparedVideo> {
  const ref = cell.videos![0]!;
  const regionTimes = regionTimesOf(cell);
  for (const handle of handles) checkVideoModel(cell, handle);
  if (regionTimes.length > 1 && new Set(regionTimes).size > 1) throw new LoupeError('bad-input', '@region lines of one cell must name the same frame (the same time): ask about each frame in a cell of its own.');
  if (regionTimes.length && cell.sampling) warnings.push('@set frames/fps is not used: a cell with @region asks about the one frame its time names.');
  const opts = videoOptions(s.video, s.maxImagePixels, ctx.baseDir, ctx.signal);
  const defaultFrames = Math.min(...handles.map((handle) => defaultFrameCount(handle, cell.task, s.maxImageTokens)));
  const clip = await loadClip(ref, 1, opts, regionTimes.length ? { times: [regionTimes[0]!], defaultFrames } : { sampling: cell.sampling, defaultFrames }, warnings);
  const images = clip.frames.map((f) => ({ source: f.ok ? f.image.path! : f.source, isUrl: false, line: ref.line, column: ref.column }));
  return {
    cell: { ...cell, images, regions: cell.regions.map((r) => ({ ...r, image: 1 })) },
    loaded: clip.frames,
    clip,
    decorate(result) {
      stampFrames(result, [clip]);
    },
    request(imgs, task) {
      if (taskSpec(task).runs !== 'all-images' || regionTimes.length) return undefined;
      return { duration: clip.facts?.duration ?? 0, times: imgs.map((i) => clip.times[i - 1]!) };
    },
  };
}
