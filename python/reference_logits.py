"""Reference next-token logits from PyTorch (+ PEFT) for the lab's exactness tests.

    python python/reference_logits.py --model DIR [--adapter ADIR] [--scale S]
        [--dequantize DIR/onnx/model_q4.onnx] (--prompts-json '[...]' | --prompts-file F)
        [--merge-to OUT] [--jobs JSON] [--label-ids 49,50]

A prompt is a string (tokenized as is) or a list of chat messages ({role, content}: rendered with
the model's chat template and the generation prompt, as the lab does). Prints JSON:
{"prompts": [{"ids": [...], "logits": [...last position...]}]}.

--adapter loads a PEFT adapter onto the base (PeftModel.from_pretrained); --scale multiplies
every LoRA scaling (what the lab's `adapter.scale` does). --dequantize gives every Linear that the given ONNX file quantized
the quantized base's arithmetic: MatMulNBits (q4) weights are replaced by their dequantized
values; MatMulInteger (q8) layers quantize their input per tensor as DynamicQuantizeLinear does
and multiply integers. The lab's q4/q8 logits then differ from the reference only by float
rounding; a LoRA branch (PEFT's) still sees the unquantized input. --merge-to merges the adapter into the weights (merge_and_unload) and saves
a Hugging Face model folder with the base's tokenizer files, for tiny_model.py --from.

--label-ids (a real vocabulary's logits are large): each prompt gives "logprobs", the float64
log-softmax at those token ids, instead of "logits"; a chat prompt also gives "template_ids",
what tokenizer.apply_chat_template(messages, add_generation_prompt=True) returns itself.
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


def q8_linears(onnx_path: Path) -> dict[str, tuple[np.ndarray, float, float]]:
    """module name -> (int8 weight [in, out], weight scale, weight zero point) of every MatMulInteger
    (ORT's dynamic quantization, as in model_quantized.onnx)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load_model(str(onnx_path), load_external_data=True)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    out = {}
    for node in m.graph.node:
        if node.op_type != "MatMulInteger":
            continue
        w_name = node.input[1]
        stem = w_name.removesuffix("_quantized")
        module = node.name.removesuffix("/MatMul_quant").strip("/").replace("/", ".")
        out[module] = (inits[w_name], float(inits[stem + "_scale"]), float(inits[node.input[3]]))
    return out


def q8_embedding(onnx_path: Path) -> np.ndarray | None:
    """The embedding table as quantize_dynamic left it (Gather of int8 rows, then DequantizeLinear)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load_model(str(onnx_path), load_external_data=True)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for node in m.graph.node:
        if node.op_type == "Gather" and node.input[0].endswith("_quantized") and node.input[0] in inits:
            stem = node.input[0].removesuffix("_quantized")
            q = inits[node.input[0]].astype(np.float32)
            return (q - inits[stem + "_zero_point"].astype(np.float32)) * inits[stem + "_scale"]
    return None


def dynamic_q8_forward(weight_q: np.ndarray, w_scale: float, w_zero: float, bias):
    """Linear.forward as ORT runs it after quantize_dynamic: the input is quantized per tensor to
    uint8 (DynamicQuantizeLinear: scale = range/255, round half to even), multiplied as integers
    (MatMulInteger), then scaled by x_scale·w_scale (computed first, in float32)."""
    wq = torch.from_numpy(weight_q.astype(np.float64)) - w_zero
    w_scale32 = torch.tensor(w_scale, dtype=torch.float32)

    def forward(x):
        lo = torch.clamp(x.min(), max=0.0)
        hi = torch.clamp(x.max(), min=0.0)
        scale = (hi - lo) / 255.0
        zero = torch.clamp(torch.round(-lo / scale), 0, 255)
        q = torch.clamp(torch.round(x / scale) + zero, 0, 255)
        acc = ((q - zero).double() @ wq).float()
        y = acc * (scale * w_scale32)
        return y + bias if bias is not None else y

    return forward


def apply_quantized(model, onnx_path: Path):
    """Give the model the quantized base's weights (q4: dequantized) or arithmetic (q8: emulated)."""
    c = model.config
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    apply_dequantized(model, dequantized_matmulnbits(onnx_path, c.num_key_value_heads * head_dim))
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    mods = dict(base.named_modules())
    embedding = q8_embedding(onnx_path)
    if embedding is not None:
        with torch.no_grad():
            base.get_input_embeddings().weight.copy_(torch.from_numpy(embedding))
    for name, (wq, ws, wz) in q8_linears(onnx_path).items():
        lin = mods[name]
        lin = getattr(lin, "base_layer", lin)
        lin.forward = dynamic_q8_forward(wq, ws, wz, lin.bias)


def encode(tok, prompt) -> list[int]:
    if isinstance(prompt, str):
        return tok(prompt, add_special_tokens=False)["input_ids"]
    text = tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    return tok(text, add_special_tokens=False)["input_ids"]


def run_job(model_dir: Path, prompts: list, adapter: Path | None = None, scale: float = 1.0,
            dequantize: Path | None = None, merge_to: Path | None = None,
            label_ids: list[int] | None = None) -> list[dict]:
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = load_model(model_dir, adapter, scale)
    if dequantize:
        apply_quantized(model, dequantize)
    results = []
    with torch.no_grad():
        for p in prompts:
            ids = encode(tok, p)
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
            if label_ids is None:
                results.append({"ids": ids, "logits": logits.tolist()})
                continue
            logprobs = torch.log_softmax(logits.double(), dim=-1)
            r = {"ids": ids, "logprobs": [logprobs[i].item() for i in label_ids]}
            if not isinstance(p, str):
                r["template_ids"] = list(tok.apply_chat_template(p, add_generation_prompt=True))
            results.append(r)
    if merge_to:
        if not adapter or dequantize:
            raise SystemExit("--merge-to needs --adapter and no --dequantize")
        model.merge_and_unload().save_pretrained(merge_to, safe_serialization=True)
        for f in (*TOKENIZER_FILES, "generation_config.json"):
            if (model_dir / f).exists():
                shutil.copy(model_dir / f, merge_to / f)
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--adapter", type=Path)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--dequantize", type=Path)
    ap.add_argument("--prompts-json")
    ap.add_argument("--prompts-file", type=Path)
    ap.add_argument("--merge-to", type=Path)
    ap.add_argument("--label-ids", help="comma list of token ids: their log-probabilities instead of the logits")
    ap.add_argument("--jobs", help="JSON list of {adapter, scale, dequantize, merge_to}: several references in "
                    "one process (torch loads once); prints {\"jobs\": [{\"prompts\": ...}, ...]}")
    args = ap.parse_args(argv)
    prompts = json.loads(args.prompts_json) if args.prompts_json else (
        json.loads(args.prompts_file.read_text()) if args.prompts_file else [])
    label_ids = [int(x) for x in args.label_ids.split(",")] if args.label_ids else None
    if args.jobs:
        out = []
        for j in json.loads(args.jobs):
            opt = lambda k: Path(j[k]) if j.get(k) else None  # noqa: E731
            out.append({"prompts": run_job(args.model, prompts, opt("adapter"), float(j.get("scale", 1.0)),
                                           opt("dequantize"), opt("merge_to"), label_ids)})
        print(json.dumps({"jobs": out}))
        return
    print(json.dumps({"prompts": run_job(args.model, prompts, args.adapter, args.scale, args.dequantize,
                                         args.merge_to, label_ids)}))


if __name__ == "__main__":
    main()
