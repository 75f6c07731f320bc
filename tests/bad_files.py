#!/usr/bin/python3
"""Bad files through every command that reads results: a clear one-line message, exit 2.

  bad_files.py WORKBENCH PLOT REPORT GOOD_RESULTS

For each kind of bad file — missing, truncated, not JSON, JSON of the wrong shape (no trials, a
trial that is a number, a trial without its chapter) — every reader is run on it: `workbench
check`, `claims`, `compare` (either side), `merge`, `export`, `recover` (a journal of that
kind), `scripts/plot` and `scripts/report`.  Each must exit 2 with a message that names the file,
on one line, with no traceback and no `terminate called`.
"""
import json
import os
import subprocess
import sys
import tempfile

from checklist import Checklist


def main():
    workbench, plot, report, good = sys.argv[1:5]
    check = Checklist()
    with open(good) as f:
        good_text = f.read()
    with tempfile.TemporaryDirectory(prefix="wb-bad-") as tmp:
        kinds = {
            "missing": None,
            "truncated": good_text[: len(good_text) // 2],
            "not-json": "this is not a results file\n",
            "no-trials": json.dumps({"schema": "workbench.results/1", "context": {}}),
            "trial-a-number": json.dumps({"schema": "workbench.results/1", "trials": [42]}),
            "trial-without-chapter": json.dumps(
                {"schema": "workbench.results/1", "trials": [{"variant": "sync", "status": "ok", "metrics": {}}]}),
            "trials-an-object": json.dumps({"schema": "workbench.results/1", "trials": {"a": 1}}),
        }
        for kind, text in kinds.items():
            path = os.path.join(tmp, kind + ".json")
            if text is not None:
                with open(path, "w") as f:
                    f.write(text)
            out = os.path.join(tmp, "out")
            commands = {
                "check": [workbench, "check", path],
                "claims": [workbench, "claims", path],
                "compare (old)": [workbench, "compare", path, good],
                "compare (new)": [workbench, "compare", good, path],
                "merge": [workbench, "merge", good, path, "-o", out + ".json"],
                "export": [workbench, "export", path, "-o", out + ".gbench"],
                "plot": ["/usr/bin/python3", plot, path, "-o", out + "-charts"],
                "report": ["/usr/bin/python3", report, path, "-o", out + ".html", "--workbench", workbench],
            }
            # recover reads RESULTS.journal, whose first line is the results header: a journal that
            # starts with this kind of bad line, beside a results file that is not there.
            journal = {"not-json": text, "truncated": good_text[:40], "trial-a-number": "[42]\n"}.get(kind)
            if journal is not None:
                target = os.path.join(tmp, kind + "-recover.json")
                with open(target + ".journal", "w") as f:
                    f.write(journal)
                commands["recover"] = [workbench, "recover", target]
            for name, cmd in commands.items():
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
                err = r.stderr.strip()
                lines = err.splitlines()
                named = os.path.basename(path) in err or (name == "recover" and ".journal" in err)
                ok = (r.returncode == 2 and len(lines) == 1 and named and "Traceback" not in err
                      and "terminate called" not in err)
                check.expect(ok, f"{kind}: {name} exits 2 with one line naming the file"
                             + ("" if ok else f" (exit {r.returncode}: {err[:300]!r})"))
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
