// Model downloads from the Hugging Face Hub (or a mirror), done by us rather than by transformers.js
// so that they resume, verify, report progress, respect disk space and can be cancelled. The model is
// then loaded from the local folder. No `vscode` import: used by the extension, model host and CLI.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DownloadError, formatBytes } from './errors';
import {
  createContentHasher,
  hashFileInto,
  hashLabel,
  PART_SUFFIX,
  readManifest,
  safeJoin,
  writeManifest,
  type ContentHasher,
  type HubFile,
  type ModelManifest,
} from './verify';

export * from './errors';
export * from './verify';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** `loupe.hubEndpoint` setting > `HF_ENDPOINT` > huggingface.co, without a trailing slash. */
export function resolveEndpoint(setting?: string, env: NodeJS.ProcessEnv = process.env): string {
  const pick = [setting, env.HF_ENDPOINT].map((s) => s?.trim()).find((s) => s);
  return (pick ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

/** An explicit token (an empty string means "none") > `HF_TOKEN` > the legacy `HUGGING_FACE_HUB_TOKEN`. */
export function resolveToken(token?: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const t = token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  return t?.trim() || undefined;
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** `{endpoint}/{repo}/resolve/{revision}/{path}`; the revision is one segment (`refs%2Fpr%2F1`). */
export function fileUrl(endpoint: string, repo: string, revision: string, filePath: string): string {
  return `${endpoint}/${encodePath(repo)}/resolve/${encodeURIComponent(revision)}/${encodePath(filePath)}`;
}

export function treeUrl(endpoint: string, repo: string, revision: string): string {
  return `${endpoint}/api/models/${encodePath(repo)}/tree/${encodeURIComponent(revision)}?recursive=true`;
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface HttpContext {
  endpoint: string;
  repo: string;
  revision: string;
  token?: string;
  fetchImpl: typeof fetch;
  /** The caller's signal: aborting it means "cancelled". */
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 10;

function throwIfCancelled(signal: AbortSignal | undefined, file?: string): void {
  if (signal?.aborted) {
    throw new DownloadError('cancelled', file ? `Download of ${file} was cancelled.` : 'Download was cancelled.', { file });
  }
}

function describeCause(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const inner = e?.cause?.code ?? e?.cause?.message;
  return [e?.message, inner].filter(Boolean).join(': ') || String(err);
}

function networkError(ctx: HttpContext, err: unknown, file?: string): DownloadError {
  if (err instanceof DownloadError) return err;
  return new DownloadError(
    'network',
    `Cannot reach the Hugging Face Hub at ${ctx.endpoint} (${describeCause(err)}). ` +
      `Check your connection or proxy. To work offline, point @model at a local folder, ` +
      `or copy the model files into the models folder and set loupe.allowDownloads to false.`,
    { file, retryable: true, cause: err },
  );
}

function retryAfterMs(res: Response): number | undefined {
  const v = res.headers.get('retry-after');
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return s * 1000;
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}

/** Maps a non-success response to a DownloadError a user can act on. */
function statusError(ctx: HttpContext, res: Response, file?: string): DownloadError {
  const what = file ? `${file} from ${ctx.repo}` : ctx.repo;
  const hub = res.headers.get('x-error-message');
  const detail = hub ? ` The Hub says: ${hub}` : '';
  const opts = { file, status: res.status };
  switch (res.status) {
    case 401:
      return new DownloadError(
        'unauthorized',
        `The Hub at ${ctx.endpoint} refused to send ${what} (401 Unauthorized). If the model is gated or private, ` +
          `set HF_TOKEN to a token with read access or accept the model's licence on the Hub; also check the repo name.${detail}`,
        opts,
      );
    case 403:
      return new DownloadError(
        'forbidden',
        `Access to ${what} is forbidden (403). Accept the model's licence on its Hub page, ` +
          `or use an HF_TOKEN with permission to read it.${detail}`,
        opts,
      );
    case 404:
      return new DownloadError(
        'not-found',
        file
          ? `${file} was not found in ${ctx.repo} at revision ${ctx.revision} (404). Check the file name and revision.${detail}`
          : `The repository ${ctx.repo} (revision ${ctx.revision}) was not found on ${ctx.endpoint} (404). Check the name and revision.${detail}`,
        opts,
      );
    default: {
      const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
      return new DownloadError(
        'http',
        `The Hub at ${ctx.endpoint} answered ${res.status} ${res.statusText} for ${what}.` +
          (retryable ? ' It may be busy; try again later.' : '') +
          detail,
        { ...opts, retryable, retryAfterMs: retryAfterMs(res) },
      );
    }
  }
}

/**
 * GET that follows redirects itself so the token goes only to the endpoint's origin: the Hub
 * redirects LFS files to a CDN, which must not see it (huggingface_hub does the same).
 */
async function hubGet(
  ctx: HttpContext,
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal | undefined,
  file?: string,
): Promise<{ res: Response; url: string }> {
  const endpointOrigin = new URL(ctx.endpoint).origin;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const h = new Headers(headers);
    if (ctx.token && new URL(current).origin === endpointOrigin) h.set('authorization', `Bearer ${ctx.token}`);
    let res: Response;
    try {
      res = await ctx.fetchImpl(current, { headers: h, redirect: 'manual', signal });
    } catch (err) {
      throwIfCancelled(ctx.signal, file);
      throw networkError(ctx, err, file);
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel().catch(() => undefined);
      current = new URL(location, current).toString();
      continue;
    }
    return { res, url: current };
  }
  throw new DownloadError('http', `Too many redirects while fetching ${file ?? url}.`, { file });
}

function sleep(ms: number, signal: AbortSignal | undefined, file?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DownloadError('cancelled', 'Download was cancelled.', { file }));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DownloadError('cancelled', file ? `Download of ${file} was cancelled.` : 'Download was cancelled.', { file }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface RetryOptions {
  retries: number;
  retryBaseMs: number;
  signal?: AbortSignal;
  file?: string;
}

/** Runs `fn` again after exponential backoff with jitter while it fails with a retryable error. */
async function withRetries<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      throwIfCancelled(o.signal, o.file);
      if (!(err instanceof DownloadError) || !err.retryable || attempt >= o.retries) throw err;
      const backoff = Math.min(30_000, o.retryBaseMs * 2 ** attempt) * (0.5 + Math.random() / 2);
      await sleep(Math.min(60_000, Math.max(backoff, err.retryAfterMs ?? 0)), o.signal, o.file);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Listing

export interface ListRepoFilesOptions {
  endpoint: string;
  repo: string;
  revision?: string;
  /** Defaults to HF_TOKEN. */
  token?: string;
  signal?: AbortSignal;
  retries?: number;
  retryBaseMs?: number;
  fetch?: typeof fetch;
}

/** An entry of `GET /api/models/{repo}/tree/{revision}?recursive=true`. */
interface TreeEntry {
  type: 'file' | 'directory';
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number; pointerSize?: number };
}

/** `<https://…?cursor=…>; rel="next"` → the next page's URL. */
function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;(.*)$/.exec(part.trim());
    if (m && /\brel\s*=\s*"?next"?/i.test(m[2])) return new URL(m[1], base).toString();
  }
  return undefined;
}

function httpContext(o: { endpoint: string; repo: string; revision?: string; token?: string; fetch?: typeof fetch; signal?: AbortSignal }): HttpContext {
  return {
    endpoint: o.endpoint.replace(/\/+$/, ''),
    repo: o.repo,
    revision: o.revision ?? 'main',
    token: resolveToken(o.token),
    fetchImpl: o.fetch ?? globalThis.fetch,
    signal: o.signal,
  };
}

/** Lists every file of a repo at a revision through the Hub API, following pagination. */
export async function listRepoFiles(o: ListRepoFilesOptions): Promise<HubFile[]> {
  const ctx = httpContext(o);
  const revision = ctx.revision;
  const files: HubFile[] = [];
  let url: string | undefined = treeUrl(ctx.endpoint, o.repo, revision);
  for (let page = 0; url && page < 10_000; page++) {
    const pageUrl: string = url;
    const entries = await withRetries(
      async () => {
        const { res, url: finalUrl } = await hubGet(ctx, pageUrl, { accept: 'application/json' }, o.signal);
        if (!res.ok) {
          await res.body?.cancel().catch(() => undefined);
          throw statusError(ctx, res);
        }
        let body: unknown;
        try {
          body = await res.json();
        } catch (err) {
          throwIfCancelled(o.signal);
          throw networkError(ctx, err);
        }
        if (!Array.isArray(body)) {
          throw new DownloadError('http', `The Hub at ${ctx.endpoint} sent an unexpected file listing for ${o.repo}.`);
        }
        url = nextLink(res.headers.get('link'), finalUrl);
        return body as TreeEntry[];
      },
      { retries: o.retries ?? 4, retryBaseMs: o.retryBaseMs ?? 500, signal: o.signal },
    );
    for (const e of entries) {
      if (e.type !== 'file') continue;
      files.push(
        e.lfs
          ? { path: e.path, size: e.lfs.size ?? e.size, sha256: e.lfs.oid }
          : { path: e.path, size: e.size, gitOid: e.oid },
      );
    }
    if (url === pageUrl) break; // A server that links a page to itself would loop forever.
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// Downloading

export interface DownloadProgress {
  /** File being downloaded (repo-relative path). */
  file: string;
  fileBytes: number;
  fileTotal: number;
  /** Bytes present for all requested files, including those already on disk. */
  bytes: number;
  total: number;
  filesDone: number;
  filesTotal: number;
  /** True for the last report of a `downloadFiles` call. */
  done?: boolean;
}

export interface DownloadFilesOptions {
  endpoint: string;
  repo: string;
  revision?: string;
  /** Defaults to HF_TOKEN. */
  token?: string;
  files: HubFile[];
  destDir: string;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Extra attempts per file after network errors and 5xx answers. */
  retries?: number;
  /** First backoff delay; doubles per attempt. */
  retryBaseMs?: number;
  /** Abort an attempt (and retry) when no byte arrives for this long. */
  stallTimeoutMs?: number;
  /** Free bytes at `dir`; defaults to `fs.statfs`. Injectable for tests. */
  freeSpace?: (dir: string) => Promise<number>;
  fetch?: typeof fetch;
  /** Minimum interval between progress reports. */
  progressIntervalMs?: number;
}

async function sizeOf(p: string): Promise<number | undefined> {
  try {
    const st = await fsp.stat(p);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

async function rmQuiet(p: string): Promise<void> {
  await fsp.rm(p, { force: true }).catch(() => undefined);
}

/** statfs of the nearest existing ancestor: the destination may not exist before the check. */
async function defaultFreeSpace(dir: string): Promise<number> {
  let d = path.resolve(dir);
  for (;;) {
    try {
      const s = await fsp.statfs(d);
      return Number(s.bavail) * Number(s.bsize);
    } catch (err) {
      const parent = path.dirname(d);
      if (parent === d) throw err;
      d = parent;
    }
  }
}

/** Room left on top of the download for temp files, the manifest and filesystem slack. */
export function spaceMargin(bytes: number): number {
  return Math.max(32 * 1024 * 1024, Math.ceil(bytes * 0.01));
}

const sameContent = (a: HubFile, b: HubFile) =>
  a.size === b.size && (a.sha256 ?? '') === (b.sha256 ?? '') && (a.gitOid ?? '') === (b.gitOid ?? '');

function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

function diskFull(file: string, dir: string, err: unknown): DownloadError {
  return new DownloadError(
    'disk-full',
    `The disk ran out of space while writing ${file} in ${dir}. Free up space (the partial file is kept and will resume) and try again.`,
    { file, cause: err },
  );
}

/**
 * Downloads `files` of a repo into `destDir`: resumable `.part` files, size and hash checks, atomic
 * rename, free-space check, retries with backoff, cancellation, progress. Files already present and
 * verified are skipped. Writes `<destDir>/.loupe-manifest.json` when everything is in place.
 */
export async function downloadFiles(o: DownloadFilesOptions): Promise<void> {
  const ctx = httpContext(o);
  const revision = ctx.revision;
  const retries = o.retries ?? 4;
  const retryBaseMs = o.retryBaseMs ?? 500;
  const stallTimeoutMs = o.stallTimeoutMs ?? 60_000;
  const interval = o.progressIntervalMs ?? 100;
  throwIfCancelled(o.signal);

  const jobs = o.files.map((f) => ({ f, dest: safeJoin(o.destDir, f.path) }));
  const previous = await readManifest(o.destDir);

  // What is already done, and how many bytes are still to come (for the free-space check).
  const todo: typeof jobs = [];
  let presentBytes = 0;
  let remaining = 0;
  for (const job of jobs) {
    throwIfCancelled(o.signal);
    // Hashing a multi-GB file takes a while: let the caller's signal stop it.
    const present = await isPresent(job.f, job.dest, previous, o.signal).catch((err: unknown) => {
      throwIfCancelled(o.signal, job.f.path);
      throw err;
    });
    if (present) {
      presentBytes += job.f.size;
      continue;
    }
    const part = (await sizeOf(job.dest + PART_SUFFIX)) ?? 0;
    remaining += part <= job.f.size ? job.f.size - part : job.f.size;
    todo.push(job);
  }

  if (remaining > 0) {
    const needed = remaining + spaceMargin(remaining);
    const free = await (o.freeSpace ?? defaultFreeSpace)(o.destDir);
    if (free < needed) {
      throw new DownloadError(
        'disk-full',
        `Not enough free disk space in ${o.destDir}: downloading ${o.repo} needs ${formatBytes(needed)} ` +
          `(${formatBytes(remaining)} plus a ${formatBytes(needed - remaining)} margin) but only ${formatBytes(free)} is free. ` +
          `Free up space or choose another models folder.`,
      );
    }
  }

  // Progress: `bytes` counts everything on disk for the requested files, so a resumed download
  // starts where it left off rather than at 0.
  const total = o.files.reduce((n, f) => n + f.size, 0);
  let doneBytes = presentBytes;
  let filesDone = jobs.length - todo.length;
  let lastEmit = -Infinity;
  // `finished`: this file is already counted in doneBytes; `done`: the call's last report.
  const report = (file: string, fileBytes: number, fileTotal: number, force = false, finished = false, done = false) => {
    if (!o.onProgress) return;
    const now = performance.now();
    if (!force && now - lastEmit < interval) return;
    lastEmit = now;
    o.onProgress({
      file,
      fileBytes,
      fileTotal,
      bytes: doneBytes + (finished ? 0 : fileBytes),
      total,
      filesDone,
      filesTotal: jobs.length,
      ...(done ? { done } : {}),
    });
  };

  for (const { f, dest } of todo) {
    throwIfCancelled(o.signal, f.path);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await rmQuiet(dest); // It failed isPresent: never leave a bad file where the loader looks.
    report(f.path, 0, f.size, true);
    await withRetries(
      async () => {
        // 'restart' means the .part was thrown away (416, or a resumed file failing its hash): go
        // again from zero right away; it cannot repeat, as a fresh download does not restart.
        while ((await attemptFile(f, dest)) === 'restart') {
          /* loop */
        }
      },
      { retries, retryBaseMs, signal: o.signal, file: f.path },
    );
    doneBytes += f.size;
    filesDone++;
    report(f.path, f.size, f.size, true, true);
  }

  // Keep entries of an earlier download of the same revision (e.g. another quantisation).
  const merged = new Map<string, HubFile>();
  if (previous && previous.repo === o.repo && previous.revision === revision) {
    for (const f of previous.files) merged.set(f.path, f);
  }
  for (const f of o.files) merged.set(f.path, f);
  const manifest: ModelManifest = {
    repo: o.repo,
    revision,
    endpoint: ctx.endpoint,
    files: [...merged.values()],
    completedAt: new Date().toISOString(),
  };
  await fsp.mkdir(o.destDir, { recursive: true });
  await writeManifest(o.destDir, manifest);
  const last = o.files[o.files.length - 1];
  report(last?.path ?? '', last?.size ?? 0, last?.size ?? 0, true, true, true);

  /** One attempt at one file, resuming from its .part. */
  async function attemptFile(f: HubFile, dest: string): Promise<'ok' | 'restart'> {
    const part = dest + PART_SUFFIX;
    let offset = (await sizeOf(part)) ?? 0;
    if (offset > f.size) {
      await rmQuiet(part);
      offset = 0;
    }
    const resumed = offset > 0;
    let hasher = createContentHasher(f);

    if (offset === f.size && f.size > 0) {
      // A previous run got every byte but stopped before the rename: only verify.
      if (hasher) await hashFileInto(part, hasher, undefined, o.signal);
      return finish(f, dest, part, hasher, resumed);
    }

    // Our own controller stops a stalled transfer; the caller's signal means "cancelled".
    const stall = new AbortController();
    const signal = o.signal ? AbortSignal.any([o.signal, stall.signal]) : stall.signal;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(new Error(`no data for ${Math.round(stallTimeoutMs / 1000)} s`)), stallTimeoutMs);
    };
    const stalled = () =>
      new DownloadError('network', `The download of ${f.path} stalled (no data for ${Math.round(stallTimeoutMs / 1000)} s).`, {
        file: f.path,
        retryable: true,
      });

    try {
      arm();
      const headers: Record<string, string> = { 'accept-encoding': 'identity' };
      if (offset > 0) headers.range = `bytes=${offset}-`;
      let res: Response;
      try {
        res = (await hubGet(ctx, fileUrl(ctx.endpoint, o.repo, revision, f.path), headers, signal, f.path)).res;
      } catch (err) {
        if (stall.signal.aborted && !o.signal?.aborted) throw stalled();
        throw err;
      }

      let append: boolean;
      if (res.status === 206 && offset > 0) {
        const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== offset) {
          await res.body?.cancel().catch(() => undefined);
          await rmQuiet(part);
          return 'restart'; // A range we did not ask for cannot be appended.
        }
        append = true;
      } else if (res.status === 416 && offset > 0) {
        // The .part does not fit what the server has (the file changed?): start over.
        await res.body?.cancel().catch(() => undefined);
        await rmQuiet(part);
        return 'restart';
      } else if (res.status === 200) {
        append = false; // Server ignored the Range header: take the whole file from the start.
      } else {
        await res.body?.cancel().catch(() => undefined);
        throw statusError(ctx, res, f.path);
      }

      const start = append ? offset : 0;
      const encoded = res.headers.get('content-encoding');
      const length = res.headers.get('content-length');
      if (length !== null && (!encoded || encoded === 'identity') && start + Number(length) !== f.size) {
        await res.body?.cancel().catch(() => undefined);
        throw sizeMismatch(f, start + Number(length));
      }
      if (append) {
        if (hasher) await hashFileInto(part, hasher, offset, o.signal);
      } else {
        hasher = createContentHasher(f);
      }

      let written = start;
      const fh = await fsp.open(part, append ? 'a' : 'w').catch((err: unknown) => {
        throw isNoSpace(err) ? diskFull(f.path, o.destDir, err) : err;
      });
      try {
        const reader = res.body?.getReader();
        while (reader) {
          let chunk: Awaited<ReturnType<typeof reader.read>>;
          try {
            chunk = await reader.read();
          } catch (err) {
            throwIfCancelled(o.signal, f.path);
            if (stall.signal.aborted) throw stalled();
            throw networkError(ctx, err, f.path);
          }
          if (chunk.done) break;
          arm();
          const bytes = chunk.value;
          if (written + bytes.byteLength > f.size) {
            await reader.cancel().catch(() => undefined);
            throw sizeMismatch(f, written + bytes.byteLength);
          }
          try {
            await fh.write(bytes);
          } catch (err) {
            throw isNoSpace(err) ? diskFull(f.path, o.destDir, err) : err;
          }
          hasher?.update(bytes);
          written += bytes.byteLength;
          report(f.path, written, f.size);
        }
        if (written < f.size) {
          throw new DownloadError(
            'network',
            `The connection closed after ${formatBytes(written)} of ${f.path} (${formatBytes(f.size)}); it will resume.`,
            { file: f.path, retryable: true },
          );
        }
        await fh.sync(); // Durable before the rename makes the file visible.
      } finally {
        await fh.close();
      }
      return await finish(f, dest, part, hasher, resumed);
    } catch (err) {
      if (err instanceof DownloadError && err.code === 'size-mismatch') await rmQuiet(part);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Checks the hash of a complete .part and renames it into place. */
  async function finish(
    f: HubFile,
    dest: string,
    part: string,
    hasher: ContentHasher | undefined,
    resumed: boolean,
  ): Promise<'ok' | 'restart'> {
    if (hasher) {
      const got = hasher.digest();
      if (got !== hasher.expected) {
        await rmQuiet(part);
        // The bad bytes may be in what an earlier run left behind: one fresh try decides.
        if (resumed) return 'restart';
        throw new DownloadError(
          'hash-mismatch',
          `${f.path} failed its integrity check: the ${hashLabel(hasher)} is ${got}, expected ${hasher.expected}. ` +
            `The download was corrupted or the file changed on the Hub; it was deleted, so re-download to try again.`,
          { file: f.path },
        );
      }
    }
    await fsp.rename(part, dest);
    await syncDir(path.dirname(dest));
    return 'ok';
  }
}

function sizeMismatch(f: HubFile, got: number): DownloadError {
  return new DownloadError(
    'size-mismatch',
    `${f.path} is ${formatBytes(got)} on the Hub instead of the ${formatBytes(f.size)} it was listed with; ` +
      `the file may have changed on the Hub. Re-download the model to fetch the new listing.`,
    { file: f.path },
  );
}

/** fsync the directory so the rename survives a crash; not supported everywhere (Windows), so best effort. */
async function syncDir(dir: string): Promise<void> {
  try {
    const h = await fsp.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    /* best effort */
  }
}

/** Present and matching: trusted from the manifest of an earlier verified download, else re-hashed. */
async function isPresent(
  f: HubFile,
  dest: string,
  previous: ModelManifest | undefined,
  signal?: AbortSignal,
): Promise<boolean> {
  if ((await sizeOf(dest)) !== f.size) return false;
  const known = previous?.files.find((p) => p.path === f.path);
  if (known && sameContent(known, f)) return true;
  const hasher = createContentHasher(f);
  if (!hasher) return true; // Size is all the Hub told us.
  await hashFileInto(dest, hasher, undefined, signal);
  return hasher.digest() === hasher.expected;
}
