#!/usr/bin/env python3
"""Checks a summary CSV (run,generation,metric,mean,sd,se,ci95_lo,ci95_hi,median,theory) against
its own theory column: every row that has a theory value must have |mean - theory| <= Z * se.

    check_theory.py SUMMARY_CSV [Z] [MIN_ROWS]

Z defaults to 4 (with a fixed seed the outcome is fixed; a true law fails a row with probability
about 6e-5). Exit status 1, with the offending rows, if a row is off or fewer than MIN_ROWS
(default 1) rows carry a theory value."""
import csv
import sys

path = sys.argv[1]
z = float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
min_rows = int(sys.argv[3]) if len(sys.argv) > 3 else 1
checked, bad, worst = 0, [], 0.0
with open(path, newline="") as f:
    for row in csv.DictReader(f):
        if row.get("theory", "") == "":
            continue
        mean, se, theory = float(row["mean"]), float(row["se"]), float(row["theory"])
        checked += 1
        dev = abs(mean - theory) / se if se > 0 else (0.0 if mean == theory else float("inf"))
        worst = max(worst, dev)
        if dev > z:
            bad.append(f"{row['run']} generation {row['generation']} {row['metric']}: "
                       f"mean {mean} theory {theory} se {se} ({dev:.1f} se)")
if checked < min_rows:
    print(f"FAIL: {path}: only {checked} rows carry a theory value (want {min_rows})")
    sys.exit(1)
if bad:
    print(f"FAIL: {len(bad)} of {checked} rows more than {z} standard errors from the theory:")
    print("\n".join(bad))
    sys.exit(1)
print(f"ok: {checked} rows within {z} standard errors of the theory (largest {worst:.2f})")
