#!/bin/sh
# ward max | argmax | threshold end to end: the demo city (ward sim up
# --city, real node processes on 127.0.0.1 with the real data of
# netsim/city), each decision computed by two departments in a garbled
# circuit and compared with the same question answered in the clear from
# the CSV files: the parking department with the most cars parked (argmax
# of the sum of parking.occupied), the largest single occupancy (max of
# maxima), the busiest lot's total, and whether the city's trips exceed a
# count (threshold, each side of the true total). Then the refusals: usage
# errors, --compute naming a non-party or the same node twice, a missing
# column, a policy that denies argmax, a computing node that is down, and
# one that is frozen (the session timeout ends it). Every wait is bounded; whatever was
# started is stopped on exit.
# usage: test_decide_e2e.sh WARD CITY_DATA_DIR
set -u
ward=$1
data=$2
tmp=$(mktemp -d /tmp/ward-decide-e2e-XXXXXX)
city=$tmp/city
fails=0
checks=0
stopped=""

cleanup() {
    for p in $stopped; do kill -CONT "$p" 2>/dev/null; done
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

jfield() { # jfield FILE FIELD: one field of a JSON object, as Python prints it
    python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1" "$2" 2>/dev/null
}

# plain EXPR: a number or name computed in the clear from the CSV files.
plain() {
    python3 - "$data" "$1" <<'EOF'
import csv, sys
d, what = sys.argv[1], sys.argv[2]
def col(f, c, where=None):
    out = []
    for row in csv.DictReader(open(d + "/" + f)):
        if where and not where(row):
            continue
        v = row[c].strip()
        if v not in ("", "NA"):
            out.append(int(v))
    return out
parking = {"parking-aarhus": "parking-aarhus.csv", "parking-north": "parking-north.csv",
           "parking-south": "parking-south.csv"}
if what == "argmax-sum":
    sums = {n: sum(col(f, "occupied")) for n, f in parking.items()}
    best = max(sums.values())
    print(min(n for n in sums if sums[n] == best))  # a tie goes to the lowest name
elif what == "max-max":
    print(max(max(col(f, "occupied")) for f in parking.values()))
elif what == "max-sum-capacity-big":
    big = lambda r: int(r["capacity"]) >= 500
    print(max(sum(col(f, "occupied", big)) for f in parking.values()))
elif what == "trips":
    n = 0
    for f in ("transport-trips.csv", "bikeshare-trips.csv"):
        n += sum(1 for _ in csv.DictReader(open(d + "/" + f)))
    print(n)
EOF
}

if ! "$ward" sim up --city --dir "$city" >"$tmp/up" 2>&1; then
    echo "FAIL: sim up --city: $(cat "$tmp/up")"
    exit 1
fi
# A shorter session timeout, so that the frozen node's session ends soon.
"$ward" sim down --dir "$city" >/dev/null 2>&1
for d in "$city"/*/; do
    sed -i 's/^session_timeout_ms = .*/session_timeout_ms = 3000/' "$d/node.conf"
done
if ! "$ward" sim up --city --dir "$city" >"$tmp/up" 2>&1; then
    echo "FAIL: sim up --city again: $(cat "$tmp/up")"
    exit 1
fi
P=parking-aarhus,parking-north,parking-south

# ---- the answers -------------------------------------------------------------
# The parking department with the most cars parked, over all its readings;
# parking-north proposes, parking-south garbles, parking-aarhus evaluates.
run "$ward" --node "$city/parking-north" argmax parking.occupied --agg sum --parties $P \
    --compute parking-south,parking-aarhus --json
check "argmax exits 0 ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
want=$(plain argmax-sum)
check "argmax names $want, as the CSV files do ($(jfield "$tmp/out" output))" [ "$(jfield "$tmp/out" output)" = "$want" ]
check "argmax JSON has its fields" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["op"] == "argmax" and d["agg"] == "sum" and d["table"] == "parking" and d["column"] == "occupied", d
assert d["parties"] == ["parking-aarhus", "parking-north", "parking-south"], d
assert d["compute"] == ["parking-south", "parking-aarhus"] and d["exact"] is True and d["epsilon"] is None, d
assert d["and_gates"] > 0 and d["latency_ms"] >= 0 and len(d["session"]) == 64, d' "$tmp/out"
cp "$tmp/out" "$tmp/argmax.json"

# The same with the proposer computing (as the evaluator), in plain text.
run "$ward" --node "$city/parking-aarhus" argmax parking.occupied --parties $P \
    --compute parking-north,parking-aarhus
check "argmax (proposer computes) exits 0 ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
check "the human output names $want" grep -q "^argmax of sum(parking.occupied) = $want\$" "$tmp/out"

# The largest single reading (max of each department's maximum).
run "$ward" --node "$city/parking-south" max parking.occupied --agg max --parties $P \
    --compute parking-north,parking-aarhus --json
want=$(plain max-max)
check "max of maxima exits 0 ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
check "max of maxima is $want ($(jfield "$tmp/out" output))" [ "$(jfield "$tmp/out" output)" = "$want" ]

# The largest department total over the lots of capacity >= 500 (--where).
run "$ward" --node "$city/parking-north" max parking.occupied --agg sum --where 'capacity >= 500' \
    --parties $P --compute parking-aarhus,parking-north --json
want=$(plain max-sum-capacity-big)
check "max of sums with --where exits 0 ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
check "max of sums with --where is $want ($(jfield "$tmp/out" output))" [ "$(jfield "$tmp/out" output)" = "$want" ]

# Do the city's trips (taxi and bike) exceed T? Each side of the true count.
n=$(plain trips)
for t in $((n - 1)) $n; do
    run "$ward" --node "$city/transport" threshold trips --agg count --parties transport,bikeshare \
        --compute bikeshare,transport --threshold "$t" --json
    if [ "$t" -lt "$n" ]; then want=true; else want=false; fi
    check "threshold $t exits 0 ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
    check "trips ($n) > $t is $want ($(jfield "$tmp/out" output))" [ "$(jfield "$tmp/out" output)" = $want ]
    check "threshold echoes T" [ "$(jfield "$tmp/out" threshold)" = "$t" ]
done

# The audit: the proposer and a computing node each record the session.
sess=$(jfield "$tmp/argmax.json" session)
for nd in parking-north parking-south parking-aarhus; do
    run "$ward" --node "$city/$nd" audit --verify --json
    check "$nd's audit records the argmax session, chain intact" python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert a["chain_ok"] is True, a
assert any(e["event"] == "session-done" and e["session"] == sys.argv[2] and "\"kind\":\"decide\"" in e["detail"]
           for e in a["entries"]), a' "$tmp/out" "$sess"
done

# ---- refusals ------------------------------------------------------------------
run "$ward" --node "$city/parking-north" argmax parking.occupied --parties $P
check "no --compute is a usage error" [ "$rc" -eq 2 ]
run "$ward" --node "$city/parking-north" argmax parking.occupied --parties $P --compute parking-north
check "one --compute name is a usage error" [ "$rc" -eq 2 ]
run "$ward" --node "$city/parking-north" threshold parking.occupied --parties $P --compute parking-north,parking-south
check "threshold without --threshold is a usage error" [ "$rc" -eq 2 ]
run "$ward" --node "$city/parking-north" argmax parking.occupied --agg mean --parties $P --compute parking-north,parking-south
check "--agg mean is a usage error" [ "$rc" -eq 2 ]

run "$ward" --node "$city/parking-north" argmax parking.occupied --parties $P --compute parking-south,parking-south
check "--compute naming one node twice exits 1" [ "$rc" -eq 1 ]
check "... and says so ($(cat "$tmp/err"))" grep -q '^ward: error: --compute names parking-south twice' "$tmp/err"
run "$ward" --node "$city/parking-north" argmax parking.occupied --parties $P --compute parking-south,energy
check "--compute naming a non-party exits 1" [ "$rc" -eq 1 ]
check "... and names it ($(cat "$tmp/err"))" grep -q '^ward: error: --compute: energy is not one of the parties' "$tmp/err"
run "$ward" --node "$city/parking-north" argmax parking.nosuch --parties $P --compute parking-south,parking-aarhus
check "a missing column exits 1" [ "$rc" -eq 1 ]
check "... and names it ($(cat "$tmp/err"))" grep -q "has no column 'nosuch'" "$tmp/err"
check "no output on a refusal" [ ! -s "$tmp/out" ]

# A department whose policy denies argmax of parking to everyone.
"$ward" sim down --dir "$city" >/dev/null 2>&1
printf '# no argmax of our parking\nexact yes\ndeny * parking * argmax\nallow * * * *\n' >"$city/parking-aarhus/policy"
if ! "$ward" sim up --city --dir "$city" >"$tmp/up" 2>&1; then
    echo "FAIL: sim up --city with the new policy: $(cat "$tmp/up")"
    exit 1
fi
run "$ward" --node "$city/parking-north" argmax parking.occupied --parties $P --compute parking-south,parking-north
check "argmax refused by parking-aarhus's policy exits 1" [ "$rc" -eq 1 ]
check "... naming the department and its rule ($(cat "$tmp/err"))" grep -q 'refused by parking-aarhus: policy rule on line 3 denies argmax' "$tmp/err"
run "$ward" --node "$city/parking-north" max parking.occupied --parties $P --compute parking-south,parking-north --json
check "max is still allowed by that policy ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]

# A computing node that is down: nothing starts.
pid=$(cat "$city/parking-south/node.pid")
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
run "$ward" --node "$city/parking-north" max parking.occupied --parties $P --compute parking-south,parking-aarhus
check "a computing node down exits 1" [ "$rc" -eq 1 ]
check "... naming it ($(cat "$tmp/err"))" grep -q 'party parking-south is not connected; the session was not started' "$tmp/err"

# A computing node that is frozen (its channels stay open): a bounded wait.
pid=$(cat "$city/parking-aarhus/node.pid")
kill -STOP "$pid"
stopped=$pid
run "$ward" --node "$city/parking-north" max parking.occupied --parties parking-aarhus,parking-north \
    --compute parking-north,parking-aarhus
kill -CONT "$pid"
stopped=""
check "a frozen computing node exits 1" [ "$rc" -eq 1 ]
# The node's own session timeout ends it (not the command's 60 s deadline).
check "... on the session timeout, naming it ($(cat "$tmp/err"))" \
    grep -q 'timed out after [0-9]* ms waiting for parking-aarhus' "$tmp/err"

echo "decide-e2e: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
