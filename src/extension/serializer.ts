// VS Code adapter for the .loupe format: converts between NotebookData and the stored form.
import * as vscode from 'vscode';
import { decodeItem, encodeItem, parseNotebook, serializeNotebook, type JsonObject, type JsonValue, type StoredCell, type StoredNotebook, type StoredOutput } from '../core/notebook/format';

/**
 * Keys of the file this Loupe does not know ride along in VS Code's metadata under this key (notebook, cell and
 * output metadata) and are written back where they were: saving never drops another tool's or a newer Loupe's data.
 */
export const EXTRA_KEY = 'loupe.extra';

export class LoupeSerializer implements vscode.NotebookSerializer {
  deserializeNotebook(content: Uint8Array): vscode.NotebookData {
    // Throwing here makes VS Code refuse to open the file, so it is never saved over. An empty file is a new notebook.
    return toNotebookData(parseNotebook(content, 'This .loupe file', { emptyIsNew: true }));
  }

  serializeNotebook(data: vscode.NotebookData): Uint8Array {
    return serializeNotebook(fromNotebookData(data));
  }
}

export function toNotebookData(nb: StoredNotebook): vscode.NotebookData {
  const cells = nb.cells.map((c) => {
    const cell = new vscode.NotebookCellData(c.kind === 'markdown' ? vscode.NotebookCellKind.Markup : vscode.NotebookCellKind.Code, c.source, c.language);
    cell.metadata = c.extra ? { ...c.metadata, [EXTRA_KEY]: c.extra } : c.metadata;
    cell.outputs = c.outputs.map((o) => {
      const itemExtras = o.items.map((it) => it.extra ?? null);
      const extra = o.extra || itemExtras.some(Boolean) ? { [EXTRA_KEY]: { output: o.extra ?? null, items: itemExtras } } : {};
      const meta = o.metadata || Object.keys(extra).length ? { ...o.metadata, ...extra } : undefined;
      return new vscode.NotebookCellOutput(
        o.items.map((it) => new vscode.NotebookCellOutputItem(decodeItem(it), it.mime)),
        meta,
      );
    });
    return cell;
  });
  const data = new vscode.NotebookData(cells);
  data.metadata = { ...nb.metadata, loupe: nb.loupe, ...(nb.extra ? { [EXTRA_KEY]: nb.extra } : {}) };
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

type WithExtra = JsonObject & { [EXTRA_KEY]?: JsonValue };

/** Splits Loupe's hidden extras off a metadata object. */
function takeExtra(meta: { [key: string]: unknown } | undefined): { metadata: JsonObject; extra: JsonValue | undefined } {
  const { [EXTRA_KEY]: extra, ...metadata } = (meta ?? {}) as WithExtra;
  return { metadata, extra };
}

const asObject = (v: JsonValue | undefined): JsonObject | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? v : undefined);

function stored(meta: { [key: string]: unknown } | undefined, cells: readonly CellLike[]): StoredNotebook {
  const { metadata: all, extra } = takeExtra(meta);
  const { loupe: version, ...metadata } = all as JsonObject & { loupe?: number };
  const nb: StoredNotebook = {
    loupe: typeof version === 'number' ? version : 1,
    metadata,
    cells: cells.map((c): StoredCell => {
      const cm = takeExtra(c.metadata);
      const cell: StoredCell = {
        kind: c.kind === vscode.NotebookCellKind.Markup ? 'markdown' : 'code',
        language: c.languageId,
        source: c.value,
        metadata: cm.metadata,
        outputs: (c.outputs ?? []).map((o) => {
          const om = takeExtra(o.metadata);
          const hidden = asObject(om.extra);
          const itemExtras = Array.isArray(hidden?.items) ? hidden.items : [];
          const out: StoredOutput = {
            items: o.items.map((it, k) => {
              const item = encodeItem(it.mime, it.data);
              const x = asObject(itemExtras[k]);
              return x ? { ...item, extra: x } : item;
            }),
          };
          if (Object.keys(om.metadata).length) out.metadata = om.metadata;
          const ox = asObject(hidden?.output);
          if (ox) out.extra = ox;
          return out;
        }),
      };
      const cx = asObject(cm.extra);
      if (cx) cell.extra = cx;
      return cell;
    }),
  };
  const nx = asObject(extra);
  if (nx) nb.extra = nx;
  return nb;
}
