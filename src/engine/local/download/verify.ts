// Integrity of a model folder: hashing the way the Hub does, the download manifest, Git LFS pointer
// detection and `verifyModelDir`, which runs before any inference session is created so that a
// partial, corrupt or pointer-only file is reported by name instead of as an opaque ONNX error.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fsp, type Stats } from 'node:fs';
import * as path from 'node:path';
import { LoupeError } from '../../../common/errors';
import { formatBytes } from './errors';

export const MANIFEST_NAME = '.loupe-manifest.json';
export const PART_SUFFIX = '.part';

/** What the downloader knows about one file of a repo, from the Hub's tree API. */
export interface HubFile {
  /** Repo-relative path with forward slashes, e.g. `onnx/model_q4.onnx`. */
  path: string;
  /** Size of the real content in bytes (for LFS files, the object's size, not the pointer's). */
  size: number;
  /** SHA-256 of the content (the LFS oid), for LFS files. */
  sha256?: string;
  /** Git blob SHA-1 (`sha1("blob <size>\0" + content)`), for files stored in git itself. */
  gitOid?: string;
}

export interface ModelManifest {
  repo: string;
  revision: string;
  endpoint: string;
  files: HubFile[];
  completedAt: string;
}

export type VerifyProblemKind =
  | 'missing'
  | 'partial'
  | 'lfs-pointer'
  | 'size-mismatch'
  | 'empty'
  | 'hash-mismatch';

export interface VerifyProblem {
  /** Path relative to the model folder, forward slashes. */
  file: string;
  kind: VerifyProblemKind;
  /** One sentence a user can act on; names the file. */
  message: string;
  /** Re-downloading the file fixes it (offer that action). */
  redownload: boolean;
}

// ---------------------------------------------------------------------------------------------
// Hashing

/** The hash the Hub publishes for `f`, or undefined when it publishes none. */
export interface ContentHasher {
  readonly algorithm: 'sha256' | 'git-sha1';
  readonly expected: string;
  update(chunk: Uint8Array): void;
  digest(): string;
}

export function createContentHasher(f: HubFile): ContentHasher | undefined {
  let hash: Hash;
  let algorithm: ContentHasher['algorithm'];
  let expected: string;
  if (f.sha256) {
    hash = createHash('sha256');
    algorithm = 'sha256';
    expected = f.sha256.toLowerCase();
  } else if (f.gitOid) {
    // Git hashes a header before the content; the Hub's `oid` for non-LFS files is that blob id.
    hash = createHash('sha1').update(`blob ${f.size}\0`);
    algorithm = 'git-sha1';
    expected = f.gitOid.toLowerCase();
  } else {
    return undefined;
  }
  return {
    algorithm,
    expected,
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest('hex'),
  };
}

/** Feeds a file (or its first `limit` bytes) through `hasher`; aborting `signal` stops it (rejects). */
export async function hashFileInto(file: string, hasher: ContentHasher, limit?: number, signal?: AbortSignal): Promise<void> {
  if (limit === 0) return;
  const stream = createReadStream(file, { ...(limit === undefined ? {} : { end: limit - 1 }), ...(signal ? { signal } : {}) });
  for await (const chunk of stream) hasher.update(chunk as Buffer);
}

export function hashLabel(h: ContentHasher): string {
  return h.algorithm === 'sha256' ? 'SHA-256' : 'git blob SHA-1';
}

// ---------------------------------------------------------------------------------------------
// Paths and manifest

/**
 * Joins a repo-relative path onto `dir`, refusing anything that would land outside it
 * (a hostile or broken listing must not write to `../../.bashrc`).
 */
export function safeJoin(dir: string, rel: string): string {
  const parts = rel.split('/');
  if (
    rel === '' ||
    rel.startsWith('/') ||
    rel.includes('\\') ||
    parts.some((p) => p === '' || p === '.' || p === '..') ||
    /^[a-zA-Z]:/.test(rel)
  ) {
    throw new LoupeError('http', `Refusing unsafe file path from the Hub: ${JSON.stringify(rel)}`);
  }
  return path.join(dir, ...parts);
}

