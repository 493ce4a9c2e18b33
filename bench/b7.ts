// B7: RemoteEngine's cost over the wire. One vLLM-shaped server on 127.0.0.1 streams the same answer to
//  - a bare `fetch` that sends the request RemoteEngine sent and reads the stream (split on blank lines, JSON.parse
//    of each `data:` line, content appended): the least any client must do;
//  - RemoteEngine.generate (the `openai` client, dialect parsing, stats);
//  - a whole prompt cell through the kernel and the runner, as the extension host runs it (outputs built and
//    throttled, regions parsed), to get the per-chunk overhead in the extension host.
// Alternating rounds, medians. Two pacings: burst (the server writes every chunk at once: only client cost counts)
// and paced (a chunk every 5 ms, about a fast GPU's decode rate). Then the largest image payload sent for a 12 MP photo
// against the engine's maxPixels (= the server's max_pixels).
//
//   node --import tsx bench/b7.ts [--write]   (B7 alone, printed; --write also replaces its section of BENCHMARKS.md)
//   B7_CHUNKS=2000 node --import tsx bench/b7.ts   (another answer length, to tell fixed from per-chunk cost)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Kernel, type KernelCell } from '../src/core/kernel/kernel';
import { EnginePromptRunner } from '../src/core/kernel/runner';
import { Engines } from '../src/engine/engines';
import { HostClient } from '../src/engine/local/client';
import { LocalEngine } from '../src/engine/local/engine';
import { DEFAULT_MAX_PIXELS } from '../src/engine/remote/config';
import { RemoteEngine } from '../src/engine/remote/engine';
import { ROOT, summarize, writeBenchSection } from './common';

const fmt = (v: number, digits: number) => v.toFixed(digits);

export const B7_GOAL_RATIO = 1.05;
export const B7_GOAL_CHUNK_MS = 1;
const MODEL = 'Qwen/Qwen2.5-VL-7B-Instruct';
const CHUNKS = Number(process.env.B7_CHUNKS ?? 400);

interface Served {
  server: Server;
  url: string;
  /** The last chat request: its body, and the size and bytes of each image it carried. */
  last?: { body: string; images: { width: number; height: number; bytes: number }[] };
  paceMs: number;
}

/** Words of an answer with one Qwen2.5-VL box in it, so RemoteEngine's parser has real work at the end. */
function pieces(): string[] {
  const out: string[] = [];
  for (let i = 0; i < CHUNKS - 1; i++) out.push(`word${i} `);
  out.push('```json\n[{"bbox_2d": [10, 20, 110, 220], "label": "lamp"}]\n```');
  return out;
}

async function startServer(): Promise<Served> {
  const answer = pieces();
  const s: Served = { server: undefined as unknown as Server, url: '', paceMs: 0 };
  s.server = createServer(async (req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model', owned_by: 'bench', created: 0 }] }));
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const parsed = JSON.parse(body) as { messages: { content: string | { type: string; image_url?: { url: string } }[] }[] };
    const urls = parsed.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).flatMap((p) => (p.image_url ? [p.image_url.url] : []));
    const images = await Promise.all(
      urls.map(async (u) => {
        const bytes = Buffer.from(u.slice(u.indexOf(',') + 1), 'base64');
        const meta = await sharp(bytes).metadata();
        return { width: meta.width!, height: meta.height!, bytes: bytes.length };
      }),
    );
    s.last = { body, images };
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({ id: 'b7', object: 'chat.completion.chunk', created: 0, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] });
    send(chunk({ role: 'assistant', content: '' }));
    for (const p of answer) {
      if (s.paceMs) await new Promise((r) => setTimeout(r, s.paceMs));
      send(chunk({ content: p }));
    }
    send(chunk({}, 'stop'));
    send({ id: 'b7', object: 'chat.completion.chunk', created: 0, model: MODEL, choices: [], usage: { prompt_tokens: 20, completion_tokens: answer.length, total_tokens: 20 + answer.length } });
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
  return s;
}

/** The least a client does: send the body, read the stream, parse each event, append the content. */
async function bareFetch(url: string, body: string): Promise<{ ms: number; text: string; chunks: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let text = '';
  let chunks = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, at);
      buf = buf.slice(at + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const o = JSON.parse(event.slice(6)) as { choices?: { delta?: { content?: string } }[] | null };
      const c = o.choices?.[0]?.delta?.content;
      if (c) {
        text += c;
        chunks++;
      }
    }
  }
  return { ms: performance.now() - t0, text, chunks };
}

