#!/bin/sh
# Local-DP reports at a running node (a real process on 127.0.0.1), over
# its control socket: encode -> import --ldp-reports -> ldp-estimate,
# checked against the truth within the stated standard deviation (and
# failing when the table declares a wrong epsilon), and malformed report
# files refused with their line number and nothing imported.
# usage: test_ldp_node.sh WARD
set -u
ward=$1
fails=0
checks=0
tmp=$(mktemp -d)
trap '"$ward" sim down --dir "$tmp/c" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
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

run "$ward" sim up --nodes 1 --dir "$tmp/c"
check "sim up --nodes 1 exits 0" [ "$rc" -eq 0 ]
n=$tmp/c/node1

# 6000 citizens, values 0..5 with weights 6..1 (known truth).
python3 -c '
for i in range(6000):
    k = i % 21
    v = 0
    while k >= 6 - v:
        k -= 6 - v
        v += 1
    print(v)' >"$tmp/raw"
python3 -c '
import collections
c = collections.Counter(int(l) for l in open("'"$tmp/raw"'"))
print(" ".join(str(c[v]) for v in range(6)))' >"$tmp/truth"

for m in rr oue olh; do
    "$ward" ldp encode --mech $m --epsilon 2 --domain 6 --seed 5 <"$tmp/raw" >"$tmp/rep.$m"
    run "$ward" --node "$n" import "t_$m" "$tmp/rep.$m" --ldp-reports $m --epsilon 2 --domain 6
    check "import $m exits 0" [ "$rc" -eq 0 ]
    check "import $m says 6000 reports" grep -q "imported 6000 $m reports into t_$m" "$tmp/out"
    run "$ward" --node "$n" ldp-estimate "t_$m" --json
    check "ldp-estimate $m exits 0" [ "$rc" -eq 0 ]
    cp "$tmp/out" "$tmp/est.$m"
    check "ldp-estimate $m: every value within 4.5 sd of the truth" python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
t = [int(x) for x in open(sys.argv[2]).read().split()]
assert o["n"] == 6000 and o["mech"] == sys.argv[3] and o["domain"] == 6 and o["epsilon"] == 2
z = [(e - f) / s for e, f, s in zip(o["estimates"], t, o["stddev"])]
sys.exit(0 if max(abs(x) for x in z) < 4.5 else 1)' "$tmp/est.$m" "$tmp/truth" $m
    # The human form lists the same values.
    run "$ward" --node "$n" ldp-estimate "t_$m"
    check "ldp-estimate $m: one line per value" [ "$(grep -c '^[0-5] ' "$tmp/out")" -eq 6 ]
done

# Power: reports encoded at epsilon 2 declared as epsilon 1 fail the same check.
run "$ward" --node "$n" import wrong "$tmp/rep.rr" --ldp-reports rr --epsilon 1 --domain 6
check "import at a wrong epsilon exits 0" [ "$rc" -eq 0 ]
run "$ward" --node "$n" ldp-estimate wrong --json
check "a wrong epsilon is caught by the check" python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
t = [int(x) for x in open(sys.argv[2]).read().split()]
z = [(e - f) / s for e, f, s in zip(o["estimates"], t, o["stddev"])]
sys.exit(0 if max(abs(x) for x in z) >= 4.5 else 1)' "$tmp/out" "$tmp/truth"

# Appending with the same parameters adds; other parameters are refused.
head -n 10 "$tmp/rep.rr" >"$tmp/ten"
run "$ward" --node "$n" import t_rr "$tmp/ten" --ldp-reports rr --epsilon 2 --domain 6 --json
check "append exits 0" [ "$rc" -eq 0 ]
check "append: rows_total 6010" grep -q '"rows_total": 6010' "$tmp/out"
run "$ward" --node "$n" import t_rr "$tmp/ten" --ldp-reports rr --epsilon 1.5 --domain 6
check "append at another epsilon exits 1" [ "$rc" -eq 1 ]
check "append at another epsilon says why" grep -q 'epsilon' "$tmp/err"

# Malformed files: refused with the line number, nothing imported.
printf '1\n2\n6\n3\n' >"$tmp/bad"
run "$ward" --node "$n" import bad "$tmp/bad" --ldp-reports rr --epsilon 1 --domain 6
check "bad rr file exits 1" [ "$rc" -eq 1 ]
check "bad rr file names line 3" grep -q "^ward: error: $tmp/bad:3: .*(1 error; nothing imported)" "$tmp/err"
run "$ward" --node "$n" ldp-estimate bad
check "nothing was imported" [ "$rc" -eq 1 ]
check "no such report table" grep -q "not a table of local-DP reports" "$tmp/err"
printf '010100\n01010\n' >"$tmp/bad_oue"
run "$ward" --node "$n" import t_oue "$tmp/bad_oue" --ldp-reports oue --epsilon 2 --domain 6
check "bad oue line exits 1" [ "$rc" -eq 1 ]
check "bad oue line names line 2" grep -q "bad_oue:2: " "$tmp/err"
run "$ward" --node "$n" ldp-estimate t_oue --json
check "the oue table still holds 6000 reports" grep -q '"n": 6000' "$tmp/out"
printf '12,1\n12\n' >"$tmp/bad_olh"
run "$ward" --node "$n" import t_olh "$tmp/bad_olh" --ldp-reports olh --epsilon 2 --domain 6
check "bad olh line exits 1 naming line 2" sh -c '[ "$1" -eq 1 ] && grep -q "bad_olh:2: " "$2"' _ "$rc" "$tmp/err"

# Usage errors exit 2; the control socket works as well as the directory;
# the reports' import is in the audit log; a stopped node is named.
run "$ward" --node "$n" import x "$tmp/ten" --ldp-reports rr --domain 6
check "missing --epsilon exits 2" [ "$rc" -eq 2 ]
run "$ward" --node "$n" import x "$tmp/ten" --ldp-reports foo --epsilon 1 --domain 6
check "unknown mechanism exits 2" [ "$rc" -eq 2 ]
run "$ward" --node "$n" ldp-estimate
check "ldp-estimate without a table exits 2" [ "$rc" -eq 2 ]
run "$ward" --node "$n/ctl.sock" ldp-estimate t_rr --json
check "ldp-estimate through the control socket path" python3 -c '
import json, sys; assert json.load(open(sys.argv[1]))["n"] == 6010' "$tmp/out"
run "$ward" --node "$n" audit --verify --json
check "the imports are in an intact audit log" python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert a["chain_ok"] is True
imp = [e for e in a["entries"] if e["event"] == "import"]
assert len(imp) == 5 and all("ldp" in e["detail"] for e in imp), imp' "$tmp/out"
"$ward" sim down --dir "$tmp/c" >/dev/null 2>&1
run "$ward" --node "$n" ldp-estimate t_rr
check "a stopped node is named" sh -c '[ "$1" -eq 1 ] && grep -q "no node is running" "$2"' _ "$rc" "$tmp/err"

echo "ldp-node: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
