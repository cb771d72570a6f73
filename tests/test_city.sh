#!/bin/sh
# The demo city end to end: ward sim up --city starts the seven departments
# with their real data; the showcase session script's results must equal the
# same questions answered in the clear from the CSV files (exactly, up to the
# decimal scale); session scripts mix aggregates, decisions and training
# runs; the audit log records the sessions with an intact chain; session
# scripts report their errors by line; ward sim down stops it all.
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

# ---- session scripts: decisions next to aggregates -----------------------------------------
# The car-park operator with the most cars parked (argmax), the largest single
# reading (max of maxima) and whether the evening occupancy exceeds T, on each
# side of the true total (threshold), between aggregate lines; every answer
# against the CSV files.
evening=$(awk -F, 'FNR > 1 { h = substr($1, 12, 2) + 0; if (h >= 17 && h <= 19) s += $4 } END { printf "%d\n", s }' \
    "$data/parking-north.csv" "$data/parking-south.csv" "$data/parking-aarhus.csv")
ev='--where "hour(ts) >= 17 and hour(ts) <= 19"'
cat >"$tmp/decide.ward" <<EOF
# Aggregates and decisions in one script.
trips: count trips --parties transport,bikeshare --exact
busiest car-park operator: @parking-north argmax parking.occupied --agg sum --parties $pk --compute parking-south,parking-aarhus
evening occupancy: @parking-north sum parking.occupied $ev --parties $pk --exact
evening occupancy above $((evening - 1))?: @parking-north threshold parking.occupied $ev \\
    --parties $pk --compute parking-north,parking-south --threshold $((evening - 1))
evening occupancy above $evening?: @parking-south threshold parking.occupied $ev --parties $pk --compute parking-aarhus,parking-south --threshold $evening --json
@parking-south max parking.occupied --agg max --parties $pk --compute parking-north,parking-aarhus
trips above 20000: threshold trips --agg count --parties transport,bikeshare --compute bikeshare,transport --threshold 20000
mean trip duration: mean trips.duration_s --parties transport,bikeshare --exact
EOF
run "$ward" --node "$city/transport" run "$tmp/decide.ward" --json
check "a script of aggregates and decisions exits 0 ($(head -c 300 "$tmp/err"))" [ "$rc" -eq 0 ]
cp "$tmp/out" "$tmp/decide.json"
check "decision lines give the command line's JSON fields and the plaintext answers" python3 - "$tmp/decide.json" "$data" "$evening" <<'EOF'
import csv, json, sys
from decimal import Decimal
from fractions import Fraction
d = json.load(open(sys.argv[1]))
data, evening = sys.argv[2], int(sys.argv[3])
r = d["results"]
assert d["failed"] == 0 and d["not_run"] == 0 and len(r) == 8, d
assert [x["line"] for x in r] == [2, 3, 4, 5, 7, 8, 9, 10], [x["line"] for x in r]
assert [x["at"] for x in r] == [None, "parking-north", "parking-north", "parking-north",
                                "parking-south", "parking-south", None, None], r
assert [x["op"] for x in r] == ["count", "argmax", "sum", "threshold", "threshold", "max",
                                "threshold", "mean"], [x["op"] for x in r]
def rows(*files):
    for f in files:
        with open(data + "/" + f, newline="") as fh:
            yield from csv.DictReader(fh)
pk = ["parking-aarhus", "parking-north", "parking-south"]
sums = {n: sum(int(x["occupied"]) for x in rows(n + ".csv")) for n in pk}
best = min(n for n in sums if sums[n] == max(sums.values()))  # a tie goes to the lowest name
top = max(int(x["occupied"]) for x in rows(*(n + ".csv" for n in pk)))
trips = list(rows("transport-trips.csv", "bikeshare-trips.csv"))
assert evening == sum(int(x["occupied"]) for x in rows(*(n + ".csv" for n in pk))
                      if 17 <= int(x["ts"][11:13]) <= 19), "awk and python disagree"
