"""Plain PyTorch reference of the paper's block, embedding and readout (docs/parity.md).

Written from the specification (/work/shared/reference/paper.md, "What is fixed for all seven models"), not from
the tfjs code, so the parity test compares two independent implementations.

Parameters live in a flat dict name -> tensor with EXACTLY the names and layouts of @tarm/layers' ParamStore:

  embed.token            [V, C]     token embedding
  embed.position         [ctx, C]   learned absolute position embedding
  <b>.ln1.weight/.bias   [C]        LayerNorm before attention (eps 1e-5, biased variance)
  <b>.attn.qkv.weight    [C, 3C]    q, k, v projections, no bias; columns [q | k | v], each C wide, and inside each
                                    the heads are consecutive blocks of hs = C / H columns (head 0 first)
  <b>.attn.proj.weight   [C, C]     output projection ...
  <b>.attn.proj.bias     [C]        ... with bias
  <b>.ln2.weight/.bias   [C]        LayerNorm before the MLP
  <b>.mlp.fc.weight      [C, 4C]    MLP in, with bias <b>.mlp.fc.bias [4C]
  <b>.mlp.proj.weight    [4C, C]    MLP out, with bias <b>.mlp.proj.bias [C]
  head.ln_f.weight/.bias [C]        final LayerNorm
  head.out.weight        [C, V]     readout, no bias

Every linear weight is stored [in, out]: y = x @ W + b (the transpose of torch.nn.Linear's [out, in]).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F

LAYER_NORM_EPS = 1e-5


def block_param_shapes(name: str, C: int) -> "OrderedDict[str, list[int]]":
    return OrderedDict(
        [
            (f"{name}.ln1.weight", [C]),
            (f"{name}.ln1.bias", [C]),
            (f"{name}.attn.qkv.weight", [C, 3 * C]),
            (f"{name}.attn.proj.weight", [C, C]),
            (f"{name}.attn.proj.bias", [C]),
            (f"{name}.ln2.weight", [C]),
            (f"{name}.ln2.bias", [C]),
            (f"{name}.mlp.fc.weight", [C, 4 * C]),
            (f"{name}.mlp.fc.bias", [4 * C]),
            (f"{name}.mlp.proj.weight", [4 * C, C]),
            (f"{name}.mlp.proj.bias", [C]),
        ]
    )


def model_param_shapes(V: int, ctx: int, C: int, block_names: list[str]) -> "OrderedDict[str, list[int]]":
    shapes: "OrderedDict[str, list[int]]" = OrderedDict()
    shapes["embed.token"] = [V, C]
    shapes["embed.position"] = [ctx, C]
    for b in block_names:
        shapes.update(block_param_shapes(b, C))
    shapes["head.ln_f.weight"] = [C]
    shapes["head.ln_f.bias"] = [C]
    shapes["head.out.weight"] = [C, V]
    return shapes


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """y = x @ W (+ b), W stored [in, out]."""
    y = x @ weight
    return y if bias is None else y + bias


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, (x.shape[-1],), weight, bias, LAYER_NORM_EPS)


def causal_self_attention(p: dict, name: str, x: torch.Tensor, n_heads: int, dropout: float = 0.0, training: bool = False) -> torch.Tensor:
    """x [B, T, C] -> [B, T, C]. Each head is computed on its own from its column blocks of the qkv weight."""
    B, T, C = x.shape
    hs = C // n_heads
    w = p[f"{name}.qkv.weight"]  # [C, 3C] = [q | k | v]
    allowed = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()  # key j <= query i
    outs = []
    for h in range(n_heads):
        q = x @ w[:, 0 * C + h * hs : 0 * C + (h + 1) * hs]  # [B, T, hs]
        k = x @ w[:, 1 * C + h * hs : 1 * C + (h + 1) * hs]
        v = x @ w[:, 2 * C + h * hs : 2 * C + (h + 1) * hs]
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # [B, T, T]
        scores = scores.masked_fill(~allowed, float("-inf"))
        att = F.dropout(torch.softmax(scores, dim=-1), dropout, training)
        outs.append(att @ v)  # [B, T, hs]
    merged = torch.cat(outs, dim=-1)  # [B, T, C], head 0 first
    return linear(merged, p[f"{name}.proj.weight"], p[f"{name}.proj.bias"])


def mlp(p: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    hidden = F.gelu(linear(x, p[f"{name}.fc.weight"], p[f"{name}.fc.bias"]), approximate="none")  # exact erf GELU
    return linear(hidden, p[f"{name}.proj.weight"], p[f"{name}.proj.bias"])


def block(p: dict, name: str, h: torch.Tensor, n_heads: int, dropout: float = 0.0, training: bool = False) -> torch.Tensor:
    """Pre-LayerNorm GPT-2 block: h += Drop(Proj(CSA(LN1(h)))); h += Drop(MLP(LN2(h)))."""
    a = causal_self_attention(p, f"{name}.attn", layer_norm(h, p[f"{name}.ln1.weight"], p[f"{name}.ln1.bias"]), n_heads, dropout, training)
    h = h + F.dropout(a, dropout, training)
    m = mlp(p, f"{name}.mlp", layer_norm(h, p[f"{name}.ln2.weight"], p[f"{name}.ln2.bias"]))
    return h + F.dropout(m, dropout, training)


def embed(p: dict, ids: torch.Tensor) -> torch.Tensor:
    """ids [B, T] (int64) -> [B, T, C]: token embedding + learned absolute position embedding."""
    T = ids.shape[1]
    return p["embed.token"][ids] + p["embed.position"][:T]


def readout(p: dict, h: torch.Tensor) -> torch.Tensor:
    """h [B, T, C] -> logits [B, T, V] = LN_f(h) @ W_out (no bias)."""
    return linear(layer_norm(h, p["head.ln_f.weight"], p["head.ln_f.bias"]), p["head.out.weight"])


def forward(p: dict, ids: torch.Tensor, block_names: list[str], n_heads: int) -> torch.Tensor:
    """embed -> blocks in order -> readout. Returns logits [B, T, V]."""
    h = embed(p, ids)
    for b in block_names:
        h = block(p, b, h, n_heads)
    return readout(p, h)


def masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over the positions where mask is 1 (sum(ce * mask) / sum(mask))."""
    B, T, V = logits.shape
    ce = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T), reduction="none").reshape(B, T)
    return (ce * mask).sum() / mask.sum()


