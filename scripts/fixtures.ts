// Generates tiny, scripted ONNX fixture models with the exact file layout, session names, input/output
// names, ranks and dtypes that @huggingface/transformers 4.3.1 loads for the real Florence-2 and
// Qwen2-VL exports (onnx-community/Florence-2-base-ft, onnx-community/Qwen2-VL-2B-Instruct).
// The decoders are "scripted": their logits are a one-hot of a known token sequence chosen from the
// prompt, with box coordinates computed from the image, so end-to-end tests can assert exact text.
//
//   node --import tsx scripts/fixtures.ts [--if-missing]
//
// Each fixture folder gets a generated README.md describing the scripted behaviour.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Graph, T } from './onnx-graph';
import { buildTinyYolo } from './fixtures-yolo';


const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'test', 'fixtures', 'models');
const STAMP = join(OUT, '.fixtures-stamp');
/** Quantized-name copies written next to each fp32 file so dtype selection can be exercised. */
export const VARIANT_SUFFIXES: Record<string, string> = { q4: '_q4', q8: '_quantized' };

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Tiny byte-level BPE tokenizers.

function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const map: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = String.fromCodePoint(bs.includes(b) ? b : 256 + n++);
  }
  return map;
}
const BYTE_CHARS = bytesToUnicode();
const toByteLevel = (s: string) => Array.from(Buffer.from(s, 'utf8'), (b) => BYTE_CHARS[b]).join('');

const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const QWEN2_SPLIT_JS =
  /'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
const QWEN2_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

interface Vocab {
  vocab: Record<string, number>;
  merges: string[];
  next: number;
}

/** Adds prefix-chain merges for every pre-token of `texts`, so those words encode to few tokens. */
function addWords(v: Vocab, texts: string[], split: RegExp): void {
  const pieces = new Set<string>();
  for (const t of texts) for (const m of t.match(split) ?? []) pieces.add(toByteLevel(m));
  // Space-prefixed pieces first: their chains then win over the bare word's chain.
  const ordered = [...pieces].sort((a, b) => Number(b.startsWith('Ġ')) - Number(a.startsWith('Ġ')) || b.length - a.length);
  for (const p of ordered) {
    const chars = Array.from(p);
    let cur = chars[0];
    for (let i = 1; i < chars.length; i++) {
      const nxt = cur + chars[i];
      if (!(nxt in v.vocab)) {
        v.vocab[nxt] = v.next++;
        v.merges.push(`${cur} ${chars[i]}`);
      }
      cur = nxt;
    }
  }
}

const addedToken = (id: number, content: string, special = true, normalized = false) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized, special,
});

/** Special tokens after the vocabulary, in order: their added-token entries and their ids by text. */
function addSpecials(v: Vocab, texts: readonly string[]): { added: ReturnType<typeof addedToken>[]; special: Record<string, number> } {
  const special: Record<string, number> = {};
  const added = texts.map((t) => {
    special[t] = v.next;
    return addedToken(v.next++, t);
  });
  return { added, special };
}

// ---------------------------------------------------------------------------------------------
// Scripted decoder core, shared by both fixtures.
//
// "Records" are per-position feature vectors (channels below) that the decoder can see: for
// Florence-2 the encoder output, for Qwen2-VL the KV cache (prompt + generated tokens).
// Channel layout of every embedding / image feature row. `gen` and `pos` are written by the Qwen2-VL
// decoder itself (added onto the embedding), so image features must leave them 0; `image` is the index
// of the image a Qwen2-VL image token belongs to (in prompt order).
const CH = { id: 0, isText: 1, isImage: 2, bright: 3, x1: 4, y1: 5, x2: 6, y2: 7, gen: 8, pos: 9, image: 10 } as const;
const HOT = 30; // logit of the scripted token; every other logit is 0

type Part = string | { box: number } | { echo: true } | { echoAt: number } | { id: number };
interface Script {
  key: string;
  parts: Part[];
  echoKind: number; // index into the echo masks (0 = none)
}
interface Rule {
  tokens: number[]; // all must be present in the prompt (vocab ids); -1 = "an image is present"
  prio: number;
  script: number;
}
interface Slot {
  kind: 0 | 1 | 2; // 0 const id, 1 box value index, 2 k-th echoed token
  val: number;
}
interface CompiledScript {
  before: Slot[];
  after: Slot[];
  hasEcho: boolean;
  echoKind: number;
}

function compileScripts(scripts: Script[], encode: (s: string) => number[]): CompiledScript[] {
  return scripts.map((s) => {
    const before: Slot[] = [];
    const after: Slot[] = [];
    let hasEcho = false;
    for (const p of s.parts) {
      const target = hasEcho ? after : before;
      if (typeof p === 'string') target.push(...encode(p).map((val) => ({ kind: 0 as const, val })));
      else if ('id' in p) target.push({ kind: 0, val: p.id });
      else if ('box' in p) target.push({ kind: 1, val: p.box });
      else if ('echoAt' in p) target.push({ kind: 2, val: p.echoAt });
      else {
        if (hasEcho) throw new Error(`script ${s.key}: one echo segment at most`);
        hasEcho = true;
      }
    }
    return { before, after, hasEcho, echoKind: s.echoKind };
  });
}

interface CoreArgs {
  recs: string; // [B,S,C] float
  valid: string; // [B,S] float (1 = prompt position that counts)
  steps: string; // [B or 1, Tq] int64: index of the answer token each position predicts
  words: number[]; // vocab ids whose presence the rules test
  rules: Rule[];
  scripts: CompiledScript[];
  echoMasks: ((ids: string, text: string) => string)[]; // kind >= 1; each returns [B,S] float
  boxBase: number; // vocab id of value 0 (<loc_0> / "0")
  boxMax: number;
  vocabSize: number;
  parity?: boolean;
  /** Box from the first image of each row only (records carry CH.image); otherwise from every image position. */
  firstImageBox?: boolean;
  /** Box from the last image of each row only (SmolVLM: a split image's whole-picture tile comes last). */
  lastImageBox?: boolean;
}

/** Builds the scripted decoding logic; returns the logits tensor name [B,Tq,V]. */
function scriptedCore(g: Graph, a: CoreArgs): string {
  const ids = g.ch(a.recs, CH.id);
  const text = g.mul(g.ch(a.recs, CH.isText), a.valid);
  const img = g.mul(g.ch(a.recs, CH.isImage), a.valid);

  // Which rule fires: all required tokens present, highest priority wins.
  const eq = g.boolF(g.op('Equal', [g.unsq(ids, [2]), g.f32(a.words, [a.words.length])]));
  const presW = g.rmax(g.mul(eq, g.unsq(text, [2])), [1], 0); // [B,W]
  const anyImg = g.rmax(img, [1], 1); // [B,1]
  const pres = g.op('Concat', [presW, anyImg], { axis: 1 });
  const W = a.words.length + 1;
  const R = a.rules.length;
  const M = new Float32Array(W * R);
  const bias = new Float32Array(R);
  a.rules.forEach((r, j) => {
    for (const t of r.tokens) M[(t < 0 ? a.words.length : a.words.indexOf(t)) * R + j] = 1000;
    bias[j] = r.prio - 1000 * r.tokens.length;
  });
  const scores = g.add(g.op('MatMul', [pres, g.f32(M, [W, R])]), g.f32(bias, [R]));
  const rule = g.op('ArgMax', [scores], { axis: 1, keepdims: 1 }); // [B,1]
  const script = g.op('Gather', [g.i64(a.rules.map((r) => r.script)), rule], { axis: 0 }); // [B,1]

  // Bright region: image positions whose brightness is at least halfway between the darkest and
  // brightest image position; the box is their bounding box (in the vision encoder's bin units).
  const BIG = g.f32([1e6], [1]);
  let boxImg = img;
  if (a.firstImageBox) {
    // Only the tokens of the row's first image (lowest image index) take part in the box.
    const imgIdx = g.ch(a.recs, CH.image);
    const first = g.rmin(g.add(g.mul(imgIdx, img), g.mul(g.sub(g.f32([1], [1]), img), BIG)), [1], 1); // [B,1]
    boxImg = g.mul(img, g.boolF(g.op('Equal', [imgIdx, first])));
  }
  if (a.lastImageBox) {
    const imgIdx = g.ch(a.recs, CH.image);
    const last = g.rmax(g.sub(g.mul(imgIdx, img), g.mul(g.sub(g.f32([1], [1]), img), BIG)), [1], 1); // [B,1]
    boxImg = g.mul(img, g.boolF(g.op('Equal', [imgIdx, last])));
  }
  const bright = g.ch(a.recs, CH.bright);
  const notImg = g.sub(g.f32([1], [1]), boxImg);
  const bmax = g.rmax(g.sub(g.mul(bright, boxImg), g.mul(notImg, BIG)), [1], 1);
  const bmin = g.rmin(g.add(g.mul(bright, boxImg), g.mul(notImg, BIG)), [1], 1);
  const thr = g.sub(bmax, g.mul(g.sub(bmax, bmin), g.f32([0.5], [1])));
  const sel = g.mul(g.boolF(g.op('GreaterOrEqual', [bright, thr])), boxImg);
  const notSel = g.sub(g.f32([1], [1]), sel);
  const lo = (c: number) => g.rmin(g.add(g.mul(g.ch(a.recs, c), sel), g.mul(notSel, BIG)), [1], 1);
  const hi = (c: number) => g.rmax(g.sub(g.mul(g.ch(a.recs, c), sel), g.mul(notSel, BIG)), [1], 1);
  let box = g.cast(g.op('Concat', [lo(CH.x1), lo(CH.y1), hi(CH.x2), hi(CH.y2)], { axis: 1 }), T.INT64);
  box = g.op('Min', [g.op('Max', [box, g.s64(0)]), g.s64(a.boxMax)]); // [B,4]; no image -> clamped
  if (a.parity) {
    // x bins even, y bins odd: a square box would otherwise repeat a 3-gram in its quad
    // (x1 y1 x2 y1 x2 y2 x1 y2), which no_repeat_ngram_size=3 bans.
    const two = g.s64(2);
    box = g.add(g.mul(g.div(box, two), two), g.i64([0, 1, 0, 1], [1, 4]));
  }

  // Echo masks, selected per batch row by the script's echo kind.
  const zero = g.mul(a.valid, g.f32([0], [1]));
  const masks = [zero, ...a.echoMasks.map((f) => f(ids, text))].map((m) => g.unsq(m, [1]));
  const stacked = g.op('Concat', masks, { axis: 1 }); // [B,K,S]
  const kind = g.op('Gather', [g.i64(a.scripts.map((s) => s.echoKind)), script], { axis: 0 }); // [B,1]
  const kindIdx = g.op('Expand', [g.unsq(kind, [2]), g.op('Shape', [masks[0]])]); // [B,1,S]
  const emask = g.op('GatherElements', [stacked, kindIdx], { axis: 1 }); // [B,1,S]
  const cum = g.op('CumSum', [emask, g.s64(2)]);
  const L = g.cast(g.rsum(emask, [2], 0), T.INT64); // [B,1]

  // Script tables: slots = before ++ after; the echo segment sits between them.
  const Lmax = Math.max(...a.scripts.map((s) => s.before.length + s.after.length));
  const kinds: number[] = [];
  const vals: number[] = [];
  for (const s of a.scripts) {
    const slots = [...s.before, ...s.after];
    for (let i = 0; i < Lmax; i++) {
      const slot = slots[Math.min(i, slots.length - 1)];
      kinds.push(slot.kind);
      vals.push(slot.val);
    }
  }
  const NO_ECHO = 1 << 20;
  const e = g.op('Gather', [g.i64(a.scripts.map((s) => (s.hasEcho ? s.before.length : NO_ECHO))), script], { axis: 0 });
  const k = g.add(a.steps, g.mul(script, g.s64(0))); // broadcast steps to [B,Tq]
  const eL = g.add(e, L);
  const inEcho = g.op('And', [g.op('GreaterOrEqual', [k, e]), g.op('Less', [k, eL])]);
  const kAfter = g.op('Where', [g.op('GreaterOrEqual', [k, eL]), g.sub(k, L), k]);
  const slotIdx = g.op('Min', [kAfter, g.s64(Lmax - 1)]);
  const flat = g.add(g.mul(script, g.s64(Lmax)), slotIdx);
  const kindT = g.op('Gather', [g.i64(kinds), flat], { axis: 0 });
  const valT = g.op('Gather', [g.i64(vals), flat], { axis: 0 });
  const boxIdx = g.op('Min', [g.op('Max', [valT, g.s64(0)]), g.s64(3)]);
  const boxTok = g.add(g.op('GatherElements', [box, boxIdx], { axis: 1 }), g.s64(a.boxBase));
  const j = g.op('Where', [inEcho, g.sub(k, e), valT]);
  const jf = g.unsq(g.cast(g.add(j, g.s64(1)), T.FLOAT), [2]); // [B,Tq,1]
  const hit = g.mul(g.boolF(g.op('Equal', [cum, jf])), emask); // [B,Tq,S]
  const echoTok = g.cast(g.rsum(g.mul(hit, g.unsq(ids, [1])), [2], 0), T.INT64);
  const isKind = (n: number) => g.op('Equal', [kindT, g.s64(n)]);
  const tok = g.op('Where', [inEcho, echoTok, g.op('Where', [isKind(0), valT, g.op('Where', [isKind(1), boxTok, echoTok])])]);
  return g.op('OneHot', [tok, g.i64([a.vocabSize]), g.f32([0, HOT], [2])], { axis: -1 });
}

