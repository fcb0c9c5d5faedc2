#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check the daemon's layering (doc/design.md, "Layers").

fs/ is a stack of modules; a module is fs/NAME.c with its header fs/NAME.h.
This check fails (exit 1, one line per finding) when:
  - a file in fs/ names the helper module or a device kind: the daemon
    reaches every memory through struct cdm_backend_ops;
  - a header declares a function its own .c does not define (a header that
    declares everything hides every dependency);
  - a module includes the header of a module above it in LAYERS, or one not
    listed there (so a new file has to be placed on purpose);
  - the include graph of fs/ has a cycle.
Run: check_layers.py SRCDIR
"""
import os
import re
import sys

# Bottom first.  A module may include the headers of modules listed before
# it (and of its own row), never after.
LAYERS = [
    ["options"],                # mount options, parsed before anything
    ["inode"],                  # the inode table: knows nothing above it
    ["fs"],                     # struct cdm_fs: every layer's state
    ["req", "store"],           # node ids and notifications; the store
    ["policystore"],            # which policy a file follows
    ["capacity"],               # what devices hold and have free
    ["migrate", "migrator"],    # moving a file's pages in the background
    ["tiering"],                # hot chunks to FAST, cold to SLOW
    ["placement"],              # placing files, setting policies
    ["perm", "caller"],         # permission rules, the caller's identity
    ["stats", "datapath", "namespace", "rename", "health", "lodge"],
    ["entry"],                  # lookups and attributes the kernel caches
    ["create", "xattr"],        # new inodes; the user.cdm.* requests
    ["ops"],                    # the FUSE operations table
    ["main"],
]

FORBIDDEN = re.compile(r"cdmkm|CDM_KIND_COHERENT")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)\.h"', re.M)
# "type name(" at the start of a line: a declaration in a header, a
# definition in a .c; static functions are private and not counted.
FUNC = re.compile(r"^(?!static\b)[A-Za-z_][\w \t\*]*?\b(cdm_\w+)\s*\(", re.M)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"),
                  text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "."
    fsdir = os.path.join(src, "fs")
    rank = {m: i for i, row in enumerate(LAYERS) for m in row}
    bad = []
    files = sorted(f for f in os.listdir(fsdir) if f.endswith((".c", ".h")))
    graph = {}
    for f in files:
        path = os.path.join(fsdir, f)
        with open(path) as fh:
            raw = fh.read()
        for n, line in enumerate(raw.splitlines(), 1):
            if FORBIDDEN.search(line):
                bad.append(f"fs/{f}:{n}: names the helper module or its kind: {line.strip()}")
        mod = f[:-2]
        if mod not in rank:
            bad.append(f"fs/{f}: module {mod} is not in a layer (tests/unit/check_layers.py)")
            continue
        for inc in INCLUDE.findall(raw):
            if inc == "config":
                continue
            if not os.path.exists(os.path.join(fsdir, inc + ".h")):
                continue
            graph.setdefault(mod, set()).add(inc)
            if inc not in rank:
                continue
            if rank[inc] > rank[mod]:
                bad.append(f"fs/{f}: includes {inc}.h, a layer above {mod}")
    # headers declare only what their own .c defines
    for f in files:
        if not f.endswith(".h"):
            continue
        mod = f[:-2]
        with open(os.path.join(fsdir, f)) as fh:
            decl = set(FUNC.findall(strip_comments(fh.read())))
        cfile = os.path.join(fsdir, mod + ".c")
        defined = set()
        if os.path.exists(cfile):
            with open(cfile) as fh:
                defined = set(FUNC.findall(strip_comments(fh.read())))
        for name in sorted(decl - defined):
            bad.append(f"fs/{f}: declares {name}, which fs/{mod}.c does not define")
    # cycles (a module including its own header is no cycle)
    state = {}

    def visit(m, stack):
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if n == m:
                continue
            if state.get(n) == 1:
                cyc = stack[stack.index(n):] + [n]
                bad.append("include cycle: " + " -> ".join(cyc))
            elif n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    for b in bad:
        print(b)
    if not bad:
        print(f"fs/: {len(files)} files in {len(LAYERS)} layers, no cycle")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
