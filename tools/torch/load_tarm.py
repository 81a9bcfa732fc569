"""Loads a model exported by `tarm export --format safetensors` into the PyTorch reference (ladder_reference.py).

    import sys; sys.path.insert(0, "tools/torch")
    from load_tarm import load_tarm
    m = load_tarm("model.safetensors")          # float64 by default; dtype=torch.float32 also works
    logits = m.logits(ids)                      # ids: int64 [B, T] -> [B, T, V], evaluation mode
    m.params["block.attn.qkv.weight"]           # [C, 3C]: every linear weight is [in, out] (y = x @ W + b)

Or from the command line, a summary:  .venv/bin/python tools/torch/load_tarm.py model.safetensors

The file holds the model's weights only (no optimizer state), under the names of ladder_reference.py, and the
run's model config as JSON in the metadata ("tarm.model"; docs/interop.md lists every key). The reference covers
the seven rungs of the paper at the budget solver's schedule; a model it does not compute (trm-faithful, an
explicit --outer/--inner schedule the solver would not choose, a trained per-position halting head) is refused
with the reason. torch.nn.Linear stores the transpose: use W.T as its .weight.
Needs torch and safetensors (bash tools/torch/setup.sh).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass

import torch
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ladder_reference as lr  # noqa: E402


class NotLoadable(ValueError):
    """The file is not a tarm export the reference can compute; the message says why."""


@dataclass
class TarmModel:
    params: dict  # name -> tensor, requires_grad False
    config: lr.Config
    tarm_config: dict  # the run's model config as tarm stored it
    metadata: dict  # every safetensors metadata entry

    def forward(self, ids: torch.Tensor) -> lr.LadderResult:
        """Evaluation mode (no dropout, no halting exploration): logits, ponder cost, halting decisions."""
        return lr.ladder_forward(self.params, ids, self.config)

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        return self.forward(ids).logits


def reference_config(cfg: dict, schedule: dict | None) -> lr.Config:
    model = cfg.get("model")
    if model not in lr.RUNGS:
        raise NotLoadable(f"model {model!r} is not one of the reference's rungs ({', '.join(lr.RUNG_NAMES)})")
    if cfg.get("haltLoss"):
        raise NotLoadable("haltLoss: the model reads a trained per-position halting head; the reference reads y[:, 0] (the paper's ar-trm)")
    rc = lr.Config(
        model=model,
        V=int(cfg["vocabSize"]),
        ctx=int(cfg["contextLength"]),
        C=int(cfg["dModel"]),
        n_heads=int(cfg["nHeads"]),
        budget=int(cfg["budget"]),
        ponder_weight=float(cfg.get("ponderWeight", 0.0)),
        act_threshold=float(cfg.get("actThreshold", lr.ACT_THRESHOLD)),
    )
    try:
        s = lr.solve_budget(model, rc.budget)
    except (AssertionError, ValueError) as e:
        raise NotLoadable(f"budget {rc.budget}: {e}") from e
    ours = {"steps": s.steps, "H": s.H, "L": s.L, "passesPerStep": s.passes_per_step}
    if schedule is not None and schedule != ours:
        raise NotLoadable(f"the model runs the schedule {schedule}; the reference's budget solver gives {ours} (set by --outer/--inner?)")
    return rc


def load_tarm(path: str, dtype: torch.dtype = torch.float64) -> TarmModel:
    with safe_open(path, framework="pt") as f:
        metadata = dict(f.metadata() or {})
    if "tarm.model" not in metadata:
        raise NotLoadable(f"{path}: no tarm.model metadata (not written by tarm export)")
    tarm_config = json.loads(metadata["tarm.model"])
    schedule = json.loads(metadata["tarm.schedule"]) if "tarm.schedule" in metadata else None
    cfg = reference_config(tarm_config, schedule)
    tensors = load_file(path)
    expected = lr.param_shapes(cfg)
    missing = [n for n in expected if n not in tensors]
    extra = [n for n in tensors if n not in expected]
    if missing or extra:
        raise NotLoadable(f"{path}: parameter names differ from ladder_reference.py (missing {missing}, unexpected {extra})")
    for n, shape in expected.items():
        if list(tensors[n].shape) != list(shape):
            raise NotLoadable(f"{path}: {n} has shape {list(tensors[n].shape)}, the reference expects {shape}")
    params = {n: tensors[n].to(dtype) for n in expected}
    return TarmModel(params, cfg, tarm_config, metadata)


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: load_tarm.py FILE.safetensors")
    m = load_tarm(sys.argv[1])
    n = sum(t.numel() for t in m.params.values())
    s = lr.solve_budget(m.config.model, m.config.budget)
    print(f"{sys.argv[1]}: {m.config.model}, C {m.config.C}, {m.config.n_heads} heads, budget {m.config.budget} (steps {s.steps}, H {s.H}, L {s.L}), "
          f"{len(m.params)} tensors, {n} parameters, {m.metadata.get('tarm.weights')} weights at step {m.metadata.get('tarm.step')}")


if __name__ == "__main__":
    main()