/** Positions after the first occurrence of token `start` (excluded) and before the first `end`. */
function between(g: Graph, ids: string, text: string, start: number, end: number | null): string {
  const isS = g.mul(g.boolF(g.op('Equal', [ids, g.f32([start], [1])])), text);
  const afterS = g.boolF(g.op('Greater', [g.op('CumSum', [isS, g.s64(1)]), g.f32([0], [1])]));
  let m = g.mul(g.mul(afterS, g.sub(g.f32([1], [1]), isS)), text);
  if (end !== null) {
    const isE = g.mul(g.boolF(g.op('Equal', [ids, g.f32([end], [1])])), text);
    const beforeE = g.boolF(g.op('Equal', [g.op('CumSum', [isE, g.s64(1)]), g.f32([0], [1])]));
    m = g.mul(m, beforeE);
  }
  return m;
}

/** Text positions whose id is in [lo, hi] and not in `except`. */
function idRange(g: Graph, ids: string, text: string, lo: number, hi: number, except: number[] = []): string {
  let m = g.mul(g.boolF(g.op('GreaterOrEqual', [ids, g.f32([lo], [1])])), g.boolF(g.op('LessOrEqual', [ids, g.f32([hi], [1])])));
  for (const x of except) m = g.mul(m, g.boolF(g.op('Not', [g.op('Equal', [ids, g.f32([x], [1])])])));
  return g.mul(m, text);
}

/** Embedding table [V,H]: channel id = token id, isText = 1; other channels a small fixed pattern. */
function embedTable(V: number, H: number): Float32Array {
  const t = new Float32Array(V * H);
  for (let v = 0; v < V; v++) {
    t[v * H + CH.id] = v;
    t[v * H + CH.isText] = 1;
    for (let c = 10; c < H; c++) t[v * H + c] = Math.round(Math.sin(v * 0.37 + c) * 1000) / 50000;
  }
  return t;
}

function buildEmbedTokens(V: number, H: number): Graph {
  const g = new Graph();
  const ids = g.input('input_ids', T.INT64, ['batch_size', 'sequence_length']);
  const out = g.op('Gather', [g.f32(embedTable(V, H), [V, H]), ids], { axis: 0 });
  g.output(out, 'inputs_embeds', T.FLOAT, ['batch_size', 'sequence_length', H]);
  return g;
}

/** [N] int64 positions -> float [N,4] bin edges (x1,y1,x2,y2) on a `scale`-bin axis. */
function binEdges(g: Graph, col: string, row: string, gw: string, gh: string, scale: number, inclusiveEnd: boolean): string {
  const S = g.s64(scale);
  const one = g.s64(1);
  const lo = (i: string, n: string) => g.div(g.mul(i, S), n);
  const hi = (i: string, n: string) => {
    const v = g.div(g.mul(g.add(i, one), S), n);
    return inclusiveEnd ? g.sub(v, one) : v;
  };
  const cols = [lo(col, gw), lo(row, gh), hi(col, gw), hi(row, gh)].map((x) => g.unsq(g.cast(x, T.FLOAT), [1]));
  return g.op('Concat', cols, { axis: 1 });
}

// ---------------------------------------------------------------------------------------------
// Florence-2

const FLORENCE_POST: Record<string, string> = {
  '<OCR>': 'pure_text',
  '<OCR_WITH_REGION>': 'ocr',
  '<CAPTION>': 'pure_text',
  '<DETAILED_CAPTION>': 'pure_text',
  '<MORE_DETAILED_CAPTION>': 'pure_text',
  '<OD>': 'description_with_bboxes',
  '<DENSE_REGION_CAPTION>': 'description_with_bboxes',
  '<CAPTION_TO_PHRASE_GROUNDING>': 'phrase_grounding',
  '<REFERRING_EXPRESSION_SEGMENTATION>': 'polygons',
  '<REGION_TO_SEGMENTATION>': 'polygons',
  '<OPEN_VOCABULARY_DETECTION>': 'description_with_bboxes_or_polygons',
  '<REGION_TO_CATEGORY>': 'pure_text',
  '<REGION_TO_DESCRIPTION>': 'pure_text',
  '<REGION_TO_OCR>': 'pure_text',
  '<REGION_PROPOSAL>': 'bboxes',
};
const FLORENCE_NO_INPUT: Record<string, string> = {
  '<OCR>': 'What is the text in the image?',
  '<OCR_WITH_REGION>': 'What is the text in the image, with regions?',
  '<CAPTION>': 'What does the image describe?',
  '<DETAILED_CAPTION>': 'Describe in detail what is shown in the image.',
  '<MORE_DETAILED_CAPTION>': 'Describe with a paragraph what is shown in the image.',
  '<OD>': 'Locate the objects with category name in the image.',
  '<DENSE_REGION_CAPTION>': 'Locate the objects in the image, with their descriptions.',
  '<REGION_PROPOSAL>': 'Locate the region proposals in the image.',
};
const FLORENCE_WITH_INPUT: Record<string, string> = {
  '<CAPTION_TO_PHRASE_GROUNDING>': 'Locate the phrases in the caption: {input}',
  '<REFERRING_EXPRESSION_SEGMENTATION>': 'Locate {input} in the image with mask',
  '<REGION_TO_SEGMENTATION>': 'What is the polygon mask of region {input}',
  '<OPEN_VOCABULARY_DETECTION>': 'Locate {input} in the image.',
  '<REGION_TO_CATEGORY>': 'What is the region {input}?',
  '<REGION_TO_DESCRIPTION>': 'What does the region {input} describe?',
  '<REGION_TO_OCR>': 'What text is in the region {input}?',
};
const BOX: Part[] = [{ box: 0 }, { box: 1 }, { box: 2 }, { box: 3 }];
const QUAD: Part[] = [0, 1, 2, 1, 2, 3, 0, 3].map((box) => ({ box }));
// Echo kinds for Florence-2 (index into the echo mask list, 0 = none).
const F_ECHO = { none: 0, loc: 1, afterColon: 2, allText: 3 } as const;

/** What the tiny Florence-2 answers, per task (the text between `<s>` and `</s>`). */
export const FLORENCE_ANSWERS: Record<string, { parts: Part[]; echo: number; doc: string }> = {
  '<CAPTION>': { parts: ['A tiny fixture image.'], echo: 0, doc: 'fixed caption' },
  '<DETAILED_CAPTION>': { parts: ['The image shows a tiny fixture scene with one bright region.'], echo: 0, doc: 'fixed caption' },
  '<MORE_DETAILED_CAPTION>': {
    parts: ['The image shows a tiny fixture scene. Its brightest part is found by the vision encoder, and everything else is darker.'],
    echo: 0,
    doc: 'fixed caption',
  },
  '<OCR>': { parts: ['FIXTURE TEXT'], echo: 0, doc: 'fixed text' },
  '<OCR_WITH_REGION>': { parts: ['FIXTURE TEXT', ...QUAD], echo: 0, doc: 'fixed text + quad of the bright box (x1,y1,x2,y1,x2,y2,x1,y2)' },
  '<OD>': { parts: ['bright region', ...BOX], echo: 0, doc: 'label + bright box' },
  '<DENSE_REGION_CAPTION>': { parts: ['a bright region', ...BOX], echo: 0, doc: 'label + bright box' },
  '<REGION_PROPOSAL>': { parts: [...BOX], echo: 0, doc: 'bright box only' },
  '<CAPTION_TO_PHRASE_GROUNDING>': {
    parts: [{ echo: true }, ...BOX],
    echo: F_ECHO.afterColon,
    doc: 'echo of the phrase tokens after "caption:" (so the text starts with a space; labels are trimmed) + bright box',
  },
  '<REFERRING_EXPRESSION_SEGMENTATION>': { parts: [...QUAD], echo: 0, doc: 'polygon = quad of the bright box' },
  '<REGION_TO_SEGMENTATION>': {
    parts: [0, 1, 2, 1, 2, 3, 0, 3].map((echoAt) => ({ echoAt })),
    echo: F_ECHO.loc,
    doc: 'polygon built from the prompt region <loc_a><loc_b><loc_c><loc_d>: a,b,c,b,c,d,a,d',
  },
  '<OPEN_VOCABULARY_DETECTION>': { parts: ['bright object', ...BOX], echo: 0, doc: 'label + bright box' },
  '<REGION_TO_CATEGORY>': { parts: ['bright region', { echo: true }], echo: F_ECHO.loc, doc: 'label + echo of every <loc_N> in the prompt' },
  '<REGION_TO_DESCRIPTION>': { parts: ['a region of the fixture image', { echo: true }], echo: F_ECHO.loc, doc: 'text + echo of every <loc_N> in the prompt' },
  '<REGION_TO_OCR>': { parts: ['TEXT IN REGION', { echo: true }], echo: F_ECHO.loc, doc: 'text + echo of every <loc_N> in the prompt' },
  '': { parts: [{ echo: true }], echo: F_ECHO.allText, doc: 'no task prompt recognised: echo of the whole prompt text' },
};

