#!/usr/bin/python3
"""Both twins of a chapter narrate the same wait points, under the same names.

  narration.py MANIFEST

Runs every chapter that narrates (--narrate) once per variant (the variants its --describe
lists) at small settings and compares what they said: the event names (numbers stripped: "call
3" is "call #") must be the same set in every variant, and each must name at least one wait
point ("wait for ...").  Then it shows the lesson the narration is for: the sync variant's
events come from several threads, the async variant's from one.  Exit 1 when any chapter's
variants disagree.
"""
import json
import re
import subprocess
import sys

from checklist import Checklist

LINE = re.compile(r"^\s*[\d.]+ ms\s+tid (\d+)\s+task (-?\d+)\s+(?:begin |end   )?(.*)$")
# Small, quick settings per chapter; a chapter not listed narrates at its defaults.
SETTINGS = {
    "file-reads": ["--files", "8", "--size-kib", "16", "--concurrency", "4", "--process-ms", "1",
                   "--process-kind", "wait"],
    "fan-out": ["--tasks", "12", "--delay-ms", "20", "--max-in-flight", "4"],
    "timeouts": ["--calls", "12", "--concurrency", "4", "--deadline-ms", "100"],
    "shutdown": ["--shutdown-after-ms", "150", "--drain-ms", "300"],
    "worker-queue": ["--pattern", "burst", "--burst-ms", "60", "--duration-ms", "60", "--queue-capacity", "4",
                     "--job-ms", "10"],
    "rate-limit": ["--clients", "10", "--calls", "2", "--rate-per-s", "200", "--burst", "2"],
    "circuit-breaker": ["--clients", "4", "--healthy-ms", "100", "--outage-ms", "200", "--recovered-ms", "200",
                        "--outage-kind", "stall", "--timeout-ms", "50", "--open-ms", "50"],
    "blocking-in-the-loop": ["--heartbeats", "3", "--duration-ms", "100", "--block-ms", "20", "--every-ms", "50"],
    "how-a-coroutine-waits": ["--round-trips", "3", "--parked", "3"],
    "scheduling-costs": ["--round-trips", "3"],
    "structured-concurrency": ["--requests", "2", "--call-ms", "20", "--spec-calls", "2"],
    "shared-state": ["--tasks", "2", "--ops", "3"],
    "errors-across-tasks": ["--children", "3", "--failures", "1", "--step-ms", "5"],
}
# Events that only one side can have, by what it is: none today.
ONE_SIDED = set()
# Chapters whose work runs in another process, so --narrate has nothing to say here: the HTTP
# service (the server is a process of its own; the chapter only drives load).  Any other
# chapter that narrates nothing is a failure: its narration broke.
SILENT = {"http-service"}


def narrate(exe, variant, args):
    r = subprocess.run([exe, "--mode", variant, "--narrate", *args], capture_output=True, text=True, timeout=120)
    names, threads = set(), set()
    for line in r.stderr.splitlines():
        m = LINE.match(line)
        if m:
            threads.add(m.group(1))
            names.add(re.sub(r"\d+", "#", m.group(3)).strip())
    return r.returncode, names - ONE_SIDED, threads


def main():
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    check = Checklist()
    for chapter in manifest:
        name, exe = chapter["name"], chapter["exe"]
        args = SETTINGS.get(name, [])
        described = json.loads(subprocess.run([exe, "--describe"], capture_output=True, text=True, timeout=60).stdout)
        variants = described.get("variants") or ["sync", "async"]
        said = {v: narrate(exe, v, args) for v in variants}
        if not any(names for _, names, _ in said.values()):
            check.expect(name in SILENT, f"{name}: narrates nothing"
                         + (" (its work is in another process)" if name in SILENT else
                            " — and is not in SILENT: its narration is broken"))
            continue
        check.expect(name not in SILENT, f"{name}: narrates (it is listed in SILENT: take it out)")
        first = variants[0]
        check.expect(all(code == 0 for code, _, _ in said.values()),
                     f"{name}: every variant ran (exit {', '.join(str(c) for c, _, _ in said.values())})")
        for v in variants[1:]:
            a, b = said[first][1], said[v][1]
            check.expect(a == b, f"{name}: the same events in {first} and {v}"
                         + ("" if a == b else f" ({first} only: {sorted(a - b)}; {v} only: {sorted(b - a)})"))
        waits = sorted(n for n in said[first][1] if n.startswith("wait"))
        check.expect(len(waits) >= 1, f"{name}: names its wait points ({', '.join(waits) or 'none'})")
        print(f"     {name}: " + ", ".join(f"{v} narrated from {len(said[v][2])} threads" for v in variants))
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
