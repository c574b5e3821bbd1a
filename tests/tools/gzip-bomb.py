#!/usr/bin/env python3
"""gzip-bomb.py - write a small gzip mbox that inflates to one huge mail.

The mail is a list mail of our own making (header, then --mb megabytes of
one repeated body line, or one single line with --one-line), compressed
level 9 as it is written: the output is 0.5 MB (--one-line) to 1.8 MB for 500 MB, and this
script never holds more than one chunk in memory. A small ordinary mail
follows it, so a reader that skips the bomb must still find the next one.
"""
import argparse
import gzip

HEADER = (
    "From bomb@example.org Mon Jan  1 00:00:00 2024\n"
    "From: Bomb <bomb@example.org>\n"
    "To: kvmarm@lists.linux.dev\n"
    "Subject: [PATCH] a very large mail\n"
    "Message-ID: <gzip-bomb@example.org>\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
    "List-Id: <kvmarm.lists.linux.dev>\n"
    "\n"
)
AFTER = (
    "\n"
    "From small@example.org Mon Jan  1 00:01:00 2024\n"
    "From: Small <small@example.org>\n"
    "To: kvmarm@lists.linux.dev\n"
    "Subject: Re: [PATCH] a very large mail\n"
    "Message-ID: <after-the-bomb@example.org>\n"
    "In-Reply-To: <gzip-bomb@example.org>\n"
    "Date: Mon, 1 Jan 2024 00:01:00 +0000\n"
    "List-Id: <kvmarm.lists.linux.dev>\n"
    "\n"
    "A small reply after the large mail.\n"
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=500, help="body size in MB (default 500)")
    ap.add_argument("--one-line", action="store_true", help="the body is one line with no newline until its end")
    ap.add_argument("out", help="the .mbox.gz to write")
    a = ap.parse_args()
    unit = b"A" * 4096 if a.one_line else (b"a" * 71 + b"\n") * 56
    n = a.mb * (1 << 20) // len(unit)
    with gzip.open(a.out, "wb", compresslevel=9) as f:
        f.write(HEADER.encode())
        block = unit * 256
        for _ in range(n // 256):
            f.write(block)
        for _ in range(n % 256):
            f.write(unit)
        f.write(b"\n")
        f.write(AFTER.encode())


if __name__ == "__main__":
    main()
