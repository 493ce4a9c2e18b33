// VS Code adapter for the .loupe format: converts between NotebookData and the stored form.
import * as vscode from 'vscode';
import { decodeItem, encodeItem, parseNotebook, serializeNotebook, type JsonObject, type StoredCell, type StoredNotebook } from '../core/notebook/format';

export class LoupeSerializer implements vscode.NotebookSerializer {
  deserializeNotebook(content: Uint8Array): vscode.NotebookData {
    // Throwing here makes VS Code refuse to open the file, so it is never saved over.
    return toNotebookData(parseNotebook(content, 'This .loupe file'));
  }

  serializeNotebook(data: vscode.NotebookData): Uint8Array {
    return serializeNotebook(fromNotebookData(data));
  }
}

export function toNotebookData(nb: StoredNotebook): vscode.NotebookData {
  const cells = nb.cells.map((c) => {
    const cell = new vscode.NotebookCellData(c.kind === 'markdown' ? vscode.NotebookCellKind.Markup : vscode.NotebookCellKind.Code, c.source, c.language);
    cell.metadata = c.metadata;
    cell.outputs = c.outputs.map((o) => {
      const out = new vscode.NotebookCellOutput(
        o.items.map((it) => new vscode.NotebookCellOutputItem(decodeItem(it), it.mime)),
        o.metadata,
      );
      return out;
    });
    return cell;
  });
  const data = new vscode.NotebookData(cells);
  data.metadata = { ...nb.metadata, loupe: nb.loupe };
  return data;
}

interface CellLike {
  kind: vscode.NotebookCellKind;
  languageId: string;
  value: string;
  metadata?: { [key: string]: unknown };
  outputs?: readonly vscode.NotebookCellOutput[];
}

export function fromNotebookData(data: vscode.NotebookData): StoredNotebook {
  return stored(data.metadata, data.cells);
}

/** The stored form of an open notebook, outputs included (for exports). */
export function fromNotebookDocument(doc: vscode.NotebookDocument): StoredNotebook {
  return stored(
    doc.metadata,
    doc.getCells().map((c) => ({ kind: c.kind, languageId: c.document.languageId, value: c.document.getText(), metadata: c.metadata, outputs: c.outputs })),
  );
}

function stored(meta: { [key: string]: unknown } | undefined, cells: readonly CellLike[]): StoredNotebook {
  const { loupe: version, ...metadata } = (meta ?? {}) as JsonObject & { loupe?: number };
  return {
    loupe: typeof version === 'number' ? version : 1,
    metadata: metadata as JsonObject,
    cells: cells.map(
      (c): StoredCell => ({
        kind: c.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'code',
        language: c.languageId,
        source: c.value,
        metadata: (c.metadata ?? {}) as JsonObject,
        outputs: (c.outputs ?? []).map((o) => {
          const out: StoredCell['outputs'][number] = { items: o.items.map((it) => encodeItem(it.mime, it.data)) };
          if (o.metadata && Object.keys(o.metadata).length) out.metadata = o.metadata as JsonObject;
          return out;
        }),
      }),
    ),
  };
}
