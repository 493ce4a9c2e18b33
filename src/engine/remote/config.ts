// `loupe.engines` (VS Code user settings) and `--engines` / LOUPE_ENGINES (CLI): the servers Loupe may send images
// to. Checked here once, with messages that name the entry and the field.
import { LoupeError } from '../../common/errors';
import { DIALECTS, type Dialect } from '../dialects';
import { ENGINE_KINDS, type EngineKind } from './providers';

export interface EngineConfig {
  /** The name cells use: `@model <id>:<served model>`. */
  id: string;
  kind: EngineKind;
  /** Where the server listens, with /v1 (added when missing). */
  baseUrl: string;
  /** The served model a bare `@model <id>` runs. */
  model?: string;
  /** Largest image, in pixels, sent to this server (Loupe resizes first, so the server's own resize is a no-op). */
  maxPixels?: number;
  /** How the served models write boxes, when their names do not say. */
  dialect?: Dialect;
  /** Requests in flight at once (batches). */
  concurrency?: number;
  /** Seconds to wait for the server's first byte, and between two pieces of an answer. */
  timeoutSeconds?: number;
}

/** Qwen2.5-VL's default max_pixels (1280 tokens of 28×28): what Loupe sends when an engine sets none. */
export const DEFAULT_MAX_PIXELS = 1280 * 28 * 28;
export const DEFAULT_TIMEOUT_SECONDS = 120;
export const DEFAULT_CONCURRENCY = 8;

const ID = /^[A-Za-z][\w.-]+$/;

/** The dialects a served chat model can write: a detector's (`detections`) runs in the model host, never on a server. */
export const REMOTE_DIALECTS: readonly Dialect[] = DIALECTS.filter((d) => d !== 'detections');

/** Checks a list read from settings or a file; `where` names its source in messages. */
export function parseEngineConfigs(value: unknown, where: string): EngineConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new LoupeError('usage', `${where} must be a list of engines ([{ "id": …, "kind": …, "baseUrl": … }]), found ${typeof value}`);
  const seen = new Set<string>();
  return value.map((raw, i) => {
    const at = `${where}[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new LoupeError('usage', `${at} must be an object with id, kind and baseUrl`);
    const e = raw as Record<string, unknown>;
    if (typeof e.id !== 'string' || !ID.test(e.id)) throw new LoupeError('usage', `${at}.id must be a name of two or more letters, digits, "-", "_" or "." starting with a letter (it is written in cells as @model <id>:<model>); found ${JSON.stringify(e.id)}`);
    if (seen.has(e.id)) throw new LoupeError('usage', `${at}.id "${e.id}" is used twice`);
    seen.add(e.id);
    if (typeof e.kind !== 'string' || !(ENGINE_KINDS as string[]).includes(e.kind)) throw new LoupeError('usage', `${at}.kind must be one of ${ENGINE_KINDS.join(', ')}; found ${JSON.stringify(e.kind)}`);
    if (typeof e.baseUrl !== 'string' || !/^https?:\/\/[^/]+/i.test(e.baseUrl)) throw new LoupeError('usage', `${at}.baseUrl must be an http(s) URL like http://gpu-box:8000/v1; found ${JSON.stringify(e.baseUrl)}`);
    const num = (k: string, min: number) => {
      const v = e[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new LoupeError('usage', `${at}.${k} must be a number ≥ ${min}; found ${JSON.stringify(v)}`);
      return v;
    };
    if (e.model !== undefined && (typeof e.model !== 'string' || !e.model)) throw new LoupeError('usage', `${at}.model must be the name of a served model`);
    if (e.dialect !== undefined && !(REMOTE_DIALECTS as readonly unknown[]).includes(e.dialect)) throw new LoupeError('usage', `${at}.dialect must be one of ${REMOTE_DIALECTS.join(', ')}`);
    const out: EngineConfig = { id: e.id, kind: e.kind as EngineKind, baseUrl: withV1(e.baseUrl) };
    if (typeof e.model === 'string') out.model = e.model;
    const maxPixels = num('maxPixels', 28 * 28 * 4);
    if (maxPixels !== undefined) out.maxPixels = maxPixels;
    if (e.dialect !== undefined) out.dialect = e.dialect as Dialect;
    const concurrency = num('concurrency', 1);
    if (concurrency !== undefined) out.concurrency = Math.floor(concurrency);
    const timeout = num('timeoutSeconds', 1);
    if (timeout !== undefined) out.timeoutSeconds = timeout;
    return out;
  });
}

/** OpenAI-compatible servers answer under /v1: `http://host:8000` means `http://host:8000/v1`. */
export function withV1(url: string): string {
  const u = url.replace(/\/+$/, '');
  return /\/v\d+$/.test(u) ? u : `${u}/v1`;
}

/** The environment variable the CLI reads an engine's key from: `gpu-box` → `LOUPE_API_KEY_GPU_BOX`. */
export function keyVariable(id: string): string {
  return `LOUPE_API_KEY_${id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The box dialect a served model writes, from its name (Hub names, Ollama tags, GGUF files). */
export function dialectFromName(name: string): Dialect {
  const n = name.toLowerCase();
  // ShowUI (a Qwen2-VL fine-tune) writes [x, y] points in 0–1.
  if (/show[-_ ]?ui/.test(n)) return 'showui';
  if (/qwen[-_ ]?3[-_.]?vl/.test(n)) return 'qwen3_vl';
  if (/qwen[-_ ]?2[._]5[-_.]?vl|qwen2\.5vl|qwen25vl/.test(n)) return 'qwen2_5_vl';
  if (/qwen[-_ ]?2[-_.]?vl/.test(n)) return 'qwen2_vl';
  if (/florence[-_ ]?2/.test(n)) return 'florence2';
  if (/ferret|mm1\.?5/.test(n)) return 'mm15';
  return 'none';
}
