// A .loupe file changed on disk under an open notebook that holds unsaved results (another editor, git, the CLI):
// the same rule as the CLI's. When the only unsaved changes are Loupe's outputs, the results are merged into the
// file as it is now (core/notebook/merge.ts: the disk's edits kept, edited cells marked stale), the file is written
// and the editor reloads it. With unsaved edits of the user's own, nothing is merged: VS Code asks on save.
import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { describeError } from '../common/errors';
import { NOTEBOOK_TYPE } from '../common/result';
import type { Kernel } from '../core/kernel/kernel';
import { parseNotebook, serializeNotebook, type StoredNotebook, type StoredOutput } from '../core/notebook/format';
import { mergeResults } from '../core/notebook/merge';
import { writeNotebookFile } from '../core/notebook/write';
import { notebookPath } from './notebooks';
import { fromNotebookDocument } from './serializer';

/** Looks at the file, and the time between them, before it counts as changed by someone else. */
const LOOKS = 3;
const SETTLE_MS = 700;

const sameSources = (a: StoredNotebook, b: StoredNotebook) => a.cells.length === b.cells.length && a.cells.every((c, i) => c.kind === b.cells[i]!.kind && c.source === b.cells[i]!.source);
const outputsKey = (o: StoredOutput[]) => JSON.stringify(o);

export function registerDiskChanges(context: vscode.ExtensionContext, kernel: Kernel, log: vscode.LogOutputChannel): void {
  // What each open notebook was when last loaded or saved: its unsaved changes are the difference, and a file on
  // disk with exactly that content is the editor's own save (VS Code saves after executions), not someone else's.
  const base = new Map<string, { notebook: StoredNotebook; bytes: Buffer }>();
  const remember = (nb: vscode.NotebookDocument) => {
    if (nb.notebookType !== NOTEBOOK_TYPE || !notebookPath(nb)) return;
    const notebook = fromNotebookDocument(nb);
    base.set(nb.uri.toString(), { notebook, bytes: Buffer.from(serializeNotebook(notebook)) });
  };
  vscode.workspace.notebookDocuments.forEach(remember);
  const busy = new Set<string>();

  const onDiskChange = async (uri: vscode.Uri) => {
    const nb = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri.toString() && d.notebookType === NOTEBOOK_TYPE);
    const path = nb && notebookPath(nb);
    if (!nb || !path || busy.has(path)) return;
    busy.add(path);
    let again = false;
    try {
      // Results still coming: merge once the notebook's cells have finished. A notebook with nothing unsaved then
      // is VS Code's to reload.
      await kernel.whenIdle(nb.uri.toString());
      // The save VS Code makes when an execution ends can land a moment after it (and its save event later still):
      // the file counts as changed elsewhere only if it still differs after a few looks.
      let disk: StoredNotebook | undefined;
      let diskBytes: Buffer | undefined;
      for (let look = 0; look < LOOKS; look++) {
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        if (!nb.isDirty) return;
        const bytes = await readFile(path);
        diskBytes = bytes;
        try {
          disk = parseNotebook(bytes, path);
        } catch (e) {
          if (look < LOOKS - 1) continue;
          vscode.window.showWarningMessage(`Loupe: ${path} changed on disk and cannot be read as a notebook now (${describeError(e).message.split('\n')[0]}). This notebook's results are unsaved: use Save As to keep them.`);
          return;
        }
        // The editor's own last save, or what it holds now: nothing came from elsewhere.
        const canonical = Buffer.from(serializeNotebook(disk));
        if (base.get(uri.toString())?.bytes.equals(canonical) || canonical.equals(Buffer.from(serializeNotebook(fromNotebookDocument(nb))))) return;
      }
      const before = base.get(uri.toString())?.notebook;
      const ours = fromNotebookDocument(nb);
      if (!disk) return;
      if (!before || !sameSources(before, ours)) {
        log.info(`${path} changed on disk under unsaved edits: not merged`);
        vscode.window.showWarningMessage(`Loupe: ${path} changed on disk while this notebook had unsaved edits of yours. Nothing was merged: VS Code asks what to keep when you save.`);
        return;
      }
      const results = new Map<number, StoredOutput[]>();
      ours.cells.forEach((c, i) => {
        if (c.kind === 'code' && outputsKey(c.outputs) !== outputsKey(before.cells[i]!.outputs)) results.set(i, c.outputs);
      });
      const { notebook, report } = mergeResults(ours, disk, results);
      if (!(await writeNotebookFile(path, serializeNotebook(notebook), { unchangedFrom: diskBytes }))) {
        // Saved again by someone else while we merged: merge into that version instead (the watcher fires again).
        log.info(`${path} changed again while merging: merging into the newer file`);
        again = true;
        return;
      }
      // The editor takes the merged file from disk: no unsaved state is left to conflict with it.
      await vscode.commands.executeCommand('workbench.action.files.revert', nb.uri);
      remember(nb);
      const stale = report.stale ? `; ${report.stale} cell${report.stale === 1 ? ' you edited keeps its' : 's you edited keep their'} earlier output, marked stale` : '';
      log.info(`${path} changed on disk: merged ${report.written} result(s) into it${stale}${report.dropped ? `; ${report.dropped} for deleted cells dropped` : ''}`);
      vscode.window.setStatusBarMessage(`Loupe: merged this notebook's results into ${vscode.workspace.asRelativePath(path)} as changed on disk${stale}`, 8000);
    } catch (e) {
      vscode.window.showErrorMessage(`Loupe: could not merge results into ${path}: ${describeError(e).message}`);
    } finally {
      busy.delete(path);
      if (again) void onDiskChange(uri);
    }
  };

  const watcher = vscode.workspace.createFileSystemWatcher('**/*.loupe');
  context.subscriptions.push(
    watcher,
    // Editors and tools that save atomically replace the file: that arrives as a create, not a change.
    watcher.onDidChange((uri) => void onDiskChange(uri)),
    watcher.onDidCreate((uri) => void onDiskChange(uri)),
    vscode.workspace.onDidOpenNotebookDocument(remember),
    vscode.workspace.onDidSaveNotebookDocument(remember),
    vscode.workspace.onDidCloseNotebookDocument((nb) => base.delete(nb.uri.toString())),
  );
}
