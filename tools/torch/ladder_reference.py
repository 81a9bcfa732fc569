"""Plain PyTorch (float64) reference of the seven-rung ladder of "Tiny Autoregressive Recursive Models".

Written from the specification (/work/shared/reference/paper.md, "The ladder" and "Known properties") and the
choices the project documents where the spec is silent (docs/concepts.md, docs/parity.md), NOT from the tfjs code
in packages/recursion/src, so that packages/recursion/test/parity.test.ts compares two independent
implementations. The block f, the embedding and the readout come from tarm_reference.py (checked on their own by
make_layer_fixtures.py).

Parameter names and layouts (weights [in, out], as @tarm/recursion's ParamStore):

  embed.token [V, C], embed.position [ctx, C]
  blocks.{i}.*  (dense: N distinct blocks)  or  block.*  (every tied rung: one shared block)
  head.ln_f.weight/.bias [C], head.out.weight [C, V]
  step.embedding [steps, C]      s_k (iterative-step and above), index clamped to steps - 1
  act.weight [C, 1], act.bias [1]  ACT halting unit (ut, dual-ut, dual-nested-ut)
  init.y [C], init.z [C]          learned initial answer / latent states (dual-ut and above)
  halt.weight [C, 1], halt.bias [1]  binary halting head (ar-trm)

What each rung computes (x = embed(ids) [B, T, C]; f = the block; s_k the step embedding):

  dense            h <- blocks.k(h) for k < N, from h = x; logits = readout(h)
  iterative        h <- f(h) N times
  iterative-step   h <- f(h + s_k)
  ut               h_k = f(h_{k-1} + s_k); ACT over the states h_k (below); logits = readout(ACT-weighted sum)
  dual-ut          y, z <- init.y, init.z broadcast; per step: z = f(x + y + z + s_k); y = f(y + z + s_k);
                   ACT over the y_k; full backprop
  dual-nested-ut   per step: y, z detached (also at the first step, so init.y / init.z get no gradient);
                   H cycles of {L times z = f(x + y + z + s_k); y = f(y + z + s_k)}, the first H - 1 under
                   torch.no_grad(); ACT over the y_k (each step's last cycle carries gradient)
  ar-trm           the same steps; q_k = y_k[:, 0] @ halt.weight + halt.bias per sequence (read without
                   gradient: the head receives no loss); a sequence halts at the first step with q > 0 (and
                   step count >= its exploration minimum, training only) or at the last step; logits from its
                   terminal y

ACT (Graves 2016, per position, documented choice): p_k = sigmoid(h_k @ act.weight + act.bias) on the state
AFTER step k. A position's halting step n is the first k whose cumulative p (steps 0..k) exceeds the threshold
1 - 1e-6, or the last step (forced halt). Weights: w_k = p_k for k < n, w_n = R = 1 - sum_{k<n} p_k, 0 after;
output = sum_k w_k h_k; ponder cost = mean over positions of (N + R), N = n + 1 steps. The halting decision is
discrete (made on detached values); p and R carry gradient.

This file computes ACT in closed form over the states of all steps (halting steps first, then the weights);
`act_sequential` is a second, step-by-step formulation (Graves' running accumulators with an early exit once every
position halted) used only as a self-check of the reference.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import torch

import tarm_reference as base

RUNG_NAMES = ["dense", "iterative", "iterative-step", "ut", "dual-ut", "dual-nested-ut", "ar-trm"]

# Switches per rung, straight from the ladder table of the spec (each rung adds one change to the one above).
RUNGS = {
    "dense": dict(tied=False, step_embedding=False, halting="none", dual=False, nested=False),
    "iterative": dict(tied=True, step_embedding=False, halting="none", dual=False, nested=False),
    "iterative-step": dict(tied=True, step_embedding=True, halting="none", dual=False, nested=False),
    "ut": dict(tied=True, step_embedding=True, halting="act", dual=False, nested=False),
    "dual-ut": dict(tied=True, step_embedding=True, halting="act", dual=True, nested=False),
    "dual-nested-ut": dict(tied=True, step_embedding=True, halting="act", dual=True, nested=True),
    "ar-trm": dict(tied=True, step_embedding=True, halting="binary", dual=True, nested=True),
}

ACT_THRESHOLD = 1 - 1e-6


@dataclass(frozen=True)
class Config:
    model: str
    V: int
    ctx: int
    C: int
    n_heads: int
    budget: int
    ponder_weight: float = 0.0
    act_threshold: float = ACT_THRESHOLD


@dataclass(frozen=True)
class Schedule:
    steps: int  # N blocks / applications, or ACT / halting steps
    H: int  # cycles per step (nested), else 1
    L: int  # z updates per cycle (nested), dual-ut 1, else 0
    passes_per_step: int


def solve_budget(model: str, budget: int) -> Schedule:
    """The spec's budget solver: N = B for the single-stream rungs, B / 2 steps for dual-ut, nested rungs from
    (H, L) = (2, 2), falling back to smaller H, then smaller L, when H (L + 1) does not divide B."""
    r = RUNGS[model]
    if not r["dual"]:
        return Schedule(budget, 1, 0, 1)
    if not r["nested"]:
        assert budget % 2 == 0, "dual-ut needs an even budget"
        return Schedule(budget // 2, 1, 1, 2)
    for H, L in [(2, 2), (1, 2), (1, 1)]:
        if budget % (H * (L + 1)) == 0:
            return Schedule(budget // (H * (L + 1)), H, L, H * (L + 1))
    raise ValueError(f"budget {budget} does not fit a nested schedule")


def block_names(cfg: Config) -> list[str]:
    if RUNGS[cfg.model]["tied"]:
        return ["block"]
    return [f"blocks.{i}" for i in range(solve_budget(cfg.model, cfg.budget).steps)]


def param_shapes(cfg: Config) -> "OrderedDict[str, list[int]]":
    r = RUNGS[cfg.model]
    sch = solve_budget(cfg.model, cfg.budget)
    shapes = base.model_param_shapes(cfg.V, cfg.ctx, cfg.C, block_names(cfg))
    if r["step_embedding"]:
        shapes["step.embedding"] = [sch.steps, cfg.C]
    if r["halting"] == "act":
        shapes["act.weight"] = [cfg.C, 1]
        shapes["act.bias"] = [1]
    if r["dual"]:
        shapes["init.y"] = [cfg.C]
        shapes["init.z"] = [cfg.C]
    if r["halting"] == "binary":
        shapes["halt.weight"] = [cfg.C, 1]
        shapes["halt.bias"] = [1]
    return shapes


def run_steps(p: dict, ids: torch.Tensor, cfg: Config) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Runs EVERY step of the schedule (no early exit: halting is applied afterwards, and states after a
    position's halting step get weight 0). Returns the per-step states the halting reads (h for the single-stream
    rungs, y for the dual ones) and x."""
    r = RUNGS[cfg.model]
    sch = solve_budget(cfg.model, cfg.budget)
    n_heads = cfg.n_heads
    x = base.embed(p, ids)  # [B, T, C]
    B, T, C = x.shape

    def s(k: int) -> torch.Tensor:
        if not r["step_embedding"]:
            return torch.zeros((), dtype=x.dtype)
        S = p["step.embedding"].shape[0]
        return p["step.embedding"][min(k, S - 1)]  # [C], broadcast over [B, T, C]

    def f(h: torch.Tensor, k: int) -> torch.Tensor:
        name = "block" if r["tied"] else f"blocks.{k}"
        return base.block(p, name, h, n_heads)

    states: list[torch.Tensor] = []
    if not r["dual"]:
        h = x
        for k in range(sch.steps):
            h = f(h + s(k), k)
            states.append(h)
        return states, x

    y = p["init.y"].expand(B, T, C)
    z = p["init.z"].expand(B, T, C)
    if not r["nested"]:
        for k in range(sch.steps):
            z = f(x + y + z + s(k), k)
            y = f(y + z + s(k), k)
            states.append(y)
        return states, x

    def cycle(y: torch.Tensor, z: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        for _ in range(sch.L):
            z = f(x + y + z + s(k), k)
        y = f(y + z + s(k), k)
        return y, z

    for k in range(sch.steps):
        y, z = y.detach(), z.detach()
        with torch.no_grad():
            for _ in range(sch.H - 1):
                y, z = cycle(y, z, k)
        y, z = cycle(y, z, k)
        states.append(y)
    return states, x


def act_probs(p: dict, states: list[torch.Tensor]) -> torch.Tensor:
    """p_k = sigmoid(h_k @ w + b) for every step: [K, B, T]."""
    return torch.stack([torch.sigmoid(h @ p["act.weight"] + p["act.bias"]).squeeze(-1) for h in states])


def act_halting_steps(P: torch.Tensor, threshold: float) -> torch.Tensor:
    """0-based halting step per position [B, T]: first k with sum_{j<=k} p_j > threshold, else the last step.
    A plain loop over positions on detached values."""
    K, B, T = P.shape
    Pd = P.detach().tolist()
    n = torch.full((B, T), K - 1, dtype=torch.int64)
    for b in range(B):
        for t in range(T):
            cum = 0.0
            for k in range(K):
                cum += Pd[k][b][t]
                if cum > threshold:
                    n[b, t] = k
                    break
    return n


@dataclass
class ActResult:
    out: torch.Tensor  # [B, T, C]
    ponder: torch.Tensor  # scalar
    halt_step: torch.Tensor  # [B, T], 0-based
    remainder: torch.Tensor  # [B, T]
    probs: torch.Tensor  # [K, B, T]
    margin: float = field(default=0.0)  # min |cumulative p - threshold| over the decisions taken


def act_closed_form(P: torch.Tensor, states: list[torch.Tensor], threshold: float) -> ActResult:
    K, B, T = P.shape
    n = act_halting_steps(P, threshold)
    ks = torch.arange(K).view(K, 1, 1)
    before = (ks < n.unsqueeze(0)).to(P.dtype)  # [K, B, T]
    at = (ks == n.unsqueeze(0)).to(P.dtype)
    R = 1 - (before * P).sum(0)  # [B, T]
    W = before * P + at * R.unsqueeze(0)  # [K, B, T]
    out = sum(W[k].unsqueeze(-1) * states[k] for k in range(K))
    ponder = ((n + 1).to(P.dtype) + R).mean()
    # Distance of every cumulative sum that was compared with the threshold (up to and including the halting
    # step, except a forced halt) from the threshold: the float32 side must take the same decisions.
    cum = P.detach().cumsum(0)
    decided = (ks <= n.unsqueeze(0)) & (ks < K - 1)  # the last step halts whatever the sum
    margin = (cum - threshold).abs()[decided].min().item() if bool(decided.any()) else float("inf")
    return ActResult(out, ponder, n, R, P, margin)


def act_sequential(P: torch.Tensor, states: list[torch.Tensor], threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Self-check formulation: Graves' running accumulators step by step (halting probability, remainder,
    update count), forced halt at the last step, early exit once every position halted."""
    K, B, T = P.shape
    halting_prob = torch.zeros(B, T, dtype=P.dtype)
    remainders = torch.zeros(B, T, dtype=P.dtype)
    n_updates = torch.zeros(B, T, dtype=P.dtype)
    running = torch.ones(B, T, dtype=torch.bool)
    out = torch.zeros_like(states[0])
    for k in range(K):
        p = P[k]
        with torch.no_grad():
            crosses = (halting_prob + p) > threshold
            new_halted = running & (crosses | (k == K - 1))
            continuing = running & ~new_halted
        cont = continuing.to(P.dtype)
        halted = new_halted.to(P.dtype)
        halting_prob = halting_prob + p * cont
        remainder = halted * (1 - halting_prob)
        remainders = remainders + remainder
        n_updates = n_updates + running.to(P.dtype)
        out = out + (p * cont + remainder).unsqueeze(-1) * states[k]
        running = continuing
        if not bool(running.any()):
            break
    return out, (n_updates + remainders).mean()


@dataclass
class HaltResult:
    out: torch.Tensor  # [B, T, C]
    halt_step: torch.Tensor  # [B], 0-based
    q: torch.Tensor  # [K, B]
    margin: float


def binary_halting(p: dict, states: list[torch.Tensor], min_steps: list[int] | None = None) -> HaltResult:
    """ar-trm: q_k = y_k[:, 0] @ w + b per sequence (no gradient); halt at the first k with q_k > 0 and
    k + 1 >= min_steps[b] (exploration, training only), else at the last step; output = the terminal y."""
    K = len(states)
    B = states[0].shape[0]
    with torch.no_grad():
        q = torch.stack([(y[:, 0, :] @ p["halt.weight"] + p["halt.bias"]).squeeze(-1) for y in states])  # [K, B]
    mins = min_steps or [0] * B
    n = []
    for b in range(B):
        nb = K - 1
        for k in range(K - 1):
            if q[k, b].item() > 0 and k + 1 >= mins[b]:
                nb = k
                break
        n.append(nb)
    out = torch.stack([states[n[b]][b] for b in range(B)])
    margin = min(abs(q[k, b].item()) for b in range(B) for k in range(n[b] + 1) if k < K - 1) if K > 1 else float("inf")
    return HaltResult(out, torch.tensor(n), q, margin)


@dataclass
class LadderResult:
    logits: torch.Tensor  # [B, T, V]
    ponder: torch.Tensor | None
    steps_run: int  # steps a forward with early exit runs: the last halting step + 1 (all steps without halting)
    act: ActResult | None = None
    halt: HaltResult | None = None


def ladder_forward(p: dict, ids: torch.Tensor, cfg: Config) -> LadderResult:
    r = RUNGS[cfg.model]
    states, _ = run_steps(p, ids, cfg)
    if r["halting"] == "none":
        return LadderResult(base.readout(p, states[-1]), None, len(states))
    if r["halting"] == "act":
        a = act_closed_form(act_probs(p, states), states, cfg.act_threshold)
        return LadderResult(base.readout(p, a.out), a.ponder, int(a.halt_step.max().item()) + 1, act=a)
    h = binary_halting(p, states)
    return LadderResult(base.readout(p, h.out), None, int(h.halt_step.max().item()) + 1, halt=h)


def ladder_forward_alt(p: dict, ids: torch.Tensor, cfg: Config) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Second formulation for the self-check: sequential ACT with early exit; ar-trm's terminal y as a
    one-hot-weighted sum over steps."""
    r = RUNGS[cfg.model]
    states, _ = run_steps(p, ids, cfg)
    if r["halting"] == "none":
        return base.readout(p, states[-1]), None
    if r["halting"] == "act":
        out, ponder = act_sequential(act_probs(p, states), states, cfg.act_threshold)
        return base.readout(p, out), ponder
    n = binary_halting(p, states).halt_step
    sel = torch.nn.functional.one_hot(n, len(states)).T.to(states[0].dtype)  # [K, B]
    out = sum(sel[k].view(-1, 1, 1) * states[k] for k in range(len(states)))
    return base.readout(p, out), None


def ladder_loss(res: LadderResult, targets: torch.Tensor, mask: torch.Tensor, cfg: Config) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, ce): masked mean next-token cross-entropy, plus ponder_weight * ponder for the ACT rungs."""
    ce = base.masked_cross_entropy(res.logits, targets, mask)
    loss = ce + cfg.ponder_weight * res.ponder if res.ponder is not None else ce
    return loss, ce
