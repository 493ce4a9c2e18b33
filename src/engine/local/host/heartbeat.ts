// The model host's heartbeat: a thread of its own writes a byte to fd 4 (a pipe the client opened) twice a second.
// session.run blocks the host's main thread for a whole prefill; this thread keeps beating through it, and stops
// only when the process is stopped or gone, which is what the client's watchdog looks for.
import { fstatSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

export const HEARTBEAT_FD = 4;

export function startHeartbeat(intervalMs = 500): void {
  try {
    const st = fstatSync(HEARTBEAT_FD);
    if (!st.isFIFO() && !st.isSocket()) return;
  } catch {
    return; // Started without the pipe (a benchmark, a test): nobody listens.
  }
  const beat = `const fs = require('node:fs'); setInterval(() => { try { fs.writeSync(${HEARTBEAT_FD}, '.'); } catch { process.exit(0); } }, ${intervalMs});`;
  new Worker(beat, { eval: true }).unref();
}
