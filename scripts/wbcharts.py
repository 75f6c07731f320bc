"""wbcharts — drawing the project's charts from workbench result files (read by wbmodel).

Shared by scripts/plot (files for slides) and scripts/report (one offline HTML page).  Every
drawing function takes a matplotlib Axes and one chapter's trials, draws what the trials allow
and returns notes on what it could not draw, so a file with failed trials or missing metrics
still gives charts that say what is missing.  Needs Debian's python3-matplotlib.
"""
import json
import math
import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from wbmodel import (bootstrap_ratio, combo_index, fmt_value, headline_metric, medians,  # noqa: E402
                     merged_buckets, metric, ok, quantile)

# A variant's colour is its place in its chapter's list, the same in every chart and table of the
# project: the first (sync, in most chapters) blue, the second (async) orange, then green, red...
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]
HOST_STYLES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (1, 3)), "v")]
SPECTRUM = [0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999]


# ------------------------------------------------------------------------------------------------
# values


def colour(ch, variant):
    return PALETTE[ch.declared.index(variant) % len(PALETTE)]


def style(ch, host, combo_index=0):
    """The line style and marker of a host (and a series): colours are the variants'."""
    line, marker = HOST_STYLES[(ch.hosts.index(host) + combo_index) % len(HOST_STYLES)]
    return line, marker


def setup_x(ch, ax, log_y=False):
    """The x axis of a chapter's sweep: its swept parameter, log-scaled when it spans a decade."""
    if ch.x is None:
        ax.set_xticks([0])
        ax.set_xticklabels(["defaults"])
    elif ch.x_numeric:
        if ch.x_log:
            ax.set_xscale("log")
    elif ch.by_point:
        ax.set_xticks(range(len(ch.x_values)))
        ax.set_xticklabels([v.replace(" ", "\n") for v in ch.x_values], fontsize=6)
    else:
        ax.set_xticks(range(len(ch.x_values)))
        ax.set_xticklabels([fmt_value(v) for v in ch.x_values])
    ax.set_xlabel(ch.x or "")
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.3)


def _positive(ax, values):
    """Log axes only for positive values."""
    return all(v > 0 for v in values) and len(values) > 0


# ------------------------------------------------------------------------------------------------
# 1. latency p50 and p99 against the swept parameter


def draw_latency(ax, ch):
    notes, allv = [], []
    for label, host, variant, combo, by_x in ch.series():
        line, marker = style(ch, host, combo_index(ch, combo))
        for q, ls, alpha in (("p50", line, 1.0), ("p99", ":", 0.8)):
            xs, meds, _, _, _ = medians(by_x, "latency_us." + q, ch)
            meds = [m / 1e3 for m in meds]
            if xs:
                ax.plot(xs, meds, linestyle=ls, marker=marker, color=colour(ch, variant), alpha=alpha,
                        label=f"{label} {q}")
                allv += meds
    if allv and not any(v > 0 for v in allv):  # a chapter that times units, not operations
        for line in list(ax.get_lines()):
            line.remove()
        allv = []
    if not allv:
        notes.append("no latency figures")
        empty_panel(ax, "no latency figures in these trials")
    setup_x(ch, ax, log_y=_positive(ax, allv) and max(allv) / max(min(allv), 1e-9) >= 10)
    ax.set_ylabel("latency, ms (solid p50, dotted p99)")
    ax.set_title(f"{ch.name}: latency")
    return notes


# 2. throughput against the swept parameter, with the spread over repetitions


def draw_throughput(ax, ch):
    notes, any_drawn = [], False
    unit = ch.description.get("ops_unit") or "op"
    for label, host, variant, combo, by_x in ch.series():
        line, marker = style(ch, host, combo_index(ch, combo))
        xs, meds, lows, highs, counts = medians(by_x, "throughput_ops_s", ch)
        if not xs:
            continue
        any_drawn = True
        ax.plot(xs, meds, linestyle=line, marker=marker, color=colour(ch, variant), label=f"{label} (n={min(counts)})")
        if ch.x_numeric or ch.x is None:
            ax.fill_between(xs, lows, highs, color=colour(ch, variant), alpha=0.18, linewidth=0)
        else:
            ax.errorbar(xs, meds, yerr=[[m - lo for m, lo in zip(meds, lows)], [h - m for m, h in zip(meds, highs)]],
                        fmt="none", ecolor=colour(ch, variant), capsize=3)
    if not any_drawn:
        notes.append("no throughput figures")
        empty_panel(ax, "no throughput figures in these trials")
    setup_x(ch, ax)
    ax.set_ylabel(f"{unit}s per second (band: min..max)")
    ax.set_title(f"{ch.name}: throughput")
    return notes


# 3. peak RSS per in-flight task and peak threads against N (log-log)


