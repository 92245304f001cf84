#!/usr/bin/env python3
"""Leave-one-source-out evaluation of the classifier, and its tier mix (stdlib only).

For each outcome source S (one JSONL of {"id", "benchmark", "subject", "prompt",
"strong", "weak"} a source): train `llmr train` on every other source with the
given options, write the model to a temporary file, score S's prompts with
`llmr classify --model M` (one OpenAI chat body a prompt, as llmr_decisions.py
sends them) and compute S's APGR with route_eval.py's metric functions (the
project's own evaluator: RouteLLM's 11-point curve).  The table gives, per
left-out source, that APGR; then the worst and the mean.  Beside it:

  in-domain CV   `llmr train --cv K --scores` on all sources together, the
                 out-of-fold scores' APGR per source (same metric);
  shipped        the built-in model (no --model) scored as is; in-sample on
                 the dev sources it was trained on;
  length         the prompt's length in bytes as the score: the floor.

Option sets: --set NAME='llmr train options' (repeatable); without one, the
Makefile's TRAIN_OPTS (the shipped model's options).  --sweep prints one line
per set (LOBO worst / mean, CV mean) instead of the full tables.

Tier mix (--tiers): the share of prompts in each tier `llmr classify` reports
(trivial/simple/moderate/complex/expert), with the built-in model or --model,
for each prompt corpus (eval/prompts/*.jsonl) and each outcome source.

Usage:
  eval/lobo.py [--llmr build/llmr] [--eval-dir $LLMR_EVAL_DIR]
               [--sources eval/sources/local] [--only a,b] [--cv 5]
               [--set NAME=OPTS ...] [--sweep] [--bootstrap N] [--json OUT]
  eval/lobo.py --tiers [--model M] [--prompts eval/prompts]
  eval/lobo.py --calibrate [--shares S1,..,S5] [--exclude arena_hard] [--model M]

Thresholds (--calibrate): the score -> tier thresholds that give the tier
shares asked (--shares, trivial..expert) on the prompt corpora, each corpus
weighing the same, Arena-Hard left out by default (hard by selection):
what `make model` passes to `llmr train --thresholds`.
"""
import argparse
import glob
import hashlib
import json
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEV = ("gsm8k", "mmlu", "mt_bench")
TIERS = ("trivial", "simple", "moderate", "complex", "expert")


# ----------------------------------------------------------------------------- inputs
def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f.read().split("\n") if l.strip()]


def makefile_opts():
    """TRAIN_OPTS from the Makefile, $(DENSE) expanded: the shipped model's options."""
    text = open(os.path.join(ROOT, "Makefile"), encoding="utf-8").read()
    text = re.sub(r"\$\\\n\s*", "", text)          # make's "$\" joins without a space
    text = re.sub(r"\\\n\s*", " ", text)
    var = {}
    for name in ("DENSE", "THRESHOLDS", "TRAIN_OPTS"):
        m = re.search(rf"^{name}\s*:?=\s*(.*)$", text, re.M)
        if not m:
            sys.exit(f"lobo: {name} not found in the Makefile")
        var[name] = re.sub(r"\$\((\w+)\)", lambda k: var.get(k.group(1), ""), m.group(1)).strip()
    return var["TRAIN_OPTS"]


def find_route_eval(eval_dir):
    for d in (eval_dir, os.path.join(ROOT, "..", "shared", "eval"), "/work/shared/eval"):
        if d and os.path.exists(os.path.join(d, "route_eval.py")):
            sys.path.insert(0, d)
            import route_eval  # noqa: E402  the project's evaluator
            return route_eval
    sys.exit("lobo: route_eval.py not found (give --eval-dir)")


def sources(eval_dir, src_dir, only):
    out = {}
    for b in DEV:
        p = os.path.join(eval_dir, "dev", f"{b}.jsonl")
        if os.path.exists(p):
            out[b] = p
    for p in sorted(glob.glob(os.path.join(src_dir, "*.jsonl"))):
        out[os.path.splitext(os.path.basename(p))[0]] = p
    if only:
        keep = only.split(",")
        out = {k: v for k, v in out.items() if k in keep}
    return out


# ----------------------------------------------------------------------------- llmr
def body(prompt):
    return json.dumps({"model": "auto", "messages": [{"role": "user", "content": prompt}]})


def classify(llmr, prompts, model=None):
    args = ["nice", llmr, "classify"] + (["--model", model] if model else [])
    inp = "".join(body(p) + "\n" for p in prompts).encode()
    res = subprocess.run(args, input=inp, stdout=subprocess.PIPE, check=True)
    lines = res.stdout.decode().splitlines()
    if len(lines) != len(prompts):
        sys.exit(f"lobo: llmr classify answered {len(lines)} lines for {len(prompts)} bodies")
    return [json.loads(l) for l in lines]


