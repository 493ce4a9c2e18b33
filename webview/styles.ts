// The renderer's CSS: plain elements themed with VS Code's --vscode-* variables (light, dark and high contrast).
// Injected once per document (all outputs share one iframe); every selector is under a loupe- class.
import { MODEL_PALETTE, PALETTE } from '../src/common/colors';
import { textOn } from './dom';

export const STYLE_ID = 'loupe-renderer-style';

// One class per palette colour for regions, chips and answer underlines (shared styles, no inline colours).
const PALETTE_CSS = PALETTE.map(
  (c, i) => `.loupe-c${i}.loupe-region { color: ${c}; } .loupe-c${i}.loupe-chip { background: ${c}; color: ${textOn(c)}; } .loupe-c${i}.loupe-ref { border-bottom-color: ${c}; } .loupe-c${i}.loupe-swatch { background: ${c}; }`,
).join('\n');

// Side by side: a model the user toggled off hides its regions and chips, and its column and element rows fade.
const MODEL_CSS = MODEL_PALETTE.map(
  (_, i) => `.loupe-result.hide-m${i} .loupe-m${i}.loupe-region, .loupe-result.hide-m${i} .loupe-m${i}.loupe-chip { display: none; } .loupe-result.hide-m${i} .loupe-column[data-model="${i}"], .loupe-result.hide-m${i} tr.loupe-m${i} { opacity: 0.6; }`,
).join('\n');

