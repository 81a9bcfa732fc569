#!/usr/bin/env python3
"""Lockstep check, authors' side: builds the authors' model (imported from --repo), writes its initial weights in
tarm's parameter names and layouts plus the first --steps batches of their training stream to --out (JSON), then
trains those steps with their optimizer and records the loss of every step in the same file. lockstep.mjs loads
the file into tarm's model and optimizer, trains on the same batches and prints both loss curves side by side.

The nested rungs (ut_level2 = dual-nested-ut, trm = ar-trm: where the issue-12 gap was reported) and ut (the ACT
Universal Transformer: where the addition cross-check showed a gap) are mapped; their lm_head bias is removed (tarm's readout has none), the ponder-cost weight is 0 (the paper's runs), dropout 0.
The position table has block = T + 1 rows (tarm's model is built with that context length). The committed
fixture of packages/train/test/authors-lockstep.test.ts is this file's output at a small configuration.
"""
import argparse, json, os, sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--repo', required=True)
    ap.add_argument('--model', default='trm', choices=['trm', 'ut_level2', 'ut'])
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
    kw['ponder_cost_weight'] = 0.0
    kw, _ = normalize_model_kwargs_for_compute(a.model, kw, compute_budget=a.budget)
    m = build_model(a.model, **kw)
    m.lm_head.bias = None
    if a.double:
        m = m.double()
    sd = {k: v.detach().float().clone() for k, v in m.state_dict().items()}  # a copy: training updates in place
    C = a.d_model
    heads = len(m.shared_block.sa.heads)
    cat = lambda key: torch.cat([sd[f'shared_block.sa.heads.{h}.{key}.weight'].t() for h in range(heads)], 1)  # [C, C]
    w = {
        'embed.token': sd['token_embedding_table.weight'], 'embed.position': sd['position_embedding_table.weight'],
        'block.ln1.weight': sd['shared_block.ln1.weight'], 'block.ln1.bias': sd['shared_block.ln1.bias'],
        'block.attn.qkv.weight': torch.cat([cat('query'), cat('key'), cat('value')], 1),
        'block.attn.proj.weight': sd['shared_block.sa.proj.weight'].t(), 'block.attn.proj.bias': sd['shared_block.sa.proj.bias'],
        'block.ln2.weight': sd['shared_block.ln2.weight'], 'block.ln2.bias': sd['shared_block.ln2.bias'],
        'block.mlp.fc.weight': sd['shared_block.ffwd.net.0.weight'].t(), 'block.mlp.fc.bias': sd['shared_block.ffwd.net.0.bias'],
        'block.mlp.proj.weight': sd['shared_block.ffwd.net.2.weight'].t(), 'block.mlp.proj.bias': sd['shared_block.ffwd.net.2.bias'],
        'head.ln_f.weight': sd['ln_f.weight'], 'head.ln_f.bias': sd['ln_f.bias'], 'head.out.weight': sd['lm_head.weight'].t(),
        'step.embedding': sd['step_embedding_table.weight'],
    }
    if a.model != 'ut':  # the nested rungs' y0, z0
        w['init.y'] = sd['solution_param']
        w['init.z'] = sd['reasoning_param']
    if a.model == 'trm':
        w['halt.weight'] = sd['halt.q_head.weight'].t()
        w['halt.bias'] = sd['halt.q_head.bias']
    else:
        w['act.weight'] = sd['act.halt_head.weight'].t()
        w['act.bias'] = sd['act.halt_head.bias']
    ds = RandomChunkTrain(task=a.task, L=a.length, tokenizer=tok, block_size=block, seed=a.seed)
    it = iter(torch.utils.data.DataLoader(ds, batch_size=a.batch, num_workers=0))
    opt = m.configure_optimizers()
    m.train()
    batches, losses = [], []
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
    f32 = lambda v: [float(f'{x:.9g}') for x in v.flatten().tolist()]  # 9 significant digits: float32 exactly
    rung = {'trm': 'ar-trm', 'ut_level2': 'dual-nested-ut', 'ut': 'ut'}[a.model]
    res = dict(model=a.model, rung=rung, task=a.task, length=a.length, seed=a.seed,
               config=dict(dModel=C, nHeads=a.heads, budget=a.budget, contextLength=block, lr=a.lr, batch=a.batch, seqLen=T),
               weights={k: {'shape': list(v.shape), 'data': f32(v)} for k, v in w.items()}, batches=batches,
               losses=[float(f'{x:.9g}') for x in losses])
    with open(a.out, 'w') as f:
        json.dump(res, f)


if __name__ == '__main__':
    main()
