#!/bin/sh
# End-to-end checks of the `ward` command's contract (INTERFACE.md): exit
# statuses, error lines, the selftest and bench outputs.
# usage: test_cli.sh WARD VECTORS_DIR
set -u
ward=$1
vectors=$2
fails=0
checks=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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

run "$ward" version
check "version exits 0" [ "$rc" -eq 0 ]
check "version prints 'ward X.Y.Z'" grep -Eq '^ward [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out"

run "$ward" no-such-command
check "unknown command exits 2" [ "$rc" -eq 2 ]
check "unknown command: one 'ward: error:' line" grep -q '^ward: error: ' "$tmp/err"

run "$ward"
check "no command exits 2" [ "$rc" -eq 2 ]

# --help after a command: that command's usage on stdout, exit 0, nothing
# run; the whole list for `ward help`; an unknown command stays an error.
run "$ward" help
check "help exits 0" [ "$rc" -eq 0 ]
check "help lists every command" sh -c 'grep -q "^  keygen" "$1" && grep -q "^  eval utility" "$1" && grep -q "^  --node X train" "$1"' _ "$tmp/out"
run "$ward" eval utility --help
check "eval utility --help exits 0" [ "$rc" -eq 0 ]
check "eval utility --help: its usage only" sh -c 'grep -q "^  eval utility" "$1" && ! grep -q "keygen" "$1" && [ ! -s "$2" ]' _ "$tmp/out" "$tmp/err"
run "$ward" --node "$tmp/no-such-node" mean --help
check "--node X mean --help exits 0 without a node" [ "$rc" -eq 0 ]
check "--node X mean --help: the aggregate usage" sh -c 'grep -q "sum|count|mean|histogram" "$1" && grep -q -- "--parties" "$1" && ! grep -q "train" "$1"' _ "$tmp/out"
run "$ward" --node "$tmp/no-such-node" -h
check "--node X -h: every node command" sh -c '[ "$2" -eq 0 ] && grep -q "ldp-estimate" "$1" && grep -q "gc --peer" "$1"' _ "$tmp/out" "$rc"
run "$ward" keygen --out "$tmp/help-keys" --help
check "keygen --help writes no key" sh -c '[ "$2" -eq 0 ] && [ ! -e "$1" ]' _ "$tmp/help-keys" "$rc"
run "$ward" no-such-command --help
check "unknown command --help exits 2" [ "$rc" -eq 2 ]
run "$ward" sim run --help
check "sim run --help keeps its own text" sh -c '[ "$2" -eq 0 ] && grep -q "^usage: ward sim run" "$1"' _ "$tmp/out" "$rc"

mkdir "$tmp/keys"
run "$ward" keygen --out "$tmp/keys"
check "keygen exits 0" [ "$rc" -eq 0 ]
check "keygen prints the public key" [ "$(cat "$tmp/out")" = "$(cat "$tmp/keys/key.pub")" ]
check "keygen: private key is 0600" [ "$(stat -c %a "$tmp/keys/key")" = 600 ]
run "$ward" keygen --out "$tmp/keys"
check "keygen refuses to overwrite (exit 1)" [ "$rc" -eq 1 ]
check "keygen refusal names the file" grep -q "key exists" "$tmp/err"
run "$ward" keygen
check "keygen without --out is a usage error" [ "$rc" -eq 2 ]

run "$ward" selftest noise-vectors "$vectors/noise/cacophony.txt"
check "noise vectors exit 0" [ "$rc" -eq 0 ]
check "noise vectors: closing line" grep -Eq '^[0-9]+ passed, 0 failed, [0-9]+ skipped$' "$tmp/out"
passed=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' "$tmp/out")
check "noise vectors: at least 354 passed (got ${passed:-none})" [ "${passed:-0}" -ge 354 ]

run "$ward" selftest noise-vectors "$tmp/missing.json"
check "missing vector file exits 1" [ "$rc" -eq 1 ]
check "missing vector file: error line" grep -q '^ward: error: ' "$tmp/err"

printf '{"vectors": [ {"protocol_name": ' >"$tmp/broken.json"
run "$ward" selftest noise-vectors "$tmp/broken.json"
check "truncated vector file exits 1" [ "$rc" -eq 1 ]
check "truncated vector file: error line" grep -q '^ward: error: ' "$tmp/err"

