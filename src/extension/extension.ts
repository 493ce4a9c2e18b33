// Extension entry point: wires VS Code to Loupe's plain-TypeScript core. Keep activation light.
import * as vscode from 'vscode';
import { NOTEBOOK_TYPE } from '../common/result';
import { EngineService } from './engineService';
import { DEFAULTS } from '../common/defaults';
import { loadSharp } from '../images/sharp';
import { createController } from './controller';
import { Kernel } from '../core/kernel/kernel';
import { registerDiskChanges } from './diskChanges';
import { registerExportCommand } from './exportCommand';
import { registerImageCommands } from './imageCommands';
import { registerRendererBridge } from './rendererBridge';
import { LoupeSerializer } from './serializer';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.workspace.registerNotebookSerializer(NOTEBOOK_TYPE, new LoupeSerializer(), { transientOutputs: false }),
  );

  const log = vscode.window.createOutputChannel('Loupe', { log: true });
  const engine = new EngineService(context, log);
  context.subscriptions.push(log, engine);
  const kernel = new Kernel({
    isTrusted: () => vscode.workspace.isTrusted,
    maxImagePixels: () => vscode.workspace.getConfiguration('loupe').get<number>('maxImagePixels', DEFAULTS.maxImagePixels),
    prompts: engine.runner,
    video: () => engine.videoSettings(),
  });
  context.subscriptions.push(createController(kernel, log));
  registerDiskChanges(context, kernel, log);
  registerImageCommands(context);
  registerExportCommand(context);
  registerRendererBridge(context, log);

  // Loading sharp's native library blocks the extension host for a moment: do it when a Loupe notebook
  // opens, not while its first cell runs.
  const warm = (nb: vscode.NotebookDocument) => {
    if (nb.notebookType === NOTEBOOK_TYPE) setTimeout(() => void loadSharp().catch(() => undefined), 500);
  };
  vscode.workspace.notebookDocuments.forEach(warm);
  context.subscriptions.push(vscode.workspace.onDidOpenNotebookDocument(warm));

  context.subscriptions.push(
    vscode.commands.registerCommand('loupe.newNotebook', async () => {
      const cells = [
        new vscode.NotebookCellData(vscode.NotebookCellKind.Markup, '# New Loupe notebook\n\nAdd `@image path/to/picture.png` lines to a cell and run it.', 'markdown'),
        new vscode.NotebookCellData(vscode.NotebookCellKind.Code, '@image ', 'loupe'),
      ];
      const doc = await vscode.workspace.openNotebookDocument(NOTEBOOK_TYPE, new vscode.NotebookData(cells));
      await vscode.window.showNotebookDocument(doc);
    }),
    vscode.commands.registerCommand('loupe.openTour', async () => {
      // A copy in global storage: the tour writes outputs, and the installed extension folder is read-only.
      const target = vscode.Uri.joinPath(context.globalStorageUri, 'tour');
      await vscode.workspace.fs.copy(vscode.Uri.joinPath(context.extensionUri, 'examples'), target, { overwrite: true });
      const doc = await vscode.workspace.openNotebookDocument(vscode.Uri.joinPath(target, 'tour.loupe'));
      await vscode.window.showNotebookDocument(doc);
    }),
  );
}

export function deactivate(): void {}
