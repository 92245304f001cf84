#!/usr/bin/env python3
"""RouterBench slices -> the evaluation's outcome shape (Python 3 stdlib only).

RouterBench (withmartian, arXiv 2403.12031) recorded, per prompt, whether
each of 11 models answered correctly.  The public repository
shuhao02/RouterDC carries three of its slices as CSV under
datasets/routerbench_zs/ (train and test halves of its own split): ARC
Challenge, Winogrande and MBPP.  This script reads them from a bare git
mirror of that repository at a pinned commit and writes one JSONL a slice,
one object a line, the shape of the evaluation data's dev files:

    {"id", "benchmark", "subject", "prompt", "strong", "weak"}

strong = gpt-4-1106-preview, weak = mistralai/mixtral-8x7b-chat (the
pair RouteLLM's GSM8K / MMLU / MT-Bench outcomes use), 0/1 correctness.

Rows dropped, counted in the output: a missing score for either model, a
prompt that is a list of more than one message (a handful in ARC), and a
repeated sample_id (the first is kept).  Train and test halves are merged;
output rows are sorted by id, so the files are deterministic.

The outcome labels carry no licence (see MANIFEST.json): the files are
written outside git (eval/sources/local/ is ignored) and only their
hashes are kept in MANIFEST.json.

Usage:
  convert_routerbench.py --mirror DIR [--out DIR] [--check MANIFEST.json]
  DIR: a clone (bare or not) of github.com/shuhao02/RouterDC
"""
import argparse
import ast
import csv
import hashlib
import io
import json
import os
import subprocess
import sys

COMMIT = "0e63989c5bf4363330b8a4616386e3f7f116d9f8"
STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/mixtral-8x7b-chat"
SLICES = {
    # output name: (benchmark name, CSV basenames)
    "arc_challenge": ("arc_challenge", ["arc_challenge_train", "arc_challenge_test"]),
    "winogrande": ("winogrande", ["winograde_train", "winograde_test"]),
    "mbpp": ("mbpp", ["mbpp_train", "mbpp_test"]),
}
LIMIT = 3000  # at most this many prompts a source (none of these reach it)


def git_show(mirror, path):
    return subprocess.run(["git", "-C", mirror, "show", f"{COMMIT}:{path}"],
                          check=True, stdout=subprocess.PIPE).stdout


def convert(mirror, name, bench, files):
    rows, seen, inputs = [], set(), {}
    dropped = {"missing_score": 0, "multi_message": 0, "duplicate_id": 0}
    for base in files:
        path = f"datasets/routerbench_zs/{base}.csv"
        raw = git_show(mirror, path)
        inputs[path] = hashlib.sha256(raw).hexdigest()
        csv.field_size_limit(1 << 30)
        for r in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
            if r[STRONG] == "" or r[WEAK] == "":
                dropped["missing_score"] += 1
                continue
            msgs = ast.literal_eval(r["prompt"])
            if not isinstance(msgs, list) or len(msgs) != 1:
                dropped["multi_message"] += 1
                continue
            if r["sample_id"] in seen:
                dropped["duplicate_id"] += 1
                continue
            seen.add(r["sample_id"])
            rows.append({"id": f"{name}-{r['sample_id']}", "benchmark": bench,
                         "subject": r["eval_name"], "prompt": msgs[0],
                         "strong": float(r[STRONG]), "weak": float(r[WEAK])})
    rows.sort(key=lambda x: x["id"])
    if len(rows) > LIMIT:
        # deterministic sample: the LIMIT smallest sha256(id)
        rows = sorted(rows, key=lambda x: hashlib.sha256(x["id"].encode()).hexdigest())[:LIMIT]
        rows.sort(key=lambda x: x["id"])
    return rows, dropped, inputs


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", required=True)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "local"))
    ap.add_argument("--check", help="compare the output hashes with this MANIFEST.json")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    report = {}
    for name, (bench, files) in SLICES.items():
        rows, dropped, inputs = convert(a.mirror, name, bench, files)
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
        out = os.path.join(a.out, f"{name}.jsonl")
        with open(out, "wb") as f:
            f.write(data)
        n = len(rows)
        report[name] = {
            "file": f"eval/sources/local/{name}.jsonl",
            "sha256": hashlib.sha256(data).hexdigest(),
            "n": n, "dropped": dropped,
            "strong_mean": round(sum(r["strong"] for r in rows) / n, 4),
            "weak_mean": round(sum(r["weak"] for r in rows) / n, 4),
            "source_files": inputs,
        }
        print(f"{name:14s} {n:5d} prompts  strong {report[name]['strong_mean']:.3f}  "
              f"weak {report[name]['weak_mean']:.3f}  dropped {dropped}  -> {out}")
    if a.check:
        man = json.load(open(a.check))["sources"]
        bad = [k for k, v in report.items() if man.get(k, {}).get("sha256") != v["sha256"]]
        if bad:
            sys.exit(f"sha256 differs from {a.check}: {', '.join(bad)}")
        print(f"sha256 as in {a.check}")
    else:
        json.dump(report, sys.stderr, indent=1)
        sys.stderr.write("\n")


if __name__ == "__main__":
    main()
