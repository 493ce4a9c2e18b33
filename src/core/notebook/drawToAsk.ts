// Draw to ask, extension side: the prompt cell that a region drawn in the renderer becomes. Pure (no vscode):
// extension.ts adapts VS Code's notebook to the small interfaces below.
import * as path from 'node:path';
import { parseCell } from '../cells/parser';
import type { AskAboutRegionMessage } from '../../common/renderer-messages';

/** What draw to ask needs to know about a notebook cell. */
export interface DrawToAskCell {
  source: string;
  /** Ids of the cell's outputs, to find the cell an output message came from. */
  outputIds?: readonly string[];
}

export interface NewPromptCell {
  /** Where the new cell goes: right below the cell whose output was drawn on. */
  index: number;
  source: string;
  /** 0-based line of the empty prompt line, where the cursor goes. */
  cursorLine: number;
}

/** The notebook edits draw to ask makes, so they can be tested with a fake. */
export interface NotebookEditPort {
  insertCodeCell(index: number, source: string): Promise<void>;
  focusCell(index: number, line: number): void;
  selectKernel(): Promise<void>;
}

export function findOutputCell(cells: readonly DrawToAskCell[], outputId: string | undefined): number {
  if (!outputId) return -1;
  return cells.findIndex((c) => c.outputIds?.includes(outputId));
}

/** The image as the new cell should write it: relative to the notebook when it lies inside the notebook's folder. */
export function imageArgument(source: string, notebookDir: string | undefined): string {
  let s = source;
  if (notebookDir && path.isAbsolute(s)) {
    const rel = path.relative(notebookDir, s);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) s = rel.split(path.sep).join('/');
  }
  // The parser takes the rest of the line; quotes keep leading or trailing spaces (and quote characters) intact.
  return s !== s.trim() || /^["']/.test(s) ? `"${s}"` : s;
}

export function planDrawToAsk(cells: readonly DrawToAskCell[], cellIndex: number, msg: AskAboutRegionMessage, notebookDir: string | undefined): NewPromptCell {
  const box = msg.box.map((c) => Math.max(0, Math.round(c)));
  const lines = [`@image ${imageArgument(msg.image.source, notebookDir)}`, `@region [${box.join(', ')}]`];
  // Same model as the cell drawn on, so the follow-up question runs where the answer came from.
  const from = cells[cellIndex];
  const model = from ? parseCell(from.source).model : undefined;
  if (model) lines.push(`@model ${model}`);
  const index = cellIndex >= 0 && cellIndex < cells.length ? cellIndex + 1 : cells.length;
  return { index, source: lines.join('\n') + '\n', cursorLine: lines.length };
}

/** Inserts the new prompt cell, makes sure a kernel is selected, and puts the cursor on its prompt line. */
export async function applyDrawToAsk(
  port: NotebookEditPort,
  cells: readonly DrawToAskCell[],
  msg: AskAboutRegionMessage,
  notebookDir: string | undefined,
  cellIndex = findOutputCell(cells, msg.outputId),
): Promise<NewPromptCell> {
  const plan = planDrawToAsk(cells, cellIndex, msg, notebookDir);
  await port.insertCodeCell(plan.index, plan.source);
  await port.selectKernel();
  port.focusCell(plan.index, plan.cursorLine);
  return plan;
}