def train(llmr, files, opts, out=None, cv=0, scores=None):
    args = ["nice", llmr, "train", "--data", ",".join(files)] + shlex.split(opts)
    if out:
        args += ["--out", out]
    if cv:
        args += ["--cv", str(cv), "--scores", scores]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# ----------------------------------------------------------------------------- metric
def apgr(re_, rows, scores):
    strong = [float(r["strong"]) for r in rows]
    weak = [float(r["weak"]) for r in rows]
    sq, wq = sum(strong) / len(rows), sum(weak) / len(rows)
    pts, _ = re_.routellm_curve(scores, strong, weak, 10)
    return re_.routellm_metrics(re_.sort_points(pts), sq, wq)["APGR"]


def apgr_ci(re_, rows, scores, n):
    """2.5 / 97.5 percentiles of APGR over n bootstrap resamples of the prompts."""
    vals = []
    for b in range(n):
        rng = random.Random(1_000_003 + b)
        idx = [rng.randrange(len(rows)) for _ in rows]
        sub = [rows[i] for i in idx]
        if sum(r["strong"] for r in sub) <= sum(r["weak"] for r in sub):
            continue
        vals.append(apgr(re_, sub, [scores[i] for i in idx]))
    vals.sort()
    return (vals[int(0.025 * (len(vals) - 1))], vals[int(0.975 * (len(vals) - 1))]) if vals else (None, None)


# ----------------------------------------------------------------------------- runs
def run_set(a, re_, srcs, data, opts, tmp):
    res = {"opts": opts, "lobo": {}, "cv": {}, "ci": {}}
    names = list(srcs)
    for s in names:
        model = os.path.join(tmp, f"lobo-{s}.model")
        train(a.llmr, [srcs[o] for o in names if o != s], opts, out=model)
        sc = [float(d["score"]) for d in classify(a.llmr, [r["prompt"] for r in data[s]], model)]
        res["lobo"][s] = apgr(re_, data[s], sc)
        if a.bootstrap:
            res["ci"][s] = apgr_ci(re_, data[s], sc, a.bootstrap)
    if a.cv:
        sfile = os.path.join(tmp, "cv-scores.jsonl")
        train(a.llmr, [srcs[s] for s in names], opts, cv=a.cv, scores=sfile)
        oof = load_jsonl(sfile)
        k = 0
        for s in names:
            n = len(data[s])
            part = oof[k:k + n]
            if len(part) != n or any(p["group"] != data[s][0]["benchmark"] for p in part):
                sys.exit(f"lobo: out-of-fold scores do not line up with {srcs[s]}")
            res["cv"][s] = apgr(re_, data[s], [p["score"] for p in part])
            k += n
    return res


def fixed_rows(a, re_, srcs, data):
    shipped, length = {}, {}
    for s in srcs:
        prompts = [r["prompt"] for r in data[s]]
        shipped[s] = apgr(re_, data[s], [float(d["score"]) for d in classify(a.llmr, prompts)])
        length[s] = apgr(re_, data[s], [float(len(p.encode())) for p in prompts])
    return shipped, length


def summary(vals):
    v = list(vals.values())
    return (min(v), sum(v) / len(v)) if v else (None, None)


def f3(x):
    return "  n/a" if x is None else f"{x:.3f}"


def print_table(name, res, data, shipped, length):
    names = list(res["lobo"])
    print(f"\n## {name}: llmr train {res['opts']}\n")
    hdr = "| source | prompts | left out (LOBO) | in-domain CV | shipped model | length |"
    print(hdr)
    print("|---|---:|---:|---:|---:|---:|")
    for s in names:
        ci = res["ci"].get(s)
        lo = f3(res["lobo"][s]) + (f" ({f3(ci[0])}-{f3(ci[1])})" if ci and ci[0] is not None else "")
        print(f"| {s} | {len(data[s])} | {lo} | {f3(res['cv'].get(s))} | {f3(shipped.get(s))} | "
              f"{f3(length.get(s))} |")
    for label, fn in (("worst", lambda d: summary(d)[0]), ("mean", lambda d: summary(d)[1])):
        print(f"| **{label}** | | **{f3(fn(res['lobo']))}** | {f3(fn(res['cv']))} | "
              f"{f3(fn(shipped))} | {f3(fn(length))} |")


