// Output schema v1, shared by the extension (writes it) and the renderer (reads it).

export const NOTEBOOK_TYPE = 'loupe';
export const CONTROLLER_ID = 'loupe.local';
export const RENDERER_ID = 'loupe.renderer';
export const RESULT_MIME = 'application/vnd.loupe.result+json';
export const RESULT_VERSION = 1;

export const TASKS = [
  'ask',
  'caption',
  'detailed-caption',
  'ocr',
  'ocr-regions',
  'detect',
  'ground',
  'describe-region',
] as const;
export type Task = (typeof TASKS)[number];

/** A region in the original image's pixels (after EXIF orientation). */
export interface Region {
  /** 1-based index into the result's images. */
  image: number;
  label: string;
  kind: 'box' | 'quad' | 'point';
  /** box: [x1, y1, x2, y2]; quad: [x1, y1, … x4, y4]; point: [x, y]. */
  coords: number[];
  /** [start, end) of the answer text this region came from. */
  span?: [number, number];
  /** The model's own text for this region, as matched. */
  raw?: string;
}

export interface DisplayImage {
  mime: 'image/png' | 'image/jpeg';
  /**
   * base64 of a display-sized copy (longest side ≤ 1600 px). Empty in a streaming update: the image is the one the
   * same output already showed, so each update carries only what changed.
   */
  data: string;
  width: number;
  height: number;
}

export interface ResultImage {
  /** 1-based, the order of the cell's `@image` lines. */
  index: number;
  /** As written in the cell (path relative to the notebook, or URL). */
  source: string;
  /** Natural size after EXIF orientation; 0 when the image could not be read. */
  width: number;
  height: number;
  format?: string;
  display?: DisplayImage;
  /** The resolution the model's processor worked at, for prompt cells. */
  modelWidth?: number;
  modelHeight?: number;
  /** Conversions the user should know about (first frame of an animation, 16-bit → 8-bit…). */
  notes?: string[];
  /** Why this image could not be shown. */
  error?: string;
}

export interface ModelInfo {
  id: string;
  revision?: string;
  dtype?: string | Record<string, string>;
  provider?: string;
  /** Providers tried first and why they could not run the model. */
  fallbacks?: { device: string; error: string }[];
  /** A generated test model, not a real one: its answers are scripted. */
  fixture?: boolean;
}

export interface LoupeResult {
  version: typeof RESULT_VERSION;
  kind: 'images' | 'prompt';
  status: 'running' | 'ok' | 'error';
  task: Task;
  model?: ModelInfo;
  images: ResultImage[];
  prompt?: string;
  answer: string;
  /** The model's answer as decoded, markup included (what the region parser read). */
  raw?: string;
  /** Per-image answers when a single-image task ran once per image (fan-out). */
  answers?: { image: number; text: string }[];
  regions: Region[];
  params: Record<string, number | boolean>;
  /** Milliseconds unless the key says otherwise. */
  timings: Record<string, number>;
  warnings: string[];
  error?: string;
}

export function isLoupeResult(value: unknown): value is LoupeResult {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<LoupeResult>;
  return v.version === RESULT_VERSION && Array.isArray(v.images) && typeof v.answer === 'string' && Array.isArray(v.regions);
}
