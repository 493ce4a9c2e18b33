// How long the extension host's event loop stalls while a cell generates, and (on Linux, when asked) how much of the
// worst stall was the thread waiting for a CPU rather than the extension host holding the loop.
import { closeSync, openSync, readSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface EventLoopFigures {
  /** monitorEventLoopDelay's worst interval, ms: the stall plus at most RESOLUTION_MS. */
  maxMs: number;
  p99Ms: number;
  /** Present when attribution ran. */
  attribution?: {
    /** The worst tick with the run-queue wait taken out: time the loop was busy or blocked in a system call. */
    ownMaxMs: number;
    /** The worst tick as a whole, and how much of it the thread spent runnable but waiting for a CPU. */
    worstTickMs: number;
    worstTickRunQueueMs: number;
  };
}

/** 1 ms, so a figure reads as the stall itself (a 10 ms resolution adds up to 10 ms to every figure). */
export const RESOLUTION_MS = 1;
const TICK_MS = 2;
const round = (x: number) => Math.round(x * 10) / 10;

export class EventLoopProbe {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private tracer: RunQueueTracer | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private figures: EventLoopFigures | undefined;

  /** attribute: also trace run-queue waits (Linux only; costs a 2 ms timer while the probe runs). */
  constructor(private readonly attribute = process.env.LOUPE_EVENT_LOOP_ATTRIBUTION === '1') {}

  /** Starts once; later calls do nothing. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.histogram.enable();
    if (this.attribute) this.tracer = RunQueueTracer.start();
  }

  /** Stops the probe and returns its figures (the same ones on later calls); undefined when it never sampled. */
  stop(): EventLoopFigures | undefined {
    if (this.state !== 'running') return this.figures;
    this.state = 'stopped';
    this.histogram.disable();
    const attribution = this.tracer?.stop();
    this.tracer = undefined;
    if (this.histogram.count > 0) {
      this.figures = {
        maxMs: round(this.histogram.max / 1e6),
        p99Ms: round(this.histogram.percentile(99) / 1e6),
        ...(attribution ? { attribution } : {}),
      };
    }
    return this.figures;
  }
}

/** Formats figures for the log line the e2e suite reads: `max-delay-ms=… p99-ms=…[ own-max-ms=… …]`. */
export function formatFigures(f: EventLoopFigures): string {
  const a = f.attribution;
  return `max-delay-ms=${f.maxMs} p99-ms=${f.p99Ms}${a ? ` own-max-ms=${a.ownMaxMs} worst-tick-ms=${a.worstTickMs} worst-tick-runqueue-ms=${a.worstTickRunQueueMs}` : ''}`;
}

/**
 * A timer every TICK_MS that reads the main thread's run-queue wait (/proc/thread-self/schedstat, second field, ns)
 * through an open descriptor: each late tick splits into time spent waiting for a CPU and the rest.
 */
class RunQueueTracer {
  private readonly buf = Buffer.alloc(128);
  /** Unset until the first tick: like monitorEventLoopDelay, the interval before it is not counted. */
  private last: bigint | undefined;
  private lastWait = 0;
  private ownMax = 0;
  private worst = { tick: 0, wait: 0 };
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly fd: number) {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  static start(): RunQueueTracer | undefined {
    if (process.platform !== 'linux') return undefined;
    try {
      // Opened on the event-loop thread, so thread-self is that thread.
      return new RunQueueTracer(openSync('/proc/thread-self/schedstat', 'r'));
    } catch {
      return undefined;
    }
  }

  private read(): number {
    const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    return Number(this.buf.toString('latin1', 0, n).split(' ')[1]) / 1e6;
  }

  private tick(): void {
    const now = process.hrtime.bigint();
    const wait = this.read();
    if (this.last === undefined) {
      this.last = now;
      this.lastWait = wait;
      return;
    }
    const tick = Number(now - this.last) / 1e6;
    const waited = Math.max(0, wait - this.lastWait);
    this.ownMax = Math.max(this.ownMax, tick - waited);
    if (tick > this.worst.tick) this.worst = { tick, wait: waited };
    this.last = now;
    this.lastWait = wait;
  }

  stop(): NonNullable<EventLoopFigures['attribution']> {
    clearInterval(this.timer);
    this.tick();
    closeSync(this.fd);
    return { ownMaxMs: round(this.ownMax), worstTickMs: round(this.worst.tick), worstTickRunQueueMs: round(this.worst.wait) };
  }
}
