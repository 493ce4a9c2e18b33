// The Engine seam: everything that runs prompts looks like this to the runner, whether it is the local model host
// or (later) a server. Engines return the answer as decoded; the runner parses it with the dialect (dialects/).
import type { ModelInfo } from '../common/result';
import type { GenerationParams } from '../common/params';
import type { Task } from '../common/tasks';
import type { Dialect } from './dialects';
import type { Size } from './dialects/frames';

export type Device = 'auto' | 'webgpu' | 'cuda' | 'dml' | 'coreml' | 'cpu';
export const DEVICES: readonly Device[] = ['auto', 'webgpu', 'cuda', 'dml', 'coreml', 'cpu'];
export type Dtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'bnb4' | 'q4f16';
export const DTYPES: readonly Dtype[] = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16'];

/** What a model can do: tasks, whether it reads several images in one prompt, and whether it was trained on video. */
export type Capability = Task | 'multi-image' | 'video';

/** What an engine knows about a model before preparing it (no download): enough to refuse a task early. */
export interface ModelDescription {
  id: string;
  capabilities: readonly Capability[];
}

/** A model ready to load: resolved, downloaded and verified. */
export interface ModelHandle {
  /** The engine that runs it. */
  engine: string;
  /** How the cell (or the default) named it. */
  ref: string;
  info: ModelInfo;
  dialect: Dialect;
  capabilities: readonly Capability[];
  /** The model cannot answer without an image (Florence-2). */
  needsImage: boolean;
  /** Image tokens one video frame costs (SmolVLM: 64), where the model says; it sets how many frames a question samples. */
  frameTokens?: number;
  /**
   * Side in pixels of the fixed square input the model resizes every image to (Florence-2 768, a YOLO detector 640);
   * undefined for models with dynamic resolution. `@set tiles=auto` splits large images only for fixed-input models.
   */
  fixedInput?: number;
}

/** A loaded model: where it runs, and how it got there. */
export interface LoadedModel {
  handle: ModelHandle;
  /** The engine's key for this model in generate calls. */
  key: string;
  /** The execution provider or server that runs it. */
  provider: string;
  dtype?: string | Record<string, string>;
  /** Providers tried before the one that runs, and why each failed. */
  fallbacks: { device: string; error: string }[];
  loadMs: number;
}

/** Progress of a download (or any preparation that moves bytes). */
export interface PrepareProgress {
  file: string;
  bytes: number;
  total: number;
  filesDone: number;
  filesTotal: number;
  done?: boolean;
}

export interface PrepareOptions {
  /** Folder of the notebook, for `./relative` model references. */
  baseDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: PrepareProgress) => void;
}

/** An image as the engine receives it: its file, or its bytes when it has none (downloaded images). */
export interface EngineImage {
  source: string;
  path?: string;
  bytes?: Uint8Array;
}

export interface GenerateRequest {
  task: Task;
  prompt: string;
  images: EngineImage[];
  /** `@region` boxes in original pixels; `image` is 1-based within this request's images. */
  regions: { image: number; box: [number, number, number, number] }[];
  params: GenerationParams;
  /** Upper bound on the model's image tokens per image (loupe.maxImageTokens). */
  maxImageTokens: number;
  maxImagePixels: number;
  /** The images are frames of one clip: their times and the clip's length (seconds), for the model's video prompt. */
  video?: VideoFrames;
}

export interface VideoFrames {
  /** Seconds, the clip's length. */
  duration: number;
  /** Seconds, each image's time in the clip. */
  times: number[];
}

export interface GenerationStats {
  preprocessMs: number;
  imageEncodeMs: number;
  timeToFirstTokenMs: number;
  totalMs: number;
  promptTokens: number;
  generatedTokens: number;
  tokensPerSecond: number;
}

/** What a model run returns: the raw answer and what the parser needs to place its regions. */
export interface Generation {
  /** The answer exactly as decoded, markup included. */
  raw: string;
  /** Stopped by a cancel before the model finished. */
  interrupted: boolean;
  /** Per image: natural size (upright) and the size the model's processor worked at. */
  images: (Size & { modelWidth: number; modelHeight: number })[];
  stats: GenerationStats;
  seed: number;
  /** What the engine noticed about this run (a stream cut short, an answer cut at max_new_tokens). */
  warnings?: string[];
}

export interface GenerateOptions {
  signal?: AbortSignal;
  /** Answer text as it streams (plain text, markup already dropped where the engine can). */
  onDelta?: (text: string) => void;
}

export interface ModelListing {
  id: string;
  name: string;
  description?: string;
  capabilities: readonly Capability[];
  /** Usable without a download. */
  available: boolean;
}

export interface EngineStatus {
  /** Models loaded now. */
  loaded: LoadedModel[];
  /** Memory the engine's process uses, where it has one. */
  rssBytes?: number;
}

export interface Engine {
  /** `local`, or a configured engine's id. */
  readonly id: string;
  /** Requests it takes at once (batches): 1 for the local model host, a server's `concurrency`. */
  readonly concurrency?: number;
  listModels(): Promise<ModelListing[]>;
  /** What is known about a model without downloading anything; undefined when only preparing it can tell. */
  describe(ref: string): ModelDescription | undefined;
  /** Resolves, downloads (with progress and cancel) and verifies a model. */
  prepare(ref: string, opts: PrepareOptions): Promise<ModelHandle>;
  load(model: ModelHandle, opts?: { signal?: AbortSignal }): Promise<LoadedModel>;
  generate(model: LoadedModel, req: GenerateRequest, opts?: GenerateOptions): Promise<Generation>;
  status(): Promise<EngineStatus>;
  dispose(): void;
}

/** Picks the engine for a model reference (`@model`): today the local engine; later `<engine id>:<model>`. */
export interface EngineSet {
  pick(ref: string): { engine: Engine; ref: string };
}
