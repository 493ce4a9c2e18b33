// The tiny scripted fixture models load and answer through transformers.js's public API exactly
// like the real exports (see test/fixtures/models/*/README.md for the scripted answers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AutoProcessor,
  Florence2ForConditionalGeneration,
  Qwen2VLForCausalLM,
  Qwen2VLForConditionalGeneration,
  RawImage,
  cat,
  env,
} from '@huggingface/transformers';

const ROOT = join(import.meta.dirname ?? __dirname, '..');
const MODELS = join(ROOT, 'test', 'fixtures', 'models');
const FLORENCE = join(MODELS, 'tiny-florence2');
const QWEN = join(MODELS, 'tiny-qwen2vl');
const COFFEE = join(ROOT, 'examples', 'images', 'coffee.png');
const CHELSEA = join(ROOT, 'examples', 'images', 'chelsea.png');

if (!existsSync(join(QWEN, 'onnx', 'decoder_model_merged.onnx'))) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'fixtures.ts'), '--if-missing'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('fixture generation failed');
}
env.allowRemoteModels = false;

/** Black image with one white rectangle [x0,x1) x [y0,y1) (pixels). */
function spot(width: number, height: number, [x0, y0, x1, y1]: number[]): RawImage {
  const data = new Uint8ClampedArray(width * height * 3);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
  return new RawImage(data, width, height, 3);
}

const locs = (text: string) => [...text.matchAll(/<loc_(\d+)>/g)].map((m) => Number(m[1]));

// ---------------------------------------------------------------------------------------------
// Florence-2

let florence: { processor: any; model: any } | null = null;
async function loadFlorence() {
  florence ??= {
    processor: await AutoProcessor.from_pretrained(FLORENCE),
    model: await Florence2ForConditionalGeneration.from_pretrained(FLORENCE, { dtype: 'fp32', device: 'cpu' }),
  };
  return florence;
}

async function runFlorence(image: RawImage, task: string, input = ''): Promise<string> {
  const { processor, model } = await loadFlorence();
  const inputs = await processor(image, processor.construct_prompts(task + input));
  const ids = await model.generate({ ...inputs, max_new_tokens: 100 });
  return processor.batch_decode(ids, { skip_special_tokens: false })[0];
}

test('florence2: fixed-text tasks answer their scripted text on coffee.png', async () => {
  const image = await RawImage.read(COFFEE);
  const { processor } = await loadFlorence();
  assert.equal(await runFlorence(image, '<CAPTION>'), '</s><s>A tiny fixture image.</s>');
  assert.equal(
    await runFlorence(image, '<DETAILED_CAPTION>'),
    '</s><s>The image shows a tiny fixture scene with one bright region.</s>',
  );
  const more = await runFlorence(image, '<MORE_DETAILED_CAPTION>');
  assert.equal(
    processor.post_process_generation(more, '<MORE_DETAILED_CAPTION>', image.size)['<MORE_DETAILED_CAPTION>'],
    'The image shows a tiny fixture scene. Its brightest part is found by the vision encoder, and everything else is darker.',
  );
  assert.equal(await runFlorence(image, '<OCR>'), '</s><s>FIXTURE TEXT</s>');
  // Anything that is not a task prompt is echoed back.
  assert.equal(await runFlorence(image, 'hello there'), '</s><s>hello there</s>');
});

test('florence2: boxes on coffee.png (bright patches everywhere -> whole image)', async () => {
  const image = await RawImage.read(COFFEE);
  const { processor } = await loadFlorence();
  const od = await runFlorence(image, '<OD>');
  assert.equal(od, '</s><s>bright region<loc_0><loc_1><loc_998><loc_999></s>');
  const parsed = processor.post_process_generation(od, '<OD>', image.size)['<OD>'];
  assert.deepEqual(parsed.labels, ['bright region']);
  assert.deepEqual(parsed.bboxes[0].map((v: number) => Math.round(v)), [0, 1, 599, 400]);
  assert.equal(
    await runFlorence(image, '<OCR_WITH_REGION>'),
    '</s><s>FIXTURE TEXT<loc_0><loc_1><loc_998><loc_1><loc_998><loc_999><loc_0><loc_999></s>',
  );
  assert.equal(await runFlorence(image, '<DENSE_REGION_CAPTION>'), '</s><s>a bright region<loc_0><loc_1><loc_998><loc_999></s>');
  assert.equal(await runFlorence(image, '<REGION_PROPOSAL>'), '</s><s><loc_0><loc_1><loc_998><loc_999></s>');
  assert.equal(await runFlorence(image, '<OPEN_VOCABULARY_DETECTION>', 'a cup'), '</s><s>bright object<loc_0><loc_1><loc_998><loc_999></s>');
});

