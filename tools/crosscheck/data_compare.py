#!/usr/bin/env python3
"""The training stream as a distribution: the authors' RandomChunkTrain against tarm's trainingBatch.

Per task and length it draws --batches batches of --batch examples on each side: theirs from their data module
(data_modules/algorithmic_char.py, imported from --repo: RandomChunkTrain at block T + 1 and seed --seed, iterated
as their DataLoader does with num_workers=0), ours through data-draws.mjs (trainingBatch(task, L, batch, seed, step)
for step 0, 1, ...). Compared:
  - the character at every position of prompt + answer: a chi-square test of tarm's counts against theirs (2 x k
    contingency) and of each side against the theory (digits uniform; the first answer digit of addition 0/1 with
    the probability of a carry out of the top digit), or "constant" where a position holds one character;
  - addition: the number of carries per example, both sides against each other and against the exact distribution
    (a two-state Markov chain: P(carry | no carry) = 0.45, P(carry | carry) = 0.55);
  - the answer length, the loss mask (which target positions count) and the end marker (the target at the last
    counted position is the newline; no other counted target is), row by row; the mask again at their block 180
    (the paper's rows: padded with newlines whose targets are ignored);
  - independence: consecutive prompt digits (non-overlapping pairs) and the first digit of consecutive examples
    (chi-square of the 100 pairs, tarm vs theirs) and the number of distinct examples against its expectation under independent
    uniform draws.
Writes a markdown report (--out) and prints a summary line.

    .venv/bin/python tools/crosscheck/data_compare.py --repo <checkout> --out docs/results/crosscheck/data.md

`npm run build` first (data-draws.mjs imports the built @tarm/tasks). About a minute of CPU with the defaults.
"""
import argparse, json, math, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VOCAB = list('0123456789|+=\n')
NL = VOCAB.index('\n')


def authors_stream(repo, task, L, n, seed, block=None):
    """Their first n training examples as (inputs, targets with ignored -> newline, mask), each [n, T], T = len(text)."""
    sys.path.insert(0, os.path.abspath(repo))
    import numpy as np
    from data_modules.algorithmic_char import RandomChunkTrain, _build_tokenizer, _make_example
    import torch
    tok = _build_tokenizer()
    assert [tok.itos[i] for i in range(tok.vocab_size)] == VOCAB, 'their vocabulary is ordered as ours'
    T = len(_make_example(task, L, torch.Generator().manual_seed(0))[2])
    ds = RandomChunkTrain(task=task, L=L, tokenizer=tok, block_size=block or T + 1, seed=seed)
    xs, ys = [], []
    for i, (x, y) in enumerate(ds):  # DataLoader(num_workers=0) yields these in order, batch after batch
        if i == n:
            break
        xs.append(x.numpy())
        ys.append(y.numpy())
    x, y = np.stack(xs), np.stack(ys)
    mask = y != -100
    if block is not None:
        return x, np.where(mask, y, NL), mask, T
    assert not mask[:, T:].any(), 'a counted target past prompt + answer'
    return x[:, :T], np.where(mask, y, NL)[:, :T], mask[:, :T], T  # the positions tarm's rows have


def tarm_stream(task, L, batch, batches, seed):
    import numpy as np
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(['node', os.path.join(HERE, 'data-draws.mjs'), '--task', task, '--length', str(L), '--batch', str(batch),
                        '--batches', str(batches), '--seed', str(seed), '--out', tmp], check=True, cwd=ROOT)
        ix = json.load(open(os.path.join(tmp, 'index.json')))
        rd = lambda f, dt: np.fromfile(os.path.join(tmp, f), dt).reshape(ix['examples'], ix['T'])
        return rd('inputs.i32', '<i4'), rd('targets.i32', '<i4'), rd('mask.f32', '<f4') > 0, ix


def carry_out(L):
    """P(a carry out of the top digit) adding two independent uniform L-digit strings (= P(answer starts with 1))."""
    c = 0.0
    for _ in range(L):
        c = 0.45 * (1 - c) + 0.55 * c
    return c


def carry_theory(L):
    """P(number of carries = k), k = 0..L, adding two independent uniform L-digit strings."""
    import numpy as np
    p = np.zeros((2, L + 1))  # [carry into the next digit, carries so far]
    p[0, 0] = 1.0
    for _ in range(L):
        q = np.zeros_like(p)
        for c, up in ((0, 0.45), (1, 0.55)):  # a + b + c >= 10
            q[1, 1:] += p[c, :-1] * up
            q[0, :] += p[c, :] * (1 - up)
        p = q
    return p.sum(0)


def carries(strings, L):
    import numpy as np
    out = []
    for s in strings:
        a, b = s[:L], s[L + 1:2 * L + 1]
        c = k = 0
        for i in range(L - 1, -1, -1):
            c = 1 if int(a[i]) + int(b[i]) + c >= 10 else 0
            k += c
        out.append(k)
    return np.bincount(out, minlength=L + 1)


