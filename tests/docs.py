#!/usr/bin/env python3
"""The documents say nothing a build can contradict.

- The top README stays under 200 lines (the rest lives in docs/ and chapters/README.md).
- Every chapters/NN-* folder has a row in the README's chapters table, linking to its README,
  and that row names every claim the chapter declares (--describe's `claims`); a claim outside
  parentheses must be one the chapter declares (parenthesised: discussed, not decided).
- Every `--mode VALUE` a document shows is `all` or a variant: of that chapter in a chapter's
  README, of some chapter elsewhere.
- Every results/reference/*.json a document cites exists.
- Every chapter README follows the template, in order: The question, Predict (every question
  the chapter's lab asks, as it asks it), Run it, Observe (its figures folded into <details>,
  after Predict), Why (with "Reading the diff"), Exercises (each with a "*Done when:*"
  criterion), Time budget.

usage: docs.py REPO_ROOT MANIFEST   (MANIFEST: build/chapters.json, each chapter's executable)
"""
import json
import pathlib
import re
import subprocess
import sys

MAX_README_LINES = 200


def describe(exe):
    out = subprocess.run([exe, "--describe"], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


TEMPLATE = ["The question", "Predict", "Run it", "Observe", "Why", "Exercises", "Time budget"]


def sections(text):
    """{heading: body} of the ## sections outside code fences, and their order."""
    out, order, fence, current = {}, [], False, None
    for line in text.split("\n"):
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("## "):
            current = line[3:].strip()
            order.append(current)
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v) for k, v in out.items()}, order


