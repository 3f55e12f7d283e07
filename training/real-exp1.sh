#!/usr/bin/env bash
# Exp 1 on the real model (SmolLM2-135M-Instruct) on a CPU, from nothing to the table:
#   the model (python/real_model.py, cached) → an instilling set (cli training-set instill)
#   → the LoRA kit (training/train_lora.py --device cpu) → the matched evaluation with the base
#   model alone ("before") and with the adapter plus the off-the-shelf base as control ("after")
#   (cli run) → cli analyze --run --json → one table. Every step prints its time.
#
#   npm install && training/real-exp1.sh [OUT_DIR]          (default runs/real-exp1)
#   An OUT_DIR that already holds a trained adapter (kit.json) is evaluated again without retraining;
#   delete it, or give a new one, to train anew.
#
# Sizes and settings are environment variables (defaults: few contexts, many decisions each, so that
# each context's rule can be learned from its own examples; about 30 min of training on 2 cores;
# the paper: 100 contexts × 50 decisions, 3 epochs):
#   SCENARIOS DECISIONS HELDOUT EPOCHS LR RANK TOP_LAYERS BATCH EVAL_DECISIONS EVAL_REPORTS SEED KIT_FLAGS
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-runs/real-exp1}")
SCENARIOS=${SCENARIOS:-2} DECISIONS=${DECISIONS:-96} HELDOUT=${HELDOUT:-8}
EPOCHS=${EPOCHS:-3} LR=${LR:-3e-4} RANK=${RANK:-16} TOP_LAYERS=${TOP_LAYERS:-10} BATCH=${BATCH:-8}
EVAL_DECISIONS=${EVAL_DECISIONS:-40} EVAL_REPORTS=${EVAL_REPORTS:-4} SEED=${SEED:-real-exp1}
KIT_FLAGS=${KIT_FLAGS:---dropout 0 --eval-limit 32}
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT"
T0=$(date +%s)
step() { local s=$(date +%s); echo "== $1"; shift; "$@"; echo "   ($(( $(date +%s) - s )) s)"; }

# From nothing: the project's Python environment (.venv; made once, then reused) unless PYTHON is given.
if [ -z "${PYTHON:-}" ]; then step "the Python environment (npm run pyenv)" npm run -s pyenv; fi
model_json() { "$PY" python/real_model.py | tail -1 > "$OUT/real-model.json"; }
step "the real model (converted once, then cached)" model_json
HF=$(node -p "require('$OUT/real-model.json').hf")
ONNX=$(node -p "require('$OUT/real-model.json').onnx")

TRAINED=""; [ -f "$OUT/kit.json" ] && [ -d "$OUT/set/adapter" ] && TRAINED=1
if [ -n "$TRAINED" ]; then echo "== $OUT already holds a trained adapter (kit.json): evaluating it again, not retraining"; else
step "instilling set: $SCENARIOS contexts × $DECISIONS decisions (+$HELDOUT held out each), seed $SEED" \
  npm run -s cli -- training-set instill --scenarios "$SCENARIOS" --decisions "$DECISIONS" --heldout "$HELDOUT" \
  --seed "$SEED" --model "$ONNX" --out "$OUT/set"

# The evaluation, resized for a CPU: "after" = the set's eval-spec (adapter + control);
# "before" = the same trials with the base model alone.
node -e '
const fs = require("fs"); const [dir, nd, nr] = process.argv.slice(1);
const s = JSON.parse(fs.readFileSync(dir + "/set/eval-spec.json", "utf8"));
s.decisionsPerScenario = +nd; s.reportsPerScenario = +nr;
// Readable names in the analysis (the ids are folder paths on this machine).
s.models = s.models.map((m) => ({ ...m, label: m.adapter ? "SmolLM2-135M-Instruct + adapter" : "SmolLM2-135M-Instruct (off the shelf)" }));
fs.writeFileSync(dir + "/eval-after.json", JSON.stringify(s, null, 1));
const b = { ...s, name: s.name + " (base model, before training)", models: [{ ...s.models[0], adapter: undefined, label: "SmolLM2-135M-Instruct (before training)" }],
  conditions: s.conditions.filter((c) => c.model === "self" || c.reporter === "self") };
fs.writeFileSync(dir + "/eval-before.json", JSON.stringify(b, null, 1));' "$OUT" "$EVAL_DECISIONS" "$EVAL_REPORTS"

