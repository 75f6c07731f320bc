#!/usr/bin/env python3
"""Every exercise's solution, checked on this build.

A chapter README's exercise ends with a folded Solution.  What the solution says is checked here,
by running the chapter at the exercise's settings, or, where the exercise changes code, by
applying the solution's patch (chapters/NN-*/solutions/exK.patch) to a copy of the sources,
recompiling the chapter's translation units the patch touches with this build's own compile
commands, linking them with the build's other objects, and running that executable.  A check
asserts what the solution claims in words: an ordering in the narration, a count, which variant
is larger, a figure compared with the same run's other rows; never a speed (a time only as a
bound the mechanism enforces: a limiter cannot admit sooner, a slice cannot be interrupted).

A solution that a chapter's Catch2 suite checks cites that test by name instead; the docs test
holds every exercise to one or the other.

usage: solutions.py REPO_ROOT BUILD_DIR MANIFEST [CHAPTER_DIR ...]   (default: every chapter)
       solutions.py --list   (the exercises this file checks: CHAPTER_DIR EXERCISE FUNCTION per line)
"""
import atexit
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SOLUTIONS = {}  # (chapter folder, exercise number) -> check(Chapter)


def solution(folder, exercise):
    def register(fn):
        SOLUTIONS[(folder, exercise)] = fn
        return fn

    return register


class Failed(Exception):
    pass


def check(ok, what):
    if not ok:
        raise Failed(what)
    print(f"  ok: {what}")


class Run:
    """One run of a chapter executable: its records by variant, its narration, its exit code."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        self.records = {}
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                self.records[r["variant"]] = r

    def metric(self, variant, name):
        r = self.records.get(variant)
        if r is None:
            raise Failed(f"no record for variant {variant} (have {sorted(self.records)}); stderr:\n{self.stderr[-2000:]}")
        for where in (r.get("metrics", {}), r.get("counters", {}), r):
            if name in where:
                return where[name]
        raise Failed(f"{variant} has no metric {name} (metrics: {sorted(r.get('metrics', {}))}, counters: {sorted(r.get('counters', {}))})")

    def lines(self):
        return self.stderr.splitlines()


class Chapter:
    def __init__(self, root, build, folder, exe):
        self.root, self.build, self.folder, self.exe = root, build, folder, exe
        self._patched = {}

    def run(self, *args, patch=None, timeout=180, check_rc=True):
        exe = self.patched(patch) if patch else self.exe
        cmd = [str(exe), *map(str, args), "--json", "-"]
        print("  $", " ".join(shlex.quote(str(c)) for c in [os.path.basename(exe), *cmd[1:]]), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        run = Run(proc)
        if check_rc and run.rc != 0:
            raise Failed(f"exit {run.rc}; stderr:\n{proc.stderr[-3000:]}")
        return run

    def hangs(self, *args, patch=None, seconds=10):
        """True when the run does not end within `seconds` (it is killed then)."""
        return self.hang_each([None], *args, patch=patch, seconds=seconds)[None]

    def catch(self, patch, tags):
        """Runs the Catch2 cases `tags` of the chapter tests built with solutions/PATCH.patch."""
        key = ("tests", patch)
        if key not in self._patched:
            self._patched[key] = build_patched(self.root, self.build, self.folder, str(self.build / "tests" / "chapter-tests"),
                                               self.root / "chapters" / self.folder / "solutions" / f"{patch}.patch")
        print("  $ chapter-tests", tags, flush=True)
        proc = subprocess.run([self._patched[key], tags, "-w", "NoTests"], capture_output=True, text=True, timeout=300)
        print("\n".join("    " + l for l in proc.stdout.strip().splitlines()[-2:]))
        return proc.returncode

    def hang_each(self, variants, *args, patch=None, seconds=5):
        """{variant: True if its run did not end within `seconds`}, the variants run side by side
        (a variant None: the arguments as they are).  Each in its own process group, killed whole
        at the end: the backend a chapter starts goes down with it."""
        exe = self.patched(patch) if patch else self.exe
        modes = {v: ([] if v is None else ["--mode", v]) for v in variants}
        for v in variants:
            print("  $", os.path.basename(exe), *modes[v], *map(str, args), f"(for {seconds} s at most)", flush=True)
        procs = {v: subprocess.Popen([exe, *modes[v], *map(str, args)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True) for v in variants}
        deadline, hung = time.monotonic() + seconds, {}
        for v, p in procs.items():
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
                hung[v] = False
            except subprocess.TimeoutExpired:
                hung[v] = True
        for p in procs.values():
            if p.poll() is None:
                os.killpg(p.pid, 9)
            p.wait()
        return hung

    def patched(self, name, flags=()):
        """The chapter's executable built with solutions/NAME.patch applied (built once per run);
        `flags` are added to the changed units' compile commands and to the link."""
        if (name, flags) not in self._patched:
            self._patched[name, flags] = build_patched(self.root, self.build, self.folder, self.exe,
                                                       self.root / "chapters" / self.folder / "solutions" / f"{name}.patch",
                                                       flags)
        return self._patched[name, flags]


