"""Writes packages/layers/test/fixtures/block-parity.json: PyTorch float64 forward passes and gradients of the
reference block (tarm_reference.py) on fixed random weights, for packages/layers/test/parity.test.ts.

Regenerate:  bash tools/torch/setup.sh && .venv/bin/python tools/torch/make_layer_fixtures.py

Weights and inputs are drawn as randn * 0.3 (not the paper's init, so that LayerNorm weights and biases are
non-trivial), then rounded to float32 so that the tfjs side (float32) starts from exactly the same numbers; all
computation here is float64. Tensors are written row-major as {"shape": [...], "data": [...]}.
"""

from __future__ import annotations

import json
import os
import platform
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tarm_reference as ref  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "layers", "test", "fixtures", "block-parity.json")

SEED = 20260308
V, CTX, C, H, B, T = 14, 16, 16, 4, 2, 7
BLOCKS = ["blocks.0", "blocks.1"]
SCALE = 0.3


def f32_randn(gen: torch.Generator, shape: list[int]) -> torch.Tensor:
    """randn * SCALE, rounded to float32, returned as float64 (exactly representable in float32)."""
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * SCALE).to(torch.float32).to(torch.float64)


def enc(t: torch.Tensor) -> dict:
    t = t.detach()
    if t.is_floating_point():
        data = [float(x) for x in t.to(torch.float64).reshape(-1).tolist()]
    else:
        data = [int(x) for x in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


def main() -> None:
    torch.use_deterministic_algorithms(True)
    gen = torch.Generator().manual_seed(SEED)

    shapes = ref.model_param_shapes(V, CTX, C, BLOCKS)
    params = {name: f32_randn(gen, shape).requires_grad_(True) for name, shape in shapes.items()}

    ids = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int64)
    targets = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int64)
    # A fixed answer mask: the first 3 positions are "prompt" in both rows, the last 2 of row 1 are "padding".
    mask = torch.ones(B, T, dtype=torch.float64)
    mask[:, :3] = 0
    mask[1, T - 2 :] = 0

    # Whole model: embed -> blocks.0 -> blocks.1 -> readout, masked mean cross-entropy.
    logits = ref.forward(params, ids, BLOCKS, H)
    loss = ref.masked_cross_entropy(logits, targets, mask)
    names = list(shapes.keys())
    grads = torch.autograd.grad(loss, [params[n] for n in names])

    # One block on its own: out = block(h); objective = sum(out * R); gradients w.r.t. h and the block's parameters.
    bname = BLOCKS[0]
    h = f32_randn(gen, [B, T, C]).requires_grad_(True)
    R = f32_randn(gen, [B, T, C])
    out = ref.block(params, bname, h, H)
    objective = (out * R).sum()
    bnames = list(ref.block_param_shapes(bname, C).keys())
    bgrads = torch.autograd.grad(objective, [h] + [params[n] for n in bnames])

    check = max(ref.self_check(params, b, h.detach(), H) for b in BLOCKS)
    if not check < 1e-12:
        raise SystemExit(f"reference self-check failed: max abs difference {check}")

    fixture = {
        "generator": "tools/torch/make_layer_fixtures.py",
        "reference": "tools/torch/tarm_reference.py",
        "regenerate": "bash tools/torch/setup.sh && .venv/bin/python tools/torch/make_layer_fixtures.py",
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "seed": SEED,
        "dtype": "computed in float64; weights, h and R are float32-representable (randn * 0.3 rounded to float32)",
        "config": {"V": V, "ctx": CTX, "C": C, "H": H, "B": B, "T": T, "blocks": BLOCKS, "dropout": 0.0, "layerNormEps": ref.LAYER_NORM_EPS},
        "reference_self_check_max_abs": check,
        "params": {n: enc(params[n]) for n in names},
        "model": {
            "ids": enc(ids),
            "targets": enc(targets),
            "mask": enc(mask),
            "logits": enc(logits),
            "loss": loss.item(),
            "loss_definition": "sum over positions of mask * cross_entropy(logits, targets) / sum(mask)",
            "grads": {n: enc(g) for n, g in zip(names, grads)},
        },
        "block": {
            "name": bname,
            "h": enc(h),
            "R": enc(R),
            "out": enc(out),
            "objective": objective.item(),
            "objective_definition": "sum(block(h) * R)",
            "grad_h": enc(bgrads[0]),
            "grads": {n: enc(g) for n, g in zip(bnames, bgrads[1:])},
        },
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(OUT)
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({size} bytes), loss {loss.item():.6f}, self-check {check:.2e}")
    if size >= 1_000_000:
        raise SystemExit("fixture is over 1 MB")


if __name__ == "__main__":
    main()
