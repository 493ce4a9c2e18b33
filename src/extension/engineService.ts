// VS Code edge of the engine: settings, status bar, download progress, model commands.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Device, Dtype, LoadedInfo } from '../engine/local/protocol';
import { HostClient } from '../engine/local/client';
import { formatBytes, resolveEndpoint, resolveToken, type DownloadProgress } from '../engine/local/download/hub';
import { DEFAULT_MODEL, REGISTRY } from '../engine/registry';
import { resolveModel, type CustomModel, type ResolvedModel } from '../engine/local/resolve';
import { DEFAULT_MAX_PIXELS } from '../images/load';
import { EnginePromptRunner, type EngineSettings } from '../core/kernel/runner';
import { PROVIDER_NAMES, statusText } from './statusText';

export class EngineService implements vscode.Disposable {
  readonly client: HostClient;
  readonly runner: EnginePromptRunner;
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
      idleUnloadMs: this.cfg().get<number>('unloadAfterMinutes', 10) * 60_000,
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
    this.runner = new EnginePromptRunner({
      client: this.client,
      settings: () => this.settings(),
      withDownload: (label, fn) => this.withDownload(label, fn),
      onLoaded: (info, model) => this.showLoaded(info, model),
    });
    this.disposables.push(
      this.status,
      vscode.commands.registerCommand('loupe.restartModelHost', async () => {
        await this.client.restart();
        this.status.hide();
        vscode.window.showInformationMessage('Loupe: the model host was stopped; it starts again on the next run.');
      }),
      vscode.commands.registerCommand('loupe.selectModel', () => this.selectModel()),
      vscode.commands.registerCommand('loupe.manageModels', () => this.manageModels()),
      vscode.commands.registerCommand('loupe.downloadModel', () => this.downloadModel()),
    );
  }

  private cfg() {
    return vscode.workspace.getConfiguration('loupe');
  }

  settings(): EngineSettings {
    const c = this.cfg();
    return {
      defaultModel: c.get<string>('defaultModel', DEFAULT_MODEL),
      device: c.get<Device>('device', 'auto'),
      dtype: c.get<'auto' | Dtype>('dtype', 'auto'),
      allowDownloads: c.get<boolean>('allowDownloads', true),
      endpoint: resolveEndpoint(c.get<string>('hubEndpoint', '') || undefined),
      token: resolveToken(),
      maxImageTokens: c.get<number>('maxImageTokens', 1280),
      maxImagePixels: c.get<number>('maxImagePixels', DEFAULT_MAX_PIXELS),
      modelsDir: join(this.context.globalStorageUri.fsPath, 'models'),
      customModels: c.get<CustomModel[]>('customModels', []),
    };
  }

  private showLoaded(info: LoadedInfo, model: ResolvedModel): void {
    this.status.text = statusText(model.info.id, info);
    this.status.tooltip = [
      `${model.info.id}${model.info.revision ? ` @ ${model.info.revision}` : ''}`,
      `provider: ${PROVIDER_NAMES[info.provider] ?? info.provider}`,
      `dtype: ${typeof info.dtype === 'string' ? info.dtype : JSON.stringify(info.dtype)}`,
      ...info.fallbacks.map((f) => `${PROVIDER_NAMES[f.device] ?? f.device} unavailable: ${f.error}`),
      `loaded in ${Math.round(info.loadMs)} ms`,
    ].join('\n');
    this.status.show();
    for (const f of info.fallbacks) this.log.warn(`${model.info.id}: ${f.device} unavailable, fell back: ${f.error}`);
    this.log.info(`${model.info.id} loaded on ${info.provider} (${JSON.stringify(info.dtype)}) in ${Math.round(info.loadMs)} ms`);
  }

  /** Shows a cancellable notification only once bytes actually move. */
  private async withDownload<T>(label: string, fn: (onProgress: (p: DownloadProgress) => void, signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    let report: ((p: DownloadProgress) => void) | undefined;
    let finish: (() => void) | undefined;
    let lastPct = 0;
    const onProgress = (p: DownloadProgress) => {
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
    const current = this.settings().defaultModel;
    const items: Item[] = REGISTRY.map((e) => ({
      id: e.id,
      label: `${e.id === current ? '$(check) ' : ''}${e.name}`,
      description: `${e.id} · ${e.licence}`,
      detail: `${e.description} Tasks: ${e.capabilities.join(', ')}. Size: ${Object.entries(e.sizes).map(([d, b]) => `${d} ≈ ${formatBytes(b!)}`).join(', ')}`,
    }));
    items.push({ label: '$(folder) Local model folder…', action: 'folder' }, { label: '$(cloud) Hugging Face Hub repository…', action: 'repo' });
    const pick = await vscode.window.showQuickPick(items, { title: 'Loupe: default model', matchOnDescription: true, matchOnDetail: true });
    if (!pick) return;
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
    const s = this.settings();
    const pick = await vscode.window.showQuickPick(
      REGISTRY.map((e) => ({ label: e.name, description: `${e.id}${e.id === s.defaultModel ? ' (default)' : ''}`, detail: `${e.repo} · ${Object.entries(e.sizes).map(([d, b]) => `${d} ≈ ${formatBytes(b!)}`).join(', ')}`, id: e.id })),
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
      vscode.window.showErrorMessage(`Loupe: ${(e as Error).message}`);
    }
  }

  private async manageModels(): Promise<void> {
    const dir = this.settings().modelsDir;
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