def build_patched(root, build, folder, exe, patch, flags=()):
    """Applies `patch` to a copy of chapters/ and common/, recompiles the chapter's translation
    units it changes (all of the chapter's, when it changes a header) with the build's own commands
    (the copy first on the include path), and links them with the build's other objects."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="wb-solution-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    for part in ("chapters", "common"):
        shutil.copytree(root / part, tmp / part)
    applied = subprocess.run(["git", "apply", "-p1", str(patch)], cwd=tmp, capture_output=True, text=True)
    if applied.returncode != 0:
        raise Failed(f"{patch.name} no longer applies to the sources:\n{applied.stdout}{applied.stderr}")
    changed = sorted(set(re.findall(r"^\+\+\+ b/(\S+)", patch.read_text(), re.M)))
    exe_rel = os.path.relpath(exe, build)
    link = subprocess.run(["ninja", "-C", str(build), "-t", "commands", exe_rel],
                          capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    commands = json.loads((build / "compile_commands.json").read_text())
    objects = set(shlex.split(link))
    units = [c for c in commands if c["output"] in objects and f"chapters/{folder}/" in c["file"]]
    header_changed = any(not c.endswith(".cpp") for c in changed)
    redo = [u for u in units if header_changed or any(u["file"].endswith(c) for c in changed)]
    if not redo:
        raise Failed(f"{patch.name} changes {changed}, none of which {exe_rel} is built from")
    procs, link_args = [], shlex.split(link)
    for u in redo:
        args = shlex.split(u["command"])
        src = os.path.normpath(os.path.join(u["directory"], u["file"]))
        rel = os.path.relpath(src, root)
        obj = tmp / (rel.replace("/", "_") + ".o")
        args = [args[0], f"-I{tmp}", "-fdiagnostics-color=never", *flags] + [str(tmp / rel) if a == u["file"] else a for a in args[1:]]
        # No dependency file (-MD; -MQ X and -MF X take an operand).
        args = [a for i, a in enumerate(args) if a != "-MD" and a not in ("-MQ", "-MF") and args[i - 1] not in ("-MQ", "-MF")]
        args[args.index("-o") + 1] = str(obj)
        procs.append((subprocess.Popen(args, cwd=u["directory"], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True), rel))
        link_args = [str(obj) if a == u["output"] else a for a in link_args]
    for p, rel in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise Failed(f"{rel} does not compile with {patch.name}:\n{out[-4000:]}")
    out_exe = tmp / os.path.basename(exe)
    link_args[link_args.index("-o") + 1] = str(out_exe)
    link_args[1:1] = list(flags)
    linked = subprocess.run(link_args, cwd=build, capture_output=True, text=True)
    if linked.returncode != 0:
        raise Failed(f"linking with {patch.name} fails:\n{linked.stderr[-3000:]}")
    print(f"  built {os.path.relpath(patch, root)} ({len(redo)} unit(s) recompiled)", flush=True)
    return str(out_exe)


# ---------------------------------------------------------------------------------------------
# The solutions, chapter by chapter.  Each function's docstring is the claim it checks.


def events(run):
    """The narration as (ms, tid, task, text) tuples."""
    out = []
    for line in run.lines():
        m = re.match(r"\s*([0-9.]+) ms\s+tid (\d+)\s+task (-?\d+)\s+(.*)$", line)
        if m:
            out.append((float(m[1]), int(m[2]), int(m[3]), m[4].rstrip()))
    return out


def overlapping(evs, begin, end):
    """The first (a, b) where `begin b` comes after `begin a` and before `end a` (texts with {})."""
    running = []
    starts, ends = re.compile(begin.replace("{}", r"(\S+)")), re.compile(end.replace("{}", r"(\S+)"))
    for _, _, _, text in evs:
        if m := starts.fullmatch(text):
            if running:
                return running[0], m[1]
            running.append(m[1])
        elif (m := ends.fullmatch(text)) and m[1] in running:
            running.remove(m[1])
    return None


def strace_counts(cmd):
    """{syscall: calls} of a command and its threads, from strace -f -c."""
    out = subprocess.run(["strace", "-f", "-c", "-o", "/dev/stderr", *cmd], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise Failed(f"strace {cmd[0]} failed: {out.stderr[-2000:]}")
    counts = {}
    for line in out.stderr.splitlines():
        f = line.split()
        if len(f) >= 5 and f[3].isdigit() and f[-1] != "total":
            counts[f[-1]] = int(f[3])
    return counts


@solution("00-how-a-coroutine-waits", 3)
def how_a_coroutine_waits_3(ch):
    """An await_ready that never asks: both units park, nobody resumes them, and the run says so."""
    r = ch.run("--mode", "hand-rolled", patch="ex3", check_rc=False)
    check(r.rc == 1, f"exit {r.rc}: the run fails")
    check("the units took 0 turns" in r.stderr and "a unit waits for a turn nobody will give it" in r.stderr,
          "record() reports 0 turns taken: a unit waits for a turn nobody will give it")


@solution("01-file-reads", 1)
def file_reads_1(ch):
    """Two reads in flight at once: two thread ids for sync, one for async; a begin between another's begin and end in both."""
    for mode, tids in (("sync", 2), ("async", 1)):
        # From a cold cache a read waits for the device, so the other reader runs meanwhile.  (From
        # a warm one a read never waits: one thread can finish every file before the other starts,
        # as the solution says.)  The device's speed is not ours: three tries.
        for _ in range(3):
            run = ch.run("--mode", mode, "--files", 4, "--concurrency", 2, "--cache", "cold", "--narrate")
            evs = sorted(events(run))
            pair = overlapping(evs, "begin read file {}", "end   read file {}")
            if pair:
                break
        check(pair is not None, f"{mode}: 'begin read file {pair[1] if pair else '?'}' comes before 'end read file {pair[0] if pair else '?'}'")
        check(len({tid for _, tid, _, _ in evs}) == tids, f"{mode}: {tids} thread id(s) in the narration")


@solution("01-file-reads", 2)
def file_reads_2(ch):
    """CPU work on the loop's one thread queues every file behind the others; on a pool it does not hold the loop."""
    common = ["--mode", "async", "--process-kind", "cpu", "--concurrency", 16, "--files", 32]
    idle = ch.run(*common, "--process-ms", 0).metric("async", "latency_us")["p50"]
    busy = ch.run(*common, "--process-ms", 5)
    p50 = busy.metric("async", "latency_us")["p50"]
    # One thread does all 32 x 5 ms of CPU work: the median file waits behind several others'.
    check(p50 > 2 * 5000 and p50 > 10 * idle, f"p50 {p50 / 1000:.1f} ms with 5 ms of CPU work, {idle / 1000:.2f} ms without")
    pooled = ch.run(*common, "--process-ms", 5, patch="ex2")
    threads = pooled.metric("async", "peak_threads")
    check(threads >= 1 + 16 and busy.metric("async", "peak_threads") == 1,
          f"with the pool: {threads} threads at the peak (the loop's and 16 pool threads), 1 without")
    check(pooled.records["async"]["result_digest"] == busy.records["async"]["result_digest"], "the same digest")
    print(f"  wall {busy.metric('async', 'wall_s') * 1000:.0f} ms on the loop, {pooled.metric('async', 'wall_s') * 1000:.0f} ms with the pool")


@solution("01-file-reads", 3)
def file_reads_3(ch):
    """At one read in flight, sync makes one read() per chunk; Asio's io_uring path makes several kernel entries per chunk."""
    per = {}
    for mode in ("sync", "async"):
        for kib in (4, 1024):
            c = strace_counts([ch.exe, "--mode", mode, "--chunk-kib", str(kib), "--cache", "warm", "--files", "16"])
            per[mode, kib] = c
            print(f"  {mode} at {kib} KiB: read {c.get('read', 0)}, io_uring_enter {c.get('io_uring_enter', 0)}, "
                  f"epoll_wait {c.get('epoll_wait', 0)}, all {sum(c.values())}")
    chunks = 16 * 256 // 4  # 16 files of 256 KiB in 4 KiB reads
    check(per["sync", 4].get("read", 0) >= chunks and per["sync", 4].get("io_uring_enter", 0) == 0,
          f"sync at 4 KiB: a read() per chunk ({chunks} chunks), no io_uring")
    if per["async", 4].get("io_uring_enter", 0) == 0:
        print("  (no io_uring here: the async variant read through its thread pool)")
        return
    check(per["async", 4]["io_uring_enter"] >= chunks, "async at 4 KiB: an io_uring_enter per chunk (one read in flight: nothing to batch)")
    check(sum(per["async", 4].values()) > 2 * sum(per["sync", 4].values()), "async makes more than twice sync's kernel entries at 4 KiB")
    check(sum(per["async", 1024].values()) * 4 < sum(per["async", 4].values()), "large reads cut async's kernel entries by more than 4x")


