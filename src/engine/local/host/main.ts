// The model host: a separate process that owns onnxruntime sessions. session.run blocks its thread
// and a native fault kills it, so neither can reach the extension host.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULTS } from '../../../common/defaults';
import { asLoupeError, LoupeError } from '../../../common/errors';
import { prepareImage } from '../../../images/prepare';
import type { Device, Dtype, Generation } from '../../types';
import { FAMILIES, familyCapabilities } from '../families';
import type { FamilyImage, FamilyModule, Model, Processor, Tensor } from '../families/types';
import type { GenerateRequest, HostEvent, HostRequest, LoadedInfo, LoadRequest } from '../protocol';
import { checkFiles, checkFolder, messageOf, type Provider } from './checks';
import { chooseDtype, onnxFilesFor } from './dtypes';
import { startHeartbeat } from './heartbeat';
import { withInt8Nbits } from './nbits';
import { intraOpThreads } from './threads';
import { directFamily, directKeys, directLoaded, generateDirect, isDirectKey, loadDirect, unloadDirect } from './direct';

type TF = typeof import('@huggingface/transformers');

interface Loaded {
  req: LoadRequest;
  info: LoadedInfo;
  model: Model;
  processor: Processor;
  family: FamilyModule;
  config: Record<string, unknown>;
  encodeMs: number;
}

const send = (e: HostEvent) => process.send?.(e);
const log = (level: 'info' | 'warn' | 'error', message: string) => send({ type: 'log', level, message });
const now = () => performance.now();

let tfModule: TF | undefined;
async function transformers(): Promise<TF> {
  if (!tfModule) {
    // require, not import(): the CommonJS build is the one the VSIX ships.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tfModule = require('@huggingface/transformers') as TF;
    // Loupe's own downloader fetches and verifies files; transformers.js only ever reads local folders.
    tfModule.env.allowRemoteModels = false;
    tfModule.env.allowLocalModels = true;
    if (process.env.LOUPE_CACHE_DIR) tfModule.env.cacheDir = process.env.LOUPE_CACHE_DIR;
  }
  return tfModule;
}

const models = new Map<string, Loaded>();
const running = new Map<number, { interrupt(): void }>();

