// A serving engine that speaks the OpenAI chat-completions protocol (vLLM, Ollama, llama.cpp's server, LM Studio,
// hosted APIs), behind the same Engine seam as the local model host.
//
// The protocol client is the official `openai` package: it frames the Server-Sent Events stream, retries 429 and
// 5xx answers with backoff (honouring Retry-After), aborts on a signal and types the server's errors. Loupe adds
// what it needs around it: images resized by the client (so boxes map back exactly), timeouts between pieces of
// the stream, and errors a user can act on.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { DEFAULTS } from '../../common/defaults';
import { frameHeading, framesIntro } from '../../common/video';
import { LoupeError } from '../../common/errors';
import { encodeForServer } from '../../images/prepare';
import type { Dialect } from '../dialects';
import { chatInstruction, dialectTasks, florencePrompt, regionText } from '../dialects/prompts';
import type { Capability, Engine, EngineStatus, GenerateOptions, GenerateRequest, Generation, LoadedModel, ModelDescription, ModelHandle, ModelListing, PrepareOptions } from '../types';
import { DEFAULT_CONCURRENCY, DEFAULT_MAX_PIXELS, DEFAULT_TIMEOUT_SECONDS, dialectFromName, type EngineConfig } from './config';
import { PROVIDERS } from './providers';

export interface RemoteEngineOptions {
  config: EngineConfig;
  /** The API key, read at each request (it may be set or changed meanwhile); never logged. */
  apiKey(): Promise<string | undefined>;
  /** How a user sets the key here: a command in VS Code, an environment variable for the CLI. */
  keyHint: string;
  /** Where the engine list comes from: `loupe.engines` (user settings) or the CLI's `--engines`. */
  source: string;
  /** For tests: the fetch to use. */
  fetch?: typeof fetch;
  /** Attempts after the first for 429, 5xx and connection errors. */
  maxRetries?: number;
}

/** The pixel grid a Qwen-VL model's patches lie on: 28 (patch 14 × merge 2), 32 for Qwen3-VL (patch 16). */
function gridOf(dialect: Dialect): number {
  return dialect === 'qwen3_vl' ? 32 : dialect === 'qwen2_vl' || dialect === 'qwen2_5_vl' || dialect === 'showui' ? 28 : 1;
}

/**
 * The size a model sees an image at: Qwen-VL's smart_resize (both sides multiples of the grid, the area within
 * max_pixels), so a server with the same max_pixels resizes nothing and Qwen2.5-VL's absolute coordinates are in
 * these pixels; other models get the image scaled to fit max_pixels.
 */
export function serverSize(natural: { width: number; height: number }, dialect: Dialect, maxPixels: number): { width: number; height: number } {
  const { width: w, height: h } = natural;
  const f = gridOf(dialect);
  if (f === 1) {
    const s = Math.min(1, Math.sqrt(maxPixels / (w * h)));
    return { width: Math.max(1, Math.floor(w * s)), height: Math.max(1, Math.floor(h * s)) };
  }
  const minPixels = 4 * f * f;
  let hb = Math.max(f, Math.round(h / f) * f);
  let wb = Math.max(f, Math.round(w / f) * f);
  if (hb * wb > maxPixels) {
    const beta = Math.sqrt((h * w) / maxPixels);
    hb = Math.max(f, Math.floor(h / beta / f) * f);
    wb = Math.max(f, Math.floor(w / beta / f) * f);
  } else if (hb * wb < minPixels) {
    const beta = Math.sqrt(minPixels / (h * w));
    hb = Math.ceil((h * beta) / f) * f;
    wb = Math.ceil((w * beta) / f) * f;
  }
  return { width: wb, height: hb };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** An error's causes, outermost first (fetch wraps the socket's error). */
