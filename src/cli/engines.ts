// The CLI's serving engines: from --engines <file.json> or LOUPE_ENGINES, keys from LOUPE_API_KEY_<ID>.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LoupeError } from '../common/errors';
import { keyVariable, parseEngineConfigs } from '../engine/remote/config';
import { RemoteEngine } from '../engine/remote/engine';

export async function cliEngines(file: string | undefined, env: NodeJS.ProcessEnv, cwd: string): Promise<{ engines: RemoteEngine[]; source: string }> {
  let raw: unknown;
  let source: string;
  if (file) {
    source = `--engines ${file}`;
    const path = resolve(cwd, file);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      throw new LoupeError('usage', `--engines ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new LoupeError('usage', `--engines ${file} is not JSON: ${(e as Error).message}`);
    }
  } else {
    source = 'LOUPE_ENGINES';
    if (!env.LOUPE_ENGINES?.trim()) return { engines: [], source };
    try {
      raw = JSON.parse(env.LOUPE_ENGINES);
    } catch (e) {
      throw new LoupeError('usage', `LOUPE_ENGINES is not JSON: ${(e as Error).message}`);
    }
  }
  const engines = parseEngineConfigs(raw, source).map(
    (config) =>
      new RemoteEngine({
        config,
        apiKey: async () => env[keyVariable(config.id)] || undefined,
        keyHint: `set ${keyVariable(config.id)}`,
        source,
      }),
  );
  return { engines, source };
}
