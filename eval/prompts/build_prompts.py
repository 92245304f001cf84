#!/usr/bin/env python3
"""Prompt-only corpora for tier-mix calibration (Python 3 stdlib only).

Reads public repositories from bare git mirrors at pinned commits and writes
eval/prompts/<name>.jsonl, one {"id", "source", "category", "prompt"} a
line (the first user turn; no answers), plus MANIFEST.json with licences and
hashes.  Every corpus here is under a licence that allows redistribution
(Apache-2.0, MIT, CC0-1.0); see MANIFEST.json.  Sampling, where a corpus is
larger than wanted, is deterministic: the N smallest sha256(id).

Usage: build_prompts.py --mirrors DIR   (DIR/owner+name/repo, as `fetch` makes)
"""
import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))

SOURCES = {
    "mt_bench_questions": {
        "repo": "lm-sys/RouteLLM", "commit": "0b64fdafe049e596a3f5657c219329f24af24198",
        "paths": ["routellm/evals/mt_bench/question.jsonl"], "licence": "Apache-2.0",
        "what": "MT-Bench's 80 questions (first turns), as RouteLLM ships them; "
                "hand-written multi-domain chat questions (writing, roleplay, reasoning, "
                "math, coding, extraction, STEM, humanities)"},
    "arena_hard": {
        "repo": "lmarena/arena-hard-auto", "commit": "196f6b826783b3da7310e361a805fa36f0be83f3",
        "paths": ["data/arena-hard-v0.1/question.jsonl", "data/arena-hard-v2.0/question.jsonl"],
        "licence": "Apache-2.0 (repository licence; the prompts are Chatbot Arena user prompts)",
        "what": "real Chatbot Arena user prompts selected to be HARD (v0.1: 500, v2.0: 500 hard "
                "+ 250 creative writing): an upper bound on hard traffic, not a typical mix"},
    "self_instruct": {
        "repo": "yizhongw/self-instruct", "commit": "0b26ccaa415992100fa32df62d41b994cf928e23",
        "paths": ["human_eval/user_oriented_instructions.jsonl", "data/seed_tasks.jsonl"],
        "licence": "Apache-2.0",
        "what": "human-written instructions: 252 user-oriented tasks motivated by real apps "
                "(Grammarly, Gmail, Sheets, ...) with their first input, and the 175 seed tasks"},
    "hh_rlhf_harmless": {
        "repo": "anthropics/hh-rlhf", "commit": "354e5c3cb8960630860dd5774a6ac2a58313bf4d",
        "paths": ["harmless-base/test.jsonl.gz"], "licence": "MIT", "sample": 500,
        "what": "first human turns of Anthropic's harmless-base test conversations "
                "(crowdworkers trying to elicit harmful answers; offensive content): the "
                "adversarial slice of chat traffic.  (The helpful-* files are Git LFS objects "
                "the mirror does not hold.)"},
    "awesome_chatgpt_prompts": {
        "repo": "f/awesome-chatgpt-prompts", "commit": "a6d5275e03ee2849039d8e7672238887bd72c04d",
        "paths": ["prompts.csv"], "licence": "CC0-1.0",
        "what": "community 'act as ...' system-style prompts, the 2023-05 version of the list"},
}


def show(mirrors, repo, commit, path):
    d = os.path.join(mirrors, repo.replace("/", "+"), "repo")
    return subprocess.run(["git", "-C", d, "show", f"{commit}:{path}"], check=True,
                          stdout=subprocess.PIPE).stdout


def lines(raw):
    """JSONL lines: split on newlines only (prompts hold U+2028 and the like)."""
    return [l for l in raw.decode("utf-8").split("\n") if l.strip()]


def first_human(text):
    t = text.split("\n\nHuman: ", 1)[1] if "\n\nHuman: " in text else text
    return t.split("\n\nAssistant:", 1)[0].strip()


def rows_of(name, raw_by_path):
    out = []
    for path, raw in raw_by_path.items():
        if name == "mt_bench_questions":
            for l in lines(raw):
                q = json.loads(l)
                out.append((f"mt_bench-{q['question_id']}", q["category"], q["turns"][0]))
        elif name == "arena_hard":
            ver = "v0.1" if "v0.1" in path else "v2.0"
            for l in lines(raw):
                q = json.loads(l)
                cat = q.get("subcategory") or q.get("category")
                p = q["prompt"] if "prompt" in q else q["turns"][0]["content"]
                out.append((f"arena_hard-{ver}-{q['uid']}", f"{ver}/{cat}", p))
        elif name == "self_instruct":
            for l in lines(raw):
                q = json.loads(l)
                inp = (q.get("instances") or [{}])[0].get("input", "").strip()
                p = q["instruction"].strip() + ("\n\n" + inp if inp else "")
                cat = q.get("motivation_app") or ("classification" if q.get("is_classification")
                                                   else "seed")
                out.append((f"self_instruct-{q['id']}", cat, p))
        elif name == "hh_rlhf_harmless":
            for i, l in enumerate(lines(gzip.decompress(raw))):
                q = json.loads(l)
                out.append((f"hh_harmless-test-{i:04d}", "harmless", first_human(q["chosen"])))
        elif name == "awesome_chatgpt_prompts":
            for r in csv.DictReader(io.StringIO(raw.decode())):
                act = r["act"].strip()
                out.append((f"awesome-{hashlib.sha256(act.encode()).hexdigest()[:10]}", act,
                            r["prompt"].strip()))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default="/work/.mirror")
    a = ap.parse_args()
    manifest = {"shape": '{"id", "source", "category", "prompt"}: the first user turn only',
                "corpora": {}}
    for name, s in SOURCES.items():
        raw = {p: show(a.mirrors, s["repo"], s["commit"], p) for p in s["paths"]}
        rows, seen = [], set()
        for rid, cat, p in rows_of(name, raw):
            if not p or p in seen:
                continue
            seen.add(p)
            rows.append({"id": rid, "source": name, "category": cat, "prompt": p})
        n_all = len(rows)
        if s.get("sample") and n_all > s["sample"]:
            rows = sorted(rows, key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())[:s["sample"]]
        rows.sort(key=lambda r: r["id"])
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
        with open(os.path.join(HERE, f"{name}.jsonl"), "wb") as f:
            f.write(data)
        lens = sorted(len(r["prompt"]) for r in rows)
        manifest["corpora"][name] = {
            "file": f"eval/prompts/{name}.jsonl", "repo": f"https://github.com/{s['repo']}",
            "commit": s["commit"], "licence": s["licence"], "what": s["what"],
            "source_files": {p: hashlib.sha256(b).hexdigest() for p, b in raw.items()},
            "n": len(rows), "n_before_sampling": n_all,
            "sampling": (f"the {s['sample']} smallest sha256(id)" if s.get("sample") and n_all > s["sample"]
                         else "all (distinct prompts)"),
            "median_chars": lens[len(lens) // 2], "sha256": hashlib.sha256(data).hexdigest()}
        print(f"{name:24s} {len(rows):5d} of {n_all:5d}  median {lens[len(lens) // 2]} chars")
    with open(os.path.join(HERE, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
