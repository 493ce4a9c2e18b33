// What each model family supplies: how to build its input for a task and how to read its answer.
import type { BoxDialect, Family, RegionInput } from '../protocol';
import type { Region, Task } from '../../../common/result';

/** Loose views of transformers.js objects: the library ships JS with JSDoc types. */
export interface Tensor {
  dims: number[];
  slice(...ranges: (null | [number, number | null] | number)[]): Tensor;
  tolist(): unknown[];
}
export interface Processor {
  (...args: unknown[]): Promise<Record<string, Tensor>>;
  tokenizer: {
    (text: string | string[], opts?: object): Record<string, Tensor>; decode(ids: unknown, opts?: object): string; batch_decode(ids: unknown, opts?: object): string[] };
  apply_chat_template(messages: unknown[], opts?: object): string;
  batch_decode(ids: unknown, opts?: object): string[];
  image_processor?: { config?: Record<string, unknown>; (images: unknown): Promise<Record<string, Tensor>> };
  construct_prompts?(text: string): string[];
  post_process_generation?(text: string, task: string, size: [number, number]): Record<string, unknown>;
}
export type RawImageCtor = new (data: Uint8ClampedArray | Buffer, width: number, height: number, channels: number) => unknown;

export interface FamilyImage {
  raw: unknown;
  /** Natural size (original image pixels, upright). */
  width: number;
  height: number;
  /** Pixels handed to the processor (after Loupe's pre-resize). */
  pixelWidth: number;
  pixelHeight: number;
}

export interface BuildContext {
  processor: Processor;
  task: Task;
  prompt: string;
  images: FamilyImage[];
  regions: RegionInput[];
  dialect: BoxDialect;
  /** transformers.js's tensor concatenation. */
  cat(tensors: Tensor[], dim: number): Tensor;
}

export interface Built {
  inputs: Record<string, Tensor>;
  /** Whether generated ids include the prompt (decoder-only models) and must be cut. */
  cutPrompt: boolean;
  /** Florence-2 task token, for post-processing. */
  taskToken?: string;
  /** Size the model's processor resized each image to, where it matters for coordinates. */
  modelSizes: { width: number; height: number }[];
}

export interface Parsed {
  text: string;
  regions: Region[];
  warnings: string[];
}

export interface ParseContext {
  task: Task;
  dialect: BoxDialect;
  images: FamilyImage[];
  modelSizes: { width: number; height: number }[];
  taskToken?: string;
}

export interface FamilyModule {
  family: Family;
  /** ONNX sessions transformers.js creates for this family (files `onnx/<name>[_dtype].onnx`). */
  modules: readonly string[];
  /** Tasks the family can run at all; registry entries may narrow this. */
  tasks: readonly Task[];
  multiImage: boolean;
  /** Pre-resize limits for images, from the user's token budget. */
  imageLimits(maxImageTokens: number, config: Record<string, unknown>): { maxSide?: number; maxArea?: number };
  build(ctx: BuildContext): Promise<Built>;
  /** Turns generated ids into answer text (special tokens that carry meaning are kept). */
  decode(processor: Processor, ids: Tensor, built: Built): string;
  parse(raw: string, ctx: ParseContext): Parsed;
}

export class TaskRefused extends Error {}