@solution("02-fan-out", 1)
def fan_out_1(ch):
    """A thread per call in sync (40 ids), one in async; a sync call begins only after another one ended."""
    for mode, ids in (("sync", 40), ("async", 1)):
        evs = events(ch.run("--mode", mode, "--tasks", 40, "--max-in-flight", 5, "--narrate"))
        callers = {tid for _, tid, _, text in evs if text == "wait for a slot"}
        check(len(callers) == ids, f"{mode}: {len(callers)} thread id(s) wait for a slot")
        in_flight, most, waited = 0, 0, False
        ended = set()
        for _, _, task, text in sorted(evs):
            if text.startswith("begin call"):
                in_flight += 1
                most = max(most, in_flight)
                waited = waited or bool(ended)
            elif text.startswith("end   call"):
                in_flight -= 1
                ended.add(task)
        check(most <= 5 and waited, f"{mode}: at most {most} calls in flight, and a call began after another had ended")


@solution("02-fan-out", 2)
def fan_out_2(ch):
    """K workers: sync's peak threads is K + 1, every digest equals async's, fail-fast still cancels."""
    run = ch.run("--mode", "sync,async", "--tasks", 40, "--max-in-flight", 5, patch="ex2")
    check(run.metric("sync", "peak_threads") == 6, f"sync: {run.metric('sync', 'peak_threads')} threads at the peak (5 workers and main)")
    check(run.records["sync"]["result_digest"] == run.records["async"]["result_digest"], "the same digest as async")
    ff = ch.run("--mode", "sync,async", "--tasks", 1000, "--delay-ms", 500, "--fail-rate", 0.01, "--policy", "fail-fast",
                "--max-in-flight", 100, patch="ex2")
    threads, cancelled = ff.metric("sync", "peak_threads"), ff.metric("sync", "calls_cancelled")
    check(threads <= 101 and cancelled > 0, f"fail-fast with 100 workers: {threads} threads at the peak, {cancelled:.0f} calls cancelled")
    print(f"  fail-fast: sync {ff.metric('sync', 'fan_in_ms'):.0f} ms, async {ff.metric('async', 'fan_in_ms'):.0f} ms")


@solution("02-fan-out", 3)
def fan_out_3(ch):
    """Without the stop callback, sync's fail-fast waits for the calls in flight to finish (500 ms); with it, it does not."""
    args = ("--mode", "sync", "--tasks", 200, "--delay-ms", 500, "--jitter-ms", 0, "--fail-rate", 0.05, "--policy", "fail-fast",
            "--gather-calls", 200)
    with_cb = ch.run(*args).metric("sync", "fan_in_ms")
    without = ch.run(*args, patch="ex3").metric("sync", "fan_in_ms")
    # Every call is in flight when the first failure comes (the backend holds them all until the
    # 200th arrives): without a way to interrupt a blocked read, each waits out its 500 ms.
    check(without >= 500, f"without the callback: {without:.0f} ms (every call in flight waits out its 500 ms)")
    check(with_cb < without, f"with it: {with_cb:.0f} ms")


@solution("03-timeouts", 2)
def timeouts_2(ch):
    """SO_RCVTIMEO does not end Asio's blocking read: recv's EAGAIN sends it back to poll() with no timeout."""
    args = ("--mode", "sync", "--sync-timeout", "socket", "--stall-rate", 1, "--calls", 2, "--deadline-ms", 100)
    check(not ch.hangs(*args, seconds=30), "the polled stream ends the stalled calls at their deadline")
    check(ch.hangs(*args, patch="ex2", seconds=5), "with SO_RCVTIMEO the run is still waiting 50 deadlines later")


@solution("03-timeouts", 3)
def timeouts_3(ch):
    """A cancellation signal emitted by the timer ends the call as || did: the same timeouts, nothing left running."""
    stall = ("--mode", "async", "--calls", 4, "--concurrency", 4, "--stall-rate", 1, "--slow-rate", 0, "--deadline-ms", 100)
    r = ch.run(*stall, patch="ex3")
    for name, want in (("timeouts", 4), ("still_running", 0), ("deadline_completions", 4), ("sockets_left_open", 0)):
        check(r.metric("async", name) == want, f"every call stalls: {name} {r.metric('async', name):.0f}")
    mixed = ("--calls", 30, "--deadline-ms", 200)
    signal = ch.run("--mode", "async", *mixed, patch="ex3")
    plain = ch.run("--mode", "async", *mixed)
    check(signal.records["async"]["result_digest"] == plain.records["async"]["result_digest"],
          f"slow, stalled and fast calls: the digest of ||'s run ({signal.metric('async', 'timeouts'):.0f} timeouts)")


@solution("04-shutdown", 1)
def shutdown_1(ch):
    """Two signals: the signal thread narrates each, and a worker aborts the job it was waiting on."""
    run = ch.run("--mode", "sync", "--shutdown-after-ms", 200, "--second-signal-after-ms", 50, "--job-ms", 500, "--narrate")
    texts = [(tid, text) for _, tid, _, text in sorted(events(run))]
    first = [tid for tid, t in texts if t == "signal: stop accepting, drain"]
    second = [tid for tid, t in texts if t == "second signal: abort now"]
    aborted = [tid for tid, t in texts if t == "aborted"]
    check(len(first) == 1 and second == first, "'signal: stop accepting, drain' and 'second signal: abort now', from one thread")
    check(aborted and first[0] not in aborted, f"{len(aborted)} 'aborted' line(s), from worker threads")
    check(run.metric("sync", "lost") == 0 and run.metric("sync", "aborted") >= 1, "aborted jobs counted, none lost")


