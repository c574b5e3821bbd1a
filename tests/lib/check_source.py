#!/usr/bin/env python3
"""
check_source.py - checks on the source tree that the compiler cannot make:
which folder may include which, no include cycle between modules, no
oversized .c file without a written reason, and banned.h in every library
and program file. `make check-layering`, `make check-size` and
`make check-banned` run it (all three are part of `make check`).

Usage: check_source.py layering | cycles | size [--max N] | banned
       [--exempt NAME]...
Run from the top of the checkout. Prints one line per problem, naming the
file, and exits 1 if there was any; prints nothing and exits 0 otherwise.
"""
import argparse
import os
import re
import sys

# Which folders a folder's files may include from. A quoted include is
# resolved as the compiler does: the including file's own folder first,
# then the -I folders the Makefile gives that folder (always store/).
ALLOWED = {
    "store": ["store"],
    "store/cli": ["store/cli", "store"],
    "milter": ["milter", "store"],
    "reporter": ["reporter", "store"],
}
# Folders searched only to name the file a forbidden include would reach.
KNOWN = ["store", "store/cli", "milter", "reporter", "tests/unit", "tests/tools"]

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def sources(folders, exts=(".c", ".h")):
    """Every file with one of exts directly inside each of folders, sorted."""
    out = []
    for d in folders:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(exts) and os.path.isfile(os.path.join(d, name)):
                out.append(os.path.join(d, name))
    return out


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().split("\n")


def includes(path):
    """(line number, '<' or '"', name) for each #include of path."""
    out = []
    for n, line in enumerate(read_lines(path), 1):
        m = INCLUDE_RE.match(line)
        if m:
            out.append((n, m.group(1), m.group(2)))
    return out


def resolve(path, name):
    """The project file a quoted include of name from path reaches, as
    (file, allowed): file is None when no project folder holds it."""
    here = os.path.dirname(path)
    allowed = ALLOWED.get(here, [here])
    for d in [here] + allowed:
        cand = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(cand):
            return cand, os.path.dirname(cand) in allowed + [here]
    for d in KNOWN:
        cand = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(cand):
            return cand, False
    return None, False


def check_layering(args):
    bad = []
    for path in sources(ALLOWED):
        here = os.path.dirname(path)
        for n, kind, name in includes(path):
            if kind != '"':
                continue
            target, ok = resolve(path, name)
            if target is None:
                bad.append(f'{path}:{n}: includes "{name}", which is in no project folder')
            elif not ok:
                may = " and ".join(f"{d}/" for d in ALLOWED[here])
                bad.append(f"{path}:{n}: includes {target}: {here}/ may include only {may}")
    return bad


def module(path):
    """A module is a file stem in its folder: store/db.c and store/db.h are
    one module, store/db."""
    return os.path.splitext(path)[0]


def include_graph():
    """Module -> {module it includes: where}, over the modules that have a
    .c file. A header without a .c of its own (kv.h, a module's private
    store_int.h or llm_private.h) is no module: it belongs to whoever
    includes it, so an include of it stands for the includes it makes
    (a private header that includes its module's public header is no
    cycle)."""
    raw = {}
    for path in sources(ALLOWED):
        edges = raw.setdefault(module(path), {})
        for n, kind, name in includes(path):
            if kind != '"':
                continue
            target, _ = resolve(path, name)
            if target is None or module(target) == module(path):
                continue
            edges.setdefault(module(target), f"{path}:{n}")
    real = {module(p) for p in sources(ALLOWED, (".c",))}

    def reach(node, where, seen):
        """The real modules node stands for, each with the include that
        leads to it."""
        if node in real:
            return {node: where}
        out = {}
        for nxt, w in raw.get(node, {}).items():
            if nxt not in seen:
                seen.add(nxt)
                for m, _ in reach(nxt, w, seen).items():
                    out.setdefault(m, f"{where} via {w}")
        return out

    graph = {}
    for m in sorted(real):
        edges = graph.setdefault(m, {})
        for nxt, where in sorted(raw.get(m, {}).items()):
            for r, w in reach(nxt, where, {m, nxt}).items():
                if r != m:
                    edges.setdefault(r, w)
    return graph


def strongly_connected(graph):
    """Tarjan's algorithm, iterative: the groups of modules that reach each
    other through includes."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, {})))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        group.append(m)
                        if m == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return groups


def cycle_in(graph, group):
    """One cycle through the first module of group, staying inside group,
    as a list of (module, where the include is)."""
    members = set(group)
    start = group[0]
    prev = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt, where in sorted(graph.get(node, {}).items()):
            if nxt not in members:
                continue
            if nxt == start:
                path = [(node, where)]
                while prev[path[-1][0]] is not None:
                    path.append(prev[path[-1][0]])
                return list(reversed(path))
            if nxt not in prev:
                prev[nxt] = (node, where)
                queue.append(nxt)
    return []


def check_cycles(args):
    graph = include_graph()
    bad = []
    for group in strongly_connected(graph):
        steps = " -> ".join(f"{m} ({where})" for m, where in cycle_in(graph, group))
        line = f"include cycle between {', '.join(group)}: {steps} -> {group[0]}"
        if set(group) <= set(args.exempt):
            note(line)
        else:
            bad.append(line)
    return bad


def note(line):
    """An exempt problem: said on stderr, so it is not forgotten, but let
    through."""
    print(f"note: {line} (exempt for now)", file=sys.stderr)


def has_size_reason(lines):
    """A line of the header comment (first 30 lines) saying 'size:'."""
    return any(re.match(r"\s*(/?\*|//).*\bsize:", l) for l in lines[:30])


def check_size(args):
    bad = []
    for path in sources(list(ALLOWED) + ["tests/unit", "tests/tools"], (".c",)):
        lines = read_lines(path)
        count = len(lines) - (1 if lines and lines[-1] == "" else 0)
        if count > args.max and not has_size_reason(lines):
            line = f"{path}: {count} lines (over {args.max}) and no 'size:' reason in its first 30 lines"
            if path in args.exempt:
                note(line)
            else:
                bad.append(line)
    return bad


def check_banned(args):
    bad = []
    for path in sources(ALLOWED, (".c",)):
        last_system = 0
        banned = 0
        for n, kind, name in includes(path):
            if kind == "<":
                last_system = n
            elif name == "banned.h":
                banned = n
        if not banned:
            bad.append(f'{path}: does not #include "banned.h" (after its system headers)')
        elif banned < last_system:
            bad.append(f'{path}:{banned}: #include "banned.h" comes before a system header (line {last_system})')
    return bad


def main():
    p = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    p.add_argument("check", choices=["layering", "cycles", "size", "banned"])
    p.add_argument("--max", type=int, default=900, help="line limit for size")
    p.add_argument("--exempt", action="append", default=[],
                   help="a file (size) or module (cycles, e.g. reporter/digest) to let pass")
    args = p.parse_args()
    bad = {"layering": check_layering, "cycles": check_cycles,
           "size": check_size, "banned": check_banned}[args.check](args)
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
