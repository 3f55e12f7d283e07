"""Reference next-token logits from PyTorch (+ PEFT) for the lab's exactness tests.

    python python/reference_logits.py --model DIR [--adapter ADIR] [--scale S]
        [--dequantize DIR/onnx/model_q4.onnx] (--prompts-json '[...]' | --prompts-file F)
        [--merge-to OUT]

A prompt is a string (tokenized as is) or a list of chat messages ({role, content}: rendered with
the model's chat template and the generation prompt, as the lab does). Prints JSON:
{"prompts": [{"ids": [...], "logits": [...last position...]}]}.

--adapter loads a PEFT adapter onto the base (PeftModel.from_pretrained); --scale multiplies
every LoRA scaling (what the lab's `adapter.scale` does). --dequantize replaces the weights of
every Linear that the given ONNX file quantized to MatMulNBits with their dequantized values, so
the reference has the q4 base's weights exactly (the lab's q4 logits then differ from it only
by float rounding). --merge-to merges the adapter into the weights (merge_and_unload) and saves
a Hugging Face model folder with the base's tokenizer files, for tiny_model.py --from.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tiny_model import TOKENIZER_FILES  # noqa: E402


def load_model(model_dir: Path, adapter: Path | None, scale: float):
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager")
    if adapter:
        from peft import PeftModel
        model = PeftModel.from_pretrained(model, adapter)
        if scale != 1.0:
            from peft.tuners.lora import LoraLayer
            for m in model.modules():
                if isinstance(m, LoraLayer):
                    for k in m.scaling:
                        m.scaling[k] *= scale
    model.eval()
    return model


def dequantized_matmulnbits(onnx_path: Path, kv_rows: int) -> dict[str, np.ndarray]:
    """module name -> dequantized weight [out, in] of every MatMulNBits node (symmetric or not).
    kv_rows: output rows of k_proj (and v_proj), to split ModelBuilder's packed qkv_proj."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load_model(str(onnx_path), load_external_data=True)
    inits = {t.name: t for t in m.graph.initializer}
    out = {}
    for node in m.graph.node:
        if node.op_type != "MatMulNBits":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        k, n, bits, block = attrs["K"], attrs["N"], attrs["bits"], attrs["block_size"]
        assert bits == 4, node.name
        packed = numpy_helper.to_array(inits[node.input[1]])  # [N, blocks, block/2] uint8
        scales = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32).reshape(n, -1)
        low, high = packed & 0x0F, packed >> 4
        q = np.stack([low, high], axis=-1).reshape(n, packed.shape[1], block).astype(np.float32)
        if len(node.input) > 3 and node.input[3]:
            zp = numpy_helper.to_array(inits[node.input[3]]).reshape(n, -1)
            zl, zh = zp & 0x0F, zp >> 4
            zero = np.stack([zl, zh], axis=-1).reshape(n, -1)[:, : packed.shape[1]].astype(np.float32)
        else:
            zero = np.full((n, packed.shape[1]), 2 ** (bits - 1), np.float32)
        w = (q - zero[:, :, None]) * scales[:, :, None]
        w = w.reshape(n, -1)[:, :k]
        # Optimum: /model/layers.0/self_attn/q_proj/MatMul_Q4 -> model.layers.0.self_attn.q_proj;
        # ModelBuilder: /model/layers.0/attn/qkv_proj/MatMul_Q4, q, k and v stacked along the output.
        module = node.name.removesuffix("/MatMul_Q4").strip("/").replace("/", ".").replace(".attn.", ".self_attn.")
        if module.endswith(".qkv_proj"):
            stem = module.removesuffix("qkv_proj")
            q_rows = n - 2 * kv_rows
            out[stem + "q_proj"], out[stem + "k_proj"], out[stem + "v_proj"] = np.split(w, [q_rows, q_rows + kv_rows])
        else:
            out[module] = w
    return out


def apply_dequantized(model, weights: dict[str, np.ndarray]):
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    mods = dict(base.named_modules())
    with torch.no_grad():
        for name, w in weights.items():
            lin = mods[name]
            if hasattr(lin, "base_layer"):
                lin = lin.base_layer
            if name == "lm_head" and base.config.tie_word_embeddings:
                # Tied: the ONNX lm_head holds a copy; untie so the embedding keeps its fp32 values.
                lin.weight = torch.nn.Parameter(torch.from_numpy(w).clone())
            else:
                lin.weight.copy_(torch.from_numpy(w))


def encode(tok, prompt) -> list[int]:
    if isinstance(prompt, str):
        return tok(prompt, add_special_tokens=False)["input_ids"]
    text = tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    return tok(text, add_special_tokens=False)["input_ids"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--adapter", type=Path)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--dequantize", type=Path)
    ap.add_argument("--prompts-json")
    ap.add_argument("--prompts-file", type=Path)
    ap.add_argument("--merge-to", type=Path)
    args = ap.parse_args(argv)

    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(args.model)
    model = load_model(args.model, args.adapter, args.scale)
    if args.dequantize:
        c = model.config
        head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        apply_dequantized(model, dequantized_matmulnbits(args.dequantize, c.num_key_value_heads * head_dim))

    prompts = json.loads(args.prompts_json) if args.prompts_json else (
        json.loads(args.prompts_file.read_text()) if args.prompts_file else [])
    results = []
    with torch.no_grad():
        for p in prompts:
            ids = encode(tok, p)
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
            results.append({"ids": ids, "logits": logits.tolist()})

    if args.merge_to:
        if not args.adapter:
            ap.error("--merge-to needs --adapter")
        merged = model.merge_and_unload()
        merged.save_pretrained(args.merge_to, safe_serialization=True)
        for f in (*TOKENIZER_FILES, "generation_config.json"):
            if (args.model / f).exists():
                shutil.copy(args.model / f, args.merge_to / f)
    print(json.dumps({"prompts": results}))


if __name__ == "__main__":
    main()