NOT_COUNTS = {"ms", "s", "us", "ns", "KiB", "MiB", "GiB", "bytes", "share", "%", ""}
COUNT_NAMES = {"n", "tasks", "calls", "concurrency", "connections", "files", "producers", "workers", "clients"}


def _x_is_count(ch):
    """Whether the swept parameter counts things that are in flight together (tasks, calls,
    connections) rather than measuring time or size: only then is it an N for scaling."""
    if not ch.x_numeric:
        return False
    for o in ch.description.get("options", []):
        if o.get("param") == ch.x and "unit" in o:
            return (o.get("unit") or "") not in NOT_COUNTS
    return ch.x in COUNT_NAMES


def _in_flight(t, ch):
    n = (t.get("counters") or {}).get("peak_in_flight")
    if n:
        return n
    if _x_is_count(ch):
        return t["params"].get(ch.x)
    return None


def empty_panel(ax, message):
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=8, color="#777777",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_scaling(ax_rss, ax_threads, ch):
    notes = []
    drawn = False
    for label, host, variant, combo, by_x in ch.series():
        line, marker = style(ch, host, combo_index(ch, combo))
        pts = []
        for x, ts in by_x.items():
            rows = []
            for t in ok(ts):
                n = _in_flight(t, ch)
                m = t["metrics"]
                if not n or n <= 0:
                    continue
                growth = max(m.get("peak_rss_kib", 0) - m.get("start_rss_kib", 0), 0)
                rows.append((n, growth / n, m.get("peak_threads", 0)))
            if rows:
                pts.append((statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows),
                            statistics.median(r[2] for r in rows)))
        pts.sort()
        if not pts:
            continue
        drawn = True
        ax_rss.plot([p[0] for p in pts], [max(p[1], 1e-3) for p in pts], linestyle=line, marker=marker,
                    color=colour(ch, variant), label=label)
        ax_threads.plot([p[0] for p in pts], [max(p[2], 1) for p in pts], linestyle=line, marker=marker,
                        color=colour(ch, variant), label=label)
    if not drawn:
        why = "no in-flight count: no peak_in_flight counter, and the swept parameter is not a count of tasks"
        notes.append(why)
        for ax in (ax_rss, ax_threads):
            empty_panel(ax, why.replace(", and", ",\nand"))
    for ax, title, unit in ((ax_rss, "RSS growth per in-flight task", "KiB per task"),
                            (ax_threads, "peak threads", "threads")):
        if drawn:
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel("tasks in flight (N)")
        ax.set_ylabel(unit)
        ax.set_title(f"{ch.name}: {title}")
        ax.grid(True, which="major", alpha=0.3)
    return notes


# 4. latency percentile spectrum at one point


def spectrum_point(ch, at=None):
    """The point to draw the spectrum at: `at` (a dict) when given and present, else the largest x."""
    if at:
        for p in ch.points:
            if all(fmt_value(p.get(k)) == fmt_value(v) for k, v in at.items()):
                return p
    if ch.x is None:
        return ch.points[0]
    best = max(ch.points, key=lambda p: ch.x_pos(ch.x_of(p)))
    return best