@solution("04-shutdown", 2)
def shutdown_2(ch):
    """Without the lock, the stop request's notification can come between a worker's check and its wait: it sleeps until the drain deadline."""
    args = ("--mode", "sync", "--workers", 1, "--producers", 1, "--submit-every-ms", 5000, "--shutdown-after-ms", 100,
            "--drain-ms", 2000)
    locked = ch.run(*args, patch="ex2-locked")
    lost = ch.run(*args, patch="ex2")
    # The worker reads "nothing to do" at 0 ms and sleeps at 200 ms; the signal comes at 100 ms.
    check(locked.metric("sync", "drain_overrun") == 0, f"with the lock: exit {locked.metric('sync', 'signal_to_exit_ms'):.0f} ms after the signal, no overrun")
    check(lost.metric("sync", "drain_overrun") == 1 and lost.metric("sync", "signal_to_exit_ms") >= 2000,
          f"without it: the worker slept through the wake-up, to the drain deadline ({lost.metric('sync', 'signal_to_exit_ms'):.0f} ms)")


@solution("04-shutdown", 3)
def shutdown_3(ch):
    """Refusing with a reply: jobs after the signal are counted as rejected, none lost."""
    r = ch.run("--mode", "async", "--shutdown-after-ms", 300, patch="ex3")
    rejected, lost = r.metric("async", "rejected"), r.metric("async", "lost")
    check(rejected > 0 and lost == 0, f"{rejected:.0f} jobs refused, {lost:.0f} lost, {r.metric('async', 'completed'):.0f} completed")


def http_get(conn, path):
    """One request on an open connection: (status, headers, body), or None if the connection ended."""
    try:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        while len(body) < int(headers.get("content-length", 0)):
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(lines[0].split()[1]), headers, body.decode()
    except OSError:
        return None


def new_get(port, path):
    """The answer a new client gets, or "refused" when nothing listens any more."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            return http_get(c, path)
    except ConnectionRefusedError:
        return "refused"


class Server:
    """Chapter 05's http-server on 127.0.0.1, port 0, in its own process group."""

    def __init__(self, exe, *args):
        self.proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", "0", *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening \S+:(\d+)", line)
        if not m:
            self.stop()
            raise Failed(f"http-server printed {line!r}")
        self.port = int(m[1])

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
        self.proc.wait()


@solution("05-http-service", 1)
def http_service_1(ch):
    """2,000 connections: a server thread per connection (sync), two (async); kernel_thread_kib prices each at 16 KiB."""
    r = ch.run("--connections", 2000, "--server-threads", 2, "--duration-ms", 500)
    sync, asyn = r.metric("sync", "peak_threads"), r.metric("async", "peak_threads")
    check(sync >= 2000 and asyn <= 3, f"server threads: sync {sync}, async {asyn}")
    for v in ("sync", "async"):
        check(r.metric(v, "kernel_thread_kib") == 16 * r.metric(v, "peak_threads"), f"{v}: kernel_thread_kib {r.metric(v, 'kernel_thread_kib'):.0f} = 16 KiB x its threads")


@solution("05-http-service", 2)
def http_service_2(ch):
    """A blocking server switches at least once per request (each thread sleeps in read and in its downstream wait); a busy loop far less."""
    r = ch.run("--connections", 1000, "--server-threads", 2, "--duration-ms", 500)
    per = {v: r.metric(v, "ctx_voluntary") / r.metric(v, "requests_ok") for v in ("sync", "async")}
    check(per["sync"] >= 1, f"sync: {per['sync']:.2f} voluntary switches per request")
    check(per["async"] < per["sync"] / 2, f"async: {per['async']:.2f} per request")


@solution("05-http-service", 3)
def http_service_3(ch):
    """Open loop: the p99 from the schedule is never below the p99 from each send (what a closed-loop tool reports)."""
    r = ch.run("--rate", 20000, "--connections", 1000, "--server-threads", 2, "--duration-ms", 1000)
    for v in ("sync", "async"):
        corrected, uncorrected = r.metric(v, "latency_us")["p99"] / 1000, r.metric(v, "uncorrected_p99_ms")
        check(corrected >= uncorrected * 0.99, f"{v}: p99 {corrected:.1f} ms from the schedule, {uncorrected:.1f} ms from each send")


@solution("05-http-service", 4)
def http_service_4(ch):
    """Both shapes serve the same load, every answer right; which is faster is this machine's figure."""
    runs = {shape: ch.run("--mode", "async", "--shape", shape, "--server-threads", 2, "--connections", 1000, "--duration-ms", 1000)
            for shape in ("reuseport", "shared")}
    for shape, r in runs.items():
        check(r.metric("async", "errors") == 0 and r.metric("async", "connected") == 1000,
              f"{shape}: 1,000 connected, no errors, {r.metric('async', 'throughput_ops_s'):.0f} requests/s")
    check(runs["reuseport"].records["async"]["result_digest"] == runs["shared"].records["async"]["result_digest"], "the same answers")


@solution("05-http-service", 5)
def http_service_5(ch):
    """After SIGTERM: readyz 503 while new and open connections are served; then new ones are refused and open ones closed."""
    exe = str(pathlib.Path(ch.exe).parent / "http-server")
    for model in ("sync", "async"):
        s = Server(exe, "--model", model, "--unready-ms", 3000)
        try:
            kept = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            check(http_get(kept, "/healthz")[0] == 200, f"{model}: a keep-alive connection open before the signal")
            os.kill(s.proc.pid, signal.SIGTERM)
            for _ in range(200):  # the signal is handled when it is handled: ask until readyz says so
                ready = new_get(s.port, "/readyz")
                if ready != "refused" and ready and ready[0] == 503:
                    break
                time.sleep(0.01)
            check(ready[0] == 503 and "draining" in ready[2], f"{model}, in the window: new clients' /readyz 503 draining")
            check(new_get(s.port, "/work?delay_ms=0&bytes=3")[0] == 200, f"{model}, in the window: new clients' /work 200")
            during = http_get(kept, "/work?delay_ms=0&bytes=3")
            check(during and during[0] == 200, f"{model}, in the window: the open connection's /work 200")
            for _ in range(600):  # then the listener closes
                if new_get(s.port, "/readyz") == "refused":
                    break
                time.sleep(0.01)
            check(new_get(s.port, "/work") == "refused", f"{model}, after the window: new clients refused (nothing listens)")
            after = http_get(kept, "/work?delay_ms=0&bytes=3")
            check(after is None or after[1].get("connection") == "close",
                  f"{model}, after the window: the open connection is closed by the drain ({'closed' if after is None else 'Connection: close'})")
            kept.close()
            check(s.proc.wait(timeout=15) == 0, f"{model}: exit 0 after the drain")
        finally:
            s.stop()