# One altered ciphertext byte must show as a failed vector.
python3 - "$vectors/noise/cacophony.txt" "$tmp/altered.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
v = [v for v in doc["vectors"] if v["protocol_name"] == "Noise_KK_25519_ChaChaPoly_SHA256"][0]
c = v["messages"][0]["ciphertext"]
v["messages"][0]["ciphertext"] = c[:-2] + ("00" if c[-2:] != "00" else "01")
json.dump({"vectors": [v]}, open(sys.argv[2], "w"))
PY
run "$ward" selftest noise-vectors "$tmp/altered.json"
check "altered vector exits 1" [ "$rc" -eq 1 ]
check "altered vector counted as failed" grep -q '^0 passed, 1 failed, 0 skipped$' "$tmp/out"

run "$ward" bench no-such-bench
check "unknown bench exits 2" [ "$rc" -eq 2 ]

for b in field noise; do
    run "$ward" bench "$b" --quick --json
    check "bench $b --quick --json exits 0" [ "$rc" -eq 0 ]
    check "bench $b: one JSON object with anchored figures" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["name"] == sys.argv[2] and d["machine"] and d["figures"]
for f in d["figures"]:
    assert isinstance(f["value"], (int, float)) and f["value"] > 0, f
    assert f["unit"], f
' "$tmp/out" "$b"
done

# Local DP: encode then estimate recovers the counts (3000 users: 1500
# hold 0, the rest spread over 0..3), reports are well formed, bad lines
# and usage errors have their exit statuses.
python3 -c 'for i in range(3000): print(0 if i < 1500 else i % 4)' >"$tmp/ldp_raw"
for m in rr oue olh; do
    "$ward" ldp encode --mech "$m" --epsilon 2 --domain 4 --seed 11 <"$tmp/ldp_raw" >"$tmp/ldp_rep"
    check "ldp encode $m exits 0" [ $? -eq 0 ]
    check "ldp encode $m: one report per line" [ "$(wc -l <"$tmp/ldp_rep")" -eq 3000 ]
    cp "$tmp/ldp_rep" "$tmp/ldp_rep.$m"
    run sh -c '"$1" ldp estimate --mech "$2" --epsilon 2 --domain 4 --json <"$3"' _ "$ward" "$m" "$tmp/ldp_rep"
    check "ldp estimate $m exits 0" [ "$rc" -eq 0 ]
    check "ldp estimate $m: counts within 5 sd" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["n"] == 3000 and len(d["estimates"]) == 4, d
want = [1875, 375, 375, 375]
sd = d["variance"] ** 0.5
# the variance printed is the small-count one; the count-1875 one is larger
for e, w in zip(d["estimates"], want):
    assert abs(e - w) < 5 * sd * (2 if w > 1000 else 1), (e, w, sd)
' "$tmp/out"
done
check "ldp oue reports are 4 bits" sh -c '! grep -Evq "^[01]{4}$" "$1"' _ "$tmp/ldp_rep.oue"
check "ldp olh reports are SEED,VALUE" sh -c '! grep -Evq "^[0-9]+,[0-9]+$" "$1"' _ "$tmp/ldp_rep.olh"
printf '1\n7\n' >"$tmp/ldp_bad"
run sh -c '"$1" ldp encode --mech rr --epsilon 1 --domain 5 <"$2"' _ "$ward" "$tmp/ldp_bad"
check "ldp encode: bad line exits 1" [ "$rc" -eq 1 ]
check "ldp encode: bad line names line 2" grep -q '^ward: error: line 2:' "$tmp/err"
run sh -c 'echo 0101 | "$1" ldp estimate --mech oue --epsilon 1 --domain 5' _ "$ward"
check "ldp estimate: bad report exits 1" [ "$rc" -eq 1 ]
run "$ward" ldp encode --mech rr --epsilon 1
check "ldp encode without --domain exits 2" [ "$rc" -eq 2 ]
run "$ward" ldp encode --mech rr --epsilon -1 --domain 4
check "ldp encode with a bad epsilon exits 2" [ "$rc" -eq 2 ]
run sh -c 'printf "52.52,13.40\n" | "$1" ldp encode --mech planar-laplace --epsilon 0.01 --bbox 52.3,13.0,52.7,13.8 --cell 0.001 --seed 1' _ "$ward"
check "ldp planar-laplace exits 0" [ "$rc" -eq 0 ]
check "ldp planar-laplace: LAT,LON inside the box" python3 -c '
import sys
la, lo = map(float, open(sys.argv[1]).read().split(","))
assert 52.3 <= la <= 52.7 and 13.0 <= lo <= 13.8
' "$tmp/out"

echo "cli: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
