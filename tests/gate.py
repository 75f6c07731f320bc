#!/usr/bin/python3
"""The gate: every chapter's quick sweep, interleaved, 3 repetitions, then `workbench check` on
the result — CI's test of the invariants, which hold on any machine, core count and load.

usage: gate.py WORKBENCH KEEP_DIR

Fails when an invariant fails (check exits 1), when the run lacks trials an invariant needs (3),
when a trial fails, or when a chapter of the manifest produced no trials at all.  The claims get
their verdicts too (`workbench claims`, printed for the log), but a verdict never fails the gate:
it is a finding about this machine.  The results, the invariants' verdicts and the ledger are
kept in KEEP_DIR (gate-results.json, gate-invariants.json, gate-claims.json) so a CI run can be
read afterwards.  Its own time limits stay below meson's (900 s), so when the run is too slow
the gate says so itself instead of being killed without a word.
"""
import json
import os
import subprocess
import sys
import time

RUN_LIMIT_S = 720  # meson's timeout for this test is 900 s: room for check, claims and the report


def main():
    workbench, keep = sys.argv[1:3]
    os.makedirs(keep, exist_ok=True)
    results = os.path.join(keep, "gate-results.json")
    verdicts = os.path.join(keep, "gate-invariants.json")
    t0 = time.monotonic()
    try:
        run = subprocess.run([workbench, "run", "--quick", "--repeat", "3", "--out", results, "--summary",
                              "compact"], timeout=RUN_LIMIT_S)
    except subprocess.TimeoutExpired:
        print(f"gate: the quick run took more than {RUN_LIMIT_S} s and was stopped; the trials finished so far "
              f"are in {results} (or its journal)")
        return 1
    took = time.monotonic() - t0
    check = subprocess.run([workbench, "check", results, "--json", verdicts], timeout=60)
    subprocess.run([workbench, "claims", results, "--json", os.path.join(keep, "gate-claims.json")], timeout=60)
    print(f"gate: run exit {run.returncode} in {took:.0f} s, check exit {check.returncode}; results in {results}")
    listed = [line.split()[0] for line in subprocess.run([workbench, "list"], capture_output=True, text=True,
                                                         timeout=60).stdout.splitlines() if line.strip()]
    with open(results) as f:
        ran = {t.get("chapter") for t in json.load(f).get("trials", [])}
    silent = [c for c in listed if c not in ran]
    print(f"gate: {len(listed)} chapters in the manifest, {len(listed) - len(silent)} with trials")
    if silent:
        print(f"gate: no trials from {', '.join(silent)}")
        return 1
    if run.returncode != 0:
        print("gate: a trial failed (see the run's output above)")
        return 1
    return check.returncode


if __name__ == "__main__":
    sys.exit(main())