# shellcheck disable=SC2086
kit() {
  "$PY" training/train_lora.py --data "$OUT/set" --base "$HF" --out "$OUT/set/adapter" --base-name "$ONNX" --device cpu \
    --rank "$RANK" --top-layers "$TOP_LAYERS" --epochs "$EPOCHS" --lr "$LR" --batch-size "$BATCH" $KIT_FLAGS > "$OUT/kit.json.part"
  mv "$OUT/kit.json.part" "$OUT/kit.json"  # only a finished training counts as trained
}
step "LoRA kit: rank $RANK on the top $TOP_LAYERS layers, $EPOCHS epochs, lr $LR, batch $BATCH ($KIT_FLAGS)" kit
fi

rm -rf "$OUT/run-before" "$OUT/run-after"  # this script's own outputs: a rerun evaluates anew
step "evaluation before (base model): $EVAL_DECISIONS decisions, $EVAL_REPORTS self-reports per context" \
  npm run -s cli -- run "$OUT/eval-before.json" --device cpu --dtype fp32 --out "$OUT/run-before"
step "evaluation after (base + adapter, base as control)" \
  npm run -s cli -- run "$OUT/eval-after.json" --device cpu --dtype fp32 --out "$OUT/run-after"

analyze() { npm run -s cli -- analyze --run "$OUT/run-before" --json > "$OUT/before.json"; npm run -s cli -- analyze --run "$OUT/run-after" --json > "$OUT/after.json"; npm run -s cli -- analyze --run "$OUT/run-after"; }
step "analysis" analyze

node -e '
const fs = require("fs"); const dir = process.argv[1];
const b = JSON.parse(fs.readFileSync(dir + "/before.json")), a = JSON.parse(fs.readFileSync(dir + "/after.json"));
const k = JSON.parse(fs.readFileSync(dir + "/kit.json"));
const f = (x) => (x == null || !Number.isFinite(x) ? "n/a" : x.toFixed(2));
const ci = (c) => (c ? `[${f(c[0])}, ${f(c[1])}]` : "");
const vs = (d) => d?.learned_vs_target;
const row = (name, v) => `| ${name} | ${v ? `${f(v.r)} ${ci(v.ci)}` : "n/a"} | ${v?.ceiling ? `${f(v.ceiling.ceiling)} ${ci(v.ceiling.ci)}` : "n/a"} |`;
const rep = (name, r) => `| ${name} | ${r && r.r != null ? `${f(r.r)} ${ci(r.ci)}` : "n/a"} | ${r?.ceiling ? `${f(r.ceiling.ceiling)} ${ci(r.ceiling.ci)}` : "n/a"} | ${r ? `${r.valid} valid, ${r.invalid} invalid; ${Math.round(100 * (r.copied_share ?? 0))} % copied` : ""} |`;
const pos = (d) => (d?.position ? `${Math.round(100 * d.position.a_rate)} % "A"` : "");
console.log(`\nExp 1 on SmolLM2-135M-Instruct (CPU): ${k.examples} training examples, ${k.settings.epochs} epochs, ${k.train_seconds.toFixed(0)} s of training (${k.examples_per_second.toFixed(2)} examples/s, peak RSS ${k.peak_rss_gb.toFixed(2)} GB)`);
const floor = k.label_rate_loss, last = k.epoch_loss[k.epoch_loss.length - 1];
console.log(`answer loss per epoch: ${k.epoch_loss.map((x) => x.toFixed(3)).join(" → ")}` + (floor == null ? "" :
  ` (label-rate floor ${floor.toFixed(3)}: ${last < floor - 0.01 ? "below it, the model uses the options" : "not below it: it learned how often \"A\" is right, not when"})`));
console.log(`held-out agreement with the targets: ${f(k.heldout_before.agreement)} → ${f(k.heldout_after.agreement)} (share choosing A ${f(k.heldout_before.chose_A)} → ${f(k.heldout_after.chose_A)})\n`);
console.log("| learned vs target | r [95 % CI] | ceiling [CI] |\n| --- | --- | --- |");
console.log(row(`before (base; ${pos(b.decisions.decide)})`, vs(b.decisions.decide)));
console.log(row(`after (base + adapter; ${pos(a.decisions.decide)})`, vs(a.decisions.decide)));
console.log("\n| self-report vs learned (after) | r [95 % CI] | ceiling [CI] | reports |\n| --- | --- | --- | --- |");
console.log(rep("self (base + adapter)", a.reports["self-report"]));
console.log(rep("control (off-the-shelf base)", a.reports["control-report"]));
' "$OUT" | tee "$OUT/table.md"
echo "total $(( $(date +%s) - T0 )) s"
