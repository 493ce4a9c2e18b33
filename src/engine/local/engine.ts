// The local engine: models resolved and downloaded here, run in the model host process (client.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoupeError } from '../../common/errors';
import type { CustomModel } from './resolve';
import { isLocalRef, resolveModel } from './resolve';
import { findEntry, REGISTRY } from '../registry';
import type { Device, Dtype, Engine, EngineStatus, GenerateOptions, GenerateRequest, Generation, LoadedModel, ModelDescription, ModelHandle, ModelListing, PrepareOptions } from '../types';
import { readManifest } from './download/verify';
import { FAMILIES } from './families';
import type { Family } from './families';
import type { HostClient } from './client';
import type { LoadedInfo } from './protocol';
import { fixedInputOf } from './families/fixedInput';

export const LOCAL_ENGINE_ID = 'local';

/** Settings of the local engine, read at each use (they can change between cells). */
export interface LocalSettings {
  device: Device;
  dtype: 'auto' | Dtype;
  allowDownloads: boolean;
  /** Hub address for downloads. */
  endpoint: string;
  token?: string;
  /** Where downloaded models live (extension global storage, or the CLI's cache). */
  modelsDir: string;
  customModels?: CustomModel[];
  /** What a user of this front end does to work offline (a VS Code setting, or CLI options). */
  offlineHint?: string;
}

/** What the host needs to load a resolved model, kept beside the handle the runner sees. */
interface Resolved {
  key: string;
  folder: string;
  family: Family;
}

export class LocalEngine implements Engine {
  readonly id = LOCAL_ENGINE_ID;
  /** The model host runs one generation at a time: a batch feeds it image by image. */
  readonly concurrency = 1;
  private readonly resolved = new WeakMap<ModelHandle, Resolved>();
  private readonly loaded = new Map<string, LoadedModel>();

  constructor(
    readonly client: HostClient,
    private readonly settings: () => LocalSettings,
  ) {}

  async listModels(): Promise<ModelListing[]> {
    const dir = this.settings().modelsDir;
    return Promise.all(
      REGISTRY.map(async (e) => ({
        id: e.id,
        name: e.name,
        description: e.description,
        capabilities: e.capabilities,
        available: (await readManifest(join(dir, ...e.repo.split('/'))))?.files.some((f) => f.path.endsWith('.onnx')) ?? false,
      })),
    );
  }

  describe(ref: string): ModelDescription | undefined {
    // Registry models say what they can do before anything is downloaded; a custom name may point elsewhere.
    if (this.settings().customModels?.some((c) => c.id === ref) || isLocalRef(ref)) return undefined;
    const entry = findEntry(ref);
    return entry ? { id: entry.id, capabilities: entry.capabilities } : undefined;
  }

  async prepare(ref: string, opts: PrepareOptions): Promise<ModelHandle> {
    const s = this.settings();
    const model = await resolveModel(ref, { ...s, baseDir: opts.baseDir, signal: opts.signal, onProgress: opts.onProgress });
    const handle: ModelHandle = {
      engine: this.id,
      ref,
      info: { ...model.info, engine: this.id },
      dialect: model.dialect,
      capabilities: model.capabilities,
      needsImage: FAMILIES[model.family].needsImage,
      ...frameTokensOf(model.folder),
      ...fixedInputOf(model.family, model.folder),
    };
    this.resolved.set(handle, { key: model.key, folder: model.folder, family: model.family });
    return handle;
  }

  async load(handle: ModelHandle): Promise<LoadedModel> {
    const r = this.resolved.get(handle);
    if (!r) throw new LoupeError('internal', `${handle.info.id} was not prepared by this engine`);
    const s = this.settings();
    const info = await this.client.load({ key: `${r.key}|${s.device}|${s.dtype}`, folder: r.folder, family: r.family, dialect: handle.dialect, device: s.device, dtype: s.dtype, info: handle.info });
    const loaded = toLoaded(handle, info);
    this.loaded.set(info.key, loaded);
    return loaded;
  }

  generate(model: LoadedModel, req: GenerateRequest, opts: GenerateOptions = {}): Promise<Generation> {
    return this.client.generate(
      {
        key: model.key,
        task: req.task,
        prompt: req.prompt,
        // The model host reads files itself; images without a file go as the bytes already read.
        images: req.images.map((i) => (i.path ? { source: i.source, path: i.path } : { source: i.source, data: Buffer.from(i.bytes ?? []).toString('base64') })),
        regions: req.regions,
        params: req.params,
        maxImageTokens: req.maxImageTokens,
        maxImagePixels: req.maxImagePixels,
        ...(req.video ? { video: req.video } : {}),
      },
      opts,
    );
  }

  async status(): Promise<EngineStatus> {
    const s = await this.client.status();
    const keys = new Set(this.client.loadedModels().map((i) => i.key));
    return { loaded: [...this.loaded.values()].filter((l) => keys.has(l.key)), ...(s ? { rssBytes: s.rss } : {}) };
  }

  dispose(): void {
    this.client.dispose();
  }
}

/** A processor that says how many tokens an image costs (SmolVLM's image_seq_len, video frames being unsplit). */
function frameTokensOf(folder: string): { frameTokens?: number } {
  try {
    const n = Number((JSON.parse(readFileSync(join(folder, 'processor_config.json'), 'utf8')) as { image_seq_len?: unknown }).image_seq_len);
    return n > 0 ? { frameTokens: n } : {};
  } catch {
    return {};
  }
}

function toLoaded(handle: ModelHandle, info: LoadedInfo): LoadedModel {
  return { handle, key: info.key, provider: info.provider, dtype: info.dtype, fallbacks: info.fallbacks, loadMs: info.loadMs };
}
