import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { ERROR_MIME, RESULT_MIME, type LoupeResult } from '../../src/common/result';
import { Kernel, UNTRUSTED_MESSAGE, type KernelCell, type PromptRunner } from '../../src/core/kernel/kernel';
import type { OutputSpec } from '../../src/core/kernel/outputs';
import { EXAMPLE_IMAGES } from '../helpers/images';

/** Records what VS Code would see of one cell's execution. */
class FakeExecution {
  readonly events: string[] = [];
  outputs: OutputSpec[] = [];
  order = 0;
  success: boolean | undefined | 'pending' = 'pending';
  readonly abort = new AbortController();
  get signal() {
    return this.abort.signal;
  }
  start(order: number) {
    this.order = order;
    this.events.push('start');
  }
  async replaceOutputs(o: OutputSpec[]) {
    this.outputs = o;
    this.events.push('outputs');
  }
  end(success: boolean | undefined) {
    this.success = success;
    this.events.push(`end:${success}`);
  }
}

function cell(source: string, log: FakeExecution[], notebook = 'nb1', baseDir: string | null = EXAMPLE_IMAGES): KernelCell {
  return {
    notebook,
    baseDir: baseDir ?? undefined,
    source,
    language: 'loupe',
    createExecution: () => {
      const e = new FakeExecution();
      log.push(e);
      return e;
    },
  };
}

const item = (o: OutputSpec, mime: string) => o.items.find((i) => i.mime === mime);
const json = (o: OutputSpec, mime = RESULT_MIME) => JSON.parse(new TextDecoder().decode(item(o, mime)!.data));
const text = (o: OutputSpec) => new TextDecoder().decode(item(o, 'text/plain')!.data);

/** Prompt cells are not what these tests are about: this runner refuses them, visibly. */
const refuse: PromptRunner = { run: async () => false };
const trusted = () => new Kernel({ isTrusted: () => true, maxImagePixels: () => 50_000_000, prompts: refuse });

test('an image cell shows each image with result JSON, an image fallback and alt text', async () => {
  const log: FakeExecution[] = [];
  await trusted().execute([cell('@image coffee.png\n@image rocket.jpg', log)]);
  const [e] = log;
  assert.deepEqual(e!.events, ['start', 'outputs', 'end:true']);
  const out = e!.outputs[0]!;
  const result = json(out) as LoupeResult;
  assert.equal(result.kind, 'images');
  assert.equal(result.status, 'ok');
  assert.deepEqual(
    result.images.map((i) => [i.index, i.source, i.width, i.height, i.display?.mime]),
    [
      [1, 'coffee.png', 600, 400, 'image/jpeg'],
      [2, 'rocket.jpg', 640, 427, 'image/jpeg'],
    ],
  );
  assert.equal(typeof result.timings.totalMs, 'number');
  // Two photos: the fallback is a JPEG of both side by side (600 + 8 + 640 wide), no wider than 1024 px (B12).
  const fallback = await sharp(Buffer.from(item(out, 'image/jpeg')!.data)).metadata();
  assert.equal(fallback.format, 'jpeg');
  assert.deepEqual([fallback.width, fallback.height], [1024, Math.round((427 * 1024) / (600 + 8 + 640))], 'both images side by side');
  assert.match(text(out), /Image 1: coffee\.png \(600×400, PNG\)\nImage 2: rocket\.jpg \(640×427, JPEG\)/);
  assert.deepEqual((out.metadata as { loupe: { timings: object } }).loupe.timings, result.timings);
});

test('one bad image gets its own message and does not stop the others', async () => {
  const log: FakeExecution[] = [];
  await trusted().execute([cell('@image missing.png\n@image chelsea.png', log), cell('@image coffee.png', log)]);
  const [bad, good] = log;
  assert.equal(bad!.success, false);
  const result = json(bad!.outputs[0]!) as LoupeResult;
  assert.equal(result.images[0]!.error, 'image not found: missing.png');
  assert.equal(result.images[1]!.width, 451);
  assert.match(text(bad!.outputs[0]!), /Image 1: missing\.png — image not found/);
  assert.equal(good!.success, true, 'later cells still run');
});

test('cells of one notebook run one at a time, in order, with increasing execution order', async () => {
  const log: FakeExecution[] = [];
  const k = trusted();
  await Promise.all([k.execute([cell('@image coffee.png', log), cell('@image text.png', log)]), k.execute([cell('@image chelsea.png', log)])]);
  assert.deepEqual(
    log.map((e) => e.order),
    [1, 2, 3],
  );
  // Each cell ends before the next starts.
  const timeline = log.flatMap((e, i) => e.events.map((ev) => `${i}:${ev}`));
  assert.deepEqual(timeline, ['0:start', '0:outputs', '0:end:true', '1:start', '1:outputs', '1:end:true', '2:start', '2:outputs', '2:end:true']);
});

