// Command-line arguments of `loupe`: pure, so every rule is tested without running anything.
import { parseArgs } from 'node:util';
import { LoupeError } from '../common/errors';
import { DEFAULTS } from '../common/defaults';
import { DEVICES, DTYPES, type Device, type Dtype } from '../engine/types';
import { EXPORT_FORMATS, type ExportFormat } from '../core/export/common';
import { ANNOTATION_FORMATS, type AnnotationFormat } from '../core/export/annotations';

/** Every --export: notebook formats and, for batch cells, annotation formats (written to a folder). */
export type CliExportFormat = ExportFormat | AnnotationFormat;
const CLI_EXPORTS: readonly CliExportFormat[] = [...EXPORT_FORMATS, ...ANNOTATION_FORMATS];


/** A mistake on the command line: exit status 2 with the usage text. */
export class UsageError extends LoupeError {
  override name = 'UsageError';
  constructor(message: string) {
    super('usage', message);
  }
}

export interface RunArgs {
  /** `eval`: run, then print each batch's score against its @truth. */
  command: 'run' | 'eval';
  notebook: string;
  model?: string;
  device: Device;
  dtype: 'auto' | Dtype;
  export?: CliExportFormat;
  out?: string;
  offline: boolean;
  /** `FROM=TO`: cells (and the default) asking for model FROM use model TO. */
  aliases: Record<string, string>;
  verbose: boolean;
  /** Seconds the model host may send nothing before it is restarted and the cell fails (0: wait forever). */
  hostTimeoutSeconds: number;
  /** A JSON file listing serving engines (else LOUPE_ENGINES). */
  engines?: string;
  /** Most images one batch may match (default DEFAULTS.batchMaxImages). */
  maxImages?: number;
  /** `--ffmpeg`: the ffmpeg binary or its folder, for @video cells (default: $LOUPE_FFMPEG, else PATH). */
  ffmpeg?: string;
}

export interface ExportArgs {
  command: 'export';
  notebook: string;
  export: CliExportFormat;
  out?: string;
}

export interface ModelsArgs {
  command: 'models';
  engines?: string;
  download?: string;
  dtype: 'auto' | Dtype;
  json: boolean;
  offline: boolean;
}

export type CliArgs = RunArgs | ExportArgs | ModelsArgs | { command: 'help'; topic?: string } | { command: 'version' };

export const USAGE = `Usage:
  loupe run <notebook.loupe> [options]     run every code cell headlessly, write the outputs back
      --model <id|org/name|./folder>       model for cells without @model (default: ${DEFAULTS.model})
      --device <${DEVICES.join('|')}>   where the model runs (default: auto)
      --dtype <auto|${DTYPES.join('|')}>   weight precision (default: auto)
      --export <${EXPORT_FORMATS.join('|')}>           also export the run notebook
      --export <${ANNOTATION_FORMATS.join('|')}>  also export the batch cells' annotations (a folder)
      --out <path>                         where the export goes (with --export), else where the run notebook goes
                                           (default: the notebook itself; annotations: <notebook>.<format>/)
      --max-images <n>                     most images one @images batch may match (default: ${DEFAULTS.batchMaxImages})
      --offline                            never download; use downloaded models and local folders only
      --alias <from=to>                    run cells that ask for model <from> on model <to> (repeatable)
      --host-timeout <seconds>             restart a model host that sends nothing for this long (default: ${DEFAULTS.hostTimeoutSeconds}; 0: never)
      --engines <file.json>                serving engines cells may name as @model <id>:<model> (default: $LOUPE_ENGINES)
      --verbose                            show the model host's log on stderr
      --ffmpeg <path>                      ffmpeg (with ffprobe beside it) or its folder, for @video cells (default: $LOUPE_FFMPEG, else PATH)
  loupe eval <notebook.loupe> [options]    run (resuming batches), then print each @images batch's score against its
                                           @truth (hit rate at IoU ≥ 0.5, mean IoU, point in box); options as run
  loupe export <notebook.loupe> --export <${CLI_EXPORTS.join('|')}> [--out <path>]
                                           convert without running
  loupe models [--download <id>] [--dtype <dtype>] [--json] [--offline] [--engines <file.json>]
                                           list registry models (sizes per dtype, tasks, downloaded?) and the engines'
                                           served models, or download one
  loupe help | --help, loupe --version

Environment: LOUPE_MODELS_DIR (default ~/.cache/loupe/models), HF_ENDPOINT, HF_TOKEN, LOUPE_ENGINES (a JSON list of
engines: [{"id", "kind": vllm|ollama|llamacpp|lmstudio|openai, "baseUrl", "model"?, "maxPixels"?, "dialect"?}]),
LOUPE_API_KEY_<ID> (an engine's API key; the id upper-cased, other characters as _).
Exit status: 0 all cells ran, 1 a cell failed (or an export/download failed), 2 usage error (eval: no batch with @truth).
`;

