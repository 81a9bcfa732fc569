#!/usr/bin/env python3
"""Lockstep check, authors' side: builds the authors' model (imported from --repo), writes its initial weights in
tarm's parameter names and layouts plus the first --steps batches of their training stream to --out (JSON), then
trains those steps with their optimizer and records the loss of every step in the same file. lockstep.mjs loads
the file into tarm's model and optimizer, trains on the same batches and prints both loss curves side by side.

All seven rungs are mapped (RUNG below: gpt = dense, gpt_level1 = iterative, gpt_level2 = iterative-step, ut, ut_level1 =
dual-ut, ut_level2 = dual-nested-ut, trm = ar-trm); their lm_head bias is removed (tarm's readout has none), the
ponder-cost weight is 0 (the paper's runs), dropout 0. For the halting rungs the file also records, per step, their
ponder cost (`ponder`, as their ACTController computes it, and `ponderGraves`, the same ACT state read in tarm's
definition: see watch_act) or the number of ACT steps run (`steps`, trm), so that the test can check the halting
decisions position by position and that a rung at three or more ACT steps does halt some positions early.
The position table has block = T + 1 rows (tarm's model is built with that context length). The committed
fixtures of packages/train/test/authors-lockstep.test.ts are this file's output at a small configuration
(make_lockstep_fixtures.sh regenerates them all).
"""
import argparse, json, os, sys

# the authors' model names -> tarm's rung names
RUNG = {'gpt': 'dense', 'gpt_level1': 'iterative', 'gpt_level2': 'iterative-step', 'ut': 'ut', 'ut_level1': 'dual-ut',
        'ut_level2': 'dual-nested-ut', 'trm': 'ar-trm'}


def tarm_weights(model, sd, heads):
    """Their state dict in tarm's names and layouts: per-head q/k/v concatenated into [q | k | v] (heads in order),
    linear weights transposed to [in, out]; lm_head's bias left out (removed before training)."""
    def block(src, dst):
        cat = lambda key: torch_cat([sd[f'{src}.sa.heads.{h}.{key}.weight'].t() for h in range(heads)])  # [C, C]
        return {
            f'{dst}.ln1.weight': sd[f'{src}.ln1.weight'], f'{dst}.ln1.bias': sd[f'{src}.ln1.bias'],
            f'{dst}.attn.qkv.weight': torch_cat([cat('query'), cat('key'), cat('value')]),
            f'{dst}.attn.proj.weight': sd[f'{src}.sa.proj.weight'].t(), f'{dst}.attn.proj.bias': sd[f'{src}.sa.proj.bias'],
            f'{dst}.ln2.weight': sd[f'{src}.ln2.weight'], f'{dst}.ln2.bias': sd[f'{src}.ln2.bias'],
            f'{dst}.mlp.fc.weight': sd[f'{src}.ffwd.net.0.weight'].t(), f'{dst}.mlp.fc.bias': sd[f'{src}.ffwd.net.0.bias'],
            f'{dst}.mlp.proj.weight': sd[f'{src}.ffwd.net.2.weight'].t(), f'{dst}.mlp.proj.bias': sd[f'{src}.ffwd.net.2.bias'],
        }
    w = {'embed.token': sd['token_embedding_table.weight'], 'embed.position': sd['position_embedding_table.weight'],
         'head.ln_f.weight': sd['ln_f.weight'], 'head.ln_f.bias': sd['ln_f.bias'], 'head.out.weight': sd['lm_head.weight'].t()}
    if model == 'gpt':  # N distinct blocks
        n = 1 + max(int(k.split('.')[1]) for k in sd if k.startswith('blocks.'))
        for i in range(n):
            w.update(block(f'blocks.{i}', f'blocks.{i}'))
    else:
        w.update(block('shared_block', 'block'))
    if 'step_embedding_table.weight' in sd:
        w['step.embedding'] = sd['step_embedding_table.weight']
    if 'solution_param' in sd:  # y0, z0 of the dual-stream rungs
        w['init.y'] = sd['solution_param']
        w['init.z'] = sd['reasoning_param']
    if model == 'trm':
        w['halt.weight'] = sd['halt.q_head.weight'].t()
        w['halt.bias'] = sd['halt.q_head.bias']
    elif 'act.halt_head.weight' in sd:
        w['act.weight'] = sd['act.halt_head.weight'].t()
        w['act.bias'] = sd['act.halt_head.bias']
    return w


