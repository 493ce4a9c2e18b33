// B8's server, in its own process so the batch process's memory is the batch's alone: a vLLM-shaped
// OpenAI-compatible endpoint answering every request after a fixed latency with a streamed Qwen2.5-VL box.
// Sends { type: 'ready', url } over IPC, then { type: 'peak', peak } on request.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const LATENCY_MS = Number(process.argv[2] ?? 20);
const MODEL = 'Qwen/Qwen2.5-VL-7B-Instruct';
let inFlight = 0;
let peak = 0;
let served = 0;

const server = createServer(async (req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model', owned_by: 'bench', created: 0 }] }));
  }
  inFlight++;
  peak = Math.max(peak, inFlight);
  for await (const _ of req) void _;
  await new Promise((r) => setTimeout(r, LATENCY_MS));
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ id: 'b8', object: 'chat.completion.chunk', created: 0, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk({ role: 'assistant', content: '' }));
  res.write(chunk({ content: '```json\n[{"bbox_2d": [4, 4, 20, 16], "label": "spot"}]\n```' }));
  res.write(chunk({}, 'stop'));
  res.end(`data: ${JSON.stringify({ id: 'b8', object: 'chat.completion.chunk', created: 0, model: MODEL, choices: [], usage: { prompt_tokens: 10, completion_tokens: 12, total_tokens: 22 } })}\n\ndata: [DONE]\n\n`);
  inFlight--;
  served++;
});

server.listen(0, '127.0.0.1', () => process.send!({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
process.on('message', (m: { type: string }) => {
  if (m.type === 'peak') {
    process.send!({ type: 'peak', peak, served });
    peak = 0;
  }
});
process.on('disconnect', () => process.exit(0));
