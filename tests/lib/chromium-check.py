#!/usr/bin/python3
"""chromium-check.py - open a digest HTML file in headless Chromium and check
the DOM Chromium built from it (not the source text): it rendered (thread
headings present) and nothing from mail became markup: no script, iframe,
object, embed or img elements, no on* attributes, no javascript: URLs, and
every link is a lore link (or, with --relative, a relative link to a file in
the same directory, as in the archive index).

Usage: chromium-check.py FILE.html LORE_BASE [--expect-text S ...] [--relative]
Prints one line per check: "0 name" (pass) or "1 name" (fail), for a TAP
shell test to feed to `ok`. Exit 0 when Chromium ran, 2 when it could not.
Python standard library only.
"""
import html.parser
import os
import shutil
import subprocess
import sys
import tempfile


def find_chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        p = shutil.which(name)
        if p:
            return p
    return None


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.attrs = []
        self.text = []
        self.h3 = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == 'h3':
            self.h3 += 1
        for k, v in attrs:
            self.attrs.append((tag, k, v or ''))

    def handle_data(self, data):
        self.text.append(data)


def main():
    args = sys.argv[1:]
    relative = '--relative' in args
    args = [a for a in args if a != '--relative']
    expect = []
    while '--expect-text' in args:
        i = args.index('--expect-text')
        expect.append(args[i + 1])
        del args[i:i + 2]
    path, lore = args[0], args[1]
    chromium = find_chromium()
    if not chromium:
        print('chromium not found', file=sys.stderr)
        return 2
    prof = tempfile.mkdtemp(prefix='kvchrome.')
    try:
        r = subprocess.run([chromium, '--headless', '--no-sandbox', '--disable-gpu',
                            '--disable-background-networking', '--disable-component-update',
                            '--disable-sync', '--no-first-run', '--user-data-dir=' + prof,
                            '--dump-dom', 'file://' + os.path.abspath(path)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    except subprocess.TimeoutExpired:
        print('chromium timed out', file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(prof, ignore_errors=True)
    dom_text = r.stdout.decode('utf-8', 'replace')
    if r.returncode != 0 or '<html' not in dom_text:
        print('chromium failed: %s' % r.stderr.decode('utf-8', 'replace')[-500:], file=sys.stderr)
        return 2
    d = Dom()
    d.feed(dom_text)
    text = ''.join(d.text)

    def check(cond, name):
        print('%d %s' % (0 if cond else 1, name))

    check(len(dom_text) > 500, 'Chromium rendered the page (%d bytes of DOM)' % len(dom_text))
    if not relative:
        check(d.h3 >= 1, 'thread headings present (%d)' % d.h3)
    bad_tags = [t for t in d.tags if t in ('script', 'iframe', 'object', 'embed', 'img', 'svg',
                                           'form', 'input', 'base', 'frame', 'video', 'audio')]
    check(not bad_tags, 'no script/iframe/object/img/... elements %s' % bad_tags[:5])
    onattrs = [(t, k) for t, k, v in d.attrs if k.lower().startswith('on')]
    check(not onattrs, 'no on* attributes %s' % onattrs[:5])
    js = [(t, k, v) for t, k, v in d.attrs if 'javascript:' in v.lower().replace(' ', '')]
    check(not js, 'no javascript: URLs %s' % js[:3])
    hrefs = [v for t, k, v in d.attrs if k in ('href', 'src', 'action', 'formaction')]
    if relative:
        bad = [h for h in hrefs if '/' in h or ':' in h]
        check(not bad, 'only relative links to this directory %s' % bad[:3])
    else:
        bad = [h for h in hrefs if not h.startswith(lore)]
        check(hrefs and not bad, 'only lore links (%d links) %s' % (len(hrefs), bad[:3]))
    metas = [v for t, k, v in d.attrs if t == 'meta' and k == 'content' and 'default-src' in v]
    check(any("default-src 'none'" in m for m in metas), 'strict Content-Security-Policy present')
    for s in expect:
        check(s in text, 'hostile text shown as text: %r' % s)
    return 0


if __name__ == '__main__':
    sys.exit(main())
