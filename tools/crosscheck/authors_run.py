#!/usr/bin/env python3
"""One training run of the authors' implementation (github.com/pauliusrauba/autoregressive-TRM), driven from a
checkout given by path: their model classes (models/), their compute-budget normalisation, their training data
(data_modules/algorithmic_char.py: RandomChunkTrain) and their evaluation (callbacks/algorithmic_eval.py:
evaluate_algorithmic, sampled decoding). Nothing of theirs is copied; it is imported from --repo.

The loop is a plain one in place of their Lightning Trainer + W&B logger (which needs a network): the optimizer is
the model's own configure_optimizers() (torch AdamW, lr, default weight decay 0.01, every parameter), one
optimizer step per batch of their training stream, no clipping, no schedule, as Lightning runs it. The model is in
training mode for the steps (dropout, TRM's halting exploration) and evaluate_algorithmic switches it to eval mode.

--block-size: their rows are padded to the block size with newlines whose targets are ignored; with a causal model
the padding cannot change the logits or the loss at the earlier positions, so the default is the shortest block
that holds one example and its end newline (prompt + answer + 1). --block-size 180 is the paper's value (slower).

Writes one JSON object (the run's per-step losses and the final evaluation) to --out, or prints it.
"""
import argparse, json, os, sys, time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--repo', required=True, help='path to a checkout of pauliusrauba/autoregressive-TRM')
    ap.add_argument('--model', required=True, choices=['gpt', 'gpt_level1', 'gpt_level2', 'ut', 'ut_level1', 'ut_level2', 'trm'])
    ap.add_argument('--task', required=True, choices=['copy', 'reverse', 'addition'])
    ap.add_argument('--length', type=int, required=True)
    ap.add_argument('--eval-lengths', type=int, nargs='+')
    ap.add_argument('--budget', type=int, required=True, help='compute budget in block passes (their --compute-budget)')
    ap.add_argument('--d-model', type=int, default=384)
    ap.add_argument('--heads', type=int, default=6)
    ap.add_argument('--n-layer', type=int, default=6, help='their base n_layer before the budget normalisation')
    ap.add_argument('--steps', type=int, required=True)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=3e-4)
    ap.add_argument('--dropout', type=float, default=0.1)
    ap.add_argument('--eval-n', type=int, default=100)
    ap.add_argument('--seed', type=int, default=1337)
    ap.add_argument('--block-size', type=int, default=None)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--loss-every', type=int, default=50, help='record the loss every this many steps (and the last)')
    ap.add_argument('--ponder-weight', type=float, default=0.0, help="ACT ponder-cost weight of ut, ut_level1, ut_level2 (their default 0.01; the paper's runs pass 0)")
    ap.add_argument('--no-lm-head-bias', action='store_true', help='A/B: remove the bias of their lm_head (tarm has none)')
    ap.add_argument('--out', default=None)
    a = ap.parse_args()

    repo = os.path.abspath(a.repo)
    if not os.path.isfile(os.path.join(repo, 'models', 'trm.py')):
        sys.exit(f'--repo: {repo} is not a checkout of pauliusrauba/autoregressive-TRM (no models/trm.py)')
    sys.path.insert(0, repo)
    import torch
    torch.set_num_threads(a.threads)
    import pytorch_lightning as pl
    from models import build_model, normalize_model_kwargs_for_compute
    from data_modules.algorithmic_char import RandomChunkTrain, _build_tokenizer, _make_example
    from callbacks.algorithmic_eval import evaluate_algorithmic

    tok = _build_tokenizer()
    prompt, target, full = _make_example(a.task, a.length, torch.Generator().manual_seed(0))
    block = a.block_size or (len(full) + 1)
    pl.seed_everything(a.seed, verbose=False)  # as their train.py, before data and model
    kwargs = dict(vocab_size=tok.vocab_size, block_size=block, n_embd=a.d_model, n_head=a.heads, n_layer=a.n_layer, dropout=a.dropout, lr=a.lr)
    if a.model in ('ut', 'ut_level1', 'ut_level2', 'trm'):
        kwargs['ponder_cost_weight'] = a.ponder_weight  # as exp_length_generalization.sh: --ponder-cost-weight 0
    kwargs, summary = normalize_model_kwargs_for_compute(a.model, kwargs, compute_budget=a.budget)
    model = build_model(a.model, **kwargs)
    if a.no_lm_head_bias:
        model.lm_head.bias = None
    opt = model.configure_optimizers()
    ds = RandomChunkTrain(task=a.task, L=a.length, tokenizer=tok, block_size=block, seed=a.seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch, num_workers=0)
    it = iter(loader)
    model.train()
    losses = []
    t0 = time.time()
    for step in range(1, a.steps + 1):
        x, y = next(it)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % a.loss_every == 0 or step == a.steps:
            losses.append([step, float(loss.item())])
    train_s = time.time() - t0
    evals = {}
    for L in (a.eval_lengths or [a.length]):
        m = evaluate_algorithmic(model, a.task, L, a.eval_n, a.seed, torch.device('cpu'))
        evals[str(L)] = {k: float(v) for k, v in m.items()}
    res = dict(side='authors', model=a.model, task=a.task, length=a.length, budget=a.budget, seed=a.seed, steps=a.steps,
               batch=a.batch, lr=a.lr, dModel=a.d_model, heads=a.heads, dropout=a.dropout, blockSize=block, compute=summary,
               params=sum(p.numel() for p in model.parameters()), finalLoss=losses[-1][1], losses=losses, eval=evals,
               trainSeconds=round(train_s, 1), noLmHeadBias=a.no_lm_head_bias, ponderWeight=a.ponder_weight)
    out = json.dumps(res)
    if a.out:
        tmp = a.out + '.tmp'
        with open(tmp, 'w') as f:
            f.write(out + '\n')
        os.replace(tmp, a.out)
    else:
        print(out)


if __name__ == '__main__':
    main()
