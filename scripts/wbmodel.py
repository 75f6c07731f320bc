"""wbmodel — reading workbench result files: the trials, a chapter's sweep, metrics by name,
medians, histogram quantiles, a bootstrap interval, and numbers as text.

No drawing here (that is wbcharts), so scripts that only read results import this alone.  The
metric names and the number formats are the ones the C++ runner uses (runners/metrics.cpp,
common/format.cpp); tests/python_model.py holds both to the same fixtures.
"""
import json
import math
import random
import statistics

SCHEMA_MAJOR = "workbench.results/1"
DEFAULT_VARIANTS = ("sync", "async")  # a chapter that declares none, or a file from before they could


class ResultsError(Exception):
    pass


def load(paths):
    """Reads result files; returns (trials, contexts, descriptions).  Each trial gets `_host`."""
    trials, contexts, descriptions = [], [], {}
    for p in paths:
        try:
            with open(p) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise ResultsError(f"cannot read {p}: {e}")
        schema = doc.get("schema", "") if isinstance(doc, dict) else ""
        if not isinstance(schema, str) or schema.split("/")[0] != "workbench.results" or schema.split("/")[-1] != "1":
            raise ResultsError(f"{p} has schema {schema!r}; this script reads {SCHEMA_MAJOR}")
        if not isinstance(doc.get("trials"), list):
            raise ResultsError(f"{p} is not a workbench results file: \"trials\" is missing or not a list")
        for i, t in enumerate(doc["trials"]):
            if not (isinstance(t, dict) and isinstance(t.get("chapter"), str) and isinstance(t.get("variant"), str)
                    and isinstance(t.get("status"), str)
                    and all(isinstance(t.get(k, {}), dict) for k in ("params", "metrics", "counters"))):
                raise ResultsError(f"{p}: trial {i} is not a trial record (it needs chapter, variant and status; "
                                   "params, metrics and counters are objects)")
        if not isinstance(doc.get("context", {}), dict):
            raise ResultsError(f"{p}: \"context\" is not an object")
        ctx = doc.get("context", {})
        contexts.extend(doc.get("sources") or [ctx])
        for name, d in (doc.get("chapters") or {}).items():
            descriptions.setdefault(name, d)
        for t in doc.get("trials", []):
            t = dict(t)
            t["_host"] = t.get("host") or ctx.get("host", "?")
            t["_file"] = p
            trials.append(t)
    return trials, contexts, descriptions


# ------------------------------------------------------------------------------------------------
# values


def metric(t, name):
    """The value of a metric by the names `workbench check` uses; None when absent."""
    m = t.get("metrics") or {}
    try:
        if name == "cpu_s":
            return m["cpu_user_s"] + m["cpu_sys_s"]
        if name == "latency_sum_s":
            return m["latency_us"]["mean"] * m["latency_us"]["count"] / 1e6
        if name.startswith("latency_us."):
            return m["latency_us"][name.split(".", 1)[1]]
        if name.endswith("_us") and not name.startswith("latency") and name[:-3] in (m.get("latency_us") or {}):
            return m["latency_us"][name[:-3]]  # "p99_us", as `workbench check` accepts it
        if name in m:
            return m[name]
        return (t.get("counters") or {})[name.split("counters.")[-1]]
    except (KeyError, TypeError):
        return None


def ok(trials):
    return [t for t in trials if t.get("status") == "ok" and t.get("metrics")]


def fmt_value(v):
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def human_s(s):
    """"12.3 us", "4.56 ms", "1.234 s" — as common/format.cpp's human_seconds."""
    if s is None:
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def human_kib(k):
    """"512 KiB", "4.1 MiB", "1.25 GiB" — as common/format.cpp's human_kib."""
    if k is None:
        return "–"
    if k < 1024:
        return f"{k:.0f} KiB"
    if k < 1024 * 1024:
        return f"{k / 1024:.1f} MiB"
    return f"{k / 1024 / 1024:.2f} GiB"


