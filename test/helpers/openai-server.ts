// A server on 127.0.0.1 that speaks the OpenAI chat-completions protocol, for RemoteEngine's tests:
// - `fixture` answers come from Loupe's fixture models run by the model host, streamed token by token as they are
//   generated (special tokens kept, as vLLM does when asked), so the text on the wire is real model output;
// - `spot` answers find the bright region in the image as received and write it in the dialect the model's name
//   implies (Qwen2.5-VL JSON in received pixels, Qwen3-VL 0–1000…), which checks resize and mapping to the pixel;
// - a handler may replace both, to answer with a fault or a recorded transcript.
// Every request is recorded (model, text, image sizes, parameters, Authorization), with the peak in flight.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { HostClient } from '../../src/engine/local/client';
import { ROOT } from './cli';

export interface Recorded {
  model: string;
  text: string;
  images: { width: number; height: number; mime: string; bytes: number }[];
  body: Record<string, unknown>;
  authorization?: string;
  /** When the client closed the connection (ms since the request came, and the clock time), if it did before the answer ended. */
  closedAfterMs?: number;
  closedAt?: number;
}

export type Handler = (req: Recorded, res: ServerResponse, ctx: { images: Buffer[]; raw: IncomingMessage }) => Promise<void> | void;

export interface TestServer {
  url: string;
  requests: Recorded[];
  peak: number;
  /** Answers from now on; undefined goes back to the default. */
  handle(h: Handler | undefined): void;
  close(): Promise<void>;
}

const chunk = (model: string, delta: Record<string, unknown>, finish: string | null = null) => ({
  id: 'chatcmpl-test',
  object: 'chat.completion.chunk',
  created: 1_765_000_000,
  model,
  choices: [{ index: 0, delta, finish_reason: finish }],
});

export function sse(res: ServerResponse): { send(o: unknown): void; done(): void } {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  return {
    send: (o) => res.write(`data: ${JSON.stringify(o)}\n\n`),
    done: () => res.end('data: [DONE]\n\n'),
  };
}

/** Streams `pieces` as a vLLM-shaped answer: a role chunk, the pieces, a finish chunk, a usage chunk, [DONE]. */
export async function streamPieces(res: ServerResponse, model: string, pieces: string[], opts: { usageChoices?: [] | null; delayMs?: number } = {}): Promise<void> {
  const s = sse(res);
  s.send(chunk(model, { role: 'assistant', content: '' }));
  for (const p of pieces) {
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    if (res.destroyed) return;
    s.send(chunk(model, { content: p }));
  }
  s.send(chunk(model, {}, 'stop'));
  s.send({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1_765_000_000, model, choices: opts.usageChoices === undefined ? [] : opts.usageChoices, usage: { prompt_tokens: 42, completion_tokens: pieces.length, total_tokens: 42 + pieces.length } });
  s.done();
}

export function errorJson(res: ServerResponse, status: number, message: string, extraHeaders: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...extraHeaders });
  res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', code: status } }));
}

/** The bright region of an image: the bounding box of pixels brighter than the middle grey. */
async function brightBox(img: Buffer): Promise<{ box: [number, number, number, number]; width: number; height: number }> {
  const { data, info } = await sharp(img).greyscale().raw().toBuffer({ resolveWithObject: true });
  let [x1, y1, x2, y2] = [info.width, info.height, 0, 0];
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      if (data[y * info.width + x]! > 128) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  return { box: [x1, y1, x2, y2], width: info.width, height: info.height };
}

/** A spot answer in the dialect the served model's name implies. */
export async function spotAnswer(model: string, img: Buffer): Promise<string> {
  const { box, width, height } = await brightBox(img);
  const rel = box.map((v, i) => Math.round((v / (i % 2 === 0 ? width : height)) * 1000));
  const n = model.toLowerCase();
  if (/qwen2\.5-vl/.test(n)) return '```json\n' + JSON.stringify([{ bbox_2d: box, label: 'the bright region' }]) + '\n```';
  if (/qwen3-vl/.test(n)) return JSON.stringify([{ bbox_2d: rel, label: 'the bright region' }]);
  if (/qwen2-vl/.test(n)) return `<|object_ref_start|>the bright region<|object_ref_end|><|box_start|>(${rel[0]},${rel[1]}),(${rel[2]},${rel[3]})<|box_end|>`;
  if (/ferret|mm1\.5/.test(n)) return `the bright region [${box.map((v, i) => Math.min(999, Math.round((v / (i % 2 === 0 ? width : height)) * 1000))).join(', ')}]`;
  return 'A bright region.';
}

