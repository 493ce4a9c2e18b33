// Results of a run written into a notebook that changed while it ran: the user's edits are kept, and each result
// goes to the cell it was computed for. Cells are matched by their text (the format has no cell ids): unchanged
// cells line up by a longest common subsequence, and in a gap between matches an edited cell pairs with the cell
// that stood in its place.
import { RESULT_MIME } from '../../common/result';
import type { JsonObject, StoredCell, StoredNotebook, StoredOutput } from './format';

export type CellMatch = { to: number; edited: boolean } | undefined;

const key = (c: StoredCell) => `${c.kind}\u0000${c.source}`;

/** For each cell of `from`, the cell of `to` that is the same cell: unchanged, edited, or gone (undefined). */
export function alignCells(from: readonly StoredCell[], to: readonly StoredCell[]): CellMatch[] {
  const a = from.map(key);
  const b = to.map(key);
  // LCS table from the end: lcs[i][j] = longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: CellMatch[] = new Array(a.length).fill(undefined);
  let i = 0;
  let j = 0;
  let gapA: number[] = [];
  let gapB: number[] = [];
  // Edited cells: within the gap between two unchanged cells, each pairs with the most similar cell of its kind
  // that stands in the gap on the other side (a cell added beside an edited one is not mistaken for it).
  const closeGap = () => {
    const left = [...gapB];
    for (const x of gapA) {
      let best = -1;
      let bestScore = -1;
      left.forEach((y, k) => {
        if (to[y]!.kind !== from[x]!.kind) return;
        const score = similarity(from[x]!.source, to[y]!.source);
        if (score > bestScore) [best, bestScore] = [k, score];
      });
      if (best >= 0) out[x] = { to: left.splice(best, 1)[0]!, edited: true };
    }
    gapA = [];
    gapB = [];
  };
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      closeGap();
      out[i++] = { to: j++, edited: false };
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) gapA.push(i++);
    else gapB.push(j++);
  }
  while (i < a.length) gapA.push(i++);
  while (j < b.length) gapB.push(j++);
  closeGap();
  return out;
}

/** How much of two texts is the same at their start and end, 0–1. */
function similarity(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let p = 0;
  while (p < n && a[p] === b[p]) p++;
  let q = 0;
  while (q < n - p && a[a.length - 1 - q] === b[b.length - 1 - q]) q++;
  return (p + q) / Math.max(1, a.length, b.length);
}

export const STALE_WARNING = 'Stale: the cell was edited while Loupe ran it; this output is from before the edit. Run the cell again.';

/** Marks outputs as older than their cell's text (output metadata, and a warning the renderer and exports show). */
export function markStale(outputs: StoredOutput[]): StoredOutput[] {
  return outputs.map((o) => {
    if ((o.metadata?.loupe as JsonObject | undefined)?.stale === true) return o;
    const metadata: JsonObject = { ...o.metadata, loupe: { ...((o.metadata?.loupe as JsonObject | undefined) ?? {}), stale: true } };
    const items = o.items.map((it) => {
      if (it.mime !== RESULT_MIME || !('json' in it) || typeof it.json !== 'object' || it.json === null || Array.isArray(it.json)) return it;
      const warnings = Array.isArray(it.json.warnings) ? it.json.warnings : [];
      return { ...it, json: { ...it.json, warnings: [...warnings, STALE_WARNING] } };
    });
    return { ...o, items, metadata };
  });
}

export interface MergeReport {
  /** Results written into their cells. */
  written: number;
  /** Cells edited during the run: they keep the outputs they had, marked stale. */
  stale: number;
  /** Cells deleted during the run: their results were dropped. */
  dropped: number;
}

/**
 * The notebook on disk (`disk`) with the run's results: `results` maps a cell index of `ran` (the notebook as it
 * was read when the run started) to its new outputs.
 */
export function mergeResults(ran: StoredNotebook, disk: StoredNotebook, results: ReadonlyMap<number, StoredOutput[]>): { notebook: StoredNotebook; report: MergeReport } {
  const match = alignCells(ran.cells, disk.cells);
  const cells = disk.cells.map((c) => ({ ...c }));
  const report: MergeReport = { written: 0, stale: 0, dropped: 0 };
  for (const [i, outputs] of results) {
    const m = match[i];
    if (!m) report.dropped++;
    else if (m.edited) {
      cells[m.to] = { ...cells[m.to]!, outputs: markStale(cells[m.to]!.outputs) };
      report.stale++;
    } else {
      cells[m.to] = { ...cells[m.to]!, outputs };
      report.written++;
    }
  }
  return { notebook: { ...disk, cells }, report };
}
