#!/usr/bin/python3
"""lore_server.py - a small stand-in for a public-inbox archive, for the
reporter's backfill test. A real HTTP server on 127.0.0.1 (never another
address), on a port the kernel picks, that stops by itself after
--timeout seconds.

  lore_server.py --dir D --list LIST --port-file F --pid-file F --log F [--timeout S]

GET /LIST/MSGID/raw (MSGID percent-encoded, as public-inbox writes it)
answers the bytes of the file D/QUOTED.eml, where QUOTED is the Message-ID
percent-encoded with no safe characters (urllib.parse.quote(mid, safe="")),
as text/plain; a file D/QUOTED.redirect holds a path to answer with a 302
to instead. Anything else is a 404. Every request is logged as one line,
"METHOD PATH STATUS", so a test can count and check what was asked for.
"""
import argparse
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--list", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--pid-file")
    p.add_argument("--log", required=True)
    p.add_argument("--timeout", type=float, default=120)
    return p.parse_args()


ARGS = parse_args()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, status):
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write("%s %s %d\n" % (self.command, self.path, status))

    def answer(self, status, body=b"", headers=()):
        self.record(status)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        parts = self.path.split("?", 1)[0].split("/")
        # "", LIST, MSGID, "raw"
        if len(parts) != 4 or parts[1] != ARGS.list or parts[3] != "raw" or not parts[2]:
            return self.answer(404, b"not found\n", [("Content-Type", "text/plain")])
        mid = urllib.parse.unquote(parts[2])
        base = os.path.join(ARGS.dir, urllib.parse.quote(mid, safe=""))
        if os.path.exists(base + ".redirect"):
            with open(base + ".redirect") as f:
                return self.answer(302, b"", [("Location", f.read().strip())])
        if not os.path.exists(base + ".eml"):
            return self.answer(404, b"not found\n", [("Content-Type", "text/plain")])
        with open(base + ".eml", "rb") as f:
            data = f.read()
        self.answer(200, data, [("Content-Type", "text/plain; charset=utf-8")])


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if ARGS.pid_file:
        with open(ARGS.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, ARGS.port_file)
    # bounded in time: the test kills it by PID, this is the backstop
    threading.Timer(ARGS.timeout, srv.shutdown).start()
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
