# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for tests/integration/acl/run.sh, independent of the C code under
# test:
#   helper.py norm SDDL            the DACL as a sorted list of ACEs, the ID
#                                  flag and leading zeros of masks dropped
#                                  (what "restored" means over SMB, where the
#                                  INHERITED flag is what changes)
#   helper.py has SDDL ACE...      exit 0 if every ACE "(A;ID;0x1200a9;;;SID)"
#                                  is in the DACL (masks compared as numbers)
#   helper.py lacks SDDL SID       exit 0 if no ACE names SID
#   helper.py poolsid NAME         the IIS AppPool SID, from hashlib (SHA-1 of
#                                  the lower-cased name in UTF-16LE)
#   helper.py snapshot DIR         every path below DIR with its type and a
#                                  digest of its security.NTACL attribute
import hashlib
import os
import re
import struct
import sys


def aces(sddl):
    d = sddl.split("D:", 1)[1] if "D:" in sddl else ""
    out = []
    for m in re.finditer(r"\(([^)]*)\)", d):
        f = m.group(1).split(";")
        mask = int(f[2], 16) if f[2].lower().startswith("0x") else f[2]
        out.append((f[0], f[1], mask, f[5]))
    return out


def flags_set(text):
    return {text[i:i + 2] for i in range(0, len(text), 2)}


def norm(sddl):
    res = []
    for t, fl, mask, sid in aces(sddl):
        fs = sorted(flags_set(fl) - {"ID"})
        m = "0x%x" % mask if isinstance(mask, int) else mask
        res.append("(%s;%s;%s;;;%s)" % (t, "".join(fs), m, sid))
    return "".join(sorted(res))


def main():
    cmd = sys.argv[1]
    if cmd == "norm":
        print(norm(sys.argv[2]))
    elif cmd == "has":
        have = {(t, frozenset(flags_set(fl)), m, s) for t, fl, m, s in aces(sys.argv[2])}
        for want in sys.argv[3:]:
            t, fl, m, s = aces("D:" + want)[0]
            if (t, frozenset(flags_set(fl)), m, s) not in have:
                print("missing %s in %s" % (want, sys.argv[2]))
                sys.exit(1)
    elif cmd == "lacks":
        for _, _, _, s in aces(sys.argv[2]):
            if s == sys.argv[3]:
                print("%s present in %s" % (s, sys.argv[2]))
                sys.exit(1)
    elif cmd == "poolsid":
        h = hashlib.sha1(sys.argv[2].lower().encode("utf-16-le")).digest()
        print("S-1-5-82-" + "-".join(str(x) for x in struct.unpack("<5I", h)))
    elif cmd == "snapshot":
        top = sys.argv[2]
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(dirs + files):
                p = os.path.join(root, name)
                try:
                    v = os.getxattr(p, "security.NTACL", follow_symlinks=False)
                    dig = hashlib.sha1(v).hexdigest()[:16]
                except OSError:
                    dig = "-"
                kind = "d" if os.path.isdir(p) else "f"
                print("%s %s %s" % (kind, os.path.relpath(p, top), dig))
    else:
        sys.exit(2)


main()
