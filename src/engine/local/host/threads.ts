import { availableParallelism } from 'node:os';

/**
 * CPU threads for onnxruntime: one core is left to the editor, which must stay responsive while a cell generates
 * (onnxruntime's default takes every core). LOUPE_INTRA_OP_THREADS overrides.
 */
export function intraOpThreads(cores = availableParallelism(), env = process.env.LOUPE_INTRA_OP_THREADS): number {
  const forced = Number(env);
  if (Number.isInteger(forced) && forced > 0) return forced;
  return Math.max(1, cores - 1);
}
