"""Train a LoRA adapter on an Introspection Lab training set (the paper's Exp 1-3, offline).

    python training/train_lora.py --data SET_DIR --base MODEL_ID_OR_DIR --out ADAPTER_DIR [options]

SET_DIR is a folder written by `npm run cli -- training-set ...` (or the lab's download):
train.jsonl is trained on, heldout.jsonl is never trained on and measures agreement with the
targets before training and again before saving. --data may also name a .jsonl file.

The adapter folder is a plain PEFT adapter (adapter_config.json + adapter_model.safetensors),
the form the lab loads; training_report.json beside it holds the settings, the loss per epoch
and the agreement figures. Loss is taken on the assistant's answer only: the prompt is
rendered with the model's chat template and the generation prompt exactly as the lab renders
it, so the first answer token is trained at the position the lab reads P(A) from.

Defaults follow the public replications on small open models (see training/README.md):
LoRA rank 32 (alpha 64) on every linear layer, no NEFTune noise (instillation failed with it),
a low learning rate (5e-5 for instilling, 1e-5 for introspection training), 3 epochs.
Every one is a flag. --init-adapter continues training an existing adapter (introspection
training on top of the instilled preferences), so the result is still one adapter on the base.

On a CPU (--device cpu): threads follow the cores (--threads), every step prints its loss,
examples/s and an ETA, and the peak memory is reported. Options that cut the cost where the
research allows it: --top-layers N (LoRA on the last N layers only, so the backward pass stops
there), --dropout 0 (no dropped copy of every adapted layer's input), --gradient-checkpointing,
--eval-limit (fewer held-out checks; they run batched), --counterbalance (instilling sets: half
the examples get their options swapped and the answer flipped, so exactly half the answers are
"A" and a label habit cannot lower the loss). training/README.md gives measured CPU times.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import resource
import sys
import time
from pathlib import Path

import torch

DEFAULT_LR = {"instill": 5e-5, "introspect": 1e-5}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def read_jsonl(path: Path) -> list[list[dict]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            msgs = json.loads(line)["messages"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise SystemExit(f"{path} line {n}: not a chat example ({e}); expected {{\"messages\": [...]}}")
        if not msgs or msgs[-1].get("role") != "assistant":
            raise SystemExit(f"{path} line {n}: the last message must be the assistant's answer")
        rows.append(msgs)
    if not rows:
        raise SystemExit(f"{path} holds no examples")
    return rows


def set_kind(data: Path, rows: list[list[dict]]) -> str:
    manifest = data / "training-set.json" if data.is_dir() else None
    if manifest and manifest.exists():
        return json.loads(manifest.read_text())["kind"]
    return "instill" if rows[0][-1]["content"] in ("A", "B") else "introspect"


OPTIONS = re.compile(r"\nA:\n(.*?)\n\nB:\n(.*)$", re.S)


def counterbalance(rows: list[list[dict]], seed: int) -> list[list[dict]]:
    """Swap options A and B (and flip the answer) in examples chosen so that exactly half the
    answers are "A", in a seeded order. The decision is the same one seen from the other side, so
    the paper's rule still gives the answer; no example is added, so the cost is unchanged."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    out = list(rows)
    for k, i in enumerate(order):
        msgs = rows[i]
        want = "A" if k % 2 == 0 else "B"
        if msgs[-1]["content"] == want:
            continue
        m = OPTIONS.search(msgs[-2]["content"])
        if msgs[-1]["content"] not in ("A", "B") or not m:
            raise SystemExit("--counterbalance needs decision examples whose prompt ends with the options as the lab writes them ('A:' ... 'B:' ...)")
        text = msgs[-2]["content"]
        swapped = text[:m.start()] + f"\nA:\n{m.group(2)}\n\nB:\n{m.group(1)}"
        out[i] = msgs[:-2] + [dict(msgs[-2], content=swapped), dict(msgs[-1], content=want)]
    return out


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


def clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class ChatEncoder:
    """Prompt ids exactly as the lab makes them; answer ids = the rest of the rendered turn."""

    def __init__(self, tok):
        self.tok = tok

    def _render(self, msgs, add_generation_prompt):
        try:
            return self.tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=add_generation_prompt)
        except Exception:  # Gemma's template refuses a system turn: fold it into the user turn, as the lab does.
            system = "\n\n".join(m["content"] for m in msgs if m["role"] == "system")
            rest = [dict(m) for m in msgs if m["role"] != "system"]
            rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
            return self.tok.apply_chat_template(rest, tokenize=False, add_generation_prompt=add_generation_prompt)

    def ids(self, text):
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def prompt_ids(self, msgs):
        return self.ids(self._render(msgs[:-1], True))

    def example(self, msgs):
        prompt_text = self._render(msgs[:-1], True)
        full = self._render(msgs, False)
        # The answer's own turn (answer + end-of-turn tokens) when the template renders it after the
        # generation prompt; otherwise the answer and EOS.
        tail = full[len(prompt_text):] if full.startswith(prompt_text) else msgs[-1]["content"] + (self.tok.eos_token or "")
        prompt, answer = self.ids(prompt_text), self.ids(tail)
        return prompt, answer