@solution("06-worker-queue", 1)
def worker_queue_1(ch):
    """A full queue parks the producer (a thread in the condition variable, a coroutine in the channel's send); reject never waits."""
    for mode in ("sync", "async"):
        r = ch.run("--pattern", "burst", "--mode", mode, "--narrate")
        waits = sum(1 for line in r.lines() if line.endswith("wait for room"))
        check(waits > 0 and waits == r.metric(mode, "waits_for_room"),
              f"{mode}, block: {waits} 'wait for room' lines (= waits_for_room), the producer up to {r.metric(mode, 'producer_lag_max_ms'):.0f} ms behind")
    r = ch.run("--pattern", "burst", "--mode", "sync", "--when-full", "reject", "--narrate")
    waits = sum(1 for line in r.lines() if line.endswith("wait for room"))
    check(waits == 0 and r.metric("sync", "rejected") > 0, f"sync, reject: no wait, {r.metric('sync', 'rejected'):.0f} rejected")


@solution("06-worker-queue", 2)
def worker_queue_2(ch):
    """Unbounded, a burst's backlog grows at (factor - 1) x capacity jobs per second, each holding its payload: RSS grows with it."""
    rss = {}
    for burst in (100, 600):
        r = ch.run("--mode", "sync", "--pattern", "burst", "--queue-capacity", 0, "--burst-ms", burst)
        rss[burst] = r.metric("sync", "peak_rss_kib")
        capacity = r.metric("sync", "capacity_per_s")
    slope = (rss[600] - rss[100]) / 500
    expected = (4 - 1) * capacity / 1000 * 128  # jobs per ms of burst x 128 KiB each
    check(0.75 * expected <= slope <= 1.25 * expected, f"{slope:.0f} KiB per ms of burst; the backlog's payload predicts {expected:.0f}")


@solution("06-worker-queue", 3)
def worker_queue_3(ch):
    """block-for-ms: a push that waits longer is rejected, nothing is lost, and the producer is never much more than N ms behind."""
    for mode in ("sync", "async"):
        block = ch.run("--pattern", "burst", "--mode", mode)
        bounded = ch.run("--pattern", "burst", "--mode", mode, "--when-full", "block-for-ms", "--block-ms", 50, patch="ex3")
        rejected, lost = bounded.metric(mode, "rejected"), bounded.metric(mode, "lost")
        check(rejected > 0 and lost == 0, f"{mode}: {rejected:.0f} pushes timed out into `rejected`, {lost:.0f} lost")
        lag, lag_block = bounded.metric(mode, "producer_lag_max_ms"), block.metric(mode, "producer_lag_max_ms")
        # Each job waits 50 ms at most; a producer's jobs come one after another, so its lag is
        # bounded by a few waits, not by the burst: under half of block's here.
        check(lag < lag_block / 2, f"{mode}: producer lag at most {lag:.0f} ms, against {lag_block:.0f} ms when it blocks")


@solution("06-worker-queue", 4)
def worker_queue_4(ch):
    """Counting sends and receives as they complete counts a job handed to a waiting worker as queued: peak_depth passes the capacity."""
    r = ch.run("--mode", "async", "--pattern", "burst", "--queue-capacity", 1, "--workers", 4, patch="ex4", check_rc=False)
    check(r.metric("async", "peak_depth") > 1, f"peak_depth {r.metric('async', 'peak_depth'):.0f} with a capacity of 1")
    check(r.metric("async", "over_capacity") > 0, f"over_capacity {r.metric('async', 'over_capacity'):.0f}: bounded-means-bounded-async fails on it")


def call_times(run):
    """When each call went (ms), in order."""
    return sorted(ms for ms, _, _, text in events(run) if text == "call")


@solution("07-rate-limit", 1)
def rate_limit_1(ch):
    """100 per 1,000 ms window, 200 callers at once: 100 wait, and the second hundred go a window after the first, in both algorithms."""
    for algorithm in ("fixed-window", "sliding-log"):
        r = ch.run("--algorithm", algorithm, "--window-ms", 1000, "--rate-per-s", 100, "--clients", 200, "--calls", 1,
                   "--mode", "async", "--narrate")
        waited = sum(1 for _, _, _, text in events(r) if text == "wait for a turn")
        calls = call_times(r)
        check(waited == 100 and len(calls) == 200, f"{algorithm}: {waited} waited for a turn")
        # The limiter cannot let the 101st go sooner than a window after the first (minus the
        # moments between the window's start and the first call): a lower bound, not a speed.
        check(calls[100] - calls[0] >= 900, f"{algorithm}: the second hundred from {calls[100] - calls[0]:.0f} ms after the first call")


@solution("07-rate-limit", 2)
def rate_limit_2(ch):
    """A waiting caller costs a thread's stack in sync (over 4x what a coroutine's frame costs in async)."""
    per = {}
    for mode in ("sync", "async"):
        rss = {c: ch.run("--mode", mode, "--calls", 1, "--rate-per-s", 5000, "--clients", c).metric(mode, "peak_rss_kib")
               for c in (100, 2000)}
        per[mode] = (rss[2000] - rss[100]) / 1900
        print(f"  {mode}: {per[mode]:.2f} KiB of RSS per client")
    check(per["sync"] > 4 * per["async"], f"sync {per['sync']:.1f} KiB per client, async {per['async']:.2f}")


@solution("07-rate-limit", 3)
def rate_limit_3(ch):
    """A leaky bucket with room for 300 refuses nobody of the 300 calls, and makes callers wait longer."""
    small = ch.run("--algorithm", "leaky-bucket", "--mode", "async")
    big = ch.run("--algorithm", "leaky-bucket", "--mode", "async", "--burst", 300)
    check(small.metric("async", "rejected") > 0 and big.metric("async", "rejected") == 0,
          f"rejected: {small.metric('async', 'rejected'):.0f} with --burst 20, 0 with 300")
    wait_small, wait_big = small.metric("async", "latency_us")["max"], big.metric("async", "latency_us")["max"]
    check(wait_big > wait_small, f"the longest wait: {wait_small / 1000:.0f} ms with 20, {wait_big / 1000:.0f} ms with 300")


@solution("07-rate-limit", 4)
def rate_limit_4(ch):
    """The token bucket with max_wait: its first test passes, and the chapter's other limiter tests still do."""
    check(ch.catch("ex4", "[max-wait]") == 0, "the new test passes")
    # The limiters' own tests (the others run the chapter's executable, which this build does not replace).
    check(ch.catch("ex4", "token bucket*,leaky bucket*,fixed window*,sliding*,no limiter*") == 0,
          "the limiters' other tests pass with max_wait in Limits")


def first_open_s(run, variant):
    """When the breaker first opened (s into the run), or None."""
    return next((t for t, state in run.records[variant]["series"]["breaker_state"] if state == 2), None)


