#!/usr/bin/python3
"""No process outlives a run that ended early, however it ended.

  early_end.py WORKBENCH FAKE_CHAPTER [--service-chapter HTTP_SERVICE] [--times N]

Each scenario N times (default 20), each time in a temporary directory of its own, which is also
the run's TMPDIR, so every process the run starts has that directory on its command line (the
trial's --json path, the manifest): after the run has ended, no process whose command line holds
it may be left.  The fake chapter's async variant hangs (it sleeps for an hour), so a trial is
always running, or being started, when the end comes:

  watchdog   the runner's --trial-timeout kills the hung trial, and the run ends normally
  SIGINT     the runner is interrupted (Ctrl-C)        \\  at a moment drawn anew each time
  SIGTERM    the runner is asked to stop               |  between 0 and 300 ms after it
  SIGKILL    the runner is killed outright             |  started: before, while, or after
  crash      the runner aborts (SIGABRT)               /  it starts the hung trial
  mode-all   a chapter run with --mode all (each variant a child of its own) is killed outright
  service    a chapter that starts a server of its own (05's http-service, which runs http-server)
             is killed outright once the server is up, at a moment drawn anew each time

Besides the command lines, the process tree is read at the moment of the signal: every process
below the one signalled then must be gone afterwards (the server's command line does not hold
the directory).

The runner's children die with it because each is started with a death signal set before exec
(common/process.cpp); this test fails if that is taken out.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from checklist import Checklist

SCENARIOS = ["watchdog", "SIGINT", "SIGTERM", "SIGKILL", "crash", "mode-all", "service"]
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL,
           "crash": signal.SIGABRT, "mode-all": signal.SIGKILL, "service": signal.SIGKILL}


def default_signals():
    """In the child before exec: SIGINT and SIGTERM as a terminal's user has them.  A command
    started in the background by a non-interactive shell (scripts/half-core does so) inherits
    SIGINT ignored, and a SIGINT that came before the runner set its handler would be lost: the
    run would then wait out the watchdog instead of ending."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def descendants(root):
    """{pid: command line} of every live process below `root`, from /proc's parent links."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, IndexError, ValueError):
            pass  # gone meanwhile
    out, todo = {}, [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            out[pid] = cmdline(pid)
            todo.append(pid)
    return {pid: c for pid, c in out.items() if c}


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def holding(path):
    """Pids of the live processes whose command line holds `path` (zombies have none)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if path.encode() in f.read():
                    pids.append(int(entry))
        except OSError:
            pass  # gone meanwhile
    return pids


def one_run(scenario, workbench, fake, service, rng):
    """Runs the scenario once; returns (leftover pids with their command lines, what happened)."""
    with tempfile.TemporaryDirectory(prefix="wb-early-end-") as d:
        env = dict(os.environ, TMPDIR=d)
        if scenario == "service":
            cmd = [service, "--mode", "async", "--connections", "10", "--duration-ms", "20000",
                   "--json", os.path.join(d, "record.json")]
        elif scenario == "mode-all":
            cmd = [fake, "--mode", "all", "--json", os.path.join(d, "records.json"),
                   "--behaviour", "hang", "--only-variant", "async"]
        else:
            manifest = os.path.join(d, "chapters.json")
            with open(manifest, "w") as f:
                json.dump([{"name": "fake", "exe": fake}], f)
            cmd = [workbench, "--manifest", manifest, "run", "fake", "--out", os.path.join(d, "results.json"),
                   "--set", "behaviour=hang", "--set", "only_variant=async", "--summary", "none",
                   "--trial-timeout", "1" if scenario == "watchdog" else "60"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                preexec_fn=default_signals)
        below = {}
        if scenario == "service":
            # Certain, not left to speed: wait until the server is up below the chapter.
            deadline = time.monotonic() + 60
            while not any("http-server" in c for c in descendants(proc.pid).values()):
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    proc.wait()
                    return [(proc.pid, "the chapter's server never started")], "no server"
                time.sleep(0.01)
        if scenario != "watchdog":
            time.sleep(rng.uniform(0.0, 0.3))
            below = descendants(proc.pid)
            proc.send_signal(SIGNALS[scenario])
        try:
            code = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return [(proc.pid, "the run itself did not end within 120 s")], "hung"
        # A death signal is delivered as the parent exits, and a killed child takes a moment to
        # go: look again for up to 5 s before calling what is still there a leftover.
        def still_there():
            pids = set(holding(d))
            pids |= {pid for pid, c in below.items() if cmdline(pid) == c}  # the same process, not a reused pid
            return sorted(pids)
        deadline = time.monotonic() + 5
        left = still_there()
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = still_there()
        described = []
        for pid in left:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    described.append((pid, f.read().replace(b"\0", b" ").decode(errors="replace")))
            except OSError:
                pass
            try:
                os.kill(pid, signal.SIGKILL)  # do not leave it running beside what comes next
            except OSError:
                pass
        return described, f"exit {code}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("workbench")
    ap.add_argument("fake")
    ap.add_argument("--service-chapter", default=os.environ.get("WB_HTTP_SERVICE"),
                    help="05's http-service executable (default: $WB_HTTP_SERVICE; without it the scenario is skipped)")
    ap.add_argument("--times", type=int, default=20)
    ap.add_argument("--seed", type=int, default=None, help="the moments drawn (default: a new draw each run, printed)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed} (--seed {seed} draws the same moments again)")
    rng = random.Random(seed)
    checks = Checklist()
    for scenario in SCENARIOS:
        if scenario == "service" and not args.service_chapter:
            checks.expect(False, "service: no chapter with a server of its own given (--service-chapter)")
            continue
        t0 = time.monotonic()
        leftovers = []
        endings = {}
        for _ in range(args.times):
            left, how = one_run(scenario, args.workbench, args.fake, args.service_chapter, rng)
            leftovers += left
            endings[how] = endings.get(how, 0) + 1
        for pid, cmdline in leftovers[:5]:
            print(f"     left behind: pid {pid}: {cmdline}")
        ended = ", ".join(f"{n}x {how}" for how, n in sorted(endings.items()))
        checks.expect(not leftovers and "hung" not in endings and "no server" not in endings,
                      f"{scenario}: {args.times} runs ({ended}, {time.monotonic() - t0:.1f} s), "
                      f"{len(leftovers)} processes left behind")
    return checks.exit_code()


if __name__ == "__main__":
    sys.exit(main())
