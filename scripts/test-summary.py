#!/usr/bin/env python3
"""Print one line for all test runs: 'N passed, N failed, N skipped'.

Reads meson's testlog.json of each build directory given; exits 1 if any
test failed or none ran.
"""
import json
import sys

passed = failed = skipped = 0
failures = []
for d in sys.argv[1:]:
    try:
        with open(f"{d}/meson-logs/testlog.json") as f:
            for line in f:
                t = json.loads(line)
                r = t.get("result")
                if r in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif r == "SKIP":
                    skipped += 1
                else:
                    failed += 1
                    failures.append(f"{d}: {t.get('name')} ({r})")
    except FileNotFoundError:
        failed += 1
        failures.append(f"{d}: no test log (build or setup failed)")
for f in failures:
    print("FAILED:", f)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
