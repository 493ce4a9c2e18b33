// Generates the screen grounding set: small HTML screens rendered in Chromium (a login form, a settings list, a
// phone-sized portrait screen 1080×2400, a landscape tablet screen), each element's box read from the DOM, and a
// ScreenSpot-style truth file (img_filename, bbox [x, y, w, h] in screenshot pixels, instruction, data_type).
//
//   node --import tsx scripts/screens.ts [--out test/fixtures/screens]
//
// The output is committed; scripts/screen-score.ts scores models on it. Chromium: /usr/bin/chromium (CHROMIUM_PATH).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = join(import.meta.dirname, '..');
const argOut = process.argv.indexOf('--out');
const OUT = resolve(argOut > 0 ? process.argv[argOut + 1]! : join(ROOT, 'test', 'fixtures', 'screens'));

export interface TruthItem {
  img_filename: string;
  /** ScreenSpot's box: left, top, width, height in screenshot pixels. */
  bbox: [number, number, number, number];
  instruction: string;
  data_type: 'text' | 'icon';
  data_source: string;
  img_size: [number, number];
}

interface Screen {
  name: string;
  source: string;
  /** CSS viewport and device pixel ratio: the screenshot is width·dpr × height·dpr. */
  width: number;
  height: number;
  dpr: number;
  html: string;
}

const BASE = `<style>*{box-sizing:border-box;margin:0}body{font:16px/1.4 "DejaVu Sans",sans-serif}button{font:inherit;border:0;border-radius:8px;cursor:pointer}
input{font:inherit;border-radius:6px;padding:8px 10px}.row{display:flex;align-items:center;justify-content:space-between}</style>`;

