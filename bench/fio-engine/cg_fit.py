#!/usr/bin/env python3
"""Work per I/O with no empty polls, from cost.sh's per-run lines.

    cg_fit.py results-cost-HOST.runs.txt

Each side keeps some instructions of loop per empty poll in its work
(cg_split.py); across runs the number of empty polls varies, so a straight
line work = W + c * empty_polls over the runs of one case gives W, the work
per I/O with no empty poll, and c, the loop's cost per empty poll. Prints,
per case, W and c for aisio perf and for fio+engine (defaults, lean), the
largest distance of a run from the line, and fio's framework part.
"""
import json
import re
import sys


def fit(js):
    xs = [j["empty_polls"] for j in js]
    ys = [j["work"] for j in js]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if n < 2 or not sxx:
        return float("nan"), float("nan"), float("nan")
    c = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    w = my - c * mx
    return w, c, max(abs(y - (w + c * x)) for x, y in zip(xs, ys))


def main():
    runs = {}
    case = None
    for line in open(sys.argv[1]):
        m = re.match(r"(\S+) QD(\d+) run \d+: perf (\{.*\})", line)
        if m:
            case = "%s QD %s" % (m.group(1), m.group(2))
            runs.setdefault((case, "aisio perf"), []).append(json.loads(m.group(3)))
            continue
        m = re.match(r"\s+fio\+engine( lean)? (\{.*\})", line)
        if m and case:
            side = "fio+engine, lean" if m.group(1) else "fio+engine, defaults"
            runs.setdefault((case, side), []).append(json.loads(m.group(2)))
    print("| case | side | runs | work at no empty poll (W) | per empty poll (c) | largest residual | fio framework |")
    print("|---|---|---|---|---|---|---|")
    for (case, side), js in runs.items():
        w, c, r = fit(js)
        fw = sorted(j["parts"].get("program", 0) for j in js)[len(js) // 2] if side != "aisio perf" else None
        print("| %s | %s | %d | %.0f | %.1f | %.0f | %s |" % (case, side, len(js), w, c, r,
                                                           "%.0f" % fw if fw is not None else "-"))


if __name__ == "__main__":
    main()
