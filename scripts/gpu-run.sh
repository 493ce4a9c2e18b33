#!/usr/bin/env bash
# On a lent GPU machine (no Node.js, no network): unpacks what scripts/gpu-bundle.mjs put in .gpu/, then runs
#   1. scripts/gpu-fixtures.ts: the fixture models through the model host on the CPU and on $DEVICE (docs/gpu.md),
#   2. bench/run.ts --gpu-only: B1 and B2 on $DEVICE (writes bench/gpu-results.md),
#   3. bench/b11.ts --device $DEVICE --llama-gpu vulkan: B11, Loupe vs llama.cpp's GPU build on the q4 bench model (generated
#      here, seeded, ~1 min on 16 cores) and its GGUF; writes $OUT/bench/b11-gpu.md. Set B11=0 to skip it.
# and leaves at most 6 files under $OUT: fixtures/{fixtures-gpu.json,fixtures-gpu.md}, bench/{gpu-results.md,gpu-results.json},
# logs.tar.xz (verbose onnxruntime logs, nvidia-smi samples, environment) and whatever the caller tees there.
# Also runs here (no GPU): WebGPU then fails cleanly and the results say so.
#
#   OUT=/tmp/out DEVICE=webgpu bash scripts/gpu-run.sh
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
DEVICE=${DEVICE:-webgpu}
G=$PWD/.gpu
LOGS=$(mktemp -d)
mkdir -p "$OUT/fixtures" "$OUT/bench"
t0=$(date +%s)
say() { echo "[gpu-run +$(( $(date +%s) - t0 ))s] $*"; }

# Node: the machine's own if there is one, else the carried binary.
if ! command -v node >/dev/null; then
  mkdir -p /tmp/loupe-node/bin
  xz -dc "$G/node.xz" > /tmp/loupe-node/bin/node && chmod +x /tmp/loupe-node/bin/node
  export PATH=/tmp/loupe-node/bin:$PATH
fi
# Runtime packages and the model host: only where the checkout has none (never over a developer's node_modules).
[ -d node_modules ] || tar -xJf "$G/node_modules.tar.xz"
[ -f dist/host.js ] || { mkdir -p dist && cp "$G/dist/host.js" dist/host.js; }
# The Vulkan loader for the WebGPU provider (Dawn), only on a GPU machine: unpacking into / changes the machine.
if command -v nvidia-smi >/dev/null; then
  for f in "$G"/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
  ldconfig
  ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$ICD" ] && export VK_DRIVER_FILES=$ICD
  EGLV=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  [ -f "$EGLV" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$EGLV
  [ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
say "node $(node --version); unpacked"

{
  echo "== uname"; uname -a
  echo "== nvidia-smi"; nvidia-smi 2>&1
  echo "== vulkan"; ldconfig -p | grep -i vulkan; echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  ls -la /usr/local/nvidia/share/vulkan/icd.d/ 2>&1; cat /usr/local/nvidia/share/vulkan/icd.d/*.json 2>&1
  echo "== nvidia libs"; ls /usr/local/nvidia /usr/local/nvidia/lib64 2>&1 | head -80; ldconfig -p | grep -i "nvidia\|GLdispatch\|libGLX" | head -40
  echo "== ldd libGLX_nvidia"; ldd "$(ldconfig -p | awk '/libGLX_nvidia.so.0/{print $NF; exit}')" 2>&1
  echo "== webgpu probe with VK_LOADER_DEBUG"
  VK_LOADER_DEBUG=error,warn,driver node -e "require('onnxruntime-node').InferenceSession.create('test/fixtures/models/tiny-qwen2vl/onnx/vision_encoder.onnx',{executionProviders:['webgpu']}).then(()=>console.log('webgpu session OK'),e=>console.log('webgpu session failed:',e.message.split('\n')[0]))" 2>&1 | tail -40
  echo "== python3 / torch"; python3 -c 'import torch; print(torch.__version__, torch.cuda.is_available())' 2>&1
  echo "== onnxruntime-node backends"
  node -e "const o=require('onnxruntime-node'); console.log(JSON.stringify(o.listSupportedBackends?.()))" 2>&1
} > "$LOGS/env.txt" 2>&1

SMI=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 250 > "$LOGS/smi-samples.csv" 2>&1 &
  SMI=$!
fi

export LOUPE_BENCH_BUNDLE=$G
say "fixture check on cpu and $DEVICE"
timeout "${FIXTURES_TIMEOUT:-150}" node "$G/gpu-fixtures.cjs" --device "$DEVICE" --runs 3 --out "$OUT/fixtures"
say "fixture check exit $?"
say "B1/B2 on $DEVICE"
timeout "${BENCH_TIMEOUT:-240}" node "$G/run.cjs" --gpu-only --device "$DEVICE" --out-dir "$OUT/bench"
say "bench exit $?"
if [ "${B11:-1}" != 0 ]; then
  # node-llama-cpp (Vulkan binaries only) next to the bundled worker; the models are generated from their seeds.
  [ -f "$G/bench_node_modules.tar.xz" ] && { mkdir -p "$G/node_modules" && tar -C "$G/node_modules" -xJf "$G/bench_node_modules.tar.xz"; }
  say "B11 on $DEVICE with llama.cpp's Vulkan build"
  timeout "${B11_TIMEOUT:-420}" node "$G/b11.cjs" --device "$DEVICE" --llama-gpu "${LLAMA_GPU:-vulkan}" --quick --out "$OUT/bench/b11-gpu.md" > "$LOGS/b11.log" 2>&1
  say "B11 exit $? (log in logs.tar.xz: b11.log)"
fi

[ -n "$SMI" ] && kill "$SMI" 2>/dev/null
for f in "$OUT"/fixtures/*.log "$OUT"/bench/*.log; do [ -f "$f" ] && mv "$f" "$LOGS/"; done
tar -C "$LOGS" -cJf "$OUT/logs.tar.xz" .
say "done: $(ls -R "$OUT" | tr '\n' ' ')"
