// Models Loupe knows by name. Data only: adding a model never needs a new code path, and what a model can do
// follows from its box dialect (dialectTasks) and whether it reads several images.
import type { Dialect } from './dialects';
import { dialectTasks } from './dialects/prompts';
import type { Family } from './local/families';
import type { Capability, Dtype } from './types';

interface Entry {
  id: string;
  name: string;
  repo: string;
  /** A commit id where known; otherwise a branch, resolved to a commit and recorded at first download. */
  revision: string;
  family: Family;
  dialect: Dialect;
  /** Reads several images in one prompt. */
  multiImage: boolean;
  /** Trained on video: frames with their timestamps in its own video prompt. */
  video?: boolean;
  /** Approximate download size in bytes of the files needed per dtype (ONNX sessions plus configs). */
  sizes: Partial<Record<Dtype, number>>;
  licence: string;
  description: string;
}

export interface RegistryEntry extends Entry {
  capabilities: Capability[];
}

const MB = 1024 * 1024;

const ENTRIES: readonly Entry[] = [
  {
    id: 'florence-2-base',
    name: 'Florence-2 base (fine-tuned)',
    repo: 'onnx-community/Florence-2-base-ft',
    revision: 'e88a44eaf3791a35eae0c5a47b3dbcd36e67eb6f',
    family: 'florence2',
    dialect: 'florence2',
    multiImage: false,
    sizes: { fp32: 1080 * MB, fp16: 540 * MB, q8: 280 * MB, q4: 300 * MB, q4f16: 190 * MB },
    licence: 'MIT',
    description: 'Small and fast: captions, OCR with regions, detection, phrase grounding, region description. One image per run.',
  },
  {
    id: 'florence-2-large',
    name: 'Florence-2 large (fine-tuned)',
    repo: 'onnx-community/Florence-2-large-ft',
    revision: 'main',
    family: 'florence2',
    dialect: 'florence2',
    multiImage: false,
    sizes: { fp32: 3100 * MB, fp16: 1560 * MB, q8: 800 * MB, q4: 650 * MB, q4f16: 480 * MB },
    licence: 'MIT',
    description: 'More accurate Florence-2; same tasks, about 3× the size.',
  },
  {
    id: 'qwen2-vl-2b',
    name: 'Qwen2-VL 2B Instruct',
    repo: 'onnx-community/Qwen2-VL-2B-Instruct',
    revision: 'main',
    family: 'qwen2_vl',
    dialect: 'qwen2_vl',
    multiImage: true,
    sizes: { fp32: 8900 * MB, fp16: 4450 * MB, q8: 2300 * MB, q4: 1700 * MB, q4f16: 1300 * MB },
    licence: 'Apache-2.0',
    description: 'Chat model: free questions, several images at once, grounding with boxes, text-rich documents.',
  },
  {
    id: 'omniparser-icon-detect',
    name: 'OmniParser v2 icon detector (YOLOv8)',
    repo: 'onnx-community/OmniParser-icon_detect_640x640',
    revision: 'main',
    family: 'yolo',
    dialect: 'detections',
    multiImage: false,
    sizes: { fp32: 12 * MB, fp16: 6 * MB, q8: 4 * MB, q4: 12 * MB, q4f16: 6 * MB },
    licence: 'AGPL-3.0',
    description: 'Finds the interactable icons and buttons of a screenshot (boxes, one class): @task detect and list-elements.',
  },
  {
    id: 'smolvlm-256m',
    name: 'SmolVLM 256M Instruct',
    repo: 'HuggingFaceTB/SmolVLM-256M-Instruct',
    revision: 'main',
    family: 'idefics3',
    dialect: 'none',
    multiImage: true,
    sizes: { fp32: 1030 * MB, fp16: 520 * MB, q8: 270 * MB, q4: 200 * MB, q4f16: 160 * MB },
    licence: 'Apache-2.0',
    description: 'Tiny chat model for quick questions and captions; no boxes.',
  },
  {
    id: 'smolvlm-500m',
    name: 'SmolVLM 500M Instruct',
    repo: 'HuggingFaceTB/SmolVLM-500M-Instruct',
    revision: 'main',
    family: 'idefics3',
    dialect: 'none',
    multiImage: true,
    sizes: { fp32: 2000 * MB, fp16: 1000 * MB, q8: 520 * MB, q4: 390 * MB, q4f16: 310 * MB },
    licence: 'Apache-2.0',
    description: 'Small chat model, better answers than 256M; no boxes.',
  },
  {
    id: 'smolvlm2-256m-video',
    name: 'SmolVLM2 256M Video-Instruct',
    repo: 'HuggingFaceTB/SmolVLM2-256M-Video-Instruct',
    revision: 'main',
    family: 'idefics3',
    dialect: 'none',
    multiImage: true,
    video: true,
    sizes: { fp32: 1030 * MB, fp16: 520 * MB, q8: 270 * MB, q4: 200 * MB, q4f16: 160 * MB },
    licence: 'Apache-2.0',
    description: 'Tiny chat model trained on video: questions about a clip, its frames with their timestamps; images too; no boxes.',
  },
  {
    id: 'smolvlm2-500m-video',
    name: 'SmolVLM2 500M Video-Instruct',
    repo: 'HuggingFaceTB/SmolVLM2-500M-Video-Instruct',
    revision: 'main',
    family: 'idefics3',
    dialect: 'none',
    multiImage: true,
    video: true,
    sizes: { fp32: 2000 * MB, fp16: 1000 * MB, q8: 520 * MB, q4: 390 * MB, q4f16: 310 * MB },
    licence: 'Apache-2.0',
    description: 'Small chat model trained on video, better answers than 256M; images too; no boxes.',
  },
];

export const REGISTRY: readonly RegistryEntry[] = ENTRIES.map((e) => ({ ...e, capabilities: [...dialectTasks(e.dialect), ...(e.multiImage ? (['multi-image'] as const) : []), ...(e.video ? (['video'] as const) : [])] }));

export function findEntry(id: string): RegistryEntry | undefined {
  const lower = id.toLowerCase();
  return REGISTRY.find((e) => e.id === lower || e.repo.toLowerCase() === lower);
}

/** Registry ids that can run a task, for messages that say which models can. */
export function modelsFor(cap: Capability): string[] {
  return REGISTRY.filter((e) => e.capabilities.includes(cap)).map((e) => e.id);
}

/** Close matches for an unknown id, by edit distance. */
export function closeMatches(id: string, max = 3): string[] {
  const scored = REGISTRY.map((e) => ({ id: e.id, d: Math.min(distance(id.toLowerCase(), e.id), distance(id.toLowerCase(), e.repo.toLowerCase())) }));
  return scored
    .filter((s) => s.d <= Math.max(3, Math.floor(id.length / 3)))
    .sort((a, b) => a.d - b.d)
    .slice(0, max)
    .map((s) => s.id);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}