/** JSON with object keys sorted, so the manifest diffs cleanly and compares byte for byte. */
export function stableStringify(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) out[k] = sort(x);
      }
      return out;
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2) + '\n';
}

export async function readManifest(dir: string): Promise<ModelManifest | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, MANIFEST_NAME), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const m = JSON.parse(text) as ModelManifest;
    if (!m || !Array.isArray(m.files)) return undefined;
    return m;
  } catch {
    return undefined; // A corrupt manifest is treated as absent: files are then re-hashed.
  }
}

export async function writeManifest(dir: string, m: ModelManifest): Promise<void> {
  const files = [...m.files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, gitOid: f.gitOid }));
  const text = stableStringify({ ...m, files });
  const target = path.join(dir, MANIFEST_NAME);
  const tmp = `${target}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, text);
  await fsp.rename(tmp, target);
}

// ---------------------------------------------------------------------------------------------
// LFS pointers

const LFS_PREFIXES = ['version https://git-lfs.github.com/spec/v1', 'version https://hawser.github.com/spec/v1'];
/** The LFS spec caps pointer files at 1024 bytes. */
const LFS_POINTER_MAX = 1024;

export interface LfsPointer {
  oid?: string;
  size?: number;
}

/** Parses `file` as a Git LFS pointer; undefined when it is not one. */
export async function readLfsPointer(file: string, st?: Stats): Promise<LfsPointer | undefined> {
  const s = st ?? (await fsp.stat(file));
  if (!s.isFile() || s.size > LFS_POINTER_MAX || s.size < LFS_PREFIXES[0].length) return undefined;
  const text = await fsp.readFile(file, 'utf8');
  if (!LFS_PREFIXES.some((p) => text.startsWith(p))) return undefined;
  const oid = /^oid sha256:([0-9a-f]{64})$/m.exec(text)?.[1];
  const size = /^size (\d+)$/m.exec(text)?.[1];
  return { oid, size: size === undefined ? undefined : Number(size) };
}

function pointerMessage(rel: string, bytes: number, ptr: LfsPointer): string {
  const real = ptr.size === undefined ? '' : ` for a ${formatBytes(ptr.size)} file`;
  return (
    `${rel} is a Git LFS pointer (${bytes} bytes${real}), not the file itself: ` +
    `the model was probably cloned without Git LFS. Re-download the model, or run \`git lfs pull\` in its folder.`
  );
}

// ---------------------------------------------------------------------------------------------
// verifyModelDir

export interface VerifyOptions {
  /** Also re-hash every file against the manifest (slow for large models). */
  deep?: boolean;
}

const MODEL_FILE = /\.onnx(_data(_\d+)?)?$/;
/** Below this, an `.onnx` file cannot hold a graph: it is a truncated or placeholder file. */
const MIN_ONNX_BYTES = 16;

async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch {
    return undefined;
  }
}

/**
 * Checks a model folder before it is loaded. With a download manifest, every listed file is checked
 * for presence, size, LFS pointers and (deep) hash. Without one, `*.onnx` / `*.onnx_data` files are
 * scanned for LFS pointers and empty/tiny files. Returns an empty list when all is well.
 */
export async function verifyModelDir(dir: string, opts: VerifyOptions = {}): Promise<VerifyProblem[]> {
  const manifest = await readManifest(dir);
  return manifest ? verifyAgainstManifest(dir, manifest, opts) : scanModelFiles(dir);
}

