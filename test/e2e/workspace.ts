// The temporary workspace the e2e scenarios run in, and the shared steps before a workbench starts:
// setup.sh, the VSIX, fixture models aliased to the registry ids, generated test images and notebooks.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { pngDeclaring } from '../helpers/images';
import { makeSpotClip } from '../helpers/video';
import { REPO_ROOT } from './harness';

export const CONTROLLER_LABEL = 'Loupe (local model)';
/** The generated spot clip of video.loupe: 24 frames at 12 fps (2 s). */
export const VIDEO_CLIP = { frames: 24, fps: 12 } as const;
export const SKIP = process.env.LOUPE_E2E_SKIP ? 'LOUPE_E2E_SKIP is set' : false;

/** The generated spot image: dark, one white rectangle at SPOT_BOX (aligned to the fixture's 24×24 patch grid). */
export const SPOT_SIZE = { width: 600, height: 400 } as const;
export const SPOT_BOX = [300, 100, 450, 200] as const; // columns 12..17, rows 6..11 of 24

/**
 * The long-running qwen cell: a huge temperature makes the fixture sample random tokens; seed 34 samples
 * about 3000 of them before an end token (seconds of streaming), found by trying seeds on this prompt.
 */
export const LONG_CELL = '@model qwen2-vl-2b\n@image long.png\n@set max_new_tokens=4000 do_sample=true temperature=1000000 top_k=5000 top_p=1 seed=34\nTell me everything about this picture.';
/** The screens scenario: a generated screen, its buttons, and a cell that lists the elements and one that finds one. */
// 480×800 letterboxes to 640 at ×0.8: every edge below lands on a whole input pixel, so the boxes come back exactly.
export const SCREEN_SIZE = { width: 480, height: 800 } as const;
export const SCREEN_BUTTONS: { box: [number, number, number, number]; color: string }[] = [
  { box: [410, 40, 460, 90], color: '#ffffff' },
  { box: [80, 560, 400, 610], color: '#ffffff' },
  { box: [80, 640, 400, 690], color: '#ff2020' },
];
export const SCREEN_CELLS: NotebookCellSpec[] = [{ source: '@model omniparser-icon-detect\n@image screen-e2e.png\n@task list-elements' }, { source: '@image screen-e2e.png\n@task find-element\nthe Sign in button' }];
export const SHORT_CELL = '@image long.png\n@task caption';
/** The notebook edited on disk while a cell of it streams (the merge scenario). */
/** Side by side: the local fixture (as florence-2-base) and the test server's model, over one spot image. */
export const SIDE_CELL = '@model florence-2-base, gpu:Qwen/Qwen2-VL-2B-Instruct\n@image side.png\n@task ground\nthe lamp';
/** A batch of 20 spot images (large enough that one takes a moment, so the batch can be cancelled mid-way). */
export const BATCH_CELL = '@model qwen2-vl-2b\n@images batch/*.png\n@truth batch/truth.json\n@task ground\nthe lamp';
export const batchSpot = (i: number) => ({ width: 1200 + i * 10, height: 900, box: [150 + i * 5, 120, 600 + i * 5, 420] as [number, number, number, number] });
export const MERGE_CELLS: NotebookCellSpec[] = [{ source: LONG_CELL.replace('seed=34', 'seed=35') }, { source: '@image spot.png\n@task caption' }];


