#!/usr/bin/env python3
"""Initialisation as a distribution: the authors' build_model against tarm's createModel, parameter by parameter.

For every rung at one configuration it draws the initial parameters of --seeds seeds on each side: theirs as their
train.py does (pl.seed_everything(seed), normalize_model_kwargs_for_compute, build_model; imported from --repo,
mapped to tarm's names and layouts by lockstep.tarm_weights), ours with createModel(config, seed) through
init-draws.mjs. Per parameter: the shapes, the pooled mean and standard deviation of all seeds' values, a
two-sample Kolmogorov-Smirnov test of the pooled values (the value distribution) and one of the per-seed means (a
draw shared by a whole tensor, or a correlation between its entries, would show there), or "const c" where a side
draws a constant. Writes a markdown table (--out) and prints a summary.

    .venv/bin/python tools/crosscheck/init_compare.py --repo <checkout> --seeds 100 --out docs/results/crosscheck/init.md

`npm run build` first (init-draws.mjs imports the built packages). A few seconds of CPU per rung.
"""
import argparse, contextlib, io, json, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from lockstep import RUNG, tarm_weights  # noqa: E402


def authors_draws(repo, model, seeds, d, heads, budget, block):
    sys.path.insert(0, os.path.abspath(repo))
    import numpy as np
    import torch
    import pytorch_lightning as pl
    from models import build_model, normalize_model_kwargs_for_compute
    torch.set_num_threads(1)
    out, shapes = {}, {}
    for seed in range(1, seeds + 1):
        pl.seed_everything(seed, verbose=False)
        kw = dict(vocab_size=14, block_size=block, n_embd=d, n_head=heads, n_layer=6, dropout=0.0, lr=1e-3)
        if model not in ('gpt', 'gpt_level1', 'gpt_level2'):
            kw['ponder_cost_weight'] = 0.0
        with contextlib.redirect_stdout(io.StringIO()):  # their budget normalisation prints a line per model
            kw, _ = normalize_model_kwargs_for_compute(model, kw, compute_budget=budget)
        m = build_model(model, **kw)
        sd = {k: v.detach().float().clone() for k, v in m.state_dict().items()}
        w = tarm_weights(model, sd, heads)
        w['head.out.bias'] = sd['lm_head.bias']  # theirs only: tarm's readout has no bias
        assert sum(v.numel() for v in w.values()) == sum(p.numel() for p in m.parameters()), 'unmapped parameters'
        for k, v in w.items():
            shapes[k] = list(v.shape)
            out.setdefault(k, []).append(v.numpy().ravel().copy())
    return {k: np.stack(v) for k, v in out.items()}, shapes  # [seeds, n]


