// VS Code edge for messages from the renderer: draw-to-ask inserts a prompt cell, copy writes the clipboard, the
// batch table's pager gets rows from the sidecar.
import * as vscode from 'vscode';
import { describeError } from '../common/errors';
import { RENDERER_ID } from '../common/result';
import { DEFAULTS } from '../common/defaults';
import { parseRendererMessage, type BatchPageResult } from '../common/renderer-messages';
import { readPage } from '../core/batch/page';
import { applyDrawToAsk, type NotebookEditPort } from '../core/notebook/drawToAsk';
import { selectKernel } from './imageCommands';
import { notebookDir } from './notebooks';

export function registerRendererBridge(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  const messaging = vscode.notebooks.createRendererMessaging(RENDERER_ID);
  context.subscriptions.push(
    messaging.onDidReceiveMessage(async ({ editor, message }) => {
      const msg = parseRendererMessage(message);
      if (!msg) return log.warn(`ignored a malformed renderer message: ${JSON.stringify(message).slice(0, 200)}`);
      if (msg.type === 'copy') {
        await vscode.env.clipboard.writeText(msg.text);
        vscode.window.setStatusBarMessage(`Loupe: copied ${msg.text}`, 3000);
        return;
      }
      const nb = editor.notebook;
      if (msg.type === 'batchPage') {
        // Rows of a batch beyond those in the output, read from its sidecar next to the notebook.
        const dir = notebookDir(nb);
        let reply: BatchPageResult;
        try {
          if (!dir) throw new Error('the notebook is not saved');
          const max = vscode.workspace.getConfiguration('loupe').get<number>('maxImagePixels', DEFAULTS.maxImagePixels);
          const page = await readPage(dir, { sidecar: msg.sidecar, offset: msg.offset, limit: msg.limit, maxImagePixels: max, ...(msg.truth ? { truth: msg.truth } : {}) });
          reply = { type: 'batchPageResult', requestId: msg.requestId, rows: page.rows };
        } catch (e) {
          reply = { type: 'batchPageResult', requestId: msg.requestId, rows: [], error: describeError(e).message };
        }
        await messaging.postMessage(reply, editor);
        return;
      }
      // Output ids exist at run time though the stable typings omit them; they are the renderer's item ids.
      const outputId = (o: vscode.NotebookCellOutput) => (o as vscode.NotebookCellOutput & { id?: string }).id ?? '';
      const cells = nb.getCells().map((c) => ({ source: c.document.getText(), outputIds: c.outputs.map(outputId) }));
      const port: NotebookEditPort = {
        async insertCodeCell(index, source) {
          const edit = new vscode.WorkspaceEdit();
          edit.set(nb.uri, [vscode.NotebookEdit.insertCells(index, [new vscode.NotebookCellData(vscode.NotebookCellKind.Code, source, 'loupe')])]);
          await vscode.workspace.applyEdit(edit);
        },
        selectKernel: () => selectKernel(editor),
        focusCell(index, line) {
          editor.selections = [new vscode.NotebookRange(index, index + 1)];
          editor.revealRange(new vscode.NotebookRange(index, index + 1), vscode.NotebookEditorRevealType.InCenterIfOutsideViewport);
          void vscode.commands.executeCommand('notebook.cell.edit').then(() => {
            const text = vscode.window.activeTextEditor;
            if (text && text.document.uri.toString() === nb.cellAt(index).document.uri.toString()) {
              const pos = new vscode.Position(line, 0);
              text.selection = new vscode.Selection(pos, pos);
            }
          });
        },
      };
      try {
        await applyDrawToAsk(port, cells, msg, notebookDir(nb));
      } catch (e) {
        vscode.window.showErrorMessage(`Loupe: could not add the cell: ${describeError(e).message}`);
      }
    }),
  );
}
