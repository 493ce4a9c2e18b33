// From what a cell's `@model` says to a verified folder on disk: registry id, Hub repo or local folder.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { LoupeError } from '../../common/errors';
import type { ModelInfo } from '../../common/result';
import type { Dialect } from '../dialects';
import { closeMatches, findEntry } from '../registry';
import type { Capability, Dtype } from '../types';
import { downloadFiles, listRepoFiles, readManifest, verifyModelDir, type DownloadProgress, type HubFile } from './download/hub';
import { FAMILIES, familyCapabilities, familyOfModelType, MODEL_TYPES } from './families';
import type { Family } from './families';
import { DTYPE_SUFFIX } from './host/dtypes';

export interface ResolvedModel {
  /** Stable key for the host: same folder and settings → same loaded sessions. */
  key: string;
  folder: string;
  family: Family;
  dialect: Dialect;
  capabilities: Capability[];
  info: ModelInfo;
}

/** A user's own registry entry (setting loupe.customModels): a name for a folder or repo, and its box dialect. */
export interface CustomModel {
  id: string;
  path?: string;
  repo?: string;
  revision?: string;
  dialect?: Dialect;
}

export interface ResolveOptions {
  customModels?: CustomModel[];
  /** Folder of the notebook, for `./relative` model folders. */
  baseDir?: string;
  /** Where downloaded models live (extension global storage or the CLI's cache). */
  modelsDir: string;
  allowDownloads: boolean;
  endpoint: string;
  token?: string;
  dtype: 'auto' | Dtype;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  fetch?: typeof fetch;
  /** How to work offline, in the words of the front end (a setting in VS Code, options on the command line). */
  offlineHint?: string;
}

export function isLocalRef(ref: string): boolean {
  return ref.startsWith('./') || ref.startsWith('../') || ref.startsWith('~/') || isAbsolute(ref) || /^[A-Za-z]:[\\/]/.test(ref) || ref === '.';
}

function readConfig(folder: string): Record<string, unknown> {
  const p = join(folder, 'config.json');
  if (!existsSync(p)) throw new LoupeError('unsupported-model', `${folder} has no config.json: a model folder needs the Hugging Face layout (config.json, onnx/…).`);
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new LoupeError('corrupt-model', `${p} is not valid JSON (${(e as Error).message}).`);
  }
}

function familyOf(config: Record<string, unknown>, where: string): { family: Family; dialect: Dialect } {
  const type = String(config.model_type ?? '');
  const known = familyOfModelType(type);
  if (!known) throw new LoupeError('unsupported-model', `${where} is a "${type || 'unknown'}" model; Loupe runs these model types: ${MODEL_TYPES.join(', ')}.`);
  return known;
}

export async function resolveModel(ref: string, opts: ResolveOptions): Promise<ResolvedModel> {
  const custom = opts.customModels?.find((c) => c.id === ref);
  if (custom) {
    const target = custom.path ?? custom.repo;
    if (!target) throw new LoupeError('unknown-model', `loupe.customModels entry "${custom.id}" needs a "path" or a "repo".`);
    const base = await resolveModel(target, { ...opts, customModels: [] });
    const dialect = custom.dialect ?? base.dialect;
    return { ...base, key: `${base.key}|${dialect}`, dialect, capabilities: familyCapabilities(base.family, dialect), info: { ...base.info, id: custom.id } };
  }
  if (isLocalRef(ref)) {
    const expanded = ref.startsWith('~/') ? join(homedir(), ref.slice(2)) : ref;
    if (!isAbsolute(expanded) && !opts.baseDir) throw new LoupeError('unknown-model', `@model ${ref} is relative, but the notebook has not been saved: save it or use an absolute path.`);
    const folder = resolve(opts.baseDir ?? '.', expanded);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new LoupeError('unknown-model', `model folder not found: ${folder}`);
    // A user's own detector: an Ultralytics export (one .onnx, no config.json) is a YOLO-layout detector.
    if (detectorFolder(folder)) return { key: `local:${folder}`, folder, family: 'yolo', dialect: 'detections', capabilities: familyCapabilities('yolo', 'detections'), info: { id: ref, revision: 'local', fixture: false } };
    const config = readConfig(folder);
    const { family, dialect } = familyOf(config, folder);
    const fixture = /^loupe\/tiny-/.test(String(config._name_or_path ?? ''));
    return { key: `local:${folder}`, folder, family, dialect, capabilities: familyCapabilities(family, dialect), info: { id: ref, revision: 'local', fixture } };
  }

  const entry = findEntry(ref);
  const repo = entry?.repo ?? (/^[\w.-]+\/[\w.-]+$/.test(ref) ? ref : undefined);
  if (!repo) {
    const close = closeMatches(ref);
    throw new LoupeError('unknown-model', `unknown model "${ref}".${close.length ? ` Did you mean ${close.join(', ')}?` : ''} Use a registry id (Loupe: Select Model), a Hub repo like org/name, or a local folder like ./models/my-model.`);
  }
  const revision = entry?.revision ?? 'main';
  const folder = join(opts.modelsDir, ...repo.split('/'));
  await ensureDownloaded(repo, revision, folder, entry?.family, opts);
  const config = readConfig(folder);
  const { family, dialect } = entry ? { family: entry.family, dialect: entry.dialect } : familyOf(config, repo);
  const manifest = await readManifest(folder);
  return {
    key: `hub:${repo}`,
    folder,
    family,
    dialect,
    capabilities: entry?.capabilities ?? familyCapabilities(family, dialect),
    info: { id: entry?.id ?? repo, revision: manifest?.revision ?? revision },
  };
}

