// Jupyter notebook, nbformat 4.5: Markdown cells as markdown, prompt cells as code cells whose outputs are
// `display_data` with image/png (base64), text/plain and Loupe's own JSON result kept as JSON; errors as `error`.
import { RESULT_MIME, type LoupeResult } from '../../common/result';
import { isJsonMime, isTextMime, type JsonValue, type StoredNotebook } from '../notebook/format';
import { cellViews, runHeading, runText, type ExportFile, type ExportOptions, type OutputView } from './common';

type MultilineString = string | string[];

export interface IpynbOutput {
  output_type: 'display_data' | 'error';
  data?: Record<string, MultilineString | JsonValue>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

export interface IpynbCell {
  id: string;
  cell_type: 'markdown' | 'code';
  metadata: Record<string, unknown>;
  source: MultilineString;
  outputs?: IpynbOutput[];
  execution_count?: number | null;
}

export interface Ipynb {
  nbformat: 4;
  nbformat_minor: 5;
  metadata: Record<string, unknown>;
  cells: IpynbCell[];
}

/** Lines with their newline kept, as Jupyter writes `source` and text outputs. */
export function toLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === '' ? [] : lines;
}

export function toIpynb(nb: StoredNotebook): Ipynb {
  let count = 0;
  const cells = cellViews(nb).map((v): IpynbCell => {
    const id = `loupe-cell-${v.index}`;
    if (v.cell.kind === 'markdown') return { id, cell_type: 'markdown', metadata: {}, source: toLines(v.cell.source) };
    const ran = v.outputs.length > 0;
    return {
      id,
      cell_type: 'code',
      metadata: { loupe: { language: v.cell.language, ...(Object.keys(v.cell.metadata).length ? { metadata: v.cell.metadata } : {}) } },
      source: toLines(v.cell.source),
      outputs: v.outputs.map(toOutput),
      execution_count: ran ? ++count : null,
    };
  });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'loupe', display_name: 'Loupe (local model)', language: 'loupe' },
      language_info: { name: 'loupe', file_extension: '.loupe', mimetype: 'text/x-loupe' },
      ...(Object.keys(nb.metadata).length ? { loupe: nb.metadata } : {}),
    },
    cells,
  };
}

/** Jupyter's plain-text view of a result: each run's answer (or error) under its heading (model, images). */
function runsText(r: LoupeResult): string {
  return r.runs
    .map((run) => {
      const t = runText(run);
      if (!t) return '';
      const head = runHeading(r, run);
      return `${head ? `${head}:\n` : ''}${t.error ? 'Error: ' : ''}${t.text}`;
    })
    .filter(Boolean)
    .join('\n\n');
}

function toOutput(o: OutputView): IpynbOutput {
  switch (o.type) {
    case 'error':
      return { output_type: 'error', ename: o.error.name, evalue: o.error.message, traceback: o.error.message.split('\n') };
    case 'result': {
      const data: Record<string, MultilineString | JsonValue> = {};
      if (o.png) data[o.pngMime ?? 'image/png'] = Buffer.from(o.png).toString('base64');
      data['text/plain'] = toLines(o.text ?? runsText(o.result));
      data[RESULT_MIME] = o.result as unknown as JsonValue;
      return { output_type: 'display_data', data, metadata: (o.metadata as Record<string, unknown>) ?? {} };
    }
    case 'other': {
      const data: Record<string, MultilineString | JsonValue> = {};
      for (const it of o.items) {
        const text = new TextDecoder().decode(it.data);
        if (/^application\/(.*\+)?json$/.test(it.mime)) {
          try {
            data[it.mime] = JSON.parse(text) as JsonValue;
            continue;
          } catch {
            /* not JSON: keep as text */
          }
        }
        data[it.mime] = isTextMime(it.mime) || isJsonMime(it.mime) ? toLines(text) : Buffer.from(it.data).toString('base64');
      }
      return { output_type: 'display_data', data, metadata: (o.metadata as Record<string, unknown>) ?? {} };
    }
  }
}

export function exportIpynb(nb: StoredNotebook, opts: ExportOptions): ExportFile[] {
  return [{ path: `${opts.name}.ipynb`, data: new TextEncoder().encode(JSON.stringify(toIpynb(nb), null, 1) + '\n') }];
}
