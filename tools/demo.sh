#!/bin/sh
# `make demo`: shows what this build of ward does. usage: tools/demo.sh WARD
set -eu
ward=$1
here=$(cd "$(dirname "$0")/.." && pwd)
echo "== ward $($ward version | cut -d' ' -f2): the crypto core"
echo
echo "-- Noise channels: every published cacophony vector for the suites ward implements"
$ward selftest noise-vectors "$here/tests/vectors/noise/cacophony.txt"
echo
echo "-- F_(2^61-1) arithmetic and secret sharing (quick run)"
$ward bench field --quick
echo
echo "-- Noise transport and handshakes (quick run)"
$ward bench noise --quick
echo
echo "The local city of department nodes (ward sim up --city) is not part of this build yet;"
echo "see README.md, 'Status'."