def tier_mix(a):
    sets = {}
    for p in sorted(glob.glob(os.path.join(a.prompts, "*.jsonl"))):
        sets["prompts/" + os.path.splitext(os.path.basename(p))[0]] = [r["prompt"] for r in load_jsonl(p)]
    for s, p in sources(a.eval_dir, a.sources, a.only).items():
        sets["outcomes/" + s] = [r["prompt"] for r in load_jsonl(p)]
    allp = []
    print(f"| set | prompts | " + " | ".join(TIERS) + " | median score |")
    print("|---|---:|" + "---:|" * (len(TIERS) + 1))
    out = {}
    for name, prompts in sets.items():
        ds = classify(a.llmr, prompts, a.model)
        if name.startswith("prompts/"):
            allp.extend(ds)
        out[name] = ds
    if allp:
        out["prompts (all corpora)"] = allp
    res = {}
    for name, ds in out.items():
        n = len(ds)
        share = {t: sum(d.get("tier") == t for d in ds) / n for t in TIERS}
        med = sorted(float(d["score"]) for d in ds)[n // 2]
        res[name] = {"n": n, "shares": share, "median_score": med}
        print(f"| {name} | {n} | " + " | ".join(f"{100 * share[t]:.0f}%" for t in TIERS) + f" | {med:.3f} |")
    return res


def calibrate(a):
    """Thresholds at the weighted quantiles of the corpora's scores."""
    shares = [float(x) for x in a.shares.split(",")]
    if len(shares) != len(TIERS) or abs(sum(shares) - 1) > 1e-6:
        sys.exit("lobo: --shares needs 5 shares that sum to 1")
    skip = set(a.exclude.split(",")) if a.exclude else set()
    pts = []
    for p in sorted(glob.glob(os.path.join(a.prompts, "*.jsonl"))):
        name = os.path.splitext(os.path.basename(p))[0]
        if name in skip:
            continue
        rows = load_jsonl(p)
        sc = [float(d["score"]) for d in classify(a.llmr, [r["prompt"] for r in rows], a.model)]
        pts += [(x, 1.0 / len(sc)) for x in sc]
        print(f"{name}: {len(sc)} prompts", file=sys.stderr)
    pts.sort()
    total = sum(w for _, w in pts)
    cuts, acc, k, t = [], 0.0, 0, []
    for i in range(1, len(TIERS)):
        cuts.append(sum(shares[:i]) * total)
    for x, w in pts:
        acc += w
        while k < len(cuts) and acc >= cuts[k]:
            t.append(round(x, 3))
            k += 1
    for i in range(1, len(t)):
        if t[i] <= t[i - 1]:
            t[i] = round(t[i - 1] + 0.001, 3)
    print(",".join(f"{x:g}" for x in t))
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llmr", default=os.path.join(ROOT, "build", "llmr"))
    ap.add_argument("--eval-dir", default=os.environ.get("LLMR_EVAL_DIR", "/work/shared/eval"))
    ap.add_argument("--sources", default=os.path.join(HERE, "sources", "local"))
    ap.add_argument("--prompts", default=os.path.join(HERE, "prompts"))
    ap.add_argument("--only", help="comma-separated source names to use")
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=OPTS")
    ap.add_argument("--sweep", action="store_true", help="one summary line per option set")
    ap.add_argument("--bootstrap", type=int, default=0)
    ap.add_argument("--json")
    ap.add_argument("--tiers", action="store_true")
    ap.add_argument("--model", help="with --tiers: a model file instead of the built-in one")
    ap.add_argument("--calibrate", action="store_true", help="thresholds for --shares on the prompt corpora")
    ap.add_argument("--shares", default="0.15,0.35,0.25,0.15,0.10")
    ap.add_argument("--exclude", default="arena_hard", help="with --calibrate: corpora left out")
    a = ap.parse_args()

    if a.calibrate:
        calibrate(a)
        return

    if a.tiers:
        res = tier_mix(a)
        if a.json:
            json.dump(res, open(a.json, "w"), indent=1)
        return

    re_ = find_route_eval(a.eval_dir)
    srcs = sources(a.eval_dir, a.sources, a.only)
    if len(srcs) < 2:
        sys.exit("lobo: fewer than two sources")
    data = {s: load_jsonl(p) for s, p in srcs.items()}
    for s, rows in data.items():
        names = {r.get("benchmark") for r in rows}
        if names != {s}:
            sys.exit(f"lobo: {srcs[s]}: \"benchmark\" is {names}, expected {s!r}")
    sets = [tuple(x.split("=", 1)) for x in a.set] or [("shipped", makefile_opts())]
    shipped, length = ({}, {}) if a.sweep else fixed_rows(a, re_, srcs, data)
    results = {}
    with tempfile.TemporaryDirectory(prefix="llmr-lobo-") as tmp:
        if a.sweep:
            print("| option set | " + " | ".join(srcs) + " | LOBO worst | LOBO mean | CV mean |")
            print("|---|" + "---:|" * (len(srcs) + 3))
        for name, opts in sets:
            res = run_set(a, re_, srcs, data, opts, tmp)
            results[name] = res
            if a.sweep:
                w, m = summary(res["lobo"])
                print(f"| {name} | " + " | ".join(f3(res["lobo"][s]) for s in srcs) +
                      f" | {f3(w)} | {f3(m)} | {f3(summary(res['cv'])[1])} |", flush=True)
            else:
                print_table(name, res, data, shipped, length)
    if a.json:
        json.dump({"sources": {s: {"path": p, "n": len(data[s]),
                                   "sha256": hashlib.sha256(open(p, "rb").read()).hexdigest()}
                               for s, p in srcs.items()},
                   "shipped": shipped, "length": length, "sets": results}, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
