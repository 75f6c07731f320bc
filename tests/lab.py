#!/usr/bin/python3
"""`workbench lab`, driven as a student and a class would drive it.

- Every chapter declares at least two predictions; each names a claim the chapter decides, and
  every line it points at (file + marker) is in that file on exactly one line.
- The fake chapter, answered by --predict, by --answers (comments, --predict winning), and at a
  terminal (a pty: a wrong answer is asked again): exit 0, the table of answers against the
  measurement, the "lab" field of the results file valid against the schema, the answers in it.
- A missing answer without a terminal, a bad value, an unknown id: exit 2 and a message, and no
  trial run.
- The real file-reads chapter, one repetition: every question measured, the claim's verdict
  printed, the explaining lines shown as file:line.
- Three students' lab files merge into one with every student's answers, each under its label;
  the report shows them question by question and tallies them beside their claim.

usage: lab.py WORKBENCH FAKE_CHAPTER MANIFEST SCHEMA REPO_ROOT
"""
import json
import os
import pathlib
import pty
import re
import select
import subprocess
import sys
import tempfile
import time

import jsonschema

FAILURES = []


def check(ok, what):
    if not ok:
        FAILURES.append(what)
        print("FAIL:", what)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, **kw)


def declared(manifest, root):
    for entry in json.loads(pathlib.Path(manifest).read_text()):
        d = json.loads(run([entry["exe"], "--describe"]).stdout)
        preds = d.get("predictions", [])
        check(len(preds) >= 2, f"{d['name']}: {len(preds)} predictions (at least two)")
        for p in preds:
            check(p["claim"] in d["claims"], f"{d['name']}/{p['id']}: claim {p['claim']} is not one it decides")
            check(p["question"].strip().endswith("?"), f"{d['name']}/{p['id']}: the question ends in '?'")
            for line in p["explain"]:
                path = root / line["file"]
                if not path.is_file():
                    check(False, f"{d['name']}/{p['id']}: {line['file']} does not exist")
                    continue
                hits = [n for n, text in enumerate(path.read_text().splitlines(), 1) if line["marker"] in text]
                check(len(hits) == 1, f"{d['name']}/{p['id']}: '{line['marker']}' is on {len(hits)} lines of "
                                      f"{line['file']} (one, so file:line is unambiguous)")