# Aggregate lines: their own fields, none of a decision's.
for x in (r[0], r[2], r[7]):
    assert "output" not in x and "compute" not in x and x["exact"] is True, x
assert r[0]["value"] == len(trips), r[0]
assert r[2]["value"] == evening, (r[2]["value"], evening)
dur = [Fraction(Decimal(x["duration_s"])) for x in trips if x["duration_s"] not in ("", "NA")]
assert abs(Fraction(r[7]["value"]) - sum(dur) / len(dur)) < Fraction(1, 10**6), r[7]
# Decision lines: what `ward --node X max|argmax|threshold --json` prints.
for x in (r[1], r[3], r[4], r[5], r[6]):
    assert "value" not in x and "groups" not in x, x
    assert x["exact"] is True and x["epsilon"] is None and x["and_gates"] > 0, x
    assert x["latency_ms"] >= 0 and x["wall_ms"] > 0 and len(x["session"]) == 64, x
want = [
    (r[1], best, "sum", "parking", "occupied", None, ["parking-south", "parking-aarhus"]),
    (r[3], True, "sum", "parking", "occupied", evening - 1, ["parking-north", "parking-south"]),
    (r[4], False, "sum", "parking", "occupied", evening, ["parking-aarhus", "parking-south"]),
    (r[5], top, "max", "parking", "occupied", None, ["parking-north", "parking-aarhus"]),
    (r[6], len(trips) > 20000, "count", "trips", "", 20000, ["bikeshare", "transport"]),
]
for x, *w in want:
    got = [x["output"], x["agg"], x["table"], x["column"], x["threshold"], x["compute"]]
    assert got == w, (x["label"], got, w)
    assert x["parties"] == (pk if x["table"] == "parking" else ["bikeshare", "transport"]), x
assert r[1]["label"] == "busiest car-park operator" and r[5]["label"] == "", r
assert r[3]["label"] == "evening occupancy above %d?" % (evening - 1), r[3]["label"]
print("decision script: 8 results equal their plaintext answers")
EOF
run "$ward" --node "$city/transport" run "$tmp/decide.ward" --json --parallel 4
check "the decision script with --parallel 4 exits 0 ($(head -c 300 "$tmp/err"))" [ "$rc" -eq 0 ]
check "--parallel 4 gives the decision script's sequential answers in script order" python3 - "$tmp/out" "$tmp/decide.json" <<'EOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["failed"] == 0 and a["not_run"] == 0 and len(a["results"]) == len(b["results"]) == 8, a
keys = ("line", "label", "at", "op", "value", "groups", "output", "agg", "threshold", "parties",
        "compute", "and_gates")
for x, y in zip(a["results"], b["results"]):
    assert [x.get(k) for k in keys] == [y.get(k) for k in keys], (x, y)
    assert x["session"] != y["session"], x
EOF
run "$ward" --node "$city/transport" run "$tmp/decide.ward"
check "the decision script (human) exits 0" [ "$rc" -eq 0 ]
busiest=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["results"][1]["output"])' "$tmp/decide.json")
check "human output: the argmax as the command line prints it" \
    grep -qx "argmax of sum(parking.occupied) = $busiest" "$tmp/out"
check "human output: both evening thresholds, each side of the total ($evening)" \
    grep -qx "total of sum(parking.occupied) > $((evening - 1)): yes" "$tmp/out"
check "human output: ... the other side" grep -qx "total of sum(parking.occupied) > $evening: no" "$tmp/out"
check "human output: a decision's number, label and line" \
    grep -qx "== 2\. busiest car-park operator (line 3)" "$tmp/out"
