#!/usr/bin/env python3
"""store-flips.py - how many flipped bytes does `kvmarm-store check` catch?

Copies a store, changes one byte (XOR with a random non-zero value, so the
stored bytes always change) at a random place of one region, runs check on
the copy, and counts the copies it calls broken. Regions: "raw" (anywhere in
raw.dat), "body" (the body-text copies in raw.dat: the bytes between a
message's raw bytes and the next message's), "rec" (anywhere in rec.dat).
Prints one line per region: "REGION caught C of N".
"""
import argparse
import os
import random
import shutil
import subprocess
import sys


def body_regions(ks, db, data):
    """(start, end) of each body-text copy in raw.dat: after message n's
    raw bytes and their NUL, up to the NUL before message n+1's."""
    raws = []
    n = 1
    while True:
        r = subprocess.run([ks, "--db", db, "msg", "--raw", str(n)], capture_output=True)
        if r.returncode != 0:
            break
        raws.append(r.stdout)
        n += 1
    spans, pos = [], 0
    for i, raw in enumerate(raws):
        start = data.find(raw, pos)
        if start < 0:
            sys.exit("message %d not found in raw.dat" % (i + 1))
        end = start + len(raw) + 1
        nxt = data.find(raws[i + 1], end) if i + 1 < len(raws) else len(data)
        if nxt - end > 1:
            spans.append((end, nxt - 1))
        pos = end
    return spans


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", required=True, help="the kvmarm-store binary")
    ap.add_argument("--db", required=True, help="the store to copy")
    ap.add_argument("--scratch", required=True, help="where the copies go")
    ap.add_argument("--flips", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check-args", default="", help="extra arguments of check")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    raw = open(os.path.join(a.db, "raw.dat"), "rb").read()
    rec_size = os.path.getsize(os.path.join(a.db, "rec.dat"))
    bodies = body_regions(a.ks, a.db, raw)
    if not bodies:
        sys.exit("no body-text copies in this store")
    for region in ("raw", "body", "rec"):
        caught = 0
        for _ in range(a.flips):
            if region == "raw":
                f, off = "raw.dat", rnd.randrange(len(raw))
            elif region == "body":
                s, e = rnd.choice(bodies)
                f, off = "raw.dat", rnd.randrange(s, e)
            else:
                f, off = "rec.dat", rnd.randrange(rec_size)
            copy = os.path.join(a.scratch, "flip")
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(a.db, copy)
            with open(os.path.join(copy, f), "r+b") as fh:
                fh.seek(off)
                b = fh.read(1)[0]
                fh.seek(off)
                fh.write(bytes([b ^ rnd.randrange(1, 256)]))
            r = subprocess.run([a.ks, "--db", copy, "check"] + a.check_args.split(),
                               capture_output=True)
            caught += r.returncode != 0
        print("%s caught %d of %d" % (region, caught, a.flips))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