function oneOf<T extends string>(what: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${what} must be one of ${allowed.join(', ')}; got "${value}"`);
  return value as T;
}

function exportFormat(value: string | undefined): CliExportFormat | undefined {
  if (value === undefined) return undefined;
  const v = value === 'markdown' ? 'md' : value === 'jupyter' ? 'ipynb' : value;
  return oneOf('export', v, CLI_EXPORTS, 'html');
}

export function parseCliArgs(argv: string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return { command: 'help', topic: rest[0] };
  if (command === '--version' || command === '-v' || command === 'version') return { command: 'version' };
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^TypeError \[\w+\]: /, ''));
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { command: 'help', topic: command };
  const allowed: Record<string, string[]> = {
    run: ['model', 'device', 'dtype', 'export', 'out', 'offline', 'alias', 'verbose', 'host-timeout', 'engines', 'max-images', 'ffmpeg'],
    eval: ['model', 'device', 'dtype', 'export', 'out', 'offline', 'alias', 'verbose', 'host-timeout', 'engines', 'max-images', 'ffmpeg'],
    export: ['export', 'out'],
    models: ['download', 'dtype', 'json', 'offline', 'engines'],
  };
  if (!allowed[command]) throw new UsageError(`unknown command "${command}": expected run, eval, export or models`);
  for (const k of Object.keys(v)) if (!allowed[command]!.includes(k)) throw new UsageError(`loupe ${command} does not take --${k}`);

  if (command === 'models') {
    if (positionals.length) throw new UsageError(`loupe models takes no arguments; got ${positionals.join(' ')}`);
    return { command, download: v.download, dtype: oneOf('dtype', v.dtype, ['auto', ...DTYPES], 'auto'), json: v.json ?? false, offline: v.offline ?? false, ...(v.engines ? { engines: v.engines } : {}) };
  }
  if (positionals.length === 0) throw new UsageError(`loupe ${command} needs a notebook: loupe ${command} <notebook.loupe>`);
  if (positionals.length > 1) throw new UsageError(`loupe ${command} takes one notebook; got ${positionals.join(' ')}`);
  const notebook = positionals[0]!;
  if (v.out === '') throw new UsageError('--out needs a path');
  if (command === 'export') {
    const format = exportFormat(v.export);
    if (!format) throw new UsageError(`loupe export needs --export ${CLI_EXPORTS.join('|')}`);
    return { command, notebook, export: format, out: v.out };
  }
  const aliases: Record<string, string> = {};
  for (const a of v.alias ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(a);
    if (!m) throw new UsageError(`--alias expects from=to; got "${a}"`);
    aliases[m[1]!.trim()] = m[2]!.trim();
  }
  if (v.model === '') throw new UsageError('--model needs a model id, org/name or folder');
  const timeout = v['host-timeout'] === undefined ? DEFAULTS.hostTimeoutSeconds : Number(v['host-timeout']);
  if (!Number.isFinite(timeout) || timeout < 0) throw new UsageError(`--host-timeout takes seconds (a number ≥ 0); got "${v['host-timeout']}"`);
  const maxImages = v['max-images'] === undefined ? undefined : Number(v['max-images']);
  if (maxImages !== undefined && !(Number.isInteger(maxImages) && maxImages >= 1)) throw new UsageError(`--max-images takes a whole number ≥ 1; got "${v['max-images']}"`);
  return {
    command: command as 'run' | 'eval',
    notebook,
    model: v.model,
    device: oneOf('device', v.device, DEVICES, 'auto'),
    dtype: oneOf('dtype', v.dtype, ['auto', ...DTYPES], 'auto'),
    export: exportFormat(v.export),
    out: v.out,
    offline: v.offline ?? false,
    aliases,
    verbose: v.verbose ?? false,
    hostTimeoutSeconds: timeout,
    ...(v.engines ? { engines: v.engines } : {}),
    ...(maxImages !== undefined ? { maxImages } : {}),
    ...(v.ffmpeg ? { ffmpeg: v.ffmpeg } : {}),
  };
}

const OPTIONS = {
  model: { type: 'string' },
  device: { type: 'string' },
  dtype: { type: 'string' },
  export: { type: 'string' },
  out: { type: 'string', short: 'o' },
  offline: { type: 'boolean' },
  alias: { type: 'string', multiple: true },
  verbose: { type: 'boolean' },
  'host-timeout': { type: 'string' },
  engines: { type: 'string' },
  'max-images': { type: 'string' },
  ffmpeg: { type: 'string' },
  download: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;
