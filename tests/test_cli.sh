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

echo "cli: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