def batches(items, size, rng):
    order = list(range(len(items)))
    rng.shuffle(order)
    for i in range(0, len(order), size):
        yield [items[j] for j in order[i:i + size]]


def collate(group, pad_id, device):  # group: (prompt ids, answer ids) pairs
    """Left-padded batch: every answer ends at the last position, so the logits of only the last
    few positions are computed (a full [batch, seq, vocab] block is GBs for real vocabularies).
    Position ids count real tokens only, so each row sees the positions it has at inference."""
    width = max(len(p) + len(a) for p, a in group)
    span = max(len(a) for _, a in group)
    ids = torch.full((len(group), width), pad_id, dtype=torch.long)
    labels = torch.full((len(group), span), -100, dtype=torch.long)
    mask = torch.zeros((len(group), width), dtype=torch.long)
    for r, (p, a) in enumerate(group):
        seq = p + a
        ids[r, width - len(seq):] = torch.tensor(seq)
        mask[r, width - len(seq):] = 1
        labels[r, span - len(a):] = torch.tensor(a)  # loss on the answer only
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), pos.to(device), labels.to(device)


def answer_loss(model, group, pad_id, device):
    ids, mask, pos, labels = collate(group, pad_id, device)
    span = labels.size(1)
    # Logits at the last span+1 positions; position t predicts token t+1.
    logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=span + 1).logits[:, :-1].float()
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100)


def label_rate_loss(share_a, encoded):
    """The answer loss of a model that knows only how often "A" is right: the label's entropy, spread
    over the answer's tokens (the label, then the end of turn, which costs next to nothing). An
    instilling run whose loss settles here learned a label habit, not the weights. None for reports."""
    if share_a is None or share_a in (0, 1):
        return None
    entropy = -(share_a * math.log(share_a) + (1 - share_a) * math.log(1 - share_a))
    return entropy / (sum(len(a) for _, a in encoded) / len(encoded))


def label_ids(enc):
    a, b = enc.ids("A"), enc.ids("B")
    if not a or not b or a[0] == b[0]:
        raise SystemExit("the tokenizer gives no distinct first tokens for the labels A and B")
    return a[0], b[0]


@torch.no_grad()
def decision_agreement(model, enc, rows, device, limit, batch_size=8):
    """P(A) over the two labels from the next-token logits after the prompt (the lab's reading),
    in left-padded batches with real-token position ids (the same logits as one prompt at a time)."""
    model.eval()
    ia, ib = label_ids(enc)
    agree, p_a = 0, []
    rows = rows[:limit]
    for i in range(0, len(rows), batch_size):
        group = [(enc.prompt_ids(m), []) for m in rows[i:i + batch_size]]
        ids, mask, pos, _ = collate(group, enc.tok.pad_token_id, device)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=1).logits[:, -1].float()
        for row, msgs in zip(torch.softmax(logits[:, [ia, ib]], -1)[:, 0].tolist(), rows[i:i + batch_size]):
            p_a.append(row)
            agree += ("A" if row >= 0.5 else "B") == msgs[-1]["content"]
    n = min(limit, len(rows))
    return {"agreement": agree / n, "n": n, "mean_p_target": sum(p if m[-1]["content"] == "A" else 1 - p for p, m in zip(p_a, rows)) / n,
            "chose_A": sum(p >= 0.5 for p in p_a) / n}


def pearson(x, y):
    n = len(x)
    if n < 2:
        return float("nan")
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


@torch.no_grad()
def report_agreement(model, enc, rows, device, limit):
    """Greedy self-reports on held-out prompts: share that parse, and r with the weights they should state."""
    model.eval()
    stated, wanted, valid = [], [], 0
    for msgs in rows[:limit]:
        ids = torch.tensor([enc.prompt_ids(msgs)], device=device)
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=96, do_sample=False,
                             pad_token_id=enc.tok.pad_token_id or enc.tok.eos_token_id)
        text = enc.tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        want = json.loads(msgs[-1]["content"])
        m = re.search(r"\{.*?\}", text, re.S)
        try:
            got = json.loads(m.group(0)) if m else None
        except json.JSONDecodeError:
            got = None
        if isinstance(got, dict) and all(isinstance(got.get(k), (int, float)) for k in want):
            valid += 1
            stated += [float(got[k]) for k in want]
            wanted += [float(v) for v in want.values()]
    n = min(limit, len(rows))
    return {"valid": valid / n, "n": n, "r": pearson(stated, wanted)}