test('florence2: the box follows the bright spot', async () => {
  const { processor } = await loadFlorence();
  // 600x400 image, spot at x 360..480, y 80..160: bins x 600..800, y 200..400.
  const a = await runFlorence(spot(600, 400, [360, 80, 480, 160]), '<OD>');
  assert.match(a, /^<\/s><s>bright region(<loc_\d+>){4}<\/s>$/);
  const [x1, y1, x2, y2] = locs(a);
  assert.ok(Math.abs(x1 - 600) <= 42 && Math.abs(x2 - 800) <= 42, a);
  assert.ok(Math.abs(y1 - 200) <= 42 && Math.abs(y2 - 400) <= 42, a);
  assert.equal(x1 % 2, 0);
  assert.equal(y1 % 2, 1);
  const box = processor.post_process_generation(a, '<OD>', [600, 400])['<OD>'].bboxes[0];
  assert.ok(box[0] <= 360 + 25 && box[2] >= 480 - 25 && box[1] <= 80 + 17 && box[3] >= 160 - 17, String(box));

  // Moving the spot to the lower-left corner moves the tokens.
  const b = locs(await runFlorence(spot(600, 400, [0, 300, 100, 400]), '<OD>'));
  assert.deepEqual(b.slice(0, 1), [0]);
  assert.ok(b[1] >= 700 && b[2] <= 210 && b[3] === 999, String(b));
});

test('florence2: region tasks echo the prompt <loc_N> tokens', async () => {
  const image = await RawImage.read(COFFEE);
  const region = '<loc_52><loc_332><loc_932><loc_774>';
  assert.equal(await runFlorence(image, '<REGION_TO_DESCRIPTION>', region), `</s><s>a region of the fixture image${region}</s>`);
  assert.equal(await runFlorence(image, '<REGION_TO_CATEGORY>', region), `</s><s>bright region${region}</s>`);
  assert.equal(await runFlorence(image, '<REGION_TO_OCR>', region), `</s><s>TEXT IN REGION${region}</s>`);
  assert.equal(
    await runFlorence(image, '<REGION_TO_SEGMENTATION>', region),
    '</s><s><loc_52><loc_332><loc_932><loc_332><loc_932><loc_774><loc_52><loc_774></s>',
  );
});

test('florence2: phrase grounding echoes the phrase with the bright box', async () => {
  const { processor } = await loadFlorence();
  const image = spot(300, 300, [0, 0, 150, 150]);
  const text = await runFlorence(image, '<CAPTION_TO_PHRASE_GROUNDING>', 'a cup of coffee');
  assert.equal(text, '</s><s> a cup of coffee<loc_0><loc_1><loc_498><loc_499></s>');
  const r = processor.post_process_generation(text, '<CAPTION_TO_PHRASE_GROUNDING>', image.size);
  assert.deepEqual(r['<CAPTION_TO_PHRASE_GROUNDING>'].labels, ['a cup of coffee']);
});

test('florence2: a batch of two images is answered row by row', async () => {
  const { processor, model } = await loadFlorence();
  const images = [spot(200, 200, [0, 0, 100, 100]), spot(200, 200, [100, 100, 200, 200])];
  const inputs = await processor(images, processor.construct_prompts(['<OD>', '<OD>']));
  const ids = await model.generate({ ...inputs, max_new_tokens: 20 });
  const texts = processor.batch_decode(ids, { skip_special_tokens: false });
  assert.equal(texts[0], '</s><s>bright region<loc_0><loc_1><loc_498><loc_499></s>');
  assert.equal(texts[1], '</s><s>bright region<loc_500><loc_501><loc_998><loc_999></s>');
});

