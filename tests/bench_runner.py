#!/usr/bin/python3
"""How much the runner adds to each trial, and whether that grows with the trials already done.

usage: bench_runner.py WORKBENCH FAKE_CHAPTER [--trials 10,2000] [--ops 1000]

Runs the fake chapter (a trial that records OPS latencies and returns at once) through
`workbench run` with as many trials as asked, timestamps each progress line as it arrives, and
prints per run: the mean gap between consecutive trials over the first ten, the mean and median
gap over the last tenth of the run (the runner's own cost per trial: spawning the child, reading
its record, writing the results; the mean includes the occasional rewrite of the results file),
and the results file's size.  A runner whose per-trial cost depends on the trials already done
shows a last-tenth gap that grows with the run; a flat one does not.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(workbench, fake, trials, ops, tmp):
    manifest = os.path.join(tmp, "chapters.json")
    with open(manifest, "w") as f:
        json.dump([{"name": "fake", "exe": fake}], f)
    out = os.path.join(tmp, f"results-{trials}.json")
    # Both variants: --repeat stops at 1,000, and 2 x 1,000 is the 2,000 trials of an overnight sweep.
    cmd = [workbench, "--manifest", manifest, "run", "fake", "--set", f"ops={ops}",
           "--repeat", str(max(1, trials // 2)), "--out", out, "--summary", "none"]
    stamps = []
    t0 = time.monotonic()
    with subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as p:
        for line in p.stderr:
            if line.startswith("["):
                stamps.append(time.monotonic())
    total = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"bench_runner: the run of {trials} trials exited {p.returncode}")
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    tail = gaps[-max(9, len(gaps) // 10):]  # the last tenth of the run (the last 9 gaps at least)
    first = statistics.mean(gaps[:9]) if gaps else 0
    return total, first, statistics.mean(tail) if tail else 0, statistics.median(tail) if tail else 0, os.path.getsize(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workbench")
    ap.add_argument("fake")
    ap.add_argument("--trials", default="10,2000")
    ap.add_argument("--ops", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("gap between consecutive trials (the runner's own cost per trial plus the trial's ~2 ms):")
        print(f"{'trials':>7} {'total':>9} {'first 10':>10} {'last tenth':>11} {'(median)':>10} {'file':>10}")
        for n in (int(x) for x in args.trials.split(",")):
            total, first, last, last_median, size = run(args.workbench, args.fake, n, args.ops, tmp)
            print(f"{n:>7} {total:>8.1f}s {first * 1e3:>8.1f}ms {last * 1e3:>9.1f}ms {last_median * 1e3:>8.1f}ms "
                  f"{size / 1024:>8.0f}KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