const FLORENCE_H = 32; // d_model (768 in the real model)
const FLORENCE_LAYERS = 2; // decoder_layers / encoder_layers (6 in the real base model)
const FLORENCE_HEADS = 4; // attention heads (12 in the real model)
const FLORENCE_PATCH = 32; // 768 / 32 = 24x24 patches + 1 pooled token = 577 features, like the real encoder

interface Tok {
  vocab: Record<string, number>;
  merges: string[];
  added: ReturnType<typeof addedToken>[];
  size: number;
}

function florenceTokenizer(): Tok & { loc0: number } {
  const v: Vocab = { vocab: { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 }, merges: [], next: 4 };
  for (const c of BYTE_CHARS) v.vocab[c] = v.next++;
  const texts = [
    ...Object.values(FLORENCE_NO_INPUT),
    ...Object.values(FLORENCE_WITH_INPUT).map((t) => t.replace('{input}', '')),
    ...Object.values(FLORENCE_ANSWERS).flatMap((a) => a.parts.filter((p): p is string => typeof p === 'string')),
    'a cup of coffee on a table',
  ];
  addWords(v, texts, GPT2_SPLIT);
  const added = ['<s>', '<pad>', '</s>', '<unk>'].map((content, id) => addedToken(id, content, true, true));
  const special = (content: string) => {
    const id = v.next++;
    added.push(addedToken(id, content));
    return id;
  };
  added.push({ ...addedToken(v.next, '<mask>', true, true), lstrip: true });
  v.vocab['<mask>'] = v.next++;
  ['<od>', '</od>', '<ocr>', '</ocr>'].forEach(special);
  const loc0 = v.next;
  for (let i = 0; i < 1000; i++) special(`<loc_${i}>`);
  ['<cap>', '</cap>', '<ncap>', '</ncap>', '<dcap>', '</dcap>', '<grounding>', '</grounding>', '<seg>', '</seg>', '<sep>',
    '<region_cap>', '</region_cap>', '<region_to_desciption>', '</region_to_desciption>', '<proposal>', '</proposal>',
    '<poly>', '</poly>', '<and>'].forEach(special);
  return { vocab: v.vocab, merges: v.merges, added, size: v.next, loc0 };
}

function florenceVision(H: number): Graph {
  const g = new Graph();
  const px = g.input('pixel_values', T.FLOAT, ['batch_size', 3, 'height', 'width']);
  const gray = g.op('ReduceMean', [px], { axes: [1], keepdims: 1 });
  const pooled = g.op('AveragePool', [gray], { kernel_shape: [FLORENCE_PATCH, FLORENCE_PATCH], strides: [FLORENCE_PATCH, FLORENCE_PATCH] });
  const bright = g.op('Flatten', [pooled], { axis: 1 }); // [B,N]
  const gh = g.op('Shape', [pooled], { start: 2, end: 3 });
  const gw = g.op('Shape', [pooled], { start: 3, end: 4 });
  const n = g.sq(g.mul(gh, gw), [0]);
  const p = g.op('Range', [g.s64(0), n, g.s64(1)]);
  const coords = binEdges(g, g.op('Mod', [p, gw]), g.div(p, gw), gw, gh, 1000, true); // [N,4] loc bins
  const shapeBN = g.op('Shape', [bright]);
  const expandTo = (x: string, c: number) => g.op('Expand', [x, g.op('Concat', [shapeBN, g.i64([c])], { axis: 0 })]);
  const patches = g.op('Concat', [
    expandTo(g.f32([-1, 0, 1], [1, 1, 3]), 3),
    g.unsq(bright, [2]),
    expandTo(g.unsq(coords, [0]), 4),
    expandTo(g.f32(new Float32Array(H - 8), [1, 1, H - 8]), H - 8),
  ], { axis: 2 });
  // Leading pooled token (like DaViT's extra token): not an image patch for the script.
  const mean = g.unsq(g.op('ReduceMean', [bright], { axes: [1], keepdims: 1 }), [2]); // [B,1,1]
  const shapeB1 = g.op('Shape', [mean], { start: 0, end: 2 });
  const expand1 = (x: string, c: number) => g.op('Expand', [x, g.op('Concat', [shapeB1, g.i64([c])], { axis: 0 })]);
  const pooledTok = g.op('Concat', [expand1(g.f32([-1, 0, 0], [1, 1, 3]), 3), mean, expand1(g.f32(new Float32Array(H - 4), [1, 1, H - 4]), H - 4)], { axis: 2 });
  g.output(g.op('Concat', [pooledTok, patches], { axis: 1 }), 'image_features', T.FLOAT, ['batch_size', 'sequence_length', H]);
  return g;
}

function florenceEncoder(H: number): Graph {
  const g = new Graph();
  const mask = g.input('attention_mask', T.INT64, ['batch_size', 'encoder_sequence_length']);
  const x = g.input('inputs_embeds', T.FLOAT, ['batch_size', 'encoder_sequence_length', H]);
  const eye = new Float32Array(H * H);
  for (let i = 0; i < H; i++) eye[i * H + i] = 1;
  const y = g.mul(g.op('MatMul', [x, g.f32(eye, [H, H])]), g.unsq(g.cast(mask, T.FLOAT), [2]));
  g.output(y, 'last_hidden_state', T.FLOAT, ['batch_size', 'encoder_sequence_length', H]);
  return g;
}

function toHeads(g: Graph, x: string, heads: number, hd: number): string {
  return g.op('Transpose', [g.op('Reshape', [x, g.i64([0, 0, heads, hd])])], { perm: [0, 2, 1, 3] });
}

function florenceDecoder(tok: ReturnType<typeof florenceTokenizer>, rules: Rule[], scripts: CompiledScript[], words: number[]): Graph {
  const H = FLORENCE_H;
  const hd = H / FLORENCE_HEADS;
  const g = new Graph();
  const encMask = g.input('encoder_attention_mask', T.INT64, ['batch_size', 'encoder_sequence_length']);
  const enc = g.input('encoder_hidden_states', T.FLOAT, ['batch_size', 'encoder_sequence_length', H]);
  const x = g.input('inputs_embeds', T.FLOAT, ['batch_size', 'decoder_sequence_length', H]);
  const past: Record<string, string> = {};
  for (let i = 0; i < FLORENCE_LAYERS; i++) {
    for (const part of ['decoder', 'encoder']) {
      for (const kv of ['key', 'value']) {
        const name = `past_key_values.${i}.${part}.${kv}`;
        past[name] = g.input(name, T.FLOAT, ['batch_size', FLORENCE_HEADS, part === 'decoder' ? 'past_decoder_sequence_length' : 'encoder_sequence_length_out', hd]);
      }
    }
  }
  const useCache = g.input('use_cache_branch', T.BOOL, [1]);

  // Answer step = number of decoder tokens already cached (0 on the first, uncached call).
  const pastLen = g.op('Shape', [past['past_key_values.0.decoder.key']], { start: 2, end: 3 });
  const base = g.op('Where', [useCache, pastLen, g.i64([0])]);
  const tLen = g.sq(g.op('Shape', [x], { start: 1, end: 2 }), [0]);
  const steps = g.unsq(g.add(g.op('Range', [g.s64(0), tLen, g.s64(1)]), base), [0]); // [1,T]

  const logits = scriptedCore(g, {
    recs: enc,
    valid: g.cast(encMask, T.FLOAT),
    steps,
    words,
    rules,
    scripts,
    echoMasks: [
      (ids, text) => idRange(g, ids, text, tok.loc0, tok.loc0 + 999),
      (ids, text) => g.mul(between(g, ids, text, tok.vocab[':'], null), idRange(g, ids, text, 4, tok.loc0 - 1)),
      (ids, text) => idRange(g, ids, text, 4, tok.size - 1),
    ],
    boxBase: tok.loc0,
    boxMax: 999,
    parity: true,
    vocabSize: tok.size,
  });
  g.output(logits, 'logits', T.FLOAT, ['batch_size', 'decoder_sequence_length', tok.size]);

  const selfK = toHeads(g, x, FLORENCE_HEADS, hd);
  const crossK = toHeads(g, enc, FLORENCE_HEADS, hd);
  for (let i = 0; i < FLORENCE_LAYERS; i++) {
    for (const kv of ['key', 'value']) {
      const p = past[`past_key_values.${i}.decoder.${kv}`];
      g.output(g.op('Concat', [p, selfK], { axis: 2 }), `present.${i}.decoder.${kv}`, T.FLOAT, ['batch_size', FLORENCE_HEADS, 'present_decoder_sequence_length', hd]);
    }
    for (const kv of ['key', 'value']) {
      // Always recomputed from encoder_hidden_states; the (empty) slice keeps the past input wired in.
      const p = past[`past_key_values.${i}.encoder.${kv}`];
      g.output(g.op('Concat', [g.slice(p, 0, 0, 2), crossK], { axis: 2 }), `present.${i}.encoder.${kv}`, T.FLOAT, ['batch_size', FLORENCE_HEADS, 'encoder_sequence_length_out', hd]);
    }
  }
  return g;
}

// ---------------------------------------------------------------------------------------------
// Qwen2-VL

