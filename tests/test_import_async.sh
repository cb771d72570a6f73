#!/bin/sh
# Imports off the event loop, on real node processes (127.0.0.1): while a
# large file is being imported, the node answers its control socket and
# takes part in a session, which finish before the import does; two
# imports of one table queue and both land; a node killed mid-import has
# imported nothing and leaves no staging file once restarted. Every wait is
# bounded; whatever was started is stopped on exit.
# usage: test_import_async.sh WARD
set -u
ward=$1
tmp=$(mktemp -d /tmp/ward-impa-XXXXXX)
city=$tmp/city
fails=0
checks=0
bg=""

cleanup() {
    for p in $bg; do kill -9 "$p" 2>/dev/null; done
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
wait_until() { # wait_until SECONDS COMMAND...
    limit=$(($1 * 10)); shift
    i=0
    while [ "$i" -lt "$limit" ]; do
        if "$@"; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
alive() { kill -0 "$1" 2>/dev/null; }
rows() { # rows NODE TABLE: the table's row count from `ward tables --json`
    "$ward" --node "$city/$1" tables --json 2>/dev/null | python3 -c '
import json, sys
t = [x for x in json.load(sys.stdin)["tables"] if x["name"] == sys.argv[1]]
print(t[0]["rows"] if t else 0)' "$2"
}

# A file big enough that reading it takes a while (about a second here,
# longer under the sanitizers), and a small one.
python3 - "$tmp" <<'EOF'
import sys
d = sys.argv[1]
with open(d + "/big.csv", "w") as f:
    f.write("ts,duration_s,station\n")
    for i in range(1500000):
        f.write("2019-03-%02d %02d:%02d:00,%d,s%d\n" % (1 + i % 28, i % 24, i % 60, 60 + i % 3000, i % 97))
with open(d + "/small.csv", "w") as f:
    f.write("ts,duration_s,station\n")
    for i in range(100):
        f.write("2019-04-01 %02d:00:00,%d,s1\n" % (i % 24, 100 + i))
EOF

run "$ward" sim up --nodes 3 --dir "$city"
check "sim up --nodes 3 exits 0 ($(head -c 200 "$tmp/err"))" [ "$rc" -eq 0 ]
for k in 1 2 3; do "$ward" --node "$city/node$k" import trips "$tmp/small.csv" >/dev/null 2>&1; done

# ---- the node serves while a file is read ------------------------------------------
"$ward" --node "$city/node1" import trips "$tmp/big.csv" >"$tmp/imp.out" 2>"$tmp/imp.err" &
imp=$!
bg="$bg $imp"
# Once the node has the job (its log says nothing yet: the import is
# silent until done), the control socket and a session still answer.
sleep 0.2
run "$ward" --node "$city/node1" status --json
check "status answers during the import" [ "$rc" -eq 0 ]
run "$ward" --node "$city/node2" count trips --parties node1,node2,node3 --exact --json
check "a session with the importing node completes during the import ($(head -c 200 "$tmp/err"))" [ "$rc" -eq 0 ]
check "the session saw the tables as they were before the import" python3 -c '
import json, sys; assert json.load(open(sys.argv[1]))["value"] == 300' "$tmp/out"
check "the import was still running when the session ended" alive "$imp"
wait_until 120 sh -c "! kill -0 $imp 2>/dev/null"
wait "$imp"
check "the import exits 0 ($(head -c 200 "$tmp/imp.err"))" [ "$?" -eq 0 ]
check "the import reports its rows" grep -q "imported 1500000 rows into trips" "$tmp/imp.out"
check "node1 holds 1,500,100 rows" [ "$(rows node1 trips)" -eq 1500100 ]
check "no staging file is left" sh -c "! ls '$city/node1/'*.import-* >/dev/null 2>&1"

# ---- two imports of one table queue; a bad one changes nothing -------------------------
"$ward" --node "$city/node2" import trips "$tmp/big.csv" >/dev/null 2>"$tmp/a.err" &
a=$!
bg="$bg $a"
sleep 0.1
run "$ward" --node "$city/node2" import trips "$tmp/small.csv"
check "a second import of the table waits its turn and succeeds ($(head -c 200 "$tmp/err"))" [ "$rc" -eq 0 ]
wait "$a"
check "the first import succeeds too ($(head -c 200 "$tmp/a.err"))" [ "$?" -eq 0 ]
check "node2 holds both files' rows" [ "$(rows node2 trips)" -eq 1500200 ]
printf 'ts,duration_s,station\n2019-04-01 00:00:00,many,s1\n' >"$tmp/bad.csv"
run "$ward" --node "$city/node2" import trips "$tmp/bad.csv"
check "a bad file is refused with its line" grep -q "bad.csv:2: column duration_s" "$tmp/err"
check "the refusal changes nothing" [ "$(rows node2 trips)" -eq 1500200 ]

# ---- killed mid-import: nothing imported, no staging file after the restart ------------
pid3=$(cat "$city/node3/node.pid")
"$ward" --node "$city/node3" import trips "$tmp/big.csv" >/dev/null 2>&1 &
k=$!
bg="$bg $k"
wait_until 20 sh -c "ls '$city/node3/'*.import-* >/dev/null 2>&1"
check "the staging file exists while the file is read" sh -c "ls '$city/node3/'*.import-* >/dev/null 2>&1"
kill -9 "$pid3"
wait "$k" 2>/dev/null
"$ward" sim down --dir "$city" >/dev/null 2>&1
run "$ward" sim up --nodes 3 --dir "$city"
check "the city comes back ($(head -c 200 "$tmp/err"))" [ "$rc" -eq 0 ]
check "node3 imported nothing of the interrupted file" [ "$(rows node3 trips)" -eq 100 ]
check "the restarted node removed the staging file" sh -c "! ls '$city/node3/'*.import-* >/dev/null 2>&1"
check "no sanitizer report in any node log" sh -c "! grep -l 'Sanitizer\|runtime error' '$city'/*/node.log"

echo "import-async: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
