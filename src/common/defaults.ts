// Defaults in one place: settings (package.json's defaults are checked against these by a test), the CLI and
// the engine all read them.

import type { Task } from './tasks';

export const DEFAULTS: {
  readonly model: string;
  readonly taskModels: Readonly<Partial<Record<Task, string>>>;
  readonly hostTimeoutSeconds: number;
  readonly maxImageTokens: number;
  readonly maxImagePixels: number;
  readonly batchMaxImages: number;
  readonly displayMaxSide: number;
  readonly unloadAfterMinutes: number;
  readonly maxNewTokens: number;
  readonly device: 'auto';
  readonly dtype: 'auto';
  readonly allowDownloads: boolean;
  readonly maxVideoMinutes: number;
  readonly ffmpegPath: string;
} = {
  /** Model for cells without `@model` (a registry id). */
  model: 'florence-2-base',
  /**
   * Models for cells without `@model`, by task, before `model`: a plain question needs a chat model (Florence-2
   * answers no free questions).
   */
  taskModels: { ask: 'qwen2-vl-2b' },
  /** Seconds the model host may send nothing (no token, progress or heartbeat) before it is restarted. */
  hostTimeoutSeconds: 120,
  /** Most image tokens one image may cost (Qwen2-VL: one per 28×28 pixels). */
  maxImageTokens: 1280,
  /** Largest image decoded, in pixels, checked from the header. */
  maxImagePixels: 50_000_000,
  /** Most images one `@images` batch may match. */
  batchMaxImages: 10_000,
  /** Longest side of the display copy stored in a notebook output. */
  displayMaxSide: 1600,
  /** Idle minutes before loaded models are unloaded (0: never). */
  unloadAfterMinutes: 10,
  /** Tokens generated when `@set max_new_tokens` is not given. */
  maxNewTokens: 256,
  device: 'auto',
  dtype: 'auto',
  allowDownloads: true,
  /** Longest clip a video cell reads, in minutes (longer clips are refused before decoding). */
  maxVideoMinutes: 120,
  /** ffmpeg and ffprobe: empty means "find them on PATH"; Loupe downloads and bundles neither. */
  ffmpegPath: '',
};
