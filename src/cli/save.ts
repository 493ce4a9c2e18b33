// Saving a run's results as they finish, without losing edits made to the notebook meanwhile: after each cell the
// file on disk is read again and the results are merged into it (core/notebook/merge.ts); a file that can no
// longer be read as a notebook is left alone and the results go to a file beside it.
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { describeError } from '../common/errors';
import { parseNotebook, serializeNotebook, type StoredNotebook, type StoredOutput } from '../core/notebook/format';
import { mergeResults, type MergeReport } from '../core/notebook/merge';
import { writeNotebookFile } from '../core/notebook/write';

export interface SaverEvents {
  /** Something the user should know about where the results went. */
  say(message: string): void;
}

/** Merges retried when the file changes between our read and our rename, before the results go beside it. */
const MAX_MERGES = 20;

export class NotebookSaver {
  private readonly results = new Map<number, StoredOutput[]>();
  private chain: Promise<void> = Promise.resolve();
  private beside: string | undefined;
  private reported = { stale: 0, dropped: 0 };
  /** Where the results are now: the target, or the file beside it. */
  written: string;

  /**
   * `ran`: the notebook as read when the run started. `target`: where results go. `merge`: the target is the
   * notebook the user may edit meanwhile (not a fresh --out file), so its current content is kept.
   */
  constructor(
    private readonly ran: StoredNotebook,
    private readonly target: string,
    private readonly merge: boolean,
    private readonly events: SaverEvents,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.written = target;
  }

  /** Records a cell's outputs and saves; saves run one after another. */
  record(cellIndex: number, outputs: StoredOutput[]): Promise<void> {
    this.results.set(cellIndex, outputs);
    return this.save();
  }

  save(): Promise<void> {
    this.chain = this.chain.then(() => this.write());
    return this.chain;
  }

  /** The run's notebook with every result so far, as the run sees it. */
  current(): StoredNotebook {
    return { ...this.ran, cells: this.ran.cells.map((c, i) => (this.results.has(i) ? { ...c, outputs: this.results.get(i)! } : c)) };
  }

  private async write(): Promise<void> {
    if (this.beside || !this.merge) {
      await writeNotebookFile(this.beside ?? this.target, serializeNotebook(this.current()));
      return;
    }
    // An editor may save between our read and our write: the file is replaced only if it still holds what was merged
    // from (checked just before the rename), else it is read and merged again.
    for (let attempt = 0; ; attempt++) {
      const bytes = await readFile(this.target).catch((e: unknown) => e as Error);
      let disk: StoredNotebook;
      try {
        if (bytes instanceof Error) throw bytes;
        disk = parseNotebook(bytes, basename(this.target));
      } catch (e) {
        // Deleted, emptied or no longer a notebook: never write over what is there now.
        return this.goBeside(`changed during the run and cannot be read as a notebook now (${describeError(e).message.split('\n')[0]})`);
      }
      const { notebook, report } = mergeResults(this.ran, disk, this.results);
      const merged = Buffer.from(serializeNotebook(notebook));
      if (merged.equals(Buffer.from(serializeNotebook(disk)))) return this.tell(report);
      if (await writeNotebookFile(this.target, merged, { unchangedFrom: bytes as Buffer })) return this.tell(report);
      if (attempt >= MAX_MERGES) {
        // Saved over and over while we merge: leave it to the editor, and keep the results beside it.
        return this.goBeside(`kept changing while the results were merged into it (${MAX_MERGES + 1} tries)`);
      }
    }
  }

  /** Leaves the target as it is: this and every later save go to a file beside it. */
  private async goBeside(why: string): Promise<void> {
    this.beside = besidePath(this.target, this.now());
    this.written = this.beside;
    this.events.say(`${this.target} ${why}: it was left as it is, and the results go to ${this.beside}`);
    await writeNotebookFile(this.beside, serializeNotebook(this.current()));
  }

  private tell(r: MergeReport): void {
    if (r.stale > this.reported.stale) {
      this.events.say(`${basename(this.target)} was edited during the run: ${r.stale} edited cell${r.stale === 1 ? ' keeps its' : 's keep their'} earlier output, marked stale; your edits are kept`);
    }
    if (r.dropped > this.reported.dropped) this.events.say(`${r.dropped} result${r.dropped === 1 ? ' was' : 's were'} not written: ${r.dropped === 1 ? 'its cell was' : 'their cells were'} deleted from ${basename(this.target)} during the run`);
    this.reported = { stale: r.stale, dropped: r.dropped };
  }
}

/** `tour.loupe` → `tour.results-20261202-101530.loupe` next to it. */
export function besidePath(path: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  const ext = extname(path) || '.loupe';
  return join(dirname(path), `${basename(path, ext)}.results-${stamp}${ext}`);
}
