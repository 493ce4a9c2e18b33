// A minimal stand-in for the `vscode` module, enough to call activate() and see what it registers.
// It records registrations; it does not imitate VS Code's behaviour.
import Module from 'node:module';

export interface Registered {
  serializers: { type: string; serializer: unknown; options: unknown }[];
  controllers: { id: string; type: string; label: string; controller: Record<string, unknown> }[];
  commands: Map<string, (...args: unknown[]) => unknown>;
  rendererMessaging: string[];
}

class Disposable {
  constructor(private readonly fn: () => void = () => {}) {}
  dispose() {
    this.fn();
  }
}

export function fakeVscode(trusted = true) {
  const reg: Registered = { serializers: [], controllers: [], commands: new Map(), rendererMessaging: [] };
  const emitter = () => ({ event: () => new Disposable(), fire() {}, dispose() {} });
  const api = {
    Disposable,
    EventEmitter: class {
      event = () => new Disposable();
      fire() {}
      dispose() {}
    },
    NotebookCellKind: { Markup: 1, Code: 2 },
    NotebookCellData: class {
      outputs?: unknown[];
      metadata?: unknown;
      constructor(
        public kind: number,
        public value: string,
        public languageId: string,
      ) {}
    },
    NotebookData: class {
      metadata?: unknown;
      constructor(public cells: unknown[]) {}
    },
    NotebookCellOutput: class {
      constructor(
        public items: unknown[],
        public metadata?: unknown,
      ) {}
    },
    NotebookCellOutputItem: class {
      constructor(
        public data: Uint8Array,
        public mime: string,
      ) {}
    },
    StatusBarAlignment: { Left: 1, Right: 2 },
    NotebookControllerAffinity: { Default: 1, Preferred: 2 },
    DocumentDropOrPasteEditKind: { Empty: { append: (...parts: string[]) => ({ value: parts.join('.') }) } },
    ProgressLocation: { Notification: 15, Window: 10 },
    workspace: {
      isTrusted: trusted,
      registerNotebookSerializer(type: string, serializer: unknown, options: unknown) {
        reg.serializers.push({ type, serializer, options });
        return new Disposable();
      },
      getConfiguration: () => ({ get: (_k: string, d: unknown) => d }),
      onDidGrantWorkspaceTrust: emitter().event,
      onDidOpenNotebookDocument: emitter().event,
      onDidSaveNotebookDocument: emitter().event,
      onDidCloseNotebookDocument: emitter().event,
      createFileSystemWatcher: () => ({ onDidChange: emitter().event, onDidCreate: emitter().event, onDidDelete: emitter().event, dispose() {} }),
      notebookDocuments: [],
      onDidChangeConfiguration: emitter().event,
    },
    notebooks: {
      createNotebookController(id: string, type: string, label: string) {
        const controller: Record<string, unknown> = { id, notebookType: type, label, dispose() {} };
        reg.controllers.push({ id, type, label, controller });
        return controller;
      },
      createRendererMessaging(id: string) {
        reg.rendererMessaging.push(id);
        return { onDidReceiveMessage: () => new Disposable(), postMessage: async () => true };
      },
    },
    languages: {
      registerDocumentPasteEditProvider: () => new Disposable(),
      registerDocumentDropEditProvider: () => new Disposable(),
    },
    commands: {
      registerCommand(id: string, fn: (...args: unknown[]) => unknown) {
        reg.commands.set(id, fn);
        return new Disposable(() => reg.commands.delete(id));
      },
      executeCommand: async () => undefined,
    },
    window: {
      createOutputChannel: () => ({ appendLine() {}, append() {}, show() {}, dispose() {}, info() {}, warn() {}, error() {} }),
      createStatusBarItem: () => ({ show() {}, hide() {}, dispose() {}, text: '', tooltip: '' }),
      showErrorMessage: async () => undefined,
      showInformationMessage: async () => undefined,
    },
    Uri: { file: (p: string) => ({ scheme: 'file', fsPath: p, path: p, toString: () => `file://${p}` }) },
  };
  return { api, reg };
}

/** Makes `require('vscode')` return the fake while fn runs its requires. */
export function withFakeVscode<T>(api: unknown, fn: () => T): T {
  const m = Module as unknown as { _load: (req: string, ...rest: unknown[]) => unknown };
  const orig = m._load;
  m._load = function (req: string, ...rest: unknown[]) {
    if (req === 'vscode') return api;
    return orig.call(this, req, ...rest);
  };
  try {
    return fn();
  } finally {
    m._load = orig;
  }
}