check "human output: who computed each of the 5 decisions" [ "$(grep -c '^computed by .* (garbler) and .* (evaluator) in a garbled circuit of [0-9]* AND gates; exact (no noise)$' "$tmp/out")" -eq 5 ]
check "human output: a round trip for each of the 8 lines" [ "$(grep -c '^round trip from this client: ' "$tmp/out")" -eq 8 ]
check "human output: the closing line" grep -q '^8 computations in .* 8 done, 0 failed$' "$tmp/out"
run "$ward" --node "$city/parking-north" argmax parking.occupied --agg sum --parties $pk --compute parking-south,parking-aarhus
check "the command line's argmax names $busiest too" grep -qx "argmax of sum(parking.occupied) = $busiest" "$tmp/out"

# A decision line without --compute stops the whole script before anything
# runs: parking-north, which would propose every line, records no session.
run "$ward" --node "$city/parking-north" audit --json
last=$(python3 -c 'import json, sys; print(max(e["seq"] for e in json.load(open(sys.argv[1]))["entries"]))' "$tmp/out")
cat >"$tmp/decide-bad.ward" <<EOF
first: @parking-north count parking --parties $pk --exact
busiest: @parking-north argmax parking.occupied --agg sum --parties $pk
@parking-north max parking.occupied --parties $pk --compute parking-south,parking-aarhus
EOF
run "$ward" --node "$city/transport" run "$tmp/decide-bad.ward" --parallel 4
check "a decision line without --compute exits 2" [ "$rc" -eq 2 ]
check "... naming the file and line, nothing run ($(cat "$tmp/err"))" \
    grep -qx "ward: error: $tmp/decide-bad.ward:2: usage: ward --node X argmax TABLE.COLUMN .*--compute A,B .*(nothing was run)" "$tmp/err"
check "... printing nothing" [ ! -s "$tmp/out" ]
run "$ward" --node "$city/parking-north" audit --since $((last + 1)) --json
check "... and no line ran (parking-north's audit holds nothing after entry $last)" \
    python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))["entries"]; assert e == [], e' "$tmp/out"
printf 'thr: threshold trips --agg count --parties transport,bikeshare --compute transport,bikeshare\n' >"$tmp/decide-bad2.ward"
run "$ward" --node "$city/transport" run "$tmp/decide-bad2.ward"
check "a threshold line without --threshold exits 2" [ "$rc" -eq 2 ]
check "... with the command line's message" \
    grep -qx "ward: error: $tmp/decide-bad2.ward:1: threshold needs --threshold T (nothing was run)" "$tmp/err"

# ---- session scripts: training next to aggregates -----------------------------------------
# Train lines take `ward --node X train`'s arguments and print what it prints.
# A run is not a function of its arguments (each party splits its rows 80/20
# with a private seed), so the model and its figures differ from run to run:
# what the split does not decide (the model's shape, the parties, t, the
# number of validation rows) must equal the command line's; the rest must be
# in range, and every party must hold the model the line reports.
tf='sin_hour(ts),cos_hour(ts),weekend(ts),capacity[0,2000]'
tl='occupied/capacity>0.5'
cat >"$tmp/train.ward" <<EOF
# An aggregate and two training runs in one script.
cars parked: sum parking.occupied --parties $pk --exact
occupancy model: train --table parking --features '$tf' --label '$tl' --model logreg --parties $pk --rounds 3
@parking-south train --table parking --features 'capacity[0,2000]' --label '$tl' --model mlp --hidden 4 \\
    --parties parking-north,parking-south --rounds 2 --personalize 1 --json
trips: @transport count trips --parties transport,bikeshare --exact
EOF
run "$ward" --node "$city/parking-north" run "$tmp/train.ward" --json
check "a script with train lines exits 0 ($(head -c 300 "$tmp/err"))" [ "$rc" -eq 0 ]
cp "$tmp/out" "$tmp/train.json"
run "$ward" --node "$city/parking-north" train --table parking --features "$tf" --label "$tl" \
    --model logreg --parties $pk --rounds 3 --json
