// Notebook renderer for Loupe results: activation, one view per output id (by the result's kind), settings in ctx state.
// Runs in the notebook's webview: DOM only, nothing from the network, everything scoped to the given element.
import type { ActivationFunction, OutputItem, RendererContext } from 'vscode-notebook-renderer';
import { readResult, type LoupeResult } from '../src/common/result';
import type { RendererMessage } from '../src/common/renderer-messages';
import { el } from './dom';
import { BatchView } from './batch';
import { ensureStyle } from './styles';
import { ResultView, type Settings, type ViewDeps } from './view';
import { VideoView } from './filmstrip';

const DEFAULTS: Settings = { layout: 'side', overlay: true, labels: true };

interface View {
  readonly root: HTMLElement;
  update(r: LoupeResult): void;
  dispose(): void;
}

/** One view per output kind: images and prompt answers share the image view (a new kind adds a line here). */
const VIEWS: Record<LoupeResult['kind'], (doc: Document, deps: ViewDeps) => View> = {
  images: (doc, deps) => new ResultView(doc, deps),
  prompt: (doc, deps) => new ResultView(doc, deps),
  batch: (doc, deps) => new BatchView(doc, deps),
  video: (doc, deps) => new VideoView(doc, deps),
};

export const activate: ActivationFunction<Partial<Settings>> = (ctx: RendererContext<Partial<Settings>>) => {
  const views = new Map<string, { kind: LoupeResult['kind']; view: View }>();
  const settings = (): Settings => ({ ...DEFAULTS, ...(ctx.getState() ?? {}) });
  const saveSettings = (patch: Partial<Settings>) => ctx.setState({ ...settings(), ...patch });
  // requiresMessaging is "optional": without a channel, draw to ask is off and copy uses the clipboard API.
  const post = ctx.postMessage ? (m: RendererMessage) => ctx.postMessage!(m) : undefined;
  const onMessage = ctx.onDidReceiveMessage
    ? (listener: (m: unknown) => void) => {
        const d = ctx.onDidReceiveMessage!(listener);
        return () => d.dispose();
      }
    : undefined;
  const release = (id: string) => {
    views.get(id)?.view.dispose();
    views.delete(id);
  };
  return {
    renderOutputItem(item: OutputItem, element: HTMLElement) {
      const doc = element.ownerDocument;
      ensureStyle(doc);
      let value;
      try {
        // Results written by an older Loupe (schema v1) are read as this version's.
        value = readResult(item.json());
      } catch {
        value = undefined;
      }
      if (!value) {
        release(item.id);
        element.replaceChildren(el(doc, 'div', 'loupe-error', 'This output is not a Loupe result this version can show.'));
        return;
      }
      // The same output id again (streaming): update the existing view in place, keeping zoom and images.
      let entry = views.get(item.id);
      // A prompt about a clip shows its frames as a video result does.
      const kind: LoupeResult['kind'] = value.videos?.length ? 'video' : value.kind;
      if (entry?.kind !== kind) {
        release(item.id);
        entry = { kind, view: VIEWS[kind](doc, { outputId: item.id, settings, saveSettings, post, ...(onMessage ? { onMessage } : {}) }) };
        views.set(item.id, entry);
      }
      const view = entry.view;
      view.update(value);
      if (view.root.parentElement !== element) element.replaceChildren(view.root);
    },
    disposeOutputItem(id?: string) {
      if (id) release(id);
      else for (const k of [...views.keys()]) release(k);
    },
  };
};
