// Checks both of the model host's load paths make before onnxruntime sees a model: main.ts (transformers.js) and
// direct.ts (detectors on onnxruntime-node), which main.ts imports and so cannot import from.
import { existsSync } from 'node:fs';
import { LoupeError } from '../../../common/errors';
import type { Device } from '../../types';
import { describeProblems, readLfsPointer, verifyModelDir } from '../download/verify';

export type Provider = Exclude<Device, 'auto'>;

/** An error's first line, bounded: what a fallback list or a log line shows. */
export function messageOf(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 500);
}

/** Finds truncated files and Git LFS pointers before onnxruntime sees them. */
export async function checkFolder(folder: string): Promise<void> {
  const problems = await verifyModelDir(folder);
  if (problems.length) throw new LoupeError('corrupt-model', `${describeProblems(problems)} Download the model again (Loupe: Manage Models).`);
}

/** The ONNX files of the dtype a provider would load (they differ between GPU and CPU preferences). */
export async function checkFiles(folder: string, files: string[]): Promise<void> {
  for (const f of files) {
    if (!existsSync(f)) throw new LoupeError('unsupported-model', `The model folder has no ${f.slice(folder.length + 1)}: this dtype is not shipped by this model, or the folder is incomplete.`);
    if (await readLfsPointer(f)) throw new LoupeError('corrupt-model', `${f} is a Git LFS pointer, not the model file: download the real file (git lfs pull, or let Loupe download the model).`);
  }
}