def chi2_two(c1, c2):
    """Two-sample chi-square (2 x k contingency over the categories either side saw): p."""
    import numpy as np
    from scipy.stats import chi2_contingency
    keep = (np.asarray(c1) + np.asarray(c2)) > 0
    t = np.stack([np.asarray(c1)[keep], np.asarray(c2)[keep]])
    return 1.0 if t.shape[1] < 2 else chi2_contingency(t, correction=False)[1]


def chi2_theory(counts, probs):
    import numpy as np
    from scipy.stats import chisquare
    counts, probs = np.asarray(counts, float), np.asarray(probs, float)
    keep = probs > 0
    assert counts[~keep].sum() == 0, 'a category the theory gives probability 0'
    return chisquare(counts[keep], probs[keep] / probs[keep].sum() * counts.sum())[1]


def role_of(task, L, pos):
    """The role of a character position: a_i, '+', b_i, '=', c_i (addition); x_i, '|', y_i (copy, reverse)."""
    if task == 'addition':
        return f'a{pos}' if pos < L else '`+`' if pos == L else f'b{pos - L - 1}' if pos <= 2 * L else '`=`' if pos == 2 * L + 1 else f'c{pos - 2 * L - 2}'
    return f'x{pos}' if pos < L else '`\\|`' if pos == L else f'y{pos - L - 1}'


def fmt_p(p):
    return f'{p:.3f}' if p >= 0.001 else f'**{p:.0e}**'


