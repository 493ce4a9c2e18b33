// Video vocabulary shared by the parser, the kernel, the model prompts, the renderer and the exports: times as
// people write them, the sampling parameters (`@set frames=N | fps=x`), and which frames a sampling takes.
// Pure: no I/O.
import { LoupeError } from './errors';
import type { ResultVideo } from './result';

/** Most frames one cell samples: 64 is SmolVLM2's own limit; a default never goes above 24 (MM1.5's count). */
export const MAX_FRAMES = 64;
export const DEFAULT_MAX_FRAMES = 24;
/** Frames a video cell (filmstrip only) and a per-frame task sample when the cell does not say. */
export const FILMSTRIP_FRAMES = 8;
/** Image tokens a question about a whole clip may spend on its frames when choosing the default count. */
export const VIDEO_TOKEN_BUDGET = 8192;

/** How a cell samples its clip: N frames at the centres of N equal segments, or x frames per second. */
export interface Sampling {
  frames?: number;
  fps?: number;
}

export const SAMPLING_KEYS = ['frames', 'fps'] as const;

/** Checks `frames=N` / `fps=x`: the value, or a message saying what is wrong. */
export function checkSampling(key: (typeof SAMPLING_KEYS)[number], raw: string): { value: number } | { error: string } {
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(raw)) return { error: `${key} must be a positive number, found "${raw}"` };
  const n = Number(raw);
  if (key === 'frames') {
    if (!Number.isInteger(n) || n < 1 || n > MAX_FRAMES) return { error: `frames must be a whole number between 1 and ${MAX_FRAMES}, found "${raw}"` };
    return { value: n };
  }
  if (!(n > 0) || n > 30) return { error: `fps must be a number in (0, 30], found "${raw}"` };
  return { value: n };
}

const TIME_RE = /^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$/;

/**
 * Seconds from a time as written: `12`, `12.5`, `12s`, `0:12`, `1:02:03.5`. Minutes and seconds after a colon must be
 * below 60. `bare: false` refuses plain numbers (where a number means something else, as in `@region 2 [..]`).
 */
export function parseTime(text: string, opts: { bare?: boolean } = {}): number | undefined {
  let t = text.trim();
  let seconds = false;
  if (/^\d+(?:\.\d+)?s$/.test(t)) {
    t = t.slice(0, -1);
    seconds = true;
  }
  const m = TIME_RE.exec(t);
  if (!m) return undefined;
  const parts = [m[1], m[2], m[3]].filter((p): p is string => p !== undefined).map(Number);
  if (parts.length === 1 && !seconds && opts.bare === false) return undefined;
  if (parts.length > 1 && parts.slice(1).some((p) => p >= 60)) return undefined;
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

export interface TimeRange {
  start?: number;
  end?: number;
}

/** `0:10-0:40`, `10-40`, `1:00-` (to the end), `-0:30` (from the start): undefined when it is not a range. */
export function parseRange(text: string): TimeRange | undefined {
  const m = /^([^-\s]*)-([^-\s]*)$/.exec(text.trim());
  if (!m || (!m[1] && !m[2])) return undefined;
  const start = m[1] ? parseTime(m[1]) : undefined;
  const end = m[2] ? parseTime(m[2]) : undefined;
  if ((m[1] && start === undefined) || (m[2] && end === undefined)) return undefined;
  return { ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}) };
}

