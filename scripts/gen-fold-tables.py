#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the Unicode tables of provision/fold.c (declared in
provision/fold_tables.h), in two files by what they answer:
provision/fold_tables.c the case mappings, provision/fold_assigned.c the
assigned code points.

Reads UnicodeData.txt (Debian package unicode-data:
/usr/share/unicode/UnicodeData.txt) and writes, as compact C range tables:

  * the simple upper-case mapping (field 12) and the simple lower-case
    mapping (field 13);
  * the case classes: the connected components of the graph whose edges are
    c - upper(c) and c - lower(c), each code point mapped to the smallest
    code point of its class (its representative);
  * the assigned code points (every line of UnicodeData.txt, the
    <..., First>/<..., Last> pairs as ranges), surrogates left out.

A mapping table is a sorted list of non-overlapping ranges {first, last,
delta, stride}: the code points first, first + stride, ..., last map to
c + delta; the ones in between (stride 2) and all outside any range map to
themselves. The script checks every code point of the tables against the
data before writing them.

Usage: scripts/gen-fold-tables.py [UnicodeData.txt [OUTDIR]]
  defaults: /usr/share/unicode/UnicodeData.txt, provision/ (fold_tables.c
  and fold_assigned.c are written there)
The Unicode version is read from DerivedAge.txt beside UnicodeData.txt (its
first line, "# DerivedAge-15.0.0.txt"); set UNICODE_VERSION to override.
The build never runs this script: its output is committed.
"""

import hashlib
import os
import re
import sys

MAX_CP = 0x10FFFF


def read_data(path):
    upper, lower, assigned = {}, {}, []
    first = None
    with open(path, encoding="ascii") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            if len(fields) != 15:
                sys.exit(f"{path}: not a UnicodeData.txt line: {line!r}")
            cp = int(fields[0], 16)
            name = fields[1]
            if name.endswith(", First>"):
                first = cp
                continue
            if name.endswith(", Last>"):
                if first is None:
                    sys.exit(f"{path}: {name} without its First")
                assigned.append((first, cp))
                first = None
            else:
                assigned.append((cp, cp))
            if fields[12]:
                upper[cp] = int(fields[12], 16)
            if fields[13]:
                lower[cp] = int(fields[13], 16)
    return upper, lower, assigned


def unicode_version(data_path):
    v = os.environ.get("UNICODE_VERSION")
    if v:
        return v
    age = os.path.join(os.path.dirname(data_path), "DerivedAge.txt")
    try:
        with open(age, encoding="utf-8") as f:
            m = re.match(r"# DerivedAge-(\d+\.\d+\.\d+)\.txt", f.readline())
    except OSError:
        m = None
    if not m:
        sys.exit(f"cannot tell the Unicode version from {age}: set UNICODE_VERSION")
    return m.group(1)


def classes(upper, lower):
    """Union-find over the edges c-upper(c), c-lower(c): the representative
    (smallest member) of every code point in a class of two or more."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            parent[rb] = ra

    for table in (upper, lower):
        for c, m in table.items():
            union(c, m)
    members = {}
    for c in list(parent):
        members.setdefault(find(c), []).append(c)
    rep = {}
    for r, ms in members.items():
        assert r == min(ms)
        for c in ms:
            if c != r:
                rep[c] = r
    largest = max(len(ms) for ms in members.values())
    return rep, len(members), largest


def ranges(mapping):
    """Sorted non-overlapping [first, last, delta, stride] covering mapping
    (a dict c -> target with target != c). Keys come in order, so a step of
    2 only ever skips a code point that maps to itself."""
    out = []
    for c in sorted(mapping):
        d = mapping[c] - c
        if out:
            r = out[-1]
            step = c - r[1]
            if r[2] == d and (step == r[3] or (r[0] == r[1] and step == 2)):
                r[1], r[3] = c, step
                continue
        out.append([c, c, d, 1])
    return out


def lookup(table, c):
    lo, hi = 0, len(table)
    while lo < hi:
        mid = (lo + hi) // 2
        if table[mid][1] < c:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(table):
        first, last, delta, stride = table[lo]
        if first <= c <= last and (c - first) % stride == 0:
            return c + delta
    return c


