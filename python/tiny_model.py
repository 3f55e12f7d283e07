"""Tiny random Llama / Qwen2 models made by the real tools, in the transformers.js layout.

    python python/tiny_model.py --arch llama --out DIR [--dtypes fp32,fp16,q8,q4,q4f16]
                                [--seed 0] [--modelbuilder fp32,int4]
    python python/tiny_model.py --from HF_DIR --out DIR [--dtypes ...]   # export an existing model

The folder written is at once a Hugging Face model (config.json, model.safetensors: PyTorch,
PEFT and training load it with from_pretrained) and a transformers.js model (tokenizer files,
onnx/model*.onnx). The ONNX files are made the way transformers.js's own conversion scripts
make them: Optimum's exporter with a KV cache (task text-generation-with-past), then ONNX
Runtime's quantizers with the options transformers.js's scripts/quantize.py passes
(fp16: float16 conversion keeping fp32 I/O; q8: dynamic IntegerOps quantization, MatMulInteger,
int8 weights; q4: MatMulNBits, symmetric, block 32; q4f16: q4 then fp16).

--modelbuilder also exports with onnxruntime-genai's ModelBuilder (packed qkv_proj, `/attn/`
names, GroupQueryAttention, weights in external data) into DIR/modelbuilder-<precision>/, a
transformers.js folder of its own.

The tokenizer is the TS fixture's byte-level BPE (`npm run fixture`), a real tokenizer.json
that both transformers (PreTrainedTokenizerFast) and transformers.js load, with a ChatML
chat template. Prints a JSON summary (files, sizes, config) on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
ALL_DTYPES = ("fp32", "fp16", "q8", "q4", "q4f16")
# transformers.js's file name for each dtype (its dtype → suffix table).
ONNX_FILE = {
    "fp32": "model.onnx",
    "fp16": "model_fp16.onnx",
    "q8": "model_quantized.onnx",
    "q4": "model_q4.onnx",
    "q4f16": "model_q4f16.onnx",
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def fixture_tokenizer(dest: Path) -> Path:
    """Writes the TS fixture (tokenizer + its tiny graph) into dest with `npm run fixture`'s script."""
    tsx = ROOT / "node_modules" / ".bin" / "tsx"
    subprocess.run([str(tsx), str(ROOT / "test" / "fixture" / "cli.ts"), str(dest)], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return dest


def make_random_model(arch: str, out: Path, tokenizer_dir: Path, seed: int, hidden: int, layers: int,
                      heads: int, kv_heads: int, intermediate: int, init_std: float):
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    fx = json.loads((tokenizer_dir / "config.json").read_text()) if (tokenizer_dir / "config.json").exists() else {}
    tok_json = json.loads((tokenizer_dir / "tokenizer.json").read_text())
    vocab = len(tok_json["model"]["vocab"]) + sum(
        1 for t in tok_json.get("added_tokens", []) if t["content"] not in tok_json["model"]["vocab"])
    special = {t["content"]: t["id"] for t in tok_json.get("added_tokens", [])}
    eos, pad = special["<|im_end|>"], special["<|endoftext|>"]
    common = dict(
        vocab_size=vocab, hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, max_position_embeddings=4096,
        rms_norm_eps=1e-6, rope_theta=10000.0, initializer_range=init_std,
        bos_token_id=pad, eos_token_id=eos, pad_token_id=pad, torch_dtype="float32",
    )
    if arch == "llama":
        # Llama: separate lm_head, no projection biases.
        config = LlamaConfig(**common, head_dim=hidden // heads, tie_word_embeddings=False)
    elif arch == "qwen2":
        # Qwen2.5-0.5B's shape: tied embeddings, biases on q/k/v.
        config = Qwen2Config(**common, tie_word_embeddings=True, use_sliding_window=False)
    else:
        raise SystemExit(f"unknown --arch {arch!r} (llama or qwen2)")
    config.architectures = [type(config).__name__.replace("Config", "ForCausalLM")]

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32, attn_implementation="eager")
    # from_config gives norms of exactly 1 and biases of exactly 0: make them random too, so
    # an export or a patch that drops or misplaces one is caught.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(init_std * torch.randn_like(p))
    model.generation_config.eos_token_id = [eos, pad]
    model.generation_config.pad_token_id = pad
    model.generation_config.bos_token_id = pad
    model.generation_config.do_sample = False
    model.save_pretrained(out, safe_serialization=True)
    for f in TOKENIZER_FILES:
        shutil.copy(tokenizer_dir / f, out / f)
    del fx
    return config


def copy_hf_model(src: Path, out: Path):
    """--from: the folder to export (e.g. a model merged with an adapter) becomes DIR."""
    if src.resolve() == out.resolve():
        return
    out.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file():
            shutil.copy(f, out / f.name)


def optimum_export(hf_dir: Path, onnx_dir: Path, keep_files_in: Path | None = None) -> Path:
    """Optimum's export of hf_dir into onnx_dir/model.onnx. keep_files_in: also keep the other files
    Optimum writes beside the graph (config, generation config, tokenizer files, chat template), as
    it writes them, in that folder."""
    from optimum.exporters.onnx import main_export

    with tempfile.TemporaryDirectory() as tmp:
        main_export(str(hf_dir), output=tmp, task="text-generation-with-past", do_validation=False,
                    library_name="transformers", local_files_only=True)
        onnx_dir.mkdir(parents=True, exist_ok=True)
        data = [f for f in Path(tmp).iterdir() if f.name.startswith("model.onnx") and f.name != "model.onnx"]
        if data:
            raise SystemExit(f"the export wrote external data ({[f.name for f in data]}); the tiny models must be inline")
        shutil.move(str(Path(tmp) / "model.onnx"), onnx_dir / "model.onnx")
        if keep_files_in is not None:
            keep_files_in.mkdir(parents=True, exist_ok=True)
            for f in Path(tmp).iterdir():
                dest = keep_files_in / f.name
                shutil.copytree(f, dest) if f.is_dir() else shutil.copy(f, dest)
    return onnx_dir / "model.onnx"


def save_onnx(model, path: Path):
    import onnx
    onnx.checker.check_model(model)
    onnx.save_model(model, str(path))


def to_fp16(model):
    from onnxruntime.transformers import float16
    from onnxruntime.transformers.onnx_model import OnnxModel
    model = float16.convert_float_to_float16(model, keep_io_types=True,
                                             op_block_list=list(float16.DEFAULT_OP_BLOCK_LIST))
    # The I/O casts are appended at the end; transformers.js sorts with onnxslim, we with ORT's helper.
    m = OnnxModel(model)
    m.topological_sort()
    return m.model


def to_q4(model):
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    q = MatMulNBitsQuantizer(model, block_size=32, is_symmetric=True, accuracy_level=None)
    q.process()
    return q.model.model


def write_q8(src: Path, dest: Path):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.registry import IntegerOpsRegistry
    quantize_dynamic(str(src), str(dest), weight_type=QuantType.QInt8, per_channel=False, reduce_range=False,
                     op_types_to_quantize=list(IntegerOpsRegistry.keys()),
                     extra_options={"EnableSubgraph": True, "MatMulConstBOnly": True})


def write_dtypes(fp32: Path, dtypes: list[str]):
    import onnx
    onnx_dir = fp32.parent
    for d in dtypes:
        if d == "fp32":
            continue
        dest = onnx_dir / ONNX_FILE[d]
        log(f"  {d} -> {dest.name}")
        if d == "q8":
            write_q8(fp32, dest)
        elif d == "fp16":
            save_onnx(to_fp16(onnx.load_model(str(fp32))), dest)
        elif d == "q4":
            save_onnx(to_q4(onnx.load_model(str(fp32))), dest)
        elif d == "q4f16":
            save_onnx(to_fp16(to_q4(onnx.load_model(str(fp32)))), dest)


def modelbuilder_export(hf_dir: Path, out: Path, precision: str) -> Path:
    """onnxruntime-genai's ModelBuilder, then the transformers.js layout around its graph."""
    from onnxruntime_genai.models.builder import create_model

    dest = out / f"modelbuilder-{precision}"
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache:
        create_model("tiny", str(hf_dir), tmp, precision, "cpu", cache)
        import onnx
        (dest / "onnx").mkdir(parents=True, exist_ok=True)
        model = onnx.load_model(str(Path(tmp) / "model.onnx"), load_external_data=True)
        # transformers.js looks for external data next to the graph as model.onnx_data.
        onnx.save_model(model, str(dest / "onnx" / "model.onnx"), save_as_external_data=True,
                        all_tensors_to_one_file=True, location="model.onnx_data", size_threshold=0)
        shutil.copy(Path(tmp) / "genai_config.json", dest / "genai_config.json")
    for f in ("generation_config.json", *TOKENIZER_FILES):
        shutil.copy(hf_dir / f, dest / f)
    # As on onnx-community's repos: the config tells transformers.js to fetch onnx/model.onnx_data.
    config = json.loads((hf_dir / "config.json").read_text())
    config["transformers.js_config"] = {"use_external_data_format": True}
    (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return dest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=("llama", "qwen2"), help="make a random model of this architecture")
    ap.add_argument("--from", dest="src", type=Path, help="export this Hugging Face model folder instead")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--dtypes", default=",".join(ALL_DTYPES), help=f"comma list of {ALL_DTYPES} (or 'none')")
    ap.add_argument("--modelbuilder", default="", help="comma list of ModelBuilder precisions (fp32, fp16, int4)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=128)
    ap.add_argument("--init-std", type=float, default=0.1,
                    help="weight std (larger than HF's 0.02 so logits and adapter effects are O(1))")
    ap.add_argument("--tokenizer", type=Path, help="folder with tokenizer.json + tokenizer_config.json "
                    "(default: the TS fixture's, written by test/fixture/cli.ts)")
    args = ap.parse_args(argv)
    if bool(args.arch) == bool(args.src):
        ap.error("give exactly one of --arch and --from")
    dtypes = [] if args.dtypes == "none" else [d.strip() for d in args.dtypes.split(",") if d.strip()]
    bad = [d for d in dtypes if d not in ALL_DTYPES]
    if bad:
        ap.error(f"unknown dtypes {bad}; choose from {ALL_DTYPES}")

    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.src:
        copy_hf_model(args.src, out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            tok = args.tokenizer or fixture_tokenizer(Path(tmp) / "fixture")
            make_random_model(args.arch, out, tok, args.seed, args.hidden, args.layers, args.heads,
                              args.kv_heads, args.intermediate, args.init_std)

    if dtypes:
        log(f"Optimum export of {out}")
        fp32 = optimum_export(out, out / "onnx")
        write_dtypes(fp32, dtypes)
        if "fp32" not in dtypes:
            fp32.unlink()
    built = []
    for p in [p for p in args.modelbuilder.split(",") if p]:
        log(f"ModelBuilder export ({p})")
        built.append(str(modelbuilder_export(out, out, p)))

    files = {str(f.relative_to(out)): f.stat().st_size for f in sorted(out.rglob("*")) if f.is_file()}
    config = json.loads((out / "config.json").read_text())
    print(json.dumps({"dir": str(out), "model_type": config["model_type"], "files": files,
                      "modelbuilder": built}, indent=1))


if __name__ == "__main__":
    main()
