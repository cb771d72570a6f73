#!/usr/bin/env python3
"""Plots utility against the department's epsilon from the JSON of
`ward eval utility --json --curve` and writes a PNG (standard library only;
the PNG writer below is self-contained: stored deflate blocks, CRC-32 and
Adler-32 computed here, no zlib).

usage: ward eval utility --json --curve 0.25,0.5,1,2.1,4,8 | tools/plot_utility.py OUT.png
       tools/plot_utility.py OUT.png RESULT.json

The x axis is epsilon on a log scale, the y axis utility in per cent; the
thick line is the overall utility, the thick grey dashed one its ceiling
(the best any release of the same form could do), thin lines each query's, with the
paper's 94.7% and the goal 97% as dashed lines and the default budget 2.1
marked."""
import json
import math
import struct
import sys

# ---- PNG ----------------------------------------------------------------------

_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (0xEDB88320 ^ (_c >> 1)) if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def adler32(data):
    a, b = 1, 0
    for i in range(0, len(data), 5552):  # the largest run without overflow in 32 bits
        for x in data[i:i + 5552]:
            a += x
            b += a
        a %= 65521
        b %= 65521
    return (b << 16) | a


def zlib_stored(data):
    """A zlib stream of stored (uncompressed) deflate blocks."""
    out = bytearray(b"\x78\x01")  # deflate, 32K window; 0x7801 % 31 == 0
    n = len(data)
    pos = 0
    while True:
        chunk = data[pos:pos + 65535]
        pos += len(chunk)
        final = 1 if pos >= n else 0
        out.append(final)  # BFINAL, BTYPE = 00 (stored), padded to the byte
        out += struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF)
        out += chunk
        if final:
            break
    out += struct.pack(">I", adler32(data))
    return bytes(out)


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc32(kind + body))


def write_png(path, width, height, pixels):
    """pixels: bytearray of height rows of width RGB triples. Written as an
    indexed-colour PNG (a PLTE chunk; 4 bits per pixel when there are at
    most 16 colours, else 8), which keeps the uncompressed file small."""
    palette = {}
    idx = []
    for i in range(0, len(pixels), 3):
        rgb = bytes(pixels[i:i + 3])
        if rgb not in palette:
            if len(palette) == 256:
                raise ValueError("more than 256 colours")
            palette[rgb] = len(palette)
        idx.append(palette[rgb])
    depth = 4 if len(palette) <= 16 else 8
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter: none
        row = idx[y * width:(y + 1) * width]
        if depth == 8:
            raw += bytes(row)
        else:
            if len(row) % 2:
                row = row + [0]
            raw += bytes((row[i] << 4) | row[i + 1] for i in range(0, len(row), 2))
    plte = b"".join(sorted(palette, key=palette.get))
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, 3, 0, 0, 0))
    png += chunk(b"PLTE", plte)
    png += chunk(b"IDAT", zlib_stored(bytes(raw)))
    png += chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


# ---- drawing ------------------------------------------------------------------