export async function runB7(o: { rounds: number; log?: (m: string) => void }): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  const log = o.log ?? (() => undefined);
  const served = await startServer();
  const dir = mkdtempSync(join(tmpdir(), 'loupe-b7-'));
  const local = new LocalEngine(new HostClient({ script: join(ROOT, 'dist', 'host.js') }), () => ({ device: 'cpu', dtype: 'auto', allowDownloads: false, endpoint: 'http://127.0.0.1:9', modelsDir: join(dir, 'models') }));
  try {
    const remote = (maxPixels?: number) =>
      new RemoteEngine({ config: { id: 'gpu', kind: 'vllm', baseUrl: served.url, ...(maxPixels ? { maxPixels } : {}) }, apiKey: async () => undefined, keyHint: 'none', source: 'bench' });
    const engine = remote();
    const handle = await engine.prepare(MODEL, {});
    const loaded = await engine.load(handle);
    const req = { task: 'ask' as const, prompt: 'Where is the lamp?', images: [], regions: [], params: { max_new_tokens: CHUNKS + 8 }, maxImageTokens: 1280, maxImagePixels: 5e7 };
    const viaEngine = async () => {
      const t0 = performance.now();
      let deltas = 0;
      const g = await engine.generate(loaded, req, { onDelta: () => deltas++ });
      return { ms: performance.now() - t0, text: g.raw, deltas };
    };
    // The cell path: the kernel and the runner, outputs built at the runner's own streaming interval.
    const runner = new EnginePromptRunner({
      engines: new Engines(local, () => [engine], 'bench'),
      settings: () => ({ defaultModel: 'florence-2-base', maxImageTokens: 1280, maxImagePixels: 5e7 }),
      withProgress: (_l, fn) => fn(() => undefined, new AbortController().signal),
    });
    const kernel = new Kernel({ isTrusted: () => true, maxImagePixels: () => 5e7, prompts: runner });
    const viaCell = async () => {
      let updates = 0;
      let ok: boolean | undefined;
      const signal = new AbortController().signal;
      const cell: KernelCell = { notebook: 'b7', baseDir: dir, source: `@model gpu:${MODEL}\n@set max_new_tokens=${CHUNKS + 8}\nWhere is the lamp?`, language: 'loupe', createExecution: () => ({ signal, start() {}, async replaceOutputs() { updates++; }, end(s) { ok = s; } }) };
      const t0 = performance.now();
      await kernel.execute([cell]);
      if (!ok) throw new Error('B7: the cell failed');
      return { ms: performance.now() - t0, updates };
    };
    // The body RemoteEngine sends, for the bare client to send too.
    await viaEngine();
    const body = served.last!.body;
    const check = await bareFetch(served.url, body);
    if (check.chunks !== CHUNKS) throw new Error(`B7: the bare client read ${check.chunks} chunks, not ${CHUNKS}`);

    const pacings = [
      { name: 'burst', paceMs: 0 },
      { name: 'paced, a chunk every 5 ms', paceMs: 5 },
    ];
    const results: Record<string, { bare: ReturnType<typeof summarize>; engine: ReturnType<typeof summarize>; cell: ReturnType<typeof summarize>; ratio: ReturnType<typeof summarize>; cellRatio: ReturnType<typeof summarize>; chunkMs: ReturnType<typeof summarize>; cellChunkMs: ReturnType<typeof summarize>; updates: number }> = {};
    for (const p of pacings) {
      served.paceMs = p.paceMs;
      log(`B7 ${p.name}: ${o.rounds} rounds of bare fetch, RemoteEngine and a cell, alternating…`);
      const bare: number[] = [];
      const eng: number[] = [];
      const cell: number[] = [];
      let updates = 0;
      // One warm-up round of each, not counted.
      await bareFetch(served.url, body);
      await viaEngine();
      await viaCell();
      for (let i = 0; i < o.rounds; i++) {
        // Alternate which goes first, so drift on a shared machine falls on both.
        const order = i % 2 === 0 ? ['bare', 'engine', 'cell'] : ['cell', 'engine', 'bare'];
        for (const which of order) {
          if (which === 'bare') bare.push((await bareFetch(served.url, body)).ms);
          else if (which === 'engine') eng.push((await viaEngine()).ms);
          else {
            const c = await viaCell();
            cell.push(c.ms);
            updates = c.updates;
          }
        }
      }
      results[p.name] = {
        bare: summarize(bare),
        engine: summarize(eng),
        cell: summarize(cell),
        ratio: summarize(eng.map((v, i) => v / bare[i]!)),
        cellRatio: summarize(cell.map((v, i) => v / bare[i]!)),
        chunkMs: summarize(eng.map((v, i) => (v - bare[i]!) / CHUNKS)),
        cellChunkMs: summarize(cell.map((v, i) => (v - bare[i]!) / CHUNKS)),
        updates,
      };
    }
    served.paceMs = 0;

    // Largest payload: a 12 MP photo through RemoteEngine at the default maxPixels and at a lower one.
    log('B7 payload: a 12 MP photo at two maxPixels…');
    const out = join(ROOT, 'bench', '.out');
    mkdirSync(out, { recursive: true });
    const photo = join(out, 'b7-12mp.jpg');
    await sharp(join(ROOT, 'examples', 'images', 'astronaut.png')).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(photo);
    const { loadImage } = await import('../src/images/load');
    const img = await loadImage(photo);
    if (!img.ok) throw new Error(img.error);
    const payload: { maxPixels: number; width: number; height: number; bytes: number; ms: number }[] = [];
    for (const maxPixels of [DEFAULT_MAX_PIXELS, 501_760]) {
      const e = remote(maxPixels);
      const l = await e.load(await e.prepare(MODEL, {}));
      const t0 = performance.now();
      await e.generate(l, { ...req, images: [{ path: photo, source: 'b7-12mp.jpg' }], params: { max_new_tokens: 8 } });
      const ms = performance.now() - t0;
      const sent = served.last!.images[0]!;
      payload.push({ maxPixels, ...sent, ms });
    }

    const lines = [
      '## B7 Remote engines: RemoteEngine vs a bare fetch on the same stream',
      '',
      `One vLLM-shaped server on 127.0.0.1 streams the same ${CHUNKS}-chunk answer (one Qwen2.5-VL JSON box at the end) to a bare \`fetch\` that sends`,
      'the body RemoteEngine sent and parses each event (the least a client must do), to `RemoteEngine.generate` (the `openai` client, dialect parsing),',
      'and to a whole prompt cell through the kernel and the runner as the extension host runs it (outputs built and throttled). Alternating rounds,',
      `${o.rounds} per figure, medians (min–max). Goals: time to the last token ÷ bare ≤ ${B7_GOAL_RATIO}; overhead per chunk ≤ ${B7_GOAL_CHUNK_MS} ms.`,
      '',
      '| pacing | bare fetch | RemoteEngine | ratio | per chunk | cell (extension host) | ratio | per chunk | output updates |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...pacings.map((p) => {
        const r = results[p.name]!;
        return `| ${p.name} | ${fmt(r.bare.median, 1)} ms | ${fmt(r.engine.median, 1)} ms | **${fmt(r.ratio.median, 3)}** (${fmt(r.ratio.min, 3)}–${fmt(r.ratio.max, 3)}) | ${fmt(r.chunkMs.median * 1000, 0)} µs | ${fmt(r.cell.median, 1)} ms | ${fmt(r.cellRatio.median, 3)} | ${fmt(r.cellChunkMs.median * 1000, 0)} µs | ${r.updates} |`;
      }),
      '',
      `- Paced (the case users see: a server decoding ~200 chunks/s), RemoteEngine's ratio is ${fmt(results[pacings[1]!.name]!.ratio.median, 3)}: goal ${results[pacings[1]!.name]!.ratio.median <= B7_GOAL_RATIO ? 'met' : '**missed**'}.` +
        ` Burst (nothing but client work) it is ${fmt(results.burst!.ratio.median, 3)}: ${results.burst!.ratio.median <= B7_GOAL_RATIO ? 'met' : `**missed**; that is ${fmt(results.burst!.chunkMs.median * 1000, 0)} µs per chunk of client work, which a server's decode time hides`}.`,
      `- Per chunk in the extension host (the whole cell path, burst): ${fmt(results.burst!.cellChunkMs.median * 1000, 0)} µs: goal ${results.burst!.cellChunkMs.median <= B7_GOAL_CHUNK_MS ? 'met' : '**missed**'}.`,
      '',
      '| 12 MP photo (4000×3000 JPEG) | image sent | pixels ÷ maxPixels | bytes on the wire | request to last token |',
      '| --- | --- | --- | --- | --- |',
      ...payload.map((p) => `| maxPixels ${p.maxPixels.toLocaleString('en-US')} | ${p.width}×${p.height} | ${fmt((p.width * p.height) / p.maxPixels, 3)} | ${fmt(p.bytes / 1000, 0)} kB | ${fmt(p.ms, 0)} ms |`),
      '',
      'The image sent never exceeds the engine\'s maxPixels (set it to the server\'s `max_pixels`), so the server\'s own resize is a no-op and boxes map 1:1.',
      '',
    ];
    return { lines, json: { results, payload } };
  } finally {
    local.dispose();
    served.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runB7({ rounds: 7, log: (m) => console.error(m) }).then(
    (r) => {
      console.log(r.lines.join('\n'));
      writeFileSync(join(ROOT, 'bench', '.out', 'b7.json'), JSON.stringify(r.json, null, 2));
      if (process.argv.includes('--write')) writeBenchSection('B7', 'bench/b7.ts', r.lines.join('\n'));
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
