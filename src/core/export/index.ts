// Exports a stored notebook to HTML, Markdown (+ images folder), Jupyter .ipynb or a JSON session record.
// Shared by the VS Code command (`Loupe: Export Session…`) and the CLI (`loupe export`, `loupe run --export`).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { StoredNotebook } from '../notebook/format';
import type { ExportFile, ExportFormat, ExportOptions } from './common';
import { exportHtml } from './html';
import { exportIpynb } from './ipynb';
import { exportMarkdown } from './markdown';
import { exportSession } from './session';

export { EXPORT_FORMATS, type ExportFile, type ExportFormat, type ExportOptions } from './common';
export { renderHtml } from './html';
export { toIpynb } from './ipynb';
export { sessionRecord, type SessionRecord } from './session';

export const EXPORT_EXTENSIONS: Record<ExportFormat, string> = { html: '.html', md: '.md', ipynb: '.ipynb', json: '.session.json' };
export const EXPORT_LABELS: Record<ExportFormat, string> = {
  html: 'HTML (one self-contained file)',
  md: 'Markdown (+ a folder of images)',
  ipynb: 'Jupyter notebook (.ipynb)',
  json: 'JSON session record',
};

/** The default export path: next to the notebook, same base name (`tour.loupe` → `tour.html`). */
export function defaultExportPath(notebookPath: string, format: ExportFormat): string {
  const base = basename(notebookPath, extname(notebookPath));
  return join(dirname(notebookPath), base + EXPORT_EXTENSIONS[format]);
}

/** Builds the files of an export in memory; the first is the main file. */
export async function buildExport(nb: StoredNotebook, format: ExportFormat, opts: ExportOptions): Promise<ExportFile[]> {
  switch (format) {
    case 'html':
      return exportHtml(nb, opts);
    case 'md':
      return exportMarkdown(nb, opts);
    case 'ipynb':
      return exportIpynb(nb, opts);
    case 'json':
      return exportSession(nb, opts);
  }
}

export interface ExportResult {
  /** Absolute path of the main file. */
  path: string;
  /** Every file written, main file first. */
  files: string[];
}

/**
 * Writes an export. `notebookPath` locates relative images (and names the default output);
 * `outPath` defaults to {@link defaultExportPath}. For Markdown, the images go to `<out name>_files/`
 * next to the file, replacing that folder's previous contents.
 */
export async function exportNotebook(nb: StoredNotebook, format: ExportFormat, o: { notebookPath?: string; outPath?: string }): Promise<ExportResult> {
  const out = resolve(o.outPath ?? (o.notebookPath ? defaultExportPath(o.notebookPath, format) : `notebook${EXPORT_EXTENSIONS[format]}`));
  const outBase = basename(out).replace(format === 'json' ? /(\.session)?\.json$/i : /\.[^.]+$/, '') || 'notebook';
  const files = await buildExport(nb, format, {
    name: outBase,
    notebookDir: o.notebookPath ? dirname(resolve(o.notebookPath)) : undefined,
    notebookName: o.notebookPath ? basename(o.notebookPath) : undefined,
  });
  const dir = dirname(out);
  await mkdir(dir, { recursive: true });
  if (format === 'md') await rm(join(dir, `${outBase}_files`), { recursive: true, force: true });
  const written: string[] = [];
  for (const [i, f] of files.entries()) {
    const p = i === 0 ? out : join(dir, f.path);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, f.data);
    written.push(p);
  }
  return { path: out, files: written };
}