export function run(cmd: string, args: string[], timeoutMs: number): void {
  const r = spawnSync(cmd, args, { cwd: REPO_ROOT, stdio: 'inherit', timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, CI: 'true' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: status ${r.status}${r.signal ? `, signal ${r.signal}` : ''}${r.error ? `, ${r.error}` : ''}`);
}

function newestMtime(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let m = s.mtimeMs;
  for (const n of readdirSync(p)) m = Math.max(m, newestMtime(join(p, n)));
  return m;
}

/**
 * setup.sh (code-server, Chromium), the fixture models, and the VSIX: LOUPE_E2E_VSIX if set, else the packaged
 * one when it is newer than src/, examples/ and package.json (several e2e files share one `npm run package`).
 */
export function prepare(log: (m: string) => void): string {
  run('bash', [join(REPO_ROOT, 'test/e2e/setup.sh')], 30 * 60_000);
  log('setup.sh done');
  run(process.execPath, ['--import', 'tsx', 'scripts/fixtures.ts', '--if-missing'], 5 * 60_000);
  if (process.env.LOUPE_E2E_VSIX) return process.env.LOUPE_E2E_VSIX;
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const vsix = join(REPO_ROOT, `${pkg.name}-${process.platform}-${process.arch}-${pkg.version}.vsix`);
  const inputs = Math.max(...['src', 'webview', 'media', 'syntaxes', 'examples', 'package.json', '.vscodeignore'].filter((p) => existsSync(join(REPO_ROOT, p))).map((p) => newestMtime(join(REPO_ROOT, p))));
  if (!existsSync(vsix) || statSync(vsix).mtimeMs < inputs) {
    run('npm', ['run', 'package'], 5 * 60_000);
    log('npm run package done');
  } else log(`reusing ${vsix} (newer than its sources)`);
  return vsix;
}

/** Settings that point the registry ids at the fixture models copied into the workspace, offline. */
export function modelSettings(workspace: string): Record<string, unknown> {
  return {
    'loupe.customModels': [
      { id: 'florence-2-base', path: join(workspace, 'models', 'tiny-florence2') },
      { id: 'qwen2-vl-2b', path: join(workspace, 'models', 'tiny-qwen2vl') },
      { id: 'omniparser-icon-detect', path: join(workspace, 'models', 'tiny-yolo') },
    ],
    'loupe.allowDownloads': false,
    'loupe.device': 'cpu',
  };
}

export interface NotebookCellSpec {
  kind?: 'code' | 'markdown';
  source: string;
}

export function notebookJson(cells: NotebookCellSpec[]): string {
  return JSON.stringify(
    {
      loupe: 1,
      metadata: {},
      cells: cells.map((c) => ({ kind: c.kind ?? 'code', language: c.kind === 'markdown' ? 'markdown' : 'loupe', source: c.source, metadata: {}, outputs: [] })),
    },
    null,
    2,
  );
}

/** A temp folder with examples/ (tour.loupe, images/), models/tiny-*, spot.png, broken.jpg, huge.png and the scenario notebooks. */
export async function makeWorkspace(): Promise<string> {
  const ws = mkdtempSync(join(tmpdir(), 'loupe-e2e-ws-'));
  cpSync(join(REPO_ROOT, 'examples'), ws, { recursive: true });
  mkdirSync(join(ws, 'models'));
  for (const m of ['tiny-florence2', 'tiny-qwen2vl', 'tiny-yolo']) cpSync(join(REPO_ROOT, 'test', 'fixtures', 'models', m), join(ws, 'models', m), { recursive: true });
  const [x1, y1, x2, y2] = SPOT_BOX;
  await sharp({ create: { width: SPOT_SIZE.width, height: SPOT_SIZE.height, channels: 3, background: { r: 20, g: 20, b: 28 } } })
    .composite([{ input: { create: { width: x2 - x1, height: y2 - y1, channels: 3, background: { r: 255, g: 255, b: 255 } } }, left: x1, top: y1 }])
    .png()
    .toFile(join(ws, 'spot.png'));
  // The same picture under another name, so the interrupt scenario's outputs are told apart from spot.loupe's.
  cpSync(join(ws, 'spot.png'), join(ws, 'long.png'));
  const jpeg = readFileSync(join(ws, 'images', 'rocket.jpg'));
  writeFileSync(join(ws, 'broken.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  writeFileSync(join(ws, 'huge.png'), pngDeclaring(30000, 30000));
  // A dark phone screen with plain bright buttons (one red): what tiny-yolo boxes exactly (screens scenario).
  await sharp({ create: { width: SCREEN_SIZE.width, height: SCREEN_SIZE.height, channels: 3, background: { r: 24, g: 24, b: 28 } } })
    .composite(SCREEN_BUTTONS.map(({ box: [a, b, c, d], color }) => ({ input: { create: { width: c - a, height: d - b, channels: 3 as const, background: color } }, left: a, top: b })))
    .png()
    .toFile(join(ws, 'screen-e2e.png'));
  writeFileSync(join(ws, 'screen.loupe'), notebookJson(SCREEN_CELLS));
  writeFileSync(join(ws, 'spot.loupe'), notebookJson([{ source: '@image spot.png\n@task ground\nthe lamp' }]));
  writeFileSync(join(ws, 'long.loupe'), notebookJson([{ source: LONG_CELL }, { source: SHORT_CELL }]));
  writeFileSync(join(ws, 'merge.loupe'), notebookJson(MERGE_CELLS));
  // A clip whose bright square moves right frame by frame (test/helpers/video.ts): a video cell and grounding across frames.
  await makeSpotClip(join(ws, 'spot.mp4'), { frames: VIDEO_CLIP.frames, fps: VIDEO_CLIP.fps });
  writeFileSync(join(ws, 'video.loupe'), notebookJson([{ source: '@video spot.mp4\n@set frames=6' }, { source: '@video spot.mp4\n@set frames=6\n@task ground\nthe spot' }]));
  cpSync(join(ws, 'spot.png'), join(ws, 'side.png'));
  mkdirSync(join(ws, 'batch'));
  for (let i = 0; i < 20; i++) {
    const s = batchSpot(i);
    const [bx1, by1, bx2, by2] = s.box;
    await sharp({ create: { width: s.width, height: s.height, channels: 3, background: { r: 20, g: 20, b: 28 } } })
      .composite([{ input: { create: { width: bx2 - bx1, height: by2 - by1, channels: 3, background: { r: 255, g: 255, b: 255 } } }, left: bx1, top: by1 }])
      .png()
      .toFile(join(ws, 'batch', `spot-${String(i).padStart(2, '0')}.png`));
  }
  const spots = Array.from({ length: 20 }, (_, i) => batchSpot(i));
  writeFileSync(
    join(ws, 'batch', 'truth.json'),
    JSON.stringify({
      images: spots.map((s, i) => ({ id: i + 1, file_name: `spot-${String(i).padStart(2, '0')}.png`, width: s.width, height: s.height })),
      annotations: spots.map((s, i) => ({ id: i + 1, image_id: i + 1, category_id: 1, bbox: [s.box[0], s.box[1], s.box[2] - s.box[0], s.box[3] - s.box[1]], area: 1, iscrowd: 0 })),
      categories: [{ id: 1, name: 'lamp' }],
    }),
  );
  writeFileSync(join(ws, 'batch.loupe'), notebookJson([{ source: BATCH_CELL }]));
  writeFileSync(join(ws, 'side.loupe'), notebookJson([{ source: SIDE_CELL }]));
  writeFileSync(join(ws, 'bad-images.loupe'), notebookJson([{ source: '@image broken.jpg' }, { source: '@image huge.png' }, { source: '@image huge.png\n@task caption' }]));
  return ws;
}

/** The "Loupe" log channel files of a user-data folder (remote extension host's output logs). */
export function loupeLogs(userDataDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (/Loupe\.log$/.test(n)) out.push(p);
    }
  };
  walk(join(userDataDir, 'logs'));
  return out;
}

export interface DelayLine {
  cell: number;
  /** monitorEventLoopDelay's worst interval (1 ms resolution). */
  maxMs: number;
  p99Ms: number;
  /** Attribution (the harness asks for it): the most CPU the loop's thread used in one tick, and the worst tick's split. */
  ownCpuMaxMs?: number;
  worstTickMs?: number;
  worstTickCpuMs?: number;
  worstTickRunQueueMs?: number;
  line: string;
}

/** Every `cell N: extension host event loop max-delay-ms=X p99-ms=Y [own-cpu-max-ms=… …]` line logged so far, in order. */
export function eventLoopLines(userDataDir: string): DelayLine[] {
  const out: DelayLine[] = [];
  for (const f of loupeLogs(userDataDir)) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = /cell (\d+): extension host event loop max-delay-ms=([\d.]+) p99-ms=([\d.]+)(?: own-cpu-max-ms=([\d.]+) worst-tick-ms=([\d.]+) worst-tick-cpu-ms=([\d.]+) worst-tick-runqueue-ms=([\d.]+))?/.exec(line);
      if (!m) continue;
      out.push({
        cell: Number(m[1]),
        maxMs: Number(m[2]),
        p99Ms: Number(m[3]),
        ...(m[4] ? { ownCpuMaxMs: Number(m[4]), worstTickMs: Number(m[5]), worstTickCpuMs: Number(m[6]), worstTickRunQueueMs: Number(m[7]) } : {}),
        line: line.trim(),
      });
    }
  }
  return out;
}