def merge_assigned(assigned):
    out = []
    for a, b in sorted(assigned):
        if 0xD800 <= a <= 0xDFFF:
            continue  # surrogates: never characters of a UTF-8 name
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def check(name, table, mapping):
    for first, last, _, stride in table:
        for c in range(first, last + 1):
            if (c - first) % stride and c in mapping:
                sys.exit(f"{name}: U+{c:04X} skipped by a stride-2 range")
    for c in range(MAX_CP + 1):
        if lookup(table, c) != mapping.get(c, c):
            sys.exit(f"{name}: U+{c:04X} maps wrong")


def emit_map(out, name, table, what):
    out.append(f"/* {what}: {len(table)} ranges. */")
    out.append(f"const struct fold_range {name}[] = {{")
    for first, last, delta, stride in table:
        out.append(f"    {{0x{first:04X}, 0x{last:04X}, {delta}, {stride}}},")
    out.append("};")
    out.append(f"const size_t {name}_count = sizeof {name} / sizeof {name}[0];")
    out.append("")


def header(version, digest, what):
    """The opening lines of a generated file."""
    return [
        "/* SPDX-License-Identifier: GPL-3.0-or-later */",
        "/* clang-format off */",
        "/* GENERATED by scripts/gen-fold-tables.py: do not edit.",
        f" * Unicode {version}, from UnicodeData.txt (SHA-256",
        f" * {digest}),",
        " * as Debian's package unicode-data installs it.",
        " * Regenerate (after `apt-get install unicode-data` with the version wanted):",
        " *     scripts/gen-fold-tables.py /usr/share/unicode/UnicodeData.txt provision",
        " * One entry a line: clang-format is kept off for the tables.",
    ] + [f" * {line}" for line in what] + [
        " * Tables and their meaning: provision/fold.h and the comment of",
        " * scripts/gen-fold-tables.py. */",
        '#include "provision/fold_tables.h"',
        "",
    ]


def write(path, out):
    out.append("/* clang-format on */")
    with open(path, "w", encoding="ascii") as f:
        f.write("\n".join(out) + "\n")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode/UnicodeData.txt"
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "provision"))
    upper, lower, assigned = read_data(src)
    version = unicode_version(src)
    with open(src, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    rep, n_classes, largest = classes(upper, lower)
    up_t, low_t, cls_t = ranges(upper), ranges(lower), ranges(rep)
    check("upper", up_t, upper)
    check("lower", low_t, lower)
    check("class", cls_t, rep)
    asg = merge_assigned(assigned)
    for c in rep:
        if not any(a <= c <= b for a, b in asg):
            sys.exit(f"U+{c:04X} has a case mapping but is not assigned")

    cases = header(version, digest, [
        "The case mappings:",
        f"{len(upper)} simple upper-case and {len(lower)} simple lower-case mappings;",
        f"{n_classes} case classes of two or more code points (the largest has {largest}).",
    ])
    cases += [f'const char fold_unicode_version[] = "{version}";', ""]
    emit_map(cases, "fold_upper_ranges", up_t, "Simple upper-case mapping (field 12)")
    emit_map(cases, "fold_lower_ranges", low_t, "Simple lower-case mapping (field 13)")
    emit_map(cases, "fold_class_ranges", cls_t,
             "Case class representative (smallest code point of the class)")
    write(os.path.join(dst, "fold_tables.c"), cases)

    spans = header(version, digest, ["The assigned code points (fold_assigned)."])
    spans.append(f"/* Assigned code points, surrogates left out: {len(asg)} ranges. */")
    spans.append("const struct fold_span fold_assigned_spans[] = {")
    for a, b in asg:
        spans.append(f"    {{0x{a:04X}, 0x{b:04X}}},")
    spans.append("};")
    spans.append("const size_t fold_assigned_spans_count = "
                 "sizeof fold_assigned_spans / sizeof fold_assigned_spans[0];")
    write(os.path.join(dst, "fold_assigned.c"), spans)
    print(f"{dst}: Unicode {version}, {len(up_t)} + {len(low_t)} + {len(cls_t)} mapping ranges "
          f"(fold_tables.c), {len(asg)} assigned ranges (fold_assigned.c)")


if __name__ == "__main__":
    main()
