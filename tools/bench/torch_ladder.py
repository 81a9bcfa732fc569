"""Float32 PyTorch training implementation of the seven-rung ladder, for speed comparisons (tools/bench).

The same models as @tarm/recursion (and tools/torch/ladder_reference.py, the float64 parity reference), written
for speed the way a PyTorch user would: plain parameter tensors (weights [in, out]), one fused qkv matmul,
F.scaled_dot_product_attention(is_causal=True) with attention dropout, F.layer_norm, exact GELU, F.cross_entropy,
torch.optim.AdamW. Same shapes and the same control flow as packages/recursion/src/forward.ts:

  block f          pre-LN GPT-2 block: h += Drop(Proj(CSA(LN1 h))); h += Drop(MLP(LN2 h)); q/k/v without bias
  dense            N distinct blocks;  iterative: one block N times;  iterative-step: + s_k before each pass
  ut               + ACT (Graves, per position, sequential, threshold 1 - 1e-6, forced halt at the last step),
                   stops early once every position halted (as forward.ts does with earlyExit)
  dual-ut          z = f(x + y + z + s_k); y = f(y + z + s_k); ACT on y; full backprop
  dual-nested-ut   per step: y, z detached; H cycles of {L z-updates; y-update}; the first H - 1 under no_grad
  ar-trm           binary halting head q = y[:, 0] w + b (no loss), exploration 0.25 in training; non-terminal
                   steps run under no_grad (they cannot carry gradient: the next step detaches), as forward.ts

KV-cached decoding (evaluation, `forward(ids_new, False, cache=KvCache())`), as forward.ts with a cache: one K/V
slot per block pass index, concatenated along the sequence at each call; every pass runs (no ACT early exit);
ar-trm keeps each sequence's halting step from the prefill (position 0 decides) and later tokens run the steps up
to the batch's last one.

Run: python tools/bench/torch_ladder.py --threads 1 --plan '<json>' (see tools/bench/run.mjs). Prints one line
`BENCH_RESULT <json>` per measured item.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import time

import torch
import torch.nn.functional as F

# The rung switches, ACT threshold and budget solver are the float64 reference's (tools/torch/ladder_reference.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "torch"))
from ladder_reference import ACT_THRESHOLD, RUNGS, solve_budget  # noqa: E402

VOCAB = "0123456789|+=\n"
NEWLINE_ID = VOCAB.index("\n")


class KvCache:
    """One {k, v} slot per block pass index ([B, nh, t, hs] each), the decoded length, ar-trm's halting steps."""

    def __init__(self):
        self.slots: dict[int, dict[str, torch.Tensor]] = {}
        self.length = 0
        self.halted_at: torch.Tensor | None = None  # [B] step (1-based) each sequence halted at
        self.halt_steps = 0


