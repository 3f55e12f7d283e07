"""A tiny random Llama as a GGUF file, for testing against llama.cpp's real server.

The model is made with transformers (LlamaForCausalLM, seeded random weights) and
written with the `gguf` package the way llama.cpp's convert_hf_to_gguf.py writes a
Llama: HF tensor names mapped to GGUF names, q/k projections permuted to llama.cpp's
rotary layout, the byte-level BPE tokenizer as a "gpt2" vocabulary with its merges,
and the chat template in the metadata (llama-cpp-python's server applies it).

usage: make_tiny_gguf.py TOKENIZER_DIR OUT.gguf [--seed N]
TOKENIZER_DIR holds tokenizer.json and tokenizer_config.json (the TS fixture's:
`npm run fixture -- DIR`).
"""
import argparse
import json
import os

import gguf
import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM


def permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF's rotate-half q/k rows → llama.cpp's interleaved pairs (as convert_hf_to_gguf.py)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer_dir")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=12)
    a = ap.parse_args()

    tok = json.load(open(os.path.join(a.tokenizer_dir, "tokenizer.json"), encoding="utf8"))
    tok_cfg = json.load(open(os.path.join(a.tokenizer_dir, "tokenizer_config.json"), encoding="utf8"))
    vocab = dict(tok["model"]["vocab"])
    special = {t["id"]: t["content"] for t in tok.get("added_tokens", [])}
    for i, s in special.items():
        vocab[s] = i
    n_vocab = max(vocab.values()) + 1
    tokens = [""] * n_vocab
    for s, i in vocab.items():
        tokens[i] = s
    types = [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(n_vocab)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    eos = vocab[tok_cfg["eos_token"]]
    pad = vocab.get(tok_cfg.get("pad_token") or "", eos)

    cfg = LlamaConfig(
        vocab_size=n_vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=4096,
        rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False,
        bos_token_id=pad, eos_token_id=eos, pad_token_id=pad,
        # Wider than the default 0.02 so the next-token distribution is not flat.
        initializer_range=0.25,
    )
    torch.manual_seed(a.seed)
    model = LlamaForCausalLM(cfg).eval()
    # Zero logits for the special tokens: with random weights they can take most of the mass, and a reply that
    # ends (or starts with BOS) at once carries no logprobs entry — a real instruct model asked for "A" or "B"
    # rarely does that. They stay possible (logit 0), just not likely.
    with torch.no_grad():
        for i in special:
            model.lm_head.weight[i].zero_()

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name("tiny-random-llama")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_rope_freq_base(cfg.rope_theta)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(pad)
    w.add_eos_token_id(eos)
    w.add_pad_token_id(pad)
    w.add_add_bos_token(False)
    w.add_chat_template(tok_cfg["chat_template"])

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    for name, t in model.state_dict().items():
        data = t.detach().float().numpy()
        if name.endswith("q_proj.weight"):
            data = permute(data, cfg.num_attention_heads)
        elif name.endswith("k_proj.weight"):
            data = permute(data, cfg.num_key_value_heads)
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise SystemExit(f"no GGUF name for {name}")
        w.add_tensor(new, np.ascontiguousarray(data))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(json.dumps({"gguf": a.out, "vocab": n_vocab, "eos": eos}))


if __name__ == "__main__":
    main()
