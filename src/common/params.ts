// Generation parameters (`@set key=value`): one table that the parser validates against and every engine reads.

export interface ParamSpec {
  readonly key: string;
  readonly type: 'int' | 'number' | 'boolean';
  /** Inclusive bounds unless `exclusiveMin`. */
  readonly min?: number;
  readonly max?: number;
  readonly exclusiveMin?: boolean;
  /** Words that stand for numbers (`tiles=auto` is -1, `tiles=off` is 0). */
  readonly words?: Readonly<Record<string, number>>;
  readonly description: string;
}

export const PARAM_TABLE = [
  { key: 'max_new_tokens', type: 'int', min: 1, max: 32768, description: 'most tokens to generate (default 256)' },
  { key: 'temperature', type: 'number', min: 0, description: 'sampling temperature (with do_sample=true)' },
  { key: 'top_p', type: 'number', min: 0, max: 1, exclusiveMin: true, description: 'nucleus sampling mass' },
  { key: 'top_k', type: 'int', min: 0, description: 'sample among the k most likely tokens' },
  { key: 'do_sample', type: 'boolean', description: 'sample instead of greedy decoding' },
  { key: 'seed', type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, description: 'random seed, for reproducible sampling' },
  { key: 'repetition_penalty', type: 'number', min: 0, exclusiveMin: true, description: 'penalty for repeated tokens' },
  { key: 'confidence', type: 'number', min: 0, max: 1, description: 'detectors: least confidence of a box (default 0.25)' },
  { key: 'iou', type: 'number', min: 0, max: 1, description: 'detectors: a box overlapping a better one of its class by more than this IoU is dropped (default 0.7)' },
  { key: 'tiles', type: 'int', min: 1, max: 16, words: { auto: -1, off: 0 }, description: 'sub-images for fixed-input models: auto (screens: whole + two halves; pages: a grid), off, or a number of parts' },
] as const satisfies readonly ParamSpec[];

export type ParamKey = (typeof PARAM_TABLE)[number]['key'];
export const PARAM_KEYS: readonly ParamKey[] = PARAM_TABLE.map((p) => p.key);

export interface GenerationParams {
  max_new_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  do_sample?: boolean;
  seed?: number;
  repetition_penalty?: number;
  /** Detectors: least box confidence, and the IoU above which non-maximum suppression drops a box. */
  confidence?: number;
  iou?: number;
  /** Sub-image splitting: -1 auto (the default), 0 off, N parts. */
  tiles?: number;
}

export function paramSpec(key: string): ParamSpec | undefined {
  return PARAM_TABLE.find((p) => p.key === key);
}

/** The allowed range in words, for messages: `between 1 and 32768`, `in (0, 1]`, `> 0`, `≥ 0`. */
export function paramRange(p: ParamSpec): string {
  const lo = p.min === undefined ? undefined : `${p.exclusiveMin ? '(' : '['}${p.min}`;
  if (p.min !== undefined && p.max !== undefined && p.max !== Number.MAX_SAFE_INTEGER) {
    return p.exclusiveMin ? `in ${lo}, ${p.max}]` : `between ${p.min} and ${p.max}`;
  }
  if (p.min !== undefined) return `${p.exclusiveMin ? '>' : '≥'} ${p.min}`;
  return 'a number';
}

/** Checks one value against its spec: the parsed value, or a message saying what is wrong. */
export function checkParam(p: ParamSpec, raw: string): { value: number | boolean } | { error: string } {
  if (p.words && Object.prototype.hasOwnProperty.call(p.words, raw)) return { value: p.words[raw]! };
  if (p.type === 'boolean') {
    if (raw !== 'true' && raw !== 'false') return { error: `${p.key} must be true or false, found "${raw}"` };
    return { value: raw === 'true' };
  }
  if (!/^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(raw)) return { error: `${p.key} must be ${p.words ? `${Object.keys(p.words).join(', ')} or a number` : 'a number'}, found "${raw}"` };
  const n = Number(raw);
  if (p.type === 'int' && !Number.isInteger(n)) return { error: `${p.key} must be a whole number, found "${raw}"` };
  const below = p.min !== undefined && (p.exclusiveMin ? n <= p.min : n < p.min);
  const above = p.max !== undefined && n > p.max;
  if (below || above) return { error: `${p.key} must be ${p.words ? `${Object.keys(p.words).join(', ')} or ` : ''}${paramRange(p)}, found "${raw}"` };
  return { value: n };
}