def tarm_draws(rung, seeds, d, heads, budget, block):
    import numpy as np
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(['node', os.path.join(HERE, 'init-draws.mjs'), '--rung', rung, '--seeds', str(seeds), '--d-model', str(d),
                        '--heads', str(heads), '--budget', str(budget), '--context', str(block), '--out', tmp],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        index = json.load(open(os.path.join(tmp, 'index.json')))
        return {k: np.fromfile(os.path.join(tmp, f'{k}.f32'), '<f4').reshape(seeds, -1) for k in index['shapes']}, index['shapes']


def describe(x):
    """'const c' if every value of every seed is the same number, else None."""
    return f'const {float(x.flat[0]):g}' if (x == x.flat[0]).all() else None


def compare(t, o):
    from scipy.stats import ks_2samp
    ks = ks_2samp(t.ravel(), o.ravel())
    km = ks_2samp(t.mean(1), o.mean(1)) if t.shape[1] > 1 else None
    return ks.statistic, km, ks.pvalue, km.pvalue if km else 1.0


def row(name, shape, t, o, r):
    D, km, p, pm = r
    return (f'| {name} | {shape} | {t.mean():+.1e} / {o.mean():+.1e} | {t.std():.5f} / {o.std():.5f} | {D:.4f}, {fmt_p(p)} | '
            f'{fmt_p(pm) if km else "-"} |')


def shp(v):
    return json.dumps(v, separators=(',', ':'))


def fmt_p(p):
    return f'{p:.3f}' if p >= 0.001 else f'{p:.0e}'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--repo', required=True)
    ap.add_argument('--seeds', type=int, default=100)
    ap.add_argument('--d-model', type=int, default=16)
    ap.add_argument('--heads', type=int, default=2)
    ap.add_argument('--budget', type=int, default=12)
    ap.add_argument('--block', type=int, default=10, help='position table rows (reverse at L = 4: 9 + 1)')
    ap.add_argument('--models', default=','.join(RUNG))
    ap.add_argument('--out')
    a = ap.parse_args()
    import numpy as np

    lines = [
        '# Initialisation as a distribution: the authors\' build_model vs tarm\'s createModel',
        '',
        f'{a.seeds} seeds a side (1..{a.seeds}), d_model {a.d_model}, {a.heads} heads, budget {a.budget}, position table of {a.block} rows, '
        'vocabulary 14. Theirs: `pl.seed_everything(seed)`, their budget normalisation, `build_model` (their train.py\'s order); '
        'ours: `createModel(config, seed)`. Values pooled over all seeds and entries; mean and sd of the pooled values; '
        '"KS" = two-sample Kolmogorov-Smirnov test of the pooled values (D, p); "KS means" = the same test of the '
        f'{a.seeds} per-seed means (a tensor-wide shared draw or correlated entries would show there). N(0, 0.02) has '
        'sd 0.02. Each side builds every rung from the same seeds in its own fixed order, so the rungs share their first '
        'draws (the embeddings, and on our side all of the block of the tied rungs): the tests of different rungs are '
        'not independent. Command:',
        '',
        f'    .venv/bin/python tools/crosscheck/init_compare.py --repo <checkout> --seeds {a.seeds} --d-model {a.d_model} '
        f'--heads {a.heads} --budget {a.budget} --out docs/results/crosscheck/init.md',
        '',
    ]
    summary = []
    for model in a.models.split(','):
        rung = RUNG[model]
        theirs, ts = authors_draws(a.repo, model, a.seeds, a.d_model, a.heads, a.budget, a.block)
        ours, os_ = tarm_draws(rung, a.seeds, a.d_model, a.heads, a.budget, a.block)
        lines += [f'## {rung} (theirs: {model})', '',
                  '| parameter | shape theirs / ours | mean theirs / ours | sd theirs / ours | KS D, p | KS means p |',
                  '|---|---|---|---|---|---|']
        consts, only = [], []
        for k in sorted(set(theirs) | set(ours)):
            t, o = theirs.get(k), ours.get(k)
            if t is None or o is None:
                x = t if t is not None else o
                only.append(f'`{k}` {shp(ts.get(k, os_.get(k)))} {describe(x) or "drawn"} ({"theirs" if t is not None else "ours"} only)')
                continue
            ct, co = describe(t), describe(o)
            if ct or co:
                same = ct == co and ts[k] == os_[k]
                consts.append(f'`{k}` {ct}' if same else f'**`{k}` theirs {ct or "drawn"}, ours {co or "drawn"}**')
                summary.append((rung, k, None, None, same))
                continue
            r = compare(t, o)
            summary.append((rung, k, r[2], r[3], ts[k] == os_[k]))
            if not k.startswith('blocks.'):
                lines.append(row(k, f'{shp(ts[k])} / {shp(os_[k])}', t, o, r))
        if model == 'gpt':  # N distinct blocks: one row per parameter of a block, every block's values pooled
            for kind in sorted({re.sub(r'^blocks\.\d+\.', '', k) for k in ours if k.startswith('blocks.')}):
                ks = [k for k in ours if re.fullmatch(rf'blocks\.\d+\.{re.escape(kind)}', k)]
                t, o = np.concatenate([theirs[k] for k in ks], 1), np.concatenate([ours[k] for k in ks], 1)
                if describe(t) is None:
                    lines.append(row(f'blocks.0-{len(ks) - 1}.{kind} (pooled)', f'{len(ks)} x {shp(ts[ks[0]])}', t, o, compare(t, o)))
            consts = sorted({re.sub(r'`blocks\.\d+\.', '`blocks.*.', c) for c in consts})
        lines += ['', f'Constants (the same on both sides unless in bold): {", ".join(consts)}.' + (f' {"; ".join(only)}.' if only else '')]
        lines.append('')
    tests = [s for s in summary if s[2] is not None]
    n_tests = 2 * len(tests)
    low = [(r, k, min(p, q)) for r, k, p, q, _ in tests if min(p, q) < 0.01]
    bad_shape = [(r, k) for r, k, *_, ok in summary if not ok]
    lines += ['## Summary', '',
              f'{len(summary)} parameters over {len(a.models.split(","))} rungs; {len(tests)} drawn (not constant), '
              f'{n_tests} KS tests (blocks of dense counted one by one). Shapes or constants differ: {bad_shape or "none"}. '
              f'p < 0.01: {", ".join(f"{r} {k} ({fmt_p(p)})" for r, k, p in low) or "none"} '
              f'(expected by chance at p < 0.01: {0.01 * n_tests:.1f}); smallest p '
              f'{fmt_p(min(min(p, q) for *_, p, q, _ in tests))}, Bonferroni threshold 0.05 / {n_tests} = {0.05 / n_tests:.1e}.', '']
    text = '\n'.join(lines)
    if a.out:
        with open(a.out, 'w') as f:
            f.write(text)
    print(lines[-2])


if __name__ == '__main__':
    main()