def self_check(p: dict, block_name: str, h: torch.Tensor, n_heads: int) -> float:
    """Max abs difference between `block` and a second formulation built from torch.nn modules
    (nn.LayerNorm, scaled_dot_product_attention with is_causal, nn.GELU, nn.Linear with transposed weights).
    Guards the reference against a slip in its own head slicing or masking."""
    C = h.shape[-1]
    hs = C // n_heads
    B, T, _ = h.shape
    dt = h.dtype

    def ln(prefix: str) -> torch.nn.LayerNorm:
        m = torch.nn.LayerNorm(C, eps=1e-5, dtype=dt)
        with torch.no_grad():
            m.weight.copy_(p[f"{prefix}.weight"])
            m.bias.copy_(p[f"{prefix}.bias"])
        return m

    def lin(prefix: str, bias: bool) -> torch.nn.Linear:
        w = p[f"{prefix}.weight"]
        m = torch.nn.Linear(w.shape[0], w.shape[1], bias=bias, dtype=dt)
        with torch.no_grad():
            m.weight.copy_(w.t())
            if bias:
                m.bias.copy_(p[f"{prefix}.bias"])
        return m

    with torch.no_grad():
        x = ln(f"{block_name}.ln1")(h)
        qkv = lin(f"{block_name}.attn.qkv", False)(x)  # [B, T, 3C]
        q, k, v = qkv.split(C, dim=-1)
        q, k, v = (t.view(B, T, n_heads, hs).transpose(1, 2) for t in (q, k, v))  # [B, H, T, hs]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        h1 = h + lin(f"{block_name}.attn.proj", True)(y)
        m = lin(f"{block_name}.mlp.proj", True)(torch.nn.GELU()(lin(f"{block_name}.mlp.fc", True)(ln(f"{block_name}.ln2")(h1))))
        alt = h1 + m
        ref = block(p, block_name, h, n_heads)
    return (alt - ref).abs().max().item()