@solution("08-circuit-breaker", 1)
def circuit_breaker_1(ch):
    """With a slow-call threshold below the healthy call's time, the breaker opens while the backend is healthy, and ok collapses."""
    stall = ("--mode", "async", "--outage-kind", "stall", "--breaker", "on")
    plain = ch.run(*stall)
    slow = ch.run(*stall, "--slow-call-ms", 50, "--call-ms", 60)
    opened_plain, opened_slow = first_open_s(plain, "async"), first_open_s(slow, "async")
    # Healthy for the first 300 ms: without the threshold nothing fails before the outage.
    check(opened_plain is not None and opened_plain >= 0.3, f"without the threshold: first open at {opened_plain * 1000:.0f} ms, after the outage began (300 ms)")
    check(opened_slow is not None and opened_slow < 0.3, f"with it: first open at {opened_slow * 1000:.0f} ms, while the backend was healthy")
    check(slow.metric("async", "ok") < plain.metric("async", "ok") / 2,
          f"ok {slow.metric('async', 'ok'):.0f} with the threshold, {plain.metric('async', 'ok'):.0f} without")


@solution("08-circuit-breaker", 2)
def circuit_breaker_2(ch):
    """One probe every 20 ms recovers fast and calls the dead backend more; ten probes every 500 ms spare it and recover late."""
    quick = ch.run("--mode", "async", "--half-open-probes", 1, "--open-ms", 20)
    careful = ch.run("--mode", "async", "--half-open-probes", 10, "--open-ms", 500)
    calls_q, calls_c = quick.metric("async", "outage_backend_calls"), careful.metric("async", "outage_backend_calls")
    check(calls_q > calls_c, f"backend calls during the outage: {calls_q:.0f} against {calls_c:.0f}")
    rec_q = quick.records["async"]["counters"].get("recovery_to_closed_ms")
    rec_c = careful.records["async"]["counters"].get("recovery_to_closed_ms")
    check(rec_q is not None and (rec_c is None or rec_c > rec_q),
          f"closed again {rec_q:.0f} ms after the backend recovered, against {'never, within the run' if rec_c is None else f'{rec_c:.0f} ms'}")


@solution("08-circuit-breaker", 3)
def circuit_breaker_3(ch):
    """A time window: the new test passes, and every state-machine test of the count window still does."""
    check(ch.catch("ex3", "[time-window]") == 0, "the first test of the time window passes")
    check(ch.catch("ex3", "no verdict*,the window slides*,a slow success*,open refuses*,half-open*,a failed probe*,there is no path*,a breaker refuses*") == 0,
          "the breaker's other tests pass (window_time 0: the count window as before)")


@solution("08-circuit-breaker", 4)
def circuit_breaker_4(ch):
    """If attempt() throws, `||` waits for the timer: every failed call takes the whole timeout."""
    args = ("--mode", "async", "--breaker", "off", "--outage-kind", "error", "--timeout-ms", 100)
    value = ch.run(*args).metric("async", "outage_latency_p50_ms")
    thrown = ch.run(*args, patch="ex4").metric("async", "outage_latency_p50_ms")
    check(value < 50, f"a failure returned as a value: p50 {value:.1f} ms in the outage")
    check(thrown >= 90, f"a failure thrown: p50 {thrown:.1f} ms, the timeout")


@solution("09-blocking-in-the-loop", 1)
def blocking_in_the_loop_1(ch):
    """Every tick is either narrated or counted missed; blocking the loop moves ticks from the first to the second."""
    counts = {}
    for mode in ("async-blocking", "async-offload"):
        r = ch.run("--mode", mode, "--narrate")
        ticks = sum(1 for _, _, _, text in events(r) if text == "tick")
        missed = r.metric(mode, "ticks_missed")
        due = 10 * 600 // 5  # heartbeats x duration / tick
        check(ticks == r.metric(mode, "ticks") and ticks + missed == due, f"{mode}: {ticks} 'tick' lines + {missed:.0f} missed = {due} due")
        counts[mode] = missed
    check(counts["async-blocking"] > 0 and counts["async-offload"] == 0, "ticks missed only where the loop was blocked")


@solution("09-blocking-in-the-loop", 2)
def blocking_in_the_loop_2(ch):
    """A slice cannot be interrupted: the heartbeats' lag follows the slice, at least the slice long."""
    p99 = {}
    for slice_us in (1000, 50000):
        r = ch.run("--mode", "async-chunked", "--block-kind", "cpu", "--slice-us", slice_us)
        p99[slice_us] = r.metric("async-chunked", "lag_p99_ms")
        print(f"  slice {slice_us} us: lag p99 {p99[slice_us]:.1f} ms, max {r.metric('async-chunked', 'lag_max_ms'):.1f} ms")
    check(p99[50000] >= 45, f"50 ms slices: heartbeats' p99 lag {p99[50000]:.1f} ms (a tick may fall due just before a slice starts)")
    check(p99[1000] < p99[50000] / 2, f"1 ms slices: {p99[1000]:.1f} ms")


@solution("09-blocking-in-the-loop", 3)
def blocking_in_the_loop_3(ch):
    """Three overlapping 90 ms calls every 100 ms: a pool of three keeps up; a pool of one runs them one after another; the heartbeats do not notice either way."""
    args = ("--mode", "async-offload", "--blockers", 3, "--every-ms", 100, "--block-ms", 90)
    three = ch.run(*args)
    one = ch.run(*args, patch="ex3")
    for name, r in (("3", three), ("1", one)):
        check(r.metric("async-offload", "blocking_lost") == 0, f"a pool of {name}: {r.metric('async-offload', 'blocking_ops'):.0f} calls, all made")
    wall3, wall1 = three.metric("async-offload", "wall_s"), one.metric("async-offload", "wall_s")
    # One thread makes 18 sleeps of 90 ms one after another: 1.62 s at least.
    check(wall1 >= 18 * 0.090 and wall3 < wall1 / 1.5, f"the run takes {wall1:.2f} s with one pool thread, {wall3:.2f} s with three")
    for name, r in (("3", three), ("1", one)):
        check(r.metric("async-offload", "lag_p99_ms") < 45, f"a pool of {name}: heartbeats' p99 lag {r.metric('async-offload', 'lag_p99_ms'):.2f} ms")