function causes(e: unknown): (Error & { code?: string })[] {
  const out: (Error & { code?: string })[] = [];
  let c: unknown = e;
  while (c instanceof Error && out.length < 6) {
    out.push(c as Error & { code?: string });
    c = (c as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * vLLM answers errors as `{"object": "error", "message": …}` where the protocol has `{"error": {"message": …}}`,
 * and the client would then report "no body": such bodies are rewritten into the protocol's shape on the way in.
 */
function errorBodiesAsOpenAI(base: typeof fetch): typeof fetch {
  return async (input, init) => {
    const res = await base(input, init);
    if (res.ok || !(res.headers.get('content-type') ?? '').includes('json')) return res;
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return new Response(text, { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    const b = body as Record<string, unknown>;
    const wrapped = b && typeof b === 'object' && !('error' in b) && typeof b.message === 'string' ? JSON.stringify({ error: { message: b.message, type: b.type, code: b.code } }) : text;
    return new Response(wrapped, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

export class RemoteEngine implements Engine {
  readonly id: string;
  private readonly provider;
  private models: { at: number; ids: string[] } | undefined;

  constructor(private readonly opts: RemoteEngineOptions) {
    this.id = opts.config.id;
    this.provider = PROVIDERS[opts.config.kind];
  }

  get config(): EngineConfig {
    return this.opts.config;
  }

  /** Requests in flight at once in a batch: servers batch requests themselves (vLLM's continuous batching). */
  get concurrency(): number {
    return this.opts.config.concurrency ?? DEFAULT_CONCURRENCY;
  }

  private where(): string {
    return `engine ${this.id} (${this.provider.label} at ${this.opts.config.baseUrl})`;
  }

  /** One client per key (it keeps its connections): a batch sends thousands of requests. */
  private cached: { key: string | undefined; client: OpenAI } | undefined;

  private async client(): Promise<OpenAI> {
    const key = await this.opts.apiKey();
    if (this.cached && this.cached.key === key) return this.cached.client;
    const client = this.newClient(key);
    this.cached = { key, client };
    return client;
  }

  private newClient(key: string | undefined): OpenAI {
    return new OpenAI({
      baseURL: this.opts.config.baseUrl,
      // The protocol needs a key header; local servers take any value.
      apiKey: key ?? 'no-key',
      maxRetries: this.opts.maxRetries ?? 2,
      timeout: (this.opts.config.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      fetch: errorBodiesAsOpenAI(this.opts.fetch ?? fetch),
    });
  }

  dialectOf(model: string): Dialect {
    return this.opts.config.dialect ?? dialectFromName(model);
  }

  private capabilities(model: string): Capability[] {
    return [...dialectTasks(this.dialectOf(model)), 'multi-image'];
  }

  /** The served models, asked at most once a minute. */
  private async servedModels(signal?: AbortSignal): Promise<string[]> {
    if (this.models && Date.now() - this.models.at < 60_000) return this.models.ids;
    try {
      const page = await (await this.client()).models.list({ signal });
      const ids: string[] = [];
      for await (const m of page) ids.push(m.id);
      this.models = { at: Date.now(), ids };
      return ids;
    } catch (e) {
      throw this.explain(e, { signal });
    }
  }

  async listModels(): Promise<ModelListing[]> {
    const ids = await this.servedModels(AbortSignal.timeout(10_000));
    return ids.map((id) => ({ id: `${this.id}:${id}`, name: id, description: `${this.provider.label} at ${this.opts.config.baseUrl}`, capabilities: this.capabilities(id), available: true }));
  }

  describe(ref: string): ModelDescription | undefined {
    const model = ref || this.opts.config.model;
    return model ? { id: `${this.id}:${model}`, capabilities: this.capabilities(model) } : undefined;
  }

  async prepare(ref: string, opts: PrepareOptions): Promise<ModelHandle> {
    let model = ref || this.opts.config.model;
    const served = await this.servedModels(opts.signal);
    if (!model) {
      if (served.length !== 1) {
        throw new LoupeError('server-model', `${this.where()} serves ${served.length ? served.join(', ') : 'no model'}: name one in the cell (@model ${this.id}:<model>) or set "model" for this engine in ${this.opts.source}.`);
      }
      model = served[0]!;
    }
    // llama.cpp's server runs the one model it was started with, whatever the request names.
    if (!served.includes(model) && !(this.opts.config.kind === 'llamacpp' && served.length === 1)) {
      throw new LoupeError('server-model', `${this.where()} has no model "${model}". It serves: ${served.join(', ') || 'nothing'}.`);
    }
    return {
      engine: this.id,
      ref,
      info: { id: `${this.id}:${model}`, engine: this.id, revision: model },
      dialect: this.dialectOf(model),
      capabilities: this.capabilities(model),
      needsImage: false,
    };
  }

  async load(handle: ModelHandle): Promise<LoadedModel> {
    return { handle, key: handle.info.revision ?? handle.info.id, provider: this.provider.label, fallbacks: [], loadMs: 0 };
  }

  async generate(model: LoadedModel, req: GenerateRequest, opts: GenerateOptions = {}): Promise<Generation> {
    const t0 = performance.now();
    const dialect = model.handle.dialect;
    const maxPixels = this.opts.config.maxPixels ?? DEFAULT_MAX_PIXELS;
    const images = await Promise.all(req.images.map((img) => encodeForServer(img, req.maxImagePixels, (n) => serverSize(n, dialect, maxPixels))));
    const r = req.regions[0];
    const seen = images.map((i) => ({ width: i.natural.width, height: i.natural.height, modelWidth: i.width, modelHeight: i.height }));
    const refer = r ? regionText(r.box, images[r.image - 1]!.natural, { width: images[r.image - 1]!.width, height: images[r.image - 1]!.height }, dialect) : undefined;
    const text =
      dialect === 'florence2'
        ? florencePrompt(req.task, req.prompt, r ? { box: r.box, size: images[r.image - 1]!.natural } : undefined)
        : chatInstruction(req.task, req.prompt, dialect, refer);
    const imagePart = (i: (typeof images)[number]) => ({ type: 'image_url' as const, image_url: { url: `data:${i.mime};base64,${i.data.toString('base64')}` } });
    // Frames of a clip asked about together: each after a line with its time, as the local chat families write them.
    const v = req.video && dialect !== 'florence2' && images.length ? req.video : undefined;
    const content: OpenAI.Chat.Completions.ChatCompletionContentPart[] = v
      ? [
          { type: 'text' as const, text: framesIntro(images.length, v.duration) },
          ...images.flatMap((i, k) => [{ type: 'text' as const, text: frameHeading(v.times[k] ?? 0) }, imagePart(i)]),
          { type: 'text' as const, text: `\n${text}` },
        ]
      : [...images.map(imagePart), { type: 'text' as const, text }];
    const p = req.params;
    const sampling = p.do_sample ?? false;
    const kind = this.opts.config.kind;
    const body = {
      model: model.key,
      messages: [{ role: 'user' as const, content }],
      stream: true as const,
      stream_options: { include_usage: true },
      max_tokens: p.max_new_tokens ?? DEFAULTS.maxNewTokens,
      // Greedy unless the cell samples, as the local engine does.
      temperature: sampling ? (p.temperature ?? 1) : 0,
      ...(p.top_p !== undefined ? { top_p: p.top_p } : {}),
      ...(p.seed !== undefined ? { seed: p.seed } : {}),
      // Not in the OpenAI schema; the open servers read them.
      ...(kind !== 'openai' && p.top_k !== undefined ? { top_k: p.top_k } : {}),
      ...(kind !== 'openai' && p.repetition_penalty !== undefined ? { repetition_penalty: p.repetition_penalty } : {}),
      ...(this.provider.extraBody?.({ keepSpecialTokens: dialect === 'qwen2_vl' }) ?? {}),
    };
    const preprocessMs = performance.now() - t0;

    // One controller for the user's cancel and the idle timeout: aborting closes the connection, so the server stops.
    const abort = new AbortController();
    const timeoutMs = (this.opts.config.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
    let idle = false;
    let timer: NodeJS.Timeout | undefined;
    // Restarted on every chunk: refresh() reuses the one timer rather than allocating one per chunk.
    const arm = () => {
      if (timer) timer.refresh();
      else
        timer = setTimeout(() => {
          idle = true;
          abort.abort();
        }, timeoutMs);
    };
    const onCancel = () => abort.abort();
    if (opts.signal?.aborted) throw new LoupeError('cancelled', 'Interrupted.');
    opts.signal?.addEventListener('abort', onCancel, { once: true });
    let raw = '';
    let first = 0;
    let chunks = 0;
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined;
    const warnings: string[] = [];
    const tGen = performance.now();
    arm();
    try {
      const stream = await (await this.client()).chat.completions.create(body, { signal: abort.signal });
      arm();
      try {
        for await (const chunk of stream) {
          arm();
          // The usage chunk comes with `choices: []`, or `null` from some servers.
          if (chunk.usage) usage = chunk.usage;
          for (const choice of chunk.choices ?? []) {
            const piece = choice.delta?.content;
            if (piece) {
              if (!first) first = performance.now();
              chunks++;
              raw += piece;
              opts.onDelta?.(piece);
            }
            if (choice.finish_reason) finish = choice.finish_reason;
          }
        }
      } catch (e) {
        // A stream cut off mid-answer keeps what arrived; anything else is an error.
        if (opts.signal?.aborted || !raw) throw e;
        warnings.push(`${this.where()} closed the stream mid-answer (${idle ? `nothing for ${timeoutMs / 1000} s` : causes(e).at(-1)?.message ?? 'connection lost'}): the answer is incomplete.`);
      }
      if (!finish && !opts.signal?.aborted && raw && !warnings.length) warnings.push(`${this.where()} ended the stream without finishing the answer: it is incomplete.`);
    } catch (e) {
      if (opts.signal?.aborted && !idle) {
        if (raw) return this.result(raw, true, seen, preprocessMs, tGen, first, chunks, usage, p.seed, warnings);
        throw new LoupeError('cancelled', 'Interrupted.');
      }
      throw this.explain(e, { idle, timeoutMs, images: seen, dialect, maxPixels });
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onCancel);
    }
    const interrupted = warnings.length > 0;
    if (finish === 'length') warnings.push(`The answer reached max_new_tokens (${body.max_tokens}) and was cut there.`);
    return this.result(raw, interrupted || (opts.signal?.aborted ?? false), seen, preprocessMs, tGen, first, chunks, usage, p.seed, warnings);
  }

  private result(raw: string, interrupted: boolean, images: Generation['images'], preprocessMs: number, tGen: number, first: number, chunks: number, usage: OpenAI.CompletionUsage | undefined, seed: number | undefined, warnings: string[]): Generation {
    const end = performance.now();
    const generated = usage?.completion_tokens ?? chunks;
    const decodeMs = first ? end - first : 0;
    return {
      raw,
      interrupted,
      images,
      ...(warnings.length ? { warnings } : {}),
      seed: seed ?? 0,
      stats: {
        preprocessMs: round(preprocessMs),
        imageEncodeMs: 0,
        timeToFirstTokenMs: round((first || end) - tGen),
        totalMs: round(end - tGen + preprocessMs),
        promptTokens: usage?.prompt_tokens ?? 0,
        generatedTokens: generated,
        tokensPerSecond: generated > 1 && decodeMs > 0 ? round(((generated - 1) * 1000) / decodeMs) : 0,
      },
    };
  }

  /** Turns whatever the protocol client threw into a LoupeError that names the server, the cause and the fix. */
  private explain(e: unknown, ctx: { idle?: boolean; timeoutMs?: number; signal?: AbortSignal; images?: Generation['images']; dialect?: Dialect; maxPixels?: number }): LoupeError {
    const where = this.where();
    const setting = `baseUrl of engine ${this.id} in ${this.opts.source}`;
    const timeout = `timeoutSeconds of engine ${this.id} in ${this.opts.source}`;
    if (e instanceof LoupeError) return e;
    if (ctx.idle || e instanceof APIConnectionTimeoutError) {
      return new LoupeError('server-timeout', `${where} sent nothing for ${Math.round((ctx.timeoutMs ?? DEFAULT_TIMEOUT_SECONDS * 1000) / 1000)} s: the request was closed. If the server is only slow (a large model, a long prompt), raise ${timeout}.`, { retryable: true });
    }
    if (e instanceof APIUserAbortError) return new LoupeError('cancelled', 'Interrupted.');
    if (e instanceof APIConnectionError) {
      const chain = causes(e);
      const code = chain.map((c) => c.code).find(Boolean) ?? '';
      const last = chain.at(-1)?.message ?? e.message;
      if (/CERT|SSL|TLS|self[- ]signed|certificate/i.test(code + ' ' + last)) {
        return new LoupeError('server-tls', `${where}: the TLS connection failed (${last}). If the server uses a certificate of a private authority, give Node its certificate with NODE_EXTRA_CA_CERTS; check that ${setting} uses the right scheme (http or https).`);
      }
      if (code === 'ECONNREFUSED') return new LoupeError('server-unreachable', `Could not connect to ${where}: connection refused. Is the server running there? (${this.provider.serveHint}) The address is ${setting}.`, { retryable: true });
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new LoupeError('server-unreachable', `Could not connect to ${where}: the host name does not resolve. Check ${setting}.`, { retryable: true });
      return new LoupeError('server-unreachable', `Could not connect to ${where}: ${last}. Check ${setting} and that the server runs.`, { retryable: true });
    }
    if (e instanceof APIError) {
      const status = e.status ?? 0;
      const body = String(e.message ?? '');
      if (/<\s*(!doctype|html|body|head)\b/i.test(body) || (e.headers?.get?.('content-type') ?? '').includes('text/html')) {
        return new LoupeError('server-error', `${where} answered with a web page (HTTP ${status}) instead of the API's JSON: ${setting} may point at a proxy, a login page or the server's home page rather than its /v1 API.`);
      }
      const said = body.replace(/^\d{3}\s*/, '').slice(0, 300);
      if (status === 401 || status === 403) {
        return new LoupeError('server-auth', `${where} refused the request (HTTP ${status}: ${said}). It needs a valid API key for engine ${this.id}: ${this.opts.keyHint}.`);
      }
      if (status === 404) {
        const models = this.models?.ids;
        return new LoupeError('server-model', `${where} does not know the model (HTTP 404: ${said}).${models?.length ? ` It serves: ${models.join(', ')}.` : ''}`);
      }
      if (status === 400 || status === 413 || status === 422) {
        const imgs = ctx.images ?? [];
        const grid = ctx.dialect ? gridOf(ctx.dialect) : 1;
        const tokens = grid > 1 ? imgs.reduce((s, i) => s + (i.modelWidth / grid) * (i.modelHeight / grid), 0) : undefined;
        const sent = imgs.length
          ? ` The request carried ${imgs.length} image${imgs.length === 1 ? '' : 's'} (${imgs.map((i) => `${i.modelWidth}×${i.modelHeight}`).join(', ')}${tokens ? `, about ${Math.round(tokens).toLocaleString('en-US')} image tokens` : ''}); maxPixels of engine ${this.id} in ${this.opts.source} (now ${(ctx.maxPixels ?? DEFAULT_MAX_PIXELS).toLocaleString('en-US')}) lowers what each image costs, or use fewer images.`
          : '';
        return new LoupeError('server-refused', `${where} refused the request (HTTP ${status}): ${said}.${sent}`);
      }
      if (status === 429 || status === 503) {
        return new LoupeError('server-busy', `${where} is busy (HTTP ${status}: ${said}) and stayed busy after ${(this.opts.maxRetries ?? 2) + 1} tries with backoff. Try again later, or send fewer requests at once.`, { retryable: true });
      }
      return new LoupeError('server-error', `${where} failed (HTTP ${status}): ${said}`, { retryable: status >= 500 });
    }
    const err = e as Error;
    return new LoupeError('server-error', `${where}: ${err?.message ?? String(e)}`);
  }

  async status(): Promise<EngineStatus> {
    return { loaded: [] };
  }

  dispose(): void {}
}
