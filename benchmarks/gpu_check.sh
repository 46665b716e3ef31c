#!/usr/bin/env bash
# The GPU check (issue 15): one prepared script for a machine with one NVIDIA GPU, under 8 minutes.
#
#   bash benchmarks/gpu_check.sh                 # on the GPU machine (needs .venv with CUDA torch)
#   DEVICE=cpu QUICK=1 SKIP_TESTS=1 bash benchmarks/gpu_check.sh   # smoke run of the script here
#
# Steps, each under its own time limit (seconds in brackets), in order:
#   1. the tests parametrized over devices, on cuda only (pytest -k cuda) [150]
#   2. env throughput of the batched core and the TorchRL face up to B = 65,536 [120]
#      -> benchmarks/results/env_throughput_cuda{,_scaling}.{csv,md}
#   3. end-to-end PPO throughput of the paper economy, batched sampler, B = 128, 1024, 4096,
#      each in fp32, with bf16 autocast and with torch.compile (TrainConfig.precision,
#      TrainConfig.compile; QUICK=1: fp32 only) [210]
#      -> benchmarks/results/training_throughput_cuda_scaling.{csv,md}
# Every step runs even if an earlier one fails; the script exits non-zero if any failed. When $OUT
# is set (the device tool's output folder), the tables are copied there.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
SKIP_TESTS=${SKIP_TESTS:-0}
export RAY_USAGE_STATS_ENABLED=0

if [ "$DEVICE" != "cpu" ] && [ "$DEVICE" != "cuda" ]; then
  echo "gpu_check: DEVICE must be cuda or cpu; got '$DEVICE'" >&2
  exit 2
fi
if [ "$DEVICE" = "cpu" ] && [ "$QUICK" != "1" ]; then
  echo "gpu_check: DEVICE=cpu is a smoke run of the script: set QUICK=1 too (a full CPU run" \
    "would overwrite the committed CPU tables; use the benchmarks themselves for those)" >&2
  exit 2
fi
if ! "$PY" -c "import torch, sys; sys.exit(0 if '$DEVICE' == 'cpu' or torch.cuda.is_available() else 1)"; then
  echo "gpu_check: torch sees no CUDA device ($("$PY" -c 'import torch; print(torch.__version__)')):" \
    "run it on a GPU machine with a CUDA build of torch, or DEVICE=cpu for a smoke run" >&2
  exit 2
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'device', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"

quick=()
[ "$QUICK" = "1" ] && quick=(--quick)
failed=()
step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit}s): $*"
  local start=$SECONDS
  if ! timeout "$limit" "$@"; then
    failed+=("$name")
  fi
  echo "== $name took $((SECONDS - start))s"
}

if [ "$SKIP_TESTS" != "1" ]; then
  step tests 150 "$PY" -m pytest -q -p no:cacheprovider -k "$DEVICE" tests/core tests/growth \
    tests/adapters/test_pettingzoo.py tests/adapters/test_torchrl.py tests/trainers/test_curriculum.py
fi
if [ "$QUICK" = "1" ]; then
  env_batches=256,1024
  train_batches=16,32
else
  env_batches=256,4096,16384,65536
  train_batches=128,1024,4096
fi
step env_throughput 120 "$PY" benchmarks/env_throughput.py --device "$DEVICE" \
  --batches "$env_batches" "${quick[@]}"
step training_throughput 210 "$PY" benchmarks/training_throughput.py --device "$DEVICE" \
  --batch-sizes "$train_batches" "${quick[@]}"

if [ -n "${OUT:-}" ]; then
  cp benchmarks/results/*_cuda* "$OUT"/ 2>/dev/null || true
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "gpu_check: failed steps: ${failed[*]}" >&2
  exit 1
fi
echo "gpu_check: all steps passed"
