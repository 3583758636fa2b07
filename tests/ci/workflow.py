#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run the campaign workflow's own commands on this machine.

    workflow.py check WORKFLOW            the shape the commands rely on
    workflow.py negative WORKFLOW         broken copies of it are refused
    workflow.py run WORKFLOW GAUNTLET WORKDIR [--runs N] [--shards M] [--seed S]

`run` takes, from .github/workflows/campaign.yml, the exact `run` text of
the campaign job's shard step and of the merge job's merge step, and runs
them with bash in WORKDIR (where ./gauntlet is a link to GAUNTLET), with
the workflow's environment and only these substitutions: RUNS and SHARDS
(small), SEED (github.run_number) and SHARD (matrix.shard, 1..M).  Between
the two it does what actions/upload-artifact and download-artifact do
with the workflow's own `name` and `path` (each shard's files land in
shards/<name>/, relative to the least common ancestor of its paths).
Then it checks the merged report: every run once, every shard's suite.
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import yaml

EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


class Refused(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Refused(msg)


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def steps_running(job, what):
    return [s for s in job.get("steps", []) if what in str(s.get("run", ""))]


def one_step(job, jobname, what):
    found = steps_running(job, what)
    need(len(found) == 1, f"job '{jobname}': {len(found)} steps run '{what}', expected 1")
    return found[0]


def upload_after(job, step):
    """The upload-artifact step after step."""
    steps = job["steps"]
    for s in steps[steps.index(step) + 1:]:
        if str(s.get("uses", "")).startswith("actions/upload-artifact@"):
            return s
    raise Refused("no actions/upload-artifact step after the campaign step")


def check(wf):
    """The shape the test (and the workflow's own commands) rely on."""
    need(isinstance(wf, dict) and "jobs" in wf, "no jobs")
    jobs = wf["jobs"]
    need("campaign" in jobs and "merge" in jobs, "jobs 'campaign' and 'merge' wanted")
    camp, merge = jobs["campaign"], jobs["merge"]
    env = dict(wf.get("env") or {})
    for k in ("SEED", "RUNS", "SHARDS", "TIME"):
        need(k in env, f"workflow env lacks {k}")
    need(str(env["SEED"]).replace(" ", "") == "${{github.run_number}}",
         "SEED is not github.run_number")
    shards = int(env["SHARDS"])
    strat = camp.get("strategy") or {}
    need(strat.get("fail-fast") is False, "campaign: fail-fast must be false "
         "(a red shard must not cancel the others)")
    matrix = (strat.get("matrix") or {}).get("shard")
    need(matrix == list(range(1, shards + 1)),
         f"matrix.shard is {matrix}, expected 1..SHARDS ({shards})")
    need(str((camp.get("env") or {}).get("SHARD", "")).replace(" ", "") ==
         "${{matrix.shard}}", "campaign job env SHARD is not matrix.shard")
    cstep = one_step(camp, "campaign", "gauntlet campaign")
    mstep = one_step(merge, "merge", "gauntlet merge")
    for name, s in (("campaign", cstep), ("merge", mstep)):
        need("${{" not in s["run"], f"{name} command uses a ${{{{ }}}} expression; "
             "it must read environment variables only")
    argv = shlex.split(cstep["run"])
    for opt in ("--seed", "--runs", "--shard", "--out"):
        need(opt in argv, f"campaign command lacks {opt}")
    need(argv[argv.index("--shard") + 1] == "$SHARD/$SHARDS",
         "campaign command: --shard is not $SHARD/$SHARDS")
    up = upload_after(camp, cstep)
    need(str(up.get("if", "")) == "always()", "shard upload: if: always() wanted "
         "(a failed shard's report is the interesting one)")
    need(merge.get("needs") == "campaign" or "campaign" in (merge.get("needs") or []),
         "merge does not need campaign")
    need(str(merge.get("if", "")) == "always()", "merge: if: always() wanted")
    dl = [s for s in merge["steps"]
          if str(s.get("uses", "")).startswith("actions/download-artifact@")]
    need(len(dl) == 1, "merge: one actions/download-artifact step wanted")
    need(merge["steps"].index(dl[0]) < merge["steps"].index(mstep),
         "merge: the download comes after the merge")
    return env, cstep, up, dl[0], mstep


def subst(text, ctx):
    def one(m):
        key = m.group(1)
        need(key in ctx, f"expression '{key}' is not one the test knows")
        return str(ctx[key])
    return EXPR.sub(one, str(text))


def upload(with_, ctx, workdir, dest_root):
    """actions/upload-artifact@v4 then download-artifact@v4 (path: dest_root)."""
    name = subst(with_["name"], ctx)
    pats = [subst(p, ctx) for p in str(with_["path"]).split("\n") if p.strip()]
    roots = []
    for p in pats:
        parts = []
        for c in p.strip().rstrip("/").split("/"):
            if any(ch in c for ch in "*?["):
                break
            parts.append(c)
        roots.append("/".join(parts) if parts else ".")
    lca = os.path.commonpath(roots) if len(roots) > 1 else \
        (roots[0] if os.path.isdir(os.path.join(workdir, roots[0])) else os.path.dirname(roots[0]))
    copied = 0
    for p in pats:
        for m in glob.glob(os.path.join(workdir, p.strip()), recursive=True):
            files = [m] if os.path.isfile(m) else \
                [os.path.join(d, f) for d, _, fs in os.walk(m) for f in fs]
            for f in files:
                rel = os.path.relpath(f, os.path.join(workdir, lca))
                to = os.path.join(workdir, dest_root, name, rel)
                os.makedirs(os.path.dirname(to), exist_ok=True)
                shutil.copy2(f, to)
                copied += 1
    return name, copied


def bash(cmd, env, workdir, what):
    print(f"workflow.py: [{what}] $ {cmd.strip()}", flush=True)
    r = subprocess.run(["bash", "-eo", "pipefail", "-c", cmd], cwd=workdir, env=env)
    print(f"workflow.py: [{what}] exit {r.returncode}", flush=True)
    return r.returncode


def run(wf, gauntlet, workdir, runs, shards, seed):
    env_wf, cstep, up, dl, mstep = check(wf)
    if os.path.exists(workdir):
        shutil.rmtree(workdir)
    os.makedirs(workdir)
    os.symlink(gauntlet, os.path.join(workdir, "gauntlet"))
    env = dict(os.environ)
    env.update({k: str(v) for k, v in env_wf.items()})
    env.update(SEED=str(seed), RUNS=str(runs), SHARDS=str(shards))
    dest = dl.get("with", {}).get("path", ".")
    shard_status = {}
    for k in range(1, shards + 1):
        e = dict(env, SHARD=str(k))
        shard_status[k] = bash(cstep["run"], e, workdir, f"shard {k}/{shards}")
        # the job fails on a failed run (exit 1), the upload still happens
        need(shard_status[k] in (0, 1), f"shard {k}: exit {shard_status[k]}")
        name, n = upload(up["with"], {"matrix.shard": k}, workdir, dest)
        need(n > 0, f"shard {k}: the upload paths matched no file")
        print(f"workflow.py: [shard {k}] artifact {name}: {n} file(s)")
    rc = bash(mstep["run"], env, workdir, "merge")
    need(rc == 0, f"merge: exit {rc}")

    out = shlex.split(mstep["run"])
    out = os.path.join(workdir, out[out.index("--out") + 1])
    with open(os.path.join(out, "campaign.json")) as f:
        cj = json.load(f)
    names = sorted(r["name"] for r in cj["results"])
    want = [f"campaign-s{seed}-r{i:05d}" for i in range(runs)]
    need(names == want, f"merged campaign.json runs {names}, expected {want}")
    need(cj["ran"] == runs and cj["selected"] == runs,
         f"merged ran/selected {cj['ran']}/{cj['selected']}, expected {runs}")
    fails = sum(1 for r in cj["results"] if r["status"] == "fail")
    need(fails == cj["fail"], "merged fail count disagrees with its results")
    need((fails > 0) == any(shard_status.values()),
         "a shard's exit status disagrees with the merged failures")
    root = ET.parse(os.path.join(out, "junit.xml")).getroot()
    suites = sorted(s.get("name") for s in root.iter("testsuite"))
    need(suites == [f"campaign-s{seed}-shard{k}-of-{shards}" for k in range(1, shards + 1)],
         f"merged junit.xml suites {suites}")
    need(int(root.get("tests")) == runs and
         len(list(root.iter("testcase"))) == runs,
         f"merged junit.xml: tests={root.get('tests')}, expected {runs}")
    need(int(root.get("failures")) == fails, "merged junit.xml failures disagree")
    # every JUnit file anyone wrote on the way is well-formed XML
    nxml = 0
    for f in glob.glob(os.path.join(workdir, "**", "junit.xml"), recursive=True):
        ET.parse(f)
        nxml += 1
    print(f"workflow.py: ok: {shards} shards x {runs} runs merged into {out} "
          f"({fails} failed; {nxml} junit.xml files well-formed)")


def check_ci(wf, top):
    """ci.yml runs .ci/run, and .ci/run is ./gauntlet test (README: "CI runs
    exactly this command")."""
    need(isinstance(wf, dict) and "jobs" in wf, "ci: no jobs")
    runs = [str(s.get("run", "")).strip() for j in wf["jobs"].values()
            for s in j.get("steps", [])]
    need(".ci/run" in runs, f"ci: no step runs .ci/run (runs: {runs})")
    with open(os.path.join(top, ".ci", "run")) as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
    need(lines and lines[-1] == "exec ./gauntlet test",
         f".ci/run does not end in 'exec ./gauntlet test': {lines[-1:]}")


def negative(path):
    """Copies of the workflow with one thing broken must each be refused."""
    base = load(path)

    def mutated(fn):
        wf = yaml.safe_load(yaml.safe_dump(base))
        fn(wf)
        return wf

    def camp_step(wf):
        return one_step(wf["jobs"]["campaign"], "campaign", "gauntlet campaign")

    cases = [
        ("matrix.shard", lambda wf: wf["jobs"]["campaign"]["strategy"]["matrix"]
         .update(shard=[1, 2, 3])),
        ("expression", lambda wf: camp_step(wf).update(
            run=camp_step(wf)["run"].replace("$SHARD/", "${{ matrix.shard }}/"))),
        ("--shard is not", lambda wf: camp_step(wf).update(
            run=camp_step(wf)["run"].replace("$SHARD/$SHARDS", "$SHARD/8"))),
        ("fail-fast", lambda wf: wf["jobs"]["campaign"]["strategy"]
         .update({"fail-fast": True})),
        ("merge: if: always()", lambda wf: wf["jobs"]["merge"].pop("if")),
        ("steps run 'gauntlet merge'", lambda wf: wf["jobs"]["merge"]["steps"]
         .append({"run": "./gauntlet merge a --out b"})),
        ("lacks RUNS", lambda wf: wf["env"].pop("RUNS")),
        ("does not need campaign", lambda wf: wf["jobs"]["merge"].update(needs="build")),
    ]
    for what, fn in cases:
        try:
            check(mutated(fn))
        except Refused as e:
            need(what in str(e), f"broken ({what}) refused for another reason: {e}")
            print(f"workflow.py: refused as it should: {e}")
            continue
        raise Refused(f"a workflow with a broken {what} was accepted")
    check(base)
    print(f"workflow.py: {len(cases)} broken copies refused, the real one accepted")
    # ci.yml, beside it
    ci_path = os.path.join(os.path.dirname(path), "ci.yml")
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(path))))
    ci = load(ci_path)
    broken = yaml.safe_load(yaml.safe_dump(ci))
    for j in broken["jobs"].values():
        for st in j.get("steps", []):
            if str(st.get("run", "")).strip() == ".ci/run":
                st["run"] = "./gauntlet build"
    try:
        check_ci(broken, top)
        raise Refused("a ci.yml that does not run .ci/run was accepted")
    except Refused as e:
        need("no step runs .ci/run" in str(e), f"broken ci.yml refused for another reason: {e}")
    check_ci(ci, top)
    print(f"workflow.py: {ci_path}: runs .ci/run (./gauntlet test); a copy that "
          "does not is refused")


def main(argv):
    if len(argv) >= 3 and argv[1] in ("check", "negative"):
        if argv[1] == "check":
            check(load(argv[2]))
            print(f"workflow.py: {argv[2]}: ok")
        else:
            negative(argv[2])
        return 0
    if len(argv) >= 5 and argv[1] == "run":
        opts = {"--runs": 2, "--shards": 2, "--seed": 1}
        rest = argv[5:]
        for i in range(0, len(rest), 2):
            need(rest[i] in opts and i + 1 < len(rest), f"bad option {rest[i]}")
            opts[rest[i]] = int(rest[i + 1])
        run(load(argv[2]), os.path.abspath(argv[3]), os.path.abspath(argv[4]),
            opts["--runs"], opts["--shards"], opts["--seed"])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Refused as e:
        print(f"workflow.py: FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except (OSError, yaml.YAMLError, KeyError, ET.ParseError) as e:
        print(f"workflow.py: FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
