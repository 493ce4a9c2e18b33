import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers (docs/architecture.md). Each may import only the layers below it; an import of any other layer's
// folder is an error. Folder names are unique in the tree, so a path segment names its layer whatever the depth.
//   src/common ← src/images ← src/engine (types, registry, dialects ← local) ← src/core ← src/extension, src/cli
//   webview ← src/common only
const segment = (...names) => `(^|/)(${names.join('|')})(/|$)`;
const forbid = (regex, message) => ({ regex, message });
const VSCODE = forbid('^vscode$', 'only src/extension imports vscode: keep this code testable without VS Code');
const WEBVIEW = forbid(segment('webview'), 'the webview is a separate bundle: share code through src/common');

export const LAYER_RULES = [
  {
    files: ['src/common/**/*.ts'],
    patterns: [forbid('^(?!\\./)', 'src/common imports nothing: it is the contract the extension and the webview share')],
  },
  {
    files: ['src/images/**/*.ts'],
    patterns: [forbid(segment('engine', 'core', 'extension', 'cli'), 'src/images imports only src/common'), VSCODE, WEBVIEW],
  },
  {
    files: ['src/engine/**/*.ts'],
    patterns: [forbid(segment('core', 'extension', 'cli'), 'src/engine imports only src/common and src/images'), VSCODE, WEBVIEW],
  },
  {
    // What core and remote engines build on: the seam, the dialects and the registry stay free of the local model host.
    files: ['src/engine/types.ts', 'src/engine/dialects/**/*.ts'],
    patterns: [forbid(segment('local'), 'the Engine seam and the dialects do not depend on the local engine'), forbid(segment('core', 'extension', 'cli'), 'src/engine imports only src/common and src/images'), VSCODE, WEBVIEW],
  },
  {
    files: ['src/core/**/*.ts'],
    patterns: [forbid(segment('extension', 'cli'), 'src/core is shared by the extension and the CLI: it imports neither'), forbid('(^|/)engine/local(/|$)', 'src/core talks to engines through src/engine/types (the Engine seam), never to the local engine'), VSCODE, WEBVIEW],
  },
  {
    files: ['src/extension/**/*.ts'],
    patterns: [forbid(segment('cli'), 'the extension does not import the CLI'), WEBVIEW],
  },
  {
    files: ['src/cli/**/*.ts'],
    patterns: [forbid(segment('extension'), 'the CLI does not import the extension: shared code lives in src/core'), VSCODE, WEBVIEW],
  },
  {
    files: ['webview/**/*.ts'],
    patterns: [forbid('^(?!\\./|\\.\\./src/common/|vscode-notebook-renderer$)', 'the webview imports only src/common (and the renderer API types)')],
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'out/', 'test-results/', 'test/fixtures/models/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  ...LAYER_RULES.map(({ files, patterns }) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns }] } })),
  {
    // Tests and fixture scripts drive transformers.js's untyped JS objects directly.
    files: ['test/**', 'scripts/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