class Ladder:
    def __init__(self, model: str, C: int, n_heads: int, budget: int, V: int = 14, ctx: int = 180, dropout: float = 0.1, seed: int = 1337):
        g = torch.Generator().manual_seed(seed)
        self.r = RUNGS[model]
        self.model = model
        self.C, self.n_heads, self.V, self.dropout = C, n_heads, V, dropout
        sched = solve_budget(model, budget)
        self.steps, self.H, self.L, self.per_step = sched.steps, sched.H, sched.L, sched.passes_per_step
        self.block_passes = budget
        self.params: dict[str, torch.Tensor] = {}

        def normal(name, shape):
            self.params[name] = (torch.randn(*shape, generator=g) * 0.02).requires_grad_()

        def const(name, shape, v):
            self.params[name] = torch.full(shape, float(v)).requires_grad_()

        normal("embed.token", [V, C])
        normal("embed.position", [ctx, C])
        self.block_names = ["block"] if self.r["tied"] else [f"blocks.{i}" for i in range(self.steps)]
        for b in self.block_names:
            const(f"{b}.ln1.weight", [C], 1), const(f"{b}.ln1.bias", [C], 0)
            normal(f"{b}.attn.qkv.weight", [C, 3 * C])
            normal(f"{b}.attn.proj.weight", [C, C]), const(f"{b}.attn.proj.bias", [C], 0)
            const(f"{b}.ln2.weight", [C], 1), const(f"{b}.ln2.bias", [C], 0)
            normal(f"{b}.mlp.fc.weight", [C, 4 * C]), const(f"{b}.mlp.fc.bias", [4 * C], 0)
            normal(f"{b}.mlp.proj.weight", [4 * C, C]), const(f"{b}.mlp.proj.bias", [C], 0)
        const("head.ln_f.weight", [C], 1), const("head.ln_f.bias", [C], 0)
        normal("head.out.weight", [C, V])
        if self.r["step_embedding"]:
            normal("step.embedding", [self.steps, C])
        if self.r["halting"] == "act":
            normal("act.weight", [C, 1]), const("act.bias", [1], 0)
        if self.r["dual"]:
            normal("init.y", [C]), normal("init.z", [C])
        if self.r["halting"] == "binary":
            const("halt.weight", [C, 1], 0), const("halt.bias", [1], -5)

    # --- layers -------------------------------------------------------------------------------------------------
    def f(self, name: str, h: torch.Tensor, training: bool, kv: dict | None = None) -> torch.Tensor:
        """The block; with `kv` (a cache slot), h holds the T positions after the slot's t: attend to all t + T."""
        p, C, nh = self.params, self.C, self.n_heads
        B, T, _ = h.shape
        drop = self.dropout if training else 0.0
        x = F.layer_norm(h, (C,), p[f"{name}.ln1.weight"], p[f"{name}.ln1.bias"], 1e-5)
        qkv = (x @ p[f"{name}.attn.qkv.weight"]).view(B, T, 3, nh, C // nh).permute(2, 0, 3, 1, 4)  # [3, B, nh, T, hs]
        if kv is None:
            y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], dropout_p=drop, is_causal=True)  # [B, nh, T, hs]
        else:
            t = kv["k"].shape[2] if kv else 0
            k = torch.cat([kv["k"], qkv[1]], 2) if t else qkv[1]  # [B, nh, t + T, hs]
            v = torch.cat([kv["v"], qkv[2]], 2) if t else qkv[2]
            kv["k"], kv["v"] = k, v
            if T == 1:  # one new query sees every key
                y = F.scaled_dot_product_attention(qkv[0], k, v)
            elif t == 0:
                y = F.scaled_dot_product_attention(qkv[0], k, v, is_causal=True)
            else:  # query i (position t + i) sees keys j <= t + i
                y = F.scaled_dot_product_attention(qkv[0], k, v, attn_mask=torch.ones(T, t + T, dtype=torch.bool).tril(t))
        y = y.transpose(1, 2).reshape(B, T, C) @ p[f"{name}.attn.proj.weight"] + p[f"{name}.attn.proj.bias"]
        h = h + F.dropout(y, drop, training)
        x = F.layer_norm(h, (C,), p[f"{name}.ln2.weight"], p[f"{name}.ln2.bias"], 1e-5)
        m = F.gelu(x @ p[f"{name}.mlp.fc.weight"] + p[f"{name}.mlp.fc.bias"]) @ p[f"{name}.mlp.proj.weight"] + p[f"{name}.mlp.proj.bias"]
        return h + F.dropout(m, drop, training)

    def readout(self, h):
        p = self.params
        return F.layer_norm(h, (self.C,), p["head.ln_f.weight"], p["head.ln_f.bias"], 1e-5) @ p["head.out.weight"]

    # --- the ladder ---------------------------------------------------------------------------------------------
    def forward(self, ids: torch.Tensor, training: bool, seed: int = 0, cache: KvCache | None = None):
        """ids [B, T] -> (logits [B, T, V], passes run). With `cache` (evaluation): ids are the new tokens."""
        logits, passes = self._forward(ids, training, seed, cache)
        if cache is not None:
            cache.length += ids.shape[1]
        return logits, passes

    def _forward(self, ids: torch.Tensor, training: bool, seed: int, cache: KvCache | None):
        p, r = self.params, self.r
        B, T = ids.shape
        t0 = cache.length if cache is not None else 0
        x = p["embed.token"][ids] + p["embed.position"][t0 : t0 + T]
        passes = 0
        early_exit = cache is None  # with a cache every pass runs (later tokens need every pass's K/V)

        def slot(index):
            return None if cache is None else cache.slots.setdefault(index, {})

        def s(k):
            return p["step.embedding"][min(k, self.steps - 1)] if r["step_embedding"] else 0.0

        def blk(k):
            return "block" if r["tied"] else f"blocks.{k}"

        act = Act(B, T) if r["halting"] == "act" else None
        if not r["dual"]:
            h = x
            for k in range(self.steps):
                h = self.f(blk(k), h + s(k), training, slot(k))
                passes += 1
                if act is not None:
                    act.add(h, self.act_prob(h), k == self.steps - 1)
                    if early_exit and k < self.steps - 1 and act.all_halted():
                        break
            return self.readout(act.out if act is not None else h), passes

        y = p["init.y"].expand(B, T, self.C)
        z = p["init.z"].expand(B, T, self.C)
        if not r["nested"]:
            for k in range(self.steps):
                z = self.f("block", x + y + z + s(k), training, slot(2 * k))
                y = self.f("block", y + z + s(k), training, slot(2 * k + 1))
                passes += 2
                act.add(y, self.act_prob(y), k == self.steps - 1)
                if early_exit and k < self.steps - 1 and act.all_halted():
                    break
            return self.readout(act.out), passes

        def cycle(y, z, k, c):
            base = k * self.per_step + c * (self.L + 1)  # pass index, as forward.ts
            for l in range(self.L):
                z = self.f("block", x + y + z + s(k), training, slot(base + l))
            y = self.f("block", y + z + s(k), training, slot(base + self.L))
            return y, z

        def first_cycles(y, z, k):
            with torch.no_grad():
                for c in range(self.H - 1):
                    y, z = cycle(y, z, k, c)
            return y, z

        if act is not None:  # dual-nested-ut
            for k in range(self.steps):
                y, z = first_cycles(y.detach(), z.detach(), k)
                y, z = cycle(y, z, k, self.H - 1)
                passes += self.per_step
                act.add(y, self.act_prob(y), k == self.steps - 1)
                if early_exit and k < self.steps - 1 and act.all_halted():
                    break
            return self.readout(act.out), passes

        # ar-trm
        if cache is not None and cache.length > 0:  # cached decoding after the prefill: the halting steps are known
            y_term = 0.0
            for k in range(cache.halt_steps):
                y, z = first_cycles(y, z, k)
                y, z = cycle(y, z, k, self.H - 1)
                passes += self.per_step
                y_term = y_term + y * (cache.halted_at == k + 1).to(y.dtype).view(B, 1, 1)
            return self.readout(y_term), passes
        rng = random.Random(seed)
        min_steps = [(2 + rng.randrange(max(self.steps - 1, 1))) if training and rng.random() < 0.25 else 0 for _ in range(B)]
        halted = [False] * B
        halted_at = [0] * B
        y_term = None
        for k in range(self.steps):
            last = k == self.steps - 1
            y, z = first_cycles(y.detach(), z.detach(), k)
            y_in, z_in = y, z
            if last:
                y, z = cycle(y_in, z_in, k, self.H - 1)
            else:
                with torch.no_grad():
                    y, z = cycle(y_in, z_in, k, self.H - 1)
            passes += self.per_step
            with torch.no_grad():
                q = (y[:, 0, :] @ p["halt.weight"] + p["halt.bias"]).squeeze(-1).tolist()
            now = [0.0] * B
            for b in range(B):
                if not halted[b] and (last or (q[b] > 0 and k + 1 >= min_steps[b])):
                    halted[b] = True
                    halted_at[b] = k + 1
                    now[b] = 1.0
            if any(now):
                y_used = cycle(y_in, z_in, k, self.H - 1)[0] if (not last and training) else y
                term = y_used * torch.tensor(now).view(B, 1, 1)
                y_term = term if y_term is None else y_term + term
            if all(halted):
                break
        if cache is not None:  # the prefill decided each sequence's halting step (position 0 is in it)
            cache.halted_at, cache.halt_steps = torch.tensor(halted_at), max(halted_at)
        return self.readout(y_term), passes

    def act_prob(self, h):
        return torch.sigmoid(h @ self.params["act.weight"] + self.params["act.bias"])  # [B, T, 1]


