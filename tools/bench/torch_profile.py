"""Where a PyTorch training step of the bench's config (a) goes (torch.profiler, self CPU time per op), to compare
with tools/bench/profile.mjs on the tfjs backends, in particular the time in matrix products.

    .venv/bin/python tools/bench/torch_profile.py [--threads 1] [--model dense] [--budget 4] [--steps 5] [--json]

Matrix products: aten::mm / addmm / bmm / baddbmm (the linear layers and attention; SDPA's math path calls bmm).
"""
import argparse
import json
import os
import random
import statistics
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from torch_ladder import Ladder, addition_batch, train_step  # noqa: E402

MATMUL_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default="dense")
    ap.add_argument("--budget", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1337)
    m = Ladder(a.model, 128, 4, a.budget, dropout=0.1)
    opt = torch.optim.AdamW(list(m.params.values()), lr=3e-4, weight_decay=0.01)
    rng = random.Random(1337)
    batches = [addition_batch(rng, 10, 64) for _ in range(4)]

    def step(i):
        return train_step(m, opt, batches[i % 4], 1000 + i)[0]

    for i in range(3):
        step(i)
    cpus = []
    for i in range(a.steps):
        c0 = time.process_time()
        step(100 + i)
        cpus.append((time.process_time() - c0) * 1000)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(a.steps):
            step(200 + i)
    by_op = {}
    for e in prof.key_averages():
        by_op[e.key] = by_op.get(e.key, 0.0) + e.self_cpu_time_total / 1000 / a.steps  # ms per step
    total = sum(by_op.values())
    matmul = sum(v for k, v in by_op.items() if k in MATMUL_OPS)
    T = batches[0][0].shape[1]
    out = dict(threads=a.threads, model=a.model, budget=a.budget, tokensPerStep=64 * T, stepCpuMs=statistics.median(cpus),
               profiledOpMsPerStep=total, matmulMsPerStep=matmul, matmulShare=matmul / total,
               top=sorted(([k, v] for k, v in by_op.items()), key=lambda kv: -kv[1])[:15])
    if a.json:
        print(json.dumps(out))
        return
    print(f"# PyTorch {torch.__version__} x{a.threads}, {a.model} budget {a.budget}, batch 64 x T {T}")
    print(f"step: {out['stepCpuMs']:.1f} ms CPU (unprofiled median of {a.steps}); ops (self CPU) {total:.1f} ms/step")
    print(f"matrix products (mm/addmm/bmm/baddbmm): {matmul:.1f} ms/step = {100 * matmul / total:.0f}% of op time\n")
    print("| op | self CPU ms/step |\n|---|---:|")
    for k, v in out["top"]:
        print(f"| {k} | {v:.1f} |")


if __name__ == "__main__":
    main()