check "the command line's train exits 0 ($(head -c 300 "$tmp/err"))" [ "$rc" -eq 0 ]
cp "$tmp/out" "$tmp/train-cli.json"
check "a train line gives the command line's JSON fields, the aggregates theirs" python3 - "$tmp/train.json" "$tmp/train-cli.json" "$data" <<'EOF'
import csv, json, sys
d = json.load(open(sys.argv[1]))
cli = json.load(open(sys.argv[2]))
r = d["results"]
assert d["failed"] == 0 and d["not_run"] == 0 and len(r) == 4, d
assert [x["line"] for x in r] == [2, 3, 4, 6], [x["line"] for x in r]
assert [x["label"] for x in r] == ["cars parked", "occupancy model", "", "trips"], r
assert [x["at"] for x in r] == [None, None, "parking-south", "transport"], r
assert r[1]["command"].startswith("train --table parking --features "), r[1]["command"]
pk = ["parking-aarhus", "parking-north", "parking-south"]
occ = 0
for n in pk:
    with open(sys.argv[3] + "/" + n + ".csv", newline="") as fh:
        occ += sum(int(x["occupied"]) for x in csv.DictReader(fh))
assert r[0]["op"] == "sum" and r[0]["value"] == occ and "model" not in r[0], (r[0], occ)
assert r[3]["op"] == "count" and r[3]["value"] == 24437, r[3]
for x in (r[1], r[2]):
    # The command line's fields, in its order, between the line's own.
    assert list(x)[:4] == ["label", "line", "command", "at"] and list(x)[-1] == "wall_ms", list(x)
    assert list(x)[4:-1] == list(cli), (list(x), list(cli))
    m = x["model"]
    assert m["sha256"] == x["model_sha256"] and len(x["session"]) == 64, x
    assert len(m["params"]) == m["nparams"] and len(m["mean"]) == len(m["sd"]), m
    assert x["epsilon"] is None and x["latency_ms"] >= 0 and x["wall_ms"] > 0, x
    assert x["finished"] == x["parties"] and x["threshold"] == len(x["parties"]) // 2 + 1, x
    assert 0 < x["metrics"]["accuracy"] <= 1 and 0 <= x["metrics"]["f1"] <= 1, x["metrics"]
# The same words on the command line: the same shape, parties and rows.
a = r[1]
def same(x):
    return ({k: x["model"][k] for k in ("kind", "features", "classes", "hidden", "nparams")},
            x["rounds"], sorted(x["metrics"]), x["metrics"]["validation_rows"], x["epsilon"],
            x["threshold"], x["parties"], x["finished"], x["personalized"])
assert same(a) == same(cli), (same(a), same(cli))
assert a["model"]["kind"] == "logreg" and a["model"]["features"] == 4 and a["rounds"] == 3, a
assert a["parties"] == pk and a["threshold"] == 2 and a["personalized"] == [], a
assert a["session"] != cli["session"], "two runs, two sessions"
b = r[2]
assert b["model"]["kind"] == "mlp" and b["model"]["hidden"] == 4 and b["rounds"] == 2, b
assert b["parties"] == ["parking-north", "parking-south"] and b["threshold"] == 2, b
assert [p["party"] for p in b["personalized"]] == b["parties"], b["personalized"]
for p in b["personalized"]:
    for k in ("before", "after"):
        assert set(p[k]) == {"accuracy", "f1"} and 0 <= p[k]["accuracy"] <= 1, p
print("train script: accuracy %.4f (command line %.4f), %d validation rows"
      % (a["metrics"]["accuracy"], cli["metrics"]["accuracy"], a["metrics"]["validation_rows"]))
