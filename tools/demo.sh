#!/bin/sh
# `make demo`: a city of department nodes on this machine answers real
# questions together, and each answer is checked against the same question
# computed in the clear from the departments' CSV files.
# usage: tools/demo.sh WARD
set -eu
ward=$1
here=$(cd "$(dirname "$0")/.." && pwd)
data=$here/netsim/city
script=$data/scripts/showcase.ward
tmp=$(mktemp -d /tmp/ward-demo-XXXXXX)
city=$tmp/city

# The nodes run detached; whatever happens, stop them and remove the city.
cleanup() {
    "$ward" sim down --dir "$city" >"$tmp/down.txt" 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "== ward $("$ward" version | cut -d' ' -f2): a city of seven departments on this machine"
echo
echo "Each department runs its own ward node, a separate process with its own"
echo "keys and its own database. The nodes talk to each other only over"
echo "encrypted, mutually authenticated channels (Noise_KK). Starting them and"
echo "importing each department's data (real public data, see netsim/city/README.md):"
echo
"$ward" sim up --city --dir "$city" --data "$data"
echo
echo "Now the planning office asks its questions, from the transport department's"
echo "node, with the session script $(basename "$script"). Each answer is computed by"
echo "secret sharing: every department splits its own totals into random shares,"
echo "so no department sees another's rows or totals, only the joint result."
echo
"$ward" --node "$city/transport" run "$script" | tee "$tmp/run.txt"
echo

# ---- the same questions in the clear ----------------------------------------------
# ward's answers, one "ITEM KEY VALUE" line each (KEY "-" for a single value).
awk '
    /^== [0-9]+\. / { item = $2 + 0; next }
    /^   / { next }
    /^(parties|privacy|latency|round trip|failed):/ { next }
    item && / = / { v = $0; sub(/.* = /, "", v); print item, "-", v; next }
    item && NF == 2 && $1 ~ /^[0-9]+$/ { print item, $1, $2 }
' "$tmp/run.txt" >"$tmp/ward.txt"

# The plaintext answers, computed with awk straight from the CSV files, in
# the order of the showcase script. Values are added as integers at the
# session's decimal scale, as the nodes do, so the doubles printed agree.
{
    # 1. trips per hour, taxis and bikes
    awk -F, 'FNR > 1 { n[substr($1, 12, 2) + 0]++ }
        END { for (h = 0; h < 24; h++) printf "1 %d %.10g\n", h, n[h] + 0 }' \
        "$data/transport-trips.csv" "$data/bikeshare-trips.csv"
    # 2. mean trip duration, taxis and bikes
    awk -F, 'FNR > 1 { s += $2; n++ } END { printf "2 - %.10g\n", s / n }' \
        "$data/transport-trips.csv" "$data/bikeshare-trips.csv"
    # 3. cars parked per car park by hour, three operators
    awk -F, 'FNR > 1 { h = substr($1, 12, 2) + 0; s[h] += $4; n[h]++ }
        END { for (h = 0; h < 24; h++) if (n[h]) printf "3 %d %.10g\n", h, s[h] / n[h] }' \
        "$data/parking-north.csv" "$data/parking-south.csv" "$data/parking-aarhus.csv"
    # 4. the same in the evening rush, 17:00 to 19:59
    awk -F, 'FNR > 1 { h = substr($1, 12, 2) + 0; if (h >= 17 && h <= 19) { s += $4; n++ } }
        END { printf "4 - %.10g\n", s / n }' \
        "$data/parking-north.csv" "$data/parking-south.csv" "$data/parking-aarhus.csv"
    # 5. Aarhus, the Salling car park
    awk -F, 'FNR > 1 && $2 == "SALLING" { s += $4; n++ } END { printf "5 - %.10g\n", s / n }' \
        "$data/parking-aarhus.csv"
    # 6. NO2 by weekday (Sunday = 0), missing readings left out
    awk -F, '
        function weekday(y, m, d,   t) {   # Sakamoto: 0 = Sunday
            split("0 3 2 5 0 3 5 1 4 6 2 4", t, " ")
            if (m < 3) y--
            return (y + int(y / 4) - int(y / 100) + int(y / 400) + t[m] + d) % 7
        }
        FNR > 1 && $2 != "" && $2 != "NA" {
            w = weekday(substr($1, 1, 4) + 0, substr($1, 6, 2) + 0, substr($1, 9, 2) + 0)
            s[w] += $2; n[w]++
        }
        END { for (w = 0; w < 7; w++) if (n[w]) printf "6 %d %.10g\n", w, s[w] / n[w] }' \
        "$data/environment-air.csv"
    # 7. total load of zone 1, at six decimals as the session carries it
    awk -F, 'FNR > 1 { s += sprintf("%.0f", $5 * 1000000) } END { printf "7 - %.10g\n", s / 1000000 }' \
        "$data/energy-load.csv"
} >"$tmp/plain.txt"

echo "== Checking each answer against the same question computed in the clear"
echo "   (awk over the CSV files in $data):"
echo
all_ok=1
for item in 1 2 3 4 5 6 7; do
    label=$(sed -n "s/^== $item\. \(.*\) (line [0-9]*)$/\1/p" "$tmp/run.txt")
    grep "^$item " "$tmp/ward.txt" | sort >"$tmp/w.$item"
    grep "^$item " "$tmp/plain.txt" | sort >"$tmp/p.$item"
    n=$(wc -l <"$tmp/p.$item")
    if [ "$n" -gt 0 ] && cmp -s "$tmp/w.$item" "$tmp/p.$item"; then
        if [ "$n" -eq 1 ]; then
            printf '  %d. %-62s match: %s\n' "$item" "$label" "$(cut -d' ' -f3 "$tmp/p.$item")"
        else
            printf '  %d. %-62s match: all %d groups\n' "$item" "$label" "$n"
        fi
    else
        all_ok=0
        printf '  %d. %-62s DIFFERENT\n' "$item" "$label"
        diff "$tmp/w.$item" "$tmp/p.$item" | sed 's/^/       /' || true
    fi
done
echo

# ---- beyond sums: a decision, and a private release ---------------------------------
echo "== A decision nobody sees the figures of: which car-park operator had the most"
echo "   cars parked over the period? Each operator splits its total into two shares"
echo "   for parking-south and parking-aarhus, which compare them in a garbled"
echo "   circuit; only the winner's name comes out."
echo
"$ward" --node "$city/parking-north" argmax parking.occupied --agg sum \
    --parties parking-aarhus,parking-north,parking-south --compute parking-south,parking-aarhus \
    | tee "$tmp/argmax.txt"
got=$(sed -n 's/^argmax .* = //p' "$tmp/argmax.txt" | head -n 1)
want=$(for d in parking-aarhus parking-north parking-south; do
    awk -F, -v d="$d" 'FNR > 1 { s += $4 } END { printf "%s %d\n", d, s }' "$data/$d.csv"
done | sort -k2,2nr -k1,1 | head -n 1 | cut -d' ' -f1)
if [ -n "$got" ] && [ "$got" = "$want" ]; then
    echo "   in the clear (awk over the three CSV files): $want: match"
else
    all_ok=0
    echo "   in the clear (awk over the three CSV files): $want: DIFFERENT from '$got'"
fi
echo
echo "== A differentially private release: taxi and bike trips per day in the first"
echo "   week of March 2019, over a declared domain of dates (the default for every"
echo "   question a department's policy does not let out exactly). Each department"
echo "   adds its share of the noise before sharing; each pays from its own budget."
echo
"$ward" --node "$city/transport" count trips --group-by 'date(ts)' \
    --domain 2019-03-01..2019-03-07 --parties transport,bikeshare | tee "$tmp/dp.txt"
echo "   the exact counts, for comparison (awk over the CSV files):"
awk -F, 'FNR > 1 && substr($1, 1, 10) >= "2019-03-01" && substr($1, 1, 10) <= "2019-03-07" { n[substr($1, 1, 10)]++ }
    END { for (d in n) printf "   %s %d\n", d, n[d] }' "$data/transport-trips.csv" "$data/bikeshare-trips.csv" | sort
echo

# The latencies, from the run above, before the city goes away.
awk '
    /^== [0-9]+\. / { item = $2; sub(/\.$/, "", item) }
    /^parties: / { p = $0; sub(/^parties: /, "", p); n = split(p, x, ", ") }
    /^round trip from this client: / { printf "  %s. %6s ms, %d department%s\n", item, $6, n, n == 1 ? "" : "s" }
' "$tmp/run.txt" >"$tmp/latency.txt"

echo "== Stopping the city"
"$ward" sim down --dir "$city"
trap - EXIT
echo
echo "Latencies of the seven sessions, request to answer as the analyst's client saw them"
echo "(secret sharing between separate processes over loopback TCP, exact results):"
cat "$tmp/latency.txt"
rm -rf "$tmp"
echo
if [ "$all_ok" -eq 1 ]; then
    echo "Every exact answer equals the plaintext answer, and no department saw another's data."
    echo "Next: ward sim up --city --dir /tmp/city, then ward --node /tmp/city/transport ..."
    echo "(docs/operations.md, docs/session-scripts.md); make bench for the performance figures."
else
    echo "ward: error: some answers differ from the plaintext answers (above)" >&2
    exit 1
fi
