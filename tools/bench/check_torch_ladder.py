"""Self-check of the speed implementation (torch_ladder.py) against the float64 parity reference
(tools/torch/ladder_reference.py, itself checked against @tarm/recursion): same weights, every rung, evaluation
mode, float64. Also its KV-cached decoding: prefill + one token at a time (and uneven chunks) give the full pass's
logits. Run: .venv/bin/python tools/bench/check_torch_ladder.py"""

import os
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in tools/

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "torch"))

import ladder_reference as ref  # noqa: E402
from torch_ladder import RUNGS, KvCache, Ladder, addition_batch  # noqa: E402
import random  # noqa: E402

torch.set_default_dtype(torch.float64)
torch.manual_seed(0)
worst = 0.0
for model in RUNGS:
    for budget in (4, 12):
        if model in ("dual-nested-ut", "ar-trm") and budget == 4:
            budget = 6
        m = Ladder(model, 32, 4, budget, dropout=0.0, seed=3)
        p = {k: v.detach().double() for k, v in m.params.items()}
        if "act.bias" in p:  # make ACT halt at different steps per position
            p["act.bias"] = torch.tensor([0.3])
            p["act.weight"] = torch.randn(32, 1) * 0.5
        if "halt.bias" in p:  # and the binary head halt some sequences early
            p["halt.weight"] = torch.randn(32, 1)
            p["halt.bias"] = torch.tensor([0.0])
        for k, v in p.items():
            m.params[k] = v.requires_grad_()
        ids, _, _ = addition_batch(random.Random(1), 3, 5)
        if "halt.bias" in p and m.steps > 1:  # aim the head until the sequences halt at different steps
            for bias in [x / 4 for x in range(-40, 41)]:
                m.params["halt.bias"] = p["halt.bias"] = torch.tensor([bias]).requires_grad_()
                probe = KvCache()
                m.forward(ids, training=False, cache=probe)
                if len(set(probe.halted_at.tolist())) > 1:
                    break
            halts = f"  halting steps {probe.halted_at.tolist()}"
        else:
            halts = ""
        mine, _ = m.forward(ids, training=False)
        cfg = ref.Config(model=model, V=14, ctx=180, C=32, n_heads=4, budget=budget)
        theirs = ref.ladder_forward(p, ids, cfg).logits
        d = (mine - theirs).abs().max().item()
        worst = max(worst, d)
        dc = 0.0
        for chunks in ([5] + [1] * (ids.shape[1] - 5), [3, 1, 4, 2, 2]):
            cache, parts, t = KvCache(), [], 0
            assert sum(chunks) == ids.shape[1]
            for n in chunks:
                parts.append(m.forward(ids[:, t : t + n], training=False, cache=cache)[0])
                t += n
            dc = max(dc, (torch.cat(parts, 1) - mine).abs().max().item())
        worst = max(worst, dc)
        print(f"{model:15s} budget {budget:2d}  max |logits diff| = {d:.2e}, KV-cached vs full {dc:.2e}{halts}")
print("OK" if worst < 1e-9 else "MISMATCH", f"(worst {worst:.2e})")
sys.exit(0 if worst < 1e-9 else 1)
