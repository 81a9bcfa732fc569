"""Writes packages/recursion/test/fixtures/ladder-parity.json: PyTorch float64 logits, losses and gradients of
every rung of the ladder (ladder_reference.py) on fixed random weights, for packages/recursion/test/parity.test.ts.

Regenerate:  bash tools/torch/setup.sh && .venv/bin/python tools/torch/make_ladder_fixtures.py

Deterministic (fixed seeds: same torch, same file). For each case:
  - every parameter is randn * 0.3 rounded to float32 (so tfjs starts from exactly the same numbers), except the
    halting units, which are set so that halting is non-trivial and deterministic (below);
  - ids [B, T], targets [B, T] and an answer mask (3 "prompt" positions per row, some "padding" at row ends);
  - float64 forward (every step run, halting applied afterwards), masked mean cross-entropy
    (+ ponder_weight * ponder for the ACT rungs), and d loss / d every parameter (zeros where none flows).

Halting units. The dual-stream states grow geometrically with the steps (y and z are both fed back through the
residual stream) and are dominated by a component common to all positions, so a random act / halt weight gives
every position the same decision. The generator therefore draws a random direction, removes from it the
position-mean of the states of the first few steps (for ar-trm: the sequence-mean of y[:, 0]), scales it to a
chosen spread of the logits at the first step, and sets the bias to a chosen logit (ut's single stream is treated
the same way, for a wide spread of halting steps). Every case then ASSERTS what the fixture is for: ACT positions
halt at different steps, some before the last step and some forced at the last step; ar-trm sequences halt at
(at least three) different steps, some at the first, one on a q in (0, 1); the paper init (w 0, b -5) runs
every step; and every halting decision is far from its threshold (float32 takes the same ones).

Self-checks before writing: the block of tarm_reference.py against a torch.nn formulation; the ladder against a
second formulation (step-by-step ACT with early exit; ar-trm terminal y as a one-hot sum), logits, ponder and
every gradient to 1e-10; parameters that receive no gradient by construction are exactly zero; and the same
reference run in float32 (its distance to float64 is stored as a yardstick for the tfjs float32 differences).
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ladder_reference as lr  # noqa: E402
import tarm_reference as base  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "recursion", "test", "fixtures", "ladder-parity.json")
REGENERATE = "bash tools/torch/setup.sh && .venv/bin/python tools/torch/make_ladder_fixtures.py"

SEED = 20260309
V, CTX, C, N_HEADS = 14, 16, 16, 4
SCALE = 0.3
PONDER_WEIGHT = 0.05  # nonzero (the paper uses 0) so that the ponder term and its gradient are compared too
ACT_MARGIN = 1e-4  # min |cumulative p - threshold| over the decisions taken
HALT_MARGIN = 1e-2  # min |q| over the decisions taken
MAX_BYTES = 2_000_000

# act: (logit spread at the first step, p = sigmoid(bias), how many step-means to project out)
# halt: ("directed", spread, bias, steps projected) or ("paper",) = w 0, b -5
CASES = [
    dict(name="dense", model="dense", budget=6, B=3, T=8),  # 6 distinct blocks (12 would take the file over 2 MB)
    dict(name="iterative", model="iterative", budget=12, B=3, T=8),
    dict(name="iterative-step", model="iterative-step", budget=12, B=3, T=8),
    dict(name="ut", model="ut", budget=12, B=4, T=8, act=(0.5, 0.4, 2)),
    dict(name="dual-ut", model="dual-ut", budget=12, B=4, T=8, act=(0.5, 0.4, 3)),
    dict(name="dual-nested-ut", model="dual-nested-ut", budget=18, B=4, T=8, act=(0.5, 0.45, 3)),
    # the solver's fallback (H, L) = (1, 2): no no-grad cycle, so only the per-step detach cuts the graph
    dict(name="dual-nested-ut (H 1: budget 9)", model="dual-nested-ut", budget=9, B=4, T=8, act=(0.5, 0.45, 3)),
    dict(name="ar-trm", model="ar-trm", budget=18, B=6, T=8, halt=("directed", 2.0, -1.6, 3)),
    dict(name="ar-trm (paper halting init)", model="ar-trm", budget=12, B=3, T=8, halt=("paper",)),
]


def f32(t: torch.Tensor) -> torch.Tensor:
    """Round to float32, keep as float64 (exactly representable in float32)."""
    return t.to(torch.float32).to(torch.float64)


def f32_randn(gen: torch.Generator, shape: list[int], scale: float = SCALE) -> torch.Tensor:
    return f32(torch.randn(shape, generator=gen, dtype=torch.float64) * scale)


def directed_weight(gen: torch.Generator, feats: list[torch.Tensor], spread: float, n_proj: int) -> torch.Tensor:
    """A random [C, 1] weight orthogonal to the mean (over rows) of feats[0..n_proj), scaled so that the logits
    of feats[0] have standard deviation `spread`."""
    w = torch.randn(C, generator=gen, dtype=torch.float64)
    if n_proj:
        M = torch.stack([f.mean(0) for f in feats[:n_proj]]).T  # [C, n_proj]
        Q, _ = torch.linalg.qr(M)
        w = w - Q @ (Q.T @ w)
    w = w * (spread / (feats[0] @ w).std())
    return f32(w.view(C, 1))


def fmt_f32(x: float) -> float:
    """A float64 whose shortest repr is the shortest repr of the float32 x; checks that JS (parse to double,
    then Float32Array) gets exactly the float32 x back."""
    s = float(str(torch.tensor(x, dtype=torch.float32).numpy()))
    assert float(torch.tensor(s, dtype=torch.float64).to(torch.float32)) == x, (x, s)
    return s


def enc(t: torch.Tensor, exact_f32: bool = False) -> dict:
    t = t.detach()
    if not t.is_floating_point():
        return {"shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}
    vals = t.to(torch.float64).reshape(-1).tolist()
    data = [fmt_f32(v) for v in vals] if exact_f32 else [float(f"{v:.10g}") for v in vals]
    return {"shape": list(t.shape), "data": data}


def max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.detach().to(torch.float64) - b.detach().to(torch.float64)).abs().max().item()


def run(params: dict, ids, targets, mask, cfg: lr.Config, names: list[str]):
    """Forward + loss + gradients w.r.t. every parameter (zeros where none flows)."""
    res = lr.ladder_forward(params, ids, cfg)
    loss, ce = lr.ladder_loss(res, targets, mask, cfg)
    grads = torch.autograd.grad(loss, [params[n] for n in names], allow_unused=True)
    grads = [torch.zeros_like(params[n]) if g is None else g for n, g in zip(names, grads)]
    return res, loss, ce, grads


def make_case(case: dict, gen: torch.Generator) -> dict:
    cfg = lr.Config(case["model"], V, CTX, C, N_HEADS, case["budget"], PONDER_WEIGHT if lr.RUNGS[case["model"]]["halting"] == "act" else 0.0)
    rung = lr.RUNGS[cfg.model]
    sch = lr.solve_budget(cfg.model, cfg.budget)
    B, T = case["B"], case["T"]
    shapes = lr.param_shapes(cfg)
    names = list(shapes.keys())
    params = {n: f32_randn(gen, s) for n, s in shapes.items()}

    ids = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int64)
    if rung["halting"] == "binary":
        ids[:, 0] = torch.randperm(V, generator=gen)[:B]  # y[:, 0] depends on token 0 only: make them differ
    targets = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int64)
    mask = torch.ones(B, T, dtype=torch.float64)
    mask[:, :3] = 0  # prompt
    mask[1, T - 2 :] = 0  # padding
    mask[B - 1, T - 1 :] = 0

    # Halting units (see the module doc).
    if rung["halting"] != "none":
        with torch.no_grad():
            states, _ = lr.run_steps(params, ids, cfg)
        if rung["halting"] == "act":
            spread, p_target, n_proj = case["act"]
            params["act.weight"] = directed_weight(gen, [h.reshape(-1, C) for h in states], spread, n_proj)
            params["act.bias"] = f32(torch.tensor([math.log(p_target / (1 - p_target))], dtype=torch.float64))
        elif case["halt"][0] == "paper":
            params["halt.weight"] = torch.zeros(C, 1, dtype=torch.float64)
            params["halt.bias"] = torch.tensor([-5.0], dtype=torch.float64)
        else:
            _, spread, bias, n_proj = case["halt"]
            params["halt.weight"] = directed_weight(gen, [y[:, 0, :] for y in states], spread, n_proj)
            params["halt.bias"] = f32(torch.tensor([bias], dtype=torch.float64))
    for n in names:
        params[n] = params[n].detach().requires_grad_(True)

    res, loss, ce, grads = run(params, ids, targets, mask, cfg, names)

    # --- what the case is for -------------------------------------------------------------------------------
    halting: dict = {}
    if res.act is not None:
        n = res.act.halt_step
        hist = torch.bincount(n.flatten(), minlength=sch.steps).tolist()
        halting = {"kind": "act", "halt_step": enc(n), "histogram": hist, "margin": res.act.margin, "p_first_step": [res.act.probs[0].min().item(), res.act.probs[0].max().item()]}
        assert sum(1 for h in hist if h) >= 2, f"{case['name']}: every position halts at the same step {hist}"
        assert n.min().item() < sch.steps - 1, f"{case['name']}: no position halts before the last step"
        assert hist[-1] > 0, f"{case['name']}: no forced halt at the last step {hist}"
        assert res.act.margin > ACT_MARGIN, f"{case['name']}: an ACT decision is {res.act.margin} from the threshold"
    if res.halt is not None:
        n = res.halt.halt_step
        halting = {"kind": "binary", "halt_step": enc(n), "q": enc(res.halt.q), "margin": res.halt.margin}
        assert res.halt.margin > HALT_MARGIN, f"{case['name']}: a q is {res.halt.margin} from 0"
        if case["halt"][0] == "paper":
            assert n.tolist() == [sch.steps - 1] * B, f"{case['name']}: the paper init must run every step"
        else:
            assert len(set(n.tolist())) >= 3 and min(n.tolist()) == 0, f"{case['name']}: halting steps {n.tolist()}"
            # one sequence halts (before the last step) on a q in (0, 1): a shifted threshold would change it
            assert any(0 < res.halt.q[n[b], b].item() < 1 for b in range(B) if n[b] < sch.steps - 1), "no halt on a small q"

    # --- self-checks -----------------------------------------------------------------------------------------
    block_check = base.self_check(params, lr.block_names(cfg)[0], f32_randn(gen, [B, T, C]), N_HEADS)
    assert block_check < 1e-12, f"block self-check {block_check}"
    alt_logits, alt_ponder = lr.ladder_forward_alt(params, ids, cfg)
    alt_loss = base.masked_cross_entropy(alt_logits, targets, mask) + (cfg.ponder_weight * alt_ponder if alt_ponder is not None else 0)
    alt_grads = torch.autograd.grad(alt_loss, [params[nm] for nm in names], allow_unused=True)
    alt_check = max_abs(alt_logits, res.logits)
    if alt_ponder is not None:
        alt_check = max(alt_check, abs(alt_ponder.item() - res.ponder.item()))
    for g, a in zip(grads, alt_grads):
        alt_check = max(alt_check, max_abs(g, torch.zeros_like(g) if a is None else a))
    assert alt_check < 1e-10, f"{case['name']}: second formulation differs by {alt_check}"

    zero_by_construction = []
    if rung["nested"]:
        zero_by_construction += ["init.y", "init.z"]  # y, z detached at the start of every step
    if rung["halting"] == "binary":
        zero_by_construction += ["halt.weight", "halt.bias"]  # the head receives no loss
    gmap = dict(zip(names, grads))
    for nm in zero_by_construction:
        assert bool((gmap[nm] == 0).all()), f"{case['name']}: {nm} should receive no gradient"
    if rung["halting"] == "act":
        assert gmap["act.weight"].abs().max() > 0 and gmap["act.bias"].abs().max() > 0
    zero_grads = [nm for nm in names if bool((gmap[nm] == 0).all())]

    # The same reference in float32: how far float32 arithmetic alone lands from float64 (a yardstick).
    p32 = {nm: params[nm].detach().to(torch.float32).requires_grad_(True) for nm in names}
    r32, loss32, _, g32 = run(p32, ids, targets, mask.to(torch.float32), cfg, names)
    torch32 = {
        "logits": max_abs(r32.logits, res.logits),
        "loss": abs(loss32.item() - loss.item()),
        "grads_worst": max(max_abs(a, b) for a, b in zip(g32, grads)),
    }
    if r32.act is not None:
        assert torch.equal(r32.act.halt_step, res.act.halt_step), "float32 takes other ACT decisions"
    if r32.halt is not None:
        assert torch.equal(r32.halt.halt_step, res.halt.halt_step), "float32 takes other halting decisions"

    passes = res.steps_run * sch.passes_per_step
    print(
        f"{case['name']:<28} steps {sch.steps} (H {sch.H}, L {sch.L}) ran {res.steps_run}, loss {loss.item():.6f}"
        f"{'' if res.ponder is None else f', ponder {res.ponder.item():.4f}'}, halting {halting.get('histogram', halting.get('halt_step', {}).get('data', '-'))}"
        f", margin {halting.get('margin', float('nan')):.1e}, self-check {alt_check:.1e}, torch f32 worst {max(torch32.values()):.1e}"
    )
    return {
        "name": case["name"],
        "config": {
            "model": cfg.model,
            "vocabSize": V,
            "contextLength": CTX,
            "dModel": C,
            "nHeads": N_HEADS,
            "budget": cfg.budget,
            "dropout": 0,
            "haltExploration": 0,
            "ponderWeight": cfg.ponder_weight,
            "actThreshold": cfg.act_threshold,
        },
        "schedule": {"steps": sch.steps, "H": sch.H, "L": sch.L, "passesPerStep": sch.passes_per_step},
        "steps_run": res.steps_run,
        "passes_run": passes,
        "halting": halting,
        "params": {nm: enc(params[nm], exact_f32=True) for nm in names},
        "ids": enc(ids),
        "targets": enc(targets),
        "mask": enc(mask),
        "logits": enc(res.logits),
        "ce": ce.item(),
        "ponder": None if res.ponder is None else res.ponder.item(),
        "loss": loss.item(),
        "grads": {nm: enc(g) for nm, g in zip(names, grads)},
        "zero_grads": zero_grads,
        "self_check_max_abs": alt_check,
        "torch_float32_vs_float64": torch32,
    }


def main() -> None:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    cases = []
    for i, case in enumerate(CASES):
        gen = torch.Generator().manual_seed(SEED + i)
        cases.append(make_case(case, gen))
    fixture = {
        "generator": "tools/torch/make_ladder_fixtures.py",
        "reference": "tools/torch/ladder_reference.py (block, embedding, readout: tools/torch/tarm_reference.py)",
        "regenerate": REGENERATE,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "seed": SEED,
        "dtype": "computed in float64; parameters are float32-representable (written as shortest float32 decimals); other floats to 10 significant digits",
        "mode": "dropout 0, haltExploration 0: the tfjs side runs training mode (model.loss) and eval mode, which then compute the same function",
        "loss_definition": "sum(mask * cross_entropy) / sum(mask) + ponderWeight * mean(N + R) (ACT rungs)",
        "cases": cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(OUT)
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({size} bytes)")
    if size >= MAX_BYTES:
        raise SystemExit(f"fixture is over {MAX_BYTES} bytes")


if __name__ == "__main__":
    main()