@solution("09-blocking-in-the-loop", 4)
def blocking_in_the_loop_4(ch):
    """A sliced sleep still sleeps on the loop's thread, a slice at a time: the heartbeats wait out each slice."""
    r = ch.run("--mode", "async-chunked", "--block-kind", "sleep", "--slice-us", 20000)
    ops, on_loop = r.metric("async-chunked", "blocking_ops"), r.metric("async-chunked", "blocking_on_heartbeat_threads")
    check(ops > 0 and on_loop == ops, f"all {ops:.0f} sleeps ran on the heartbeats' thread")
    check(r.metric("async-chunked", "lag_p99_ms") >= 15, f"20 ms slices of sleep: heartbeats' p99 lag {r.metric('async-chunked', 'lag_p99_ms'):.1f} ms")
    off = ch.run("--mode", "async-offload", "--block-kind", "sleep")
    check(off.metric("async-offload", "blocking_on_heartbeat_threads") == 0, "offloaded, no sleep on the heartbeats' thread")


@solution("10-scheduling-costs", 1)
def scheduling_costs_1(ch):
    """Pinned or not, a thread's hand-off goes through the kernel and a coroutine's does not."""
    for pin in ("one-core", "none"):
        r = ch.run("--pin", pin, "--mode", "threads,stackless", "--round-trips", 5000)
        threads, coros = r.metric("threads", "ctx_per_round_trip"), r.metric("stackless", "ctx_per_round_trip")
        check(threads >= 1 and coros < 0.01, f"--pin {pin}: {threads:.2f} context switches per round trip for threads, {coros:.4f} for coroutines "
                                             f"({r.metric('threads', 'ns_per_switch'):.0f} and {r.metric('stackless', 'ns_per_switch'):.0f} ns a switch)")


@solution("10-scheduling-costs", 2)
def scheduling_costs_2(ch):
    """A coroutine parked on a channel costs about what one parked on a timer does: the frame dominates."""
    b = {park: ch.run("--scenario", "memory", "--mode", "stackless", "--park-on", park).metric("stackless", "bytes_per_unit")
         for park in ("timer", "channel")}
    check(abs(b["channel"] - b["timer"]) < 0.25 * b["timer"], f"bytes per unit: timer {b['timer']:.0f}, channel {b['channel']:.0f}")


@solution("10-scheduling-costs", 3)
def scheduling_costs_3(ch):
    """A spawn's cost does not depend on the work: a thread's is tens of times a coroutine's, so its crossover is that much later."""
    r = ch.run("--scenario", "spawn", "--spawns", 2000, "--work-ns", 10000, "--mode", "stackless,threads")
    thread, coro = r.metric("threads", "spawn_overhead_ns"), r.metric("stackless", "spawn_overhead_ns")
    check(thread > 10 * coro, f"spawn overhead: {thread / 1000:.1f} us a thread, {coro / 1000:.2f} us a coroutine")
    print(f"  under 10 % of the work from about {10 * thread / 1000:.0f} us (threads) and {10 * coro / 1000:.1f} us (coroutines)")


@solution("10-scheduling-costs", 4)
def scheduling_costs_4(ch):
    """The climb stops at the tightest limit the OS states; a limit it cannot see makes pthread_create refuse with EAGAIN."""
    r = ch.run("--scenario", "ceiling", "--mode", "threads", "--thread-reserve", 1000000)
    said = r.records["threads"]["info"]["stopped_by"]
    pid_max = int(pathlib.Path("/proc/sys/kernel/pid_max").read_text())
    threads_max = int(pathlib.Path("/proc/sys/kernel/threads-max").read_text())
    # The tighter of the two machine-wide limits (both count every thread on the machine).
    tightest = "kernel.pid_max" if pid_max - 300 <= threads_max else "kernel.threads-max"
    value = pid_max if tightest == "kernel.pid_max" else threads_max
    named = said.split(" = ")[0]
    if named in ("kernel.pid_max", "kernel.threads-max"):
        check(said.startswith(f"{tightest} = {value}"), f"stopped by {said!r}")
    else:  # a per-user, cgroup or mapping limit is tighter here
        check(named in ("ulimit -u", "the cgroup's pids.max", "vm.max_map_count"), f"stopped by {said!r}")
    refused = subprocess.run(["/bin/sh", "-c", 'ulimit -v 1048576 && exec "$0" "$@"', ch.exe, "--scenario", "ceiling",
                              "--mode", "threads", "--json", "-"], capture_output=True, text=True, timeout=120)
    said = Run(refused).records["threads"]["info"]["stopped_by"]
    check(said.startswith("the OS refused: Resource temporarily unavailable"), f"in 1 GiB of address space: {said.split(';')[0]!r}")


@solution("11-structured-concurrency", 1)
def structured_concurrency_1(ch):
    """A detached helper that cancels its handler's local timer after the handler returned: AddressSanitizer's heap-use-after-free."""
    exe = ch.patched("ex1", ("-fsanitize=address", "-fno-omit-frame-pointer"))
    print("  $ structured-concurrency --mode async-detached (async.cpp patched, with AddressSanitizer)", flush=True)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    proc = subprocess.run([exe, "--mode", "async-detached", "--json", "-"], capture_output=True, text=True, timeout=120, env=env)
    err = proc.stderr
    check(proc.returncode != 0 and "ERROR: AddressSanitizer: heap-use-after-free" in err, "AddressSanitizer stops it: heap-use-after-free")
    check("freed by thread" in err and "previously allocated by thread" in err, "with the stacks of the free and of the allocation")
    freed = err[err.index("freed by thread"):]
    check("structured_concurrency" in freed, "the freed memory is the handler's coroutine frame (freed by its coroutine's machinery)")


@solution("11-structured-concurrency", 3)
def structured_concurrency_3(ch):
    """A helper deaf to its stop token holds its scope open for all its calls: the scope ends 5 x 10 ms after the answer, not at once."""
    # The needed helper answers at once (--needed-ms 0); a deaf one sleeps out its 5 x 10 ms.  The
    # largest of 20 requests' figures: half of it, whatever the machine's delays.
    plain = ch.run("--mode", "sync-scoped", "--needed-ms", 0).metric("sync-scoped", "scope_end_ms_max")
    deaf = ch.run("--mode", "sync-scoped", "--needed-ms", 0, patch="ex3").metric("sync-scoped", "scope_end_ms_max")
    check(deaf >= 25, f"deaf helpers: the scope ends up to {deaf:.1f} ms after the first result")
    check(plain < deaf / 2, f"helpers that listen: {plain:.2f} ms")


