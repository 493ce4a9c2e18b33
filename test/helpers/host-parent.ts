// A stand-in for the extension host in a test: starts the model host, loads a fixture, prints the host's pid, then
// waits to be killed (the test checks that the host does not outlive it).
import { join } from 'node:path';
import { HostClient } from '../../src/engine/local/client';

const root = join(import.meta.dirname, '..', '..');
const c = new HostClient({ script: join(root, 'dist', 'host.js') });
void c
  .load({ key: 'q', folder: join(root, 'test', 'fixtures', 'models', 'tiny-qwen2vl'), family: 'qwen2_vl', dialect: 'qwen2_vl', device: 'cpu', dtype: 'auto', info: { id: 'tiny-qwen2vl' } })
  .then(() => process.stdout.write(`host ${c.pid}\n`));
setInterval(() => undefined, 1000);
