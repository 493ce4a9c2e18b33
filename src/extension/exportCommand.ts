// VS Code edge of `Loupe: Export Session…`: pick a format and a file, then the shared exporters write it.
import * as vscode from 'vscode';
import { describeError } from '../common/errors';
import { NOTEBOOK_TYPE } from '../common/result';
import { defaultExportPath, EXPORT_EXTENSIONS, EXPORT_FORMATS, EXPORT_LABELS, exportNotebook, type ExportFormat } from '../core/export';
import { ANNOTATION_FORMATS, defaultAnnotationDir, exportAnnotations, hasBatches, isAnnotationFormat, type AnnotationFormat } from '../core/export/annotations';
import { notebookPath } from './notebooks';
import { fromNotebookDocument } from './serializer';

const ANNOTATION_LABELS: Record<AnnotationFormat, string> = {
  coco: 'COCO annotations (JSON)',
  yolo: 'YOLO labels (a folder of .txt)',
  labelstudio: 'Label Studio predictions (JSON)',
  csv: 'CSV and JSONL of answers',
};

export function registerExportCommand(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('loupe.exportSession', async (arg?: vscode.Uri | { notebookEditor?: { notebookUri?: vscode.Uri } }, format?: ExportFormat | AnnotationFormat, outPath?: string) => {
      const uri = arg instanceof vscode.Uri ? arg : (arg?.notebookEditor?.notebookUri ?? vscode.window.activeNotebookEditor?.notebook.uri);
      const doc = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === uri?.toString() && d.notebookType === NOTEBOOK_TYPE);
      if (!doc) {
        vscode.window.showWarningMessage('Loupe: open a .loupe notebook to export it.');
        return;
      }
      if (!format) {
        // Annotation formats are offered when the notebook has a batch (`@images`) that ran.
        const annotations = hasBatches(fromNotebookDocument(doc)) ? ANNOTATION_FORMATS.map((f) => ({ label: ANNOTATION_LABELS[f], description: 'batch cells, to a folder', format: f as ExportFormat | AnnotationFormat })) : [];
        const pick = await vscode.window.showQuickPick(
          [...EXPORT_FORMATS.map((f) => ({ label: EXPORT_LABELS[f], format: f as ExportFormat | AnnotationFormat })), ...annotations],
          { title: 'Loupe: export session as…' },
        );
        if (!pick) return;
        format = pick.format;
      }
      const nbPath = notebookPath(doc);
      if (isAnnotationFormat(format)) return exportBatch(doc, format, nbPath, outPath);
      const fmt = format as ExportFormat;
      if (!outPath) {
        const suggested = nbPath ? defaultExportPath(nbPath, fmt) : `notebook${EXPORT_EXTENSIONS[fmt]}`;
        const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(suggested), title: `Export ${EXPORT_LABELS[fmt]}` });
        if (!target) return;
        outPath = target.fsPath;
      }
      try {
        const result = await exportNotebook(fromNotebookDocument(doc), fmt, { notebookPath: nbPath, outPath });
        const open = fmt === 'html' ? 'Open in Browser' : 'Open';
        const choice = await vscode.window.showInformationMessage(`Loupe: exported ${result.files.length} file${result.files.length === 1 ? '' : 's'} to ${vscode.workspace.asRelativePath(result.path)}.`, open);
        if (choice) {
          if (fmt === 'html') await vscode.env.openExternal(vscode.Uri.file(result.path));
          else await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(result.path));
        }
      } catch (e) {
        vscode.window.showErrorMessage(`Loupe: export failed: ${describeError(e).message}`);
      }
    }),
  );
}

/** Annotations of the batch cells, into a folder the user names (created): COCO, YOLO, Label Studio or CSV. */
async function exportBatch(doc: vscode.NotebookDocument, format: AnnotationFormat, nbPath: string | undefined, outDir: string | undefined): Promise<void> {
  if (!nbPath) {
    vscode.window.showWarningMessage('Loupe: save the notebook first: batch results are read from next to it.');
    return;
  }
  if (!outDir) {
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(defaultAnnotationDir(nbPath, format)), title: `Export ${ANNOTATION_LABELS[format]} into a folder`, saveLabel: 'Export here' });
    if (!target) return;
    outDir = target.fsPath;
  }
  try {
    const r = await exportAnnotations(fromNotebookDocument(doc), format, { notebookPath: nbPath, outDir });
    const choice = await vscode.window.showInformationMessage(`Loupe: wrote ${r.files.length} file${r.files.length === 1 ? '' : 's'} for ${r.batches} batch${r.batches === 1 ? '' : 'es'} to ${vscode.workspace.asRelativePath(outDir)}.`, 'Reveal');
    if (choice && r.files[0]) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(r.files[0]));
  } catch (e) {
    vscode.window.showErrorMessage(`Loupe: export failed: ${describeError(e).message}`);
  }
}