class Act:
    """Graves' ACT, step by step, as packages/recursion/src/act.ts (decisions off the graph)."""

    def __init__(self, B, T):
        self.cum = torch.zeros(B, T, 1)
        self.running = torch.ones(B, T, 1)
        self.out = None

    def add(self, h, p, last):
        with torch.no_grad():
            halt_now = self.running.clone() if last else self.running * ((self.cum + p * self.running) > ACT_THRESHOLD).float()
            still = self.running - halt_now
        new_cum = self.cum + p * still
        remainder = halt_now * (1 - new_cum)
        term = h * (p * still + remainder)
        self.out = term if self.out is None else self.out + term
        self.cum = new_cum
        self.running = still

    def all_halted(self):
        return float(self.running.max()) == 0.0


def addition_batch(rng: random.Random, L: int, B: int):
    """B addition examples at length L as (inputs, targets, mask) [B, T], T = 3L + 3 (prompt + answer)."""
    T = 3 * L + 3
    ids, mask = [], []
    for _ in range(B):
        a = "".join(rng.choice("0123456789") for _ in range(L))
        b = "".join(rng.choice("0123456789") for _ in range(L))
        ans = str(int(a) + int(b)).zfill(L + 1)
        full = [VOCAB.index(c) for c in f"{a}+{b}={ans}\n"]  # T + 1 characters
        ids.append(full)
        P = 2 * L + 2
        mask.append([1.0 if P - 1 <= t < P + L + 1 else 0.0 for t in range(T)])
    full = torch.tensor(ids)
    return full[:, :-1].contiguous(), full[:, 1:].contiguous(), torch.tensor(mask)


