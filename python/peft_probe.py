"""What PEFT itself makes of an adapter_config.json, for tests that hold the lab to it.

    python python/peft_probe.py targets '{"modules": [NAME, ...], "configs": [CONFIG, ...]}'
    python python/peft_probe.py init '{"values": [VALUE, ...]}'

(the JSON job as the second argument, or on stdin without it)

targets: each CONFIG (the fields of an adapter_config.json) is written to a folder and loaded as
PEFT loads an adapter (LoraConfig.from_pretrained), then injected into a model whose Linear
layers have exactly the given names. Prints, per config, {"targeted": [NAME, ...]} or
{"error": MESSAGE} when PEFT refuses the config or finds nothing to adapt.

init: for each init_lora_weights VALUE, an adapter is made as for training (get_peft_model on a
small two-layer model; LoRA-GA's gradients, CorDA's covariance and EVA's data step prepared as
their own preprocessing does) and the base weights are compared before and after. Prints, per
value, {"rewrites": BOOL}, {"error": MESSAGE} (PEFT refuses the value) or {"skipped": WHY}
(a dependency of that method is not installed).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn


def model_with(names: list[str]) -> nn.Module:
    root = nn.Module()
    for name in names:
        parent = root
        *path, leaf = name.split(".")
        for part in path:
            if not hasattr(parent, part):
                parent.add_module(part, nn.Module())
            parent = getattr(parent, part)
        parent.add_module(leaf, nn.Linear(8, 8, bias=False))
    return root


def targets(job: dict) -> list[dict]:
    from peft import LoraConfig, inject_adapter_in_model
    from peft.tuners.lora import LoraLayer

    out = []
    for config in job["configs"]:
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", **config}))
            try:
                loaded = LoraConfig.from_pretrained(d)
                model = inject_adapter_in_model(loaded, model_with(job["modules"]))
            except Exception as e:  # PEFT's own refusal, reported as such
                out.append({"error": f"{type(e).__name__}: {e}"})
                continue
        out.append({"targeted": sorted(n for n, m in model.named_modules() if isinstance(m, LoraLayer))})
    return out


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Linear(16, 16, bias=False)
        self.down = nn.Linear(16, 16, bias=False)

    def forward(self, x):
        return self.down(torch.relu(self.up(x)))


def init_effect(value) -> dict:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    model = Tiny()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    extra = {}
    try:
        if value == "lora_ga":
            from peft import LoraGAConfig

            extra["lora_ga_config"] = LoraGAConfig()
            for m in (model.up, model.down):  # what preprocess_loraga leaves on each target
                m._peft_loraga_grad = torch.randn_like(m.weight)
        if value == "corda":
            from peft.tuners.lora.config import CordaConfig

            extra["corda_config"] = CordaConfig()
        config = LoraConfig(r=4, lora_alpha=8, target_modules=["up", "down"], init_lora_weights=value, **extra)
    except ImportError as e:
        return {"skipped": f"{type(e).__name__}: {e}"}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}
    try:
        if value == "corda":
            from peft.tuners.lora.corda import preprocess_corda

            x = torch.randn(256, 16)
            preprocess_corda(model, config, run_model=lambda: model(x))
        peft_model = get_peft_model(model, config)
        if value == "eva":
            from peft import initialize_lora_eva_weights

            batches = [{"x": torch.randn(64, 16)} for _ in range(4)]
            initialize_lora_eva_weights(peft_model, batches, prepare_model_inputs_fn=None, prepare_layer_inputs_fn=None, show_progress_bar=False)
    except ImportError as e:
        return {"skipped": f"{type(e).__name__}: {e}"}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}
    after = {n.replace("base_model.model.", "").replace(".base_layer", ""): p for n, p in peft_model.named_parameters() if "lora_" not in n}
    return {"rewrites": any(not torch.equal(before[n], after[n]) for n in before)}


def main():
    mode = sys.argv[1]
    job = json.loads(sys.argv[2]) if len(sys.argv) > 2 else json.load(sys.stdin)
    result = targets(job) if mode == "targets" else [init_effect(v) for v in job["values"]]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
