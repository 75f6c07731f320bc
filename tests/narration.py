#!/usr/bin/python3
"""Both twins of a chapter narrate the same wait points, under the same names.

  narration.py MANIFEST

Runs every chapter that narrates (--narrate) once per variant at small settings and compares
what they said: the event names (numbers stripped: "call 3" is "call #") must be the same set
in both, and each variant must name at least one wait point ("wait for ...").  Then it shows the
lesson the narration is for: the sync variant's events come from several threads, the async
variant's from one.  Exit 1 when any chapter's twins disagree.
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
}
# Events that only one side can have, by what it is: none today.
ONE_SIDED = set()


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
        code_s, sync_names, sync_threads = narrate(exe, "sync", args)
        code_a, async_names, async_threads = narrate(exe, "async", args)
        if not sync_names and not async_names:
            print(f"--   {name}: narrates nothing (its work is in another process)")
            continue
        check.expect(code_s == 0 and code_a == 0, f"{name}: both variants ran (exit {code_s}, {code_a})")
        check.expect(sync_names == async_names,
                     f"{name}: the same events in both twins"
                     + ("" if sync_names == async_names else
                        f" (sync only: {sorted(sync_names - async_names)}; async only: {sorted(async_names - sync_names)})"))
        waits = sorted(n for n in sync_names if n.startswith("wait"))
        check.expect(len(waits) >= 1, f"{name}: names its wait points ({', '.join(waits) or 'none'})")
        print(f"     {name}: sync narrated from {len(sync_threads)} threads, async from {len(async_threads)}")
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