def train_step(m: "Ladder", opt, batch, seed: int):
    """One optimizer step on (inputs, targets, mask) as trainStep does: masked mean CE, backward, AdamW; (loss, passes)."""
    inputs, targets, mask = batch
    opt.zero_grad(set_to_none=True)
    logits, n = m.forward(inputs, training=True, seed=seed)
    ce = F.cross_entropy(logits.reshape(-1, m.V), targets.reshape(-1), reduction="none")
    loss = (ce * mask.reshape(-1)).sum() / mask.sum().clamp(min=1)
    loss.backward()
    opt.step()
    return loss.item(), n


def bench_train(item, plan):
    torch.manual_seed(1337)
    m = Ladder(item["model"], plan.get("dModel", 128), plan.get("nHeads", 4), item["budget"], dropout=plan.get("dropout", 0.1))
    opt = torch.optim.AdamW(list(m.params.values()), lr=3e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    rng = random.Random(1337)
    B, Lt = plan.get("batchSize", 64), plan.get("L", 10)
    batches = [addition_batch(rng, Lt, B) for _ in range(4)]
    walls, cpus, passes = [], [], []
    for i in range(item["warmup"] + item["timed"]):
        t0, c0 = time.perf_counter(), time.process_time()
        lv, n = train_step(m, opt, batches[i % len(batches)], 1000 + i)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if not math.isfinite(lv):
            raise RuntimeError(f"loss is {lv}")
        if i >= item["warmup"]:
            walls.append(wall), cpus.append(cpu), passes.append(n)
    T = batches[0][0].shape[1]
    w, c = statistics.median(walls), statistics.median(cpus)
    return dict(stepMs=w * 1000, tokensPerSecond=B * T / w, tokensPerCpuSecond=B * T / c, timedSteps=len(walls), warmupSteps=item["warmup"],
                passes=statistics.median(passes), blockPasses=m.block_passes)


def greedy_decode(m: Ladder, prompts: torch.Tensor, max_new: int, cached: bool):
    """Greedy batched decoding as decodeAnswers in tools/bench/worker.mjs: newline masked out (no row ends early,
    every run generates max_new tokens per row); stops after max_new tokens or when every row ended.
    cached: prefill the prompts, then one token per call through a KvCache; else the whole prefix every call.
    Returns (rows [B, P + new], model calls)."""
    B = prompts.shape[0]
    cache = KvCache() if cached else None
    with torch.no_grad():
        rows = prompts
        inp = prompts
        ended = torch.zeros(B, dtype=torch.bool)
        calls = 0
        for _ in range(max_new):
            logits, _ = m.forward(inp if cached else rows, training=False, cache=cache)
            calls += 1
            last = logits[:, -1, :].clone()
            last[:, NEWLINE_ID] = -1e9
            nxt = last.argmax(-1)
            nxt = torch.where(ended, torch.full_like(nxt, NEWLINE_ID), nxt)
            ended |= nxt == NEWLINE_ID
            rows = torch.cat([rows, nxt[:, None]], dim=1)
            inp = nxt[:, None]
            if bool(ended.all()):
                break
    return rows, calls


def bench_decode(item, plan):
    torch.manual_seed(1337)
    m = Ladder(item["model"], plan.get("dModel", 128), plan.get("nHeads", 4), item["budget"], dropout=plan.get("dropout", 0.1))
    rng = random.Random(7)
    Lt, Bd = plan.get("L", 10), item.get("batch", 100)
    prompts = torch.tensor([[VOCAB.index(c) for c in f"{''.join(rng.choice('0123456789') for _ in range(Lt))}+{''.join(rng.choice('0123456789') for _ in range(Lt))}="] for _ in range(Bd)])
    max_new = Lt + 2
    cached = item.get("cache", True)
    walls, cpus, toks = [], [], []
    rows = None
    for i in range(item["warmup"] + item["timed"]):
        t0, c0 = time.perf_counter(), time.process_time()
        rows, calls = greedy_decode(m, prompts, max_new, cached)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if i >= item["warmup"]:
            walls.append(wall), cpus.append(cpu), toks.append(calls * Bd)
    extra = {}
    if cached:  # the cache must not change a single token
        plain, _ = greedy_decode(m, prompts, max_new, False)
        if not torch.equal(plain, rows):
            raise RuntimeError("KV-cached greedy decoding gave other tokens than the uncached one")
        extra["tokensEqualUncached"] = True
    w, c = statistics.median(walls), statistics.median(cpus)
    return dict(decodeMs=w * 1000, tokensPerSecond=statistics.median(toks) / w, tokensPerCpuSecond=statistics.median(toks) / c, timedRuns=len(walls), batch=Bd,
                newTokens=statistics.median(toks) / Bd, cache=cached, **extra)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--budget", type=float, default=600.0, help="seconds; items that would start later are skipped with a reason")
    a = ap.parse_args()
    deadline = time.perf_counter() + a.budget
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    plan = json.loads(a.plan)
    print("BENCH_RESULT " + json.dumps(dict(kind="setup", torch=torch.__version__, threads=torch.get_num_threads())), flush=True)
    for item in plan["items"]:
        base = dict(kind=item["kind"], config=item.get("config"), model=item["model"], budget=item["budget"], threads=a.threads, cache=item.get("cache"))
        if time.perf_counter() > deadline:
            print("BENCH_RESULT " + json.dumps({**base, "reason": f"skipped: over the {a.budget:.0f} s time budget of the PyTorch x{a.threads} reference"}), flush=True)
            continue
        try:
            t0 = time.perf_counter()
            r = bench_decode(item, plan) if item["kind"] == "decode" else bench_train(item, plan)
            what = item["kind"] + ("" if item.get("cache", True) or item["kind"] != "decode" else " (no cache)")
            print(f"[bench torch x{a.threads}] {what} {item['model']} budget {item['budget']}: {r['tokensPerSecond']:.0f} tok/s ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
            print("BENCH_RESULT " + json.dumps({**base, **r}), flush=True)
        except Exception as e:  # one failing item becomes a reason, never a crash
            print("BENCH_RESULT " + json.dumps({**base, "reason": f"failed: {type(e).__name__}: {e}"}), flush=True)


if __name__ == "__main__":
    main()
