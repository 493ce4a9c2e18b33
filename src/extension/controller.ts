// VS Code adapter for the kernel: the NotebookController `loupe.local`.
import * as vscode from 'vscode';
import { CONTROLLER_ID, NOTEBOOK_TYPE } from '../common/result';
import { EventLoopProbe, formatFigures } from '../core/kernel/eventLoop';
import { Kernel } from '../core/kernel/kernel';
import type { OutputSpec } from '../core/kernel/outputs';
import { notebookDir } from './notebooks';

export function toCellOutput(o: OutputSpec): vscode.NotebookCellOutput {
  return new vscode.NotebookCellOutput(
    o.items.map((it) => new vscode.NotebookCellOutputItem(it.data, it.mime)),
    o.metadata,
  );
}

export function createController(kernel: Kernel, log?: vscode.LogOutputChannel): vscode.NotebookController {
  const controller = vscode.notebooks.createNotebookController(CONTROLLER_ID, NOTEBOOK_TYPE, 'Loupe (local model)');
  controller.supportedLanguages = ['loupe'];
  controller.supportsExecutionOrder = true;
  controller.description = 'Runs prompt cells on a local multimodal model';

  controller.executeHandler = (cells, notebook) =>
    kernel.execute(
      cells
        .filter((c) => c.kind === vscode.NotebookCellKind.Code)
        .map((cell) => ({
          notebook: notebook.uri.toString(),
          baseDir: notebookDir(notebook),
          ...(notebook.uri.scheme === 'file' ? { notebookPath: notebook.uri.fsPath } : {}),
          source: cell.document.getText(),
          language: cell.document.languageId,
          createExecution: () => {
            const exec = controller.createNotebookCellExecution(cell);
            const abort = new AbortController();
            exec.token.onCancellationRequested(() => abort.abort());
            // The extension host must never stall while a model generates: measure that phase (the whole cell for
            // image cells), and log the worst delay.
            const whole = new EventLoopProbe();
            const generation = new EventLoopProbe();
            return {
              signal: abort.signal,
              start(order: number) {
                exec.executionOrder = order;
                exec.start(Date.now());
                whole.start();
              },
              replaceOutputs: (outputs: OutputSpec[]) => Promise.resolve(exec.replaceOutput(outputs.map(toCellOutput))),
              generating(on: boolean) {
                if (on) {
                  // Only the generation figures are logged for a prompt cell: one probe at a time.
                  whole.stop();
                  generation.start();
                } else generation.stop();
              },
              end(success: boolean | undefined) {
                exec.end(success, Date.now());
                const cellFigures = whole.stop();
                const genFigures = generation.stop();
                const [figures, phase] = genFigures ? [genFigures, 'generation'] : [cellFigures, 'cell'];
                if (figures) log?.info(`cell ${cell.index + 1}: extension host event loop ${formatFigures(figures)} phase=${phase}`);
              },
            };
          },
        })),
    );
  controller.interruptHandler = (notebook) => kernel.interrupt(notebook.uri.toString());
  // Loupe notebooks open with this kernel selected: no kernel picker before the first run.
  const prefer = (nb: vscode.NotebookDocument) => {
    if (nb.notebookType === NOTEBOOK_TYPE) controller.updateNotebookAffinity(nb, vscode.NotebookControllerAffinity.Preferred);
  };
  vscode.workspace.notebookDocuments.forEach(prefer);
  const sub = vscode.workspace.onDidOpenNotebookDocument(prefer);
  const dispose = controller.dispose.bind(controller);
  controller.dispose = () => {
    sub.dispose();
    dispose();
  };
  return controller;
}
