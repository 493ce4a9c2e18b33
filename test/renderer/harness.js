// Drives dist/renderer.js the way VS Code does: activate(ctx) with a RendererContext, then renderOutputItem.
import { activate } from '../../dist/renderer.js';

const MIME = 'application/vnd.loupe.result+json';
const created = [];
const revoked = [];
// Record object URLs, so tests can check that every one is revoked on dispose.
const create = URL.createObjectURL.bind(URL);
const revoke = URL.revokeObjectURL.bind(URL);
URL.createObjectURL = (b) => { const u = create(b); created.push(u); return u; };
URL.revokeObjectURL = (u) => { revoked.push(u); revoke(u); };

function outputItem(id, value) {
  const text = JSON.stringify(value);
  const bytes = new TextEncoder().encode(text);
  return { id, mime: MIME, metadata: {}, text: () => text, json: () => JSON.parse(text), data: () => bytes, blob: () => new Blob([bytes], { type: MIME }) };
}

const h = {
  messages: [],
  listeners: new Set(),
  /** Delivers a message from the extension side to the renderer. */
  send(m) {
    for (const l of h.listeners) l(JSON.parse(JSON.stringify(m)));
  },
  state: undefined,
  created,
  revoked,
  api: undefined,
  /** (Re)activates the renderer; messaging: false is a context without postMessage (requiresMessaging "optional"). */
  async setup({ messaging = true, state } = {}) {
    h.api?.disposeOutputItem?.();
    document.getElementById('outputs').replaceChildren();
    h.messages.length = 0;
    h.listeners.clear();
    h.state = state;
    const ctx = {
      getState: () => h.state,
      setState: (v) => { h.state = v; },
      getRenderer: async () => undefined,
      workspace: { isTrusted: true },
      onDidReceiveMessage: undefined,
    };
    if (messaging) {
      ctx.postMessage = (m) => h.messages.push(JSON.parse(JSON.stringify(m)));
      // Messages from the "extension" (h.send), to every listener, as VS Code's renderer messaging does.
      ctx.onDidReceiveMessage = (listener) => {
        h.listeners.add(listener);
        return { dispose: () => h.listeners.delete(listener) };
      };
    }
    h.api = await activate(ctx);
  },
  /** Renders into the output element of this id (created on first use), as VS Code does for each output. */
  async render(id, value) {
    let el = document.querySelector(`[data-output="${id}"]`);
    if (!el) {
      el = document.createElement('div');
      el.className = 'output';
      el.dataset.output = id;
      document.getElementById('outputs').appendChild(el);
    }
    await h.api.renderOutputItem(outputItem(id, value), el, new AbortController().signal);
    await Promise.all([...el.querySelectorAll('img')].map((i) => i.decode().catch(() => undefined)));
    return el;
  },
  dispose(id) {
    h.api.disposeOutputItem(id);
    document.querySelector(`[data-output="${id}"]`)?.remove();
  },
  theme(name) {
    document.body.className = `vscode-${name}`;
  },
  frame: () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))),
};
window.h = h;
window.harnessReady = true;
