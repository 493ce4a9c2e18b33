// The .loupe file format: versioned UTF-8 JSON that diffs well and round-trips byte for byte.
// Pure code: the VS Code serializer is a thin adapter over these functions.
import { LoupeError } from '../../common/errors';

export const FORMAT_VERSION = 1;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One output item as stored: JSON mimes as objects, text as text, everything else as base64. */
export type StoredItem = (
  | { mime: string; json: JsonValue }
  | { mime: string; text: string }
  | { mime: string; base64: string }
) & { extra?: JsonObject };

/**
 * `extra` on every level holds keys this Loupe does not know (written by a newer Loupe or another tool): kept as
 * they are and written back after the known keys, so saving never loses them.
 */
export interface StoredOutput {
  id?: string;
  items: StoredItem[];
  metadata?: JsonObject;
  extra?: JsonObject;
}

export interface StoredCell {
  kind: 'markdown' | 'code';
  language: string;
  source: string;
  metadata: JsonObject;
  outputs: StoredOutput[];
  extra?: JsonObject;
}

export interface StoredNotebook {
  loupe: number;
  metadata: JsonObject;
  cells: StoredCell[];
  extra?: JsonObject;
}

const KNOWN = {
  notebook: ['loupe', 'metadata', 'cells'],
  cell: ['kind', 'language', 'source', 'metadata', 'outputs'],
  output: ['id', 'items', 'metadata'],
  item: ['mime', 'json', 'text', 'base64'],
};

/** The keys of `o` that the format does not define, or undefined when there are none. */
function extraKeys(o: Record<string, unknown>, known: readonly string[]): JsonObject | undefined {
  const extra: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (!known.includes(k) && v !== undefined) extra[k] = v as JsonValue;
  return Object.keys(extra).length ? extra : undefined;
}

const withExtra = <T extends object>(value: T, extra: JsonObject | undefined): T => (extra ? { ...value, extra } : value);

/** A .loupe file that cannot be read: says what is wrong and where (a line and column, or a JSON path). */
export class NotebookFormatError extends LoupeError {
  override name = 'NotebookFormatError';
  constructor(
    message: string,
    readonly where: string,
  ) {
    super('notebook-format', `${where}: ${message}`);
  }
}

export function emptyNotebook(): StoredNotebook {
  return { loupe: FORMAT_VERSION, metadata: {}, cells: [] };
}

// ---------- reading ----------

export interface ParseOptions {
  /**
   * An empty file is a new notebook (VS Code creating a file); elsewhere (the CLI) an empty file is reported,
   * never rewritten as an empty notebook.
   */
  emptyIsNew?: boolean;
}

/** Parses and validates a .loupe file. */
export function parseNotebook(content: Uint8Array | string, name = 'notebook', opts: ParseOptions = {}): StoredNotebook {
  let text: string;
  try {
    text = typeof content === 'string' ? content : new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    throw new NotebookFormatError('the file is not valid UTF-8 text', name);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') {
    if (opts.emptyIsNew) return emptyNotebook();
    throw new NotebookFormatError('the file is empty: it holds no notebook (a new notebook is made by VS Code: Loupe: New Notebook)', name);
  }

  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    const { line, column } = jsonErrorPosition(text, e as Error);
    const reason = String((e as Error).message).replace(/\s*(in JSON )?at position \d+.*$/s, '').replace(/^JSON\.parse: /, '');
    throw new NotebookFormatError(`invalid JSON (${reason})`, `${name}:${line}:${column}`);
  }
  return validateNotebook(raw, name);
}

/** Line and column (1-based) of a JSON.parse error, from V8's "position N" or "line L column C". */
export function jsonErrorPosition(text: string, error: Error): { line: number; column: number } {
  const msg = String(error.message);
  const lc = /line (\d+) column (\d+)/.exec(msg);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /position (\d+)/.exec(msg);
  const offset = pos ? Number(pos[1]) : text.length;
  return offsetToLineColumn(text, offset);
}

export function offsetToLineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validateNotebook(raw: unknown, name: string): StoredNotebook {
  const fail = (path: string, msg: string): never => {
    throw new NotebookFormatError(msg, `${name} at ${path}`);
  };
  if (!isObject(raw)) return fail('the top level', `expected an object, found ${typeName(raw)}`);
  const version = raw.loupe;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return fail('"loupe"', `expected the format version (an integer ≥ 1), found ${JSON.stringify(version) ?? 'nothing'}`);
  }
  if (version > FORMAT_VERSION) {
    return fail('"loupe"', `this notebook uses format version ${version}; this Loupe reads version ${FORMAT_VERSION}. Update Loupe to open it`);
  }
  const metadata = raw.metadata ?? {};
  if (!isObject(metadata)) fail('"metadata"', `expected an object, found ${typeName(metadata)}`);
  if (!Array.isArray(raw.cells)) return fail('"cells"', `expected an array, found ${typeName(raw.cells)}`);

  const cells = raw.cells.map((c, i): StoredCell => {
    const at = `cells[${i}]`;
    if (!isObject(c)) return fail(at, `expected a cell object, found ${typeName(c)}`);
    if (c.kind !== 'markdown' && c.kind !== 'code') fail(`${at}.kind`, `expected "markdown" or "code", found ${JSON.stringify(c.kind) ?? 'nothing'}`);
    const language = c.language ?? (c.kind === 'markdown' ? 'markdown' : 'loupe');
    if (typeof language !== 'string') fail(`${at}.language`, `expected a string, found ${typeName(language)}`);
    if (typeof c.source !== 'string') fail(`${at}.source`, `expected a string, found ${typeName(c.source)}`);
    const cellMeta = c.metadata ?? {};
    if (!isObject(cellMeta)) fail(`${at}.metadata`, `expected an object, found ${typeName(cellMeta)}`);
    const outputs = c.outputs ?? [];
    if (!Array.isArray(outputs)) fail(`${at}.outputs`, `expected an array, found ${typeName(outputs)}`);
    const cell: StoredCell = {
      kind: c.kind as StoredCell['kind'],
      language: language as string,
      source: c.source as string,
      metadata: cellMeta as JsonObject,
      outputs: (outputs as unknown[]).map((o, j) => validateOutput(o, `${at}.outputs[${j}]`, fail)),
    };
    return withExtra(cell, extraKeys(c, KNOWN.cell));
  });
  return withExtra({ loupe: version, metadata: metadata as JsonObject, cells }, extraKeys(raw, KNOWN.notebook));
}