async function verifyAgainstManifest(dir: string, m: ModelManifest, opts: VerifyOptions): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = [];
  const add = (file: string, kind: VerifyProblemKind, message: string) =>
    problems.push({ file, kind, message, redownload: true });

  for (const f of m.files) {
    let abs: string;
    try {
      abs = safeJoin(dir, f.path);
    } catch {
      continue; // A manifest we did not write; nothing safe to check.
    }
    const st = await statOrUndefined(abs);
    if (!st || !st.isFile()) {
      const part = await statOrUndefined(abs + PART_SUFFIX);
      if (part) {
        add(
          f.path,
          'partial',
          `${f.path} was only partly downloaded (${formatBytes(part.size)} of ${formatBytes(f.size)}). Re-download to finish it.`,
        );
      } else {
        add(f.path, 'missing', `${f.path} is missing from ${dir}. Re-download the model to restore it.`);
      }
      continue;
    }
    // A pointer where a real file is expected explains the size mismatch better than the sizes do.
    if (st.size !== f.size && f.size > LFS_POINTER_MAX) {
      const ptr = await readLfsPointer(abs, st);
      if (ptr) {
        add(f.path, 'lfs-pointer', pointerMessage(f.path, st.size, ptr));
        continue;
      }
    }
    if (st.size !== f.size) {
      const what = st.size < f.size ? 'truncated' : 'larger than expected';
      add(
        f.path,
        'size-mismatch',
        `${f.path} is ${what}: ${formatBytes(st.size)} instead of ${formatBytes(f.size)}. Re-download the model to replace it.`,
      );
      continue;
    }
    if (opts.deep) {
      const hasher = createContentHasher(f);
      if (!hasher) continue;
      await hashFileInto(abs, hasher);
      const got = hasher.digest();
      if (got !== hasher.expected) {
        add(
          f.path,
          'hash-mismatch',
          `${f.path} is corrupted: its ${hashLabel(hasher)} is ${got}, expected ${hasher.expected}. Re-download the model to replace it.`,
        );
      }
    }
  }
  return problems;
}

async function scanModelFiles(dir: string): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = [];
  const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
    if (depth > 4) return; // Model folders are shallow (`onnx/…`); don't crawl a whole disk by mistake.
    let entries;
    try {
      entries = await fsp.readdir(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const childAbs = path.join(abs, e.name);
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        await walk(childAbs, childRel, depth + 1);
        continue;
      }
      if (e.name.endsWith(PART_SUFFIX) && MODEL_FILE.test(e.name.slice(0, -PART_SUFFIX.length))) {
        const finalRel = childRel.slice(0, -PART_SUFFIX.length);
        if (!(await statOrUndefined(childAbs.slice(0, -PART_SUFFIX.length)))) {
          problems.push({
            file: finalRel,
            kind: 'partial',
            message: `${finalRel} was only partly downloaded. Re-download the model to finish it.`,
            redownload: true,
          });
        }
        continue;
      }
      if (!e.isFile() || !MODEL_FILE.test(e.name)) continue;
      const st = await fsp.stat(childAbs);
      const ptr = await readLfsPointer(childAbs, st);
      if (ptr) {
        problems.push({ file: childRel, kind: 'lfs-pointer', message: pointerMessage(childRel, st.size, ptr), redownload: true });
      } else if (st.size === 0) {
        problems.push({
          file: childRel,
          kind: 'empty',
          message: `${childRel} is empty (0 bytes). Re-download the model to replace it.`,
          redownload: true,
        });
      } else if (e.name.endsWith('.onnx') && st.size < MIN_ONNX_BYTES) {
        problems.push({
          file: childRel,
          kind: 'size-mismatch',
          message: `${childRel} is only ${st.size} bytes, too small to be an ONNX model. Re-download the model to replace it.`,
          redownload: true,
        });
      }
    }
  };
  await walk(dir, '', 0);
  return problems;
}

/** One message for a list of problems, e.g. for an error notification with a "Re-download" action. */
export function describeProblems(problems: VerifyProblem[]): string {
  if (problems.length === 0) return 'All model files are intact.';
  if (problems.length === 1) return problems[0].message;
  return `${problems.length} model files are damaged: ${problems.map((p) => p.message).join(' ')}`;
}
