// Page helpers for Loupe notebooks in the workbench: cells, their execution marks, and the renderer's DOM
// (.loupe-result in the notebook webview iframes; see webview/view.ts, figure.ts, overlay.ts).
import type { Frame, Locator, Page } from 'playwright-core';
import { CONTROLLER_LABEL } from './workspace';
import { WAIT_MS, rendererFrames, runCommand, sleep, waitFor } from './harness';

/** The visible notebook editor widget (VS Code lays it over the editor group as `.notebookOverlay`). */
export const activeNotebook = (page: Page) => page.locator('.notebookOverlay.notebook-editor:visible');

/** The code cell rows of the visible notebook whose text contains `text`. */
export const codeCell = (page: Page, text: string | RegExp) => activeNotebook(page).locator('.monaco-list-row.code-cell-row', { hasText: text });

export type CellState = 'success' | 'error' | 'executing' | 'pending' | 'none';

export async function cellState(cell: Locator): Promise<CellState> {
  for (const s of ['success', 'error', 'executing', 'pending'] as const) {
    if ((await cell.locator(`.codicon-notebook-state-${s}`).count()) > 0) return s;
  }
  return 'none';
}

/** The text of a cell's editor, with Monaco's non-breaking spaces made plain. */
export async function cellText(cell: Locator): Promise<string> {
  const lines = await cell.locator('.cell-editor-container .view-line').allInnerTexts();
  return lines.join('\n').replace(/\u00a0/g, ' ');
}

/** If VS Code asks for a kernel, picks Loupe's. */
export async function pickKernelIfAsked(page: Page): Promise<boolean> {
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: CONTROLLER_LABEL });
  if ((await row.count()) > 0 && (await row.first().isVisible())) {
    await row.first().click();
    return true;
  }
  return false;
}

export async function runAll(page: Page): Promise<void> {
  await runCommand(page, 'Notebook: Run All');
  await sleep(300);
  await pickKernelIfAsked(page);
}

/** Runs one cell with its run button (Ctrl+Enter in a cell editor inserts a line in code-server). */
export async function runCell(page: Page, cell: Locator): Promise<void> {
  await cell.locator('.cell-editor-container .view-lines').first().click();
  await cell.hover();
  const button = cell.locator('.run-button-container .action-label').first();
  await button.waitFor({ state: 'visible', timeout: 10_000 });
  await button.click();
  await sleep(300);
  await pickKernelIfAsked(page);
}

export async function waitCellDone(page: Page, cell: Locator, what: string, timeoutMs = WAIT_MS): Promise<CellState> {
  return waitFor(`${what} to finish`, async () => {
    await pickKernelIfAsked(page);
    const s = await cellState(cell);
    return s === 'success' || s === 'error' ? s : undefined;
  }, timeoutMs);
}

export interface ResultInfo {
  status: string | undefined;
  answer: string;
  errors: string[];
  warnings: string[];
  alts: string[];
  imgsLoaded: number;
  rects: number;
  polygons: number;
  text: string;
}

/** Every Loupe output shown in any notebook webview, in document order per frame. */
export async function renderedResults(page: Page): Promise<ResultInfo[]> {
  const out: ResultInfo[] = [];
  for (const frame of await rendererFrames(page)) {
    out.push(
      ...(await frame.$$eval('.loupe-result', (roots) =>
        roots.map((r) => ({
          status: (r as HTMLElement).dataset.status,
          answer: [...r.querySelectorAll('.loupe-answer')].map((a) => a.textContent ?? '').join('\n'),
          errors: [...r.querySelectorAll('.loupe-error')].map((e) => e.textContent ?? ''),
          warnings: [...r.querySelectorAll('.loupe-warning')].map((e) => e.textContent ?? ''),
          alts: [...r.querySelectorAll('figure img')].map((i) => (i as HTMLImageElement).alt),
          imgsLoaded: [...r.querySelectorAll('figure img')].filter((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0).length,
          rects: r.querySelectorAll('svg.loupe-svg rect.loupe-region').length,
          polygons: r.querySelectorAll('svg.loupe-svg polygon.loupe-region').length,
          text: (r as HTMLElement).innerText,
        })),
      )),
    );
  }
  return out;
}

/** The frame and the .loupe-result locator of the output showing an image whose alt contains `altPart`. */
export async function resultWithImage(page: Page, altPart: string, extra?: (r: Locator, f: Frame) => Locator): Promise<{ frame: Frame; result: Locator } | undefined> {
  for (const frame of await rendererFrames(page)) {
    let result = frame.locator('.loupe-result', { has: frame.locator(`figure img[alt*="${altPart}"]`) });
    if (extra) result = extra(result, frame);
    if ((await result.count()) > 0 && (await result.first().isVisible())) return { frame, result: result.first() };
  }
  return undefined;
}

/** Bodies of every frame (for VS Code's own error renderer, which is not a .loupe-result). */
export async function allFrameText(page: Page): Promise<string> {
  let text = '';
  for (const frame of page.frames()) {
    if (frame === page.mainFrame() || frame.isDetached()) continue;
    try {
      text += (await frame.locator('body').innerText({ timeout: 2000 })) + '\n';
    } catch {
      /* not ready or gone */
    }
  }
  return text;
}

/** The workbench answers: the command palette opens and closes, each within `ms`. Returns the round trip in ms. */
export async function workbenchResponds(page: Page, ms = 5000): Promise<number> {
  const t = Date.now();
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible', timeout: ms });
  await page.keyboard.press('Escape');
  await widget.waitFor({ state: 'hidden', timeout: ms });
  return Date.now() - t;
}


/** The batch view (`@images`) shown in a notebook webview: its frame and locator, when visible. */
export async function batchView(page: Page): Promise<{ frame: Frame; view: Locator } | undefined> {
  for (const frame of await rendererFrames(page, '.loupe-batch')) {
    const view = frame.locator('.loupe-batch');
    if ((await view.count()) > 0 && (await view.first().isVisible())) return { frame, view: view.first() };
  }
  return undefined;
}
