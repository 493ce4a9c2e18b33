// VS Code edge for bringing images in: Ask About Image, paste and drop into `loupe` cells.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { CONTROLLER_ID, NOTEBOOK_TYPE } from '../common/result';
import { askAboutImage, type AskPort } from '../core/notebook/askAboutImage';
import { notebookDir } from './notebooks';
import { dropText, extensionForMime, IMAGE_EXTENSIONS, isImagePath, uniqueAssetName } from '../core/notebook/imageCells';

function activeLoupeEditor(): vscode.NotebookEditor | undefined {
  const e = vscode.window.activeNotebookEditor;
  return e?.notebook.notebookType === NOTEBOOK_TYPE ? e : undefined;
}

const port: AskPort = {
  activeNotebook() {
    const e = activeLoupeEditor();
    return e ? { dir: notebookDir(e.notebook), cellCount: e.notebook.cellCount } : undefined;
  },
  async appendCells(sources) {
    const nb = activeLoupeEditor()!.notebook;
    const edit = new vscode.WorkspaceEdit();
    edit.set(nb.uri, [vscode.NotebookEdit.insertCells(nb.cellCount, sources.map((s) => new vscode.NotebookCellData(vscode.NotebookCellKind.Code, s, 'loupe')))]);
    await vscode.workspace.applyEdit(edit);
  },
  async openNewNotebook(sources) {
    const doc = await vscode.workspace.openNotebookDocument(NOTEBOOK_TYPE, new vscode.NotebookData(sources.map((s) => new vscode.NotebookCellData(vscode.NotebookCellKind.Code, s, 'loupe'))));
    await vscode.window.showNotebookDocument(doc);
  },
  async focusCell(index, line) {
    const editor = activeLoupeEditor();
    if (!editor) return;
    await selectKernel(editor);
    editor.selections = [new vscode.NotebookRange(index, index + 1)];
    editor.revealRange(new vscode.NotebookRange(index, index + 1));
    await vscode.commands.executeCommand('notebook.cell.edit');
    const text = vscode.window.activeTextEditor;
    if (text && text.document.uri.toString() === editor.notebook.cellAt(index).document.uri.toString()) {
      const pos = new vscode.Position(line, 0);
      text.selection = new vscode.Selection(pos, pos);
    }
  },
  async runCell(index) {
    const editor = activeLoupeEditor();
    if (!editor) return;
    await selectKernel(editor);
    await vscode.commands.executeCommand('notebook.cell.execute', { ranges: [{ start: index, end: index + 1 }], document: editor.notebook.uri });
  },
};

export async function selectKernel(editor: vscode.NotebookEditor): Promise<void> {
  await vscode.commands.executeCommand('notebook.selectKernel', { notebookEditor: editor, id: CONTROLLER_ID, extension: 'loupe.loupe' }).then(undefined, () => undefined);
}


export function registerImageCommands(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('loupe.askAboutImage', async (uri?: vscode.Uri, uris?: vscode.Uri[]) => {
      let files = (uris?.length ? uris : uri ? [uri] : []).filter((u) => u.scheme === 'file' && isImagePath(u.fsPath)).map((u) => u.fsPath);
      let question: string | undefined;
      if (files.length === 0) {
        // From the palette: the image open in the active editor, and a question for it.
        const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
        if (input instanceof vscode.TabInputCustom && input.viewType === 'imagePreview.previewEditor' && input.uri.scheme === 'file') {
          files = [input.uri.fsPath];
          question = await vscode.window.showInputBox({ title: 'Ask about this image', prompt: `Question about ${vscode.workspace.asRelativePath(input.uri)}`, placeHolder: 'What is in this image?' });
          if (question === undefined) return;
        } else {
          const picked = await vscode.window.showOpenDialog({ canSelectMany: true, filters: { Images: [...IMAGE_EXTENSIONS] }, title: 'Ask About Image' });
          files = (picked ?? []).map((u) => u.fsPath);
        }
      }
      await askAboutImage(port, files, question || undefined);
    }),
    vscode.languages.registerDocumentPasteEditProvider({ language: 'loupe' }, new PasteProvider(), {
      providedPasteEditKinds: [PASTE_KIND],
      pasteMimeTypes: ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/bmp', 'image/tiff'],
    }),
    vscode.languages.registerDocumentDropEditProvider({ language: 'loupe' }, new DropProvider(), { providedDropEditKinds: [DROP_KIND], dropMimeTypes: ['text/uri-list'] }),
  );
}

const PASTE_KIND = vscode.DocumentDropOrPasteEditKind.Empty.append('loupe', 'image');
const DROP_KIND = vscode.DocumentDropOrPasteEditKind.Empty.append('loupe', 'imagePath');

function notebookOfCell(doc: vscode.TextDocument): vscode.NotebookDocument | undefined {
  return vscode.workspace.notebookDocuments.find((nb) => nb.getCells().some((c) => c.document === doc));
}

class PasteProvider implements vscode.DocumentPasteEditProvider {
  async provideDocumentPasteEdits(doc: vscode.TextDocument, ranges: readonly vscode.Range[], data: vscode.DataTransfer, _ctx: vscode.DocumentPasteEditContext, token: vscode.CancellationToken): Promise<vscode.DocumentPasteEdit[] | undefined> {
    let item: vscode.DataTransferItem | undefined;
    let ext: string | undefined;
    data.forEach((it, mime) => {
      if (!item && extensionForMime(mime)) {
        item = it;
        ext = extensionForMime(mime);
      }
    });
    const file = item?.asFile();
    if (!file || !ext) return undefined;
    const nb = notebookOfCell(doc);
    const dir = nb && notebookDir(nb);
    if (!dir) {
      const save = await vscode.window.showInformationMessage('Save the notebook first: Loupe stores pasted images in an assets/ folder next to it.', 'Save As…');
      if (save) await vscode.commands.executeCommand('workbench.action.files.saveAs');
      return undefined;
    }
    const bytes = await file.data();
    if (token.isCancellationRequested) return undefined;
    const assets = join(dir, 'assets');
    await mkdir(assets, { recursive: true });
    const name = uniqueAssetName((n) => existsSync(join(assets, n)), ext, new Date());
    await writeFile(join(assets, name), bytes, { flag: 'wx' });
    const atLineStart = ranges[0] ? doc.lineAt(ranges[0].start.line).text.slice(0, ranges[0].start.character).trim() === '' : true;
    const edit = new vscode.DocumentPasteEdit(`${atLineStart ? '' : '\n'}@image assets/${name}\n`, `Insert @image assets/${name}`, PASTE_KIND);
    return [edit];
  }
}

class DropProvider implements vscode.DocumentDropEditProvider {
  async provideDocumentDropEdits(doc: vscode.TextDocument, position: vscode.Position, data: vscode.DataTransfer): Promise<vscode.DocumentDropEdit | undefined> {
    const list = await data.get('text/uri-list')?.asString();
    if (!list) return undefined;
    const files = list
      .split(/\r?\n/)
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => vscode.Uri.parse(l.trim()))
      .filter((u) => u.scheme === 'file')
      .map((u) => u.fsPath);
    const nb = notebookOfCell(doc);
    const text = dropText(files, nb && notebookDir(nb), doc.lineAt(position.line).text.slice(0, position.character).trim() === '');
    if (!text) return undefined;
    const edit = new vscode.DocumentDropEdit(text, 'Insert @image lines', DROP_KIND);
    return edit;
  }
}