const QWEN_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|object_ref_start|>', '<|object_ref_end|>', '<|box_start|>',
  '<|box_end|>', '<|quad_start|>', '<|quad_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>', '<|image_pad|>', '<|video_pad|>'];
const QWEN_CHAT_TEMPLATE =
  "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/** Words that make tiny-qwen2vl answer with a grounded box (when an image is present). */
export const QWEN_GROUNDING_WORDS = ['Detect', 'detect', 'Locate', 'locate', 'Find', 'find', 'Point', 'point', 'Ground', 'ground'];
const NUM = (i: number): Part => ({ box: i });
/** tiny-qwen2vl answers (before `<|im_end|>`), by rule. */
export const QWEN_ANSWERS = {
  refer: {
    parts: ['You asked about <|box_start|>', { echo: true }, '<|box_end|>.'] as Part[],
    doc: 'prompt contains `<|box_start|>`: echoes every token between the first `<|box_start|>` and `<|box_end|>`',
  },
  ground: {
    parts: ['<|object_ref_start|>the bright region<|object_ref_end|><|box_start|>(', NUM(0), ',', NUM(1), '),(', NUM(2), ',', NUM(3), ')<|box_end|>'] as Part[],
    doc: `an image and one of the words ${QWEN_GROUNDING_WORDS.join(', ')} (alone or after a space): box of the bright region, 0-1000 relative`,
  },
  describe: { parts: ['A tiny fixture image with a bright region.'] as Part[], doc: 'an image, no other trigger' },
  text: { parts: ['Hello from tiny-qwen2vl.'] as Part[], doc: 'no image, no trigger' },
  tappable: { parts: ['Yes, it is tappable.'] as Part[], doc: 'an image and the word `tappable` (the `@task tappable` question): before the region echo' },
};

const QWEN_H = 32; // hidden_size (1536 in the 2B model)
const QWEN_LAYERS = 2; // num_hidden_layers (28)
const QWEN_HEADS = 4; // num_attention_heads (12)
const QWEN_KV_HEADS = 2; // num_key_value_heads (2)
const QWEN_HD = QWEN_H / QWEN_HEADS; // 8; the cache carries 2 x 8 = 16 record channels
const QWEN_PATCH_DIM = 3 * 2 * 14 * 14; // channels x temporal_patch_size x patch_size^2 = 1176

function qwenTokenizer(): Tok & { num0: number; special: Record<string, number> } {
  const v: Vocab = { vocab: {}, merges: [], next: 0 };
  const digits = new Set('0123456789');
  for (const c of BYTE_CHARS) if (!digits.has(c)) v.vocab[c] = v.next++;
  // "0".."1000" as one contiguous block so a coordinate is emitted as one token (id = num0 + n).
  const num0 = v.next;
  for (let n = 0; n <= 1000; n++) v.vocab[String(n)] = v.next++;
  const texts = [
    'You are a helpful assistant.', 'system', 'user', 'assistant', '\n', 'Describe this image.', 'What is in the region?',
    ...QWEN_GROUNDING_WORDS.flatMap((w) => [w, ` ${w}`]),
    'tappable', ' tappable',
    ...Object.values(QWEN_ANSWERS).flatMap((a) => a.parts.filter((p): p is string => typeof p === 'string').flatMap((p) => p.split(/<\|[a-z_]+\|>/))),
  ];
  addWords(v, texts, QWEN2_SPLIT_JS);
  const { added, special } = addSpecials(v, QWEN_SPECIALS);
  return { vocab: v.vocab, merges: v.merges, added, size: v.next, num0, special };
}

function qwenVision(H: number): Graph {
  const g = new Graph();
  const px = g.input('pixel_values', T.FLOAT, ['num_patches', QWEN_PATCH_DIM]);
  const thw = g.input('grid_thw', T.INT64, ['num_images', 3]);
  // One merged token per 2x2 window = 4 consecutive patch rows (the processor's flatten order).
  const bright = g.op('ReduceMean', [g.op('Reshape', [px, g.i64([-1, 4 * QWEN_PATCH_DIM])])], { axes: [1], keepdims: 0 }); // [M]
  const t = g.ch(thw, 0);
  const hm = g.div(g.ch(thw, 1), g.s64(2));
  const wm = g.div(g.ch(thw, 2), g.s64(2));
  const cnt = g.mul(g.mul(t, hm), wm); // tokens per image [I]
  const ends = g.op('CumSum', [cnt, g.s64(0)]);
  const starts = g.sub(ends, cnt);
  const m = g.op('Shape', [bright]);
  const idx = g.op('Range', [g.s64(0), g.sq(m, [0]), g.s64(1)]); // [M]
  const image = g.cast(g.rsum(g.cast(g.op('GreaterOrEqual', [g.unsq(idx, [1]), g.unsq(ends, [0])]), T.INT64), [1], 0), T.INT64);
  const local = g.sub(idx, g.op('Gather', [starts, image], { axis: 0 }));
  const wT = g.op('Gather', [wm, image], { axis: 0 });
  const hT = g.op('Gather', [hm, image], { axis: 0 });
  const col = g.op('Mod', [local, wT]);
  const row = g.op('Mod', [g.div(local, wT), hT]);
  const coords = binEdges(g, col, row, wT, hT, 1000, false); // [M,4], 0..1000 relative
  const rows = (x: string, c: number) => g.op('Expand', [x, g.op('Concat', [m, g.i64([c])], { axis: 0 })]);
  const zeros = (c: number) => rows(g.f32(new Float32Array(c), [1, c]), c);
  // Channels id/isText/isImage, bright, x1..y2, then 0 in the decoder's own `gen`/`pos` channels (a
  // nonzero `gen` would mark the token as generated and drop it from the prompt), then the image index.
  if (CH.bright !== 3 || CH.x1 !== 4 || CH.y2 !== 7 || CH.image <= Math.max(CH.gen, CH.pos) || CH.image >= QWEN_KV_HEADS * QWEN_HD) {
    throw new Error('qwen vision: feature layout does not match CH');
  }
  const feats = g.op('Concat', [
    rows(g.f32([-1, 0, 1], [1, 3]), 3),
    g.unsq(bright, [1]),
    coords,
    zeros(CH.image - 8),
    rows(g.unsq(g.cast(image, T.FLOAT), [1]), 1),
    zeros(H - CH.image - 1),
  ], { axis: 1 });
  g.output(feats, 'image_features', T.FLOAT, ['num_image_tokens', H]);
  return g;
}

function qwenDecoder(tok: ReturnType<typeof qwenTokenizer>, rules: Rule[], scripts: CompiledScript[], words: number[]): Graph {
  const H = QWEN_H;
  const R = QWEN_KV_HEADS * QWEN_HD; // record width carried in the key cache
  const g = new Graph();
  const x = g.input('inputs_embeds', T.FLOAT, ['batch_size', 'sequence_length', H]);
  const mask = g.input('attention_mask', T.INT64, ['batch_size', 'total_sequence_length']);
  const pos = g.input('position_ids', T.INT64, [3, 'batch_size', 'sequence_length']);
  const past: string[][] = [];
  for (let i = 0; i < QWEN_LAYERS; i++) {
    past.push(['key', 'value'].map((kv) => g.input(`past_key_values.${i}.${kv}`, T.FLOAT, ['batch_size', QWEN_KV_HEADS, 'past_sequence_length', QWEN_HD])));
  }

  // Tokens fed while a cache exists are generated answer tokens: mark them in channel `gen`.
  const pastLen = g.op('Shape', [past[0][0]], { start: 2, end: 3 });
  const gen = g.boolF(g.op('Greater', [pastLen, g.i64([0])])); // [1]
  const onehot = (c: number) => g.f32(Array.from({ length: R }, (_, i) => (i === c ? 1 : 0)), [R]);
  const posT = g.unsq(g.cast(g.op('Gather', [pos, g.s64(0)], { axis: 0 }), T.FLOAT), [2]); // temporal rope index
  let rec = g.slice(x, 0, R, 2);
  rec = g.add(rec, g.mul(gen, onehot(CH.gen)));
  rec = g.add(rec, g.mul(posT, onehot(CH.pos)));
  const curK = toHeads(g, rec, QWEN_KV_HEADS, QWEN_HD);
  const curV = toHeads(g, g.slice(x, R, 2 * R, 2), QWEN_KV_HEADS, QWEN_HD);
  const presentK0 = g.op('Concat', [past[0][0], curK], { axis: 2 });
  const recs = g.op('Reshape', [g.op('Transpose', [presentK0], { perm: [0, 2, 1, 3] }), g.i64([0, 0, R])]); // [B,P+T,R]
  const genCh = g.ch(recs, CH.gen);
  const valid = g.mul(g.cast(mask, T.FLOAT), g.sub(g.f32([1], [1]), genCh)); // prompt positions only

  // Answer step = generated tokens cached before + position within this chunk (0 on prefill).
  const tLen = g.op('Shape', [x], { start: 1, end: 2 });
  const genTotal = g.rsum(genCh, [1], 1); // [B,1]
  const pastGen = g.sub(genTotal, g.mul(gen, g.cast(tLen, T.FLOAT)));
  const r = g.cast(g.op('Range', [g.s64(0), g.sq(tLen, [0]), g.s64(1)]), T.FLOAT);
  const steps = g.cast(g.add(pastGen, g.mul(gen, g.add(g.unsq(r, [0]), g.f32([1], [1])))), T.INT64); // [B,T]

  const logits = scriptedCore(g, {
    recs,
    valid,
    steps,
    words,
    rules,
    scripts,
    echoMasks: [(ids, text) => between(g, ids, text, tok.special['<|box_start|>'], tok.special['<|box_end|>'])],
    boxBase: tok.num0,
    boxMax: 1000,
    vocabSize: tok.size,
    firstImageBox: true,
  });
  g.output(logits, 'logits', T.FLOAT, ['batch_size', 'sequence_length', tok.size]);
  for (let i = 0; i < QWEN_LAYERS; i++) {
    g.output(i === 0 ? presentK0 : g.op('Concat', [past[i][0], curK], { axis: 2 }), `present.${i}.key`, T.FLOAT, ['batch_size', QWEN_KV_HEADS, 'total_sequence_length', QWEN_HD]);
    g.output(g.op('Concat', [past[i][1], curV], { axis: 2 }), `present.${i}.value`, T.FLOAT, ['batch_size', QWEN_KV_HEADS, 'total_sequence_length', QWEN_HD]);
  }
  return g;
}