def compare(a, task, L):
    import numpy as np
    x_t, y_t, m_t, ix = tarm_stream(task, L, a.batch, a.batches, a.seed)
    n = ix['examples']
    x_a, y_a, m_a, T = authors_stream(a.repo, task, L, n, a.seed)
    P, A = ix['prompt'], ix['answer']
    assert T == ix['T'] and x_a.shape == x_t.shape, (T, ix['T'], x_a.shape, x_t.shape)
    full = lambda x, y: np.concatenate([x, y[:, -1:]], 1)  # prompt + answer + newline: [n, T + 1]
    f_t, f_a = full(x_t, y_t), full(x_a, y_a)
    pvals = []
    lines = [f'## {task}, L = {L} ({n:,} examples a side; T = {T}, prompt {P}, answer {A} + newline)', '',
             '| position | character | tarm vs authors p | tarm vs theory p | authors vs theory p |', '|---|---|---|---|---|']
    up = carry_out(L)  # P(carry out of the top digit) = P(the answer starts with 1)
    for pos in range(P + A):
        ct, ca = (np.bincount(f[:, pos], minlength=len(VOCAB)) for f in (f_t, f_a))
        role = role_of(task, L, pos)
        if (ct > 0).sum() == 1 and (ca > 0).sum() == 1 and ct.argmax() == ca.argmax():
            ch = VOCAB[ct.argmax()].replace('|', '\\|')  # a table cell cannot hold a bare |
            lines.append(f'| {pos} | {role} | constant `{ch}` both | | |')
            continue
        theory = np.array([0.1] * 10 + [0] * 4)
        if task == 'addition' and pos == P:  # the carry out of the top digit
            theory = np.array([1 - up, up] + [0] * 12)
        p2, pt, pa = chi2_two(ct, ca), chi2_theory(ct, theory), chi2_theory(ca, theory)
        pvals += [p2, pt, pa]
        lines.append(f'| {pos} | {role} | {fmt_p(p2)} | {fmt_p(pt)} | {fmt_p(pa)} |')
    # answer length, mask, end marker, row by row
    want = np.zeros(T, bool)
    want[P - 1:P + A] = True
    checks = []
    for side, x, y, m in (('tarm', x_t, y_t, m_t), ('authors', x_a, y_a, m_a)):
        ok_mask = bool((m == want).all())
        last = y[:, P + A - 1]
        ok_end = bool((last == NL).all()) and not (y[:, P - 1:P + A - 1] == NL).any()
        ans = f_t if side == 'tarm' else f_a
        ok_len = bool((ans[:, P:P + A] < 10).all() and (ans[:, P + A] == NL).all())
        checks.append((side, ok_mask, ok_end, ok_len))
    _, _, m180, _ = authors_stream(a.repo, task, L, 256, a.seed, block=180)
    ok180 = bool((m180[:, :T] == want).all() and not m180[:, T:].any())
    lines += ['', '| | tarm | authors |', '|---|---|---|',
              f'| answer: {A} digits then the newline, every row | {"yes" if checks[0][3] else "**no**"} | {"yes" if checks[1][3] else "**no**"} |',
              f'| loss mask = target positions {P - 1}..{P + A - 1} (answer + end newline), every row | {"yes" if checks[0][1] else "**no**"} | {"yes" if checks[1][1] else "**no**"} (and at block 180, first 256 rows: {"yes" if ok180 else "**no**"}) |',
              f'| end marker: last counted target is the newline, no earlier one | {"yes" if checks[0][2] else "**no**"} | {"yes" if checks[1][2] else "**no**"} |']
    # independence
    # the prompt's digits in the order they were drawn, cut into non-overlapping pairs (d0 d1), (d2 d3), ...: each
    # pair two independent draws under the null (the answer's digits are functions of these and would count twice)
    draws = lambda f: f[:, [i for i in range(P - 1) if i != L or task != 'addition']]
    pairs = lambda f: np.bincount((draws(f)[:, 0:-1:2] * 10 + draws(f)[:, 1::2]).ravel(), minlength=100)
    cons = lambda f: np.bincount(f[:-1, 0] * 10 + f[1:, 0], minlength=100)
    M = 10 ** (2 * L if task == 'addition' else L)
    distinct = lambda f: len({r.tobytes() for r in f[:, :P]})
    expect = -M * math.expm1(n * math.log1p(-1 / M))  # M (1 - (1 - 1/M)^n) without underflow
    p_pairs, p_cons = chi2_two(pairs(f_t), pairs(f_a)), chi2_two(cons(f_t), cons(f_a))
    pvals += [p_pairs, p_cons]
    lines += [f'| consecutive prompt digits as pairs (d0 d1), (d2 d3), ..., tarm vs authors (chi-square, 100 cells) | p = {fmt_p(p_pairs)} | |',
              f'| first digit of consecutive examples, tarm vs authors (100 cells) | p = {fmt_p(p_cons)} | |',
              f'| distinct problems among {n:,} (independent uniform draws: {expect:,.1f}) | {distinct(f_t):,} | {distinct(f_a):,} |']
    if task == 'addition':
        kt, ka, th = carries((''.join(VOCAB[i] for i in r) for r in f_t), L), carries((''.join(VOCAB[i] for i in r) for r in f_a), L), carry_theory(L)
        p_c, p_ct, p_ca = chi2_two(kt, ka), chi2_theory(kt, th), chi2_theory(ka, th)
        pvals += [p_c, p_ct, p_ca]
        lines += ['', f'Carries per example (k = 0..{L}): tarm vs authors p = {fmt_p(p_c)}; tarm vs theory p = {fmt_p(p_ct)}; '
                  f'authors vs theory p = {fmt_p(p_ca)}.', '', '| carries | ' + ' | '.join(str(k) for k in range(L + 1)) + ' |',
                  '|---|' + '---|' * (L + 1),
                  '| tarm | ' + ' | '.join(f'{c / n:.4f}' for c in kt) + ' |',
                  '| authors | ' + ' | '.join(f'{c / n:.4f}' for c in ka) + ' |',
                  '| theory | ' + ' | '.join(f'{q:.4f}' for q in th) + ' |']
    flags = [c for c in checks if not all(c[1:])] + ([] if ok180 else ['block 180'])
    return lines + [''], pvals, flags


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--repo', required=True)
    ap.add_argument('--tasks', default='copy,reverse,addition')
    ap.add_argument('--lengths', default='4,10')
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--batches', type=int, default=1000)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--out')
    a = ap.parse_args()
    cmd = (f'.venv/bin/python tools/crosscheck/data_compare.py --repo <checkout> --tasks {a.tasks} --lengths {a.lengths} '
           f'--batch {a.batch} --batches {a.batches} --seed {a.seed} --out docs/results/crosscheck/data.md')
    body, pvals, flags = [], [], []
    for task in a.tasks.split(','):
        for L in map(int, a.lengths.split(',')):
            lines, p, f = compare(a, task, L)
            body += lines
            pvals += p
            flags += [(task, L, x) for x in f]
    low = sum(p < 0.01 for p in pvals)
    summary = (f'{len(pvals)} chi-square tests; {low} below 0.01 ({0.01 * len(pvals):.1f} expected by chance), smallest p '
               f'{min(pvals):.3g} (Bonferroni threshold 0.05 / {len(pvals)} = {0.05 / len(pvals):.1e}); answer, mask or '
               f'end-marker differences: {flags or "none"}.')
    head = ['# The training stream as a distribution: the authors\' RandomChunkTrain vs tarm\'s trainingBatch', '',
            f'Per task and length, the first {a.batches} batches of {a.batch} (seed {a.seed}) of each side\'s training '
            'stream, as a training run reads them (theirs: `RandomChunkTrain`, block T + 1, one worker; ours: '
            '`trainingBatch(task, L, batch, seed, step)`). Chi-square tests: two-sample (2 x k contingency) between the '
            'sides, and each side against the theory (digits uniform; addition\'s first answer digit is the carry out of '
            'the top digit). Roles: a_i, b_i operand digits, c_i answer digits (addition); x_i prompt, y_i answer '
            '(copy, reverse). The tests are not all independent: copy and reverse draw the same prompts from the same '
            'seed on each side, and their answer positions repeat the prompt\'s digits. Their train.py loads the stream '
            'with 4 workers (generator seeds seed + worker id, batches interleaved): the same distribution, drawn in '
            'another order. Command:', '', '    ' + cmd, '', '**Summary.** ' + summary, '']
    text = '\n'.join(head + body)
    if a.out:
        with open(a.out, 'w') as f:
            f.write(text)
    print(summary)


if __name__ == '__main__':
    main()