/** Config and tokenizer files plus the ONNX sessions of one dtype; `auto` downloads q4 (runs on CPU and GPU). */
export function filesToFetch(all: HubFile[], family: Family, dtype: 'auto' | Dtype): HubFile[] {
  const top = all.filter((f) => !f.path.includes('/') && /\.(json|txt|jinja|model)$/.test(f.path));
  const modules = FAMILIES[family].modules;
  const order: Dtype[] = dtype === 'auto' ? ['q4', 'q8', 'int8', 'uint8', 'fp16', 'fp32'] : [dtype];
  const onnx: HubFile[] = [];
  for (const mod of modules) {
    const d = order.find((d) => all.some((f) => f.path === `onnx/${mod}${DTYPE_SUFFIX[d]}.onnx`));
    if (!d) throw new LoupeError('unsupported-model', `the repository has no onnx/${mod}${dtype === 'auto' ? '' : DTYPE_SUFFIX[dtype]}.onnx${dtype === 'auto' ? '' : ` for dtype ${dtype}`}.`);
    const base = `onnx/${mod}${DTYPE_SUFFIX[d]}.onnx`;
    onnx.push(...all.filter((f) => f.path === base || f.path.startsWith(`${base}_data`)));
  }
  return [...top, ...onnx];
}

async function ensureDownloaded(repo: string, revision: string, folder: string, family: Family | undefined, opts: ResolveOptions): Promise<void> {
  const manifest = await readManifest(folder);
  // A manifest with no ONNX file is a download stopped after config.json.
  if (manifest?.files.some((f) => f.path.endsWith('.onnx')) && (await verifyModelDir(folder)).length === 0) return;
  if (!opts.allowDownloads) {
    throw new LoupeError(
      'offline',
      `${repo} is not downloaded, and downloads are off. ${opts.offlineHint ?? `To work offline, copy the model into ${folder} or point @model at a local folder (./path/to/model); loupe.allowDownloads turns downloads back on.`}`,
    );
  }
  const common = { endpoint: opts.endpoint, repo, revision, token: opts.token, signal: opts.signal, fetch: opts.fetch };
  const all = await listRepoFiles(common);
  if (!family) {
    // A repo outside the registry: its config.json says which family, and so which sessions to fetch.
    const config = all.filter((f) => f.path === 'config.json');
    if (!config.length) throw new LoupeError('unsupported-model', `${repo} has no config.json: it is not a model repository Loupe can load.`);
    await downloadFiles({ ...common, files: config, destDir: folder });
    family = familyOf(readConfig(folder), repo).family;
  }
  await downloadFiles({ ...common, files: filesToFetch(all, family, opts.dtype), destDir: folder, onProgress: opts.onProgress });
}

/** A folder with no config.json and exactly one `.onnx` file (Ultralytics' `best.onnx`): a detector. */
function detectorFolder(folder: string): boolean {
  if (existsSync(join(folder, 'config.json'))) return false;
  return readdirSync(folder).filter((n) => n.endsWith('.onnx')).length === 1;
}
