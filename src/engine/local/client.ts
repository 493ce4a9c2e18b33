// Talks to the model host: starts it on demand, restarts it after a crash, kills it when a cancel is ignored.
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { isErrorCode, LoupeError } from '../../common/errors';
import type { Generation } from '../types';
import type { GenerateRequest, HostEvent, HostRequest, LoadedInfo, LoadRequest } from './protocol';

export interface HostClientOptions {
  /** The bundled host script (dist/host.js). */
  script: string;
  /** Node or Electron binary; Electron runs as Node with ELECTRON_RUN_AS_NODE. */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  /** How long a cancelled generation may take to stop before the host is killed. */
  cancelGraceMs?: number;
  /** Unload models after this long without a request (0: never). */
  idleUnloadMs?: number;
  /**
   * A host that sends nothing (no token, no progress, no heartbeat) for this long while a request waits is
   * stopped and restarted, and the request fails saying so (0: wait forever). The host sends a heartbeat twice
   * a second from a thread of its own, so a long prefill never trips it.
   */
  timeoutMs?: number | (() => number);
  /** Where the timeout is set, for its message (a setting or a command-line option). */
  timeoutSetting?: string;
  onLog?: (line: string) => void;
  onExit?: (reason: string) => void;
  onLoadedChange?: (loaded: LoadedInfo[]) => void;
}

type Pending = {
  resolve: (v: never) => void;
  reject: (e: Error) => void;
  onDelta?: (text: string) => void;
};

const KEEP_LINES = 30;

