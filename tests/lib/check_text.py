#!/usr/bin/python3
"""check_text.py - check a plain-text digest (kvmarm-reporter --format txt,
the digest mail's text/plain part) for what a mail reader needs:

  - valid UTF-8, no terminal control character (C0 but newline, DEL, C1)
    and no bidirectional override, embedding, isolate or mark;
  - no line wider than 72 display columns, except a line that is one URL
    (indented or not) or a numbered reference "[n] URL";
  - no Markdown escape (a backslash before ASCII punctuation);
  - no "no tags yet" line per patch (the review list folds them).

Display width is Unicode's: East Asian Wide and Fullwidth count 2,
combining marks and format characters 0, the rest 1 - independent of the
reporter's own (smaller) rule, which may only count more.

Usage: check_text.py [--allow-escapes N] FILE...
Prints one line per file ("ok FILE: ..." or "FAIL FILE: ..." with the first
offending lines) and "max-width W escapes E" counts; exit 1 on any failure.
"""
import re
import sys
import unicodedata

WIDTH = 72
URL_LINE = re.compile(r'^\s*(\[\d+\]\s+)?\S*://\S+$')
ESCAPE = re.compile(r'\\[!-/:-@\[-`{-~]')
BIDI = set([0x061C, 0x200E, 0x200F]) | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))
NO_TAGS = {'en': re.compile(r': no tags yet$'), 'zh': re.compile(r': 尚无标签$')}


def width(s):
    w = 0
    for c in s:
        if unicodedata.combining(c) or unicodedata.category(c) in ('Mn', 'Me', 'Cf'):
            continue
        w += 2 if unicodedata.east_asian_width(c) in ('W', 'F') else 1
    return w


def check(path, allow_escapes):
    raw = open(path, 'rb').read()
    bad = []
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        return ['invalid UTF-8: %s' % e], 0, 0
    maxw = 0
    escapes = 0
    for n, line in enumerate(text.split('\n'), 1):
        for c in line:
            o = ord(c)
            if (o < 0x20 and c != '\t') or o == 0x7F or 0x80 <= o <= 0x9F:
                bad.append('line %d: control character U+%04X' % (n, o))
            elif o in BIDI:
                bad.append('line %d: bidi control U+%04X' % (n, o))
        w = width(line)
        if not URL_LINE.match(line):
            maxw = max(maxw, w)
            if w > WIDTH:
                bad.append('line %d: %d columns: %s' % (n, w, line))
        escapes += len(ESCAPE.findall(line))
        for rx in NO_TAGS.values():
            if rx.search(line):
                bad.append('line %d: a per-patch "no tags" line: %s' % (n, line))
    if escapes > allow_escapes:
        bad.append('%d Markdown-style escapes (allowed %d)' % (escapes, allow_escapes))
    return bad, maxw, escapes


def main():
    args = sys.argv[1:]
    allow = 0
    if args[:1] == ['--allow-escapes']:
        allow = int(args[1])
        args = args[2:]
    failed = 0
    for path in args:
        bad, maxw, esc = check(path, allow)
        if bad:
            failed = 1
            print('FAIL %s: max-width %d escapes %d: %d problems: %s' %
                  (path, maxw, esc, len(bad), '; '.join(bad[:5])))
        else:
            print('ok %s: max-width %d escapes %d' % (path, maxw, esc))
    return failed


if __name__ == '__main__':
    sys.exit(main())