// ---------------------------------------------------------------------------------------------
// Qwen2-VL

let qwen: { processor: any; model: any } | null = null;
async function loadQwen() {
  qwen ??= {
    processor: await AutoProcessor.from_pretrained(QWEN),
    model: await Qwen2VLForConditionalGeneration.from_pretrained(QWEN, { dtype: 'fp32', device: 'cpu' }),
  };
  return qwen;
}

async function runQwen(text: string, image: RawImage | null): Promise<string> {
  const { processor, model } = await loadQwen();
  const content = image ? [{ type: 'image' }, { type: 'text', text }] : [{ type: 'text', text }];
  const prompt = processor.apply_chat_template([{ role: 'user', content }], { add_generation_prompt: true });
  const inputs = image ? await processor(prompt, image) : await processor(prompt);
  const ids = await model.generate({ ...inputs, max_new_tokens: 60 });
  return processor.batch_decode(ids.slice(null, [inputs.input_ids.dims.at(-1), null]), { skip_special_tokens: false })[0];
}

test('qwen2vl: processor inputs have the real shapes (pixel patches, grid, 3-row rope ids)', async () => {
  const { processor, model } = await loadQwen();
  const image = await RawImage.read(COFFEE); // 600x400 -> smart_resize 588x392 -> 28x42 patches
  const prompt = processor.apply_chat_template([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'Hi' }] }], {
    add_generation_prompt: true,
  });
  const inputs = await processor(prompt, image);
  assert.deepEqual(inputs.pixel_values.dims, [28 * 42, 1176]);
  assert.deepEqual(inputs.image_grid_thw.tolist(), [[1n, 28n, 42n]]);
  const [pos] = model.get_rope_index(inputs.input_ids, inputs.image_grid_thw, null, inputs.attention_mask);
  assert.deepEqual(pos.dims, [3, 1, inputs.input_ids.dims[1]]);
  assert.deepEqual(model.sessions.decoder_model_merged.inputNames.slice(0, 3), ['inputs_embeds', 'attention_mask', 'position_ids']);
  assert.deepEqual(model.sessions.vision_encoder.inputNames, ['pixel_values', 'grid_thw']);
});

test('qwen2vl: scripted answers', async () => {
  const image = await RawImage.read(COFFEE);
  assert.equal(await runQwen('Describe this image.', image), 'A tiny fixture image with a bright region.<|im_end|>');
  assert.equal(await runQwen('Hi', null), 'Hello from tiny-qwen2vl.<|im_end|>');
  assert.equal(
    await runQwen('Detect the bright region.', image),
    '<|object_ref_start|>the bright region<|object_ref_end|><|box_start|>(0,0),(1000,1000)<|box_end|><|im_end|>',
  );
});

test('qwen2vl: a referring box in the prompt is echoed token for token', async () => {
  const image = await RawImage.read(COFFEE);
  const out = await runQwen('What is in <|object_ref_start|>the cup<|object_ref_end|><|box_start|>(120,45),(560,900)<|box_end|>?', image);
  assert.equal(out, 'You asked about <|box_start|>(120,45),(560,900)<|box_end|>.<|im_end|>');
});

test('qwen2vl: the grounded box follows the bright spot', async () => {
  // 640x480 -> smart_resize 644x476 -> 23x17 merged tokens.
  const box = async (rect: number[]) => {
    const out = await runQwen('Please locate the bright spot.', spot(640, 480, rect));
    const m = out.match(/<\|box_start\|>\((\d+),(\d+)\),\((\d+),(\d+)\)<\|box_end\|><\|im_end\|>$/);
    assert.ok(m, out);
    return m.slice(1).map(Number);
  };
  const [x1, y1, x2, y2] = await box([400, 100, 520, 200]); // relative 625..812, 208..416
  assert.ok(Math.abs(x1 - 625) <= 44 && Math.abs(x2 - 812) <= 44, `${x1},${x2}`);
  assert.ok(Math.abs(y1 - 208) <= 59 && Math.abs(y2 - 416) <= 59, `${y1},${y2}`);
  const [a1, b1, a2, b2] = await box([0, 360, 160, 480]);
  assert.equal(a1, 0);
  assert.equal(b2, 1000);
  assert.ok(a2 <= 300 && b1 >= 700, `${a1},${b1},${a2},${b2}`);
});

