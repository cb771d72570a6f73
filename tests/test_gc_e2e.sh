#!/bin/sh
# `ward gc` end to end: two real node processes on 127.0.0.1 (ward sim up
# --nodes 2), both running the command over their control sockets.
# AES-128 with the FIPS-197 known answer, a 64-bit adder and a comparison
# against `ward circuit eval`, a second session on the same pair that reuses
# the base OTs, mismatched circuits, a wrong-width input, a circuit that
# does not parse, a session nobody joins, the audit records.
# usage: test_gc_e2e.sh WARD VECTORS_DIR
set -u
ward=$1
vec=$2/bristol
tmp=$(mktemp -d /tmp/ward-gc-e2e-XXXXXX)
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

# pair NAME ARGS1 -- ARGS2: node1 and node2 run `gc --session NAME` at the
# same time; stdout, stderr and status of each into $tmp/{out,err,rc}{1,2}.
pair() {
    name=$1; shift
    a=""
    while [ "$1" != "--" ]; do a="$a $1"; shift; done
    shift
    # shellcheck disable=SC2086
    { "$ward" --node "$city/node1" gc --peer node2 --session "$name" $a >"$tmp/out1" 2>"$tmp/err1"
      echo $? >"$tmp/rc1"; } &
    p1=$!
    # shellcheck disable=SC2086
    "$ward" --node "$city/node2" gc --peer node1 --session "$name" "$@" >"$tmp/out2" 2>"$tmp/err2"
    echo $? >"$tmp/rc2"
    wait "$p1"
}

jfield() { # jfield FILE FIELD: one field of a JSON object, as Python prints it
    python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2" 2>/dev/null
}

if ! "$ward" sim up --nodes 2 --dir "$city" >"$tmp/up" 2>&1; then
    echo "FAIL: sim up: $(cat "$tmp/up")"
    exit 1
fi
# A shorter session timeout, so that the session nobody joins ends soon.
"$ward" sim down --dir "$city" >/dev/null 2>&1
for n in node1 node2; do
    sed -i 's/^session_timeout_ms = .*/session_timeout_ms = 3000/' "$city/$n/node.conf"
done
if ! "$ward" sim up --nodes 2 --dir "$city" >"$tmp/up" 2>&1; then
    echo "FAIL: sim up again: $(cat "$tmp/up")"
    exit 1
fi

key=000102030405060708090a0b0c0d0e0f
pt=00112233445566778899aabbccddeeff
ct=69c4e0d86a7b0430d8cdb78070b4c55a

# AES-128: node1 (the lower name) garbles the key, node2 evaluates the
# plaintext; both print the FIPS-197 C.1 ciphertext.
pair aes1 --circuit "$vec/aes_128.txt" --input $key --json -- --circuit "$vec/aes_128.txt" --input $pt --json
check "aes: node1 exits 0 ($(cat "$tmp/err1"))" [ "$(cat "$tmp/rc1")" = 0 ]
check "aes: node2 exits 0 ($(cat "$tmp/err2"))" [ "$(cat "$tmp/rc2")" = 0 ]
check "aes: node1 prints the FIPS-197 ciphertext" [ "$(jfield "$tmp/out1" output)" = $ct ]
check "aes: node2 prints the FIPS-197 ciphertext" [ "$(jfield "$tmp/out2" output)" = $ct ]
check "aes: 6400 AND gates" [ "$(jfield "$tmp/out1" and_gates)" = 6400 ]
check "aes: the garbler sent the tables (> 204800 bytes)" [ "$(jfield "$tmp/out1" bytes_sent)" -gt 204800 ]
# Its record is in the audit log at once (records of finished sessions may
# wait a few milliseconds to share a commit; reading the log writes them).
sid=$(jfield "$tmp/out1" session)
"$ward" --node "$city/node1" audit --json >"$tmp/audit0" 2>&1
check "aes: its session-done record is readable right away" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["entries"]
sys.exit(0 if any(x["event"] == "session-done" and x["session"] == sys.argv[2] for x in e) else 1)' "$tmp/audit0" "$sid"
check "aes: the first session runs the base OTs" [ "$(jfield "$tmp/out1" base_ots)" = true ]
check "aes: node1 garbled" [ "$(jfield "$tmp/out1" role)" = garbler ]
check "aes: one session id on both sides" [ "$(jfield "$tmp/out1" session)" = "$(jfield "$tmp/out2" session)" ]
check "aes: latency_ms is a number" python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["latency_ms"]; sys.exit(0 if isinstance(v,(int,float)) and v >= 0 else 1)' "$tmp/out1"

# The same pair again: extension only, same answer.
pair aes2 --circuit "$vec/aes_128.txt" --input $key --json -- --circuit "$vec/aes_128.txt" --input $pt --json
check "aes again: both print the ciphertext" [ "$(jfield "$tmp/out1" output)" = $ct ] && [ "$(jfield "$tmp/out2" output)" = $ct ]
check "aes again: no base OTs on the same connection (node1)" [ "$(jfield "$tmp/out1" base_ots)" = false ]
check "aes again: no base OTs on the same connection (node2)" [ "$(jfield "$tmp/out2" base_ots)" = false ]
check "aes again: a new session id" [ "$(jfield "$tmp/out1" session)" != "" ]
check "the node log records base OTs once" [ "$(grep -c 'base OTs run' "$city/node1/node.log")" = 1 ]

