#!/usr/bin/python3
"""llm_server.py - a stand-in for an OpenAI-compatible Chat Completions
service, for the LLM tests and the benchmark. A real HTTP server on
127.0.0.1 (never another address), bounded in time, that records every
request it gets (headers included) as one JSON line each, and answers in
the way the test asks for.

  llm_server.py --port-file F --pid-file F --log F [--timeout S]
                [--modes M1,M2,...] [--mode-file F] [--tls-cert C --tls-key K]

Modes (comma-separated: request k gets mode k, the last repeats;
--mode-file, when given and present, is re-read on every request, and
writing it again starts the count from request 1, so one server can serve
several phases of a test):
  normal        a well-formed summary {"about","before","week"} citing [1]
  429[:N]       status 429 with Retry-After: N (default 1)
  429date[:N]   status 429 with Retry-After as an HTTP-date N s ahead
  500           status 500
  slow[:N]      sleep N seconds (default 2), then answer normally
  gate[:N]      hold each request until N requests of this phase are in
                flight at once (default 2; at most 10 s, after which the
                gate stays open), then answer normally 0.3 s later; once open,
                later requests only take the 0.3 s. The recorded "inflight"
                then shows the client's concurrency peak however slow the
                machine: N is reached if the client allows it, and a client
                allowing more is seen above N
  hang          sleep until the client gives up (60 s)
  truncated     a JSON answer cut in the middle
  refusal       the model says "I can't help with that." (not JSON)
  think         a reasoning model's answer: <think>...</think>, then the
                summary inside a ```json code fence
  links         a summary whose text carries http links, markdown links,
                <script> and an out-of-range citation
  reflect       a summary that repeats the last mail's text (what a model
                fooled by a hostile mail would write)
  huge          a well-formed summary of about 100 KB (over the answer cap)
  longfield     a summary whose "week" is 5000 bytes (over the field cap)
  errtext       status 400 whose error message is hostile text with a link
                and the marker SERVER_SECRET_TEXT
  401           status 401 (the key is refused)
  kernel        a summary in kernel words: kvm_init(), <linux/kvm.h>,
                "the .config", regs[5], plus bidi override characters and
                a NUL that must not survive

The normal answer is a function of the request's user message only (its
SHA-256 is quoted in the text), so two runs that send the same content get
the same summary.
"""
import argparse
import email.utils
import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
# Notified whenever a request comes in (gate mode waits on it).
ARRIVED = threading.Condition(LOCK)
STATE = {"seq": 0, "gen": None, "gen_seq": 0, "by_gen": {}, "gate_open": set()}
GATE_WAIT = 10.0
GATE_HOLD = 0.3


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--pid-file")
    p.add_argument("--log", required=True)
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--modes", default="normal")
    p.add_argument("--mode-file")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    return p.parse_args()


ARGS = None


def current_modes():
    """The mode list and its generation: a new generation (the mode file
    written again) starts the request sequence from 1."""
    spec, gen = ARGS.modes, None
    if ARGS.mode_file:
        try:
            st = os.stat(ARGS.mode_file)
            with open(ARGS.mode_file) as f:
                spec = f.read().strip() or spec
            gen = (st.st_mtime_ns, st.st_ino, spec)
        except OSError:
            pass
    return [m.strip() for m in spec.split(",") if m.strip()] or ["normal"], gen


def user_text(req):
    try:
        msgs = req.get("messages") or []
        return "\n".join(m.get("content", "") for m in msgs if m.get("role") == "user")
    except AttributeError:
        return ""


def summary_for(req):
    text = user_text(req)
    h = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
    m = re.search(r"^(?:Thread subject|Subject): (.*)$", text, re.M)
    subj = m.group(1).strip() if m else "a thread"
    return {
        "about": "The thread %s proposes a change (content %s)." % (subj[:80], h),
        "before": "Earlier weeks: nothing new.",
        "week": "The author posted the series and a reviewer answered [1].",
    }


def links_summary():
    return {
        "about": "See http://evil.example/x and [click](https://evil.example/y) for details.",
        "before": "<script>alert(1)</script>Earlier: www.evil.example was discussed.",
        "week": "A reviewer replied [1]; see also [9] and <a href=\"https://evil.example\">this</a>.",
    }


def kernel_summary():
    return {
        "about": "Fixes kvm_init() in <linux/kvm.h>; see the .config and regs[5].",
        "before": "Earlier:\u202e reversed\u2066 isolated\u2069 text\u0000 end.",
        "week": "A reviewer replied [1] about <asm/kvm_host.h>.",
    }


def reflect_summary(req):
    text = user_text(req)
    fences = re.findall(r"<<<MAIL (\d+)\n(.*?)\nMAIL \1>>>", text, re.S)
    last = fences[-1][1] if fences else text
    return {
        "about": "Reflected: " + last[:300],
        "before": "Nothing earlier.",
        "week": last[:600] or "empty",
    }


