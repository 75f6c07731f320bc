#!/usr/bin/python3
"""The gate: every chapter's quick sweep, interleaved, 3 repetitions, then `workbench check` on
the result — CI's test of the invariants, which hold on any machine, core count and load.

usage: gate.py WORKBENCH KEEP_DIR

Fails when an invariant fails (check exits 1), when the run lacks trials an invariant needs (3),
or when a trial fails.  The claims get their verdicts too (`workbench claims`, printed for the
log), but a verdict never fails the gate: it is a finding about this machine.  The results, the
invariants' verdicts and the ledger are kept in KEEP_DIR (gate-results.json,
gate-invariants.json, gate-claims.json) so a CI run can be read afterwards.
"""
import os
import subprocess
import sys
import time


def main():
    workbench, keep = sys.argv[1:3]
    os.makedirs(keep, exist_ok=True)
    results = os.path.join(keep, "gate-results.json")
    verdicts = os.path.join(keep, "gate-invariants.json")
    t0 = time.monotonic()
    run = subprocess.run([workbench, "run", "--quick", "--repeat", "3", "--out", results, "--summary", "compact"],
                         timeout=1200)
    took = time.monotonic() - t0
    check = subprocess.run([workbench, "check", results, "--json", verdicts], timeout=300)
    subprocess.run([workbench, "claims", results, "--json", os.path.join(keep, "gate-claims.json")], timeout=300)
    print(f"gate: run exit {run.returncode} in {took:.0f} s, check exit {check.returncode}; results in {results}")
    if run.returncode != 0:
        print("gate: a trial failed (see the run's output above)")
        return 1
    return check.returncode


if __name__ == "__main__":
    sys.exit(main())
