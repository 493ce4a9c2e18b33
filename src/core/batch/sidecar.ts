// The sidecar of a batch: one JSON line per finished image and model, appended as each finishes, so a crash or a
// cancel loses at most the images in flight. Read back line by line (memory flat with the number of rows); a line
// torn by a crash is skipped, and a later line for the same image and model replaces an earlier one.
import { createReadStream } from 'node:fs';
import { mkdir, open, stat, truncate, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { asBatchRow, type BatchRow } from '../../common/batch';

/** The key of a row's slot: its image and model. */
export const slotOf = (r: Pick<BatchRow, 'index' | 'modelIndex'>) => `${r.index}:${r.modelIndex ?? 0}`;
/** Rows in image order, each image's models together: how every list of rows is shown. */
export const rowOrder = (a: Pick<BatchRow, 'index' | 'modelIndex'>, b: Pick<BatchRow, 'index' | 'modelIndex'>) => a.index - b.index || (a.modelIndex ?? 0) - (b.modelIndex ?? 0);

/** Calls `onRow` for each valid row in file order; a missing file has none. */
export async function readRows(path: string, onRow: (row: BatchRow) => void): Promise<void> {
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      continue; // torn by a crash mid-write
    }
    const row = asBatchRow(v);
    if (row) onRow(row);
  }
}

/** The latest row of each slot whose image index is in [from, to), in image then model order. */
export async function readRange(path: string, from: number, to: number): Promise<BatchRow[]> {
  const latest = new Map<string, BatchRow>();
  await readRows(path, (r) => {
    if (r.index >= from && r.index < to) latest.set(slotOf(r), r);
  });
  return [...latest.values()].sort(rowOrder);
}

/** Every slot's latest row, in image then model order (exports: they need them all). */
export async function readAllRows(path: string): Promise<BatchRow[]> {
  return readRange(path, 0, Number.MAX_SAFE_INTEGER);
}

/** Appends rows, one line each, in the order given; a torn last line from a crash is ended first. */
export class SidecarWriter {
  private chain: Promise<void> = Promise.resolve();

  private constructor(private readonly fh: FileHandle) {}

  static async open(path: string, opts: { truncate?: boolean } = {}): Promise<SidecarWriter> {
    await mkdir(dirname(path), { recursive: true });
    if (opts.truncate) await truncate(path).catch(() => undefined);
    const fh = await open(path, 'a+');
    const { size } = await fh.stat();
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) await fh.appendFile('\n');
    }
    return new SidecarWriter(fh);
  }

  append(row: BatchRow): Promise<void> {
    const line = JSON.stringify(row) + '\n';
    this.chain = this.chain.then(() => this.fh.appendFile(line, 'utf8'));
    return this.chain;
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.fh.close();
  }
}
