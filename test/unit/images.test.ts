import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadImage, resolveImagePath } from '../../src/images/load';
import { animatedGif, cmykJpeg, exifRotatedJpeg, palettePng, pngDeclaring, EXAMPLE_IMAGES, TEST_IMAGE_DIRS, sixteenBitPng } from '../helpers/images';

const dir = mkdtempSync(join(tmpdir(), 'loupe-images-'));
const write = (name: string, data: Buffer | string) => {
  writeFileSync(join(dir, name), data);
  return name;
};

async function displayed(r: Awaited<ReturnType<typeof loadImage>>) {
  assert.ok(r.ok, r.ok ? '' : r.error);
  const bytes = Buffer.from(r.image.display.data, 'base64');
  return { meta: await sharp(bytes).metadata(), bytes, image: r.image };
}

test('every test image loads with its natural size and a display copy', async () => {
  const expected: Record<string, [number, number]> = {
    'astronaut.png': [512, 512],
    'camera.png': [512, 512],
    'chelsea.png': [451, 300],
    'coffee.png': [600, 400],
    'coins.png': [384, 303],
    'rocket.jpg': [640, 427],
    'screen-login.png': [800, 600],
    'text.png': [448, 172],
  };
  const files = TEST_IMAGE_DIRS.flatMap((dir) => readdirSync(dir).filter((f) => /\.(png|jpe?g)$/.test(f)).map((f) => ({ dir, f })));
  assert.deepEqual(files.map((x) => x.f).sort(), Object.keys(expected).sort());
  for (const { dir, f } of files) {
    const { meta, image } = await displayed(await loadImage(f, { baseDir: dir }));
    assert.deepEqual([image.width, image.height], expected[f], f);
    assert.deepEqual([meta.width, meta.height], expected[f], `${f}: small images are not enlarged`);
    assert.equal(meta.depth, 'uchar');
    assert.equal(image.path, join(dir, f));
  }
});

test('large images are scaled to 1600 px on the longest side for display', async () => {
  write('wide.png', await sharp(join(EXAMPLE_IMAGES, 'coffee.png')).resize(3000, 2000).png().toBuffer());
  const { meta, image } = await displayed(await loadImage('wide.png', { baseDir: dir }));
  assert.deepEqual([image.width, image.height], [3000, 2000]);
  assert.deepEqual([meta.width, meta.height], [1600, 1067]);
});

test('an EXIF-rotated JPEG is shown upright: width and height swap', async () => {
  write('rotated.jpg', await exifRotatedJpeg(join(EXAMPLE_IMAGES, 'coffee.png'), 6));
  const { meta, image } = await displayed(await loadImage('rotated.jpg', { baseDir: dir }));
  assert.deepEqual([image.width, image.height], [400, 600]);
  assert.deepEqual([meta.width, meta.height], [400, 600]);
  assert.equal(meta.orientation, undefined, 'orientation is applied, not passed on');
  assert.ok(image.notes.some((n) => /orientation 6/.test(n)));
});

test('16-bit, CMYK and palette images become 8-bit sRGB', async () => {
  const coffee = join(EXAMPLE_IMAGES, 'coffee.png');
  write('deep.png', await sixteenBitPng(coffee));
  write('cmyk.jpg', await cmykJpeg(coffee));
  write('palette.png', await palettePng(coffee));
  for (const [name, note] of [
    ['deep.png', /16-bit image converted to 8-bit/],
    ['cmyk.jpg', /CMYK colour converted to sRGB/],
    ['palette.png', undefined],
  ] as const) {
    const { meta, image } = await displayed(await loadImage(name, { baseDir: dir }));
    assert.equal(meta.depth, 'uchar', name);
    assert.equal(meta.space, 'srgb', name);
    assert.deepEqual([image.width, image.height], [600, 400], name);
    if (note) assert.ok(image.notes.some((n) => note.test(n)), `${name}: ${image.notes.join('; ')}`);
  }
});