/**
 * Several images built the way Loupe (and the Python processor) does it: transformers.js's image processor
 * would stack a list of images as video frames, so each image is processed alone, patches and grids are
 * concatenated and each `<|image_pad|>` is expanded to that image's token count.
 */
async function runQwenImages(text: string, images: RawImage[]): Promise<{ out: string; inputs: any }> {
  const { processor, model } = await loadQwen();
  const content = [...images.map(() => ({ type: 'image' })), { type: 'text', text }];
  const prompt: string = processor.apply_chat_template([{ role: 'user', content }], { add_generation_prompt: true });
  const per: any[] = [];
  for (const image of images) per.push(await processor.image_processor(image));
  const merge = Number(processor.image_processor.config.merge_size ?? 2) ** 2;
  let i = 0;
  const expanded = prompt.replace(/<\|image_pad\|>/g, () => {
    const [t, h, w] = (per[i++].image_grid_thw.tolist()[0] as bigint[]).map(Number);
    return '<|image_pad|>'.repeat((t * h * w) / merge);
  });
  const inputs = {
    ...processor.tokenizer(expanded),
    pixel_values: cat(per.map((p) => p.pixel_values), 0),
    image_grid_thw: cat(per.map((p) => p.image_grid_thw), 0),
  };
  const ids = await model.generate({ ...inputs, max_new_tokens: 40 });
  return { out: processor.batch_decode(ids.slice(null, [inputs.input_ids.dims.at(-1), null]), { skip_special_tokens: false })[0], inputs };
}

const BOX_RE = /^<\|object_ref_start\|>the bright region<\|object_ref_end\|><\|box_start\|>\((\d+),(\d+)\),\((\d+),(\d+)\)<\|box_end\|><\|im_end\|>$/;
const LOCATE = 'Locate the bright region in the image and output its bounding box.';

test('qwen2vl: two images of different sizes (per-image processing, concatenated grids)', async () => {
  const images = [await RawImage.read(COFFEE), await RawImage.read(CHELSEA)]; // 600x400 and 451x300
  const { out, inputs } = await runQwenImages('What differs?', images);
  assert.deepEqual(inputs.image_grid_thw.tolist(), [[1n, 28n, 42n], [1n, 22n, 32n]]);
  assert.deepEqual(inputs.pixel_values.dims, [28 * 42 + 22 * 32, 1176]);
  const padId = (await loadQwen()).model.config.image_token_id;
  assert.equal((inputs.input_ids.tolist()[0] as bigint[]).filter((x) => Number(x) === padId).length, (28 * 42 + 22 * 32) / 4);
  assert.equal(out, 'A tiny fixture image with a bright region.<|im_end|>');

  // The box is the first image's: coffee.png alone answers the same.
  const two = (await runQwenImages(LOCATE, images)).out;
  assert.equal(two, '<|object_ref_start|>the bright region<|object_ref_end|><|box_start|>(0,0),(1000,1000)<|box_end|><|im_end|>');
  assert.equal(two, await runQwen(LOCATE, images[0]));
});

