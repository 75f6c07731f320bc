#!/usr/bin/python3
"""The Python scripts read results as the C++ runner does.

  python_model.py FIXTURES_DIR RESULTS...

Checks scripts/wbmodel.py against tests/fixtures/shared-vocabulary.json — the file the C++
unit test (tests/unit_analysis.cpp) checks runners/metrics.cpp and common/format.cpp against —
and, on real result files, that the percentiles wbmodel computes from a trial's histogram are the
ones the C++ histogram put in the same trial's summary.  Exit 1 when any disagrees.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import wbmodel  # noqa: E402

from checklist import Checklist  # noqa: E402


def main():
    fixtures, results = sys.argv[1], sys.argv[2:]
    check = Checklist()
    with open(os.path.join(fixtures, "shared-vocabulary.json")) as f:
        doc = json.load(f)
    for name, want in doc["numbers"]:
        got = wbmodel.metric(doc["trial"], name)
        check.expect(got == want, f"metric {name!r}: {got!r}, the C++ runner reads {want!r}")
    for seconds, text in doc["seconds"]:
        check.expect(wbmodel.human_s(seconds) == text, f"human_s({seconds}) = {wbmodel.human_s(seconds)!r}, not {text!r}")
    for kib, text in doc["kib"]:
        check.expect(wbmodel.human_kib(kib) == text, f"human_kib({kib}) = {wbmodel.human_kib(kib)!r}, not {text!r}")
    b = doc["bootstrap"]
    low, high = wbmodel.bootstrap_ratio(b["sync"], b["async"])
    check.expect(abs(low - b["interval"][0]) < 1e-9 and abs(high - b["interval"][1]) < 1e-9,
               f"bootstrap interval {low:.4f}..{high:.4f}, the C++ resampler gives "
               f"{b['interval'][0]:.4f}..{b['interval'][1]:.4f}")

    compared = 0
    for path in results:
        trials, _, _ = wbmodel.load([path])
        for t in wbmodel.ok(trials):
            lat = t["metrics"].get("latency_us") or {}
            buckets = wbmodel.merged_buckets([t])
            if not buckets or not lat.get("count"):
                continue
            for q, key in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (0.999, "p999")]:
                got = wbmodel.quantile(buckets, q, lat.get("min"), lat.get("max"))
                want = lat[key]
                check.expect(abs(got - want) <= 1e-9 * max(1.0, abs(want)),
                           f"{path}: {t['chapter']} {t['variant']} {key}: wbmodel {got}, the record {want}")
                compared += 1
    check.expect(compared > 0, "no trial with a histogram to compare percentiles on")

    # A chapter's variants as the runner sees them (runners/plan.cpp variants_of / baseline_of):
    # its declared order and baseline; sync, async and the first for a description without them.
    def trial_of(v):
        return {"variant": v, "params": {}, "_host": "h"}
    old = wbmodel.Chapter("old", [trial_of("async"), trial_of("sync")], {})
    check.expect(old.variants == ["sync", "async"] and old.baseline == "sync",
                 f"a description without variants: {old.variants}, baseline {old.baseline}")
    four = wbmodel.Chapter("loop", [trial_of("c"), trial_of("a")], {"variants": ["a", "b", "c"], "baseline": "b"})
    check.expect(four.declared == ["a", "b", "c"] and four.variants == ["a", "c"] and four.baseline == "b",
                 f"declared {four.declared}, with trials {four.variants}, baseline {four.baseline}")
    # A chapter of declared quick points (chapter 10) is drawn point by point, each labelled as
    # declared; a plain sweep keeps its swept parameter on the x axis.
    def at(v, **params):
        return {"variant": v, "params": params, "_host": "h"}
    points = [at("a", scenario="switch", via="pipe", work=0), at("a", scenario="spawn", via="notify", work=100),
              at("a", scenario="spawn", via="notify", work=5)]
    desc = {"variants": ["a"], "quick_points": [{"scenario": "switch", "via": "pipe"},
                                                {"scenario": "spawn", "work": "100"}]}
    by_point = wbmodel.Chapter("costs", points, desc)
    labels = [by_point.x_of(t["params"]) for t in points]
    check.expect(by_point.by_point and labels == ["scenario=switch via=pipe", "scenario=spawn work=100",
                                                  "scenario=spawn via=notify work=5"],
                 f"declared points drawn as {labels} (by point: {by_point.by_point})")
    swept = wbmodel.Chapter("sweep", [at("a", n=1), at("a", n=10)], {"variants": ["a"]})
    check.expect(not swept.by_point and swept.x == "n", f"a plain sweep: x {swept.x}, by point {swept.by_point}")
    print(f"python-model: {compared} percentiles agree with the C++ histogram's")
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
