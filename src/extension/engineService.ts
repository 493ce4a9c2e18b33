// VS Code edge of the engine: settings, status bar, download progress, model commands.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { DEFAULTS } from '../common/defaults';
import { describeError } from '../common/errors';
import { EnginePromptRunner, type RunnerSettings } from '../core/kernel/runner';
import { HostClient } from '../engine/local/client';
import { formatBytes, resolveEndpoint, resolveToken } from '../engine/local/download/hub';
import { LocalEngine, type LocalSettings } from '../engine/local/engine';
import { resolveModel, type CustomModel } from '../engine/local/resolve';
import { REGISTRY } from '../engine/registry';
import type { Task } from '../common/tasks';
import type { VideoSettings } from '../core/kernel/video';
import { Engines } from '../engine/engines';
import { parseEngineConfigs, type EngineConfig } from '../engine/remote/config';
import { RemoteEngine } from '../engine/remote/engine';
import type { Device, Dtype, LoadedModel, PrepareProgress } from '../engine/types';
import { PROVIDER_NAMES, statusText } from './statusText';

/** Where the servers come from: user settings only, so a workspace cannot send a user's images anywhere. */
const ENGINES_SOURCE = 'loupe.engines (user settings)';
const keyName = (id: string) => `loupe.engineKey.${id}`;

export class EngineService implements vscode.Disposable {
  readonly client: HostClient;
  readonly local: LocalEngine;
  readonly engines: Engines;
  readonly runner: EnginePromptRunner;
  private remoteCache: { key: string; engines: RemoteEngine[] } | undefined;
  private reportedConfig = '';
  private readonly status: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const storage = context.globalStorageUri.fsPath;
    this.client = new HostClient({
      script: join(context.extensionPath, 'dist', 'host.js'),
      env: { LOUPE_CACHE_DIR: join(storage, 'cache') },
      idleUnloadMs: this.cfg().get<number>('unloadAfterMinutes', DEFAULTS.unloadAfterMinutes) * 60_000,
      timeoutMs: () => this.cfg().get<number>('hostTimeoutSeconds', DEFAULTS.hostTimeoutSeconds) * 1000,
      timeoutSetting: 'setting loupe.hostTimeoutSeconds',
      onLog: (line) => log.info(`[host] ${line}`),
      onExit: (reason) => {
        log.warn(reason);
        this.status.text = 'Loupe: model host stopped';
        this.status.tooltip = `${reason} It restarts on the next run.`;
      },
      onLoadedChange: (loaded) => {
        if (loaded.length === 0) this.status.hide();
      },
    });
    this.status = vscode.window.createStatusBarItem('loupe.status', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'Loupe model';
    this.status.command = 'loupe.selectModel';
    this.local = new LocalEngine(this.client, () => this.localSettings());
    this.engines = new Engines(this.local, () => this.remotes(), ENGINES_SOURCE);
    this.runner = new EnginePromptRunner({
      engines: this.engines,
      settings: () => this.runnerSettings(),
      withProgress: (label, fn) => this.withDownload(label, fn),
      onLoaded: (model) => this.showLoaded(model),
    });
    this.disposables.push(
      this.status,
      vscode.commands.registerCommand('loupe.restartModelHost', async () => {
        await this.client.restart();
        this.status.hide();
        vscode.window.showInformationMessage('Loupe: the model host was stopped; it starts again on the next run.');
      }),
      vscode.commands.registerCommand('loupe.selectModel', () => this.selectModel()),
      vscode.commands.registerCommand('loupe.setEngineKey', () => this.setEngineKey()),
      vscode.commands.registerCommand('loupe.manageModels', () => this.manageModels()),
      vscode.commands.registerCommand('loupe.downloadModel', () => this.downloadModel()),
    );
  }

  private cfg() {
    return vscode.workspace.getConfiguration('loupe');
  }

  /** The configured servers, from the user's own settings (never a workspace's), one engine object per entry. */
  remoteConfigs(): EngineConfig[] {
    const raw = this.cfg().inspect<unknown>('engines')?.globalValue;
    try {
      return parseEngineConfigs(raw, 'loupe.engines');
    } catch (e) {
      const msg = describeError(e).message;
      if (msg !== this.reportedConfig) vscode.window.showErrorMessage(`Loupe: ${msg}`);
      this.reportedConfig = msg;
      return [];
    }
  }

