#!/bin/sh
# 36-escape-property.t - the digest's escapers judged by what a renderer
# makes of their output (issue 14 item 4). For 3000 random strings (fixed
# seed; built from '@', ':', '//', 'www.', 'http', 'mailto:', '<', '>', '[',
# ']', '(', ')', '!', '`', '*', '_', '~', '|', '#', '&', entity-like text,
# e-mail addresses, control characters, bidi controls, Unicode line
# separators, list and heading markers), each escaped by render_md_escape
# (through `t_reporter --escape md`) and placed where the digest puts text
# (a paragraph start, a list item, mid-line), cmark-gfm with the autolink,
# table, strikethrough and tagfilter extensions must produce no element but
# the paragraphs and list items the test itself wrote: no <a>, <img>, raw
# HTML, emphasis, code, heading, table or autolink; and the text read back
# is the cleaned input. render_html_escape's output must hold no '<', '>'
# or quote, and no '&' but the five entities it writes. Neither may carry a
# control character, a bidi control or NUL.
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
[ -x "$KV_BUILD/tests/t_reporter" ] || skip_all "t_reporter not built"
command -v cmark-gfm >/dev/null 2>&1 || skip_all "cmark-gfm not installed (Debian package cmark-gfm; make deps)"

"$PYTHON" - "$KV_BUILD/tests/t_reporter" <<'PY'
import html, random, re, subprocess, sys

drv = sys.argv[1]
rng = random.Random(14004)
ATOMS = ["@", ":", "//", "://", "www.", "WWW.", "http", "https", "mailto:", "xmpp:", "ftp",
         "<", ">", "[", "]", "(", ")", "!", "`", "``", "*", "**", "_", "__", "~", "~~", "|", "#",
         "&", "&amp;", "&#64;", "&#x40;", "&lt;", "&copy", "\\", "-", "+", "=", "1.", "2)", ".",
         "a", "b", "x", "kvm", "evil", "example", ".example", "victim", "com", "/", "?", "=",
         " ", "  ", "    ", "\t", "\n", "\r", "\x00"[:0], "\x01", "\x1b", "\x7f", "\x0b", "\x0c",
         "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
         "\u2028", "\u2029", "\u0085", "\u00e9", "\u4e2d", "\u2060", "\"", "'", "<a href=x>",
         "</a>", "<img src=x>", "<script>", "-->", "<!--", "![", "](", "%40", "\\@", "0"]
FIXED = ["victim@evil.example", "www.x.y", "https://evil.example", "https:/\x7f/evil.example",
         "http:\x01//e.x", "w\x01ww.evil.example", "ww\u202ew.evil.example", "a@b.c", "<a@b.c>",
         "mailto:a@b.c", "[x](https://e.x)", "![i](http://e/x.png)", "<http://e.x>",
         "*em* _em_ `code` ~~del~~", "# heading", "- item", "1. item", "> quote", "| a | b |",
         "&#60;script&#62;", "x@y", "www.", "@", "a.b-c+d@e-f.gh.ij", "https:\\//e.x",
         "foo\nbar", "    indented", "=== ", "---", "***", "[1]", "[^1]", "\\"]
strings = list(FIXED)
for _ in range(3000):
    strings.append("".join(rng.choice(ATOMS) for _ in range(rng.randint(1, 14))))

def escape(mode):
    data = "\0".join(strings).encode() + b"\0"
    r = subprocess.run([drv, "--escape", mode], input=data, capture_output=True, check=True)
    out = r.stdout.decode("utf-8").split("\0")
    assert out[-1] == "" and len(out) == len(strings) + 1, "driver output count"
    return out[:-1]

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
SPACE = "\r\n\t\x0b\x0c\u0085\u2028\u2029 "
def cleaned(s):
    t = "".join(c for c in s if c not in BIDI and (c in SPACE or not (ord(c) < 0x20 or ord(c) == 0x7f)))
    return re.sub("[" + SPACE + "]+", " ", t)

def bad_chars(s):
    return any(c in BIDI or ord(c) < 0x20 or ord(c) == 0x7f for c in s)

n = 0
fails = []
def ok(cond, name):
    global n
    n += 1
    print(("ok %d - " if cond else "not ok %d - ") % n + name)

md = escape("md")
SEP = "QQSEPQQ"
contexts = [("para", "%s\n\n", {"p", "/p"}), ("item", "- %s\n\n", {"ul", "/ul", "li", "/li"}),
            ("mid", "text %s and more\n\n", {"p", "/p"})]
for cname, fmt, ALLOWED in contexts:
    doc = "".join(fmt % e + SEP + "\n\n" for e in md)
    r = subprocess.run(["cmark-gfm", "--extension", "autolink", "--extension", "table",
                        "--extension", "strikethrough", "--extension", "tagfilter"],
                       input=doc.encode(), capture_output=True, check=True)
    out = r.stdout.decode("utf-8")
    parts = out.split("<p>" + SEP + "</p>")
    ok(len(parts) == len(strings) + 1, "%s: one rendered block per string" % cname)
    bad_tags, lost = [], []
    for s, e, h in zip(strings, md, parts):
        tags = set(t.lower() for t in re.findall(r"<\s*(/?[a-zA-Z][a-zA-Z0-9]*)", h))
        if tags - ALLOWED or re.search(r"<[^>]*\b(href|src)\s*=", h):
            bad_tags.append((s, e, h.strip(), sorted(tags - ALLOWED)))
            continue
        text = html.unescape(re.sub(r"<[^>]*>", "", h)).replace("\u2060", "")
        want = cleaned(s).replace("\u2060", "")
        if cname == "mid":
            want = "text " + want + " and more"
        if " ".join(text.split()) != " ".join(want.split()):
            lost.append((s, e, text.strip(), want))
    for b in bad_tags[:5]:
        print("# %s: %r -> %r -> %r %s" % (cname, *b))
    ok(not bad_tags, "%s: no link, image, HTML, emphasis, code or other element from %d strings (%d bad)"
       % (cname, len(strings), len(bad_tags)))
    for b in lost[:5]:
        print("# %s text changed: %r -> %r -> %r (want %r)" % (cname, *b))
    ok(not lost, "%s: the text read back is the cleaned input (%d changed)" % (cname, len(lost)))
ok(not [e for e in md if bad_chars(e)], "markdown: no control, bidi or NUL character in the output")

hs = escape("html")
bad = [(s, h) for s, h in zip(strings, hs)
       if re.search(r"[<>\"']", h) or re.search(r"&(?!(amp|lt|gt|quot|#39);)", h) or bad_chars(h)]
for b in bad[:5]:
    print("# html: %r -> %r" % b)
ok(not bad, "html: no tag, quote or stray '&' and no control or bidi character (%d bad)" % len(bad))
lost = [(s, h) for s, h in zip(strings, hs) if html.unescape(h) != cleaned(s)]
for b in lost[:5]:
    print("# html text changed: %r -> %r" % b)
ok(not lost, "html: unescaped, the output is the cleaned input (%d changed)" % len(lost))
print("1..%d" % n)
PY
