// The CLI's serving engines: from --engines <file.json> or LOUPE_ENGINES, keys from LOUPE_API_KEY_<ID>.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LoupeError } from '../common/errors';
import { keyVariable, parseEngineConfigs } from '../engine/remote/config';
import { RemoteEngine } from '../engine/remote/engine';

export async function cliEngines(file: string | undefined, env: NodeJS.ProcessEnv, cwd: string): Promise<{ engines: RemoteEngine[]; source: string }> {
  let text: string;
  let source: string;
  if (file) {
    source = `--engines ${file}`;
    try {
      text = await readFile(resolve(cwd, file), 'utf8');
    } catch (e) {
      throw new LoupeError('usage', `--engines ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  } else {
    source = 'LOUPE_ENGINES';
    if (!env.LOUPE_ENGINES?.trim()) return { engines: [], source };
    text = env.LOUPE_ENGINES;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new LoupeError('usage', `${source} is not JSON: ${(e as Error).message}`);
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
