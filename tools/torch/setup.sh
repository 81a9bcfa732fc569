#!/usr/bin/env bash
# Creates the PyTorch virtual environment used to generate parity fixtures (tools/torch/*.py) and to check
# exported weights (load_tarm.py: safetensors) and TensorBoard event files (read_tensorboard.py: tensorboard).
# Idempotent: does nothing when .venv/bin/python can already import all four.
# pip on the project machines is configured for a local offline wheel index (torch 2.13 cpu).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
if [ -x .venv/bin/python ] && .venv/bin/python -c "import torch, numpy, safetensors, tensorboard" >/dev/null 2>&1; then
  echo "setup.sh: .venv already has torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')"
  exit 0
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --disable-pip-version-check torch numpy safetensors tensorboard
.venv/bin/python -c 'import torch, numpy, safetensors, tensorboard; print("setup.sh: torch", torch.__version__, "numpy", numpy.__version__, "safetensors", safetensors.__version__, "tensorboard", tensorboard.__version__)'