function validateOutput(o: unknown, at: string, fail: (path: string, msg: string) => never): StoredOutput {
  if (!isObject(o)) return fail(at, `expected an output object, found ${typeName(o)}`);
  if (o.id !== undefined && typeof o.id !== 'string') fail(`${at}.id`, `expected a string, found ${typeName(o.id)}`);
  if (!Array.isArray(o.items)) return fail(`${at}.items`, `expected an array, found ${typeName(o.items)}`);
  if (o.metadata !== undefined && !isObject(o.metadata)) fail(`${at}.metadata`, `expected an object, found ${typeName(o.metadata)}`);
  const items = o.items.map((it, k): StoredItem => {
    const iat = `${at}.items[${k}]`;
    if (!isObject(it)) return fail(iat, `expected an item object, found ${typeName(it)}`);
    if (typeof it.mime !== 'string' || it.mime === '') fail(`${iat}.mime`, 'expected a mime type string');
    const mime = it.mime as string;
    const extra = extraKeys(it, KNOWN.item);
    if ('json' in it) return withExtra({ mime, json: it.json as JsonValue }, extra);
    if ('text' in it) {
      if (typeof it.text !== 'string') fail(`${iat}.text`, `expected a string, found ${typeName(it.text)}`);
      return withExtra({ mime, text: it.text as string }, extra);
    }
    if ('base64' in it) {
      if (typeof it.base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(it.base64)) fail(`${iat}.base64`, 'expected base64 data');
      return withExtra({ mime, base64: it.base64 as string }, extra);
    }
    return fail(iat, 'expected one of "json", "text" or "base64"');
  });
  const out: StoredOutput = { items };
  if (o.id !== undefined) out.id = o.id as string;
  if (o.metadata !== undefined) out.metadata = o.metadata as JsonObject;
  return withExtra(out, extraKeys(o, KNOWN.output));
}

// ---------- writing ----------

/** Canonical bytes: fixed key order for the format's own objects, sorted keys elsewhere, 2-space indent, final newline. */
export function serializeNotebook(nb: StoredNotebook): Uint8Array {
  // Unknown keys follow the known ones, in sorted order.
  const extra = (x: { extra?: JsonObject }) => (x.extra ? sortKeys(x.extra) : {});
  const ordered = {
    loupe: nb.loupe,
    metadata: sortKeys(nb.metadata),
    cells: nb.cells.map((c) => ({
      kind: c.kind,
      language: c.language,
      source: c.source,
      metadata: sortKeys(c.metadata),
      outputs: c.outputs.map((o) => {
        const out: Record<string, unknown> = {};
        if (o.id !== undefined) out.id = o.id;
        out.items = o.items.map((it) => ({
          ...('json' in it ? { mime: it.mime, json: sortKeys(it.json) } : 'text' in it ? { mime: it.mime, text: it.text } : { mime: it.mime, base64: it.base64 }),
          ...extra(it),
        }));
        if (o.metadata !== undefined) out.metadata = sortKeys(o.metadata);
        return { ...out, ...extra(o) };
      }),
      ...extra(c),
    })),
    ...extra(nb),
  };
  return new TextEncoder().encode(JSON.stringify(ordered, null, 2) + '\n');
}

function sortKeys<T extends JsonValue>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => sortKeys(x)) as T;
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as JsonObject)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out as T;
  }
  return v;
}

// ---------- output items ----------

const decoder = new TextDecoder('utf-8', { fatal: true });

export function isJsonMime(mime: string): boolean {
  return mime === 'application/json' || mime.endsWith('+json') || mime === 'application/vnd.code.notebook.error';
}

export function isTextMime(mime: string): boolean {
  return mime.startsWith('text/') || mime === 'application/vnd.code.notebook.stdout' || mime === 'application/vnd.code.notebook.stderr' || mime === 'image/svg+xml';
}

/** Chooses the most readable lossless stored form of an output item's bytes. */
export function encodeItem(mime: string, bytes: Uint8Array): StoredItem {
  if (isJsonMime(mime) || isTextMime(mime)) {
    let text: string | undefined;
    try {
      text = decoder.decode(bytes);
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      if (isJsonMime(mime)) {
        try {
          // Stored as an object so the file diffs well; the item's bytes become canonical JSON.
          return { mime, json: JSON.parse(text) as JsonValue };
        } catch {
          /* not JSON: fall through to text */
        }
      }
      return { mime, text };
    }
  }
  return { mime, base64: Buffer.from(bytes).toString('base64') };
}

export function decodeItem(item: StoredItem): Uint8Array {
  if ('json' in item) return new TextEncoder().encode(JSON.stringify(item.json));
  if ('text' in item) return new TextEncoder().encode(item.text);
  return new Uint8Array(Buffer.from(item.base64, 'base64'));
}
