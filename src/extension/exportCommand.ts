// VS Code edge of `Loupe: Export Session…`: pick a format and a file, then the shared exporters write it.
import * as vscode from 'vscode';
import { describeError } from '../common/errors';
import { NOTEBOOK_TYPE } from '../common/result';
import { defaultExportPath, EXPORT_EXTENSIONS, EXPORT_FORMATS, EXPORT_LABELS, exportNotebook, type ExportFormat } from '../core/export';
import { notebookPath } from './notebooks';
import { fromNotebookDocument } from './serializer';

export function registerExportCommand(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('loupe.exportSession', async (arg?: vscode.Uri | { notebookEditor?: { notebookUri?: vscode.Uri } }, format?: ExportFormat, outPath?: string) => {
      const uri = arg instanceof vscode.Uri ? arg : (arg?.notebookEditor?.notebookUri ?? vscode.window.activeNotebookEditor?.notebook.uri);
      const doc = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri?.toString() && d.notebookType === NOTEBOOK_TYPE);
      if (!doc) {
        vscode.window.showWarningMessage('Loupe: open a .loupe notebook to export it.');
        return;
      }
      if (!format) {
        const pick = await vscode.window.showQuickPick(
          EXPORT_FORMATS.map((f) => ({ label: EXPORT_LABELS[f], format: f })),
          { title: 'Loupe: export session as…' },
        );
        if (!pick) return;
        format = pick.format;
      }
      const nbPath = notebookPath(doc);
      if (!outPath) {
        const suggested = nbPath ? defaultExportPath(nbPath, format) : `notebook${EXPORT_EXTENSIONS[format]}`;
        const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(suggested), title: `Export ${EXPORT_LABELS[format]}` });
        if (!target) return;
        outPath = target.fsPath;
      }
      try {
        const result = await exportNotebook(fromNotebookDocument(doc), format, { notebookPath: nbPath, outPath });
        const open = format === 'html' ? 'Open in Browser' : 'Open';
        const choice = await vscode.window.showInformationMessage(`Loupe: exported ${result.files.length} file${result.files.length === 1 ? '' : 's'} to ${vscode.workspace.asRelativePath(result.path)}.`, open);
        if (choice) {
          if (format === 'html') await vscode.env.openExternal(vscode.Uri.file(result.path));
          else await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(result.path));
        }
      } catch (e) {
        vscode.window.showErrorMessage(`Loupe: export failed: ${describeError(e).message}`);
      }
    }),
  );
}