  private remotes(): RemoteEngine[] {
    const configs = this.remoteConfigs();
    const key = JSON.stringify(configs);
    if (this.remoteCache?.key !== key) {
      this.remoteCache = {
        key,
        engines: configs.map(
          (config) =>
            new RemoteEngine({
              config,
              apiKey: async () => (await this.context.secrets.get(keyName(config.id))) || undefined,
              keyHint: `run "Loupe: Set Engine API Key…" and choose ${config.id}`,
              source: ENGINES_SOURCE,
            }),
        ),
      };
    }
    return this.remoteCache.engines;
  }

  /** Keys live in VS Code's SecretStorage, never in settings or notebooks. */
  private async setEngineKey(): Promise<void> {
    const configs = this.remoteConfigs();
    if (!configs.length) {
      vscode.window.showInformationMessage('Loupe: no engines are configured: add one to loupe.engines in your user settings first.');
      return;
    }
    const pick = await vscode.window.showQuickPick(
      configs.map((c) => ({ label: c.id, description: `${c.kind} at ${c.baseUrl}` })),
      { title: 'Loupe: API key for which engine?' },
    );
    if (!pick) return;
    const key = await vscode.window.showInputBox({ title: `API key for ${pick.label}`, prompt: 'Stored in VS Code\'s secret storage. Leave empty to remove the key.', password: true, ignoreFocusOut: true });
    if (key === undefined) return;
    if (key) await this.context.secrets.store(keyName(pick.label), key);
    else await this.context.secrets.delete(keyName(pick.label));
    vscode.window.showInformationMessage(`Loupe: ${key ? 'saved' : 'removed'} the API key of ${pick.label}.`);
  }

  runnerSettings(): RunnerSettings {
    const c = this.cfg();
    return {
      defaultModel: c.get<string>('defaultModel', DEFAULTS.model),
      defaultModels: c.get<Partial<Record<Task, string>>>('defaultModels', DEFAULTS.taskModels),
      maxImageTokens: c.get<number>('maxImageTokens', DEFAULTS.maxImageTokens),
      maxImagePixels: c.get<number>('maxImagePixels', DEFAULTS.maxImagePixels),
      batchMaxImages: c.get<number>('batchMaxImages', DEFAULTS.batchMaxImages),
      batchLimitHint: 'setting loupe.batchMaxImages',
      video: this.videoSettings(),
    };
  }

  /** ffmpeg from the setting or PATH; decoded frames cached in the extension's storage. */
  videoSettings(): VideoSettings {
    const c = this.cfg();
    return {
      ffmpegPath: c.get<string>('ffmpegPath', DEFAULTS.ffmpegPath),
      ffmpegSetting: 'setting loupe.ffmpegPath',
      maxVideoMinutes: c.get<number>('maxVideoMinutes', DEFAULTS.maxVideoMinutes),
      framesDir: join(this.context.globalStorageUri.fsPath, 'frames'),
    };
  }

  localSettings(): LocalSettings {
    const c = this.cfg();
    return {
      device: c.get<Device>('device', DEFAULTS.device),
      dtype: c.get<'auto' | Dtype>('dtype', DEFAULTS.dtype),
      allowDownloads: c.get<boolean>('allowDownloads', DEFAULTS.allowDownloads),
      endpoint: resolveEndpoint(c.get<string>('hubEndpoint', '') || undefined),
      token: resolveToken(),
      modelsDir: join(this.context.globalStorageUri.fsPath, 'models'),
      customModels: c.get<CustomModel[]>('customModels', []),
    };
  }

