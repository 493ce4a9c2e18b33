// Ask About Image, over a small port so the flow is testable without VS Code.
import { askCells } from './imageCells';

export interface AskPort {
  /** The active Loupe notebook, if any: its folder (undefined while untitled) and cell count. */
  activeNotebook(): { dir: string | undefined; cellCount: number } | undefined;
  appendCells(sources: string[]): Promise<void>;
  openNewNotebook(sources: string[]): Promise<void>;
  /** Puts the cursor in cell `index` of the active notebook at `line`. */
  focusCell(index: number, line: number): Promise<void>;
  runCell(index: number): Promise<void>;
}

/** Appends to the active notebook or opens a new one; runs the prompt when a question was given. */
export async function askAboutImage(port: AskPort, files: string[], question?: string): Promise<void> {
  if (files.length === 0) return;
  const active = port.activeNotebook();
  const { cells, cursor } = askCells(files, active?.dir, question ?? '');
  const first = active ? active.cellCount : 0;
  if (active) await port.appendCells(cells);
  else await port.openNewNotebook(cells);
  const promptIndex = first + cursor.cell;
  if (question) await port.runCell(promptIndex);
  else await port.focusCell(promptIndex, cursor.line);
}
