// Families the model host runs on onnxruntime-node directly (DirectFamily: YOLO-layout detectors): their own
// load and run, beside main.ts's transformers.js path. Same protocol, same provider fallback, same folder checks.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LoupeError } from '../../../common/errors';
import { prepareImage } from '../../../images/prepare';
import { detectionsText } from '../../dialects/detections';
import type { Generation } from '../../types';
import { familyCapabilities, FAMILIES } from '../families';
import { DEFAULT_CONFIDENCE, DEFAULT_IOU, YoloDetector } from '../families/yolo';
import type { DirectFamily } from '../families/types';
import type { GenerateRequest, LoadedInfo, LoadRequest } from '../protocol';
import { checkFiles, checkFolder, messageOf, type Provider } from './checks';
import { chooseDtype, onnxFilesFor } from './dtypes';
import { intraOpThreads } from './threads';

const detectors = new Map<string, { req: LoadRequest; info: LoadedInfo; det: YoloDetector }>();

const readJson = (p: string): Record<string, unknown> | undefined => (existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : undefined);

/** The ONNX file to load: `onnx/model[_dtype].onnx` in the Hub layout, else the folder's one `.onnx` (an Ultralytics export). */
export function detectorFile(folder: string, family: DirectFamily, dtype: LoadRequest['dtype'], gpu: boolean): { file: string; dtype: string } {
  if (existsSync(join(folder, 'onnx'))) {
    const d = chooseDtype(folder, family.modules, dtype, gpu);
    return { file: onnxFilesFor(folder, family.modules, d)[0]!, dtype: typeof d === 'string' ? d : Object.values(d)[0]! };
  }
  const files = readdirSync(folder).filter((n) => n.endsWith('.onnx'));
  if (files.length !== 1) throw new LoupeError('unsupported-model', `${folder} has ${files.length ? `${files.length} .onnx files (${files.join(', ')})` : 'no .onnx file'}: a detector folder holds one YOLO export (e.g. best.onnx), or the Hub layout onnx/model.onnx.`);
  return { file: join(folder, files[0]!), dtype: 'fp32' };
}

export async function loadDirect(req: LoadRequest, family: DirectFamily, candidates: Provider[], log: (m: string) => void): Promise<LoadedInfo> {
  const existing = detectors.get(req.key);
  if (existing) return existing.info;
  const t0 = performance.now();
  await checkFolder(req.folder);
  const fallbacks: LoadedInfo['fallbacks'] = [];
  const config = readJson(join(req.folder, 'config.json'));
  const preprocessor = readJson(join(req.folder, 'preprocessor_config.json'));
  for (const device of candidates) {
    const { file, dtype } = detectorFile(req.folder, family, req.dtype, device !== 'cpu');
    await checkFiles(req.folder, [file]);
    try {
      const det = await YoloDetector.load(file, { device, threads: intraOpThreads(), config, preprocessor });
      const info: LoadedInfo = { key: req.key, provider: device, fallbacks, dtype, loadMs: performance.now() - t0, bytes: statSync(file).size };
      detectors.set(req.key, { req, info, det });
      return info;
    } catch (e) {
      const msg = messageOf(e);
      if (e instanceof LoupeError) throw e;
      if (/protobuf parsing failed|INVALID_PROTOBUF|invalid model/i.test(msg)) throw new LoupeError('corrupt-model', `The model file ${file} is corrupt or incomplete (${msg}). Download it again.`);
      if (req.device !== 'auto') throw new LoupeError('load-failed', msg);
      fallbacks.push({ device, error: msg });
      log(`${device} unavailable for ${req.info.id}: ${msg}`);
    }
  }
  throw new LoupeError('load-failed', `No execution provider could load ${req.info.id}: ${fallbacks.map((f) => `${f.device}: ${f.error}`).join('; ')}`);
}

export function isDirectKey(key: string): boolean {
  return detectors.has(key);
}

export function directFamily(name: LoadRequest['family']): DirectFamily | undefined {
  const f = FAMILIES[name];
  return 'direct' in f ? f : undefined;
}

/** One image per request (the runner plans one run per image): boxes as the `detections` dialect's JSON. */
export async function generateDirect(req: GenerateRequest): Promise<Generation> {
  const d = detectors.get(req.key)!;
  if (!familyCapabilities(d.req.family, d.req.dialect).includes(req.task)) throw new LoupeError('task-unsupported', `${d.req.info.id} is a detector: it runs @task detect and @task list-elements, not @task ${req.task}.`);
  if (req.images.length !== 1) throw new LoupeError('task-unsupported', `${d.req.info.id} reads one image at a time`);
  const t0 = performance.now();
  const i = req.images[0]!;
  const p = await prepareImage({ source: i.source, path: i.path, bytes: i.data === undefined ? undefined : Buffer.from(i.data, 'base64') }, { maxPixels: req.maxImagePixels, maxSide: Math.max(d.det.inputWidth, d.det.inputHeight) });
  const r = await d.det.detect(p.rgb, p.width, p.height, p.pixelWidth, p.pixelHeight, { confidence: req.params.confidence ?? DEFAULT_CONFIDENCE, iou: req.params.iou ?? DEFAULT_IOU });
  const total = performance.now() - t0;
  return {
    raw: detectionsText(r.detections),
    interrupted: false,
    images: [{ width: p.width, height: p.height, modelWidth: r.inputWidth, modelHeight: r.inputHeight }],
    seed: req.params.seed ?? 0,
    stats: { preprocessMs: total - r.runMs, imageEncodeMs: r.runMs, timeToFirstTokenMs: total, totalMs: total, promptTokens: 0, generatedTokens: 0, tokensPerSecond: 0 },
  };
}

export async function unloadDirect(keys: string[]): Promise<void> {
  for (const k of keys) {
    const d = detectors.get(k);
    detectors.delete(k);
    await d?.det.dispose().catch(() => undefined);
  }
}

export function directLoaded(): LoadedInfo[] {
  return [...detectors.values()].map((d) => d.info);
}

export function directKeys(): string[] {
  return [...detectors.keys()];
}