EOF
want=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"][1]; print(r["session"] + " " + r["model_sha256"])' "$tmp/train.json" 2>/dev/null)
for n in parking-aarhus parking-north parking-south; do
    got=$("$ward" --node "$city/$n" audit --json 2>/dev/null | python3 -c '
import json, sys
s = sys.argv[1]
e = [x for x in json.load(sys.stdin)["entries"] if x["event"] == "session-done" and x["session"] == s]
print(s + " " + json.loads(e[-1]["detail"])["model_sha256"] if e else "none")' "${want%% *}")
    check "$n holds the train line's model ($got vs $want)" [ "$got" = "$want" ]
done
# The human form, two lines at a time: each block as the command line prints it.
run "$ward" --node "$city/parking-north" run "$tmp/train.ward" --parallel 2
check "the train script (human, --parallel 2) exits 0 ($(head -c 300 "$tmp/err"))" [ "$rc" -eq 0 ]
cp "$tmp/out" "$tmp/train.txt"
run "$ward" --node "$city/parking-north" train --table parking --features "$tf" --label "$tl" \
    --model logreg --parties $pk --rounds 3
check "the command line's train (human) exits 0" [ "$rc" -eq 0 ]
check "human output: a train line's block is the command line's, up to the figures" \
    python3 - "$tmp/train.txt" "$tmp/out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
cli = open(sys.argv[2]).read()
blocks = text.split("\n\n")
assert len(blocks) == 5 and re.search(r"^4 computations in .* 4 done, 0 failed$", blocks[4], re.M), text
b = blocks[1].splitlines()
assert b[0] == "== 2. occupancy model (line 3)" and b[1].startswith("   train --table parking "), b
assert b[-1].startswith("round trip from this client: ") and b[-1].endswith(" ms"), b
def norm(s):  # the figures of a run: decimals and hashes
    return re.sub(r"[0-9a-f]{64}", "H", re.sub(r"\d+\.\d+", "N", s))
assert norm("\n".join(b[2:-1]) + "\n") == norm(cli), (b[2:-1], cli)
assert b[2] == "trained logreg on parking over 3 rounds (FedAvg)", b
c = blocks[2].splitlines()
assert c[0].startswith("== 3. @parking-south train --table parking ") and c[0].endswith(" (line 4)"), c
assert c[1] == "trained mlp on parking over 2 rounds (FedAvg)", c
assert any(l.startswith("personalised (") for l in c) and any(l.startswith("  parking-north: accuracy ") for l in c), c
assert len(re.findall(r"^model sha256 [0-9a-f]{64} \(the same at every party\); exact \(no DP noise\)$", text, re.M)) == 2
assert len(re.findall(r"^round trip from this client: ", text, re.M)) == 4
EOF
# A train line without --label stops the script before anything runs, with
# the command line's message: parking-north, which would propose the first
# two lines, records no session.
run "$ward" --node "$city/parking-north" train --table parking --features "$tf" --model logreg \
    --parties $pk --rounds 3
check "the command line's train without --label exits 2" [ "$rc" -eq 2 ]
cli_msg=$(sed 's/^ward: error: //' "$tmp/err")
run "$ward" --node "$city/parking-north" audit --json
last=$(python3 -c 'import json, sys; print(max(e["seq"] for e in json.load(open(sys.argv[1]))["entries"]))' "$tmp/out")
cat >"$tmp/train-bad.ward" <<EOF
cars parked: sum parking.occupied --parties $pk --exact
occupancy model: train --table parking --features '$tf' --model logreg --parties $pk --rounds 3
@parking-south train --table parking --features '$tf' --label '$tl' --model logreg --parties $pk --rounds 3
EOF
run "$ward" --node "$city/parking-north" run "$tmp/train-bad.ward" --parallel 2
check "a train line without --label exits 2" [ "$rc" -eq 2 ]
check "... with the file, the line and the command line's message ($(cat "$tmp/err"))" \
    grep -qxF "ward: error: $tmp/train-bad.ward:2: $cli_msg (nothing was run)" "$tmp/err"
check "... printing nothing" [ ! -s "$tmp/out" ]
run "$ward" --node "$city/parking-north" audit --since $((last + 1)) --json
check "... and no line ran (parking-north's audit holds nothing after entry $last)" \
    python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))["entries"]; assert e == [], e' "$tmp/out"

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