def checked_solutions():
    """{(chapter folder, exercise): function} of tests/solutions.py."""
    out = subprocess.run([sys.executable, str(pathlib.Path(__file__).with_name("solutions.py")), "--list"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return {(f, int(n)): fn for f, n, fn in (line.split() for line in out.splitlines())}


def test_names(folder):
    """The Catch2 test names in a chapter's .cpp files (string literals joined, spaces collapsed)."""
    names = []
    for cpp in folder.glob("*.cpp"):
        for m in re.finditer(r'TEST_CASE\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)', cpp.read_text()):
            names.append(" ".join("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))).split()))
    return names


SOLVED = None


def solution_problems(exercises, folder, root):
    """Each exercise has a folded Solution that says what checks it, and that check exists: a
    function of tests/solutions.py registered for this exercise, or test cases of the chapter's
    own suite, quoted by name (a quote may end in an ellipsis: the name's beginning)."""
    global SOLVED
    if SOLVED is None:
        SOLVED = checked_solutions()
    problems = []
    items = re.split(r"^(\d+)\. ", exercises, flags=re.M)[1:]
    names = test_names(root / "chapters" / folder)
    for number, text in zip(items[0::2], items[1::2]):
        n = int(number)
        flat = " ".join(text.split())
        if "<details><summary>Solution</summary>" not in flat or "Checked by" not in flat:
            problems.append(f"exercise {n} has no folded Solution saying what checks it")
            continue
        checked = flat[flat.index("Checked by"):]
        fn = re.search(r"`tests/solutions\.py` \(`(\w+)`\)", checked)
        if fn:
            if SOLVED.get((folder, n)) != fn.group(1):
                problems.append(f"exercise {n}'s solution cites tests/solutions.py {fn.group(1)}, which does not check "
                                f"this exercise (it checks: {SOLVED.get((folder, n))})")
            continue
        quoted = [" ".join(q.split()) for q in re.findall(r'"([^"]+)"', checked)]
        if "`tests.cpp`" not in checked or not quoted:
            problems.append(f"exercise {n}'s solution names no check: `tests/solutions.py` (`function`) or `tests.cpp`, \"test name\"")
        for q in quoted:
            head = q.rstrip("…").rstrip().rstrip(";").rstrip()
            if not any(name.startswith(head) for name in names):
                problems.append(f"exercise {n}'s solution quotes a test that {folder}'s tests do not have: {q!r}")
    return problems


def template_problems(text, description, folder, root):
    """A chapter README told in the template's order (chapters/README.md, "The chapter README")."""
    body, order = sections(text)
    problems = []
    if [h for h in order if h in TEMPLATE] != TEMPLATE or set(order) - set(TEMPLATE):
        problems.append(f"sections {order}; the template's are {TEMPLATE}, in that order")
    predict = body.get("Predict", "")
    for p in description.get("predictions", []):
        if f"`{p['id']}` — {p['question'].replace('|', chr(92) + '|')}" not in predict:
            problems.append(f"Predict does not ask `{p['id']}` as the chapter does: {p['question']!r}")
    if "workbench lab " + description["name"] not in predict:
        problems.append("Predict does not show `workbench lab " + description["name"] + "`")
    observe = body.get("Observe", "")
    before = observe.split("<details>")[0]
    if "<details>" not in observe or "</details>" not in observe:
        problems.append("Observe does not fold its figures into <details> (they answer the predictions)")
    elif re.search(r"^\|", before, re.M) or re.search(r"\d+(\.\d+)? ?(ms|µs|ns|MiB|KiB|threads)\b", before):
        problems.append("Observe shows a figure before its <details>: a spoiler for Predict")
    if "### Reading the diff" not in body.get("Why", ""):
        problems.append("Why has no 'Reading the diff'")
    exercises = body.get("Exercises", "")
    numbered = len(re.findall(r"^\d+\. ", exercises, re.M))
    if numbered == 0 or exercises.count("*Done when:*") != numbered:
        problems.append(f"Exercises: {numbered} exercise(s), {exercises.count('*Done when:*')} '*Done when:*' "
                        "criteria (one each)")
    problems += solution_problems(exercises, folder, root)
    budget = body.get("Time budget", "")
    for item in ("reading", "lab", "exercises"):
        if item not in budget:
            problems.append(f"Time budget does not say how long the {item} takes")
    return problems


def main():
    root = pathlib.Path(sys.argv[1])
    manifest = json.loads(pathlib.Path(sys.argv[2]).read_text())
    described = {c["name"]: describe(c["exe"]) for c in manifest}
    failures = []

    readme = (root / "README.md").read_text()
    lines = readme.count("\n")
    if lines >= MAX_README_LINES:
        failures.append(f"README.md has {lines} lines; keep it under {MAX_README_LINES} (the rest goes to docs/)")

    # The chapters table: | NN | [name](chapters/NN-name/README.md) | sections | claims | what |
    rows = {}
    for m in re.finditer(r"^\| (\d\d) \| \[([^\]]+)\]\((chapters/[^)]+/README\.md)\) \| [^|]* \| ([^|]*) \|", readme, re.M):
        rows[m.group(3).split("/")[1]] = (m.group(2), m.group(4))
    folders = sorted(p.name for p in (root / "chapters").iterdir() if p.is_dir() and re.match(r"\d\d-", p.name))
    by_folder = {}
    for c in manifest:
        folder = pathlib.Path(c["exe"]).parent.name
        by_folder[folder] = c["name"]
    for folder in folders:
        if folder not in rows:
            failures.append(f"README.md: no row in the chapters table for chapters/{folder}")
            continue
        name, cell = rows[folder]
        chapter = by_folder.get(folder)
        if chapter is None:
            failures.append(f"chapters/{folder}: not in the build's manifest")
            continue
        if name != chapter:
            failures.append(f"README.md: the row for chapters/{folder} says '{name}', the chapter is '{chapter}'")
        declared = set(described[chapter]["claims"])
        named = set(re.findall(r"C\d+", cell))
        decided = set(re.findall(r"C\d+", re.sub(r"\([^)]*\)", "", cell)))
        if declared - named:
            failures.append(f"README.md: the row for {chapter} does not name {sorted(declared - named)}, which it declares")
        if decided - declared:
            failures.append(f"README.md: the row for {chapter} names {sorted(decided - declared)} as decided; "
                            f"the chapter declares {sorted(declared)}")

    documents = [root / "README.md", root / "chapters" / "README.md"] + sorted((root / "docs").glob("*.md"))
    documents += sorted((root / "chapters").glob("[0-9][0-9]-*/README.md"))
    every_variant = {v for d in described.values() for v in d["variants"]}
    for doc in documents:
        text = doc.read_text()
        rel = doc.relative_to(root)
        folder = doc.parent.name if doc.parent.parent == root / "chapters" else None
        allowed = every_variant
        if folder in by_folder:
            allowed = set(described[by_folder[folder]]["variants"])
        for m in re.finditer(r"--mode[ =]([A-Za-z0-9_,-]+)", text):
            for value in m.group(1).split(","):
                if value not in allowed and value not in ("all", "VARIANT"):
                    failures.append(f"{rel}: `--mode {m.group(1)}`: no variant '{value}'"
                                    + (f" in {by_folder[folder]}" if folder in by_folder else ""))
        for m in re.finditer(r"results/reference/([A-Za-z0-9_.-]+\.json)", text):
            if not (root / "results" / "reference" / m.group(1)).exists():
                failures.append(f"{rel}: cites results/reference/{m.group(1)}, which does not exist")
        if folder in by_folder:
            failures += [f"{rel}: {p}" for p in template_problems(text, described[by_folder[folder]], folder, root)]

    for f in failures:
        print("docs:", f)
    print(f"docs: {len(documents)} documents, {len(folders)} chapters checked; {len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
