// `npm run package [-- --target <platform-arch>]`: a VSIX with only that platform's native binaries.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const ti = args.indexOf('--target');
const target = ti >= 0 ? args[ti + 1] : `${process.platform}-${process.arch}`;
const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win32-x64'];
if (!TARGETS.includes(target)) {
  console.error(`Unknown target "${target}": expected one of ${TARGETS.join(', ')}`);
  process.exit(2);
}
const [os, arch] = target.split('-');
if (target !== `${process.platform}-${process.arch}`) {
  console.error(`Packaging for ${target} needs sharp's @img/sharp-${target} binaries, which npm installs only on that platform; run this on ${target}.`);
  process.exit(2);
}

const run = (cmd, cmdArgs) => {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run(process.execPath, ['esbuild.mjs', '--production']);

// An allow-list: only what the extension loads at run time, and only this platform's onnxruntime binaries.
const allow = readFileSync(join(root, '.vscodeignore'), 'utf8');
const ortDir = 'node_modules/onnxruntime-node/bin/napi-v6';
// CUDA and TensorRT provider libraries are not bundled by onnxruntime-node; never ship them if present.
const ignore = `${allow}\n# generated for ${target}\n!${ortDir}/${os}/${arch}/**\n${ortDir}/**/*cuda*\n${ortDir}/**/*tensorrt*\n`;
const ignoreFile = join(mkdtempSync(join(tmpdir(), 'loupe-pkg-')), '.vscodeignore');
writeFileSync(ignoreFile, ignore);

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = `${pkg.name}-${target}-${pkg.version}.vsix`;
run(join(root, 'node_modules', '.bin', 'vsce'), ['package', '--target', target, '--ignoreFile', ignoreFile, '--out', out, '--allow-missing-repository', '--skip-license']);
console.log(`${out}: ${(statSync(join(root, out)).size / 1024 / 1024).toFixed(1)} MB`);
