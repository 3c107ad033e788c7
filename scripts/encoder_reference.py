#!/usr/bin/env python3
"""Reference sentence embeddings for the encoder test (tests/semantic.rs), computed independently
of the Rust code: a plain numpy forward pass of the BERT encoder from the shipped float16 weights
(assets/encoder/model.safetensors, upcast to float32) and the shipped tokenizer.

    python3 scripts/encoder_reference.py        # writes tests/fixtures/encoder_reference.json

Dev-time Python dependencies: numpy, safetensors, tokenizers.
"""

import json
import math
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets" / "encoder"
OUT = ROOT / "tests" / "fixtures" / "encoder_reference.json"

LONG = (
    "To reset your password, open Settings, choose Account, then Security, and press the button "
    "labelled Reset password; we send a link to the email address on file, which stays valid for "
    "thirty minutes. "
) * 7

SENTENCES = [
    "How do I reset my password?",
    "I forgot my login credentials and cannot sign in.",
    "What is the refund policy for annual plans?",
    "Can I get my money back if I cancel my yearly subscription?",
    "The parcel arrived damaged and the box was wet.",
    "My order has not shipped yet, where is it?",
    "Export your invoices as PDF from Billing > History.",
    "Two-factor authentication codes are sent by SMS or an authenticator app.",
    "The weather in Lisbon is sunny today.",
    "Pizza dough needs to rest for at least two hours.",
    "如何重置我的密码？",
    "退款需要多长时间才能到账？",
    "I love this product 😍🎉 thanks!!!",
    "🚚📦❓",
    "Ünïcödé àccents and naïve café façades",
    "ERROR 0x80070005: access denied (code=403) at https://example.com/api/v2?x=1",
    "?",
    "",
    "ok",
    LONG,
]


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def gelu(x):
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def embed(w, config, ids):
    """ids: one sentence's token ids -> its normalised mean-pooled embedding."""
    n = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids]
    x = x + w["embeddings.position_embeddings.weight"][:n]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    eps = config["layer_norm_eps"]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    heads = config["heads"]
    d = config["hidden"] // heads
    for i in range(config["layers"]):
        p = f"encoder.layer.{i}."

        def lin(name, v):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = lin("attention.self.query", x).reshape(n, heads, d).transpose(1, 0, 2)
        k = lin("attention.self.key", x).reshape(n, heads, d).transpose(1, 0, 2)
        v = lin("attention.self.value", x).reshape(n, heads, d).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, heads * d)
        x = layer_norm(
            x + lin("attention.output.dense", ctx),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        h = gelu(lin("intermediate.dense", x))
        x = layer_norm(x + lin("output.dense", h), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    pooled = x.mean(0)
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def main():
    config = json.loads((ASSETS / "config.json").read_text(encoding="utf-8"))
    w = {k: v.astype(np.float64) for k, v in load_file(str(ASSETS / "model.safetensors")).items()}
    tok = Tokenizer.from_file(str(ASSETS / "tokenizer.json"))
    cases = []
    for s in SENTENCES:
        ids = tok.encode(s).ids[: config["max_tokens"]]
        if len(ids) == config["max_tokens"]:
            ids[-1] = tok.token_to_id("[SEP]")
        vec = embed(w, config, np.array(ids))
        cases.append({"text": s, "tokens": len(ids), "vector": [round(float(v), 6) for v in vec]})
        print(f"{len(ids):4} tokens  {s[:60]!r}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"model": "assets/encoder", "cases": cases}, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