/** GPU providers to try for `auto`, in order, then CPU. */
export function providerCandidates(device: Device, platform = process.platform, arch = process.arch): Provider[] {
  if (device !== 'auto') return [device];
  if (platform === 'win32') return ['dml', 'webgpu', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu', 'cpu'];
  return cudaLibrariesPresent(arch) ? ['cuda', 'webgpu', 'cpu'] : ['webgpu', 'cpu'];
}

/** onnxruntime-node ships no CUDA provider unless installed with --onnxruntime-node-install=cuda12. */
function cudaLibrariesPresent(arch: string): boolean {
  try {
    const dir = join(dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', 'linux', arch);
    return existsSync(join(dir, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

function classifyLoadError(e: unknown, files: string[]): LoupeError {
  const msg = messageOf(e);
  if (/protobuf parsing failed|INVALID_PROTOBUF|invalid model|Load model from .* failed/i.test(msg)) {
    const named = files.find((f) => msg.includes(f)) ?? files.join(', ');
    return new LoupeError('corrupt-model', `The model file ${named} is corrupt or incomplete (${msg}). Delete it in Loupe: Manage Models and download it again.`);
  }
  if (/bad_alloc|out of memory|Failed to allocate|ENOMEM/i.test(msg)) {
    return new LoupeError('out-of-memory', `Out of memory while loading the model (${msg}). Try a smaller dtype (q4 or q8 in loupe.dtype) or a smaller model.`);
  }
  if (/Unsupported model type|not supported|Could not locate file/i.test(msg)) return new LoupeError('unsupported-model', msg);
  return new LoupeError('load-failed', msg);
}

async function load(req: LoadRequest): Promise<LoadedInfo> {
  const existing = models.get(req.key);
  if (existing) return existing.info;
  const t0 = now();
  // Detectors run on onnxruntime-node directly, not through transformers.js.
  const direct = directFamily(req.family);
  if (direct) return loadDirect(req, direct, providerCandidates(req.device), (m) => log('warn', m));
  const family = FAMILIES[req.family] as FamilyModule;
  const config = JSON.parse(readFileSync(join(req.folder, 'config.json'), 'utf8')) as Record<string, unknown>;
  const tf = await transformers();
  const fallbacks: LoadedInfo['fallbacks'] = [];
  let model: Model | undefined;
  let provider: Provider | undefined;
  let dtype: Dtype | Record<string, Dtype> = 'fp32';
  let files: string[] = [];
  await checkFolder(req.folder);
  for (const device of providerCandidates(req.device)) {
    dtype = chooseDtype(req.folder, family.modules, req.dtype, device !== 'cpu');
    files = onnxFilesFor(req.folder, family.modules, dtype);
    await checkFiles(req.folder, files);
    try {
      const create = () => tf[family.modelClass].from_pretrained(req.folder, { device, dtype, local_files_only: true, session_options: { intraOpNumThreads: intraOpThreads() } } as never);
      // On the CPU, 4-bit MatMulNBits run with int8 activations (nbits.ts): about 2× faster decode.
      model = (await (device === 'cpu' ? withInt8Nbits(create, (f, n) => log('info', `int8 MatMulNBits: ${n} nodes in ${f.slice(req.folder.length + 1)}`)) : create())) as unknown as Model;
      provider = device;
      break;
    } catch (e) {
      const err = classifyLoadError(e, files);
      // A corrupt file or missing memory fails on every provider: do not mask it as a fallback.
      if (err.code !== 'load-failed' || req.device !== 'auto') throw err;
      fallbacks.push({ device, error: messageOf(e) });
      log('warn', `${device} unavailable for ${req.info.id}: ${messageOf(e)}`);
    }
  }
  if (!model || !provider) throw new LoupeError('load-failed', `No execution provider could load ${req.info.id}: ${fallbacks.map((f) => `${f.device}: ${f.error}`).join('; ')}`);
  family.patch?.(model, tf);
  const processor = (await tf.AutoProcessor.from_pretrained(req.folder, { local_files_only: true } as never)) as unknown as Processor;
  const info: LoadedInfo = { key: req.key, provider, fallbacks, dtype, loadMs: now() - t0, bytes: files.reduce((s, f) => s + statSync(f).size, 0) };
  const loaded: Loaded = { req, info, model, processor, family, config, encodeMs: 0 };
  // Time the vision encoder on its own: it runs inside generate().
  const encode = model.encode_image?.bind(model);
  if (encode) {
    model.encode_image = async (args: unknown) => {
      const t = now();
      try {
        return await encode(args);
      } finally {
        loaded.encodeMs += now() - t;
      }
    };
  }
  models.set(req.key, loaded);
  return info;
}

/** Tokens a streamer may hold before it flushes, so decoding stays O(1) per token on long answers. */
const STREAM_WINDOW = 64;
let Bounded: TF['TextStreamer'] | undefined;

/**
 * TextStreamer re-decodes every token since the last newline on each new token: quadratic on a long OCR answer
 * without line breaks. This one also flushes after STREAM_WINDOW tokens.
 */
function boundedStreamer(tf: TF): TF['TextStreamer'] {
  if (Bounded) return Bounded;
  class BoundedTextStreamer extends tf.TextStreamer {
    override put(value: bigint[][]): void {
      super.put(value);
      const self = this as unknown as { token_cache?: bigint[]; print_len: number; tokenizer: { decode(ids: bigint[], o: object): string }; decode_kwargs: object };
      if (!Array.isArray(self.token_cache) || self.token_cache.length < STREAM_WINDOW) return;
      const text = self.tokenizer.decode(self.token_cache, self.decode_kwargs);
      // A character split across tokens decodes to U+FFFD until its last byte arrives: never cut there.
      if (text.endsWith('\uFFFD')) return;
      this.on_finalized_text(text.slice(self.print_len), false);
      self.token_cache = [];
      self.print_len = 0;
    }
  }
  Bounded = BoundedTextStreamer as unknown as TF['TextStreamer'];
  return Bounded;
}

function contextLimit(config: Record<string, unknown>): number | undefined {
  const text = (config.text_config ?? config) as Record<string, unknown>;
  const v = text.max_position_embeddings ?? config.max_position_embeddings;
  return typeof v === 'number' ? v : undefined;
}

async function generate(req: GenerateRequest): Promise<Generation> {
  if (isDirectKey(req.key)) return generateDirect(req);
  const m = models.get(req.key);
  if (!m) throw new LoupeError('not-loaded', `model ${req.key} is not loaded`);
  if (!familyCapabilities(m.req.family, m.req.dialect).includes(req.task)) throw new LoupeError('task-unsupported', `${m.req.info.id} cannot run @task ${req.task}`);
  const tf = await transformers();
  const t0 = now();
  const limits = m.family.imageLimits(req.maxImageTokens, m.processor.image_processor?.config ?? {});
  const prepared = await Promise.all(req.images.map((i) => prepareImage({ source: i.source, path: i.path, bytes: i.data === undefined ? undefined : Buffer.from(i.data, 'base64') }, { maxPixels: req.maxImagePixels, ...limits })));
  const images: FamilyImage[] = prepared.map((p) => ({
    raw: new tf.RawImage(new Uint8ClampedArray(p.rgb.buffer, p.rgb.byteOffset, p.rgb.length), p.pixelWidth, p.pixelHeight, 3),
    width: p.width,
    height: p.height,
    pixelWidth: p.pixelWidth,
    pixelHeight: p.pixelHeight,
  }));
  const built = await m.family.build({ processor: m.processor, task: req.task, prompt: req.prompt, images, regions: req.regions, dialect: m.req.dialect, ...(req.video ? { video: req.video } : {}), cat: (t, d) => tf.cat(t as never, d) as unknown as Tensor });
  const preprocessMs = now() - t0;
  const promptTokens = built.inputs.input_ids?.dims.at(-1) ?? 0;
  const maxNew = req.params.max_new_tokens ?? DEFAULTS.maxNewTokens;
  const limit = contextLimit(m.config);
  if (limit && promptTokens + maxNew > limit) {
    throw new LoupeError('context-too-long', `The prompt is ${promptTokens} tokens and asks for up to ${maxNew} more, but ${m.req.info.id} handles ${limit}. Shorten the prompt, use fewer or smaller images (loupe.maxImageTokens), or lower max_new_tokens.`);
  }
  const seed = req.params.seed ?? Math.floor(Math.random() * 2 ** 31);
  tf.random.seed(seed);
  const stopper = new tf.InterruptableStoppingCriteria();
  running.set(req.id, stopper);
  let first = 0;
  let generated = 0;
  const streamer = new (boundedStreamer(tf))(m.processor.tokenizer as never, {
    skip_prompt: true,
    skip_special_tokens: !req.keepSpecialTokens,
    callback_function: (text: string) => {
      if (text) send({ type: 'delta', id: req.id, text });
    },
    token_callback_function: () => {
      generated++;
      if (!first) first = now();
    },
  } as never);
  m.encodeMs = 0;
  const tGen = now();
  let ids: Tensor;
  try {
    ids = await m.model.generate({
      ...built.inputs,
      max_new_tokens: maxNew,
      do_sample: req.params.do_sample ?? false,
      ...(req.params.temperature !== undefined ? { temperature: req.params.temperature } : {}),
      ...(req.params.top_p !== undefined ? { top_p: req.params.top_p } : {}),
      ...(req.params.top_k !== undefined ? { top_k: req.params.top_k } : {}),
      ...(req.params.repetition_penalty !== undefined ? { repetition_penalty: req.params.repetition_penalty } : {}),
      streamer,
      stopping_criteria: [stopper],
    });
  } catch (e) {
    const msg = messageOf(e);
    if (/bad_alloc|out of memory|Failed to allocate/i.test(msg)) throw new LoupeError('out-of-memory', `Out of memory while generating (${msg}). Try a smaller dtype, fewer or smaller images (loupe.maxImageTokens), or a smaller model.`);
    throw e;
  } finally {
    running.delete(req.id);
  }
  const end = now();
  const decodeMs = first ? end - first : 0;
  return {
    // Parsed where the runner asks, with the dialect (engine/dialects), as every engine's answers are.
    raw: m.family.decode(m.processor, ids, built),
    interrupted: (stopper as unknown as { interrupted: boolean }).interrupted,
    images: images.map((img, i) => ({ width: img.width, height: img.height, modelWidth: built.modelSizes[i]?.width ?? img.pixelWidth, modelHeight: built.modelSizes[i]?.height ?? img.pixelHeight })),
    seed,
    stats: {
      preprocessMs,
      imageEncodeMs: m.encodeMs,
      timeToFirstTokenMs: first ? first - tGen : end - tGen,
      totalMs: end - t0,
      promptTokens,
      generatedTokens: generated,
      tokensPerSecond: generated > 1 && decodeMs > 0 ? ((generated - 1) * 1000) / decodeMs : 0,
    },
  };
}

async function unload(key?: string): Promise<string[]> {
  const direct = key ? directKeys().filter((k) => k === key) : directKeys();
  await unloadDirect(direct);
  if (direct.length && key) return direct;
  const keys = key ? [key] : [...models.keys(), ...direct];
  for (const k of keys) {
    const m = models.get(k);
    models.delete(k);
    await m?.model.dispose().catch(() => undefined);
  }
  return keys;
}

function fail(id: number, e: unknown): void {
  const err = asLoupeError(e);
  send({ type: 'error', id, code: err.code, message: err.message });
}

// Loads and generations run one at a time; cancel is handled at once, between decode steps.
let chain: Promise<unknown> = Promise.resolve();
function serial(fn: () => Promise<void>): void {
  chain = chain.then(fn, fn);
}

process.on('message', (msg: HostRequest) => {
  switch (msg.type) {
    case 'cancel':
      running.get(msg.target)?.interrupt();
      return;
    case 'status':
      send({ type: 'status', id: msg.id, loaded: [...[...models.values()].map((m) => m.info), ...directLoaded()], rss: process.memoryUsage().rss });
      return;
    case 'load':
      return serial(() => load(msg).then((info) => void send({ type: 'loaded', id: msg.id, info }), (e) => fail(msg.id, e)));
    case 'generate':
      return serial(() => generate(msg).then((result) => void send({ type: 'done', id: msg.id, result }), (e) => fail(msg.id, e)));
    case 'unload':
      return serial(() => unload(msg.key).then((keys) => void send({ type: 'unloaded', id: msg.id, keys }), (e) => fail(msg.id, e)));
  }
});
process.on('disconnect', () => process.exit(0));
startHeartbeat();
send({ type: 'ready', pid: process.pid });
