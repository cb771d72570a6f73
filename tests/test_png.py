#!/usr/bin/env python3
"""The PNG writer of tools/plot_utility.py and the committed plot
docs/utility-vs-epsilon.png: the signature, every chunk's CRC-32 (checked
with zlib's, an implementation independent of the writer's), IHDR and
PLTE, the IDAT stream (inflated by zlib, which checks its Adler-32) of the
right size, and a drawing that is not blank. A flipped byte must be
caught (the checker can fail).

usage: test_png.py SOURCE_ROOT"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

fails = 0
checks = 0


def check(desc, cond):
    global fails, checks
    checks += 1
    if not cond:
        fails += 1
        print("FAIL:", desc)


def parse(data):
    """Returns (IHDR fields, palette bytes, raw image bytes) or raises ValueError."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("bad signature")
    p, chunks = 8, []
    while p < len(data):
        if p + 12 > len(data):
            raise ValueError("truncated chunk")
        n, = struct.unpack(">I", data[p:p + 4])
        kind, body = data[p + 4:p + 8], data[p + 8:p + 8 + n]
        crc, = struct.unpack(">I", data[p + 8 + n:p + 12 + n])
        if len(body) != n or crc != zlib.crc32(kind + body):
            raise ValueError("bad CRC in chunk %r" % kind)
        chunks.append((kind, body))
        p += 12 + n
    kinds = [k for k, _ in chunks]
    if kinds[0] != b"IHDR" or kinds[-1] != b"IEND":
        raise ValueError("chunks out of order: %r" % kinds)
    w, h, depth, ctype, comp, filt, inter = struct.unpack(">IIBBBBB", chunks[0][1])
    plte = b"".join(b for k, b in chunks if k == b"PLTE")
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    return (w, h, depth, ctype, comp, filt, inter), plte, raw


def check_png(path, name):
    data = open(path, "rb").read()
    try:
        (w, h, depth, ctype, comp, filt, inter), plte, raw = parse(data)
    except (ValueError, zlib.error, struct.error) as e:
        check(f"{name}: parses ({e})", False)
        return
    check(f"{name}: a plot-sized image", 200 <= w <= 4000 and 200 <= h <= 4000)
    check(f"{name}: indexed colour", ctype == 3 and depth in (4, 8) and comp == 0 and filt == 0
          and inter == 0)
    check(f"{name}: palette of whole RGB entries", len(plte) % 3 == 0 and 2 <= len(plte) // 3 <= 256)
    row = 1 + (w * depth + 7) // 8
    check(f"{name}: image data of height x row bytes", len(raw) == h * row)
    check(f"{name}: every row unfiltered", all(raw[y * row] == 0 for y in range(h)))
    pix = set()
    for y in range(h):
        r = raw[y * row + 1:(y + 1) * row]
        if depth == 8:
            pix.update(r)
        else:
            for b in r:
                pix.add(b >> 4)
                pix.add(b & 15)
    check(f"{name}: several colours drawn", len(pix) >= 5)
    check(f"{name}: indices within the palette", max(pix) < len(plte) // 3)
    # Power: one flipped byte inside IDAT is caught.
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 0x01
    try:
        parse(bytes(bad))
        caught = False
    except (ValueError, zlib.error):
        caught = True
    check(f"{name}: a flipped byte is caught", caught)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    tool = os.path.join(root, "tools", "plot_utility.py")
    with tempfile.TemporaryDirectory() as tmp:
        res = {"anchor": {"paper": 0.947, "goal": 0.97}, "utility": 0.5, "curve": [
            {"epsilon_total": e, "utility": u, "top5": u,
             "queries": {"a_count": min(1, u + 0.3), "b_mean": u / 2}}
            for e, u in ((0.5, 0.3), (1, 0.45), (2.1, 0.6), (8, 0.9))]}
        src = os.path.join(tmp, "r.json")
        out = os.path.join(tmp, "u.png")
        json.dump(res, open(src, "w"))
        r = subprocess.run([sys.executable, tool, out, src], capture_output=True, text=True)
        check("plot_utility.py exits 0: " + r.stderr.strip(), r.returncode == 0)
        if r.returncode == 0:
            check_png(out, "generated")
        # A JSON without a curve is refused with one error line.
        json.dump({"utility": 1}, open(src, "w"))
        r = subprocess.run([sys.executable, tool, out, src], capture_output=True, text=True)
        check("no curve: exits 1 with an error line",
              r.returncode == 1 and r.stderr.startswith("ward: error:"))
    check_png(os.path.join(root, "docs", "utility-vs-epsilon.png"), "docs/utility-vs-epsilon.png")
    print(f"png: {checks} checks, {fails} failed")
    return 0 if fails == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