// ---------------------------------------------------------------------------------------------
// SmolVLM2 (Idefics3 layout, model_type smolvlm)

const SMOL_ROWS = Array.from({ length: 6 }, (_, r) => Array.from({ length: 6 }, (_, c) => `<row_${r + 1}_col_${c + 1}>`)).flat();
const SMOL_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<end_of_utterance>', '<fake_token_around_image>', '<image>', '<global-img>', ...SMOL_ROWS];
/** transformers' processing_smolvlm.py DEFAULT_CHAT_TEMPLATE (Apache-2.0), the template SmolVLM2's exports ship. */
const SMOL_CHAT_TEMPLATE =
  "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ '<video>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";
/** Words that make tiny-smolvlm answer with a box (the MM1.5 prompts Loupe writes for ground and detect). */
export const SMOL_BOX_WORDS = ['Where', 'Name'];
/** tiny-smolvlm answers (before `<end_of_utterance>`), by rule. */
export const SMOL_ANSWERS = {
  video: { parts: [{ echo: true }] as Part[], doc: 'an image and the word `Frame` (SmolVLM2\'s video prompt): echo of the whole prompt text, image tokens left out' },
  box: { parts: ['the bright region [', { box: 0 }, ', ', { box: 1 }, ', ', { box: 2 }, ', ', { box: 3 }, ']'] as Part[], doc: `an image and one of ${SMOL_BOX_WORDS.join(', ')}: box of the bright region of the last image, \`[x1, y1, x2, y2]\` 0-999 (the MM1.5 dialect)` },
  describe: { parts: ['A tiny fixture image with a bright region.'] as Part[], doc: 'an image, no other trigger' },
  text: { parts: ['Hello from tiny-smolvlm.'] as Part[], doc: 'no image' },
};
const SMOL_H = 32; // hidden_size (576 in the 256M model)
const SMOL_LAYERS = 2; // num_hidden_layers (30)
const SMOL_HEADS = 4; // num_attention_heads (9)
const SMOL_KV_HEADS = 2; // num_key_value_heads (3)
const SMOL_HD = SMOL_H / SMOL_HEADS; // head_dim 8 (64); the cache carries 2 x 8 = 16 record channels
const SMOL_TILE = 512; // max_image_size.longest_edge: every tile (and every video frame) is 512x512
const SMOL_SEQ = 64; // image_seq_len: (512 / 16 patches)^2 / scale_factor^2 = 64 tokens per tile

function smolTokenizer(): Tok & { num0: number; special: Record<string, number> } {
  const v: Vocab = { vocab: {}, merges: [], next: 0 };
  const digits = new Set('0123456789');
  for (const c of BYTE_CHARS) if (!digits.has(c)) v.vocab[c] = v.next++;
  // "0".."999" as one block so a box coordinate is one token (id = num0 + n), then "00".."09" for timestamps.
  const num0 = v.next;
  for (let n = 0; n <= 999; n++) v.vocab[String(n)] = v.next++;
  for (let n = 0; n <= 9; n++) v.vocab[`0${n}`] = v.next++;
  // Two-digit merges, so "00:12" costs 3 tokens: timestamps fill a video prompt.
  for (let a = 0; a <= 9; a++) for (let b = 0; b <= 9; b++) v.merges.push(`${a} ${b}`);
  const texts = [
    'User', 'Assistant', ':', 'You are provided the following series of', 'frames from a', '[H:MM:SS] video.', 'Frame from',
    ...Array.from({ length: 64 }, (_, i) => i + 1).map((n) => ` ${n}`),
    ...Object.values(SMOL_ANSWERS).flatMap((a) => a.parts.filter((p): p is string => typeof p === 'string')),
    ...SMOL_BOX_WORDS.flatMap((w) => [w, ` ${w}`]),
  ];
  addWords(v, texts, GPT2_SPLIT);
  const { added, special } = addSpecials(v, SMOL_SPECIALS);
  return { vocab: v.vocab, merges: v.merges, added, size: v.next, num0, special };
}

function smolVision(H: number): Graph {
  const g = new Graph();
  const px = g.input('pixel_values', T.FLOAT, ['batch_size', 'num_images', 3, 'height', 'width']);
  const mask = g.input('pixel_attention_mask', T.BOOL, ['batch_size', 'num_images', 'height', 'width']);
  // Every tile of every image of the batch, in order: [N,3,512,512] -> 8x8 patch brightnesses -> [N,64].
  const tiles = g.op('Reshape', [px, g.i64([-1, 3, SMOL_TILE, SMOL_TILE])]);
  const gray = g.op('ReduceMean', [tiles], { axes: [1], keepdims: 1 });
  const side = SMOL_TILE / Math.sqrt(SMOL_SEQ);
  const pooled = g.op('AveragePool', [gray], { kernel_shape: [side, side], strides: [side, side] });
  let bright = g.op('Flatten', [pooled], { axis: 1 }); // [N,64]
  // Padded tiles (pixel_attention_mask all false) would be dark: the mask is read so the input is a real one.
  const anyPixel = g.rmax(g.cast(g.op('Reshape', [mask, g.i64([-1, SMOL_TILE * SMOL_TILE])]), T.FLOAT), [1], 1); // [N,1]
  bright = g.add(bright, g.mul(g.sub(anyPixel, g.f32([1], [1])), g.f32([0], [1])));
  const n = g.op('Shape', [bright], { start: 0, end: 1 });
  const grid = Math.sqrt(SMOL_SEQ);
  const p = g.op('Range', [g.s64(0), g.s64(SMOL_SEQ), g.s64(1)]);
  const coords = binEdges(g, g.op('Mod', [p, g.s64(grid)]), g.div(p, g.s64(grid)), g.s64(grid), g.s64(grid), 1000, false); // [64,4]
  const shapeNS = g.op('Concat', [n, g.i64([SMOL_SEQ])], { axis: 0 });
  const expandTo = (x: string, c: number) => g.op('Expand', [x, g.op('Concat', [shapeNS, g.i64([c])], { axis: 0 })]);
  const tileIdx = g.cast(g.op('Range', [g.s64(0), g.sq(n, [0]), g.s64(1)]), T.FLOAT); // [N]
  const idx = g.op('Expand', [g.unsq(tileIdx, [1, 2]), g.op('Concat', [shapeNS, g.i64([1])], { axis: 0 })]);
  if (CH.image <= Math.max(CH.gen, CH.pos) || CH.image >= SMOL_KV_HEADS * SMOL_HD) throw new Error('smolvlm vision: feature layout does not match CH');
  const feats = g.op('Concat', [
    expandTo(g.f32([-1, 0, 1], [1, 1, 3]), 3),
    g.unsq(bright, [2]),
    expandTo(g.unsq(coords, [0]), 4),
    expandTo(g.f32(new Float32Array(CH.image - 8), [1, 1, CH.image - 8]), CH.image - 8),
    idx,
    expandTo(g.f32(new Float32Array(H - CH.image - 1), [1, 1, H - CH.image - 1]), H - CH.image - 1),
  ], { axis: 2 });
  g.output(feats, 'image_features', T.FLOAT, ['num_tiles', SMOL_SEQ, H]);
  return g;
}

function smolDecoder(tok: ReturnType<typeof smolTokenizer>, rules: Rule[], scripts: CompiledScript[], words: number[]): Graph {
  const H = SMOL_H;
  const R = SMOL_KV_HEADS * SMOL_HD;
  const g = new Graph();
  const x = g.input('inputs_embeds', T.FLOAT, ['batch_size', 'sequence_length', H]);
  const mask = g.input('attention_mask', T.INT64, ['batch_size', 'total_sequence_length']);
  const pos = g.input('position_ids', T.INT64, ['batch_size', 'sequence_length']);
  const past: string[][] = [];
  for (let i = 0; i < SMOL_LAYERS; i++) {
    past.push(['key', 'value'].map((kv) => g.input(`past_key_values.${i}.${kv}`, T.FLOAT, ['batch_size', SMOL_KV_HEADS, 'past_sequence_length', SMOL_HD])));
  }
  const pastLen = g.op('Shape', [past[0][0]], { start: 2, end: 3 });
  const gen = g.boolF(g.op('Greater', [pastLen, g.i64([0])]));
  const onehot = (c: number) => g.f32(Array.from({ length: R }, (_, i) => (i === c ? 1 : 0)), [R]);
  let rec = g.slice(x, 0, R, 2);
  rec = g.add(rec, g.mul(gen, onehot(CH.gen)));
  rec = g.add(rec, g.mul(g.unsq(g.cast(pos, T.FLOAT), [2]), onehot(CH.pos)));
  const curK = toHeads(g, rec, SMOL_KV_HEADS, SMOL_HD);
  const curV = toHeads(g, g.slice(x, R, 2 * R, 2), SMOL_KV_HEADS, SMOL_HD);
  const presentK0 = g.op('Concat', [past[0][0], curK], { axis: 2 });
  const recs = g.op('Reshape', [g.op('Transpose', [presentK0], { perm: [0, 2, 1, 3] }), g.i64([0, 0, R])]);
  const genCh = g.ch(recs, CH.gen);
  const valid = g.mul(g.cast(mask, T.FLOAT), g.sub(g.f32([1], [1]), genCh));
  const tLen = g.op('Shape', [x], { start: 1, end: 2 });
  const genTotal = g.rsum(genCh, [1], 1);
  const pastGen = g.sub(genTotal, g.mul(gen, g.cast(tLen, T.FLOAT)));
  const r = g.cast(g.op('Range', [g.s64(0), g.sq(tLen, [0]), g.s64(1)]), T.FLOAT);
  const steps = g.cast(g.add(pastGen, g.mul(gen, g.add(g.unsq(r, [0]), g.f32([1], [1])))), T.INT64);
  const firstSpecial = tok.special[SMOL_SPECIALS[0]];
  const logits = scriptedCore(g, {
    recs,
    valid,
    steps,
    words,
    rules,
    scripts,
    // Echo: every prompt token that is text, not a special token (the image tokens and their markers are special).
    echoMasks: [(ids, text) => idRange(g, ids, text, 0, firstSpecial - 1)],
    boxBase: tok.num0,
    boxMax: 999,
    vocabSize: tok.size,
    lastImageBox: true,
  });
  g.output(logits, 'logits', T.FLOAT, ['batch_size', 'sequence_length', tok.size]);
  for (let i = 0; i < SMOL_LAYERS; i++) {
    g.output(i === 0 ? presentK0 : g.op('Concat', [past[i][0], curK], { axis: 2 }), `present.${i}.key`, T.FLOAT, ['batch_size', SMOL_KV_HEADS, 'total_sequence_length', SMOL_HD]);
    g.output(g.op('Concat', [past[i][1], curV], { axis: 2 }), `present.${i}.value`, T.FLOAT, ['batch_size', SMOL_KV_HEADS, 'total_sequence_length', SMOL_HD]);
  }
  return g;
}