// Elements with data-instr are the targets; data-type says text or icon, as ScreenSpot does.
const SCREENS: Screen[] = [
  {
    name: 'login-form',
    source: 'web',
    width: 800,
    height: 600,
    dpr: 1,
    html: `${BASE}<body style="background:#1b1f24;color:#e6edf3;display:grid;place-items:center;height:600px">
<form style="width:340px;padding:28px;background:#22272e;border-radius:12px">
<h1 data-instr="the page title Welcome back" data-type="text" style="font-size:24px;margin-bottom:18px;display:inline-block">Welcome back</h1>
<label style="display:block;font-size:13px;color:#9da7b3">Email</label>
<input data-instr="the email field" data-type="text" style="width:100%;margin:4px 0 12px;background:#2d333b;color:#e6edf3;border:1px solid #444c56" value="ada@example.com">
<label style="display:block;font-size:13px;color:#9da7b3">Password</label>
<input type="password" data-instr="the password field" data-type="text" style="width:100%;margin:4px 0 12px;background:#2d333b;color:#e6edf3;border:1px solid #444c56" value="secret">
<div class="row" style="margin-bottom:16px"><label style="font-size:13px"><input type="checkbox" data-instr="the remember me checkbox" data-type="icon" style="width:16px;height:16px;vertical-align:middle"> Remember me</label>
<a data-instr="the Forgot password link" data-type="text" style="color:#58a6ff;font-size:13px">Forgot password?</a></div>
<button data-instr="the Sign in button" data-type="text" style="width:100%;padding:10px;background:#f0f6fc;color:#1b1f24;font-weight:600">Sign in</button>
</form></body>`,
  },
  {
    name: 'settings-list',
    source: 'web',
    width: 720,
    height: 900,
    dpr: 1,
    html: `${BASE}<body style="background:#f6f8fa;color:#1f2328;padding:24px">
<div class="row" style="margin-bottom:16px"><span data-instr="the back arrow" data-type="icon" style="font-size:26px;width:36px;display:inline-block;text-align:center">←</span><h1 style="font-size:22px;flex:1;margin-left:8px">Settings</h1><span data-instr="the search icon" data-type="icon" style="font-size:22px">🔍</span></div>
${['Wi-Fi', 'Bluetooth', 'Airplane mode', 'Dark theme', 'Notifications']
  .map((t, i) => `<div class="row" style="background:#fff;border:1px solid #d0d7de;padding:14px 16px;${i ? 'border-top:0' : 'border-radius:8px 8px 0 0'}"><span data-instr="the ${t} setting label" data-type="text">${t}</span><span data-instr="the ${t} switch" data-type="icon" style="width:44px;height:24px;border-radius:12px;background:${i % 2 ? '#d0d7de' : '#1f883d'};display:inline-block"></span></div>`)
  .join('')}
<button data-instr="the Sign out button" data-type="text" style="margin-top:24px;padding:10px 18px;background:#cf222e;color:#fff">Sign out</button>
</body>`,
  },
  {
    name: 'phone-portrait',
    source: 'ios',
    width: 360,
    height: 800,
    dpr: 3,
    html: `${BASE}<body style="background:#ffffff;color:#111;height:800px;display:flex;flex-direction:column">
<div class="row" style="padding:10px 16px;font-size:13px"><span>9:41</span><span>100%</span></div>
<div class="row" style="padding:8px 16px"><span data-instr="the menu icon" data-type="icon" style="font-size:24px">☰</span><b style="font-size:18px">Inbox</b><span data-instr="the compose icon" data-type="icon" style="font-size:22px">✎</span></div>
<input data-instr="the search bar" data-type="text" placeholder="Search mail" style="margin:8px 16px;border:1px solid #ccc;background:#f2f2f2">
${['Grace Hopper', 'Alan Turing', 'Katherine Johnson', 'Linus T.'].map((n) => `<div style="padding:12px 16px;border-bottom:1px solid #eee"><b data-instr="the message from ${n}" data-type="text">${n}</b><div style="color:#666;font-size:14px">Re: the meeting tomorrow</div></div>`).join('')}
<div style="flex:1"></div>
<div class="row" style="padding:10px 40px;border-top:1px solid #ddd;font-size:22px"><span data-instr="the mail tab" data-type="icon">✉</span><span data-instr="the calendar tab" data-type="icon">📅</span><span data-instr="the settings tab" data-type="icon">⚙</span></div>
<button data-instr="the floating new message button" data-type="icon" style="position:absolute;right:20px;bottom:70px;width:56px;height:56px;border-radius:28px;background:#1a73e8;color:#fff;font-size:26px">+</button>
</body>`,
  },
  {
    name: 'tablet-landscape',
    source: 'android',
    width: 1024,
    height: 640,
    dpr: 2,
    html: `${BASE}<body style="background:#121212;color:#eee;display:flex;height:640px">
<nav style="width:220px;background:#1e1e1e;padding:16px">${['Home', 'Library', 'Downloads', 'Settings'].map((t) => `<div data-instr="the ${t} item in the sidebar" data-type="text" style="padding:10px 12px;border-radius:6px;margin-bottom:4px">${t}</div>`).join('')}</nav>
<main style="flex:1;padding:24px"><div class="row"><h1 data-instr="the heading Now playing" data-type="text" style="font-size:26px">Now playing</h1><span data-instr="the close icon" data-type="icon" style="font-size:24px">✕</span></div>
<div style="margin:24px 0;height:260px;background:linear-gradient(135deg,#333,#555);border-radius:12px"></div>
<div class="row" style="width:320px;margin:0 auto;font-size:30px"><span data-instr="the previous track button" data-type="icon">⏮</span><button data-instr="the play button" data-type="icon" style="width:64px;height:64px;border-radius:32px;background:#fff;color:#121212;font-size:28px">▶</button><span data-instr="the next track button" data-type="icon">⏭</span></div>
<input type="range" data-instr="the volume slider" data-type="icon" style="display:block;width:300px;margin:24px auto 0"></main>
</body>`,
  },
];

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--font-render-hinting=none'] });
  const truth: TruthItem[] = [];
  try {
    for (const s of SCREENS) {
      const page = await browser.newPage({ viewport: { width: s.width, height: s.height }, deviceScaleFactor: s.dpr });
      // Nothing leaves the machine: the screens are inline HTML.
      await page.route('**/*', (r) => (r.request().url().startsWith('data:') ? r.continue() : r.abort()));
      await page.setContent(`<!doctype html><html><head><meta charset="utf-8"></head>${s.html}</html>`, { timeout: 30_000 });
      const file = `${s.name}.png`;
      await page.screenshot({ path: join(OUT, file), timeout: 30_000 });
      const boxes = await page.$$eval('[data-instr]', (els) => els.map((e) => ({ r: e.getBoundingClientRect().toJSON() as DOMRect, instr: e.getAttribute('data-instr')!, type: e.getAttribute('data-type')! })));
      for (const b of boxes) {
        truth.push({
          img_filename: file,
          bbox: [b.r.x, b.r.y, b.r.width, b.r.height].map((v) => Math.round(v * s.dpr)) as TruthItem['bbox'],
          instruction: b.instr,
          data_type: b.type === 'icon' ? 'icon' : 'text',
          data_source: s.source,
          img_size: [s.width * s.dpr, s.height * s.dpr],
        });
      }
      await page.close();
    }
  } finally {
    await browser.close();
  }
  writeFileSync(join(OUT, 'screenspot.json'), JSON.stringify(truth, null, 1) + '\n');
  console.log(`[screens] ${SCREENS.length} screens, ${truth.length} instructions → ${OUT}`);
}

if (process.argv[1] && /screens\.ts$/.test(process.argv[1])) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