def draw_spectrum(ax, ch, at=None):
    notes = []
    point = spectrum_point(ch, at)
    where = " ".join(f"{k}={fmt_value(point.get(k))}" for k in ch.varying) or "defaults"
    xs_p = [1 / (1 - q) if q < 1 else 1e4 for q in SPECTRUM]
    drawn = False
    for host in ch.hosts:
        for variant in ch.variants:
            ts = [t for t in ch.trials if t["params"] == point and t["variant"] == variant and t["_host"] == host]
            good = ok(ts)
            if not good:
                continue
            drawn = True
            line, marker = style(ch, host)
            label = variant + (f" @{host}" if len(ch.hosts) > 1 else "")
            buckets = merged_buckets(good)
            if buckets:
                lats = [t["metrics"].get("latency_us") or {} for t in good]
                low = min((x["min"] for x in lats if "min" in x), default=None)
                high = max((x["max"] for x in lats if "max" in x), default=None)
                ys = [quantile(buckets, q, low, high) / 1e3 for q in SPECTRUM]
                ax.plot(xs_p, ys, linestyle=line, marker=marker, color=colour(ch, variant),
                        label=f"{label} ({sum(n for _, n in buckets)} ops, {len(good)} runs)")
            else:
                # Older files carry only the summary: draw those points and say so.
                lat = statistics.median
                pts = [(1, "min"), (2, "p50"), (10, "p90"), (100, "p99"), (1000, "p999")]
                xs = [x for x, k in pts if all(k in (t["metrics"].get("latency_us") or {}) for t in good)]
                ys = [lat(t["metrics"]["latency_us"][k] for t in good) / 1e3 for x, k in pts if x in xs]
                ax.plot(xs, ys, linestyle="none", marker=marker, color=colour(ch, variant), label=f"{label} (summary only)")
                notes.append(f"{variant}: no histogram in the trials, summary percentiles only")
    if not drawn:
        notes.append(f"no successful trial at {where}: spectrum not drawn")
        empty_panel(ax, f"no successful trial at {where}")
        ax.set_title(f"{ch.name}: latency spectrum", fontsize=9)
        return notes
    if not any(y > 0 for line in ax.get_lines() for y in line.get_ydata()):
        # A chapter that times units, not operations (switches, spawns, updates) records no
        # per-operation latency: say so rather than draw zeros on a log scale.
        for line in list(ax.get_lines()):
            line.remove()
        notes.append(f"no per-operation latency recorded at {where}: spectrum not drawn")
        empty_panel(ax, "this chapter records no per-operation latency")
        ax.set_title(f"{ch.name}: latency spectrum", fontsize=9)
        return notes
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([1, 2, 10, 100, 1000, 10000])
    ax.set_xticklabels(["p0", "p50", "p90", "p99", "p99.9", "p99.99"])
    ax.set_xlabel("percentile (axis 1/(1-p))")
    ax.set_ylabel("latency, ms")
    ax.set_title(f"{ch.name}: latency spectrum at {where}", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    return notes


# 5. each variant's ratio to the baseline variant, with a bootstrap interval


def draw_ratio(ax, ch, name=None):
    name = name or headline_metric(ch)
    notes, drawn = [], False
    base = ch.baseline
    for host in ch.hosts:
        by_combo = {}
        for label, h, variant, combo, by_x in ch.series():
            if h == host:
                by_combo.setdefault(combo, {})[variant] = by_x
        for ci, (combo, variants) in enumerate(by_combo.items()):
            if base not in variants:
                continue
            for variant in [v for v in ch.variants if v != base and v in variants and v not in ch.ends_early]:
                xs, rs, lo, hi = [], [], [], []
                for x in sorted(set(variants[base]) & set(variants[variant]), key=ch.x_pos):
                    s = [v for v in (metric(t, name) for t in ok(variants[base][x])) if v is not None]
                    a = [v for v in (metric(t, name) for t in ok(variants[variant][x])) if v is not None]
                    if not s or not a or statistics.median(s) <= 0:
                        continue
                    r = statistics.median(a) / statistics.median(s)
                    ci95 = bootstrap_ratio(s, a) or (r, r)
                    xs.append(ch.x_pos(x))
                    rs.append(r)
                    lo.append(max(r - ci95[0], 0))
                    hi.append(max(ci95[1] - r, 0))
                if not xs:
                    continue
                drawn = True
                line, marker = style(ch, host, ci)
                label = " ".join([f"{variant} / {base}"] + [f"{k}={fmt_value(v)}" for k, v in combo])
                if len(ch.hosts) > 1:
                    label += f" @{host}"
                ax.errorbar(xs, rs, yerr=[lo, hi], linestyle=line if ch.x_numeric else "none", marker=marker,
                            capsize=4, color=colour(ch, variant), label=label)
    ax.axhline(1.0, color=colour(ch, base), linewidth=1)
    for variant in sorted(ch.ends_early & set(ch.variants)):
        notes.append(f"{variant}: its process may end early by design; no ratio drawn")
    if not drawn:
        notes.append(f"no point has {base}'s and another variant's {name}: ratio not drawn")
        empty_panel(ax, f"no point has {base}'s and another variant's {name}")
    setup_x(ch, ax, log_y=False)
    ax.set_ylabel(f"variant / {base}, {name} (95% bootstrap)")
    ax.set_title(f"{ch.name}: ratio of {name} to {base}")
    return notes


# 6. trial order against value (drift)


def draw_drift(ax, ch, name=None):
    name = name or headline_metric(ch)
    notes = []
    groups = {}
    for t in ok(ch.trials):
        v = metric(t, name)
        if v is not None:
            groups.setdefault((json.dumps(t["params"], sort_keys=True), t["variant"], t["_host"]), []).append((t, v))
    for variant in ch.variants:
        xs, ys = [], []
        for (_, var, _), rows in groups.items():
            if var != variant:
                continue
            med = statistics.median(v for _, v in rows)
            for t, v in rows:
                if med > 0 and "order" in t:
                    xs.append(t["order"])
                    ys.append(v / med)
        if xs:
            ax.scatter(xs, ys, s=14, color=colour(ch, variant), label=variant)
    if not groups:
        notes.append("no successful trials: drift not drawn")
        empty_panel(ax, "no successful trials")
    ax.axhline(1.0, color="black", linewidth=1)
    ax.set_xlabel("trial order in the run")
    ax.set_ylabel(f"{name} / median of its point")
    ax.set_title(f"{ch.name}: drift over the run")
    ax.grid(True, alpha=0.3)
    return notes


# 7. a series over time (queue depth, loop lag) at one point, every repetition


def draw_series(ax, ch, name, at=None):
    notes = []
    point = spectrum_point(ch, at)
    where = " ".join(f"{k}={fmt_value(point.get(k))}" for k in ch.varying) or "defaults"
    doc = next((d for d in ch.description.get("series", []) if d.get("name") == name), {})
    drawn = False
    for host in ch.hosts:
        line, _ = style(ch, host)
        for variant in ch.variants:
            ts = [t for t in ok(ch.trials) if t["params"] == point and t["variant"] == variant and t["_host"] == host]
            for i, t in enumerate(ts):
                pts = (t.get("series") or {}).get(name)
                if not pts:
                    continue
                drawn = True
                label = variant + (f" @{host}" if len(ch.hosts) > 1 else "") if i == 0 else None
                ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", linestyle=line,
                        color=colour(ch, variant), alpha=1.0 if i == 0 else 0.35, label=label)
    if not drawn:
        notes.append(f"no {name} series at {where}")
        empty_panel(ax, f"no {name} series at {where}")
    ax.set_xlabel("seconds since the measured region began")
    ax.set_ylabel(f"{name}" + (f", {doc['unit']}" if doc.get("unit") else ""))
    ax.set_title(f"{ch.name}: {name} over time at {where}", fontsize=9)
    ax.grid(True, alpha=0.3)
    return notes


