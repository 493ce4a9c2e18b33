// `loupe models`: the registry with sizes per dtype, tasks and whether each model is downloaded; `--download ID`.
import { join } from 'node:path';
import { DEFAULTS } from '../common/defaults';
import type { Dtype } from '../engine/types';
import { formatBytes, readManifest, resolveEndpoint, resolveToken } from '../engine/local/download/hub';
import { DTYPE_SUFFIX } from '../engine/local/host/dtypes';
import { REGISTRY, type RegistryEntry } from '../engine/registry';
import { resolveModel } from '../engine/local/resolve';
import type { ModelsArgs } from './args';
import { DownloadBar } from './progress';
import { describeError } from '../common/errors';
import { cliEngines } from './engines';
import { modelsDir, offlineHint, type CliIO } from './run';

export interface ModelStatus {
  id: string;
  name: string;
  repo: string;
  revision: string;
  default: boolean;
  capabilities: string[];
  sizes: Partial<Record<Dtype, number>>;
  licence: string;
  folder: string;
  downloaded: boolean;
  /** Dtypes whose ONNX files the download manifest lists. */
  downloadedDtypes: Dtype[];
}

export async function modelStatus(entry: RegistryEntry, dir: string): Promise<ModelStatus> {
  const folder = join(dir, ...entry.repo.split('/'));
  const manifest = await readManifest(folder);
  const onnx = manifest?.files.filter((f) => f.path.endsWith('.onnx')).map((f) => f.path.slice(0, -'.onnx'.length)) ?? [];
  const bySuffix = (Object.entries(DTYPE_SUFFIX) as [Dtype, string][]).sort((a, b) => b[1].length - a[1].length);
  const dtypes = new Set<Dtype>();
  for (const stem of onnx) dtypes.add((bySuffix.find(([, s]) => s && stem.endsWith(s)) ?? ['fp32'])[0]);
  return {
    id: entry.id,
    name: entry.name,
    repo: entry.repo,
    revision: manifest?.revision ?? entry.revision,
    default: entry.id === DEFAULTS.model,
    capabilities: [...entry.capabilities],
    sizes: entry.sizes,
    licence: entry.licence,
    folder,
    downloaded: onnx.length > 0,
    downloadedDtypes: [...dtypes],
  };
}

export async function modelsCommand(a: ModelsArgs, io: CliIO): Promise<number> {
  const dir = modelsDir(io.env);
  if (a.download) {
    const bar = new DownloadBar(io.stderr, `downloading ${a.download}`);
    try {
      const m = await resolveModel(a.download, {
        modelsDir: dir,
        allowDownloads: !a.offline,
        endpoint: resolveEndpoint(undefined, io.env),
        token: resolveToken(undefined, io.env),
        dtype: a.dtype,
        offlineHint: offlineHint(io.env),
        signal: io.signal,
        onProgress: (p) => bar.update(p),
      });
      bar.end();
      io.stderr.write(`loupe: ${m.info.id} (revision ${m.info.revision}) is ready in ${m.folder}\n`);
      io.stdout.write(m.folder + '\n');
      return 0;
    } finally {
      bar.end();
    }
  }
  const all = await Promise.all(REGISTRY.map((e) => modelStatus(e, dir)));
  // Each configured server's models, asked at once; one that does not answer says why.
  const { engines: remotes } = await cliEngines(a.engines, io.env, io.cwd);
  const engines = await Promise.all(
    remotes.map(async (e) => {
      const head = { id: e.id, kind: e.config.kind, baseUrl: e.config.baseUrl };
      try {
        return { ...head, models: (await e.listModels()).map((m) => ({ ref: m.id, capabilities: [...m.capabilities] })) };
      } catch (err) {
        return { ...head, error: describeError(err).message };
      }
    }),
  );
  if (a.json) {
    io.stdout.write(JSON.stringify({ modelsDir: dir, models: all, engines }, null, 2) + '\n');
    return 0;
  }
  const lines = [`Models folder: ${dir}`, ''];
  for (const m of all) {
    const sizes = (Object.entries(m.sizes) as [Dtype, number][]).map(([d, n]) => `${d} ${formatBytes(n)}`).join(', ');
    lines.push(`${m.id}${m.default ? ' (default)' : ''}  ${m.downloaded ? `downloaded (${m.downloadedDtypes.join(', ')})` : 'not downloaded'}`);
    lines.push(`  ${m.name} · ${m.repo} · ${m.licence}`);
    lines.push(`  tasks: ${m.capabilities.join(', ')}`);
    lines.push(`  sizes: ${sizes}`);
    lines.push('');
  }
  lines.push('Download one with: loupe models --download <id> [--dtype q4]');
  for (const e of engines) {
    lines.push('', `Engine ${e.id} (${e.kind} at ${e.baseUrl})`);
    if ('error' in e) lines.push(`  not reachable: ${e.error}`);
    else for (const m of e.models) lines.push(`  @model ${m.ref}  tasks: ${m.capabilities.join(', ')}`);
  }
  io.stdout.write(lines.join('\n') + '\n');
  return 0;
}
