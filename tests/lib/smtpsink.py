#!/usr/bin/python3
"""smtpsink.py - a small SMTP receiver for the tests: listens on
127.0.0.1:PORT, accepts every mail and writes each message to DIR exactly
as received after dot-unstuffing (CRLF line ends, as on the wire), one file
per message named NNNNNN.eml, written to DIR/.tmp first and renamed, so a
reader never sees half a file. Exits by itself after --timeout seconds.

  smtpsink.py --port PORT --dir DIR [--timeout 300] [--pidfile FILE]

Standard library only; one thread per connection.
"""
import argparse
import itertools
import os
import socket
import socketserver
import sys
import threading
import time

counter = itertools.count(1)
lock = threading.Lock()


class Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        try:
            self.session()
        except (ConnectionError, OSError):
            pass  # a client that goes away (port probes) is no news

    def session(self):
        self.reply("220 smtpsink.localdomain ESMTP test sink")
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            verb = line.strip().split(b" ", 1)[0].upper()
            if verb in (b"EHLO", b"LHLO"):
                self.wfile.write(b"250-smtpsink.localdomain\r\n250-8BITMIME\r\n"
                                 b"250-PIPELINING\r\n250 SIZE 0\r\n")
                self.wfile.flush()
            elif verb == b"HELO":
                self.reply("250 smtpsink.localdomain")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply("250 ok")
            elif verb == b"DATA":
                self.reply("354 go ahead")
                data = bytearray()
                while True:
                    l = self.rfile.readline()
                    if not l:
                        return
                    if l == b".\r\n" or l == b".\n":
                        break
                    if l.startswith(b"."):
                        l = l[1:]
                    data += l
                with lock:
                    n = next(counter)
                name = "%06d.eml" % n
                tmp = os.path.join(self.server.outdir, ".tmp", name)
                with open(tmp, "wb") as f:
                    f.write(data)
                os.rename(tmp, os.path.join(self.server.outdir, name))
                self.reply("250 ok queued as sink%06d" % n)
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.dir, ".tmp"), exist_ok=True)
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.outdir = a.dir
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    time.sleep(a.timeout)
    srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