export const CSS = `
.loupe-result { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size, 13px); color: var(--vscode-foreground); }
.loupe-toolbar { display: flex; flex-wrap: wrap; gap: 4px; margin: 0 0 6px; }
.loupe-button { font: inherit; font-size: 12px; line-height: 18px; padding: 1px 8px; border-radius: 2px; cursor: pointer;
  color: var(--vscode-button-secondaryForeground, var(--vscode-foreground));
  background: var(--vscode-button-secondaryBackground, transparent);
  border: 1px solid var(--vscode-button-border, var(--vscode-contrastBorder, transparent)); }
.loupe-button:hover:not(:disabled) { background: var(--vscode-button-secondaryHoverBackground, var(--vscode-toolbar-hoverBackground)); }
.loupe-button[aria-pressed="true"] { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
.loupe-button[aria-pressed="true"]:hover { background: var(--vscode-button-hoverBackground); }
.loupe-button:disabled { opacity: 0.5; cursor: default; }
.loupe-button:focus-visible, .loupe-viewport:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
.loupe-images { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.loupe-images[data-layout="side"] { flex-wrap: nowrap; }
.loupe-images[data-layout="side"] > .loupe-figure { flex: 1 1 0; }
.loupe-images[data-layout="grid"] { display: grid; grid-template-columns: repeat(var(--loupe-cols), minmax(0, 1fr)); }
.loupe-figure { margin: 0; min-width: 0; max-width: 100%; }
.loupe-images[data-layout="single"] > .loupe-figure { width: 100%; }
.loupe-viewport { position: relative; overflow: clip; width: 100%; touch-action: none; user-select: none; cursor: default;
  background: var(--vscode-editorWidget-background, transparent); box-shadow: 0 0 0 1px var(--vscode-widget-border, var(--vscode-contrastBorder, transparent)); }
.loupe-result.is-zoomed .loupe-viewport { cursor: grab; }
.loupe-result.is-drawing .loupe-viewport { cursor: crosshair; }
.loupe-stage { position: absolute; inset: 0; transform-origin: 0 0; }
.loupe-stage.is-moving { will-change: transform; }
/* Display copies are already upright: never apply an EXIF orientation a second time. */
.loupe-img { display: block; width: 100%; height: 100%; image-orientation: none; }
.loupe-svg { position: absolute; inset: 0; width: 100%; height: 100%; overflow: visible; pointer-events: none; }
.loupe-region { stroke: currentColor; stroke-width: 2; fill: transparent; vector-effect: non-scaling-stroke; pointer-events: visiblePainted; outline: none; }
.loupe-region.loupe-point { stroke-width: 9; stroke-linecap: round; fill: none; }
.loupe-region.is-hot, .loupe-region.is-selected { stroke-width: 4; fill: color-mix(in srgb, currentColor 22%, transparent); }
.loupe-region.loupe-point.is-hot, .loupe-region.loupe-point.is-selected { stroke-width: 14; }
.loupe-region:focus-visible { stroke-width: 4; stroke-dasharray: 6 3; }
.loupe-chips { position: absolute; inset: 0; pointer-events: none; contain: strict; }
.loupe-figure.many-labels .loupe-chip:not(.is-hot) { display: none; }
.loupe-chip { position: absolute; white-space: nowrap; font: 11px/15px var(--vscode-font-family); padding: 0 4px; border-radius: 2px 2px 0 0;
  transform-origin: 0 100%; transform: scale(var(--loupe-inv, 1)); max-width: 24em; overflow: hidden; text-overflow: ellipsis; }
.loupe-chip.is-inside { transform-origin: 0 0; border-radius: 0 0 2px 0; }
.loupe-chip.is-hot { outline: 2px solid var(--vscode-focusBorder); z-index: 1; }
.loupe-result.hide-overlay .loupe-svg, .loupe-result.hide-overlay .loupe-chips, .loupe-result.hide-labels .loupe-chips { display: none; }
.loupe-band { position: absolute; pointer-events: none; border: 1px dashed var(--vscode-focusBorder);
  background: color-mix(in srgb, var(--vscode-focusBorder) 18%, transparent); }
.loupe-figure figcaption { font-size: 12px; color: var(--vscode-descriptionForeground); margin-top: 4px; overflow-wrap: anywhere; }
.loupe-answer { white-space: pre-wrap; margin: 8px 0; line-height: 1.5; overflow-wrap: anywhere; }
.loupe-ref { border-bottom: 2px solid; }
.loupe-ref.is-hot { background: var(--vscode-editor-findMatchHighlightBackground, rgba(234, 92, 0, 0.33));
  outline: 1px solid var(--vscode-editor-findMatchHighlightBorder, transparent); }
.loupe-legend { display: flex; flex-wrap: wrap; gap: 4px; margin: 0 0 6px; }
.loupe-legend[hidden] { display: none; }
.loupe-legend-item { display: inline-flex; align-items: center; gap: 6px; }
/* Legend toggles keep the plain button look: a swatch on a primary-blue button would vanish. */
.loupe-legend-item[aria-pressed="true"] { color: var(--vscode-button-secondaryForeground, var(--vscode-foreground)); background: var(--vscode-button-secondaryBackground, transparent); }
.loupe-legend-item[aria-pressed="false"] { text-decoration: line-through; opacity: 0.7; }
.loupe-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; flex: none; }
.loupe-columns { display: grid; grid-template-columns: repeat(var(--loupe-cols), minmax(0, 1fr)); gap: 12px; white-space: normal; }
.loupe-columns[hidden] { display: none; }
.loupe-column { min-width: 0; border-top: 1px solid var(--vscode-widget-border, var(--vscode-contrastBorder, transparent)); padding-top: 6px; }
.loupe-column-head { display: flex; align-items: baseline; gap: 6px; }
.loupe-column-head strong { min-width: 0; overflow-wrap: anywhere; }
.loupe-column-stats { flex: none; }
.loupe-column-stats, .loupe-column-sub { font-size: 12px; color: var(--vscode-descriptionForeground); }
.loupe-column-sub { margin-top: 6px; }
.loupe-batch-status { margin: 0 0 4px; }
.loupe-batch-bar { width: 100%; height: 6px; margin: 0 0 6px; accent-color: var(--vscode-progressBar-background); }
.loupe-batch-bar[hidden], .loupe-batch-scores[hidden], .loupe-batch-pager[hidden], .loupe-batch-table[hidden] { display: none; }
.loupe-batch-table, .loupe-batch-score { border-collapse: collapse; width: 100%; font-size: 12px; margin: 6px 0; }
.loupe-batch-table th, .loupe-batch-table td, .loupe-batch-score th, .loupe-batch-score td { text-align: left; vertical-align: top; padding: 3px 6px;
  border-bottom: 1px solid var(--vscode-widget-border, var(--vscode-contrastBorder, transparent)); }
.loupe-batch-score caption { text-align: left; color: var(--vscode-descriptionForeground); padding: 2px 0; }
.loupe-batch-thumb { width: 64px; }
.loupe-batch-thumb img { display: block; max-width: 64px; max-height: 64px; image-orientation: none; }
.loupe-batch-answer { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 60ch; }
.loupe-batch-table tr[data-status="error"] td { color: var(--vscode-errorForeground); }
.loupe-batch-pager { display: flex; gap: 8px; align-items: center; font-size: 12px; }
.loupe-status { font-size: 12px; color: var(--vscode-descriptionForeground); }
.loupe-status:empty { display: none; }
.loupe-error { color: var(--vscode-errorForeground); white-space: pre-wrap; }
.loupe-note, .loupe-warning { font-size: 12px; color: var(--vscode-editorWarning-foreground, var(--vscode-descriptionForeground)); }
.loupe-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
/* High contrast: thicker strokes and bordered chips, so regions stand out on any image. */
.vscode-high-contrast .loupe-region, .vscode-high-contrast-light .loupe-region { stroke-width: 3; }
.vscode-high-contrast .loupe-chip, .vscode-high-contrast-light .loupe-chip { border: 1px solid var(--vscode-contrastBorder); }
.vscode-high-contrast .loupe-ref.is-hot, .vscode-high-contrast-light .loupe-ref.is-hot { outline: 1px dotted var(--vscode-contrastActiveBorder); }
/* Screens: the element table (synced with the overlay), tappable badges, point markers with a ring. */
.loupe-elements { margin: 8px 0; max-height: 24em; overflow: auto; }
.loupe-elements-table { border-collapse: collapse; font-size: 12px; width: 100%; }
.loupe-elements-table th { text-align: left; font-weight: 600; color: var(--vscode-descriptionForeground); position: sticky; top: 0; background: var(--vscode-editor-background); }
.loupe-elements-table th, .loupe-elements-table td { padding: 1px 8px; border-bottom: 1px solid var(--vscode-widget-border, transparent); }
.loupe-elements.one-image .loupe-el-image, .loupe-elements.one-image th:last-child { display: none; }
.loupe-elements-table tr { cursor: pointer; border-left: 3px solid transparent; }
.loupe-elements-table tr.is-hot { background: var(--vscode-list-hoverBackground, rgba(128, 128, 128, 0.15)); }
.loupe-elements-table tr[aria-selected="true"] { background: var(--vscode-list-activeSelectionBackground, rgba(0, 120, 212, 0.3)); color: var(--vscode-list-activeSelectionForeground, inherit); }
.loupe-elements-table tr:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.loupe-elements-table td { text-align: left; }
.loupe-el-n .loupe-swatch { margin-right: 6px; }
.loupe-el-box, .loupe-el-n { font-family: var(--vscode-editor-font-family, monospace); white-space: nowrap; }
.loupe-chip.is-tappable::before { content: "✓ "; }
.loupe-chip.is-not-tappable::before { content: "✗ "; }
.loupe-chip.is-tappable, .loupe-chip.is-not-tappable { font-weight: 600; border-radius: 8px; padding: 0 6px; }
.loupe-region.loupe-point { stroke-width: 11; }
/* Video: clip facts, timeline, filmstrip, the large frame, answers with times (filmstrip.ts). */
.loupe-clip { margin: 0 0 10px; }
.loupe-clip-facts { font-size: 12px; color: var(--vscode-descriptionForeground); margin: 2px 0 6px; overflow-wrap: anywhere; }
.loupe-timeline { position: relative; height: 18px; margin: 4px 6px 8px; }
.loupe-timeline-bar { position: absolute; left: 0; right: 0; top: 8px; height: 2px; background: var(--vscode-widget-border, var(--vscode-descriptionForeground)); opacity: 0.6; }
.loupe-tick { position: absolute; top: 2px; width: 8px; height: 14px; margin-left: -4px; padding: 0; border: 0; border-radius: 2px; cursor: pointer;
  background: var(--vscode-descriptionForeground); opacity: 0.7; }
.loupe-tick.is-found { background: var(--vscode-charts-orange, #d18616); opacity: 1; height: 16px; top: 1px; }
.loupe-tick.is-current { outline: 2px solid var(--vscode-focusBorder); outline-offset: 1px; opacity: 1; }
.loupe-filmstrip { display: flex; gap: 6px; overflow-x: auto; padding: 2px 2px 6px; }
.loupe-thumb { flex: 0 0 auto; width: 128px; margin: 0; cursor: pointer; border: 2px solid transparent; border-radius: 3px; }
.loupe-thumb[aria-selected="true"] { border-color: var(--vscode-focusBorder); }
.loupe-thumb:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
.loupe-thumb-frame { position: relative; width: 100%; }
.loupe-thumb-frame > img { display: block; width: 100%; height: 100%; image-orientation: none; }
.loupe-thumb .loupe-svg { position: absolute; inset: 0; }
.loupe-thumb-time { display: flex; justify-content: space-between; font-size: 11px; color: var(--vscode-descriptionForeground); padding: 1px 2px; }
.loupe-thumb.is-found .loupe-thumb-time::after { content: '●'; color: var(--vscode-charts-orange, #d18616); }
.loupe-frame-large { margin-top: 6px; }
.loupe-frame-answers { margin: 8px 0; padding-left: 0; list-style: none; }
.loupe-frame-answers li { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.loupe-frame-answers li.is-current { background: var(--vscode-list-inactiveSelectionBackground, transparent); }
.loupe-time { font: inherit; font-size: 12px; font-variant-numeric: tabular-nums; margin-right: 6px; padding: 0 4px; cursor: pointer;
  color: var(--vscode-textLink-foreground); background: transparent; border: 1px solid transparent; border-radius: 2px; }
.loupe-time:focus-visible { border-color: var(--vscode-focusBorder); }
.loupe-run-model { display: inline-flex; align-items: center; gap: 4px; margin-right: 4px; font-weight: 600; }
${PALETTE_CSS}
${MODEL_CSS}
@media (forced-colors: active) { .loupe-region { stroke: Highlight; } .loupe-chip { forced-color-adjust: none; } }
`;

export function ensureStyle(doc: Document): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = CSS;
  doc.head.appendChild(style);
}