async function buildSmolvlm(dir: string): Promise<string[]> {
  const tok = smolTokenizer();
  const H = SMOL_H;
  const sp = tok.special;
  writeJson(dir, 'tokenizer.json', tokenizerJson(tok, {
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  }));
  writeJson(dir, 'tokenizer_config.json', {
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(tok.added.map(({ id, ...rest }) => [String(id), rest])),
    additional_special_tokens: ['<fake_token_around_image>', '<image>', '<end_of_utterance>'],
    bos_token: '<|im_start|>',
    chat_template: SMOL_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    end_of_utterance_token: '<end_of_utterance>',
    eos_token: '<end_of_utterance>',
    fake_image_token: '<fake_token_around_image>',
    global_image_token: '<global-img>',
    image_token: '<image>',
    model_max_length: 8192,
    pad_token: '<|im_end|>',
    processor_class: 'SmolVLMProcessor',
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: '<|endoftext|>',
    vocab_size: tok.size,
  });
  const t = await loadTokenizer(dir);
  const keys = Object.keys(SMOL_ANSWERS) as (keyof typeof SMOL_ANSWERS)[];
  const S = (k: keyof typeof SMOL_ANSWERS) => keys.indexOf(k);
  const single = (w: string) => {
    const ids = t.encode(w);
    if (ids.length !== 1) throw new Error(`smolvlm: trigger "${w}" is not one token: ${ids}`);
    return ids[0];
  };
  const rules: Rule[] = [
    { tokens: [], prio: 0, script: S('text') },
    { tokens: [-1], prio: 10, script: S('describe') },
    { tokens: [single('Frame'), -1], prio: 50, script: S('video') },
    ...SMOL_BOX_WORDS.flatMap((w) => [w, ` ${w}`]).map((w) => ({ tokens: [single(w), -1], prio: 30, script: S('box') })),
  ];
  const words = [...new Set(rules.flatMap((r) => r.tokens.filter((x) => x >= 0)))];
  const scripts = compileScripts(keys.map((key) => ({ key, parts: [...SMOL_ANSWERS[key].parts, { id: sp['<end_of_utterance>'] }], echoKind: key === 'video' ? 1 : 0 })), t.encode);

  const textConfig = {
    _name_or_path: 'loupe/tiny-smolvlm-text',
    architectures: ['VLlama3ForCausalLM'],
    bos_token_id: sp['<|im_start|>'],
    eos_token_id: sp['<end_of_utterance>'],
    head_dim: SMOL_HD,
    hidden_act: 'silu',
    hidden_size: H,
    intermediate_size: 4 * H,
    max_position_embeddings: 8192,
    model_type: 'llama',
    num_attention_heads: SMOL_HEADS,
    num_hidden_layers: SMOL_LAYERS,
    num_key_value_heads: SMOL_KV_HEADS,
    pad_token_id: sp['<|im_end|>'],
    rms_norm_eps: 1e-5,
    rope_theta: 100000,
    tie_word_embeddings: false,
    vocab_size: tok.size,
  };
  writeJson(dir, 'config.json', {
    _name_or_path: 'loupe/tiny-smolvlm',
    architectures: ['SmolVLMForConditionalGeneration'],
    image_token_id: sp['<image>'],
    model_type: 'smolvlm',
    pad_token_id: sp['<|im_end|>'],
    scale_factor: 4,
    text_config: textConfig,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    use_cache: true,
    vision_config: { hidden_size: H, image_size: SMOL_TILE, intermediate_size: 4 * H, model_type: 'smolvlm_vision', num_attention_heads: 2, num_hidden_layers: 1, patch_size: 16 },
    vocab_size: tok.size,
    'transformers.js_config': {},
  });
  writeJson(dir, 'generation_config.json', { bos_token_id: sp['<|im_start|>'], eos_token_id: [sp['<end_of_utterance>'], sp['<|im_end|>']], pad_token_id: sp['<|im_end|>'] });
  writeJson(dir, 'preprocessor_config.json', {
    do_convert_rgb: true,
    do_image_splitting: true,
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_processor_type: 'SmolVLMImageProcessor',
    image_std: [0.5, 0.5, 0.5],
    max_image_size: { longest_edge: SMOL_TILE },
    processor_class: 'SmolVLMProcessor',
    resample: 1,
    rescale_factor: 1 / 255,
    size: { longest_edge: 4 * SMOL_TILE },
    video_sampling: { fps: 1, max_frames: 64, video_size: { longest_edge: SMOL_TILE } },
  });
  writeJson(dir, 'processor_config.json', { image_seq_len: SMOL_SEQ, processor_class: 'SmolVLMProcessor' });
  writeJson(dir, 'chat_template.json', { chat_template: SMOL_CHAT_TEMPLATE });
  writeJson(dir, 'special_tokens_map.json', { additional_special_tokens: ['<fake_token_around_image>', '<image>', '<end_of_utterance>'], bos_token: '<|im_start|>', eos_token: '<end_of_utterance>', pad_token: '<|im_end|>', unk_token: '<|endoftext|>' });

  writeOnnx(dir, 'vision_encoder', smolVision(H), 'tiny-smolvlm');
  writeOnnx(dir, 'embed_tokens', buildEmbedTokens(tok.size, H), 'tiny-smolvlm');
  writeOnnx(dir, 'decoder_model_merged', smolDecoder(tok, rules, scripts, words), 'tiny-smolvlm');

  const show = (parts: Part[]) => parts.map((p) => (typeof p === 'string' ? p : 'box' in p ? ['X1', 'Y1', 'X2', 'Y2'][p.box] : '{echo}')).join('');
  return [
    '# tiny-smolvlm (generated by `scripts/fixtures.ts`, do not edit)',
    '',
    'A scripted stand-in for `HuggingFaceTB/SmolVLM2-256M-Video-Instruct` (`model_type` `smolvlm`, class',
    '`SmolVLMForConditionalGeneration`, the Idefics3 layout) with the files transformers.js 4.3.1 loads:',
    '`onnx/vision_encoder.onnx` (`pixel_values` [batch, images, 3, 512, 512], `pixel_attention_mask` [batch, images, 512, 512] bool',
    `-> \`image_features\` [tiles, ${SMOL_SEQ}, hidden]), \`onnx/embed_tokens.onnx\` (\`input_ids\` -> \`inputs_embeds\`), \`onnx/decoder_model_merged.onnx\``,
    '(`inputs_embeds`, `attention_mask`, `position_ids` [batch, seq], `past_key_values.N.key/value` -> `logits`, `present.N.key/value`)',
    `(plus ${Object.values(VARIANT_SUFFIXES).map((x) => `\`*${x}.onnx\``).join(' and ')} copies), \`preprocessor_config.json\` (\`SmolVLMImageProcessor\`: images resized to`,
    `a longest edge of ${4 * SMOL_TILE} and split into ${SMOL_TILE}x${SMOL_TILE} tiles plus the whole picture), \`processor_config.json\` (\`image_seq_len\` ${SMOL_SEQ}),`,
    'and SmolVLM2\'s chat template (with `video` entries) in `tokenizer_config.json` and `chat_template.json`.',
    `hidden ${H}, ${SMOL_LAYERS} layers, ${SMOL_KV_HEADS} KV heads x ${SMOL_HD}, vocabulary ${tok.size} tokens (\`<image>\` = ${sp['<image>']}).`,
    '',
    '## Scripted answers',
    '',
    'The answer is followed by `<end_of_utterance>`. Rules on the prompt tokens, the most specific first:',
    '',
    '| rule | answer | notes |',
    '|---|---|---|',
    ...(['video', 'box', 'describe', 'text'] as const).map((k) => cells(k, `\`${show(SMOL_ANSWERS[k].parts)}\``, SMOL_ANSWERS[k].doc)),
    '',
    '## How the image drives the coordinates',
    '',
    `The vision encoder gives each of a tile's ${SMOL_SEQ} tokens (an 8x8 grid of 64x64-pixel patches of the 512x512 tile) the mean of`,
    'its normalized pixels and its cell. The box is that of the **last** tile in the prompt: for one image, its whole-picture',
    'tile (which the processor puts after the split tiles); for frames, the last frame. Tokens at least halfway between the',
    'darkest and the brightest of that tile are the bright region: `X1 = floor(col_min*1000/8)`, `X2 = floor((col_max+1)*1000/8)`',
    '(at most 999), the same for rows; each number one token.',
    '',
    '## The video prompt',
    '',
    'Frames go in as unsplit 512x512 images after SmolVLM2\'s video text (`You are provided the following series of eight',
    'frames from a 0:00:04 [H:MM:SS] video.` then `\\nFrame from 00:01:` before each frame): the echo returns that text, so a',
    'test sees exactly what the model was given, timestamps included.',
    '',
  ];
}

// ---------------------------------------------------------------------------------------------
// Writing

/** One Markdown table row; `|` inside cells (Qwen's special tokens) must be escaped. */
const cells = (...c: string[]) => `| ${c.map((x) => x.replaceAll('|', '\\|')).join(' | ')} |`;

function writeJson(dir: string, name: string, obj: unknown): void {
  writeFileSync(join(dir, name), JSON.stringify(obj, null, 2) + '\n');
}

function writeOnnx(dir: string, name: string, g: Graph, fixture: string): void {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', `${name}.onnx`), g.encode(name, { producer: 'loupe-fixtures', doc: `Loupe scripted fixture: ${name}`, meta: { 'loupe.fixture': fixture, 'loupe.dtype': 'fp32' } }));
  for (const [dtype, suffix] of Object.entries(VARIANT_SUFFIXES)) {
    // Same scripted graph; only the metadata differs (real quantization would not change a one-hot script).
    writeFileSync(join(dir, 'onnx', `${name}${suffix}.onnx`), g.encode(name, { producer: 'loupe-fixtures', doc: `Loupe scripted fixture: ${name}`, meta: { 'loupe.fixture': fixture, 'loupe.dtype': dtype } }));
  }
}

/** Loads the freshly written tokenizer with transformers.js itself, so scripts use its exact encoding. */
async function loadTokenizer(dir: string) {
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  const t = await AutoTokenizer.from_pretrained(dir);
  return {
    encode: (s: string): number[] => t.encode(s, { add_special_tokens: false }),
    encodeFull: (s: string): number[] => t.encode(s),
    decode: (ids: number[]): string => t.decode(ids, { skip_special_tokens: false }),
  };
}

