// Memory bandwidth: large Buffer copies (memcpy) on 1 and on N threads at once.
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const size = workerData.size;
const a = Buffer.alloc(size, 1), b = Buffer.alloc(size, 2);
a.copy(b); b.copy(a); // fault the pages in
parentPort.on('message', (reps) => {
  const t = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); (i % 2 ? b : a).copy(i % 2 ? a : b); t.push(performance.now() - t0); }
  parentPort.postMessage(t);
});
parentPort.postMessage('ready');
`;

/** GB/s counted as bytes read + bytes written (a copy of S bytes moves 2S), per repetition, all threads together. */
export async function copyBandwidth(threads: number, totalBytes = 512 * 2 ** 20, reps = 7): Promise<number[]> {
  const size = Math.floor(totalBytes / threads);
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { size } }));
  try {
    await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
    const out: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await Promise.all(workers.map((w) => new Promise((r) => { w.once('message', r); w.postMessage(1); })));
      const s = (performance.now() - t0) / 1000;
      out.push((2 * size * threads) / s / 1e9);
    }
    return out;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
