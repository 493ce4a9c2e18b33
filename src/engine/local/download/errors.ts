// What the downloader fails with: a LoupeError (its code in common/errors.ts) that also names the file, the HTTP
// status and the server's Retry-After. Every message says what happened and what to do.
import { LoupeError } from '../../../common/errors';

export type DownloadErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'hash-mismatch'
  | 'size-mismatch'
  | 'disk-full'
  | 'network'
  | 'cancelled'
  | 'http';

export interface DownloadErrorOptions {
  /** Repo-relative path of the file concerned, when there is one. */
  file?: string;
  /** HTTP status that caused the error. */
  status?: number;
  /** Trying again later may succeed (network errors, 5xx, 429). */
  retryable?: boolean;
  /** Server-requested wait before retrying (Retry-After), in ms. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class DownloadError extends LoupeError {
  override name = 'DownloadError';
  declare readonly code: DownloadErrorCode;
  readonly file?: string;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(code: DownloadErrorCode, message: string, opts: DownloadErrorOptions = {}) {
    super(code, message, { retryable: opts.retryable, cause: opts.cause });
    this.file = opts.file;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Human-readable byte count: 1536 → "1.5 KB". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}
