"""LoRA adapters saved by PEFT itself (adapter_config.json + adapter_model.safetensors).

    python python/peft_adapter.py --model DIR --out ADIR [--rank 8] [--alpha 16] [--rslora]
        [--targets all-linear | q_proj,v_proj | REGEX] [--rank-pattern JSON] [--alpha-pattern JSON]
        [--layers 0,1] [--seed 1] [--b-std 0.1] [--zero-b] [--base-name NAME]

get_peft_model on the Hugging Face model in DIR, then, since PEFT initialises B to zero (an
adapter that changes nothing), B is drawn at random (seeded; --zero-b keeps PEFT's zeros), and
save_pretrained. --base-name sets base_model_name_or_path (what the lab checks the base
against); by default it is DIR as given. Prints a JSON summary: files, tensor names, sha-256
of the weights file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--rslora", action="store_true")
    ap.add_argument("--targets", default="all-linear",
                    help="all-linear, a comma list of module names, or a regex (starts with ^ or contains .*)")
    ap.add_argument("--rank-pattern", default="{}")
    ap.add_argument("--alpha-pattern", default="{}")
    ap.add_argument("--layers", help="comma list: layers_to_transform")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--b-std", type=float, default=0.1)
    ap.add_argument("--zero-b", action="store_true")
    ap.add_argument("--base-name")
    args = ap.parse_args(argv)

    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    t = args.targets
    targets = t if t == "all-linear" or t.startswith("^") or ".*" in t else [s for s in t.split(",") if s]
    config = LoraConfig(
        r=args.rank, lora_alpha=args.alpha, use_rslora=args.rslora, target_modules=targets,
        rank_pattern=json.loads(args.rank_pattern), alpha_pattern=json.loads(args.alpha_pattern),
        layers_to_transform=[int(x) for x in args.layers.split(",")] if args.layers else None,
        lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
    )
    torch.manual_seed(args.seed)
    base = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model = get_peft_model(base, config)
    if not args.zero_b:
        g = torch.Generator().manual_seed(args.seed + 1)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if ".lora_B." in name:
                    p.copy_(args.b_std * torch.randn(p.shape, generator=g))
    if args.base_name:
        model.peft_config["default"].base_model_name_or_path = args.base_name
    model.save_pretrained(args.out, safe_serialization=True)

    from safetensors import safe_open
    weights = args.out / "adapter_model.safetensors"
    with safe_open(str(weights), "pt") as f:
        keys = sorted(f.keys())
    print(json.dumps({
        "dir": str(args.out.resolve()),
        "files": {p.name: p.stat().st_size for p in sorted(args.out.iterdir()) if p.is_file()},
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "tensors": keys,
    }, indent=1))


if __name__ == "__main__":
    main()