  private showLoaded(model: LoadedModel): void {
    const id = model.handle.info.id;
    const revision = model.handle.info.revision;
    this.status.text = statusText(id, model);
    const engine = model.handle.info.engine;
    if (engine && engine !== 'local') {
      // A server's model: which engine answered and where; dtype and load time are the server's business.
      const config = this.remoteConfigs().find((c) => c.id === engine);
      this.status.tooltip = [`${id}`, `engine ${engine}: ${model.provider}${config ? ` at ${config.baseUrl}` : ''}`, 'Click to select a model'].join('\n');
      this.status.show();
      this.log.info(`${id} answered by engine ${engine}`);
      return;
    }
    this.status.tooltip = [
      `${id}${revision ? ` @ ${revision}` : ''}`,
      `provider: ${PROVIDER_NAMES[model.provider] ?? model.provider}`,
      `dtype: ${typeof model.dtype === 'string' ? model.dtype : JSON.stringify(model.dtype)}`,
      ...model.fallbacks.map((f) => `${PROVIDER_NAMES[f.device] ?? f.device} unavailable: ${f.error}`),
      `loaded in ${Math.round(model.loadMs)} ms`,
    ].join('\n');
    this.status.show();
    for (const f of model.fallbacks) this.log.warn(`${id}: ${f.device} unavailable, fell back: ${f.error}`);
    this.log.info(`${id} loaded on ${model.provider} (${JSON.stringify(model.dtype)}) in ${Math.round(model.loadMs)} ms`);
  }