def watch_act(act, out, T):
    """Records, at every forward, the ponder cost as tarm defines it beside theirs: over the T positions tarm sees
    (their rows carry one more, the padding position, whose halting enters their ponder mean but not the loss),
    and with Graves' remainder at a forced halt. Their ACTController.finalize
    gives a position that never reaches the threshold (halted by the end of the loop) R = 1 - sum of p over every
    step run, the last included; Graves (and tarm) leave the last step's p out: R = 1 - sum_{k<N} p_k. The output
    weights are the same either way (their last step gets p_N + R); only the ponder value differs, by p_N at such
    positions. Reads their state only; their numbers are unchanged."""
    import torch
    step, finalize, last = act.step, act.finalize, {}

    def step_(x, state, i=0):
        last['p'] = torch.sigmoid(act.halt_head(x).squeeze(-1)).detach()  # (B, T), as their step computes it
        return step(x, state, i)

    def finalize_(x, state):
        running = ~state.halted
        r = torch.where(running, 1.0 - state.halt_probs_accum + last['p'], state.remainders)
        out.append(float((state.n_updates + r)[:, :T].detach().mean()))
        return finalize(x, state)

    act.step, act.finalize = step_, finalize_


def torch_cat(parts):
    import torch
    return torch.cat(parts, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repo', required=True)
    ap.add_argument('--model', default='trm', choices=list(RUNG))
    ap.add_argument('--task', default='reverse')
    ap.add_argument('--length', type=int, default=10)
    ap.add_argument('--budget', type=int, default=6)
    ap.add_argument('--d-model', type=int, default=64)
    ap.add_argument('--heads', type=int, default=4)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--steps', type=int, default=50)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--double', action='store_true', help='train the authors side in float64 (float32 noise floor)')
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.repo))
    import torch
    torch.set_num_threads(1)
    import pytorch_lightning as pl
    from models import build_model, normalize_model_kwargs_for_compute
    from data_modules.algorithmic_char import RandomChunkTrain, _build_tokenizer, _make_example

    tok = _build_tokenizer()
    _, _, full = _make_example(a.task, a.length, torch.Generator().manual_seed(0))
    T = len(full)  # tarm's sequence length: prompt + answer (its inputs drop the final newline)
    block = T + 1
    pl.seed_everything(a.seed, verbose=False)
    kw = dict(vocab_size=tok.vocab_size, block_size=block, n_embd=a.d_model, n_head=a.heads, n_layer=6, dropout=0.0, lr=a.lr)
    if a.model not in ('gpt', 'gpt_level1', 'gpt_level2'):  # the ACT classes and trm (a UTLevel2; the gpt classes take no such argument)
        kw['ponder_cost_weight'] = 0.0
    kw, _ = normalize_model_kwargs_for_compute(a.model, kw, compute_budget=a.budget)
    m = build_model(a.model, **kw)
    m.lm_head.bias = None
    if a.double:
        m = m.double()
    sd = {k: v.detach().float().clone() for k, v in m.state_dict().items()}  # a copy: training updates in place
    C = a.d_model
    heads = a.heads
    w = tarm_weights(a.model, sd, heads)
    n_theirs = sum(p.numel() for p in m.parameters())
    assert sum(v.numel() for v in w.values()) == n_theirs, f'unmapped parameters: {n_theirs} numbers in their model'
    ds = RandomChunkTrain(task=a.task, L=a.length, tokenizer=tok, block_size=block, seed=a.seed)
    it = iter(torch.utils.data.DataLoader(ds, batch_size=a.batch, num_workers=0))
    graves = []
    if hasattr(m, 'act'):
        watch_act(m.act, graves, T)
    opt = m.configure_optimizers()
    m.train()
    batches, losses, halting = [], [], []
    nl = tok.stoi['\n']
    for _ in range(a.steps):
        x, y = next(it)
        mask = (y != -100)
        batches.append({'inputs': x[:, :T].flatten().tolist(), 'targets': torch.where(mask, y, nl)[:, :T].flatten().tolist(),
                        'mask': mask[:, :T].float().flatten().tolist()})
        assert not mask[:, T:].any()
        _, loss = m(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
        if a.model == 'trm':
            halting.append(int(m._last_steps))
        elif hasattr(m, '_last_ponder_cost'):
            halting.append(float(m._last_ponder_cost))
    f32 = lambda v: [float(f'{x:.9g}') for x in v.flatten().tolist()]  # 9 significant digits: float32 exactly
    rung = RUNG[a.model]
    res = dict(model=a.model, rung=rung, task=a.task, length=a.length, seed=a.seed,
               config=dict(dModel=C, nHeads=a.heads, budget=a.budget, contextLength=block, lr=a.lr, batch=a.batch, seqLen=T),
               weights={k: {'shape': list(v.shape), 'data': f32(v)} for k, v in w.items()}, batches=batches,
               losses=[float(f'{x:.9g}') for x in losses])
    if halting:  # trm: ACT steps run; ACT rungs: their ponder cost (steps run + remainder, mean over positions)
        res['steps' if a.model == 'trm' else 'ponder'] = [float(f'{x:.9g}') for x in halting]
    if graves:  # tarm's definition: over the T positions, Graves' remainder at a forced halt (watch_act)
        res['ponderGraves'] = [float(f'{x:.9g}') for x in graves]
    with open(a.out, 'w') as f:
        json.dump(res, f)


if __name__ == '__main__':
    main()