@solution("12-errors-across-tasks", 1)
def errors_across_tasks_1(ch):
    """A hung child: every variant that waits for all its children never returns, unless a deadline ends the child."""
    variants = ["thread-terminate", "async-future", "jthread-ptr", "co-spawn-detached", "co-spawn-rethrow",
                "co-spawn-handler", "parallel-group", "as-tuple"]
    hung = ch.hang_each(variants, patch="ex1", seconds=8)
    # thread-terminate's child 3 throws on a thread: std::terminate ends the process first;
    # co-spawn-rethrow's first exception leaves io.run() and the parent stops waiting.
    expected = {v: v not in ("thread-terminate", "co-spawn-rethrow", "parallel-group") for v in variants}
    check(hung == expected, "never return: " + ", ".join(v for v in variants if hung[v]) +
          "; return: " + ", ".join(v for v in variants if not hung[v]))
    r = ch.run("--mode", "parallel-group", "--narrate", patch="ex1")
    ended = [text for _, _, task, text in events(r) if task == 1 and text.startswith("deadline")]
    check(ended == ["deadline: the child is cancelled"], "parallel-group: child 1 cancelled at its one-second deadline")


@solution("12-errors-across-tasks", 3)
def errors_across_tasks_3(ch):
    """Running the loop again after each exception saves the other children and observes every thrown failure; returned errors stay unseen."""
    v = "co-spawn-rethrow"
    once = ch.run("--mode", v)
    again = ch.run("--mode", v, patch="ex3")
    check(once.metric(v, "collateral") > 0 and again.metric(v, "collateral") == 0,
          f"collateral {once.metric(v, 'collateral'):.0f} when the loop stops, 0 when it runs again")
    check(again.metric(v, "failures_observed") == 2, "both thrown failures observed")
    values = ch.run("--mode", v, "--failure-kind", "error", patch="ex3")
    check(values.metric(v, "failures_observed") == 0 and values.metric(v, "collateral") == 0,
          "failures returned as values: the handler drops them, run() returns normally, nobody observes them")


@solution("13-shared-state", 1)
def shared_state_1(ch):
    """1 us of work under the lock: every variant that serialises the updates costs at least that much per update."""
    plain = ch.run()
    slow = ch.run(patch="ex1")
    for v in ("atomic", "sharded"):  # no one lock: the atomic has no critical section, sharded sixteen
        print(f"  {v}: {plain.metric(v, 'ns_per_op'):.0f} -> {slow.metric(v, 'ns_per_op'):.0f} ns per update")
    for v in ("mutex", "strand", "actor", "async-mutex", "channel-lock"):
        before, after = plain.metric(v, "ns_per_op"), slow.metric(v, "ns_per_op")
        print(f"  {v}: {before:.0f} -> {after:.0f} ns per update (+{after - before:.0f})")
        # Every update of the one shared state runs its microsecond while nothing else may update it.
        check(after >= 900, f"{v}: at least the microsecond each update holds the state")
        check(slow.metric(v, "total_error") == 0, f"{v}: the total still right")


@solution("13-shared-state", 2)
def shared_state_2(ch):
    """On one thread neither mutex is ever found taken: nothing runs while the holder holds it."""
    r = ch.run("--threads", 1, "--mode", "mutex,async-mutex")
    for v in ("mutex", "async-mutex"):
        check(r.metric(v, "lock_waits") == 0, f"{v}: lock_waits 0 on one thread")


@solution("13-shared-state", 3)
def shared_state_3(ch):
    """A std::mutex held across a co_await on two threads is sometimes unlocked by a thread that did not lock it."""
    for attempt in range(5):
        r = ch.run("--pitfall", "on", "--mode", "mutex", "--threads", 2, patch="ex3")
        locked, unlocks, cross = {}, 0, 0
        for line in r.lines():
            m = re.match(r"\s*task (\d+): mutex.lock\(\) on thread (\d+)", line)
            if m:
                locked[m[1]] = m[2]
            m = re.match(r"\s*task (\d+): resumed on thread (\d+), unlocks", line)
            if m:
                unlocks += 1
                cross += locked.get(m[1]) != m[2]
        if cross:
            break
    check(unlocks > 0 and cross > 0, f"{cross} of {unlocks} unlocks on another thread than the lock (run {attempt + 1})")


@solution("13-shared-state", 4)
def shared_state_4(ch):
    """An unfair unlock: fewer updates wait, the count stays right, and the mutex no longer serves its waiters in order."""
    def medians(patch):
        runs = [ch.run("--mode", "async-mutex", patch=patch) for _ in range(5)]
        check(all(r.metric("async-mutex", "total_error") == 0 for r in runs), "no update lost in 5 runs")
        waits = sorted(r.metric("async-mutex", "lock_waits") for r in runs)[2]
        ns = sorted(r.metric("async-mutex", "ns_per_op") for r in runs)[2]
        return waits, ns
    fair_waits, fair_ns = medians(None)
    unfair_waits, unfair_ns = medians("ex4")
    print(f"  medians of 5: lock_waits {fair_waits:.0f} (hand-over) and {unfair_waits:.0f} (wake to retry); "
          f"{fair_ns:.0f} and {unfair_ns:.0f} ns per update")
    # Contention needs the io_context's two threads to run at once, which a busy machine (or one
    # core) may not give: a hand-over mutex nobody found taken has nothing to compare.  The new
    # test below pins the unfairness down whatever the machine.
    if fair_waits >= 1000:
        check(unfair_waits < fair_waits, "fewer updates wait when a running coroutine may take a freed lock")
    else:
        print(f"  (the two threads hardly ran at once here: {fair_waits:.0f} waits with the hand-over; no comparison)")
    check(ch.catch("ex4", "the async mutex keeps coroutines*") == 0, "the mutex test on four threads still passes")
    check(ch.catch("ex4", "[unfair]") == 0, "the new test: a coroutine that never queued takes a freed lock before the woken waiter")


def main():
    if sys.argv[1:2] == ["--list"]:
        for (folder, n), fn in sorted(SOLUTIONS.items()):
            print(folder, n, fn.__name__)
        return 0
    root, build, manifest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
    wanted = sys.argv[4:]
    exes = {pathlib.Path(c["exe"]).parent.name: c["exe"] for c in json.loads(pathlib.Path(manifest).read_text())}
    failed, ran = [], 0
    for (folder, n), fn in sorted(SOLUTIONS.items()):
        if wanted and folder not in wanted:
            continue
        print(f"== {folder} exercise {n}: {fn.__doc__.strip().splitlines()[0]}", flush=True)
        ran += 1
        try:
            fn(Chapter(root, build, folder, exes[folder]))
        except (Failed, subprocess.SubprocessError) as e:
            print(f"  FAILED: {e}", flush=True)
            failed.append(f"{folder} ex{n}")
        except Exception:  # a check's own bug fails it, with its traceback, and the rest still run
            traceback.print_exc()
            failed.append(f"{folder} ex{n}")
    print(f"{ran - len(failed)} of {ran} solutions checked" + (f"; failed: {', '.join(failed)}" if failed else ""))
    if ran == 0:
        print("no solution matched", wanted)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