function tokenizerJson(tok: Tok, extra: Record<string, unknown>) {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: tok.added,
    ...extra,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: tok.vocab,
      merges: tok.merges,
    },
  };
}

/** Simulates the rule choice in JS (same arithmetic as the graph) to verify the rules at build time. */
function pickRule(rules: Rule[], ids: number[], hasImage: boolean): number {
  let best = -1;
  let bestScore = -Infinity;
  rules.forEach((r, j) => {
    const matched = r.tokens.filter((t) => (t < 0 ? hasImage : ids.includes(t))).length;
    const score = 1000 * (matched - r.tokens.length) + r.prio;
    if (score > bestScore) [best, bestScore] = [j, score];
  });
  return best;
}

function checkNoRepeatedTrigram(key: string, ids: number[]): void {
  const seen = new Set<string>();
  for (let i = 0; i + 3 <= ids.length; i++) {
    const k = ids.slice(i, i + 3).join(',');
    if (seen.has(k)) throw new Error(`${key}: repeated 3-gram ${k} would be banned by no_repeat_ngram_size=3`);
    seen.add(k);
  }
}

async function buildFlorence(dir: string): Promise<string[]> {
  const tok = florenceTokenizer();
  const H = FLORENCE_H;
  writeJson(dir, 'tokenizer.json', tokenizerJson(tok, {
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  }));
  const extraSpecial = tok.added.filter((a) => a.id > tok.vocab['<mask>']).map((a) => a.content);
  writeJson(dir, 'tokenizer_config.json', {
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(tok.added.map(({ id, ...rest }) => [String(id), rest])),
    additional_special_tokens: extraSpecial,
    bos_token: '<s>',
    clean_up_tokenization_spaces: true,
    cls_token: '<s>',
    eos_token: '</s>',
    errors: 'replace',
    mask_token: '<mask>',
    model_max_length: 1024,
    pad_token: '<pad>',
    processor_class: 'Florence2Processor',
    sep_token: '</s>',
    tokenizer_class: 'BartTokenizer',
    trim_offsets: true,
    unk_token: '<unk>',
  });
  const t = await loadTokenizer(dir);

  // Rules: a task fires when every (non-space) token of its prompt template is present; the
  // most specific template (most tokens) wins.
  const templates = Object.entries({ ...FLORENCE_NO_INPUT, ...FLORENCE_WITH_INPUT });
  const isSpace = (id: number) => /^Ġ*$/.test(Object.keys(tok.vocab).find((k) => tok.vocab[k] === id) ?? 'x');
  const taskKeys = Object.keys(FLORENCE_ANSWERS);
  const rules: Rule[] = [{ tokens: [], prio: 0, script: taskKeys.indexOf('') }];
  for (const [task, tmpl] of templates) {
    // The user input splits the prompt; each side is tokenized on its own, like around added tokens.
    const ids = [...new Set(tmpl.split('{input}').flatMap((part) => t.encode(part)).filter((id) => !isSpace(id)))];
    rules.push({ tokens: ids, prio: ids.length, script: taskKeys.indexOf(task) });
  }
  const words = [...new Set(rules.flatMap((r) => r.tokens))];
  const samples: Record<string, string> = {
    '<CAPTION_TO_PHRASE_GROUNDING>': 'a cup of coffee',
    '<REFERRING_EXPRESSION_SEGMENTATION>': 'a cup',
    '<OPEN_VOCABULARY_DETECTION>': 'a cup',
  };
  for (const [task, tmpl] of [...Object.entries(FLORENCE_NO_INPUT), ...Object.entries(FLORENCE_WITH_INPUT)]) {
    const prompt = tmpl.replace('{input}', samples[task] ?? '<loc_100><loc_200><loc_300><loc_400>');
    const got = rules[pickRule(rules, t.encodeFull(prompt), true)].script;
    if (taskKeys[got] !== task) throw new Error(`florence: prompt for ${task} selects ${taskKeys[got]}`);
  }

  const scripts = compileScripts(
    taskKeys.map((key) => ({ key, parts: [{ id: 0 }, ...FLORENCE_ANSWERS[key].parts, { id: 2 }], echoKind: FLORENCE_ANSWERS[key].echo })),
    t.encode,
  );
  scripts.forEach((s, i) => checkNoRepeatedTrigram(taskKeys[i], [2, ...s.before.filter((x) => x.kind === 0).map((x) => x.val)]));

  const cfgVocab = tok.size;
  writeJson(dir, 'config.json', {
    _name_or_path: 'loupe/tiny-florence2',
    architectures: ['Florence2ForConditionalGeneration'],
    bos_token_id: 0,
    eos_token_id: 2,
    ignore_index: -100,
    is_encoder_decoder: true,
    model_type: 'florence2',
    pad_token_id: 1,
    projection_dim: H,
    text_config: {
      activation_function: 'gelu',
      bos_token_id: 0,
      d_model: H,
      decoder_attention_heads: FLORENCE_HEADS,
      decoder_ffn_dim: 4 * H,
      decoder_layers: FLORENCE_LAYERS,
      decoder_start_token_id: 2,
      encoder_attention_heads: FLORENCE_HEADS,
      encoder_ffn_dim: 4 * H,
      encoder_layers: FLORENCE_LAYERS,
      eos_token_id: 2,
      forced_bos_token_id: 0,
      forced_eos_token_id: 2,
      is_encoder_decoder: true,
      max_length: 20,
      max_position_embeddings: 1024,
      model_type: 'florence2_language',
      no_repeat_ngram_size: 3,
      num_beams: 3,
      num_hidden_layers: FLORENCE_LAYERS,
      pad_token_id: 1,
      scale_embedding: false,
      use_cache: true,
      vocab_size: cfgVocab,
    },
    vision_config: {
      depths: [1, 1, 1, 1],
      dim_embed: [8, 16, 32, H],
      image_feature_source: ['spatial_avg_pool', 'temporal_avg_pool'],
      image_pos_embed: { max_pos_embeddings: 50, type: 'learned_abs_2d' },
      model_type: 'davit',
      num_groups: [1, 2, 4, 8],
      num_heads: [1, 2, 4, 8],
      patch_size: [7, 3, 3, 3],
      patch_stride: [4, 2, 2, 2],
      projection_dim: H,
      visual_temporal_embedding: { max_temporal_embeddings: 100, type: 'COSINE' },
      window_size: 12,
    },
    vocab_size: cfgVocab,
    'transformers.js_config': {},
  });
  writeJson(dir, 'generation_config.json', {
    bos_token_id: 0,
    decoder_start_token_id: 2,
    eos_token_id: 2,
    forced_bos_token_id: 0,
    forced_eos_token_id: 2,
    no_repeat_ngram_size: 3,
    num_beams: 3,
    pad_token_id: 1,
  });
  writeJson(dir, 'preprocessor_config.json', {
    crop_size: { height: 768, width: 768 },
    do_center_crop: false,
    do_convert_rgb: null,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.485, 0.456, 0.406],
    image_processor_type: 'CLIPImageProcessor',
    image_seq_length: 577,
    image_std: [0.229, 0.224, 0.225],
    processor_class: 'Florence2Processor',
    resample: 3,
    rescale_factor: 1 / 255,
    size: { height: 768, width: 768 },
    tasks_answer_post_processing_type: FLORENCE_POST,
    task_prompts_without_inputs: FLORENCE_NO_INPUT,
    task_prompts_with_input: FLORENCE_WITH_INPUT,
  });

  writeOnnx(dir, 'vision_encoder', florenceVision(H), 'tiny-florence2');
  writeOnnx(dir, 'embed_tokens', buildEmbedTokens(tok.size, H), 'tiny-florence2');
  writeOnnx(dir, 'encoder_model', florenceEncoder(H), 'tiny-florence2');
  writeOnnx(dir, 'decoder_model_merged', florenceDecoder(tok, rules, scripts, words), 'tiny-florence2');

  const row = (task: string) => {
    const a = FLORENCE_ANSWERS[task];
    const text = a.parts.map((p) => (typeof p === 'string' ? p : 'box' in p ? `<loc_${['X1', 'Y1', 'X2', 'Y2'][p.box]}>` : 'echoAt' in p ? `<loc_${'abcd'[p.echoAt]}>` : 'id' in p ? '' : '{echo}')).join('');
    return cells(`\`${task || '(anything else)'}\``, `\`</s><s>${text}</s>\``, a.doc);
  };
  return [
    '# tiny-florence2 (generated by `scripts/fixtures.ts`, do not edit)',
    '',
    'A scripted stand-in for `onnx-community/Florence-2-base-ft` with the same layout transformers.js 4.3.1 loads:',
    '`onnx/vision_encoder.onnx`, `onnx/embed_tokens.onnx`, `onnx/encoder_model.onnx`, `onnx/decoder_model_merged.onnx`',
    `(plus ${Object.values(VARIANT_SUFFIXES).map((s) => `\`*${s}.onnx\``).join(' and ')} copies for \`dtype: ${Object.keys(VARIANT_SUFFIXES).map((d) => `'${d}'`).join('/')}\`).`,
    `d_model ${H}, ${FLORENCE_LAYERS} decoder layers x ${FLORENCE_HEADS} heads, vocabulary ${tok.size} tokens (\`<loc_0>\` = ${tok.loc0}).`,
    '',
    '## Scripted answers',
    '',
    'The task is recognised from the prompt tokens (the natural-language prompt `construct_prompts` makes): a task fires when',
    'every token of its template is present, the most specific template wins. Decoded with `skip_special_tokens: false`',
    '(generation starts from `decoder_start_token_id` `</s>`, so the text begins with `</s><s>`):',
    '',
    '| task | generated text | notes |',
    '|---|---|---|',
    ...Object.keys(FLORENCE_ANSWERS).map(row),
    '',
    '## How the image drives the coordinates',
    '',
    'The vision encoder averages the normalized pixel values (768x768 input) over the channels and over 32x32 patches:',
    '24x24 patch brightnesses (plus one pooled token first, 577 features). The decoder takes every patch whose brightness is',
    'at least halfway between the darkest and the brightest patch, and answers their bounding box in loc bins:',
    '`X1 = floor(col_min*1000/24)`, `Y1 = floor(row_min*1000/24)`, `X2 = floor((col_max+1)*1000/24) - 1`, `Y2 = floor((row_max+1)*1000/24) - 1`.',
    'Then X bins are rounded down to even and Y bins to odd (`2*floor(v/2)`, `2*floor(v/2)+1`): the real generation config',
    'has `no_repeat_ngram_size: 3`, which would ban the quad of a square box. A uniform image gives `<loc_0><loc_1><loc_998><loc_999>`.',
    '',
    '`{echo}` repeats prompt tokens: for `<REGION_TO_*>` tasks every `<loc_N>` of the prompt, in order (so a region reaches',
    'the model as exactly those tokens); for phrase grounding the tokens after `caption:`. Greedy decoding only; the',
    'generation config keeps the real `no_repeat_ngram_size: 3`, so echoed input that repeats a 3-gram is altered.',
    'Pass `max_new_tokens` (the real config\'s `max_length` is 20).',
    '',
  ];
}