def completion(content, model):
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model or "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counted = None  # the phase this request counts in while in flight

    def log_message(self, fmt, *args):
        pass

    def leave(self):
        """The request stops counting as in flight. Called before the
        answer is written: once the client has its answer it may send its
        next request at once, and that one must not see this one still
        counted (under load this thread can lose the CPU between the write
        and the count going down, and the server saw one over the limit)."""
        with LOCK:
            if self.counted is not None:
                STATE["by_gen"][self.counted] -= 1
                self.counted = None

    def send(self, status, body, ctype="application/json", extra=None):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.leave()
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        modes, gen = current_modes()
        with LOCK:
            if gen != STATE.get("gen"):
                STATE["gen"] = gen
                STATE["gen_seq"] = 0
            STATE["seq"] += 1
            STATE["gen_seq"] += 1
            seq = STATE["seq"]
            gseq = STATE["gen_seq"]
            # Counted per generation: a request left hanging by an earlier
            # phase must not count against this phase's concurrency.
            byg = STATE.setdefault("by_gen", {})
            byg[gen] = byg.get(gen, 0) + 1
            inflight = byg[gen]
            self.counted = gen
            ARRIVED.notify_all()
        try:
            self.handle_post(seq, gseq, modes, inflight, raw, gen)
        finally:
            self.leave()

    def gate(self, gen, need):
        """Wait until `need` requests of phase `gen` are in flight at once
        (or GATE_WAIT passed), then GATE_HOLD more so that a request over
        the client's limit would arrive while these are still open."""
        end = time.time() + GATE_WAIT
        with ARRIVED:
            opened = STATE["gate_open"]
            while gen not in opened:
                left = end - time.time()
                if STATE["by_gen"].get(gen, 0) >= need or left <= 0:
                    opened.add(gen)
                    ARRIVED.notify_all()
                    break
                ARRIVED.wait(left)
        time.sleep(GATE_HOLD)

    def handle_post(self, seq, gseq, modes, inflight, raw, gen):
        mode = modes[min(gseq, len(modes)) - 1]
        name, _, arg = mode.partition(":")
        try:
            req = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            req = None
        rec = {
            "seq": seq, "t": time.time(), "path": self.path, "mode": mode,
            "inflight": inflight, "headers": dict(self.headers.items()),
            "body": req if req is not None else raw.decode("utf-8", "replace"),
            "body_valid_json": req is not None,
        }
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if not self.path.endswith("/chat/completions"):
            self.send(404, '{"error":{"message":"not found"}}')
            return
        if req is None:
            self.send(400, '{"error":{"message":"body is not JSON"}}')
            return
        model = req.get("model")
        if name == "429":
            self.send(429, '{"error":{"message":"rate limited"}}',
                      extra={"Retry-After": arg or "1"})
        elif name == "429date":
            when = time.time() + float(arg or "2")
            self.send(429, '{"error":{"message":"rate limited"}}',
                      extra={"Retry-After": email.utils.formatdate(when, usegmt=True)})
        elif name == "500":
            self.send(500, '{"error":{"message":"internal error"}}')
        elif name == "hang":
            time.sleep(60)
        elif name == "truncated":
            full = json.dumps(completion(json.dumps(summary_for(req)), model))
            self.send(200, full[: len(full) // 2])
        elif name == "think":
            content = ("<think>The user wants {a summary}; mails say {x}.</think>\n```json\n"
                       + json.dumps(summary_for(req)) + "\n```")
            self.send(200, json.dumps(completion(content, model)))
        elif name == "refusal":
            self.send(200, json.dumps(completion("I can't help with that.", model)))
        elif name == "links":
            self.send(200, json.dumps(completion(json.dumps(links_summary()), model)))
        elif name == "huge":
            big = dict(summary_for(req))
            big["week"] = "A reviewer answered [1]. " * 4200
            self.send(200, json.dumps(completion(json.dumps(big), model)))
        elif name == "longfield":
            big = dict(summary_for(req))
            big["week"] = "A reviewer answered [1]. " * 200
            self.send(200, json.dumps(completion(json.dumps(big), model)))
        elif name == "errtext":
            self.send(400, json.dumps({"error": {"message": "<a href=\"https://evil.example/e\">click</a> "
                                                            "SERVER_SECRET_TEXT"}}))
        elif name == "401":
            self.send(401, '{"error":{"message":"invalid key SERVER_SECRET_TEXT"}}')
        elif name == "kernel":
            self.send(200, json.dumps(completion(json.dumps(kernel_summary()), model)))
        elif name == "reflect":
            self.send(200, json.dumps(completion(json.dumps(reflect_summary(req)), model)))
        else:
            if name == "slow":
                time.sleep(float(arg or "2"))
            elif name == "gate":
                self.gate(gen, int(arg or "2"))
            self.send(200, json.dumps(completion(json.dumps(summary_for(req), ensure_ascii=False), model)))


def main():
    global ARGS
    ARGS = parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    if ARGS.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if ARGS.pid_file:
        with open(ARGS.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, ARGS.port_file)
    # Bounded in time: a test that forgets us does not leave us running.
    t = threading.Timer(ARGS.timeout, lambda: os._exit(0))
    t.daemon = True
    t.start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
