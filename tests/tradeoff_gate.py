#!/usr/bin/python3
"""The tradeoff gate: every chapter's quick sweep, interleaved, 3 repetitions, then
`workbench check` on the result — CI's regression test of the measured tradeoffs.

usage: tradeoff_gate.py WORKBENCH KEEP_DIR

Fails when an expectation fails (check exits 1), when the run lacks trials an expectation needs
(3), or when a trial fails.  The results and the verdicts are kept in KEEP_DIR
(tradeoffs.json, tradeoffs-verdicts.json) so a red CI run can be read afterwards.
"""
import os
import subprocess
import sys
import time


def main():
    workbench, keep = sys.argv[1:3]
    os.makedirs(keep, exist_ok=True)
    results = os.path.join(keep, "tradeoffs.json")
    verdicts = os.path.join(keep, "tradeoffs-verdicts.json")
    t0 = time.monotonic()
    run = subprocess.run([workbench, "run", "--quick", "--repeat", "3", "--out", results, "--summary", "compact"],
                         timeout=1200)
    took = time.monotonic() - t0
    check = subprocess.run([workbench, "check", results, "--json", verdicts], timeout=300)
    print(f"gate: run exit {run.returncode} in {took:.0f} s, check exit {check.returncode}; results in {results}")
    if run.returncode != 0:
        print("gate: a trial failed (see the run's output above)")
        return 1
    return check.returncode


if __name__ == "__main__":
    sys.exit(main())
