#!/usr/bin/python3
"""scripts/plot and scripts/report on the hand-made fixtures.

usage: charts_and_report.py PLOT REPORT WORKBENCH FIXTURES_DIR

Every chart kind must come out as a non-empty PNG and SVG; a file with a failed trial and
missing points must still be drawn, with the failure named; the report must be one offline
HTML file that opens with the claims ledger, names every chapter and shows the invariants' verdicts; a file of another schema
version must be refused with a message that says so.  A chapter with four named variants and a
baseline that is not the first gets four colours, in its order, and ratios over its baseline.
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklist import Checklist  # noqa: E402

KINDS = ["latency", "throughput", "scaling", "spectrum", "ratio", "drift"]


def run(cmd):
    return subprocess.run(["/usr/bin/python3"] + cmd, capture_output=True, text=True, timeout=300)


def main():
    plot, report, workbench, fixtures = sys.argv[1:5]
    fx = lambda name: os.path.join(fixtures, name)  # noqa: E731
    checks = Checklist()
    expect = checks.expect

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "charts")
        p = run([plot, fx("base.json"), fx("other-host.json"), "-o", out])
        expect(p.returncode == 0, f"plot exits 0 ({p.stderr.strip()[-300:]})")
        for stem in KINDS + ["chapter-demo", "chapter-demo2"]:
            for ext in ("png", "svg"):
                path = os.path.join(out, f"{stem}.{ext}")
                expect(os.path.exists(path) and os.path.getsize(path) > 5000, f"{stem}.{ext} is drawn and not empty")
        with open(os.path.join(out, "latency.svg")) as f:
            svg = f.read()
        expect("fixture-a" in svg and "fixture-b" in svg, "the caption names both hosts")
        expect("#1f77b4" in svg and "#ff7f0e" in svg, "sync and async keep their fixed colours")

        out2 = os.path.join(tmp, "incomplete")
        p = run([plot, fx("incomplete.json"), "-o", out2, "--format", "svg"])
        expect(p.returncode == 0, "plot draws a file with a failed trial and missing points")
        with open(os.path.join(out2, "chapter-demo.svg")) as f:
            svg = f.read()
        expect("not ok" in svg and "failed" in svg, "the chart names the failed trial")

        p = run([plot, fx("foreign.json"), "-o", os.path.join(tmp, "foreign")])
        expect(p.returncode != 0 and "workbench.results/2" in p.stderr, "plot refuses another schema version, saying so")

        html_path = os.path.join(tmp, "report.html")
        p = run([report, fx("broken.json"), "-o", html_path, "--workbench", workbench])
        expect(p.returncode == 0, f"report exits 0 ({p.stderr.strip()[-300:]})")
        with open(html_path) as f:
            html = f.read()
        for chapter in ("demo", "demo2"):
            expect(f"id='{chapter}'" in html, f"the report has a section for {chapter}")
        expect(html.count("data:image/png;base64,") == 2 * len(KINDS), "every chart kind, inline, for each chapter")
        expect(html.index("id='claims'") < html.index("id='invariants'") < html.index("id='demo'"),
               "the ledger comes first, then the invariants, then the chapters")
        catalog = json.loads((pathlib.Path(__file__).resolve().parent.parent / "results" / "claims.json").read_text())
        expect(html.count("<tbody data-claim=") == len(catalog["claims"]), "the ledger has a row group per claim")
        expect(not re.search(r"""(src|href)=['"]?(https?:)?//""", html), "the report loads nothing from the network")
        expect("few-threads" in html and "class='l fail'" in html, "the failed invariant is shown as failed")
        expect("class='l does-not-hold'" in html, "the claim it supports is shown as not holding")
        expect("fixture-a" in html and "g++ 12.2.0" in html, "the context block names host and compiler")

        # Named variants: a colour each by the chapter's order, ratios over the declared baseline.
        palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
        out3 = os.path.join(tmp, "variants")
        p = run([plot, fx("variants.json"), "-o", out3, "--format", "svg"])
        expect(p.returncode == 0, f"plot draws a chapter with four variants ({p.stderr.strip()[-300:]})")
        with open(os.path.join(out3, "ratio.svg")) as f:
            svg = f.read()
        expect(all(f"{v} / async-blocking" in svg for v in ("sync", "async-offload", "async-chunked"))
               and "async-blocking / async-blocking" not in svg,
               "the ratio chart has a line per variant over the baseline, none for the baseline itself")
        with open(os.path.join(out3, "throughput.svg")) as f:
            svg = f.read()
        expect(all(c in svg for c in palette), "the four variants have four colours")
        path = os.path.join(out3, "series-loop-lag_ms.svg")
        expect(os.path.exists(path) and os.path.getsize(path) > 5000, "a chapter's series is drawn over time")
        v_html = os.path.join(tmp, "variants.html")
        p = run([report, fx("variants.json"), "-o", v_html, "--workbench", workbench])
        expect(p.returncode == 0, f"report on four variants exits 0 ({p.stderr.strip()[-300:]})")
        with open(v_html) as f:
            html = f.read()
        tags = re.findall(r"<li><span class='variant' style='color:(#[0-9a-f]+)'>([a-z-]+)</span>", html)
        expect(tags == list(zip(palette, ["sync", "async-blocking", "async-offload", "async-chunked"])),
               f"the chapter lists its variants in order, each in its chart colour ({tags})")
        expect("async-blocking</span> (baseline): the async-blocking way" in html, "the baseline is marked and explained")
        expect("wall ÷ async-blocking" in html and html.count(">(base)<") == 2,
               "the medians table divides by the baseline, which it marks at each point")
        expect("id='chart-loop-series-lag_ms'" in html and "how late each tick woke" in html,
               "the report draws the chapter's series with its meaning")
        expect("offload-keeps-ticking" in html and "class='l pass'" in html,
               "an invariant over named variants is checked")

        p = run([report, fx("base.json"), "-o", os.path.join(tmp, "nowb.html"), "--workbench", "/nonexistent/workbench"])
        expect(p.returncode == 0, "without a workbench binary the report is still written")
        p = run([report, fx("foreign.json"), "-o", os.path.join(tmp, "f.html")])
        expect(p.returncode != 0 and "workbench.results/2" in p.stderr, "report refuses another schema version")

    return checks.exit_code()


if __name__ == "__main__":
    sys.exit(main())