# 5x7 glyphs, one string per row, '#' set.
FONT = {
    "0": [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
    "1": ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
    "2": [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
    "3": ["####.", "....#", "....#", ".###.", "....#", "....#", "####."],
    "4": ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
    "5": ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
    "6": [".###.", "#....", "#....", "####.", "#...#", "#...#", ".###."],
    "7": ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
    "8": [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
    "9": [".###.", "#...#", "#...#", ".####", "....#", "....#", ".###."],
    ".": [".....", ".....", ".....", ".....", ".....", ".##..", ".##.."],
    "%": ["##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"],
    "-": [".....", ".....", ".....", "#####", ".....", ".....", "....."],
    "=": [".....", ".....", "#####", ".....", "#####", ".....", "....."],
    "(": ["...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."],
    ")": [".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."],
    ",": [".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."],
    " ": ["....."] * 7,
    "A": [".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
    "B": ["####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."],
    "C": [".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."],
    "D": ["####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."],
    "E": ["#####", "#....", "#....", "####.", "#....", "#....", "#####"],
    "F": ["#####", "#....", "#....", "####.", "#....", "#....", "#...."],
    "G": [".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"],
    "H": ["#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
    "I": [".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
    "K": ["#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"],
    "L": ["#....", "#....", "#....", "#....", "#....", "#....", "#####"],
    "M": ["#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"],
    "N": ["#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#", "#...#"],
    "O": [".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
    "P": ["####.", "#...#", "#...#", "####.", "#....", "#....", "#...."],
    "Q": [".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"],
    "R": ["####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"],
    "S": [".####", "#....", "#....", ".###.", "....#", "....#", "####."],
    "T": ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."],
    "U": ["#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."],
    "V": ["#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."],
    "W": ["#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."],
    "X": ["#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"],
    "Y": ["#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."],
    "Z": ["#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"],
    "_": [".....", ".....", ".....", ".....", ".....", ".....", "#####"],
}


class Canvas:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.px = bytearray(b"\xff" * (3 * w * h))

    def set(self, x, y, rgb):
        if 0 <= x < self.w and 0 <= y < self.h:
            i = 3 * (y * self.w + x)
            self.px[i:i + 3] = bytes(rgb)

    def rect(self, x0, y0, x1, y1, rgb):
        for y in range(max(0, y0), min(self.h, y1 + 1)):
            for x in range(max(0, x0), min(self.w, x1 + 1)):
                self.set(x, y, rgb)

    def line(self, x0, y0, x1, y1, rgb, width=1, dash=0):
        n = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(n + 1):
            if dash and (i // dash) % 2:
                continue
            x = round(x0 + (x1 - x0) * i / n)
            y = round(y0 + (y1 - y0) * i / n)
            r = width // 2
            self.rect(x - r, y - r, x - r + width - 1, y - r + width - 1, rgb)

    def text(self, x, y, s, rgb, scale=1):
        for ch in s.upper():
            g = FONT.get(ch, FONT[" "])
            for j, row in enumerate(g):
                for i, c in enumerate(row):
                    if c == "#":
                        self.rect(x + i * scale, y + j * scale, x + i * scale + scale - 1,
                                  y + j * scale + scale - 1, rgb)
            x += 6 * scale

    def vtext(self, x, y, s, rgb):
        """Text written bottom to top, starting at (x, y)."""
        for ch in s.upper():
            g = FONT.get(ch, FONT[" "])
            for j, row in enumerate(g):
                for i, c in enumerate(row):
                    if c == "#":
                        self.set(x + j, y - i, rgb)
            y -= 6


COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
          (140, 86, 75), (227, 119, 194), (127, 127, 127)]


def plot(result, path):
    curve = result["curve"]
    eps = [c["epsilon_total"] for c in curve]
    names = list(curve[0]["queries"].keys())
    W, H = 720, 440
    L, R, T, B = 60, 200, 30, 50  # margins
    cv = Canvas(W, H)
    x_lo, x_hi = math.log2(min(eps)), math.log2(max(eps))
    if x_hi == x_lo:
        x_hi = x_lo + 1

    def X(e):
        return round(L + (W - L - R) * (math.log2(e) - x_lo) / (x_hi - x_lo))

    def Y(u):
        return round(H - B - (H - T - B) * u)

    grey, dark = (225, 225, 225), (40, 40, 40)
    for k in range(0, 11):
        y = Y(k / 10)
        cv.line(L, y, W - R, y, grey)
        cv.text(L - 30, y - 3, "%d%%" % (k * 10) if k < 10 else "100", dark)
    for e in eps:
        cv.line(X(e), T, X(e), H - B, grey)
        cv.text(X(e) - 3 * len("%g" % e), H - B + 8, "%g" % e, dark)
    cv.line(L, H - B, W - R, H - B, dark)
    cv.line(L, T, L, H - B, dark)
    cv.text(L + (W - L - R) // 2 - 90, H - 18, "DEPARTMENT EPSILON (LOG)", dark)
    cv.vtext(8, H - B - 80, "UTILITY", dark)
    cv.text(L, 8, "UTILITY OF PRIVATE RELEASES, DEMO CITY", dark)
    # anchors
    anchor = result.get("anchor", {"paper": 0.947, "goal": 0.97})
    cv.line(L, Y(anchor["paper"]), W - R, Y(anchor["paper"]), (230, 120, 0), dash=6)
    cv.line(L, Y(anchor["goal"]), W - R, Y(anchor["goal"]), (0, 150, 0), dash=3)
    if min(eps) <= 2.1 <= max(eps):
        cv.line(X(2.1), T, X(2.1), H - B, (120, 120, 120), dash=4)
    # per query, thin
    for qi, name in enumerate(names):
        rgb = COLORS[qi % len(COLORS)]
        pts = [(X(c["epsilon_total"]), Y(c["queries"][name])) for c in curve]
        for a, b in zip(pts, pts[1:]):
            cv.line(a[0], a[1], b[0], b[1], rgb)
        for p in pts:
            cv.rect(p[0] - 1, p[1] - 1, p[0] + 1, p[1] + 1, rgb)
    # the overall ceiling (eval_utility.h), thick grey, dashed
    has_ceiling = all("ceiling" in c for c in curve)
    if has_ceiling:
        pts = [(X(c["epsilon_total"]), Y(c["ceiling"])) for c in curve]
        for a, b in zip(pts, pts[1:]):
            cv.line(a[0], a[1], b[0], b[1], (110, 110, 110), width=3, dash=5)
    # overall, thick black
    pts = [(X(c["epsilon_total"]), Y(c["utility"])) for c in curve]
    for a, b in zip(pts, pts[1:]):
        cv.line(a[0], a[1], b[0], b[1], (0, 0, 0), width=3)
    for p in pts:
        cv.rect(p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3, (0, 0, 0))
    # legend
    lx, ly = W - R + 12, T
    cv.rect(lx, ly + 2, lx + 14, ly + 4, (0, 0, 0))
    cv.text(lx + 20, ly, "OVERALL", dark)
    ly += 14
    if has_ceiling:
        cv.line(lx, ly + 3, lx + 14, ly + 3, (110, 110, 110), width=3, dash=5)
        cv.text(lx + 20, ly, "CEILING", dark)
        ly += 14
    cv.line(lx, ly + 3, lx + 14, ly + 3, (0, 150, 0), dash=3)
    cv.text(lx + 20, ly, "GOAL 97%", dark)
    ly += 14
    cv.line(lx, ly + 3, lx + 14, ly + 3, (230, 120, 0), dash=6)
    cv.text(lx + 20, ly, "PAPER 94.7%", dark)
    ly += 14
    cv.line(lx + 7, ly, lx + 7, ly + 7, (120, 120, 120), dash=2)
    cv.text(lx + 20, ly, "EPSILON 2.1", dark)
    ly += 20
    for qi, name in enumerate(names):
        rgb = COLORS[qi % len(COLORS)]
        cv.rect(lx, ly + 2, lx + 14, ly + 3, rgb)
        cv.text(lx + 20, ly, name[:28], dark)
        ly += 14
    write_png(path, W, H, cv.px)


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        text = open(argv[2], encoding="utf-8").read() if len(argv) == 3 else sys.stdin.read()
        result = json.loads(text)
        if not result.get("curve"):
            raise ValueError("the JSON has no \"curve\" (run ward eval utility --json --curve)")
        plot(result, argv[1])
    except (OSError, ValueError, KeyError) as e:
        print(f"ward: error: plot_utility: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