# Human output: the output hex, one line.
pair aes3 --circuit "$vec/aes_128.txt" --input 0 -- --circuit "$vec/aes_128.txt" --input 0
check "aes human: node1 prints the zero-key answer" [ "$(cat "$tmp/out1")" = 66e94bd4ef8a2c3b884cfa59ca342b2e ]
check "aes human: node2 prints the zero-key answer" [ "$(cat "$tmp/out2")" = 66e94bd4ef8a2c3b884cfa59ca342b2e ]

# A 64-bit adder and a comparison (sub64's result) against plaintext.
x=0x0123456789abcdef
y=0xfedcba9876543211
for c in adder64 sub64; do
    want=$("$ward" circuit eval "$vec/$c.txt" $x $y)
    pair "$c" --circuit "$vec/$c.txt" --input $x -- --circuit "$vec/$c.txt" --input $y
    check "$c: node1 equals ward circuit eval ($want; got $(cat "$tmp/out1") $(cat "$tmp/err1"))" [ "$(cat "$tmp/out1")" = "$want" ]
    check "$c: node2 equals ward circuit eval" [ "$(cat "$tmp/out2")" = "$want" ]
done
# Roles the other way round: node2 garbles (its own base OTs).
pair flip --circuit "$vec/adder64.txt" --input 5 --role evaluator --json -- --circuit "$vec/adder64.txt" --input 7 --json
check "flip: node2 garbles" [ "$(jfield "$tmp/out2" role)" = garbler ]
check "flip: 7 + 5" [ "$(jfield "$tmp/out1" output)" = 000000000000000c ]
check "flip: base OTs for the new direction" [ "$(jfield "$tmp/out2" base_ots)" = true ]

# Mismatched circuits: both fail, both say so.
pair mism --circuit "$vec/adder64.txt" --input 1 -- --circuit "$vec/sub64.txt" --input 2
check "mismatch: node1 exits 1" [ "$(cat "$tmp/rc1")" = 1 ]
check "mismatch: node2 exits 1" [ "$(cat "$tmp/rc2")" = 1 ]
check "mismatch: node1 says so ($(cat "$tmp/err1"))" grep -q 'circuit mismatch' "$tmp/err1"
check "mismatch: node2 says so ($(cat "$tmp/err2"))" grep -q 'circuit mismatch' "$tmp/err2"

# An input wider than its input: refused at once.
"$ward" --node "$city/node1" gc --peer node2 --session wide --circuit "$vec/adder64.txt" --input 1ffffffffffffffff >"$tmp/out1" 2>"$tmp/err1"
rc=$?
check "wide input: exit 1" [ "$rc" = 1 ]
check "wide input: names the width ($(cat "$tmp/err1"))" grep -q "does not fit in 64 bits" "$tmp/err1"

# A circuit that does not parse: the file and the line.
head -c 3000 "$vec/aes_128.txt" >"$tmp/cut.txt"
"$ward" --node "$city/node1" gc --peer node2 --session cut --circuit "$tmp/cut.txt" --input 0 >"$tmp/out1" 2>"$tmp/err1"
rc=$?
check "bad circuit: exit 1" [ "$rc" = 1 ]
check "bad circuit: file and line ($(cat "$tmp/err1"))" grep -q "cut.txt:[0-9]*:" "$tmp/err1"

# Usage errors: exit 2.
"$ward" --node "$city/node1" gc --peer node2 --circuit "$vec/adder64.txt" >"$tmp/out1" 2>"$tmp/err1"
check "missing --session: exit 2" [ "$?" = 2 ]
"$ward" --node "$city/node1" gc --peer node2 --session x --circuit "$vec/adder64.txt" --input 1 --role boss >"$tmp/out1" 2>"$tmp/err1"
check "bad --role: exit 2" [ "$?" = 2 ]

# A session nobody joins: a timeout that names the peer.
"$ward" --node "$city/node1" gc --peer node2 --session lonely --circuit "$vec/adder64.txt" --input 3 >"$tmp/out1" 2>"$tmp/err1"
rc=$?
check "nobody joins: exit 1" [ "$rc" = 1 ]
check "nobody joins: names the peer ($(cat "$tmp/err1"))" grep -q "waiting for node2 to join session lonely" "$tmp/err1"

# Audit records on both nodes.
"$ward" --node "$city/node1" audit --json >"$tmp/audit1" 2>&1
check "audit: session-done records" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["entries"]
done = [x for x in e if x["event"] == "session-done" and "\"kind\":\"gc\"" in x["detail"]]
aborted = [x for x in e if x["event"] == "session-aborted" and "\"kind\":\"gc\"" in x["detail"]]
sys.exit(0 if len(done) >= 6 and len(aborted) >= 2 else 1)' "$tmp/audit1"
check "audit: the chain verifies" "$ward" --node "$city/node1" audit --verify

# And the pair still works after the failures.
pair last --circuit "$vec/aes_128.txt" --input $key -- --circuit "$vec/aes_128.txt" --input $pt
check "after the failures: the ciphertext again" [ "$(cat "$tmp/out2")" = $ct ]

echo "gc-e2e: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
