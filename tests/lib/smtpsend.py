#!/usr/bin/env python3
"""smtpsend.py - send every file of a directory (one mail each, sorted by
name) to an SMTP server on 127.0.0.1, over several connections at once and
several mails per connection, as a list server delivering to an MX does.
Line ends go out as CRLF whatever the files hold. Prints the first refusals
("# send error: FILE: REASON") and exits 1 if any mail was refused.

  smtpsend.py --port P --dir D [--from ADDR] [--to ADDR]
              [--connections N] [--per-connection K]
"""
import argparse
import os
import smtplib
import sys
import threading


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--from", dest="sender", default="sender@example.org")
    ap.add_argument("--to", default="kvmarm@lists.linux.dev")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--per-connection", type=int, default=0,
                    help="open a new connection after this many mails (0: never)")
    a = ap.parse_args()

    files = sorted(os.listdir(a.dir))
    errors = []

    def worker(chunk):
        s = None
        for i, f in enumerate(chunk):
            try:
                if s is not None and a.per_connection and i % a.per_connection == 0:
                    s.quit()
                    s = None
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", a.port, timeout=60)
                with open(os.path.join(a.dir, f), "rb") as fh:
                    raw = fh.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                s.sendmail(a.sender, [a.to], raw)
            except (smtplib.SMTPException, OSError) as e:
                # a refusal, or a connection lost or never made: this
                # mail counts as not sent; the next one reconnects
                errors.append("%s: %s" % (f, e))
                if isinstance(e, (smtplib.SMTPServerDisconnected, OSError)):
                    s = None
        if s is not None:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass

    n = max(1, a.connections)
    ts = [threading.Thread(target=worker, args=(files[k::n],)) for k in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for e in errors[:10]:
        print("# send error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
