// The model-host protocol: messages between the extension (or CLI) and the model-host process.
import type { ModelInfo, Region, Task } from '../../common/result';

export type Device = 'auto' | 'webgpu' | 'cuda' | 'dml' | 'coreml' | 'cpu';
export const DEVICES: readonly Device[] = ['auto', 'webgpu', 'cuda', 'dml', 'coreml', 'cpu'];
export type Dtype = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'bnb4' | 'q4f16';
export const DTYPES: readonly Dtype[] = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16'];
export type Family = 'florence2' | 'qwen2_vl' | 'idefics3';
/** How a family writes boxes, when a registry entry needs to say so. */
export type BoxDialect = 'florence2' | 'qwen2_vl' | 'qwen2_5_vl' | 'qwen3_vl' | 'mm15' | 'none';

export interface LoadRequest {
  type: 'load';
  id: number;
  /** Identifies the loaded model for later generate/unload calls. */
  key: string;
  /** Absolute folder in the Hugging Face Hub layout (config.json, onnx/…). */
  folder: string;
  family: Family;
  dialect: BoxDialect;
  device: Device;
  /** 'auto' or an explicit dtype, or one per module (e.g. {vision_encoder: 'fp16', decoder_model_merged: 'q4'}). */
  dtype: 'auto' | Dtype | Record<string, Dtype>;
  info: ModelInfo;
}

export interface ImageInput {
  /** Absolute path, or base64 bytes for images fetched by the extension. */
  path?: string;
  data?: string;
  source: string;
}

export interface RegionInput {
  image: number;
  box: [number, number, number, number];
}

export interface GenerationParams {
  max_new_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  do_sample?: boolean;
  seed?: number;
  repetition_penalty?: number;
}

export interface GenerateRequest {
  type: 'generate';
  id: number;
  key: string;
  task: Task;
  prompt: string;
  images: ImageInput[];
  regions: RegionInput[];
  params: GenerationParams;
  /** Upper bound on the model's image tokens per image (loupe.maxImageTokens). */
  maxImageTokens: number;
  maxImagePixels: number;
}

export interface CancelRequest {
  type: 'cancel';
  /** The generate request to stop. */
  target: number;
}

export interface UnloadRequest {
  type: 'unload';
  id: number;
  key?: string;
}

export interface StatusRequest {
  type: 'status';
  id: number;
}

export type HostRequest = LoadRequest | GenerateRequest | CancelRequest | UnloadRequest | StatusRequest;

export interface ProviderAttempt {
  device: Exclude<Device, 'auto'>;
  error: string;
}

export interface LoadedInfo {
  key: string;
  provider: Exclude<Device, 'auto'>;
  /** Providers tried before the one that runs, and why each failed. */
  fallbacks: ProviderAttempt[];
  dtype: string | Record<string, string>;
  loadMs: number;
  /** Bytes of the ONNX files the sessions were created from. */
  bytes: number;
}

export interface GenerationStats {
  loadMs?: number;
  preprocessMs: number;
  imageEncodeMs: number;
  timeToFirstTokenMs: number;
  totalMs: number;
  promptTokens: number;
  generatedTokens: number;
  tokensPerSecond: number;
}

export interface ImageSeen {
  /** Natural size (after EXIF orientation). */
  width: number;
  height: number;
  /** The size the model's processor worked at. */
  modelWidth: number;
  modelHeight: number;
}

export interface GenerateResult {
  /** The answer with the model's markup turned into plain text. */
  text: string;
  /** The answer exactly as decoded, markup included. */
  raw: string;
  /** Stopped by a cancel request before the model finished. */
  interrupted: boolean;
  regions: Region[];
  warnings: string[];
  images: ImageSeen[];
  stats: GenerationStats;
  seed: number;
}

export type HostEvent =
  | { type: 'ready'; pid: number }
  | { type: 'loaded'; id: number; info: LoadedInfo }
  | { type: 'delta'; id: number; text: string }
  | { type: 'done'; id: number; result: GenerateResult }
  | { type: 'unloaded'; id: number; keys: string[] }
  | { type: 'status'; id: number; loaded: LoadedInfo[]; rss: number }
  | { type: 'error'; id: number; code: HostErrorCode; message: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type HostErrorCode =
  | 'load-failed'
  | 'corrupt-model'
  | 'unsupported-model'
  | 'out-of-memory'
  | 'context-too-long'
  | 'bad-input'
  | 'not-loaded'
  | 'cancelled'
  | 'internal';
