// What each model family supplies to the model host: its sessions, how to build its input for a task, how to
// decode its output, and hooks for what differs between families (which class loads it, fixes to the library).
// Answers are parsed by the dialect (engine/dialects), not here.
import type { Dialect } from '../../dialects';
import type { Task } from '../../../common/tasks';
import type { GenerateRequest, VideoFrames } from '../../types';
import type { ExactSize } from '../../../images/prepare';

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
}

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
  regions: GenerateRequest['regions'];
  dialect: Dialect;
  /** The images are frames of one clip, with their times: the family writes its video prompt. */
  video?: VideoFrames;
  /** transformers.js's tensor concatenation. */
  cat(tensors: Tensor[], dim: number): Tensor;
}

export interface Built {
  inputs: Record<string, Tensor>;
  /** Size the model's processor resized each image to, where it matters for coordinates. */
  modelSizes: { width: number; height: number }[];
}

/** The generate()-able model transformers.js returns. */
export interface Model {
  generate(args: Record<string, unknown>): Promise<Tensor>;
  encode_image?: (args: unknown) => Promise<unknown>;
  dispose(): Promise<unknown>;
}

/** How images are sized before the processor: bounds, or the processor's own fixed input size (images/prepare.ts). */
export type ImageLimits = { maxSide?: number; maxArea?: number; exactSize?: ExactSize };

export interface FamilyModule {
  /** Its key in FAMILIES (families/index.ts). */
  family: string;
  /** transformers.js `model_type`s this family loads, each with the box dialect its models write by default. */
  modelTypes: Readonly<Record<string, Dialect>>;
  /** transformers.js class that loads the model (`from_pretrained`). */
  modelClass: 'AutoModelForImageTextToText';
  /** ONNX sessions transformers.js creates for this family (files `onnx/<name>[_dtype].onnx`). */
  modules: readonly string[];
  /** Tasks the family can run at all; registry entries may narrow this. */
  tasks: readonly Task[];
  multiImage: boolean;
  /** The model cannot answer without an image. */
  needsImage: boolean;
  /** Pre-resize limits for images, from the user's token budget. */
  imageLimits(maxImageTokens: number, config: Record<string, unknown>): ImageLimits;
  /** Fixes to the loaded model where the library differs from the reference implementation. */
  patch?(model: Model, tf: typeof import('@huggingface/transformers')): void;
  build(ctx: BuildContext): Promise<Built>;
  /** Turns generated ids into answer text (special tokens that carry meaning are kept). */
  decode(processor: Processor, ids: Tensor, built: Built): string;
}

/**
 * A family the model host runs on onnxruntime-node itself instead of through transformers.js (detectors: no
 * processor, no generate). It has its own load and run hooks (`host/direct.ts`); what the runner and the resolver
 * read (model types, sessions, tasks) is the same as a FamilyModule's.
 */
export interface DirectFamily {
  family: string;
  /** Runs without transformers.js: loaded and run by `host/direct.ts`. */
  direct: true;
  modelTypes: Readonly<Record<string, Dialect>>;
  /** ONNX files `onnx/<name>[_dtype].onnx` in the Hub layout. */
  modules: readonly string[];
  tasks: readonly Task[];
  multiImage: false;
  needsImage: true;
}

export type AnyFamily = FamilyModule | DirectFamily;

export function isDirectFamily(f: AnyFamily): f is DirectFamily {
  return (f as DirectFamily).direct === true;
}
