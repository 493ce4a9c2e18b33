// `npm run package [-- --target <platform-arch>]`: a VSIX with only that platform's native binaries.
// The host platform packs from this tree; other platforms are staged with `npm ci --os --cpu`,
// which installs that platform's sharp (@img/*) packages from the registry.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const ti = args.indexOf('--target');
const host = `${process.platform}-${process.arch}`;
const target = ti >= 0 ? args[ti + 1] : host;
const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64'];
if (!TARGETS.includes(target)) {
  console.error(`Unknown target "${target}": expected one of ${TARGETS.join(', ')}`);
  process.exit(2);
}
const [os, arch] = target.split('-');
if (!existsSync(join(root, 'node_modules/onnxruntime-node/bin/napi-v6', os, arch))) {
  const pkgOrt = JSON.parse(readFileSync(join(root, 'node_modules/onnxruntime-node/package.json'), 'utf8'));
  console.error(`onnxruntime-node ${pkgOrt.version} ships no binaries for ${target}: Loupe cannot run models there, so no package is built.`);
  process.exit(1);
}

const run = (cmd, cmdArgs, cwd = root) => {
  const r = spawnSync(cmd, cmdArgs, { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run(process.execPath, ['esbuild.mjs', '--production']);

// An allow-list: only what the extension loads at run time, and only this platform's onnxruntime binaries.
// CUDA and TensorRT provider libraries are not bundled by onnxruntime-node; never ship them if present.
const ortDir = 'node_modules/onnxruntime-node/bin/napi-v6';
const allow = readFileSync(join(root, '.vscodeignore'), 'utf8');
const ignore = `${allow}\n# generated for ${target}\n!${ortDir}/${os}/${arch}/**\n${ortDir}/**/*cuda*\n${ortDir}/**/*tensorrt*\n`;
const ignoreFile = join(mkdtempSync(join(tmpdir(), 'loupe-pkg-')), '.vscodeignore');
writeFileSync(ignoreFile, ignore);

let cwd = root;
if (target !== host) {
  cwd = mkdtempSync(join(tmpdir(), `loupe-stage-${target}-`));
  for (const p of ['package.json', 'package-lock.json', '.npmrc', 'README.md', 'LICENSE', 'language-configuration.json', 'media', 'examples/tour.loupe', 'examples/images', 'examples/videos', 'dist/loupe.tmLanguage.json', 'dist/extension.js', 'dist/renderer.js', 'dist/host.js', 'dist/cli.js']) {
    if (existsSync(join(root, p))) cpSync(join(root, p), join(cwd, p), { recursive: true });
  }
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', `--os=${os}`, `--cpu=${arch}`], cwd);
  // vsce lists dependencies with `npm list`, which would miss the dev dependencies that were not installed.
  const staged = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
  delete staged.devDependencies;
  writeFileSync(join(cwd, 'package.json'), JSON.stringify(staged, null, 2) + '\n');
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = join(root, `${pkg.name}-${target}-${pkg.version}.vsix`);
const vsce = join(root, 'node_modules', '.bin', 'vsce');
run(vsce, ['package', '--target', target, '--ignoreFile', ignoreFile, '--out', out, '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links'], cwd);
if (cwd !== root) rmSync(cwd, { recursive: true, force: true });
console.log(`${out}: ${(statSync(out).size / 1024 / 1024).toFixed(1)} MB`);
