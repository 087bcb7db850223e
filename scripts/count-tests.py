#!/usr/bin/env python3
"""Count test cases across meson test runs; the last line printed is `N passed, N failed`.

Usage: count-tests.py LABEL:BUILDDIR:MAKE_STATUS[:LOGBASE] [...]
  e.g. count-tests.py test:build:0 sanitize:build-san:2 fuzz:build-san:0:fuzzlog

Each run is read from BUILDDIR/meson-logs/LOGBASE.json (LOGBASE: testlog unless given; `meson test
--logbase NAME` writes NAME.json), which meson writes with one JSON object
per test executable: its name, its result (OK, FAIL, TIMEOUT, SKIP, ...) and its stdout.
  - an executable whose stdout holds doctest summaries counts their test cases
    (`[doctest] test cases: 12 | 11 passed | 1 failed | 0 skipped`);
  - an executable that meson marks failed (FAIL, TIMEOUT, killed, sanitizer report at exit ...)
    counts at least 1 failed, even if its summary says 0 failed or it has no summary;
  - an executable without a summary (not doctest, or crashed before printing) counts as 1 case;
  - SKIP (exit 77) is reported with its reason and counted neither passed nor failed.
A run whose make failed without any failed test (the build broke), or a run in which no test ran,
counts 1 failed. Exit status: 0 only if nothing failed and at least one test case passed.
"""
import json
import os
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed\s*\|\s*(\d+) skipped")
OK_RESULTS = {"OK", "EXPECTEDFAIL"}


def last_line(text):
    lines = [l.strip() for l in (text or "").splitlines() if l.strip()]
    return lines[-1][:100] if lines else "(no output)"


def count_run(label, builddir, make_status, logbase="testlog"):
    """Returns (passed, failed) for one run and prints one line per executable."""
    passed = failed = 0
    log = os.path.join(builddir, "meson-logs", logbase + ".json")
    tests = []
    if os.path.exists(log):
        with open(log, encoding="utf-8", errors="replace") as f:
            tests = [json.loads(line) for line in f if line.strip()]
    for t in tests:
        name, result = t.get("name", "?"), t.get("result", "?")
        output = (t.get("stdout") or "") + (t.get("stderr") or "")
        summaries = [tuple(map(int, m.groups())) for m in SUMMARY.finditer(output)]
        if result == "SKIP":
            print(f"{label}: {name}: SKIP: {last_line(output)}")
            continue
        ok = result in OK_RESULTS
        if summaries:
            p = sum(s[1] for s in summaries)
            f = sum(s[2] for s in summaries)
            skipped = sum(s[3] for s in summaries)
            if not ok and f == 0:
                f = 1  # died or was flagged after its last doctest summary (leak report, exit code)
            note = f", {skipped} not run (skipped or filtered out)" if skipped else ""
        else:
            p, f = (1, 0) if ok else (0, 1)
            note = "" if ok else ", no doctest summary: counted as 1 failed"
        passed += p
        failed += f
        print(f"{label}: {name}: {result}: {p} passed, {f} failed{note}")
    if not tests:
        print(f"{label}: no test ran ({log} missing or empty): counted as 1 failed")
        failed += 1
    elif make_status != 0 and failed == 0:
        print(f"{label}: make exited {make_status} with no failed test: counted as 1 failed")
        failed += 1
    print(f"{label}: {passed} passed, {failed} failed")
    return passed, failed


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    passed = failed = 0
    for spec in argv[1:]:
        try:
            parts = spec.split(":")
            if len(parts) not in (3, 4):
                raise ValueError(spec)
            label, builddir, status = parts[0], parts[1], int(parts[2])
            logbase = parts[3] if len(parts) == 4 else "testlog"
        except ValueError:
            print(f"count-tests: bad run '{spec}', want LABEL:BUILDDIR:MAKE_STATUS[:LOGBASE]",
                  file=sys.stderr)
            return 2
        p, f = count_run(label, builddir, status, logbase)
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