test('interrupt stops the running cell and drops queued ones without marks', async () => {
  const log: FakeExecution[] = [];
  let release!: () => void;
  const started = new Promise<void>((r) => (release = r));
  const prompts: PromptRunner = {
    run: (_c, ctx) =>
      new Promise<boolean>((resolve) => {
        release();
        ctx.signal.addEventListener('abort', () => resolve(false));
      }),
  };
  const k = new Kernel({ isTrusted: () => true, maxImagePixels: () => 1e9, prompts });
  const run = k.execute([cell('Describe this.', log), cell('@image coffee.png', log), cell('@image text.png', log)]);
  await started;
  assert.deepEqual(
    log.map((e) => e.events),
    [['start'], [], []],
    'queued cells are created (pending) but not started',
  );
  k.interrupt('nb1');
  await run;
  assert.deepEqual(
    log.map((e) => e.success),
    [undefined, undefined, undefined],
  );
  assert.deepEqual(log[1]!.events, ['end:undefined']);
  // The kernel still works afterwards.
  const again: FakeExecution[] = [];
  await k.execute([cell('@image coffee.png', again)]);
  assert.equal(again[0]!.success, true);
  assert.equal(again[0]!.order, 2, 'execution order continues');
});

test('interrupting one notebook leaves another running', async () => {
  const log: FakeExecution[] = [];
  const k = trusted();
  const a = k.execute([cell('@image coffee.png', log, 'A')]);
  k.interrupt('B');
  await a;
  assert.equal(log[0]!.success, true);
});

test('untrusted workspace: cells do not run and say why', async () => {
  const log: FakeExecution[] = [];
  await new Kernel({ isTrusted: () => false, maxImagePixels: () => 1e9, prompts: refuse }).execute([cell('@image coffee.png', log)]);
  assert.equal(log[0]!.success, false);
  assert.equal(json(log[0]!.outputs[0]!, ERROR_MIME).message, UNTRUSTED_MESSAGE);
});

test('syntax errors are shown with line and column, and nothing runs', async () => {
  const log: FakeExecution[] = [];
  let ran = false;
  const k = new Kernel({ isTrusted: () => true, maxImagePixels: () => 1e9, prompts: { run: async () => (ran = true) } });
  await k.execute([cell('@image coffee.png\n@tsk ocr\n@set top_p=3', log)]);
  assert.equal(ran, false);
  assert.equal(log[0]!.success, false);
  const err = json(log[0]!.outputs[0]!, ERROR_MIME);
  assert.equal(err.name, 'Cell syntax error');
  assert.match(err.message, /^line 2, column 1: unknown directive @tsk.*\nline 3, column 6: top_p must be in \(0, 1\]/s);
});

test('prompt cells go to the engine with the parsed cell', async () => {
  const log: FakeExecution[] = [];
  const seen: string[] = [];
  const k = new Kernel({
    isTrusted: () => true,
    maxImagePixels: () => 1e9,
    prompts: {
      run: async (c, ctx) => {
        seen.push(`${c.task}|${c.prompt}|${ctx.baseDir}`);
        await ctx.replaceOutputs([]);
        return true;
      },
    },
  });
  await k.execute([cell('@image coffee.png\n@task caption\nBe brief.', log)]);
  assert.deepEqual(seen, [`caption|Be brief.|${EXAMPLE_IMAGES}`]);
  assert.equal(log[0]!.success, true);
});

test('an empty cell succeeds with no output', async () => {
  const log: FakeExecution[] = [];
  await trusted().execute([cell('\n  \n', log)]);
  assert.equal(log[0]!.success, true);
  assert.deepEqual(log[0]!.outputs, []);
});

test('an untitled notebook cannot resolve relative paths and says how to fix it', async () => {
  const log: FakeExecution[] = [];
  await trusted().execute([cell('@image coffee.png', log, 'untitled:1', null)]);
  assert.match((json(log[0]!.outputs[0]!) as LoupeResult).images[0]!.error!, /save it first or use an absolute path/);
});

test('a bug in a prompt runner fails that cell only', async () => {
  const log: FakeExecution[] = [];
  const k = new Kernel({ isTrusted: () => true, maxImagePixels: () => 1e9, prompts: { run: async () => { throw new Error('boom'); } } });
  await k.execute([cell('Hi', log), cell('@image coffee.png', log)]);
  assert.equal(log[0]!.success, false);
  assert.match(json(log[0]!.outputs[0]!, ERROR_MIME).message, /boom/);
  assert.equal(log[1]!.success, true);
});