KINDS = ["latency", "throughput", "scaling", "spectrum", "ratio", "drift"]  # and "series", where a chapter has one


def caption(ch, contexts, notes):
    commits = sorted({c.get("git", "?") for c in contexts})
    counts = {v: len([t for t in ch.trials if t["variant"] == v]) for v in ch.variants}
    oks = {v: len([t for t in ok(ch.trials) if t["variant"] == v]) for v in ch.variants}
    text = (f"{ch.name}: " + ", ".join(f"{v} {oks[v]}/{counts[v]}" for v in ch.variants) + " ok trials; "
            f"host {', '.join(ch.hosts)}; commit {', '.join(commits)}")
    missing = ch.missing()
    if missing:
        text += "\nnot ok: " + "; ".join(missing)[:240]
    if notes:
        text += "\nnot drawn: " + "; ".join(sorted(set(notes)))[:240]
    return text


def chapter_sheet(ch, contexts, ratio_metric=None, at=None):
    """One figure with every chart kind for one chapter (the report's picture of it)."""
    fig, grid = plt.subplots(2, 4, figsize=(20, 8.5))
    a = grid.flat
    notes = []
    notes += draw_latency(a[0], ch)
    notes += draw_throughput(a[1], ch)
    notes += draw_scaling(a[2], a[3], ch)
    notes += draw_spectrum(a[4], ch, at)
    notes += draw_ratio(a[5], ch, ratio_metric)
    notes += draw_drift(a[6], ch)
    a[7].axis("off")
    # The shared legend explains colours and line styles; panels whose labels carry counts or
    # series of their own keep a small legend.
    a[7].legend(*a[0].get_legend_handles_labels(), loc="center", fontsize=9)
    for ax in (a[1], a[4], a[5]):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(caption(ch, contexts, notes), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig, notes


def kind_figure(kind, chapters, contexts, ratio_metric=None, at=None):
    """One chart kind, a panel (scaling: two) per chapter."""
    cols = 2 if kind == "scaling" else min(len(chapters), 3)
    rows = len(chapters) if kind == "scaling" else math.ceil(len(chapters) / cols)
    fig, grid = plt.subplots(rows, cols, figsize=(6.2 * cols, 4.4 * rows), squeeze=False)
    axes = list(grid.flat)
    lines = []
    for i, ch in enumerate(chapters):
        if kind == "scaling":
            notes = draw_scaling(axes[2 * i], axes[2 * i + 1], ch)
            if axes[2 * i].get_legend_handles_labels()[0]:
                axes[2 * i].legend(fontsize=7)
        else:
            ax = axes[i]
            notes = {"latency": draw_latency, "throughput": draw_throughput, "drift": draw_drift,
                     "spectrum": lambda a, c: draw_spectrum(a, c, at),
                     "ratio": lambda a, c: draw_ratio(a, c, ratio_metric)}[kind](ax, ch)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
        lines.append(caption(ch, contexts, notes).replace("\n", " | "))
    for ax in axes[len(chapters) * (2 if kind == "scaling" else 1):]:
        ax.axis("off")
    fig.suptitle("\n".join(lines), fontsize=7)
    height = 4.4 * rows
    fig.tight_layout(rect=(0, 0, 1, 1 - (0.15 * len(lines) + 0.1) / height))
    return fig
