// The `@video` part of the prompt-cell language: the clip's path and range, `@set frames=N | fps=x`, and what may go
// with `@video` lines. Pure, like the parser that calls it.
import { checkSampling, parseRange, SAMPLING_KEYS, type TimeRange } from '../../common/video';
import type { ParsedCell, SourcePos } from './parser';

/** `frames=N` / `fps=x` go to the cell's sampling; undefined when the pair is some other parameter. */
export function setSampling(out: ParsedCell, pair: string): string | null | undefined {
  const eq = pair.indexOf('=');
  const key = pair.slice(0, eq);
  if (eq <= 0 || !(SAMPLING_KEYS as readonly string[]).includes(key)) return undefined;
  const checked = checkSampling(key as (typeof SAMPLING_KEYS)[number], pair.slice(eq + 1));
  if ('error' in checked) return checked.error;
  out.sampling = { ...out.sampling, [key]: checked.value };
  if (out.sampling.frames !== undefined && out.sampling.fps !== undefined) return '@set takes frames=N or fps=x, not both: frames samples N frames spread evenly, fps a frame every 1/x seconds';
  return null;
}

/** `clip.mp4`, `"my clip.mp4" 0:10-0:40`: the path and an optional range after it. */
export function parseVideoArg(arg: string): { source: string; range?: TimeRange } | { error: string } {
  if (!arg) return { error: '@video needs the path of a video file (mp4, mov, webm, mkv, avi, animated GIF)' };
  let src = arg;
  let range: TimeRange | undefined;
  const quoted = /^(["'])(.*)\1(?:\s+(\S+))?$/.exec(arg);
  if (quoted) {
    src = quoted[2]!;
    if (quoted[3] !== undefined) {
      range = parseRange(quoted[3]);
      if (!range) return { error: `@video range must look like 0:10-0:40 (start-end; either may be left out), found "${quoted[3]}"` };
    }
  } else {
    const m = /^(.*\S)\s+(\S+)$/.exec(arg);
    const r = m ? parseRange(m[2]!) : undefined;
    if (m && r) {
      src = m[1]!;
      range = r;
    } else if (m && /^(\d[\w:.]*-[\w:.]*|-\d[\w:.]*)$/.test(m[2]!)) return { error: `@video range must look like 0:10-0:40 (start-end; either may be left out), found "${m[2]}"` };
  }
  if (!src) return { error: '@video needs the path of a video file (mp4, mov, webm, mkv, avi, animated GIF)' };
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(src)?.[1]?.toLowerCase();
  if (scheme && scheme !== 'file') return { error: `@video reads local files, not ${scheme}: URLs: download the clip next to the notebook and write its path` };
  if (range?.start !== undefined && range.end !== undefined && range.end <= range.start) return { error: '@video range needs its end after its start (start-end)' };
  return { source: src, ...(range ? { range } : {}) };
}

/** What may go with `@video` lines: no `@image`, one clip per prompt, `@region` by time, sampling only for clips. */
export function checkVideoLines(out: ParsedCell, samplingAt: SourcePos | undefined): void {
  const videos = out.videos ?? [];
  const at = (p: SourcePos, message: string) => out.errors.push({ line: p.line, column: p.column, message });
  if (videos.length && out.images.length) at(videos[0]!, 'a cell takes @video or @image lines, not both: put the images in a cell of their own');
  const isPrompt = out.prompt.trim() !== '' || out.taskGiven || out.model !== undefined || Object.keys(out.params).length > 0 || out.regions.length > 0;
  if (videos.length > 1 && isPrompt) at(videos[1]!, 'a prompt cell takes one @video: ask about each clip in a cell of its own');
  for (const r of out.regions) {
    if (r.time !== undefined && !videos.length) at(r, '@region with a time names a frame of a @video, but the cell has no @video');
    if (r.time === undefined && videos.length) at(r, '@region on a video cell names a frame by its time: @region 0:12 [x1, y1, x2, y2]');
  }
  if (out.sampling && !videos.length) at(samplingAt ?? { line: 1, column: 1 }, '@set frames=… and fps=… sample a @video, but the cell has none');
}

/** A video cell has `@video` lines (and `@set frames=… | fps=…`) and nothing else: it shows each clip's facts and frames. */
export function isVideoCell(cell: ParsedCell): boolean {
  return !!cell.videos?.length && cell.images.length === 0 && cell.errors.length === 0 && cell.regions.length === 0 && !cell.taskGiven && cell.model === undefined && Object.keys(cell.params).length === 0 && cell.prompt.trim() === '';
}