  /** Shows a cancellable notification only once bytes actually move. */
  private async withDownload<T>(label: string, fn: (onProgress: (p: PrepareProgress) => void, signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    let report: ((p: PrepareProgress) => void) | undefined;
    let finish: (() => void) | undefined;
    let lastPct = 0;
    const onProgress = (p: PrepareProgress) => {
      if (!report) {
        void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: label, cancellable: true }, (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          report = (q) => {
            const pct = q.total ? Math.floor((q.bytes / q.total) * 100) : 0;
            progress.report({ message: `${q.file} — ${formatBytes(q.bytes)} of ${formatBytes(q.total)} (file ${q.filesDone + 1}/${q.filesTotal})`, increment: pct - lastPct });
            lastPct = pct;
          };
          return new Promise<void>((r) => (finish = r));
        });
      }
      report?.(p);
    };
    try {
      return await fn(onProgress, abort.signal);
    } finally {
      finish?.();
    }
  }

  private async selectModel(): Promise<void> {
    type Item = vscode.QuickPickItem & { id?: string; action?: 'folder' | 'repo' };
    const { defaultModel: current, defaultModels = {} } = this.runnerSettings();
    // Which tasks each model is the default for (loupe.defaultModels), so the picker shows the whole picture.
    const defaultFor = (id: string) => Object.entries(defaultModels).filter(([, m]) => m === id).map(([t]) => t);
    const items: Item[] = REGISTRY.map((e) => ({
      id: e.id,
      label: `${e.id === current ? '$(check) ' : ''}${e.name}`,
      description: `${e.id} · ${e.licence}${e.id === current ? ' · default' : ''}${defaultFor(e.id).length ? ` · default for @task ${defaultFor(e.id).join(', ')}` : ''}`,
      detail: `${e.description} Tasks: ${e.capabilities.join(', ')}. Size: ${Object.entries(e.sizes).map(([d, b]) => `${d} ≈ ${formatBytes(b!)}`).join(', ')}`,
    }));
    items.push({ label: '$(folder) Local model folder…', action: 'folder' }, { label: '$(cloud) Hugging Face Hub repository…', action: 'repo' });
    // Each configured server's /v1/models joins the list as it answers.
    const qp = vscode.window.createQuickPick<Item>();
    qp.title = 'Loupe: default model (per-task defaults: setting loupe.defaultModels)';
    qp.matchOnDescription = qp.matchOnDetail = true;
    qp.items = items;
    const remotes = this.remotes();
    qp.busy = remotes.length > 0;
    let pending = remotes.length;
    for (const engine of remotes) {
      void engine
        .listModels()
        .then(
          (models) => [{ label: `engine ${engine.id}`, kind: vscode.QuickPickItemKind.Separator }, ...models.map((m): Item => ({ id: m.id, label: `${m.id === current ? '$(check) ' : ''}${m.id}`, description: `${m.description}${m.id === current ? ' · default' : ''}`, detail: `Tasks: ${m.capabilities.join(', ')}` }))] as Item[],
          (e: unknown) => [{ label: `engine ${engine.id}`, kind: vscode.QuickPickItemKind.Separator }, { label: `$(warning) ${engine.id}: not reachable`, detail: describeError(e).message }] as Item[],
        )
        .then((more) => {
          qp.items = [...qp.items, ...more];
          qp.busy = --pending > 0;
        });
    }
    const pick = await new Promise<Item | undefined>((resolve) => {
      qp.onDidAccept(() => resolve(qp.selectedItems[0]));
      qp.onDidHide(() => resolve(undefined));
      qp.show();
    });
    qp.dispose();
    if (!pick || (!pick.id && !pick.action)) return;
    let id = pick.id;
    if (pick.action === 'folder') {
      const uri = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: 'Folder with config.json and onnx/' });
      id = uri?.[0]?.fsPath;
    } else if (pick.action === 'repo') {
      id = await vscode.window.showInputBox({ prompt: 'Hub repository (org/name) with ONNX exports', placeHolder: 'onnx-community/Florence-2-base-ft', validateInput: (v) => (/^[\w.-]+\/[\w.-]+$/.test(v) ? undefined : 'expected org/name') });
    }
    if (!id) return;
    await this.cfg().update('defaultModel', id, vscode.ConfigurationTarget.Global);
    vscode.window.showInformationMessage(`Loupe: default model is now ${id}.`);
  }

  /** Fetches a registry model ahead of time, with the same verified downloader cells use. */
  private async downloadModel(): Promise<void> {
    const s = this.localSettings();
    const defaultModel = this.runnerSettings().defaultModel;
    const pick = await vscode.window.showQuickPick(
      REGISTRY.map((e) => ({ label: e.name, description: `${e.id}${e.id === defaultModel ? ' (default)' : ''}`, detail: `${e.repo} · ${Object.entries(e.sizes).map(([d, b]) => `${d} ≈ ${formatBytes(b!)}`).join(', ')}`, id: e.id })),
      { title: 'Loupe: download a model' },
    );
    if (!pick) return;
    try {
      const model = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Loupe: downloading ${pick.id}`, cancellable: true }, async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let last = 0;
        return resolveModel(pick.id, {
          modelsDir: s.modelsDir,
          allowDownloads: true,
          endpoint: s.endpoint,
          token: s.token,
          dtype: s.dtype,
          signal: abort.signal,
          onProgress: (p) => {
            const pct = p.total ? Math.floor((p.bytes / p.total) * 100) : 0;
            progress.report({ message: `${p.file} — ${formatBytes(p.bytes)} of ${formatBytes(p.total)}`, increment: pct - last });
            last = pct;
          },
        });
      });
      vscode.window.showInformationMessage(`Loupe: ${pick.id} is ready (${model.folder}).`);
    } catch (e) {
      vscode.window.showErrorMessage(`Loupe: ${describeError(e).message}`);
    }
  }

  private async manageModels(): Promise<void> {
    const dir = this.localSettings().modelsDir;
    const found: { repo: string; path: string; bytes: number }[] = [];
    for (const org of await readdir(dir).catch(() => [] as string[])) {
      for (const name of await readdir(join(dir, org)).catch(() => [] as string[])) {
        const path = join(dir, org, name);
        found.push({ repo: `${org}/${name}`, path, bytes: await folderSize(path) });
      }
    }
    if (found.length === 0) {
      vscode.window.showInformationMessage(`Loupe: no downloaded models in ${dir}.`);
      return;
    }
    const picks = await vscode.window.showQuickPick(
      found.map((f) => ({ label: f.repo, description: formatBytes(f.bytes), detail: f.path, f })),
      { canPickMany: true, title: 'Loupe: downloaded models (select to delete)' },
    );
    if (!picks?.length) return;
    const ok = await vscode.window.showWarningMessage(`Delete ${picks.map((p) => p.label).join(', ')} (${formatBytes(picks.reduce((s, p) => s + p.f.bytes, 0))})?`, { modal: true }, 'Delete');
    if (ok !== 'Delete') return;
    await this.client.unload().catch(() => undefined);
    for (const p of picks) await rm(p.f.path, { recursive: true, force: true });
    vscode.window.showInformationMessage(`Loupe: deleted ${picks.length} model${picks.length === 1 ? '' : 's'}.`);
  }

  dispose(): void {
    this.client.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? await folderSize(p) : (await stat(p).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
