#!/bin/sh
# A joint local-DP estimate across departments (`ward --node X ldp-estimate
# TABLE --parties LIST`) on three real node processes (127.0.0.1): citizens'
# reports split over three departments give, by one secret-shared sum of
# their support counts, exactly the estimate one node computes over all of
# them; a department whose table has other parameters refuses, naming
# them; a department without the table refuses. Every wait is bounded.
# usage: test_ldp_joint.sh WARD
set -u
ward=$1
tmp=$(mktemp -d /tmp/ward-ldpj-XXXXXX)
city=$tmp/c
fails=0
checks=0
trap '"$ward" sim down --dir "$city" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

check() {
    desc=$1; shift
    checks=$((checks + 1))
    if ! "$@"; then
        echo "FAIL: $desc"
        fails=$((fails + 1))
    fi
}
run() { "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }

run "$ward" sim up --nodes 3 --dir "$city"
check "sim up --nodes 3 exits 0" [ "$rc" -eq 0 ]
python3 -c '
for i in range(9000):
    print((i * 7) % 11 % 6)' >"$tmp/raw"
for m in rr oue olh; do
    "$ward" ldp encode --mech $m --epsilon 1.5 --domain 6 --seed 11 <"$tmp/raw" >"$tmp/all.$m"
    split -n l/3 -d "$tmp/all.$m" "$tmp/part.$m."
    run "$ward" --node "$city/node1" import "all_$m" "$tmp/all.$m" --ldp-reports $m --epsilon 1.5 --domain 6
    check "$m: node1 imports all reports" [ "$rc" -eq 0 ]
    k=1
    for p in "$tmp/part.$m."*; do
        run "$ward" --node "$city/node$k" import "r_$m" "$p" --ldp-reports $m --epsilon 1.5 --domain 6
        check "$m: node$k imports its third" [ "$rc" -eq 0 ]
        k=$((k + 1))
    done
    run "$ward" --node "$city/node1" ldp-estimate "all_$m" --json
    cp "$tmp/out" "$tmp/local.$m"
    run "$ward" --node "$city/node2" ldp-estimate "r_$m" --parties all --json
    check "$m: the joint estimate exits 0 ($(head -c 200 "$tmp/err"))" [ "$rc" -eq 0 ]
    cp "$tmp/out" "$tmp/joint.$m"
    check "$m: the joint estimate over three departments equals the estimate over all reports" python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert b["n"] == a["n"] == 9000, (a["n"], b["n"])
assert b["mech"] == a["mech"] and b["domain"] == a["domain"] == 6
assert b["estimates"] == a["estimates"] and b["stddev"] == a["stddev"], (a, b)
assert b["parties"] == ["node1", "node2", "node3"] and len(b["session"]) == 64' "$tmp/local.$m" "$tmp/joint.$m"
done
run "$ward" --node "$city/node3" ldp-estimate r_rr --parties all
check "the human form lists six values and the parties" sh -c '[ "$(grep -c "^[0-5] " "$1")" -eq 6 ] && grep -q "^parties: node1, node2, node3" "$1"' _ "$tmp/out"
# Other parameters at one department: refused, naming them.
run "$ward" --node "$city/node3" import other "$tmp/part.rr.02" --ldp-reports rr --epsilon 1 --domain 6
run "$ward" --node "$city/node1" import other "$tmp/part.rr.00" --ldp-reports rr --epsilon 1.5 --domain 6
run "$ward" --node "$city/node1" ldp-estimate other --parties node1,node3
check "other parameters at a party are refused (rc $rc)" sh -c '[ "$1" -eq 1 ] && grep -q "node3: table other holds rr reports at epsilon 1 " "$2"' _ "$rc" "$tmp/err"
run "$ward" --node "$city/node1" ldp-estimate all_rr --parties node1,node2
check "a party without the table refuses" sh -c '[ "$1" -eq 1 ] && grep -q "node2" "$2"' _ "$rc" "$tmp/err"
run "$ward" --node "$city/node1" ldp-estimate r_rr --parties all --bogus
check "a bad option is a usage error" [ "$rc" -eq 2 ]
check "no sanitizer report in any node log" sh -c "! grep -l 'Sanitizer\|runtime error' '$city'/*/node.log"

echo "ldp-joint: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
