// Which engine runs a model reference: `<engine id>:<served model>` (or a bare `<engine id>`) goes to that
// configured server; everything else (registry ids, Hub repos, local folders) to the local model host.
import { LoupeError } from '../common/errors';
import type { LocalEngine } from './local/engine';
import { isLocalRef } from './local/resolve';
import type { RemoteEngine } from './remote/engine';
import type { Engine, EngineSet } from './types';

const REMOTE_REF = /^([A-Za-z][\w.-]+):(.*)$/;

export class Engines implements EngineSet {
  constructor(
    readonly local: LocalEngine,
    /** The configured servers now (settings can change between cells). */
    private readonly remotes: () => RemoteEngine[],
    /** Where the engine list comes from, for messages. */
    private readonly source: string,
  ) {}

  pick(ref: string): { engine: Engine; ref: string } {
    const remotes = this.remotes();
    const bare = remotes.find((e) => e.id === ref);
    if (bare) return { engine: bare, ref: '' };
    const m = isLocalRef(ref) ? undefined : REMOTE_REF.exec(ref);
    if (m) {
      const remote = remotes.find((e) => e.id === m[1]);
      if (remote) return { engine: remote, ref: m[2]! };
      throw new LoupeError('unknown-model', `@model ${ref} names engine "${m[1]}", which ${this.source} does not list${remotes.length ? ` (engines: ${remotes.map((e) => e.id).join(', ')})` : ' (no engines are configured)'}.`);
    }
    return { engine: this.local, ref };
  }
}
