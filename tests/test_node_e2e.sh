#!/bin/sh
# End to end: real node processes on 127.0.0.1 (ward sim up), the CLI over
# their control sockets, a crash and a restart, an unknown node and an
# impostor refused with a logged reason, and an orderly ward sim down.
# Every wait is bounded; whatever was started is stopped on exit.
# usage: test_node_e2e.sh WARD
set -u
ward=$1
tmp=$(mktemp -d /tmp/ward-e2e-XXXXXX)
city=$tmp/city
extra_pids=""
fails=0
checks=0
notes=""

cleanup() {
    "$ward" sim down --dir "$city" >/dev/null 2>&1
    for p in $extra_pids; do kill -9 "$p" 2>/dev/null; done
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

# run CMD...: captures stdout, stderr and status into $tmp/out, $tmp/err, $rc
run() { "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }

# wait_until SECONDS COMMAND...: polls every 0.2 s until the command succeeds
wait_until() {
    limit=$(($1 * 5)); shift
    i=0
    while [ "$i" -lt "$limit" ]; do
        if "$@"; then return 0; fi
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}

# connected NODE N: the node's status says exactly N peers connected
connected() {
    "$ward" --node "$city/$1" status --json 2>/dev/null | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["peers_connected"] == int(sys.argv[1]) else 1)' "$2"
}

all_connected() { # all_connected N: every node of the city has N peers
    for k in 1 2 3 4 5; do connected "node$k" "$1" || return 1; done
}

others_connected() { # others_connected SKIP N
    for k in 1 2 3 4 5; do
        [ "$k" = "$1" ] && continue
        connected "node$k" "$2" || return 1
    done
}

gone() { # gone PID: the process has exited (or is a zombie)
    ! kill -0 "$1" 2>/dev/null || grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

stop_node() { # stop_node NODE: SIGTERM, then wait for it to exit (10 s at most)
    sp=$(cat "$city/$1/node.pid")
    kill -TERM "$sp"
    wait_until 10 gone "$sp"
}

restart_node() { # restart_node NODE: start its ward node again, detached, as sim up does
    setsid "$ward" node --config "$city/$1/node.conf" >>"$city/$1/node.log" 2>&1 &
    extra_pids="$extra_pids $!"
    echo "$!" >"$city/$1/node.pid"
}

free_port() {
    python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ---- a city of five ---------------------------------------------------------
run "$ward" sim up --nodes 5 --dir "$city"
check "sim up exits 0 ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
check "sim up prints one summary line" [ "$(wc -l <"$tmp/out")" -eq 1 ]
if [ "$rc" -ne 0 ]; then
    for k in 1 2 3 4 5; do tail -n 5 "$city/node$k/node.log" 2>/dev/null; done
    echo "node-e2e: $checks checks, $fails failed (sim up failed; nothing else checked)"
    exit 1
fi
for k in 1 2 3 4 5; do
    check "node$k has a pid file" [ -s "$city/node$k/node.pid" ]
    check "node$k: control socket is 0600" [ "$(stat -c %a "$city/node$k/ctl.sock")" = 600 ]
    check "node$k: private key is 0600" [ "$(stat -c %a "$city/node$k/key")" = 600 ]
    check "node$k: roster is the city's" cmp -s "$city/roster" "$city/node$k/roster"
    check "node$k: the test city allows exact results" grep -q '^allow_exact = yes$' "$city/node$k/node.conf"
    run "$ward" --node "$city/node$k" status --json
    check "node$k status --json exits 0" [ "$rc" -eq 0 ]
    check "node$k status: 4 of 4 peers, its own name" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["name"] == sys.argv[2], d
assert d["peers_connected"] == 4 and d["peers_total"] == 4, d
assert d["sessions_active"] == 0, d' "$tmp/out" "node$k"
done

run "$ward" --node "$city/node1" status
check "status (human) exits 0" [ "$rc" -eq 0 ]
check "status (human) says 4 of 4" grep -q '4 of 4 peers connected' "$tmp/out"

run "$ward" --node "$city/node1" peers --json
check "peers --json exits 0" [ "$rc" -eq 0 ]
check "peers --json: node2..node5, all connected" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
names = sorted(p["name"] for p in d["peers"])
assert names == ["node2", "node3", "node4", "node5"], names
for p in d["peers"]:
    assert p["connected"] is True, p
    assert len(p["public_key"]) == 64, p
    assert p["address"].startswith("127.0.0.1:"), p' "$tmp/out"

# The socket path works as well as the directory.
run "$ward" --node "$city/node2/ctl.sock" peers
check "peers via the socket path exits 0" [ "$rc" -eq 0 ]
check "peers (human) lists node1" grep -q '^node1 .*connected' "$tmp/out"

# Commands whose implementation may still be missing: report, do not fail.
for c in tables budget "audit --verify"; do
    run "$ward" --node "$city/node1" $c --json
    if [ "$rc" -eq 0 ]; then
        check "$c --json prints one JSON object" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out"
    elif grep -q 'not support\|not implement' "$tmp/err"; then
        notes="$notes
  not checked: '$c' (the node does not implement it yet)"
    else
        check "$c exits 0 ($(cat "$tmp/err"))" false
    fi
done

# ---- real data split across the five: sum, mean, histogram ------------------------
# The NYC taxi trips of the demo city, dealt round-robin to the five nodes;
# every secure result must equal the plaintext answer computed here.
data=$(cd "$(dirname "$0")/../netsim/city" && pwd)
python3 - "$data/transport-trips.csv" "$tmp" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
out = [open("%s/trips%d.csv" % (sys.argv[2], k), "w") for k in range(1, 6)]
for f in out:
    f.write(lines[0] + "\n")
for i, line in enumerate(lines[1:]):
    out[i % 5].write(line + "\n")
EOF
for k in 1 2 3 4 5; do
    run "$ward" --node "$city/node$k" import trips "$tmp/trips$k.csv" --sensitivity medium
    check "node$k imports its fifth of the taxi trips ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
done
run "$ward" --node "$city/node2" sum trips.fare_usd --parties all --exact --json
check "secure sum exits 0 ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
cp "$tmp/out" "$tmp/sum.json"
run "$ward" --node "$city/node4" mean trips.distance_mi --parties all --exact --json
check "secure mean exits 0 ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
cp "$tmp/out" "$tmp/mean.json"
run "$ward" --node "$city/node1" histogram trips.duration_s --group-by 'hour(ts)' --parties all --exact --json
check "secure 24-bucket histogram exits 0 ($(cat "$tmp/err"))" [ "$rc" -eq 0 ]
cp "$tmp/out" "$tmp/hist.json"
check "sum, mean and histogram equal the plaintext answers" python3 -c '
import csv, json, sys
from decimal import Decimal
from fractions import Fraction
rows = list(csv.DictReader(open(sys.argv[1])))
t = sys.argv[2]
parties = ["node1", "node2", "node3", "node4", "node5"]
s = json.load(open(t + "/sum.json"))
fare = sum(Fraction(Decimal(r["fare_usd"])) for r in rows)
assert s["parties"] == parties and s["exact"] is True, s
assert abs(Fraction(s["value"]) - fare) < Fraction(1, 10**6), (s["value"], float(fare))
m = json.load(open(t + "/mean.json"))
dist = sum(Fraction(Decimal(r["distance_mi"])) for r in rows) / len(rows)
assert abs(Fraction(m["value"]) - dist) < Fraction(1, 10**9), (m["value"], float(dist))
h = json.load(open(t + "/hist.json"))
want = {str(k): 0 for k in range(24)}
for r in rows:
    want[str(int(r["ts"][11:13]))] += 1
assert h["value"] is None and h["groups"] == want, (h["groups"], want)' "$data/transport-trips.csv" "$tmp"

# A bad row in the middle of a file: the whole file is refused, the line is
# named, and nothing changes. bad.csv has a row of three fields at line 600,
# bad-value.csv a duration that is not a number there.
python3 -c '
import sys
lines = open(sys.argv[1]).read().splitlines(True)
short, value = list(lines), list(lines)
short[599] = "2019-03-05 10:11:12,600,1.25\n"
value[599] = "2019-03-05 10:11:12,not-a-number,1.25,7.5\n"
open(sys.argv[2], "w").writelines(short)
open(sys.argv[3], "w").writelines(value)' "$tmp/trips1.csv" "$tmp/bad.csv" "$tmp/bad-value.csv"
"$ward" --node "$city/node1" tables --json >"$tmp/tables-before.json" 2>&1
run "$ward" --node "$city/node1" import trips "$tmp/bad.csv"
check "importing a malformed CSV exits 1" [ "$rc" -eq 1 ]
check "the refusal names the bad line ($(cat "$tmp/err"))" grep -q "^ward: error: $tmp/bad.csv:600: " "$tmp/err"
run "$ward" --node "$city/node1" import trips_more "$tmp/bad.csv"
check "a malformed CSV into a new table exits 1" [ "$rc" -eq 1 ]
check "that refusal names the line too" grep -q "^ward: error: $tmp/bad.csv:600: " "$tmp/err"
run "$ward" --node "$city/node1" import trips "$tmp/bad-value.csv"
check "a value of the wrong type exits 1" [ "$rc" -eq 1 ]
check "the refusal names line and column ($(cat "$tmp/err"))" grep -q "^ward: error: $tmp/bad-value.csv:600: column duration_s: .*nothing imported" "$tmp/err"
"$ward" --node "$city/node1" tables --json >"$tmp/tables-after.json" 2>&1
check "refused imports change nothing (same tables, same rows)" cmp -s "$tmp/tables-before.json" "$tmp/tables-after.json"
check "the table still holds its 1300 rows" python3 -c '
import json, sys
t = {x["name"]: x["rows"] for x in json.load(open(sys.argv[1]))["tables"]}
assert t == {"trips": 1300}, t' "$tmp/tables-after.json"

# ---- refusals of a second start ------------------------------------------------
run "$ward" sim up --nodes 5 --dir "$city"
check "sim up on a running city exits 1" [ "$rc" -eq 1 ]
check "sim up on a running city says so" grep -q '^ward: error: a city is already running' "$tmp/err"
run "$ward" node --config "$city/node2/node.conf"
check "a second node on the same directory exits 1" [ "$rc" -eq 1 ]
check "a second node: 'already running' on stderr" grep -q '^ward: error: .*already running' "$tmp/err"

# ---- a crash during a session, and a restart ---------------------------------------
# node3 is frozen, a session waits for it, then node3 is killed: the session
# must end with an error naming node3, well within its timeout (10 s).
pid3=$(cat "$city/node3/node.pid")
kill -STOP "$pid3"
"$ward" --node "$city/node1" sum trips.fare_usd --parties all --exact >"$tmp/pending.out" 2>"$tmp/pending.err" &
pending=$!
sleep 1
kill -9 "$pid3"
t_kill=$(date +%s)
wait_until 12 gone "$pending"
t_end=$(date +%s)
wait "$pending"
prc=$?
check "the pending session fails (exit 1)" [ "$prc" -eq 1 ]
check "its error names node3 ($(cat "$tmp/pending.err"))" grep -q '^ward: error: .*node3' "$tmp/pending.err"
check "it ended within the session timeout" [ $((t_end - t_kill)) -le 10 ]
check "the others see node3 gone (3 peers each)" wait_until 15 others_connected 3 3
run "$ward" --node "$city/node5" sum trips.fare_usd --parties node1,node2,node4,node5 --exact --json
check "the others stay healthy: a session of four succeeds ($(cat "$tmp/err"))" python3 -c '
import csv, json, sys
from decimal import Decimal
from fractions import Fraction
d = json.load(open(sys.argv[1]))
fare = sum(Fraction(Decimal(r["fare_usd"])) for k in (1, 2, 4, 5)
           for r in csv.DictReader(open("%s/trips%d.csv" % (sys.argv[2], k))))
assert d["parties"] == ["node1", "node2", "node4", "node5"], d
assert abs(Fraction(d["value"]) - fare) < Fraction(1, 10**6), (d["value"], float(fare))' "$tmp/out" "$tmp"
run "$ward" --node "$city/node3" status
check "status of a dead node exits 1" [ "$rc" -eq 1 ]
check "status of a dead node names its socket" grep -q "^ward: error: .*$city/node3/ctl.sock" "$tmp/err"

setsid "$ward" node --config "$city/node3/node.conf" >>"$city/node3/node.log" 2>&1 &
newpid=$!
extra_pids="$extra_pids $newpid"
echo "$newpid" >"$city/node3/node.pid"
check "node3 restarted: every node back to 4 peers" wait_until 30 all_connected 4
check "node3 removed its stale control socket" grep -q 'removed stale control socket' "$city/node3/node.log"
run "$ward" --node "$city/node3" sum trips.fare_usd --parties all --exact --json
check "after node3 rejoined, the next session of five succeeds ($(cat "$tmp/err"))" python3 -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["value"] == b["value"] and len(a["parties"]) == 5, (a, b)' "$tmp/out" "$tmp/sum.json"

# ---- an unknown node and an impostor are refused -----------------------------------
# node0 is not in the others' roster (it dials them all: its name sorts first).
port=$(free_port)
run "$ward" init --dir "$tmp/node0" --name node0 --listen "127.0.0.1:$port"
check "init exits 0" [ "$rc" -eq 0 ]
check "init prints its roster entry" grep -Eq "^node node0 127\.0\.0\.1:$port [0-9a-f]{64}$" "$tmp/out"
check "init writes the strict policy" grep -q '^allow_exact = no$' "$tmp/node0/node.conf"
check "init: key is 0600" [ "$(stat -c %a "$tmp/node0/key")" = 600 ]
cat "$city/roster" "$tmp/out" >"$tmp/node0/roster"
run "$ward" init --dir "$tmp/node0" --name node0 --listen "127.0.0.1:$port"
check "init on an existing node directory exits 1" [ "$rc" -eq 1 ]
run "$ward" init --dir "$tmp/x" --name "Bad_Name" --listen "127.0.0.1:1"
check "init with a bad name is a usage error" [ "$rc" -eq 2 ]

chmod 644 "$tmp/node0/key"
run "$ward" node --config "$tmp/node0/node.conf"
check "a world-readable key is refused (exit 1)" [ "$rc" -eq 1 ]
check "the refusal names the key and its mode" grep -q "key $tmp/node0/key is readable by group or others (mode 0644)" "$tmp/err"
chmod 600 "$tmp/node0/key"

setsid "$ward" node --config "$tmp/node0/node.conf" >/dev/null 2>&1 &
rogue=$!
extra_pids="$extra_pids $rogue"
check "node1 refuses node0 and logs why" wait_until 15 grep -q "refused connection: unknown peer 'node0' (not in roster)" "$city/node1/node.log"
run "$ward" --node "$tmp/node0" status --json
check "node0 has no peers" python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["peers_connected"] == 0' "$tmp/out"
kill "$rogue"

# An impostor: the name node1 with a key that is not node1's.
port=$(free_port)
run "$ward" init --dir "$tmp/impostor" --name node1 --listen "127.0.0.1:$port"
line=$(cat "$tmp/out")
sed "s/^node node1 .*/$line/" "$city/roster" >"$tmp/impostor/roster"
setsid "$ward" node --config "$tmp/impostor/node.conf" >/dev/null 2>&1 &
impostor=$!
extra_pids="$extra_pids $impostor"
check "node2 refuses the impostor and logs why" wait_until 15 grep -q 'refused connection from node1: handshake failed' "$city/node2/node.log"
kill "$impostor"
check "the genuine channels survive the impostor" wait_until 10 all_connected 4

# ---- a tampered audit log is caught ------------------------------------------------
# With node2 stopped, someone with access to its files rewrites an audit
# entry (dropping the trigger that forbids it); after the restart the
# verification names that entry.
check "node2 stops on SIGTERM" stop_node node2
check "tamper with node2's audit entry 2 (python3 sqlite3)" python3 -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
trig = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", ("ward_audit_no_update",)).fetchone()[0]
db.execute("DROP TRIGGER ward_audit_no_update")
n = db.execute("UPDATE ward_audit SET details = details || ? WHERE seq = 2", (" ",)).rowcount
db.execute(trig)
db.commit()
assert n == 1' "$city/node2/node.db"
restart_node node2
check "node2 restarted: every node back to 4 peers" wait_until 30 all_connected 4
run "$ward" --node "$city/node2" audit --verify --json
check "audit --verify of the tampered log exits 1" [ "$rc" -eq 1 ]
check "the verification names entry 2" python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert a["verified"] is True and a["chain_ok"] is False and a["first_bad_seq"] == 2, a' "$tmp/out"
check "stderr says where the chain breaks" grep -q '^ward: error: audit chain broken at entry 2$' "$tmp/err"
run "$ward" --node "$city/node1" audit --verify --json
check "an untouched node's chain verifies" python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
assert a["chain_ok"] is True and any(e["event"] == "session-done" for e in a["entries"]), a' "$tmp/out"

# ---- a policy that says no -----------------------------------------------------------
printf '# this department shares nothing\nexact yes\ndeny * * * *\n' >"$city/node4/policy"
check "node4 stops on SIGTERM" stop_node node4
restart_node node4
check "node4 restarted: every node back to 4 peers" wait_until 30 all_connected 4
run "$ward" --node "$city/node1" sum trips.fare_usd --parties all --exact
check "an aggregate node4's policy denies exits 1" [ "$rc" -eq 1 ]
check "the refusal names node4 and its rule ($(cat "$tmp/err"))" grep -q '^ward: error: .*refused by node4: policy rule on line 3 denies' "$tmp/err"
run "$ward" --node "$city/node1" sum trips.fare_usd --parties node1,node2,node3,node5 --exact
check "the others still compute without node4" [ "$rc" -eq 0 ]

# ---- orderly stop ---------------------------------------------------------------
pids=""
for k in 1 2 3 4 5; do pids="$pids $(cat "$city/node$k/node.pid")"; done
run "$ward" sim down --dir "$city"
check "sim down exits 0" [ "$rc" -eq 0 ]
check "sim down stopped 5 nodes within the grace period" grep -q '^stopped 5 nodes in .*[^)]$' "$tmp/out"
for p in $pids; do
    check "pid $p is gone" wait_until 5 sh -c "! { kill -0 $p 2>/dev/null && ! grep -q '^[^)]*) Z' /proc/$p/stat 2>/dev/null; }"
done
for k in 1 2 3 4 5; do
    check "node$k: pid file removed" [ ! -e "$city/node$k/node.pid" ]
    check "node$k: control socket removed" [ ! -e "$city/node$k/ctl.sock" ]
    check "node$k: logged an orderly stop" grep -q 'INFO  node node'"$k"' stopped' "$city/node$k/node.log"
    check "node$k: data kept" [ -s "$city/node$k/node.db" ]
done
run "$ward" sim down --dir "$city"
check "sim down again exits 0 and says nothing runs" grep -q '^no nodes running' "$tmp/out"

# Sanitizer builds: any report a node wrote (leaks show at exit) fails.
check "no sanitizer report in any node log" sh -c "! grep -l 'Sanitizer\|runtime error' '$city'/node*/node.log '$tmp'/node0/node.log '$tmp'/impostor/node.log"

# Log lines: ISO-8601 UTC time, level, text.
check "log lines are 'TIME LEVEL text'" sh -c "grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (ERROR|WARN |INFO |DEBUG) ' '$city/node1/node.log' | grep -v '^ward: error:' | grep -q . && exit 1 || exit 0"

[ -n "$notes" ] && echo "notes:$notes"
echo "node-e2e: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