export async function startServer(opts: { models: string[]; mode?: 'fixture' | 'spot'; key?: string }): Promise<TestServer> {
  const requests: Recorded[] = [];
  let inFlight = 0;
  let handler: Handler | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'loupe-oai-'));
  let host: HostClient | undefined;
  const state = { peak: 0 };

  const fixture: Handler = async (rec, res, ctx) => {
    host ??= new HostClient({ script: join(ROOT, 'dist', 'host.js') });
    const folder = join(ROOT, 'test', 'fixtures', 'models', 'tiny-qwen2vl');
    await host.load({ key: 'fixture', folder, family: 'qwen2_vl', dialect: 'qwen2_vl', device: 'cpu', dtype: 'auto', info: { id: 'tiny-qwen2vl' } });
    const files = ctx.images.map((b, i) => {
      const p = join(tmp, `${requests.length}-${i}.png`);
      writeFileSync(p, b);
      return { path: p, source: `image-${i + 1}` };
    });
    const s = sse(res);
    s.send(chunk(rec.model, { role: 'assistant', content: '' }));
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    let n = 0;
    const gen = await host.generate(
      { key: 'fixture', task: 'ask', prompt: rec.text, images: files, regions: [], params: { max_new_tokens: Number(rec.body.max_tokens ?? 64), ...(typeof rec.body.seed === 'number' ? { seed: rec.body.seed } : {}) }, maxImageTokens: 1280, maxImagePixels: 5e7, keepSpecialTokens: true },
      {
        signal: abort.signal,
        onDelta: (t) => {
          n++;
          if (!res.destroyed) s.send(chunk(rec.model, { content: t }));
        },
      },
    );
    if (res.destroyed) return;
    s.send(chunk(rec.model, {}, gen.interrupted ? 'length' : 'stop'));
    s.send({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1_765_000_000, model: rec.model, choices: null, usage: { prompt_tokens: gen.stats.promptTokens, completion_tokens: gen.stats.generatedTokens || n, total_tokens: gen.stats.promptTokens + n } });
    s.done();
  };

  const spot: Handler = async (rec, res, ctx) => {
    const answer = ctx.images[0] ? await spotAnswer(rec.model, ctx.images[0]) : 'Hello.';
    // Token-sized pieces, as a server streams them.
    await streamPieces(res, rec.model, answer.match(/.{1,4}/gs) ?? [answer]);
  };

  const server: Server = createServer(async (req, res) => {
    const t0 = Date.now();
    if (opts.key && req.headers.authorization !== `Bearer ${opts.key}`) return errorJson(res, 401, 'Incorrect API key provided.');
    if (req.method === 'GET' && req.url?.replace(/\/$/, '') === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ object: 'list', data: opts.models.map((id) => ({ id, object: 'model', owned_by: 'test', created: 0 })) }));
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return errorJson(res, 404, `no route ${req.method} ${req.url}`);
    const parts: Buffer[] = [];
    for await (const p of req) parts.push(p as Buffer);
    const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
    const content = ((body.messages as { content: unknown }[])?.[0]?.content ?? []) as { type: string; text?: string; image_url?: { url: string } }[];
    const images: Buffer[] = [];
    const meta: Recorded['images'] = [];
    for (const c of content) {
      if (c.type !== 'image_url') continue;
      const m = /^data:([^;]+);base64,(.*)$/s.exec(c.image_url!.url);
      if (!m) continue;
      const b = Buffer.from(m[2]!, 'base64');
      images.push(b);
      const info = await sharp(b).metadata();
      meta.push({ width: info.width!, height: info.height!, mime: m[1]!, bytes: b.length });
    }
    const rec: Recorded = { model: String(body.model), text: content.filter((c) => c.type === 'text').map((c) => c.text).join('\n'), images: meta, body, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) };
    requests.push(rec);
    inFlight++;
    state.peak = Math.max(state.peak, inFlight);
    res.on('close', () => {
      inFlight--;
      if (!res.writableFinished) {
        rec.closedAt = Date.now();
        rec.closedAfterMs = rec.closedAt - t0;
      }
    });
    if (!opts.models.includes(rec.model) && !handler) return errorJson(res, 404, `The model \`${rec.model}\` does not exist.`);
    try {
      await (handler ?? (opts.mode === 'fixture' ? fixture : spot))(rec, res, { images, raw: req });
    } catch (e) {
      if (!res.headersSent) errorJson(res, 500, String((e as Error).message));
      else res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    get peak() {
      return state.peak;
    },
    handle: (h) => (handler = h),
    close: async () => {
      host?.dispose();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