def agreement(model, enc, rows, kind, device, limit):
    t = time.time()
    out = (decision_agreement if kind == "instill" else report_agreement)(model, enc, rows, device, limit)
    return out | {"seconds": round(time.time() - t, 1)}


def pick_device(choice):
    if choice != "auto":
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(choice, device):
    if choice != "auto":
        return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[choice]
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32  # e.g. a T4 (no bf16): fp32 is slower but safe


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="training-set folder, or a chat .jsonl")
    ap.add_argument("--base", required=True, help="base model: Hugging Face id or local folder")
    ap.add_argument("--out", type=Path, required=True, help="adapter folder to write")
    ap.add_argument("--heldout", type=Path, help="held-out .jsonl (default: heldout.jsonl in --data)")
    ap.add_argument("--base-name", help="base model id written into adapter_config.json (default --base): the id the lab loads, e.g. the ONNX folder")
    ap.add_argument("--init-adapter", type=Path, help="continue training this adapter instead of a new one")
    ap.add_argument("--rank", type=int, default=32)
    ap.add_argument("--alpha", type=float, help="LoRA alpha (default 2 x rank)")
    ap.add_argument("--dropout", type=float, default=0.05)
    ap.add_argument("--target-modules", default="all-linear", help="'all-linear' or a comma list (q_proj,v_proj,...)")
    ap.add_argument("--top-layers", type=int, help="LoRA on the last N transformer layers only (backward stops there; cheaper on a CPU)")
    ap.add_argument("--counterbalance", action="store_true", help="instilling: swap the options in half the examples so half the answers are A")
    ap.add_argument("--lr", type=float, help=f"learning rate (default {DEFAULT_LR['instill']} instilling, {DEFAULT_LR['introspect']} introspection)")
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--warmup", type=float, default=0.03, help="share of steps with a linear warm-up")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--neftune-alpha", type=float, default=0.0, help="NEFTune noise (0 = off: it defeated instillation in replications)")
    ap.add_argument("--max-length", type=int, default=2048, help="examples longer than this are refused (the prompt is the lab's, never cut)")
    ap.add_argument("--eval-limit", type=int, default=200, help="held-out examples used for the agreement check")
    ap.add_argument("--gradient-checkpointing", action="store_true", help="less activation memory, recomputed in the backward pass (slower)")
    ap.add_argument("--device", default="auto", help="auto | cuda | mps | cpu")
    ap.add_argument("--threads", type=int, help="CPU threads (default: the cores this process may use)")
    ap.add_argument("--log-every", type=int, default=1, help="print progress every N optimizer steps")
    ap.add_argument("--dtype", default="auto", help="auto (bf16 on GPUs that have it, else fp32) | bf16 | fp16 | fp32")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    data = args.data
    train_file = data / "train.jsonl" if data.is_dir() else data
    heldout_file = args.heldout or (data / "heldout.jsonl" if data.is_dir() else None)
    train_rows = read_jsonl(train_file)
    heldout_rows = read_jsonl(heldout_file) if heldout_file and heldout_file.exists() else []
    kind = set_kind(data, train_rows)
    if args.counterbalance:
        if kind != "instill":
            raise SystemExit("--counterbalance applies to instilling (decision) sets only")
        train_rows = counterbalance(train_rows, args.seed)
    share_a = sum(m[-1]["content"] == "A" for m in train_rows) / len(train_rows) if kind == "instill" else None
    lr = args.lr if args.lr is not None else DEFAULT_LR[kind]
    device = pick_device(args.device)
    dtype = pick_dtype(args.dtype, device)
    # --threads, else OMP_NUM_THREADS where the caller set it, else the cores this process may use.
    omp = os.environ.get("OMP_NUM_THREADS", "")
    threads = args.threads or (int(omp) if omp.isdigit() and int(omp) > 0 else None) \
        or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if device.type == "cpu":
        torch.set_num_threads(threads)
    log(f"{kind} set: {len(train_rows)} training, {len(heldout_rows)} held-out examples"
        + (f" ({share_a:.0%} answered A)" if share_a is not None else "")
        + f"; {device}" + (f" ({torch.get_num_threads()} threads)" if device.type == "cpu" else "") + f", {dtype}, lr {lr}")

    tok = AutoTokenizer.from_pretrained(args.base)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    enc = ChatEncoder(tok)
    encoded = [enc.example(m) for m in train_rows]
    too_long = [i + 1 for i, (p, a) in enumerate(encoded) if len(p) + len(a) > args.max_length]
    if too_long:
        raise SystemExit(f"{len(too_long)} examples exceed --max-length {args.max_length} tokens (lines {too_long[:5]}...)")
    tokens = sum(len(p) + len(a) for p, a in encoded)
    floor = label_rate_loss(share_a, encoded)
    if floor is not None:
        log(f"label-rate floor: a model that learns only how often \"A\" is right reaches answer loss {floor:.3f}; "
            "below it, it uses the options")

    # One copy of the weights: loaded straight into the dtype (no fp32 copy first), moved only off the CPU.
    model = AutoModelForCausalLM.from_pretrained(args.base, dtype=dtype, low_cpu_mem_usage=True)
    if device.type != "cpu":
        model = model.to(device)
    model.config.use_cache = False  # training keeps no key/value cache
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if args.init_adapter:
        model = PeftModel.from_pretrained(model, args.init_adapter, is_trainable=True)
    else:
        targets = args.target_modules if args.target_modules == "all-linear" else args.target_modules.split(",")
        layers = None
        if args.top_layers:
            n = model.config.num_hidden_layers
            if not 0 < args.top_layers <= n:
                raise SystemExit(f"--top-layers must be 1..{n} for this model")
            layers = list(range(n - args.top_layers, n))
            if targets == "all-linear":  # PEFT's layers_to_transform needs named modules
                targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        config = LoraConfig(r=args.rank, lora_alpha=args.alpha or 2 * args.rank, lora_dropout=args.dropout,
                            target_modules=targets, task_type="CAUSAL_LM", bias="none", layers_to_transform=layers)
        model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    before = agreement(model, enc, heldout_rows, kind, device, args.eval_limit) if heldout_rows else None
    if before:
        log(f"held-out before training: {json.dumps(before)}")

    if args.neftune_alpha > 0:
        emb = model.get_input_embeddings()

        def neftune(module, inputs, output):
            if module.training:
                dims = output.size(1) * output.size(2)
                mag = args.neftune_alpha / math.sqrt(dims)
                output = output + torch.zeros_like(output).uniform_(-mag, mag)
            return output
        emb.register_forward_hook(neftune)

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(encoded) / args.batch_size / args.grad_accum)
    total = max(1, math.ceil(steps_per_epoch * args.epochs))
    warm = int(total * args.warmup)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / (warm + 1) if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    rng = random.Random(args.seed)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.time()
    epoch_losses, step_losses, step, seen = [], [], 0, 0
    full_epochs = math.ceil(args.epochs)
    log(f"training: {total} steps of {args.batch_size * args.grad_accum} examples, {tokens} tokens per epoch, {trainable} LoRA parameters")
    for epoch in range(full_epochs):
        model.train()
        losses, micro = [], 0
        for group in batches(encoded, args.batch_size, rng):
            if step >= total:
                break
            loss = answer_loss(model, group, tok.pad_token_id, device)
            (loss / args.grad_accum).backward()
            losses.append(loss.item())
            micro += 1
            seen += len(group)
            if micro % args.grad_accum == 0:
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                step += 1
                step_losses.append(sum(losses[-args.grad_accum:]) / args.grad_accum)
                if step % args.log_every == 0 or step == total:
                    took = time.time() - start
                    log(f"step {step}/{total} (epoch {epoch + 1}): loss {step_losses[-1]:.4f}, {seen / took:.2f} examples/s, "
                        f"elapsed {clock(took)}, ETA {clock(took / step * (total - step))}, peak RSS {peak_rss_gb():.2f} GB")
        if micro % args.grad_accum:
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
        epoch_losses.append(sum(losses) / max(1, len(losses)))
        log(f"epoch {epoch + 1}/{full_epochs}: mean answer loss {epoch_losses[-1]:.4f}"
            + (f" (label-rate floor {floor:.3f}: {'below, it uses the options' if epoch_losses[-1] < floor - 0.01 else 'not below it yet'})" if floor is not None else ""))
    seconds = time.time() - start

    after = agreement(model, enc, heldout_rows, kind, device, args.eval_limit) if heldout_rows else None
    if after:
        log(f"held-out after training: {json.dumps(after)}")
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    if args.base_name:  # the lab refuses an adapter whose base_model_name_or_path is not the model it loaded
        cfg = args.out / "adapter_config.json"
        cfg.write_text(json.dumps(json.loads(cfg.read_text()) | {"base_model_name_or_path": args.base_name}, indent=2))
    report = {
        "kind": kind, "base": args.base, "examples": len(encoded), "tokens": tokens, "trainable_params": trainable,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()} | {"lr": lr, "dtype": str(dtype), "device": str(device)},
        "epoch_loss": epoch_losses, "step_loss": step_losses, "heldout_before": before, "heldout_after": after, "train_seconds": seconds,
        "examples_per_second": seen / seconds if seconds > 0 else None, "share_answered_A": share_a, "label_rate_loss": floor,
        "peak_rss_gb": peak_rss_gb(), "threads": torch.get_num_threads(),
        "peak_gpu_memory_gb": torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None,
    }
    (args.out / "training_report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
