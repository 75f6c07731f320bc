#!/usr/bin/python3
"""Validates result files the runner really writes against results/schema.json.

usage: validate_results.py WORKBENCH FAKE_CHAPTER SCHEMA PLOT

Runs the real file-reads chapter at tiny settings, and the fake chapter made to hang and to
crash, then checks every file against the schema.  A document known to be wrong must fail
validation too, so this test can fail.  Then scripts/plot must draw a chart from each file,
failed and timed-out trials included.
"""
import json
import os
import subprocess
import sys
import tempfile

import jsonschema


def main() -> int:
    workbench, fake, schema_path, plot = sys.argv[1:5]
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    with tempfile.TemporaryDirectory() as tmp:
        manifest = os.path.join(tmp, "fake.json")
        with open(manifest, "w") as f:
            json.dump([{"name": "fake", "exe": fake}], f)
        runs = {
            "file-reads": [workbench, "run", "file-reads", "--set", "files=3", "--set", "size_kib=4",
                           "--sweep", "concurrency=1,2", "--summary", "none"],
            "fake-broken": [workbench, "--manifest", manifest, "run", "fake", "--set", "behaviour=hang",
                            "--set", "only_variant=async", "--trial-timeout", "4", "--summary", "none"],
            "fake-crash": [workbench, "--manifest", manifest, "run", "fake", "--set", "behaviour=crash",
                           "--summary", "none"],
            # Named variants, and a series of 5,000 samples thinned to at most 400 points.
            "fake-named": [workbench, "--manifest", manifest, "run", "fake", "--set", "samples=5000",
                           "--summary", "none"],
        }
        named_env = dict(os.environ, WB_FAKE_VARIANTS="threads,stackless,stackful")
        failures = 0
        for name, cmd in runs.items():
            out = os.path.join(tmp, name + ".json")
            proc = subprocess.run(cmd + ["--out", out], capture_output=True, text=True, timeout=240,
                                  env=named_env if name == "fake-named" else None)
            if not os.path.exists(out):
                print(f"{name}: no results file (exit {proc.returncode})\n{proc.stderr}")
                failures += 1
                continue
            with open(out) as f:
                doc = json.load(f)
            errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
            for e in errors:
                print(f"{name}: {'/'.join(map(str, e.path))}: {e.message}")
            failures += len(errors)
            statuses = sorted({t["status"] for t in doc["trials"]})
            print(f"{name}: {len(doc['trials'])} trials, statuses {statuses}, {len(errors)} schema errors")
            if name == "file-reads" and (len(doc["trials"]) != 4 or statuses != ["ok"]):
                print("file-reads: expected 4 ok trials")
                failures += 1
            if name == "fake-named":
                depth = [t.get("series", {}).get("depth", []) for t in doc["trials"]]
                variants = [t["variant"] for t in doc["trials"]]
                if variants != ["threads", "stackless", "stackful"] or not all(
                        # What the thinning promises, whatever the speed: at most 400 points,
                        # the peak kept.  How many slices the samples fall into is timing.
                        1 <= len(d) <= 400 and max(v for _, v in d) == 49 for d in depth):
                    print(f"fake-named: variants {variants}, series lengths {[len(d) for d in depth]}: "
                          "expected three named variants, each series thinned to at most 400 points keeping the peak")
                    failures += 1
            if name == "fake-broken" and statuses != ["ok", "timeout"]:
                print("fake-broken: expected ok and timeout trials")
                failures += 1

        # Charts from every file, including the one with timeouts and the one with crashes.
        for name in runs:
            charts = os.path.join(tmp, "charts-" + name)
            proc = subprocess.run(["/usr/bin/python3", plot, os.path.join(tmp, name + ".json"), "-o", charts],
                                  capture_output=True, text=True, timeout=120)
            pngs = [p for p in proc.stdout.split() if p.endswith(".png")]
            if proc.returncode != 0 or not pngs or any(os.path.getsize(p) < 1000 for p in pngs):
                print(f"plot {name}: exit {proc.returncode}, {pngs}\n{proc.stderr}")
                failures += 1
            else:
                print(f"plot {name}: {', '.join(os.path.basename(p) for p in pngs)}")

        # The schema must reject what is wrong: a record without metrics, an unknown status.
        bad = json.loads(json.dumps(doc))
        bad["trials"][0].pop("metrics")
        bad["trials"].append(dict(bad["trials"][0], status="maybe"))
        if validator.is_valid(bad):
            print("the schema accepted a document it must reject")
            failures += 1
    print("schema check:", "ok" if failures == 0 else f"{failures} problems")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