async function buildQwen(dir: string): Promise<string[]> {
  const tok = qwenTokenizer();
  const H = QWEN_H;
  const sp = tok.special;
  writeJson(dir, 'tokenizer.json', tokenizerJson(tok, {
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_REGEX }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
  }));
  writeJson(dir, 'tokenizer_config.json', {
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(tok.added.map(({ id, ...rest }) => [String(id), rest])),
    additional_special_tokens: QWEN_SPECIALS.slice(1),
    bos_token: null,
    chat_template: QWEN_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    errors: 'replace',
    model_max_length: 32768,
    pad_token: '<|endoftext|>',
    padding_side: 'left',
    processor_class: 'Qwen2VLProcessor',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  });
  const t = await loadTokenizer(dir);

  const keys = Object.keys(QWEN_ANSWERS) as (keyof typeof QWEN_ANSWERS)[];
  const S = (k: keyof typeof QWEN_ANSWERS) => keys.indexOf(k);
  const single = (w: string) => {
    const ids = t.encode(w);
    if (ids.length !== 1) throw new Error(`qwen: trigger "${w}" is not one token: ${ids}`);
    return ids[0];
  };
  const rules: Rule[] = [
    { tokens: [], prio: 0, script: S('text') },
    { tokens: [-1], prio: 10, script: S('describe') },
    { tokens: [sp['<|box_start|>']], prio: 40, script: S('refer') },
    ...QWEN_GROUNDING_WORDS.flatMap((w) => [w, ` ${w}`]).map((w) => ({ tokens: [single(w), -1], prio: 30, script: S('ground') })),
    ...['tappable', ' tappable'].map((w) => ({ tokens: [single(w), -1], prio: 50, script: S('tappable') })),
  ];
  const words = [...new Set(rules.flatMap((r) => r.tokens.filter((x) => x >= 0)))];
  const scripts = compileScripts(
    keys.map((key) => ({ key, parts: [...QWEN_ANSWERS[key].parts, { id: sp['<|im_end|>'] }], echoKind: key === 'refer' ? 1 : 0 })),
    t.encode,
  );

  writeJson(dir, 'config.json', {
    _name_or_path: 'loupe/tiny-qwen2vl',
    architectures: ['Qwen2VLForConditionalGeneration'],
    attention_dropout: 0.0,
    bos_token_id: sp['<|endoftext|>'],
    eos_token_id: sp['<|im_end|>'],
    vision_start_token_id: sp['<|vision_start|>'],
    vision_end_token_id: sp['<|vision_end|>'],
    vision_token_id: sp['<|vision_pad|>'],
    image_token_id: sp['<|image_pad|>'],
    video_token_id: sp['<|video_pad|>'],
    hidden_act: 'silu',
    hidden_size: H,
    initializer_range: 0.02,
    intermediate_size: 4 * H,
    max_position_embeddings: 32768,
    max_window_layers: QWEN_LAYERS,
    model_type: 'qwen2_vl',
    num_attention_heads: QWEN_HEADS,
    num_hidden_layers: QWEN_LAYERS,
    num_key_value_heads: QWEN_KV_HEADS,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    use_cache: true,
    use_sliding_window: false,
    vision_config: {
      depth: 2,
      embed_dim: H,
      mlp_ratio: 4,
      num_heads: 2,
      in_chans: 3,
      hidden_size: H,
      patch_size: 14,
      spatial_merge_size: 2,
      spatial_patch_size: 14,
      temporal_patch_size: 2,
    },
    rope_scaling: { type: 'mrope', mrope_section: [1, 1, 2] },
    vocab_size: tok.size,
  });
  writeJson(dir, 'generation_config.json', {
    bos_token_id: sp['<|endoftext|>'],
    do_sample: true,
    eos_token_id: [sp['<|im_end|>'], sp['<|endoftext|>']],
    pad_token_id: sp['<|endoftext|>'],
    repetition_penalty: 1.0,
    temperature: 0.01,
    top_k: 1,
    top_p: 0.001,
  });
  writeJson(dir, 'preprocessor_config.json', {
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_processor_type: 'Qwen2VLImageProcessor',
    image_std: [0.26862954, 0.26130258, 0.27577711],
    max_pixels: 12845056,
    merge_size: 2,
    min_pixels: 3136,
    patch_size: 14,
    processor_class: 'Qwen2VLProcessor',
    resample: 3,
    rescale_factor: 1 / 255,
    temporal_patch_size: 2,
  });
  writeJson(dir, 'chat_template.json', { chat_template: QWEN_CHAT_TEMPLATE });

  writeOnnx(dir, 'vision_encoder', qwenVision(H), 'tiny-qwen2vl');
  writeOnnx(dir, 'embed_tokens', buildEmbedTokens(tok.size, H), 'tiny-qwen2vl');
  writeOnnx(dir, 'decoder_model_merged', qwenDecoder(tok, rules, scripts, words), 'tiny-qwen2vl');

  const show = (parts: Part[]) =>
    parts.map((p) => (typeof p === 'string' ? p : 'box' in p ? ['X1', 'Y1', 'X2', 'Y2'][p.box] : '{echo}')).join('');
  return [
    '# tiny-qwen2vl (generated by `scripts/fixtures.ts`, do not edit)',
    '',
    'A scripted stand-in for `onnx-community/Qwen2-VL-2B-Instruct` with the layout transformers.js 4.3.1 loads:',
    '`onnx/vision_encoder.onnx` (`pixel_values` [patches, 1176], `grid_thw` [images, 3] -> `image_features`),',
    '`onnx/embed_tokens.onnx`, `onnx/decoder_model_merged.onnx` (`inputs_embeds`, `attention_mask`, `position_ids` [3, batch, seq],',
    '`past_key_values.N.key/value` -> `logits`, `present.N.key/value`)',
    `(plus ${Object.values(VARIANT_SUFFIXES).map((s) => `\`*${s}.onnx\``).join(' and ')} copies for \`dtype: ${Object.keys(VARIANT_SUFFIXES).map((d) => `'${d}'`).join('/')}\`).`,
    `hidden ${H}, ${QWEN_LAYERS} layers, ${QWEN_KV_HEADS} KV heads x ${QWEN_HD}, vocabulary ${tok.size} tokens; the real chat template.`,
    '',
    '## Scripted answers',
    '',
    'Rules are checked on the prompt tokens (system prompt included), first match in this order. The answer is followed by',
    '`<|im_end|>`; decode with `skip_special_tokens: false` to keep the box tokens.',
    '',
    '| rule | answer | notes |',
    '|---|---|---|',
    ...(['tappable', 'refer', 'ground', 'describe', 'text'] as const).map((k) => cells(k, `\`${show(QWEN_ANSWERS[k].parts)}\``, QWEN_ANSWERS[k].doc)),
    '',
    '## How the image drives the coordinates',
    '',
    'The vision encoder gives each merged token (2x2 patches of 14 px, after `smart_resize`) the mean of its normalized pixel',
    'values and its cell in the merged grid. The decoder takes every image token whose brightness is at least halfway between',
    'the darkest and the brightest token and answers their bounding box, 0-1000 relative to the image:',
    '`X1 = floor(col_min*1000/cols)`, `Y1 = floor(row_min*1000/rows)`, `X2 = floor((col_max+1)*1000/cols)`, `Y2 = floor((row_max+1)*1000/rows)`.',
    'Each number is one token (`"0"`..`"1000"`).',
    '',
    '## Several images',
    '',
    'Every image counts as "an image is present" for the rules, but the box is that of the **first image** in the prompt',
    '(its tokens alone set the threshold and the bounding box, in its own merged grid); the other images do not move it.',
    'Build multi-image inputs the way the Python processor does (transformers.js\'s `Qwen2VLImageProcessor` would stack a',
    'list of images as the frames of one video): run `processor.image_processor(image)` per image, `cat` the `pixel_values`',
    'on dim 0 and the `image_grid_thw` rows, expand each `<|image_pad|>` to that image\'s `t*h*w/4` tokens, then',
    '`processor.tokenizer(text)`. The vision encoder splits the patches per image with `grid_thw`.',
    '',
    '## Decoder state',
    '',
    'The KV cache carries each position\'s token id, image features and a "generated" flag, so later steps know the prompt.',
    '',
  ];
}

async function main(): Promise<void> {
  // The graph builder shapes the files too: a change in either script regenerates them.
  const self = readFileSync(fileURLToPath(import.meta.url));
  const builder = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'onnx-graph.ts'));
  const yolo = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures-yolo.ts'));
  const stamp = createHash('sha256').update(self).update(builder).update(yolo).digest('hex');
  const dirs = ['tiny-florence2', 'tiny-qwen2vl', 'tiny-smolvlm'].map((d) => join(OUT, d));
  const yoloDir = join(OUT, 'tiny-yolo');
  if (process.argv.includes('--if-missing') && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === stamp &&
    dirs.every((d) => existsSync(join(d, 'onnx', 'decoder_model_merged.onnx'))) && existsSync(join(yoloDir, 'onnx', 'model.onnx'))) {
    return;
  }
  const builders = [buildFlorence, buildQwen, buildSmolvlm];
  for (let i = 0; i < dirs.length; i++) {
    rmSync(dirs[i], { recursive: true, force: true });
    mkdirSync(dirs[i], { recursive: true });
    const readme = await builders[i](dirs[i]);
    writeFileSync(join(dirs[i], 'README.md'), readme.join('\n'));
  }
  rmSync(yoloDir, { recursive: true, force: true });
  const yoloReadme = buildTinyYolo(yoloDir, VARIANT_SUFFIXES);
  writeFileSync(join(yoloDir, 'README.md'), yoloReadme.join('\n'));
  writeFileSync(STAMP, stamp + '\n');
  console.log(`[fixtures] wrote ${[...dirs, yoloDir].map((d) => d.slice(ROOT.length + 1)).join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
