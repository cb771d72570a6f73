#!/bin/sh
# The demo city end to end: ward sim up --city starts the seven departments
# with their real data; the showcase session script's results must equal the
# same questions answered in the clear from the CSV files (exactly, up to the
# decimal scale); the audit log records the sessions with an intact chain;
# session scripts report their errors by line; ward sim down stops it all.
# Every wait is bounded; whatever was started is stopped on exit.
# usage: test_city.sh WARD CITY_DATA_DIR
set -u
ward=$1
data=$2
script=$data/scripts/showcase.ward
tmp=$(mktemp -d /tmp/ward-city-XXXXXX)
city=$tmp/city
fails=0
checks=0

cleanup() {
    "$ward" sim down --dir "$city" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

check() { # check DESCRIPTION COMMAND...: the command must succeed
    desc=$1; shift
    checks=$((checks + 1))
    if ! "$@"; then
        echo "FAIL: $desc"
        fails=$((fails + 1))
    fi
}

run() { "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }

# ---- usage errors ---------------------------------------------------------------
run "$ward" sim up --city --nodes 3 --dir "$city"
check "--city with --nodes is a usage error" [ "$rc" -eq 2 ]
run "$ward" sim up --city --dir "$city" --data "$tmp/nowhere"
check "--data without city.txt exits 1" [ "$rc" -eq 1 ]
check "--data without city.txt names what was looked for" grep -q "^ward: error: --data $tmp/nowhere: no readable city.txt" "$tmp/err"

# ---- the city -----------------------------------------------------------------------
run "$ward" sim up --city --dir "$city"
check "sim up --city exits 0 ($(head -c 300 "$tmp/err"))" [ "$rc" -eq 0 ]
if [ "$rc" -ne 0 ]; then
    for d in "$city"/*/; do tail -n 3 "$d/node.log" 2>/dev/null; done
    echo "city: $checks checks, $fails failed (sim up --city failed; nothing else checked)"
    exit 1
fi
check "sim up --city prints one line plus one per department" [ "$(wc -l <"$tmp/out")" -eq 8 ]
cp "$tmp/out" "$tmp/up.txt"
check "every department's rows are imported, as many as its CSV has" python3 - "$tmp/up.txt" "$data" <<'EOF'
import sys
up = open(sys.argv[1]).read().splitlines()
rows = {}
for line in up[1:]:
    w = line.split()
    rows[w[0]] = (w[1], w[2], int(w[3]), w[-1])
want = {}
for line in open(sys.argv[2] + "/city.txt"):
    line = line.split("#")[0].split()
    if line:
        want[line[0]] = line
assert sorted(rows) == sorted(want), (rows, want)
for name, (node, table, sens, f, *schema) in want.items():
    n = sum(1 for _ in open(sys.argv[2] + "/" + f)) - 1
    assert rows[name] == (table, sens, n, f), (name, rows[name], n)
EOF
for n in transport bikeshare parking-north parking-south parking-aarhus environment energy; do
    check "$n is running (pid file)" [ -s "$city/$n/node.pid" ]
done
run "$ward" --node "$city/energy" status --json
check "energy sees its 6 peers" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["name"]=="energy" and d["peers_connected"]==6, d' "$tmp/out"
run "$ward" --node "$city/parking-south" tables --json
check "parking-south holds table parking (medium)" python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["tables"]
assert [(x["name"], x["class"]) for x in t] == [("parking", "medium")], t' "$tmp/out"

# ---- the showcase script against the plaintext answers ------------------------------------
run "$ward" --node "$city/transport" run "$script" --json
check "run showcase --json exits 0 ($(head -c 300 "$tmp/err"))" [ "$rc" -eq 0 ]
cp "$tmp/out" "$tmp/showcase.json"
check "every showcase result equals the plaintext answer from the CSV files" python3 - "$tmp/showcase.json" "$data" <<'EOF'
import csv, datetime, json, sys
from decimal import Decimal
from fractions import Fraction

res = json.load(open(sys.argv[1]))
d = sys.argv[2]
assert res["failed"] == 0 and len(res["results"]) == 7, res

def rows(*files):
    for f in files:
        with open(d + "/" + f, newline="") as fh:
            yield from csv.DictReader(fh)

def hour(ts):
    return int(ts[11:13])

def weekday(ts):  # Sunday = 0, as SQLite's %w
    return datetime.date(int(ts[:4]), int(ts[5:7]), int(ts[8:10])).isoweekday() % 7

def num(v):
    return None if v in ("", "NA", "na") else Fraction(Decimal(v))

def agg(op, it, col=None, key=None, keep=lambda r: True):
    acc = {}
    for r in it:
        if not keep(r):
            continue
        k = key(r["ts"]) if key else None
        v = num(r[col]) if col else Fraction(1)
        if v is None:
            continue
        s, n = acc.get(k, (Fraction(0), 0))
        acc[k] = (s + v, n + 1)
    out = {}
    for k, (s, n) in acc.items():
        out[k] = {"count": Fraction(n), "sum": s, "mean": s / n}[op]
    if key is None:
        return out[None]
    if op == "count":  # every bucket of the domain, empty ones included
        dom = range(24) if key is hour else range(7)
        return {k: out.get(k, Fraction(0)) for k in dom}
    return out

trips = ("transport-trips.csv", "bikeshare-trips.csv")
parking = ("parking-north.csv", "parking-south.csv", "parking-aarhus.csv")
want = [
    agg("count", rows(*trips), key=hour),
    agg("mean", rows(*trips), "duration_s"),
    agg("mean", rows(*parking), "occupied", key=hour),
    agg("mean", rows(*parking), "occupied", keep=lambda r: 17 <= hour(r["ts"]) <= 19),
    agg("mean", rows("parking-aarhus.csv"), "occupied", keep=lambda r: r["lot"] == "SALLING"),
    agg("mean", rows("environment-air.csv"), "no2", key=weekday),
    agg("sum", rows("energy-load.csv"), "zone1_kw"),
]
parties = [
    ["bikeshare", "transport"], ["bikeshare", "transport"],
    ["parking-aarhus", "parking-north", "parking-south"],
    ["parking-aarhus", "parking-north", "parking-south"],
    ["parking-aarhus"], ["environment"], ["energy"],
]

def same(got, exact):
    # Exact: the plaintext answer at the session's decimal scale (10^-6; the
    # data have fewer decimals), up to the double that carries it in JSON.
    return abs(Fraction(got) - exact) <= max(abs(exact) / 10**12, Fraction(1, 10**9))

for i, (r, w, p) in enumerate(zip(res["results"], want, parties)):
    assert r["exact"] is True and r["epsilon"] is None, r
    assert r["parties"] == p, (i, r["parties"], p)
    assert r["latency_ms"] >= 0 and r["wall_ms"] > 0, r
    assert len(r["session"]) == 64, r
    if isinstance(w, dict):
        assert r["value"] is None, r
        got = {int(k): v for k, v in r["groups"].items()}
        assert sorted(got) == sorted(w), (i, sorted(got), sorted(w))
        for k in w:
            assert same(got[k], w[k]), (i, k, got[k], float(w[k]))
    else:
        assert r["groups"] is None, r
        assert same(r["value"], w), (i, r["value"], float(w))
print("showcase: 7 results equal their plaintext answers")
EOF

# The same script with four lines in flight: the same results, in script order.
run "$ward" --node "$city/transport" run "$script" --json --parallel 4
check "run showcase --parallel 4 exits 0 ($(head -c 300 "$tmp/err"))" [ "$rc" -eq 0 ]
check "--parallel 4 gives the sequential results in script order" python3 - "$tmp/out" "$tmp/showcase.json" <<'EOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["failed"] == 0 and len(a["results"]) == len(b["results"]) == 7, a
for x, y in zip(a["results"], b["results"]):
    assert (x["line"], x["label"], x["value"], x["groups"], x["parties"]) == \
           (y["line"], y["label"], y["value"], y["groups"], y["parties"]), (x, y)
EOF
run "$ward" --node "$city/transport" run "$script" --parallel 0
check "--parallel 0 is a usage error" [ "$rc" -eq 2 ]
# Thirty-two lines in flight: more clients at once than the control
# socket's backlog takes without a retry.
for i in $(seq 1 40); do echo "n$i: count trips --parties bikeshare,transport --exact"; done >"$tmp/many.ward"
run "$ward" --node "$city/transport" run "$tmp/many.ward" --json --parallel 32
check "40 lines with --parallel 32 all succeed ($(head -c 200 "$tmp/err"))" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["failed"] == 0 and len(d["results"]) == 40, d["failed"]
assert all(r["value"] == 24437 for r in d["results"]), [r.get("value") for r in d["results"]]' "$tmp/out"
run "$ward" --node "$city/transport" run "$script" --parallel 33
check "--parallel 33 is a usage error" [ "$rc" -eq 2 ]

# ---- group-by keys: a column, compound keys, buckets, dates; union or declared ----------------
pk=parking-aarhus,parking-north,parking-south
run "$ward" --node "$city/parking-north" histogram parking.lot --group-by lot --parties $pk --exact --json
cp "$tmp/out" "$tmp/g1.json"
run "$ward" --node "$city/parking-south" mean parking.occupied --group-by 'lot, hour(ts)' --parties $pk --exact --json
cp "$tmp/out" "$tmp/g2.json"
run "$ward" --node "$city/transport" sum trips.fare_usd --group-by 'bucket(fare_usd, 2.5)' --parties transport --exact --json
cp "$tmp/out" "$tmp/g3.json"
run "$ward" --node "$city/transport" count trips --group-by 'date(ts)' --domain 2019-03-01..2019-03-03 --parties bikeshare,transport --exact --json
cp "$tmp/out" "$tmp/g4.json"
run "$ward" --node "$city/parking-aarhus" count parking --group-by 'lot,hour(ts)' --domain 'lot=SALLING,BHMBCCMKT01,nowhere' --parties $pk --json
cp "$tmp/out" "$tmp/g5.json"
run "$ward" --node "$city/transport" histogram trips.fare_usd --group-by 'bucket(fare_usd, 25)' --parties transport --json
cp "$tmp/out" "$tmp/g6.json"
check "group-by: exact results over the union of keys, declared domains, buckets and dates equal the plaintext" python3 - "$tmp" "$data" <<'EOF'
import csv, json, sys
from decimal import Decimal
from fractions import Fraction
t, d = sys.argv[1], sys.argv[2]
def rows(*files):
    for f in files:
        with open(d + "/" + f, newline="") as fh:
            yield from csv.DictReader(fh)
parking = ("parking-north.csv", "parking-south.csv", "parking-aarhus.csv")
def load(n):
    r = json.load(open("%s/g%d.json" % (t, n)))
    assert r["value"] is None and isinstance(r["groups"], dict), r
    return r
def canon(x):  # the label of a decimal: no trailing zeros
    s = format(Decimal(x).normalize(), "f")
    return "0" if s == "-0" else s
def close(a, b):
    return abs(Fraction(a) - b) <= max(abs(b) / 10**12, Fraction(1, 10**9))
# 1: counts per car park across three operators (keys from the data)
r = load(1)
want = {}
for x in rows(*parking):
    if x["lot"] not in ("", "NA"):
        want[x["lot"]] = want.get(x["lot"], 0) + 1
assert r["groups"] == want, (r["groups"], want)
assert list(r["groups"]) == sorted(want), "groups in label order"
# 2: mean occupancy per car park per hour
r = load(2)
acc = {}
for x in rows(*parking):
    k = "%s/%d" % (x["lot"], int(x["ts"][11:13]))
    s, n = acc.get(k, (0, 0))
    acc[k] = (s + int(x["occupied"]), n + 1)
assert sorted(r["groups"]) == sorted(acc), set(r["groups"]) ^ set(acc)
for k, (s, n) in acc.items():
    assert close(r["groups"][k], Fraction(s, n)), (k, r["groups"][k], s / n)
# 3: fare sums per 2.5-dollar bucket (floor), canonical labels; the column's
# declared bounds [-50, 500] give the domain, so empty buckets are there too
r = load(3)
acc = {canon(Decimal(v) / 2): Fraction(0) for v in range(-100, 1001, 5)}
for x in rows("transport-trips.csv"):
    v = Fraction(Decimal(x["fare_usd"]))
    b = (v / Fraction(5, 2)).__floor__() * Fraction(5, 2)
    k = canon(Decimal(b.numerator) / Decimal(b.denominator))
    acc[k] = acc.get(k, 0) + v
assert list(r["groups"]) == list(acc), set(r["groups"]) ^ set(acc)
for k, v in acc.items():
    assert close(r["groups"][k], v), (k, r["groups"][k], float(v))
# 4: a declared range of dates on an exact count: exactly those days
r = load(4)
want = {}
for x in rows("transport-trips.csv", "bikeshare-trips.csv"):
    want[x["ts"][:10]] = want.get(x["ts"][:10], 0) + 1
days = ["2019-03-01", "2019-03-02", "2019-03-03"]
assert list(r["groups"]) == days and all(r["groups"][k] == want.get(k, 0) for k in days), r["groups"]
# 5: private, compound, declared: every group of the domain, in order, a lot with no rows too
r = load(5)
assert r["exact"] is False and r["epsilon"] > 0, r
lots = ["SALLING", "BHMBCCMKT01", "nowhere"]
assert list(r["groups"]) == ["%s/%d" % (l, h) for l in lots for h in range(24)], list(r["groups"])[:5]
# 6: private buckets: the domain comes from the declared bounds [-50, 500], never the data
r = load(6)
assert list(r["groups"]) == [str(v) for v in range(-50, 501, 25)], list(r["groups"])
print("group-by: 6 results check out")
EOF
run "$ward" --node "$city/parking-north" count parking --group-by lot --where 'occupied < -100' --parties $pk --exact --json
check "an exact group-by that no row matches gives no groups" python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["groups"] == {} and r["value"] is None, r' "$tmp/out"
run "$ward" --node "$city/parking-north" histogram parking.lot --group-by lot --parties $pk
check "a private group-by without a declared domain is refused (exit 1)" [ "$rc" -eq 1 ]
check "the refusal says the groups must be declared" grep -q "declared domain, never from the data" "$tmp/err"
run "$ward" --node "$city/parking-north" histogram parking.lot --group-by 'minute(ts)' --parties $pk --exact
check "an unknown key function is refused" grep -q "the functions are hour, weekday, date and bucket" "$tmp/err"

# The human form: labels, latency and parties.
run "$ward" --node "$city/transport" run "$script"
check "run showcase (human) exits 0" [ "$rc" -eq 0 ]
check "human output: 7 labelled results" [ "$(grep -c '^== [1-7]\. ' "$tmp/out")" -eq 7 ]
check "human output: latency and parties per result" [ "$(grep -c '^latency: ' "$tmp/out")" -eq 7 ] && [ "$(grep -c '^parties: ' "$tmp/out")" -eq 7 ]
check "human output: the closing line" grep -q '^7 computations in .* 7 done, 0 failed$' "$tmp/out"

# ---- the audit log: the sessions, an intact chain ------------------------------------------
run "$ward" --node "$city/transport" audit --verify --json
check "audit --verify --json exits 0" [ "$rc" -eq 0 ]
check "transport's audit holds its showcase sessions and an intact chain" python3 - "$tmp/out" "$tmp/showcase.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))
res = json.load(open(sys.argv[2]))["results"]
assert a["verified"] is True and a["chain_ok"] is True and a["first_bad_seq"] is None, a
done = {e["session"] for e in a["entries"] if e["event"] == "session-done"}
mine = [r["session"] for r in res if "transport" in r["parties"]]
assert len(mine) == 2 and all(s in done for s in mine), (mine, done)
imports = [e for e in a["entries"] if e["event"] == "import"]
assert len(imports) == 1, imports
EOF

# ---- session scripts: errors by line -----------------------------------------------------------
cat >"$tmp/bad-syntax.ward" <<'EOF'
# a comment
count trips --parties all --exact
count trips --where "ts > '2019-01-01 --exact
EOF
run "$ward" --node "$city/transport" run "$tmp/bad-syntax.ward"
check "a script with a syntax error exits 2" [ "$rc" -eq 2 ]
check "the syntax error names the file and line, nothing ran" grep -q "^ward: error: $tmp/bad-syntax.ward:3: unterminated .* quote (nothing was run)$" "$tmp/err"

cat >"$tmp/failing.ward" <<'EOF'
first: count trips --parties transport,bikeshare --exact
missing table: count nosuch --parties transport,bikeshare --exact

third: @energy sum load.zone2_kw --parties energy --exact
EOF
run "$ward" --node "$city/transport" run "$tmp/failing.ward" --json
check "a failing line makes the script exit 1" [ "$rc" -eq 1 ]
check "the failing line is reported with its line number, the others ran" python3 - "$tmp/out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]
assert d["failed"] == 1 and d["not_run"] == 0 and len(r) == 3, d
assert [x["line"] for x in r] == [1, 2, 4], r
assert [x["label"] for x in r] == ["first", "missing table", "third"], r
assert "error" in r[1] and "nosuch" in r[1]["error"], r[1]
assert r[0]["value"] > 0 and r[2]["value"] > 0 and r[2]["at"] == "energy", r
EOF
check "the failure is on stderr with the script's line" grep -q "^ward: error: 1 of 3 computations failed; the first at $tmp/failing.ward:2: " "$tmp/err"
run "$ward" --node "$city/transport" run "$tmp/failing.ward" --stop-on-error
check "--stop-on-error exits 1" [ "$rc" -eq 1 ]
check "--stop-on-error stops after the failing line" grep -q '^3 computations in .* 1 done, 1 failed, 1 not run' "$tmp/out"
run "$ward" --node "$city/transport" run "$tmp/failing.ward" --json --parallel 3
check "--parallel 3 reports the failing line in order, the others ran" python3 - "$tmp/out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = d["results"]
assert d["failed"] == 1 and d["not_run"] == 0 and [x["line"] for x in r] == [1, 2, 4], d
assert "error" in r[1] and r[0]["value"] > 0 and r[2]["value"] > 0, r
EOF

# ---- down, and up again on the same directory ------------------------------------------------
pids=""
for d in "$city"/*/; do pids="$pids $(cat "$d/node.pid")"; done
run "$ward" sim down --dir "$city"
check "sim down exits 0" [ "$rc" -eq 0 ]
check "sim down stopped the 7 departments" grep -q '^stopped 7 nodes in .*[^)]$' "$tmp/out"
for p in $pids; do
    check "pid $p is gone" sh -c "! kill -0 $p 2>/dev/null || grep -q '^[^)]*) Z' /proc/$p/stat 2>/dev/null"
done
check "no pid files are left" sh -c "! ls '$city'/*/node.pid >/dev/null 2>&1"

run "$ward" sim up --city --dir "$city"
check "sim up --city again on the same directory exits 0" [ "$rc" -eq 0 ]
check "a restarted city keeps its data" [ "$(grep -c 'rows kept' "$tmp/out")" -eq 7 ]
run "$ward" --node "$city/bikeshare" count trips --parties transport,bikeshare --exact --json
check "the restarted city answers" python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["value"] == 24437' "$tmp/out"
run "$ward" sim down --dir "$city"
check "second sim down stops 7" grep -q '^stopped 7 nodes' "$tmp/out"

check "no sanitizer report in any node log" sh -c "! grep -l 'Sanitizer\|runtime error' '$city'/*/node.log"

echo "city: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
