#!/usr/bin/env python3
"""Compare this checkout's server benchmarks with a baseline commit's, interleaved.

`make bench` runs it last. It builds the `trigger_latency` and `webhook_ingest` bench
programs of the baseline (a git worktree under target/, its own cargo target directory,
kept between runs) and of this checkout, then runs them in alternating pairs
(baseline, current, baseline, current, ...) so that both see the same machine state,
and prints each figure's median and spread (min..max) for both and the ratio.

A change is called a regression only when the current median is worse than the
baseline's worst run (beyond the spread).

Environment:
  BASELINE   the commit to compare with (default: the one named in
             scripts/bench-baseline, the last landing before the current work)
  PAIRS      how many pairs (default 5, at least 5 for a verdict)
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = {
    # name: (regex on the program's output, unit, higher is better)
    "trigger_latency": (re.compile(r"trigger to first step .*?: median ([0-9.]+) ms"), "ms median", False),
    "webhook_ingest": (re.compile(r"signed GitHub push, 202 after commit: ([0-9.]+) req/s"), "req/s", True),
    "http_overhead": (re.compile(r"http overhead: .*?: ([0-9.]+) req/s"), "req/s", True),
}


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, text=True, **kwargs)


def baseline_rev():
    rev = os.environ.get("BASELINE")
    if not rev:
        for line in (ROOT / "scripts" / "bench-baseline").read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                rev = line.split()[0]
                break
    return run(["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
               capture_output=True).stdout.strip()


def bench_programs(checkout: Path, target_dir: Path):
    """Builds the bench programs of `checkout` that exist there; returns {name: executable}."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(target_dir))
    cmd = ["cargo", "bench", "--locked", "-q", "-p", "oore-server", "--no-run", "--message-format=json"]
    present = [n for n in BENCHES if (checkout / "oore-server" / "benches" / f"{n}.rs").exists()]
    for name in present:
        cmd += ["--bench", name]
    out = run(cmd, cwd=checkout, env=env, capture_output=True).stdout
    programs = {}
    for line in out.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        target = msg.get("target", {})
        if msg.get("reason") == "compiler-artifact" and "bench" in target.get("kind", []) and msg.get("executable"):
            programs[target["name"]] = msg["executable"]
    missing = set(present) - set(programs)
    if missing:
        sys.exit(f"bench-compare: {checkout} built no program for {', '.join(sorted(missing))}")
    return programs


def figure(program: str, name: str, cwd: Path):
    pattern, _, _ = BENCHES[name]
    done = subprocess.run([program], cwd=cwd, capture_output=True, text=True)
    out = done.stdout
    if done.returncode != 0:
        sys.exit(f"bench-compare: {program} failed ({done.returncode}):\n{out}\n{done.stderr[-3000:]}")
    match = pattern.search(out)
    if not match:
        sys.exit(f"bench-compare: no figure in the output of {program}:\n{out}")
    return float(match.group(1))


def main():
    pairs = int(os.environ.get("PAIRS", "5"))
    rev = baseline_rev()
    head = run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).stdout.strip()
    work = ROOT / "target" / "bench-baseline"
    checkout = work / "checkout"
    if checkout.exists():
        run(["git", "-C", str(checkout), "checkout", "-q", "--detach", rev])
    else:
        work.mkdir(parents=True, exist_ok=True)
        run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(checkout), rev])
    # The benches read the shared fixtures beside the repository (`../shared`).
    shared = work / "shared"
    if not shared.exists() and (ROOT.parent / "shared").exists():
        shared.symlink_to(ROOT.parent / "shared")
    print(f"== oore-server: baseline {rev[:10]} vs this checkout ({head[:10]}, working tree as it is), {pairs} interleaved pairs")
    old = bench_programs(checkout, work / "target")
    new = bench_programs(ROOT, ROOT / "target")
    for name, (_, unit, higher_better) in BENCHES.items():
        if name not in old or name not in new:
            print(f"  {name}: not in {'the baseline' if name not in old else 'this checkout'}, skipped")
            continue
        results = {"baseline": [], "current": []}
        for _ in range(pairs):
            for side, programs, cwd in (("baseline", old, checkout), ("current", new, ROOT)):
                subprocess.run(["sync"], check=False)
                time.sleep(1)
                results[side].append(figure(programs[name], name, cwd))
        b, c = results["baseline"], results["current"]
        bm, cm = statistics.median(b), statistics.median(c)
        ratio = cm / bm if bm else float("nan")
        worst_baseline = min(b) if higher_better else max(b)
        regressed = cm < worst_baseline if higher_better else cm > worst_baseline
        verdict = "REGRESSION beyond the baseline's spread" if regressed else "no regression beyond the spread"
        if pairs < 5:
            verdict += " (fewer than 5 pairs: indicative only)"
        print(f"  {name} ({unit}, {'higher' if higher_better else 'lower'} is better):")
        print(f"    baseline median {bm:.1f} (spread {min(b):.1f}..{max(b):.1f}; runs {', '.join(f'{x:.1f}' for x in b)})")
        print(f"    current  median {cm:.1f} (spread {min(c):.1f}..{max(c):.1f}; runs {', '.join(f'{x:.1f}' for x in c)})")
        print(f"    ratio current/baseline {ratio:.2f}: {verdict}")


if __name__ == "__main__":
    main()