# ------------------------------------------------------------------------------------------------
# a chapter's sweep


class Chapter:
    """One chapter's trials with its sweep worked out: which parameter is the x axis, which
    other parameters split the points into series, and which hosts the trials came from."""

    def __init__(self, name, trials, description=None):
        self.name = name
        self.trials = trials
        self.description = description or {}
        # The chapter's variants in its order (`declared` fixes each one's colour) and those
        # with trials here (`variants`, what a chart or table iterates); the baseline is what
        # every ratio is taken against.
        seen = list(dict.fromkeys(t["variant"] for t in trials))
        self.declared = list(self.description.get("variants") or DEFAULT_VARIANTS)
        self.declared += [v for v in seen if v not in self.declared]
        self.variants = [v for v in self.declared if v in seen]
        self.baseline = self.description.get("baseline") or self.declared[0]
        self.summaries = {i.get("name"): i.get("summary", "") for i in self.description.get("variant_info", [])}
        # Variants whose process may end early by design (12's thread-terminate): no speed, no ratio.
        self.ends_early = {i.get("name") for i in self.description.get("variant_info", []) if i.get("ends_early")}
        # Series (values over time) the trials carry, in the order the chapter documents them.
        documented = [d.get("name") for d in self.description.get("series", [])]
        found = list(dict.fromkeys(k for t in trials for k in (t.get("series") or {})))
        self.series_names = [n for n in documented if n in found] + [n for n in found if n not in documented]
        self.points = []
        for t in trials:
            if t["params"] not in self.points:
                self.points.append(t["params"])
        keys = list(self.points[0]) if self.points else []
        self.varying = [k for k in keys if any(p.get(k) != self.points[0].get(k) for p in self.points)]
        numeric = [k for k in self.varying
                   if all(isinstance(p.get(k), (int, float)) and not isinstance(p.get(k), bool) for p in self.points)]
        # The swept parameter: the numeric one with the most values, else any that varies.
        candidates = sorted(numeric, key=lambda k: -len({p[k] for p in self.points})) or self.varying
        self.x = candidates[0] if candidates else None
        self.x_numeric = self.x in numeric
        self.series_keys = [k for k in self.varying if k != self.x]
        # A chapter of several scenarios declares its quick points one by one (chapter 10: a
        # switch via a pipe, a spawn with 100 ns of work); there no one parameter is swept, and
        # the x axis is the points themselves, each labelled as it was declared.
        self.quick_points = [q for q in self.description.get("quick_points") or [] if q]
        self.by_point = bool(self.quick_points) and len(self.varying) > 1
        if self.by_point:
            self.x, self.x_numeric, self.series_keys = "point", False, []
        self.hosts = sorted({t["_host"] for t in trials})
        xs = [self.x_of(p) for p in self.points] if self.x else []
        self.x_values = sorted(set(xs)) if self.x_numeric else list(dict.fromkeys(xs))
        positive = [v for v in self.x_values if self.x_numeric and v > 0]
        self.x_log = self.x_numeric and len(positive) == len(self.x_values) and len(positive) > 1 and \
            max(positive) / min(positive) >= 10

    def series(self):
        """(label, host, variant, {x value: [trials]}) for every line to draw."""
        out = []
        combos = []
        for p in self.points:
            c = tuple((k, p.get(k)) for k in self.series_keys)
            if c not in combos:
                combos.append(c)
        for host in self.hosts:
            for combo in combos:
                for variant in self.variants:
                    by_x = {}
                    for t in self.trials:
                        if t["variant"] != variant or t["_host"] != host:
                            continue
                        if any(t["params"].get(k) != v for k, v in combo):
                            continue
                        x = self.x_of(t["params"]) if self.x else "defaults"
                        by_x.setdefault(x, []).append(t)
                    if not by_x:
                        continue
                    label = variant
                    if combo:
                        label += " " + " ".join(f"{k}={fmt_value(v)}" for k, v in combo)
                    if len(self.hosts) > 1:
                        label += f" @{host}"
                    out.append((label, host, variant, combo, by_x))
        return out

    def x_of(self, params):
        """Where a trial with these parameters goes on the x axis."""
        if not self.by_point:
            return params.get(self.x)
        # The declared point it matches most closely (most keys), else every varying key.
        matching = [q for q in self.quick_points if all(str(params.get(k)) == str(v) for k, v in q.items())]
        if matching:
            best = max(matching, key=len)
            return " ".join(f"{k}={v}" for k, v in best.items())
        return " ".join(f"{k}={fmt_value(params.get(k))}" for k in self.varying)

    def x_pos(self, x):
        if self.x_numeric or self.x is None:
            return x if self.x else 0
        return self.x_values.index(x)

    def missing(self):
        """Notes on trials that did not succeed."""
        notes = []
        for t in self.trials:
            if t.get("status") != "ok":
                where = " ".join(f"{k}={fmt_value(t['params'].get(k))}" for k in self.varying) or "defaults"
                notes.append(f"{t['variant']} {where} rep {t.get('repetition', 0) + 1}: {t.get('status')}")
        return notes


