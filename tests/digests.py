#!/usr/bin/python3
"""Every chapter's result digest says what was computed: it changes when the inputs change.

  digests.py MANIFEST

A digest that stays the same whatever the inputs (a constant) would make the equal-digest
invariant (C3) true by construction.  So for every chapter: all its variants at small settings
(--mode all, which also requires them to agree), then again with one input changed — --seed,
or, where the chapter's result does not depend on --seed, a knob that changes what is
computed — and every variant's digest must differ, while a repeat of the first run must give
the first digests again.
"""
import json
import subprocess
import sys

from checklist import Checklist
from narration import SETTINGS

# The input each chapter's result depends on, where it is not --seed.
CHANGE = {
    "http-service": ["--bytes", "65"],                       # the answers the service gives
    "scheduling-costs": ["--round-trips", "4"],              # units and hand-offs counted
    "how-a-coroutine-waits": ["--round-trips", "4"],         # the turns taken
    "blocking-in-the-loop": ["--duration-ms", "150"],        # ticks and blocking calls made
    "structured-concurrency": ["--requests", "3"],
    "shutdown": ["--shutdown-after-ms", "200"],
    "circuit-breaker": ["--clients", "5"],
    "rate-limit": ["--clients", "11"],
    "worker-queue": ["--job-ms", "11"],
    "timeouts": ["--calls", "13"],
    "errors-across-tasks": ["--children", "4"],      # the plan: which children fail, and when
    "shared-state": ["--ops", "4"],                  # a counter's total does not depend on --seed
}


# Settings that differ from the narration's, where a digest needs a wider margin than a
# narration does: a timed-out call's outcome is in the digest, so a fast call must stay well
# inside its deadline even in a sanitizer build inside half a core (a 100 ms deadline left 50 ms
# of margin, which a CPU quota's 50 ms pause ate once).
WIDER = {
    "timeouts": ["--deadline-ms", "400"],
}


def changed(args, change):
    """args with each option of `change` set to its value there (replaced, or appended)."""
    out = list(args)
    for i in range(0, len(change), 2):
        if change[i] in out:
            out[out.index(change[i]) + 1] = change[i + 1]
        else:
            out += change[i:i + 2]
    return out


def digests(exe, args):
    """{variant: digest} of every variant of the chapter run side by side (--mode all)."""
    r = subprocess.run([exe, "--mode", "all", "--json", "-", *args], capture_output=True, text=True, timeout=300)
    recs = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode != 0 or not recs:
        return None, f"exit {r.returncode}: {r.stderr.strip()[-300:]}"
    return {rec["variant"]: rec.get("result_digest") for rec in recs}, ""


def main():
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    check = Checklist()
    for chapter in manifest:
        name, exe = chapter["name"], chapter["exe"]
        base = changed(SETTINGS.get(name, []), WIDER.get(name, []))
        change = CHANGE.get(name, ["--seed", "2"])
        a, why_a = digests(exe, base)
        again, _ = digests(exe, base)
        b, why_b = digests(exe, changed(base, change))
        check.expect(a is not None and b is not None, f"{name}: every variant ran ({why_a or why_b or 'ok'})")
        if a is None or b is None:
            continue
        check.expect(a == again, f"{name}: the same inputs give the same digests")
        same = sorted(v for v in a if a[v] == b.get(v))
        check.expect(not same, f"{name}: {' '.join(change)} changes every variant's digest"
                     + (f" (unchanged: {', '.join(same)})" if same else ""))
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
