#!/usr/bin/env python3
"""Print one line for all test runs: 'N passed, N failed, N skipped'.

Reads meson's testlog.json of each build directory given; exits 1 if any
test failed or none ran. Under CI=true a suite that ran nothing (every one of
its tests skipped) also fails: it counts as one failure, and the summary line
names it.
"""
import json
import os
import re
import sys

passed = failed = skipped = 0
failures = []
suites = {}  # (build dir, suite) -> [ran, skipped]
for d in sys.argv[1:]:
    try:
        with open(f"{d}/meson-logs/testlog.json") as f:
            for line in f:
                t = json.loads(line)
                r = t.get("result")
                m = re.match(r"[^:]*:(\S+) / ", t.get("name", ""))
                s = suites.setdefault((d, m.group(1) if m else "(no suite)"), [0, 0])
                if r in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                    s[0] += 1
                elif r == "SKIP":
                    skipped += 1
                    s[1] += 1
                else:
                    failed += 1
                    s[0] += 1
                    failures.append(f"{d}: {t.get('name')} ({r})")
    except FileNotFoundError:
        failed += 1
        failures.append(f"{d}: no test log (build or setup failed)")
empty = []
if os.environ.get("CI") == "true":
    for (d, suite), (ran, skip) in sorted(suites.items()):
        if not ran and skip:
            failed += 1
            empty.append(f"{suite} in {d} (all {skip} skipped)")
            failures.append(f"{d}: suite {suite} ran nothing: all {skip} of its tests skipped")
for f in failures:
    print("FAILED:", f)
line = f"{passed} passed, {failed} failed, {skipped} skipped"
if empty:
    line += "; ran nothing under CI=true: " + ", ".join(empty)
print(line)
sys.exit(1 if failed or passed == 0 else 0)
