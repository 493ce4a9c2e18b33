// How long the extension host's event loop stalls while a cell generates, and (on Linux, when asked) what the loop's
// thread did meanwhile: ran on a CPU (the host's own work), waited for one, or slept (I/O, or a GC pause waiting for its
// helper threads, which wait for a CPU too on a busy machine).
import { closeSync, openSync, readSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface EventLoopFigures {
  /** monitorEventLoopDelay's worst interval, ms: the stall plus at most RESOLUTION_MS. */
  maxMs: number;
  p99Ms: number;
  /** Present when attribution ran. */
  attribution?: {
    /** The most CPU time the loop's thread used within one tick: the host's own work holding the loop. */
    ownCpuMaxMs: number;
    /** The worst tick, and how it splits: on a CPU, runnable but waiting for a CPU; the rest the thread slept. */
    worstTickMs: number;
    worstTickCpuMs: number;
    worstTickRunQueueMs: number;
  };
}

/** 1 ms, so a figure reads as the stall itself (a 10 ms resolution adds up to 10 ms to every figure). */
export const RESOLUTION_MS = 1;
const TICK_MS = 2;
const round = (x: number) => Math.round(x * 10) / 10;

export class EventLoopProbe {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private tracer: ThreadTimeTracer | undefined;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private figures: EventLoopFigures | undefined;

  /** attribute: also trace run-queue waits (Linux only; costs a 2 ms timer while the probe runs). */
  constructor(private readonly attribute = process.env.LOUPE_EVENT_LOOP_ATTRIBUTION === '1') {}

  /** Starts once; later calls do nothing. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    // The tracer first, so that it covers every interval the histogram records.
    if (this.attribute) this.tracer = ThreadTimeTracer.start();
    this.histogram.enable();
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

/** Formats figures for the log line the e2e suite reads: `max-delay-ms=… p99-ms=…[ own-cpu-max-ms=… …]`. */
export function formatFigures(f: EventLoopFigures): string {
  const a = f.attribution;
  return `max-delay-ms=${f.maxMs} p99-ms=${f.p99Ms}${a ? ` own-cpu-max-ms=${a.ownCpuMaxMs} worst-tick-ms=${a.worstTickMs} worst-tick-cpu-ms=${a.worstTickCpuMs} worst-tick-runqueue-ms=${a.worstTickRunQueueMs}` : ''}`;
}

/**
 * A timer every TICK_MS that reads the loop thread's time on a CPU and time waiting for one
 * (/proc/thread-self/schedstat, first two fields, ns) through an open descriptor, so each late tick can be split.
 */
class ThreadTimeTracer {
  private readonly buf = Buffer.alloc(128);
  private last = process.hrtime.bigint();
  private lastCpu: number;
  private lastWait: number;
  private cpuMax = 0;
  private worst = { tick: 0, cpu: 0, wait: 0 };
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly fd: number) {
    [this.lastCpu, this.lastWait] = this.read();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  static start(): ThreadTimeTracer | undefined {
    if (process.platform !== 'linux') return undefined;
    try {
      // Opened on the event-loop thread, so thread-self is that thread.
      return new ThreadTimeTracer(openSync('/proc/thread-self/schedstat', 'r'));
    } catch {
      return undefined;
    }
  }

  private read(): [cpu: number, wait: number] {
    const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    const [cpu, wait] = this.buf.toString('latin1', 0, n).split(' ');
    return [Number(cpu) / 1e6, Number(wait) / 1e6];
  }

  private tick(): void {
    const now = process.hrtime.bigint();
    const [cpu, wait] = this.read();
    const tick = Number(now - this.last) / 1e6;
    const used = Math.max(0, cpu - this.lastCpu);
    this.cpuMax = Math.max(this.cpuMax, used);
    if (tick > this.worst.tick) this.worst = { tick, cpu: used, wait: Math.max(0, wait - this.lastWait) };
    this.last = now;
    this.lastCpu = cpu;
    this.lastWait = wait;
  }

  stop(): NonNullable<EventLoopFigures['attribution']> {
    clearInterval(this.timer);
    this.tick();
    closeSync(this.fd);
    return { ownCpuMaxMs: round(this.cpuMax), worstTickMs: round(this.worst.tick), worstTickCpuMs: round(this.worst.cpu), worstTickRunQueueMs: round(this.worst.wait) };
  }
}
