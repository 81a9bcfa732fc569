"""Round trip tarm -> safetensors -> PyTorch: writes packages/train/test/fixtures/export/ for
packages/train/test/export.test.ts.

Regenerate:  npm run build && bash tools/torch/setup.sh && .venv/bin/python tools/torch/make_export_fixtures.py

For dense, dual-ut and ar-trm: a short `tarm train` run (tiny width, a high learning rate so the weights leave
their initialisation), `tarm export --format safetensors` of it into <model>.safetensors, then load_tarm.py loads
the file into the float64 reference (ladder_reference.py) and computes the logits on fixed ids. export-parity.json
keeps those logits; the JavaScript test loads the same .safetensors into a tarm model and compares its logits to
them (1e-5), so it needs no Python. Every halting decision is asserted to be far from its threshold, so that
float32 takes the same ones.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_tarm import load_tarm  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "packages", "train", "test", "fixtures", "export")
CLI = os.path.join(ROOT, "apps", "cli", "dist", "main.js")
REGENERATE = "npm run build && bash tools/torch/setup.sh && .venv/bin/python tools/torch/make_export_fixtures.py"
SEED = 20261203
# budget per model: dense 2 distinct blocks; dual-ut 2 ACT steps (a single halting decision, far from 1 - 1e-6);
# ar-trm 2 steps of H 2 x (L 2 + 1)
CASES = [("dense", 2), ("dual-ut", 4), ("ar-trm", 12)]
TRAIN = ["--task", "addition", "--length", "3", "--eval-lengths", "3", "--d-model", "16", "--heads", "2", "--steps", "20",
         "--batch", "8", "--lr", "1e-2", "--eval-every", "20", "--eval-n", "8", "--backend", "cpu", "--seed", "7"]
B, T = 3, 12


def tarm(*args: str) -> None:
    subprocess.run(["node", CLI, *args], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    torch.use_deterministic_algorithms(True)
    gen = torch.Generator().manual_seed(SEED)
    ids = torch.randint(0, 14, (B, T), generator=gen, dtype=torch.int64)
    ids[:, 0] = torch.randperm(14, generator=gen)[:B]  # ar-trm's halting head reads position 0: make the rows differ
    os.makedirs(OUT_DIR, exist_ok=True)
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for model, budget in CASES:
            run = os.path.join(tmp, model)
            file = f"{model}.safetensors"
            tarm("train", "--model", model, "--budget", str(budget), *TRAIN, "--out", run)
            tarm("export", "--run", run, "--format", "safetensors", "--out", os.path.join(OUT_DIR, file))
            m = load_tarm(os.path.join(OUT_DIR, file))
            with torch.no_grad():
                res = m.forward(ids)
            margin = res.act.margin if res.act is not None else res.halt.margin if res.halt is not None else None
            if res.act is not None:
                assert margin > 1e-4, f"{model}: an ACT decision is {margin} from the threshold"
            if res.halt is not None:
                assert margin > 1e-2, f"{model}: a halting q is {margin} from 0"
            print(f"{model:<8} budget {budget}: {len(m.params)} tensors, steps run {res.steps_run}, |logits| max {res.logits.abs().max().item():.3f}, halting margin {margin}")
            cases.append({
                "name": model,
                "file": file,
                "steps_run": res.steps_run,
                "halting_margin": margin,
                "logits": {"shape": list(res.logits.shape), "data": [float(f"{v:.10g}") for v in res.logits.reshape(-1).tolist()]},
            })
    fixture = {
        "generator": "tools/torch/make_export_fixtures.py",
        "regenerate": REGENERATE,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "train": TRAIN,
        "ids": {"shape": [B, T], "data": ids.reshape(-1).tolist()},
        "dtype": "reference logits in float64 on the exported float32 weights, 10 significant digits",
        "cases": cases,
    }
    path = os.path.join(OUT_DIR, "export-parity.json")
    with open(path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(OUT_DIR, ROOT)}/ ({', '.join(sorted(os.listdir(OUT_DIR)))})")


if __name__ == "__main__":
    main()
