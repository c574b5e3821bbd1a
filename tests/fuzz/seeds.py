#!/usr/bin/python3
"""seeds.py - write the seed corpora of the fuzz targets (tests/fuzz/).

Usage: seeds.py OUTDIR

Writes OUTDIR/NAME/ for every target fuzz_NAME.c, from mail that
tests/gen/kvgen.py generates (the default and the "bad" scenarios) and the
inline samples below, all written for this project. The output is a pure
function of the generator: the same files every run. `make fuzz` and
tests/t/60-fuzz-replay.t call it.
"""
import gzip
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KVGEN = os.path.join(HERE, '..', 'gen', 'kvgen.py')
SEP = b'\n\x01\n'   # splits one input into several mails/files (fuzz_mbox, fuzz_store)

LLM_ANSWERS = [
    b'{"about": "Adds pKVM support for [1] guest memory.", "before": "v2 was reviewed [2].",'
    b' "week": "Marc asked for a split of patch 3 [3]."}',
    b'```json\n{"about": "A fix for the vGIC ITS", "before": "none", "week": "Applied to next."}\n```',
    b'<think>the thread is about timers</think>{"about": "Timer <b>rework</b>",'
    b' "before": "see https://example.org/x", "week": "[link](javascript:alert(1)) and ![img](x.png)"}',
    b'Here is the summary: {"about": "a", "before": "b", "week": "c"} done',
    b'{"about": "", "before": "x", "week": "y"}',
    b'{"about": 3, "before": "x", "week": "y"}',
    b'{"about": "kvm_init() in <linux/kvm.h>", "before": "the .config", "week": "\\u202eevil \\u0000 nul"}',
    b'not json at all',
    b'{"about": "<script>x</script>text", "before": "[99] out of range [1]", "week": "www.example.org"}',
]

ESCAPES = [
    b'plain text', b'[text](https://evil.example/)', b'![img](http://x/y.png)', b'<a href="x">y</a>',
    b'*bold* _it_ `code` ~~del~~ | cell |', b'# heading', b'https://evil.example/x',
    b'www.example.org', b'victim@evil.example', b'line\nbreak\r\nand\ttab', b'\\[not a link\\]',
    b'&amp; &lt; &#39;', b'\xe2\x80\xa8sep\xc2\x85', b'trailing backslash \\',
]


def run_kvgen(tmp, name, *args):
    out = os.path.join(tmp, name)
    subprocess.run([sys.executable, KVGEN, '--quiet', '--out', out] + list(args), check=True)
    return out


def files_in(d):
    out = []
    for root, _, names in os.walk(d):
        for n in sorted(names):
            with open(os.path.join(root, n), 'rb') as f:
                out.append(f.read())
    return out


def write(outdir, target, items):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    for i, data in enumerate(items):
        with open(os.path.join(d, '%03d' % i), 'wb') as f:
            f.write(data)


def split_mail(raw):
    head, _, body = raw.partition(b'\n\n')
    subject = b''
    for line in head.split(b'\n'):
        if line.lower().startswith(b'subject:'):
            subject = line[8:].strip()
    return subject, body


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: seeds.py OUTDIR')
    outdir = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix='kv-seeds-') as tmp:
        good = files_in(run_kvgen(tmp, 'good', '--seed', '7', '--messages', '24', '--format', 'files'))
        bad = files_in(run_kvgen(tmp, 'bad', '--seed', '7', '--scenario', 'bad', '--format', 'files'))
        mbox = open(run_kvgen(tmp, 'm.mbox', '--seed', '8', '--messages', '4'), 'rb').read()
        mboxo = open(run_kvgen(tmp, 'o.mbox', '--seed', '9', '--messages', '3', '--format', 'mboxo'), 'rb').read()
    # keep seeds small: libFuzzer's default max_len follows the seeds
    bad = [b for b in bad if len(b) < 64 << 10]
    mails = good + bad
    write(outdir, 'fuzz_mime', mails)
    write(outdir, 'fuzz_body', [split_mail(m)[1] for m in mails])
    write(outdir, 'fuzz_subject', [s + b'\n' + b[:512] for s, b in map(split_mail, mails)])
    write(outdir, 'fuzz_mbox', [b'\x00' + mbox, b'\x01' + mboxo, b'\x00' + gzip.compress(mbox, mtime=0),
                                b'\x02' + SEP.join(good[:3]), b'\x03' + SEP.join(bad[:4])])
    write(outdir, 'fuzz_store', [SEP.join(mails[i:i + 3]) for i in range(0, len(mails), 3)])
    write(outdir, 'fuzz_llm_answer', [bytes([3]) + a for a in LLM_ANSWERS])
    write(outdir, 'fuzz_escape', ESCAPES + [split_mail(m)[0] for m in mails])


if __name__ == '__main__':
    main()