/** `0:12.48`, `1:02:03.00`: minutes and seconds with hundredths (one frame at 25 fps is 0.04 s). */
export function formatTime(seconds: number, digits = 2): string {
  const total = Math.max(0, seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  let s = (total % 60).toFixed(digits);
  // Rounding up to 60 stays in this minute: 59.6 s at 0 digits is 0:59, not 0:60.
  if (Number(s) >= 60) s = (60 - 10 ** -digits).toFixed(digits);
  const ss = s.padStart(digits ? digits + 3 : 2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** `0:40`, `1:02:03`: a duration in whole seconds, for facts lines. */
export function formatDuration(seconds: number): string {
  return formatTime(Math.round(seconds), 0);
}

/** The line before a clip's frames in prompts without a video template of their own (local chat families, servers). */
export function framesIntro(n: number, duration: number): string {
  return `The following ${n} frame${n === 1 ? ' is' : 's are'} sampled from a ${formatDuration(duration)} video, each after its time.`;
}

/** The line before each frame in those prompts. */
export function frameHeading(seconds: number): string {
  return `\nFrame at ${formatTime(seconds, 1)}:\n`;
}

/** SmolVLM2's video prompt writes the clip's length as Python's `str(timedelta(seconds=int(d)))`: `0:00:40`. */
export function hmsDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** SmolVLM2's frame stamp: `f"{int(t // 60):02d}:{int(t % 60):02d}"`. */
export function mmss(seconds: number): string {
  const t = Math.max(0, seconds);
  return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(Math.floor(t % 60)).padStart(2, '0')}`;
}

const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** A count in words as Python's num2words writes it (`eight`, `twenty-four`), for SmolVLM2's video prompt. */
export function numberWords(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 999) return String(n);
  if (n < 20) return ONES[n]!;
  if (n < 100) return TENS[Math.floor(n / 10)]! + (n % 10 ? `-${ONES[n % 10]}` : '');
  const rest = n % 100;
  return `${ONES[Math.floor(n / 100)]} hundred${rest ? ` and ${numberWords(rest)}` : ''}`;
}

/** The part of a clip a cell uses: its range within [0, duration], or the whole clip. */
export function clipSpan(duration: number, range: TimeRange | undefined): { start: number; end: number } {
  return { start: range?.start ?? 0, end: range?.end ?? duration };
}

/**
 * The times a sampling takes within [start, end): `frames=N` takes the centres of N equal segments (MM1.5's uniform
 * sampling), `fps=x` one frame every 1/x s at the centres of those steps. Throws a message when fps asks for more
 * than MAX_FRAMES.
 */
export function sampleTimes(start: number, end: number, sampling: Sampling, defaultFrames: number): number[] {
  const length = Math.max(0, end - start);
  if (sampling.fps !== undefined) {
    const n = Math.max(1, Math.floor(length * sampling.fps + 1e-9));
    if (n > MAX_FRAMES) throw new LoupeError('bad-input', `fps=${sampling.fps} over ${formatDuration(length)} takes ${n} frames; Loupe samples at most ${MAX_FRAMES}: lower fps, shorten the range, or write frames=N`);
    return Array.from({ length: n }, (_, k) => start + Math.min(length, (k + 0.5) / sampling.fps!));
  }
  const n = sampling.frames ?? defaultFrames;
  return Array.from({ length: n }, (_, i) => start + ((i + 0.5) * length) / n);
}

/** How a sampling reads in facts lines: `8 frames, uniform` or `1 fps (40 frames)`. */
export function samplingText(sampling: Sampling, count: number): string {
  if (sampling.fps !== undefined) return `${sampling.fps} fps (${count} frame${count === 1 ? '' : 's'})`;
  return `${count} frame${count === 1 ? '' : 's'}, uniform`;
}

/** One line about a clip: `clip.mp4: 0:40, 25 fps, 1920×1080, h264, rotated 90°` (or why it could not be read). */
export function clipFacts(v: ResultVideo): string {
  if (v.error) return `${v.source}: ${v.error}`;
  const parts = [formatDuration(v.duration), `${v.fps} fps${v.variableFrameRate ? ' (variable)' : ''}`, `${v.width}×${v.height}`, v.codec];
  if (v.rotation) parts.push(`rotated ${v.rotation}°`);
  if (v.range) parts.push(`range ${formatTime(v.range[0])}-${formatTime(v.range[1])}`);
  if (v.frames.length) parts.push(samplingText(v.sampling, v.frames.length));
  return `${v.source}: ${parts.join(', ')}`;
}

/** `Frame at 0:12.48` (one frame) or `Frames 0:02.50-0:37.50` (a run over a clip), or undefined when these are not frames. */
export function framesLabel(images: readonly { index: number; time?: number }[], indices: readonly number[]): string | undefined {
  const times = indices.map((i) => images.find((img) => img.index === i)?.time);
  if (!times.length || times.some((t) => t === undefined)) return undefined;
  return times.length === 1 ? `Frame at ${formatTime(times[0]!)}` : `Frames ${formatTime(times[0]!)}-${formatTime(times.at(-1)!)}`;
}
