#!/usr/bin/python3
"""The HTML report in a real browser: headless Chromium at 1280x800, driven by Selenium.

usage: report_in_browser.py REPORT WORKBENCH RESULTS

Writes the report of RESULTS, loads it from file:// and checks what a reader would notice:
- nothing scrolls sideways: the document is no wider than the window, and no table is wider
  than the box it sits in;
- every chart image has decoded (naturalWidth > 0);
- the claims ledger has one row group per claim of the results' ledger (`workbench claims`),
  each claim's evidence folded under it and opening on a click without widening the page;
- the page asks the network for nothing: every request Chromium logged is a data: or file: URL.
Exits 77 (skipped) where Chromium, chromedriver or python3-selenium is missing, saying which.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklist import Checklist  # noqa: E402

SKIP = 77


def main():
    report, workbench, results = sys.argv[1:4]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        print("skipped: python3-selenium is not installed (scripts/setup installs it where apt can)")
        return SKIP
    browser = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    if not browser or not driver_path:
        print(f"skipped: no browser (chromium: {browser}, chromedriver: {driver_path}); scripts/setup installs them")
        return SKIP

    checks = Checklist()
    expect = checks.expect

    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "report.html")
        p = subprocess.run(["/usr/bin/python3", report, results, "-o", page, "--workbench", workbench],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            print(f"FAIL the report was not written: {p.stderr.strip()[-500:]}")
            return 1
        ledger_out = os.path.join(tmp, "ledger.json")
        subprocess.run([workbench, "claims", results, "--json", ledger_out], capture_output=True, timeout=300, check=True)
        with open(ledger_out) as f:
            claims = len(json.load(f)["ledger"]["claims"])

        opts = webdriver.ChromeOptions()
        opts.binary_location = browser
        # As root in a sandbox-less container; and no background traffic of Chromium's own, so the
        # request log holds the page's requests only.
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,800", f"--user-data-dir={os.path.join(tmp, 'profile')}"):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        try:
            driver = webdriver.Chrome(service=Service(driver_path), options=opts)
        except Exception as e:  # a browser that cannot start here is a skip, not a failure of ours
            print(f"skipped: Chromium would not start: {str(e).splitlines()[0][:300]}")
            return SKIP
        try:
            driver.set_window_size(1280, 800)
            driver.get("file://" + page)
            inner = driver.execute_script("return window.innerWidth")
            doc_width = driver.execute_script("return document.documentElement.scrollWidth")
            expect(doc_width <= inner, f"the page is no wider than the window ({doc_width} <= {inner} px)")
            wide = driver.execute_script("""
                return [...document.querySelectorAll('table')].filter(t => {
                    const box = t.parentElement.getBoundingClientRect().width;
                    return t.getBoundingClientRect().width > box + 1;
                }).map(t => {
                    let h = t.parentElement;
                    while (h && !/^H[23]$/.test(h.tagName)) h = h.previousElementSibling || h.parentElement;
                    return (h ? h.textContent : '?') + ': ' + Math.round(t.getBoundingClientRect().width) + ' px';
                })""")
            scrolled = driver.execute_script("""
                return [...document.querySelectorAll('.fit')].filter(d => d.scrollWidth > d.clientWidth + 1).length""")
            expect(not wide and scrolled == 0, f"every table fits its box, none scrolls sideways (too wide: {wide}, "
                                               f"{scrolled} scrolling)")
            images = driver.execute_script("""
                return [...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0])""")
            broken = [alt for alt, good in images if not good]
            expect(len(images) > 0 and not broken, f"all {len(images)} images decoded ({broken[:3]} broken)")
            rows = driver.execute_script("return document.querySelectorAll('table.ledger tbody[data-claim]').length")
            expect(rows == claims, f"the ledger shows every claim of the file ({rows} == {claims})")
            # A claim's evidence is folded under it and opens on a click, and the page still fits.
            folded = driver.execute_script("""
                const d = document.querySelector('table.ledger details');
                if (!d) return [0, false, false];
                const table = d.querySelector('table.evidence');
                const hidden = !d.open && (typeof table.checkVisibility !== 'function' || !table.checkVisibility());
                d.querySelector('summary').click();
                return [table.querySelectorAll('tr').length - 1, hidden,
                        d.open && table.getBoundingClientRect().height > 0];""")
            expect(folded[0] > 0 and folded[1] and folded[2],
                   f"a claim's evidence is folded and opens on a click (rows, hidden before, shown after: {folded})")
            scrolled = driver.execute_script("""
                return [...document.querySelectorAll('.fit')].filter(d => d.scrollWidth > d.clientWidth + 1).length""")
            expect(scrolled == 0, f"with a claim's evidence open, nothing scrolls sideways ({scrolled} scrolling)")
            first = driver.execute_script("return document.querySelector('main h2').id")
            expect(first == "claims", f"the page opens with the ledger (first section: {first})")
            # A chart shown at its cell's width: about half the page, not a sliver.
            widths = driver.execute_script("""
                return [...document.querySelectorAll('.charts img')].map(i => i.getBoundingClientRect().width)""")
            expect(widths and min(widths) >= 400, f"every chart is at least 400 px wide (smallest {min(widths or [0]):.0f})")
            requests = []
            for entry in driver.get_log("performance"):
                msg = json.loads(entry["message"])["message"]
                # The page's own requests (Chromium's new-tab page before it is not the report's).
                if msg.get("method") == "Network.requestWillBeSent" and \
                        msg["params"].get("documentURL", "").startswith("file:"):
                    requests.append(msg["params"]["request"]["url"])
            outside = [u for u in requests if not (u.startswith("data:") or u.startswith("file:"))]
            expect(requests and not outside, f"no request leaves the page ({len(requests)} requests, outside: {outside[:3]})")
        finally:
            driver.quit()

    return checks.exit_code()


if __name__ == "__main__":
    sys.exit(main())
