// The prompt-cell language: `@directives` plus free prompt text. Pure: no I/O, no vscode.
import { checkParam, paramSpec, PARAM_KEYS, type GenerationParams } from '../../common/params';
import { DEFAULT_TASK, isTask, taskSpec, TASKS, type Task } from '../../common/tasks';
import { parseTime, type Sampling, type TimeRange } from '../../common/video';
import { checkVideoLines, parseVideoArg, setSampling } from './video';

export interface SourcePos {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface ImageRef extends SourcePos {
  /** As written: a path relative to the notebook, an absolute path, or an https URL. */
  source: string;
  isUrl: boolean;
}

export interface RegionRef extends SourcePos {
  /** 1-based image index. */
  image: number;
  box: [number, number, number, number];
  /** On a video cell: the time of the frame it names, in seconds (`@region 0:12 [x1, y1, x2, y2]`). */
  time?: number;
}

export interface VideoRef extends SourcePos {
  /** A path relative to the notebook, or an absolute path. */
  source: string;
  /** `@video clip.mp4 0:10-0:40`: the part of the clip to use. */
  range?: TimeRange;
}

export interface CellError extends SourcePos {
  message: string;
}

export interface ParsedCell {
  images: ImageRef[];
  regions: RegionRef[];
  task: Task;
  /** Whether `@task` was written (the default is `ask`). */
  taskGiven: boolean;
  /** `@model` as written (one reference, or several separated by commas). */
  model?: string;
  /** The models `@model` names: one, or 2–4 to run side by side. Empty without `@model`. */
  models: string[];
  params: GenerationParams;
  /** `@video` lines (always set by parseCell). */
  videos?: VideoRef[];
  /** `@set frames=N` or `@set fps=x`: how a video is sampled. */
  sampling?: Sampling;
  /** The prompt text: every non-directive line, `@@` unescaped, outer blank lines trimmed. */
  prompt: string;
  /** `@images <glob>` lines: the cell is a batch, the same task once per matched image. */
  batch: { glob: string; line: number; column: number }[];
  /** `@truth <COCO json>`: the batch's regions are scored against it. */
  truth?: { source: string; line: number; column: number };
  /** `@set rerun=all`: a batch starts over instead of resuming. */
  rerun?: boolean;
  errors: CellError[];
}

/** Models one cell can run side by side. */
export const MAX_MODELS = 4;

/** Every `@directive` (the grammar and the README's table are checked against this list). */
export const DIRECTIVES = ['image', 'images', 'truth', 'video', 'region', 'task', 'model', 'set'] as const;
const NUM = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`;
const REGION_RE = new RegExp(String.raw`^(?:(\S+)\s+)?\[\s*(${NUM})\s*,\s*(${NUM})\s*,\s*(${NUM})\s*,\s*(${NUM})\s*\]\s*$`);

export function parseCell(source: string): ParsedCell {
  const out: ParsedCell = { images: [], regions: [], models: [], task: DEFAULT_TASK, taskGiven: false, params: {}, videos: [], prompt: '', batch: [], errors: [] };
  const promptLines: string[] = [];
  let samplingAt: SourcePos | undefined;
  let rerunLine: number | undefined;
  const lines = source.split(/\r\n|\r|\n/);

  lines.forEach((text, i) => {
    const line = i + 1;
    const indent = text.length - text.trimStart().length;
    const trimmed = text.trimStart();
    if (trimmed.startsWith('@@')) {
      promptLines.push(text.slice(0, indent) + trimmed.slice(1));
      return;
    }
    if (!trimmed.startsWith('@')) {
      promptLines.push(text);
      return;
    }
    const m = /^@([A-Za-z_][\w-]*)?/.exec(trimmed)!;
    const name = m[1] ?? '';
    const err = (message: string, col = indent + 1) => out.errors.push({ line, column: col, message });
    if (!(DIRECTIVES as readonly string[]).includes(name)) {
      err(
        name
          ? `unknown directive @${name}: expected one of ${DIRECTIVES.map((d) => '@' + d).join(', ')} (write @@ for a literal @)`
          : `a lone @ is not a directive: expected one of ${DIRECTIVES.map((d) => '@' + d).join(', ')} (write @@ for a literal @)`,
      );
      return;
    }
    const afterName = trimmed.slice(m[0].length);
    if (afterName !== '' && !/^\s/.test(afterName)) {
      err(`unknown directive @${name}${afterName.split(/\s/)[0]}`);
      return;
    }
    const arg = afterName.trim();
    const argCol = indent + 1 + m[0].length + (afterName.length - afterName.trimStart().length);

    switch (name as (typeof DIRECTIVES)[number]) {
      case 'image': {
        if (!arg) return err('@image needs a path or an https URL', argCol);
        const src = unquote(arg);
        if (!src) return err('@image needs a path or an https URL', argCol);
        const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(src)?.[1]?.toLowerCase();
        // One-letter "schemes" are Windows drive letters.
        if (scheme && scheme !== 'https' && scheme !== 'file') return err(`@image supports file paths and https URLs, not ${scheme}:`, argCol);
        out.images.push({ source: src, isUrl: scheme === 'https', line, column: argCol });
        return;
      }
      case 'images': {
        const glob = unquote(arg);
        if (!glob) return err('@images needs a glob relative to the notebook, like photos/*.jpg or scans/**/*.png', argCol);
        if (/^[a-zA-Z][a-zA-Z0-9+.-]+:\/\//.test(glob)) return err('@images matches files on this machine: for an image on the web use @image <https URL>', argCol);
        out.batch.push({ glob, line, column: argCol });
        return;
      }
      case 'truth': {
        const src = unquote(arg);
        if (!src) return err('@truth needs the path of a COCO JSON file with the true boxes', argCol);
        if (out.truth) return err('@truth is given twice', indent + 1);
        out.truth = { source: src, line, column: argCol };
        return;
      }
      case 'region': {
        const rm = REGION_RE.exec(arg);
        if (!rm) return err('@region expects [x1, y1, x2, y2] or <image number> [x1, y1, x2, y2], in pixels', argCol);
        let image = 1;
        // Before the box: an image number, or a time (a frame of the cell's @video, which is image 1).
        const time = rm[1] === undefined ? undefined : parseTime(rm[1], { bare: false });
        if (time === undefined && rm[1] !== undefined) {
          if (!/^\d+$/.test(rm[1]) || Number(rm[1]) < 1) return err(`@region image number must be a whole number ≥ 1, found "${rm[1]}"`, argCol);
          image = Number(rm[1]);
        }
        const box = [rm[2], rm[3], rm[4], rm[5]].map(Number) as [number, number, number, number];
        if (box.some((v) => !Number.isFinite(v) || v < 0)) return err('@region coordinates must be finite numbers ≥ 0', argCol);
        if (box[2] <= box[0] || box[3] <= box[1]) return err('@region needs x2 > x1 and y2 > y1 (top-left corner first)', argCol);
        out.regions.push({ image, box, ...(time !== undefined ? { time } : {}), line, column: argCol });
        return;
      }
      case 'task': {
        if (!isTask(arg)) return err(`unknown task "${arg}": expected one of ${TASKS.join(', ')}`, argCol);
        if (out.taskGiven) return err('@task is given twice', indent + 1);
        out.task = arg;
        out.taskGiven = true;
        return;
      }
      case 'model': {
        if (!arg) return err('@model needs a registry id, a Hub repo (org/name) or a local folder (./path)', argCol);
        if (out.model !== undefined) return err('@model is given twice', indent + 1);
        const models = arg.split(',').map((m) => m.trim());
        if (models.some((m) => !m)) return err('@model lists models separated by commas, and one of them is empty', argCol);
        if (models.length > MAX_MODELS) return err(`@model runs at most ${MAX_MODELS} models side by side; found ${models.length}`, argCol);
        const twice = models.find((m, i) => models.indexOf(m) !== i);
        if (twice) return err(`@model names ${twice} twice`, argCol);
        out.model = arg;
        out.models = models;
        return;
      }
      case 'set': {
        if (!arg) return err(`@set needs key=value (keys: ${PARAM_KEYS.join(', ')})`, argCol);
        let col = argCol;
        for (const pair of arg.split(/(\s+)/)) {
          if (/^\s+$/.test(pair)) {
            col += pair.length;
            continue;
          }
          // Not a generation parameter: how a batch treats the results of an earlier run.
          if (pair.startsWith('rerun=')) {
            if (pair !== 'rerun=all') err(`@set rerun takes "all" (start the batch over), found "${pair.slice(6)}"`, col);
            else {
              out.rerun = true;
              rerunLine ??= line;
            }
            col += pair.length;
            continue;
          }
          // Not a generation parameter either: how a @video is sampled (frames=N, fps=x).
          const sampled = setSampling(out, pair);
          if (sampled !== undefined) samplingAt ??= { line, column: col };
          const problem = sampled === undefined ? setParam(out.params, pair) : (sampled ?? undefined);
          if (problem) err(problem, col);
          col += pair.length;
        }
        return;
      }
      case 'video': {
        const v = parseVideoArg(arg);
        if ('error' in v) return err(v.error, argCol);
        out.videos!.push({ ...v, line, column: argCol });
        return;
      }
    }
  });

  out.regions.forEach((r) => {
    // On a video cell every @region names a frame by time (checkVideoLines says so).
    if (r.time !== undefined || out.videos!.length) return;
    if (r.image > out.images.length && out.batch.length === 0) {
      out.errors.push({
        line: r.line,
        column: r.column,
        message: out.images.length === 0 ? '@region refers to image 1, but the cell has no @image' : `@region refers to image ${r.image}, but the cell has ${out.images.length} image${out.images.length === 1 ? '' : 's'}`,
      });
    }
  });

  // A batch runs one task per image: it cannot mix in single images or ask about a region of one of them.
  const firstBatch = out.batch[0];
  if (firstBatch) {
    const at = (x: { line: number; column: number }, message: string) => out.errors.push({ line: x.line, column: x.column, message });
    for (const img of out.images) at(img, '@image and @images do not mix: a batch (@images) runs the same prompt on each image it matches; put single images in a cell of their own');
    for (const v of out.videos!) at(v, '@video and @images do not mix: a batch (@images) runs the same prompt on each image it matches; ask about a clip in a cell of its own');
    for (const r of out.regions) at(r, '@region does not apply to a batch (@images): the images differ in size; ask about a region in a cell with @image');
    const spec = taskSpec(out.task);
    if (spec.runs !== 'per-image' && out.task !== 'ask') at(firstBatch, `@task ${out.task} does not run once per image, so it cannot run as a batch; batch tasks: ${TASKS.filter((t) => taskSpec(t).runs === 'per-image' || t === 'ask').join(', ')}`);
  } else if (out.truth) out.errors.push({ line: out.truth.line, column: out.truth.column, message: '@truth scores a batch: add @images <glob> for the images it describes' });
  if (out.rerun && !firstBatch) out.errors.push({ line: rerunLine!, column: 1, message: '@set rerun=all applies to a batch (@images)' });

  while (promptLines.length && promptLines[0]!.trim() === '') promptLines.shift();
  while (promptLines.length && promptLines[promptLines.length - 1]!.trim() === '') promptLines.pop();
  out.prompt = promptLines.join('\n');
  checkVideoLines(out, samplingAt);
  out.errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return out;
}

function setParam(params: GenerationParams, pair: string): string | undefined {
  const eq = pair.indexOf('=');
  if (eq <= 0) return `@set expects key=value, found "${pair}"`;
  const key = pair.slice(0, eq);
  const spec = paramSpec(key);
  if (!spec) return `unknown parameter "${key}": expected one of ${PARAM_KEYS.join(', ')}`;
  const checked = checkParam(spec, pair.slice(eq + 1));
  if ('error' in checked) return checked.error;
  (params as Record<string, number | boolean>)[key] = checked.value;
  return undefined;
}

function unquote(arg: string): string {
  return (arg.startsWith('"') && arg.endsWith('"') && arg.length >= 2) || (arg.startsWith("'") && arg.endsWith("'") && arg.length >= 2) ? arg.slice(1, -1) : arg;
}

/** An image cell has `@image` lines and nothing else (blank lines allowed). */
export function isImageCell(cell: ParsedCell): boolean {
  return cell.images.length > 0 && !cell.videos?.length && cell.errors.length === 0 && cell.regions.length === 0 && !cell.taskGiven && cell.model === undefined && Object.keys(cell.params).length === 0 && cell.prompt.trim() === '';
}

export function formatCellErrors(errors: CellError[]): string {
  return errors.map((e) => `line ${e.line}, column ${e.column}: ${e.message}`).join('\n');
}
