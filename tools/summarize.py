#!/usr/bin/env python3
"""Reads meson's testlog.json files and prints the closing line
'N passed, N failed' (skipped tests are listed with their reason first).
Exit status 0 only when nothing failed and at least one test passed."""
import json
import sys

passed = failed = 0
skipped = []
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        print(f"ward: error: no test log {path}: {e.strerror}", file=sys.stderr)
        failed += 1
        continue
    for line in lines:
        if not line.strip():
            continue
        t = json.loads(line)
        r = t.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            out = (t.get("stdout") or "").strip().splitlines()
            skipped.append(f"{t['name']}: {out[-1] if out else 'no reason printed'}")
        else:
            failed += 1
            print(f"failed: {t['name']} ({r})")
for s in skipped:
    print(f"skipped: {s}")
print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 and passed > 0 else 1)