test('an animated GIF shows its first frame and says so', async () => {
  write('anim.gif', await animatedGif(40, 30, 3));
  const { meta, image } = await displayed(await loadImage('anim.gif', { baseDir: dir }));
  assert.deepEqual([image.width, image.height, meta.width, meta.height], [40, 30, 40, 30]);
  assert.ok(image.notes.some((n) => /3 frames: showing the first frame/.test(n)));
  const { data } = await sharp(Buffer.from(image.display.data, 'base64')).raw().toBuffer({ resolveWithObject: true });
  assert.ok(data[0]! > 200 && data[1]! < 50, 'first frame is the red one');
});

test('a PNG declaring 30000×30000 pixels is refused from its header, without decoding', async () => {
  write('huge.png', pngDeclaring(30000, 30000));
  const before = process.memoryUsage().rss;
  const r = await loadImage('huge.png', { baseDir: dir });
  assert.equal(r.ok, false);
  assert.match((r as { error: string }).error, /huge\.png is 30000×30000 pixels \(900\.0 MP\), above the limit of 50 MP \(setting loupe\.maxImagePixels\); it was not decoded/);
  assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, 'no gigabyte allocation');
});

test('the pixel limit follows the setting', async () => {
  const r = await loadImage('coffee.png', { baseDir: EXAMPLE_IMAGES, maxPixels: 100_000 });
  assert.equal(r.ok, false);
  assert.match((r as { error: string }).error, /600×400 pixels \(0\.2 MP\), above the limit/);
});

const badCases: [string, () => Promise<string> | string, RegExp][] = [
  ['missing file', () => 'nope.png', /image not found: nope\.png/],
  ['a folder', () => (mkdirSync(join(dir, 'folder.png'), { recursive: true }), 'folder.png'), /folder\.png is a folder, not an image file/],
  ['an empty file', () => write('empty.png', Buffer.alloc(0)), /empty\.png is empty \(0 bytes\)/],
  ['a text file named .png', () => write('notes.png', 'these are my notes, not pixels\n'), /notes\.png is not an image Loupe can read/],
  [
    'a truncated JPEG',
    async () => {
      const full = await sharp(join(EXAMPLE_IMAGES, 'rocket.jpg')).toBuffer();
      return write('truncated.jpg', full.subarray(0, Math.floor(full.length / 2)));
    },
    /truncated\.jpg is corrupt or truncated/,
  ],
  [
    'a truncated PNG',
    async () => {
      const full = await sharp(join(EXAMPLE_IMAGES, 'coffee.png')).png().toBuffer();
      return write('truncated.png', full.subarray(0, Math.floor(full.length / 3)));
    },
    /truncated\.png is corrupt or truncated/,
  ],
  ['a named pipe', () => (execFileSync('mkfifo', [join(dir, 'pipe.png')]), 'pipe.png'), /pipe\.png is not a regular file/],
];

for (const [name, make, re] of badCases) {
  test(`bad input gives a clear per-image message: ${name}`, async () => {
    const r = await loadImage(await make(), { baseDir: dir });
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, re);
  });
}

test('relative paths need a saved notebook; absolute and file: paths do not', () => {
  assert.throws(() => resolveImagePath('a.png', undefined), /has not been saved yet/);
  assert.equal(resolveImagePath('/x/a.png', undefined), '/x/a.png');
  assert.equal(resolveImagePath('file:///x/a%20b.png', undefined), '/x/a b.png');
  assert.equal(resolveImagePath('img/a.png', '/nb'), '/nb/img/a.png');
});

test('https images are downloaded with clear errors', async () => {
  const png = await sharp(join(EXAMPLE_IMAGES, 'chelsea.png')).png().toBuffer();
  const fakeFetch = (async (url: string) =>
    url.endsWith('/ok.png') ? new Response(png, { status: 200 }) : new Response('no', { status: 404, statusText: 'Not Found' })) as unknown as typeof fetch;
  const ok = await loadImage('https://images.test/ok.png', { fetch: fakeFetch });
  assert.ok(ok.ok && ok.image.width === 451);
  const missing = await loadImage('https://images.test/missing.png', { fetch: fakeFetch });
  assert.match((missing as { error: string }).error, /could not download https:\/\/images\.test\/missing\.png: HTTP 404 Not Found/);
  const offline = await loadImage('https://images.test/x.png', { fetch: (async () => { throw new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND images.test') }); }) as unknown as typeof fetch });
  assert.match((offline as { error: string }).error, /could not download .*ENOTFOUND/);
});
