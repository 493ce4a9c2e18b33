// One error type for everything that can go wrong, in any layer and any process: a code from the table below,
// a message that says what happened and what to do, an optional hint, and whether trying again may help.
// The CLI and the extension show every error through `describeError`.

export const ERROR_TITLES = {
  // Input the user wrote or pointed at.
  'cell-syntax': 'Cell syntax error',
  'bad-input': 'Bad input',
  'bad-image': 'Image could not be read',
  'bad-video': 'Video could not be read',
  'ffmpeg-missing': 'ffmpeg not found',
  'notebook-format': 'Notebook could not be read',
  usage: 'Usage error',
  untrusted: 'Workspace not trusted',
  // Models.
  'unknown-model': 'Unknown model',
  'unsupported-model': 'Model not supported',
  'corrupt-model': 'Model files are damaged',
  'task-unsupported': 'Task not supported by this model',
  offline: 'Model not available offline',
  'load-failed': 'Model could not be loaded',
  'out-of-memory': 'Out of memory',
  'context-too-long': 'Prompt too long for the model',
  'not-loaded': 'Model not loaded',
  // The model host process.
  'host-crashed': 'Model host stopped',
  'host-timeout': 'Model host not responding',
  cancelled: 'Interrupted',
  // Downloads.
  network: 'Model not available offline',
  unauthorized: 'Download not authorized',
  forbidden: 'Download forbidden',
  'not-found': 'Not found on the Hub',
  'hash-mismatch': 'Download damaged',
  'size-mismatch': 'Download damaged',
  'disk-full': 'Disk full',
  http: 'Download failed',
  // Serving engines (loupe.engines).
  'server-unreachable': 'Server not reachable',
  'server-tls': 'Secure connection failed',
  'server-auth': 'Server refused the key',
  'server-model': 'Model not served',
  'server-refused': 'Server refused the request',
  'server-busy': 'Server busy',
  'server-timeout': 'Server not responding',
  'server-error': 'Server error',
  // Writing results.
  'write-failed': 'Could not write',
  internal: 'Loupe error',
} as const;

export type ErrorCode = keyof typeof ERROR_TITLES;

export interface LoupeErrorOptions {
  /** What to do about it, when the message alone does not say. */
  hint?: string;
  /** Trying again later may succeed (network errors, a busy server). */
  retryable?: boolean;
  cause?: unknown;
}

export class LoupeError extends Error {
  override name = 'LoupeError';
  readonly hint?: string;
  readonly retryable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    opts: LoupeErrorOptions = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.hint = opts.hint;
    this.retryable = opts.retryable ?? false;
  }
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_TITLES, code);
}

export function isLoupeError(e: unknown, code?: ErrorCode): e is LoupeError {
  return e instanceof LoupeError && (code === undefined || e.code === code);
}

/** Any thrown value as a LoupeError: unknown errors become `internal`, with their stack kept for the log. */
export function asLoupeError(e: unknown): LoupeError {
  if (e instanceof LoupeError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  return new LoupeError('internal', err.stack ?? err.message, { cause: e });
}

/** What a user is shown: a title from the table, the message, and the hint when there is one. */
export function describeError(e: unknown): { code: ErrorCode; title: string; message: string } {
  const err = asLoupeError(e);
  return { code: err.code, title: ERROR_TITLES[err.code], message: err.hint ? `${err.message}\n${err.hint}` : err.message };
}
