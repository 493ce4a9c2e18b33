// The model-host protocol: messages between LocalEngine's client (extension host or CLI) and the model-host process.
import type { ErrorCode } from '../../common/errors';
import type { GenerationParams } from '../../common/params';
import type { ModelInfo } from '../../common/result';
import type { Task } from '../../common/tasks';
import type { Dialect } from '../dialects';
import type { Device, Dtype, Generation, VideoFrames } from '../types';
import type { Family } from './families';

export type { Device, Dtype } from '../types';

export interface LoadRequest {
  type: 'load';
  id: number;
  /** Identifies the loaded model for later generate/unload calls. */
  key: string;
  /** Absolute folder in the Hugging Face Hub layout (config.json, onnx/…). */
  folder: string;
  family: Family;
  dialect: Dialect;
  device: Device;
  /** 'auto' or an explicit dtype, or one per module (e.g. {vision_encoder: 'fp16', decoder_model_merged: 'q4'}). */
  dtype: 'auto' | Dtype | Record<string, Dtype>;
  info: ModelInfo;
}

export interface ImageInput {
  /** Absolute path, or base64 bytes for images that have no file (downloaded by the extension). */
  path?: string;
  data?: string;
  source: string;
}

export interface GenerateRequest {
  type: 'generate';
  id: number;
  key: string;
  task: Task;
  prompt: string;
  images: ImageInput[];
  regions: { image: number; box: [number, number, number, number] }[];
  params: GenerationParams;
  /** Upper bound on the model's image tokens per image (loupe.maxImageTokens). */
  maxImageTokens: number;
  maxImagePixels: number;
  /** The images are frames of one clip (times in seconds), for the model's video prompt. */
  video?: VideoFrames;
  /** Stream the answer with its special tokens (Qwen2-VL's box tags), as a server asked with skip_special_tokens=false does. */
  keepSpecialTokens?: boolean;
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

export interface LoadedInfo {
  key: string;
  provider: Exclude<Device, 'auto'>;
  /** Providers tried before the one that runs, and why each failed. */
  fallbacks: { device: Exclude<Device, 'auto'>; error: string }[];
  dtype: string | Record<string, string>;
  loadMs: number;
  /** Bytes of the ONNX files the sessions were created from. */
  bytes: number;
}

export type HostEvent =
  | { type: 'ready'; pid: number }
  | { type: 'loaded'; id: number; info: LoadedInfo }
  | { type: 'delta'; id: number; text: string }
  | { type: 'done'; id: number; result: Generation }
  | { type: 'unloaded'; id: number; keys: string[] }
  | { type: 'status'; id: number; loaded: LoadedInfo[]; rss: number }
  | { type: 'error'; id: number; code: ErrorCode; message: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
