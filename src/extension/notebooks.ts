// Where a notebook lives on disk, for every adapter that resolves paths against it.
import { dirname } from 'node:path';
import type * as vscode from 'vscode';

/** The notebook's file, or undefined while it is untitled (or not on disk). */
export function notebookPath(nb: vscode.NotebookDocument): string | undefined {
  return nb.uri.scheme === 'file' ? nb.uri.fsPath : undefined;
}

/** The folder relative paths in the notebook are resolved against; undefined while it is untitled. */
export function notebookDir(nb: vscode.NotebookDocument): string | undefined {
  const p = notebookPath(nb);
  return p === undefined ? undefined : dirname(p);
}
