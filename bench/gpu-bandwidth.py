# GPU memory bandwidth for B2 on a GPU machine (bench/gpu.ts runs it when python3 with a CUDA PyTorch is there):
# device-to-device copies of 1 GiB, timed with CUDA events, counted as bytes read + written (a copy of S bytes moves 2S).
# Prints one JSON line: {"name": ..., "gbps": [...]} or {"error": ...}.
import json
import sys

try:
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("torch sees no CUDA device")
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    torch.cuda.synchronize()
    reps = 10
    out = []
    for _ in range(7):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            b.copy_(a)
        end.record()
        torch.cuda.synchronize()
        seconds = start.elapsed_time(end) / 1000 / reps
        out.append(2 * n / seconds / 1e9)
    print(json.dumps({"name": torch.cuda.get_device_name(0), "torch": torch.__version__, "gbps": out}))
except Exception as e:  # noqa: BLE001 - reported, not raised: the bench then uses the datasheet figure
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
    sys.exit(0)
