// VS Code edge for messages from the renderer: draw-to-ask inserts a prompt cell, copy writes the clipboard.
import * as vscode from 'vscode';
import { describeError } from '../common/errors';
import { RENDERER_ID } from '../common/result';
import { parseRendererMessage } from '../common/renderer-messages';
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