test('qwen2vl: with two images the grounded box follows the first image\'s bright spot', async () => {
  const a = spot(640, 480, [400, 100, 520, 200]); // 23x17 merged tokens; relative 625..812, 208..416
  const b = spot(300, 200, [0, 100, 100, 200]); // 308x196 -> 11x7 merged tokens; relative 0..333, 500..1000
  const box = (out: string) => {
    const m = out.match(BOX_RE);
    assert.ok(m, out);
    return m.slice(1).map(Number);
  };
  const ab = box((await runQwenImages(LOCATE, [a, b])).out);
  assert.deepEqual(ab, box(await runQwen(LOCATE, a)));
  const [x1, y1, x2, y2] = ab;
  assert.ok(Math.abs(x1 - 625) <= 44 && Math.abs(x2 - 812) <= 44, String(ab));
  assert.ok(Math.abs(y1 - 208) <= 59 && Math.abs(y2 - 416) <= 59, String(ab));

  const ba = box((await runQwenImages(LOCATE, [b, a])).out);
  assert.deepEqual(ba, box(await runQwen(LOCATE, b)));
  const [p1, q1, p2, q2] = ba;
  assert.ok(p1 === 0 && q2 === 1000 && Math.abs(p2 - 333) <= 91 && Math.abs(q1 - 500) <= 143, String(ba));
});

test('qwen2vl: text-only Qwen2VLForCausalLM loads embed_tokens + decoder_model_merged only', async () => {
  const { processor } = await loadQwen();
  const model = await Qwen2VLForCausalLM.from_pretrained(QWEN, { dtype: 'fp32', device: 'cpu' });
  try {
    assert.deepEqual(Object.keys(model.sessions).sort(), ['decoder_model_merged', 'embed_tokens']);
    const prompt = processor.apply_chat_template([{ role: 'user', content: 'Hi' }], { add_generation_prompt: true });
    const inputs = processor.tokenizer(prompt);
    const ids = (await model.generate({ ...inputs, max_new_tokens: 20 })) as any;
    const out = processor.batch_decode(ids.slice(null, [inputs.input_ids.dims.at(-1), null]), { skip_special_tokens: true })[0];
    assert.equal(out, 'Hello from tiny-qwen2vl.');
  } finally {
    await model.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// Loading

test('dtype q4 loads the _q4 files', async () => {
  const files = new Set<string>();
  const model = await Qwen2VLForConditionalGeneration.from_pretrained(QWEN, {
    dtype: 'q4',
    device: 'cpu',
    progress_callback: (p: any) => p.file && files.add(p.file),
  });
  try {
    for (const name of ['vision_encoder', 'embed_tokens', 'decoder_model_merged']) {
      assert.equal(model.sessions[name].config.dtype, 'q4');
      assert.ok(files.has(`onnx/${name}_q4.onnx`), [...files].join(', '));
    }
  } finally {
    await model.dispose();
  }
  const per = await Florence2ForConditionalGeneration.from_pretrained(FLORENCE, {
    dtype: { vision_encoder: 'fp32', embed_tokens: 'q8', encoder_model: 'fp32', decoder_model_merged: 'q4' },
    device: 'cpu',
  });
  assert.equal(per.sessions.embed_tokens.config.dtype, 'q8');
  assert.equal(per.sessions.decoder_model_merged.config.dtype, 'q4');
  await per.dispose();
});

test('a truncated .onnx fails to load with a protobuf error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-trunc-'));
  try {
    cpSync(FLORENCE, dir, { recursive: true });
    const file = join(dir, 'onnx', 'decoder_model_merged.onnx');
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(
      Florence2ForConditionalGeneration.from_pretrained(dir, { dtype: 'fp32', device: 'cpu' }),
      // onnxruntime: "Load model from …/decoder_model_merged.onnx failed:Protobuf parsing failed."
      (err: Error) => /decoder_model_merged\.onnx failed:Protobuf parsing failed/.test(err.message),
    );
    // A Git LFS pointer in place of the model fails the same way.
    copyFileSync(join(FLORENCE, 'onnx', 'decoder_model_merged.onnx'), file);
    writeFileSync(join(dir, 'onnx', 'vision_encoder.onnx'), 'version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n');
    await assert.rejects(
      Florence2ForConditionalGeneration.from_pretrained(dir, { dtype: 'fp32', device: 'cpu' }),
      (err: Error) => /vision_encoder\.onnx failed:Protobuf parsing failed/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.after(async () => {
  await florence?.model.dispose();
  await qwen?.model.dispose();
});