export class HostClient {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly lines: string[] = [];
  private readonly loaded = new Map<string, LoadedInfo>();
  private idleTimer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(private readonly opts: HostClientOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  loadedModels(): LoadedInfo[] {
    return [...this.loaded.values()];
  }

  private start(): Promise<void> {
    if (this.disposed) return Promise.reject(new LoupeError('host-crashed', 'the model host has been shut down'));
    if (this.ready) return this.ready;
    const execPath = this.opts.execPath ?? process.execPath;
    const child = fork(this.opts.script, [], {
      execPath,
      env: { ...process.env, ...this.opts.env, ELECTRON_RUN_AS_NODE: '1' },
      // fd 4: the heartbeat pipe (host/heartbeat.ts).
      stdio: ['ignore', 'pipe', 'pipe', 'ipc', 'pipe'],
      serialization: 'advanced',
    });
    this.child = child;
    // Inference saturates the cores; a lower priority keeps the editor (and the extension host) responsive.
    try {
      if (child.pid) setPriority(child.pid, 10);
    } catch {
      /* not permitted here: run at normal priority */
    }
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split(/\r?\n/)) {
        if (!line.trim()) continue;
        this.lines.push(line);
        if (this.lines.length > KEEP_LINES) this.lines.shift();
        this.opts.onLog?.(line);
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    (child.stdio[4] as NodeJS.ReadableStream | null)?.on('data', () => this.heard());
    this.ready = new Promise<void>((resolve, reject) => {
      const onReady = (e: HostEvent) => {
        if (e.type === 'ready') {
          child.off('message', onReady);
          resolve();
        }
      };
      child.on('message', onReady);
      child.once('exit', (code, signal) => reject(new LoupeError('host-crashed', `the model host could not start (${code ?? signal}). ${this.lastLines()}`)));
      const ms = this.timeoutMs();
      if (ms > 0) {
        const t = setTimeout(() => {
          reject(new LoupeError('host-timeout', `The model host did not start within ${Math.round(ms / 1000)} s${this.opts.timeoutSetting ? ` (${this.opts.timeoutSetting})` : ''}. ${this.lastLines()}`.trim()));
          child.kill('SIGKILL');
        }, ms);
        t.unref();
        child.once('message', () => clearTimeout(t));
        child.once('exit', () => clearTimeout(t));
      }
      child.once('error', (e) => reject(new LoupeError('host-crashed', `the model host could not start: ${e.message}`)));
    });
    child.on('message', (e: HostEvent) => this.onEvent(e));
    child.once('exit', (code, signal) => this.onExit(child, code, signal));
    return this.ready;
  }

  private lastLines(): string {
    return this.lines.length ? `Last log lines:\n${this.lines.slice(-10).join('\n')}` : '';
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.ready = undefined;
    this.loaded.clear();
    this.opts.onLoadedChange?.([]);
    const reason = `The model host stopped (${signal ? `signal ${signal}` : `exit code ${code}`}).`;
    this.opts.onExit?.(reason);
    const err = new LoupeError('host-crashed', `${reason} It restarts on the next run. ${this.lastLines()}`.trim());
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.heard();
  }

  private watchdog: NodeJS.Timeout | undefined;

  private timeoutMs(): number {
    const t = this.opts.timeoutMs;
    return (typeof t === 'function' ? t() : t) ?? 0;
  }

  /** The host said something: a request that waits has another `timeoutMs` to go. */
  private heard(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    const ms = this.timeoutMs();
    if (ms <= 0 || this.pending.size === 0) return;
    this.watchdog = setTimeout(() => this.timedOut(ms), ms);
    this.watchdog.unref();
  }

  private timedOut(ms: number): void {
    this.watchdog = undefined;
    if (this.pending.size === 0) return;
    const where = this.opts.timeoutSetting ? ` (${this.opts.timeoutSetting})` : '';
    const err = new LoupeError('host-timeout', `The model host sent nothing for ${Math.round(ms / 1000)} s${where}: it was stopped, and it starts again for the next cell. If the model is only slow, raise the timeout.`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.kill();
  }

  private onEvent(e: HostEvent): void {
    this.heard();
    switch (e.type) {
      case 'ready':
        return;
      case 'log':
        this.opts.onLog?.(`[${e.level}] ${e.message}`);
        return;
      case 'delta':
        this.pending.get(e.id)?.onDelta?.(e.text);
        return;
      case 'error': {
        const p = this.pending.get(e.id);
        this.pending.delete(e.id);
        p?.reject(new LoupeError(isErrorCode(e.code) ? e.code : 'internal', e.message));
        return;
      }
      default: {
        const p = this.pending.get(e.id);
        this.pending.delete(e.id);
        p?.resolve(e as never);
      }
    }
  }

  private async request<T extends HostEvent>(build: (id: number) => HostRequest, onDelta?: (t: string) => void): Promise<T> {
    await this.start();
    const id = this.nextId++;
    const child = this.child!;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: never) => void, reject, onDelta });
      this.heard();
      child.send(build(id), (err) => {
        if (err && this.pending.delete(id)) reject(new LoupeError('host-crashed', `could not reach the model host: ${err.message}`));
      });
    });
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const ms = this.opts.idleUnloadMs ?? 0;
    if (ms > 0) {
      this.idleTimer = setTimeout(() => void this.unload().catch(() => undefined), ms);
      this.idleTimer.unref();
    }
  }

  async load(req: Omit<LoadRequest, 'type' | 'id'>): Promise<LoadedInfo> {
    this.touch();
    const e = await this.request<Extract<HostEvent, { type: 'loaded' }>>((id) => ({ ...req, type: 'load', id }));
    this.loaded.set(e.info.key, e.info);
    this.opts.onLoadedChange?.(this.loadedModels());
    return e.info;
  }

  /** Streams text deltas; an aborted signal cancels, and a host that ignores the cancel is killed. */
  async generate(req: Omit<GenerateRequest, 'type' | 'id'>, opts: { onDelta?: (text: string) => void; signal?: AbortSignal } = {}): Promise<Generation> {
    this.touch();
    await this.start();
    const id = this.nextId;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      this.child?.send({ type: 'cancel', target: id } satisfies HostRequest);
      // Prefill and image encoding cannot be interrupted: only killing the process stops them.
      killTimer = setTimeout(() => {
        if (this.pending.has(id)) {
          const p = this.pending.get(id)!;
          this.pending.delete(id);
          p.reject(new LoupeError('cancelled', `Interrupted. The model did not stop within ${(this.opts.cancelGraceMs ?? 2000) / 1000} s, so the model host was restarted.`));
          this.kill();
        }
      }, this.opts.cancelGraceMs ?? 2000);
    };
    if (opts.signal?.aborted) throw new LoupeError('cancelled', 'Interrupted.');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const e = await this.request<Extract<HostEvent, { type: 'done' }>>((rid) => ({ ...req, type: 'generate', id: rid }), opts.onDelta);
      return e.result;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      this.touch();
    }
  }

  async unload(key?: string): Promise<string[]> {
    if (!this.child) return [];
    const e = await this.request<Extract<HostEvent, { type: 'unloaded' }>>((id) => ({ type: 'unload', id, key }));
    for (const k of e.keys) this.loaded.delete(k);
    this.opts.onLoadedChange?.(this.loadedModels());
    return e.keys;
  }

  async status(): Promise<{ loaded: LoadedInfo[]; rss: number } | undefined> {
    if (!this.child) return undefined;
    const e = await this.request<Extract<HostEvent, { type: 'status' }>>((id) => ({ type: 'status', id }));
    return { loaded: e.loaded, rss: e.rss };
  }

  /** Kills the host; the next request starts a fresh one. */
  kill(): void {
    this.child?.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    this.kill();
    await exited;
  }

  dispose(): void {
    this.disposed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.kill();
  }
}