def interactive(cmd, answers):
    """Runs cmd with a terminal as its stdin; types each answer when it asks.  Returns (code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    os.close(slave)
    fd = proc.stdout.fileno()
    out = ""
    deadline = time.time() + 120
    pending = list(answers)
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:  # end of output: the process has closed it
                break
            out += chunk.decode(errors="replace")
        if pending and out.count("your answer>") > len(answers) - len(pending):
            os.write(master, (pending.pop(0) + "\n").encode())
    os.close(master)
    return proc.wait(timeout=60), out


def main():
    workbench, fake, manifest, schema_path, root = sys.argv[1:6]
    root = pathlib.Path(root)
    validator = jsonschema.Draft202012Validator(json.loads(pathlib.Path(schema_path).read_text()))
    declared(manifest, root)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        fake_manifest = tmp / "fake.json"
        fake_manifest.write_text(json.dumps([{"name": "fake", "exe": fake}]))
        wb = [workbench, "--manifest", str(fake_manifest)]

        # Answered on the command line.
        out = tmp / "alice.json"
        r = run(wb + ["lab", "fake", "--predict", "ops=7", "--predict", "more-ops=sync", "--repeat", "2",
                      "--out", str(out), "--label", "alice"])
        check(r.returncode == 0, f"lab fake --predict: exit {r.returncode}: {r.stderr[-500:]}")
        check("[ops] you: 7 ops   measured: 7 ops   close" in r.stdout, "the number answered and measured:\n" + r.stdout)
        check("[more-ops] you: sync   measured: async   wrong" in r.stdout,
              "the choice judged (a tie goes to the first name):\n" + r.stdout)
        check("why: tests/fake_chapter.cpp:" in r.stdout, "the explaining line as file:line")
        check("C3: " in r.stdout, "the claim in words before the run")
        doc = json.loads(out.read_text())
        errors = sorted(validator.iter_errors(doc), key=str)
        check(not errors, f"lab results valid against the schema: {errors[:1]}")
        lab = doc.get("lab", [])
        check(len(lab) == 1 and lab[0]["label"] == "alice" and lab[0]["repeat"] == 2, f"lab entry: {lab}")
        preds = {p["id"]: p for p in lab[0]["predictions"]} if lab else {}
        check(preds.get("ops", {}).get("predicted") == 7 and preds.get("ops", {}).get("measured") == 7,
              f"ops kept: {preds.get('ops')}")
        check(preds.get("more-ops", {}).get("outcome") == "wrong", f"more-ops kept: {preds.get('more-ops')}")
        trials = doc["trials"]
        check(len(trials) == 2 * 2 * 2, f"2 points (--ops 7 and the defaults) x 2 variants x 2 repetitions: "
                                         f"{len(trials)} trials")

        # Answered in a file; --predict wins over it.
        answers = tmp / "answers.txt"
        answers.write_text("# bob's answers\nops=100\n\nmore-ops=async\n")
        out_b = tmp / "bob.json"
        r = run(wb + ["lab", "fake", "--answers", str(answers), "--predict", "ops=20", "--repeat", "1",
                      "--out", str(out_b), "--label", "bob"])
        check(r.returncode == 0, f"lab --answers: exit {r.returncode}: {r.stderr[-500:]}")
        check("[ops] you: 20 ops   measured: 7 ops   far (2.86x off" in r.stdout, "--predict over the file:\n" + r.stdout)
        check("[more-ops] you: async   measured: async   right" in r.stdout, "the file's answer:\n" + r.stdout)

        # Refusals: exit 2, a message, and nothing run.
        for args, says in [
            (["--predict", "ops=7"], "no answer for more-ops"),
            (["--predict", "ops=seven", "--predict", "more-ops=sync"], "not a number"),
            (["--predict", "ops=-1", "--predict", "more-ops=sync"], "outside ops, 0 to 1000000"),
            (["--predict", "ops=7", "--predict", "more-ops=both"], "not one of sync | async"),
            (["--predict", "ops=7", "--predict", "more-ops=sync", "--predict", "threads=3"], "no prediction threads"),
            (["--predict", "ops", "--predict", "more-ops=sync"], "not ID=VALUE"),
            (["--answers", str(tmp / "missing.txt")], "cannot read it"),
        ]:
            refused = tmp / "refused.json"
            r = run(wb + ["lab", "fake", "--out", str(refused)] + args)
            check(r.returncode == 2 and says in r.stderr and not refused.exists(),
                  f"lab {args}: exit {r.returncode} (2), stderr {r.stderr.strip()!r} (says {says!r}), "
                  f"no results file: {not refused.exists()}")

        # At a terminal: asked, a wrong answer asked again.
        out_c = tmp / "carol.json"
        code, text = interactive(wb + ["lab", "fake", "--repeat", "1", "--out", str(out_c), "--label", "carol"],
                                 ["lots", "7", "sync"])
        check(code == 0, f"interactive lab: exit {code}:\n{text}")
        check("not a number" in text and text.count("your answer>") == 3,
              "a wrong answer is refused and asked again:\n" + text)
        check("[ops] you: 7 ops   measured: 7 ops   close" in text, "interactive answers used:\n" + text)

        # A class: three students' files merged keep every student's answers under their labels.
        merged = tmp / "class.json"
        r = run([workbench, "merge", str(out), str(out_b), str(out_c), "-o", str(merged)])
        check(r.returncode == 0, f"merge: {r.stderr}")
        if merged.exists():
            labs = json.loads(merged.read_text()).get("lab", [])
            check(sorted(e["label"] for e in labs) == ["alice", "bob", "carol"], f"merged lab labels: {labs}")
            # The report shows the class's answers question by question, and beside each claim.
            page = tmp / "class.html"
            r = run(["/usr/bin/python3", str(root / "scripts" / "report"), str(merged), "-o", str(page),
                     "--workbench", workbench])
            check(r.returncode == 0, f"report of the class: {r.stderr[-500:]}")
            html = page.read_text() if page.exists() else ""
            q = html.find("data-question='fake/ops'")
            rows = html[q:html.find("</tbody>", q)]
            check(q > 0 and all(f"<td class='l'>{who}</td>" in rows for who in ("alice", "bob", "carol")),
                  "the report's predictions: a row per student under each question")
            tally = re.search(r"predicted with <code>workbench lab</code>: [^(]*", html)
            check(tally and tally.group(0).endswith(": 6 answers, 3 of 6 close or right "),
                  f"the ledger's C3 row tallies the class's answers: {tally and tally.group(0)}")

        # The real thing, one repetition.
        out_r = tmp / "file-reads.json"
        d = json.loads(run([workbench, "describe", "file-reads"]).stdout)
        predict = []
        for p in d["predictions"]:
            predict += ["--predict", f"{p['id']}=" + (p["choices"][0] if p["kind"] == "choice" else "2")]
        r = run([workbench, "lab", "file-reads", "--repeat", "1", "--out", str(out_r)] + predict)
        check(r.returncode == 0, f"lab file-reads: exit {r.returncode}: {r.stderr[-800:]}")
        for p in d["predictions"]:
            check(f"[{p['id']}] you: " in r.stdout and "measured: -" not in r.stdout, f"{p['id']} measured:\n{r.stdout}")
            check(f"  {p['claim']} on this machine: " in r.stdout, f"{p['claim']}'s verdict printed")
        check("why: chapters/01-file-reads/sync.cpp:" in r.stdout, "file-reads' explaining lines as file:line")

    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