def headline_metric(ch):
    """What the ratio and drift charts compare by default: the chapter's declared headline, else
    wall time, unless the chapter runs for a fixed duration (a load test), where wall time says
    nothing and throughput says it all."""
    if ch.description.get("headline"):
        return ch.description["headline"]
    if ch.points and "duration_ms" in ch.points[0]:
        return "throughput_ops_s"
    return "wall_s"


def chapters_of(trials, descriptions):
    names = list(dict.fromkeys(t["chapter"] for t in trials))
    return [Chapter(n, [t for t in trials if t["chapter"] == n], descriptions.get(n)) for n in names]


def combo_index(ch, combo):
    combos = []
    for p in ch.points:
        c = tuple((k, p.get(k)) for k in ch.series_keys)
        if c not in combos:
            combos.append(c)
    return combos.index(combo) if combo in combos else 0


def medians(by_x, name, ch):
    xs, meds, lows, highs, counts = [], [], [], [], []
    for x in sorted(by_x, key=lambda v: ch.x_pos(v)):
        vals = [v for v in (metric(t, name) for t in ok(by_x[x])) if v is not None]
        if not vals:
            continue
        xs.append(ch.x_pos(x))
        meds.append(statistics.median(vals))
        lows.append(min(vals))
        highs.append(max(vals))
        counts.append(len(vals))
    return xs, meds, lows, highs, counts


# ------------------------------------------------------------------------------------------------
# statistics


def merged_buckets(trials):
    buckets = {}
    for t in ok(trials):
        for low, high, n in (t["metrics"].get("latency_us") or {}).get("histogram") or []:
            buckets[(low, high)] = buckets.get((low, high), 0) + n
    return sorted(buckets.items())


def quantile(buckets, q, low=None, high=None):
    """The nearest-rank q-quantile of histogram buckets ((low_ns, high_ns), n), in µs: the middle of
    its bucket, kept within [low, high] (µs: the smallest and largest latency seen) — as
    common/histogram.cpp computes the percentiles a record carries."""
    total = sum(n for _, n in buckets)
    rank = max(1, math.ceil(q * total))
    seen = 0
    value = (buckets[-1][0][0] + buckets[-1][0][1]) / 2 / 1e3
    for (lo, hi), n in buckets:
        seen += n
        if seen >= rank:
            value = (lo + hi) / 2 / 1e3
            break
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value


def bootstrap_ratio(base_vals, other_vals, resamples=2000, seed=7):
    """A 95% bootstrap interval of median(other) / median(base)."""
    rng = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        s = statistics.median(rng.choice(base_vals) for _ in base_vals)
        a = statistics.median(rng.choice(other_vals) for _ in other_vals)
        if s > 0:
            ratios.append(a / s)
    ratios.sort()
    if not ratios:
        return None
    return ratios[int(0.025 * (len(ratios) - 1))], ratios[int(0.975 * (len(ratios) - 1))]
