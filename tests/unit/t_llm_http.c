/*
 * t_llm_http.c - http.c against real servers on 127.0.0.1: the Chat
 * Completions stand-in (tests/lib/llm_server.py) for POST status, body,
 * Retry-After (seconds and HTTP-date), timeouts, refused connections and
 * TLS verification (a self-signed certificate must be refused); and a small
 * SMTP receiver written here (it records the envelope, AUTH and the bytes
 * on the wire) for SMTP submission: CRLF line ends, dot-stuffing, AUTH,
 * STARTTLS required but not offered, SMTPS with an untrusted certificate.
 */
#include "tap.h"
#include "kv.h"
#include "http.h"

#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *python(void)
{
	const char *p = getenv("PYTHON");
	return p && *p ? p : "/usr/bin/python3";
}

static char *src_path(const char *rel)
{
	const char *s = getenv("KV_SRC");
	return kv_xasprintf("%s/%s", s && *s ? s : ".", rel);
}

#define MAX_PIDS 16
static pid_t pids[MAX_PIDS];
static int npids;
static char tmpdir[64];

static void cleanup(void)
{
	for (int i = 0; i < npids; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGTERM);
			waitpid(pids[i], NULL, 0);
		}
	if (tmpdir[0] && !getenv("KV_KEEP_TMP")) {
		char *cmd = kv_xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "# could not remove %s\n", tmpdir);
		free(cmd);
	}
}

static pid_t spawn(char *const argv[])
{
	pid_t p = fork();
	if (p == 0) {
		/* Die with the test even when it crashes before its atexit. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(argv[0], argv);
		_exit(127);
	}
	if (p > 0 && npids < MAX_PIDS)
		pids[npids++] = p;
	return p;
}

static int wait_port(const char *file)
{
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(file, "r");
		if (f) {
			int port = 0;
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
			if (port > 0)
				return port;
		}
		usleep(100000);
	}
	return -1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *slurp(const char *path)
{
	char *d = NULL;
	size_t l;
	if (kv_read_file(path, &d, &l, NULL) < 0)
		return NULL;
	return d;
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		kv_panic("cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

/* Start llm_server.py with a mode file; returns its port. */
static int start_llm(const char *name, const char *extra1, const char *extra2, const char *extra3, const char *extra4)
{
	char *script = src_path("tests/lib/llm_server.py");
	char *pf = kv_xasprintf("%s/%s.port", tmpdir, name);
	char *log = kv_xasprintf("%s/%s.log", tmpdir, name);
	char *mf = kv_xasprintf("%s/%s.mode", tmpdir, name);
	char *argv[] = { (char *)python(), script, "--port-file", pf, "--log", log, "--mode-file", mf,
			 "--timeout", "60", (char *)extra1, (char *)extra2, (char *)extra3, (char *)extra4, NULL };
	spawn(argv);
	int port = wait_port(pf);
	free(script);
	free(pf);
	free(log);
	free(mf);
	return port;
}

static void set_mode(const char *name, const char *mode)
{
	char *mf = kv_xasprintf("%s/%s.mode", tmpdir, name);
	put_file(mf, mode);
	free(mf);
}

/* The SMTP receiver: records "from", "rcpt", "auth" lines and the DATA bytes
 * as they came over the wire (still dot-stuffed, terminator excluded). */
static const char smtp_py[] =
	"import socketserver, sys, os, base64, ssl, threading\n"
	"port_file, outdir, mode = sys.argv[1], sys.argv[2], sys.argv[3]\n"
	"cert = sys.argv[4] if len(sys.argv) > 4 else None\n"
	"threading.Timer(60, lambda: os._exit(0)).start()\n"
	"class H(socketserver.StreamRequestHandler):\n"
	"    def handle(self):\n"
	"        rec = open(os.path.join(outdir, 'envelope'), 'a')\n"
	"        def w(s):\n"
	"            self.wfile.write((s + '\\r\\n').encode()); self.wfile.flush()\n"
	"        w('220 sink ESMTP')\n"
	"        while True:\n"
	"            line = self.rfile.readline()\n"
	"            if not line: return\n"
	"            cmd = line.decode('utf-8', 'replace').rstrip('\\r\\n'); u = cmd.upper()\n"
	"            if u.startswith('EHLO'):\n"
	"                w('250-sink'); w('250-AUTH PLAIN LOGIN'); w('250 8BITMIME')\n"
	"            elif u.startswith('HELO'): w('250 sink')\n"
	"            elif u.startswith('AUTH PLAIN'):\n"
	"                p = cmd.split(' ')\n"
	"                if len(p) < 3:\n"
	"                    w('334 '); p.append(self.rfile.readline().decode().strip())\n"
	"                rec.write('auth ' + base64.b64decode(p[2]).decode('utf-8', 'replace').replace('\\0', '|') + '\\n'); rec.flush()\n"
	"                w('235 ok')\n"
	"            elif u.startswith('MAIL FROM:'): rec.write('from ' + cmd[10:] + '\\n'); rec.flush(); w('250 ok')\n"
	"            elif u.startswith('RCPT TO:'): rec.write('rcpt ' + cmd[8:] + '\\n'); rec.flush(); w('250 ok')\n"
	"            elif u == 'DATA':\n"
	"                w('354 go'); data = b''\n"
	"                while True:\n"
	"                    l = self.rfile.readline()\n"
	"                    if not l or l == b'.\\r\\n': break\n"
	"                    data += l\n"
	"                open(os.path.join(outdir, 'data'), 'wb').write(data); w('250 queued')\n"
	"            elif u == 'QUIT': w('221 bye'); return\n"
	"            else: w('502 no')\n"
	"class S(socketserver.ThreadingTCPServer):\n"
	"    allow_reuse_address = True\n"
	"    daemon_threads = True\n"
	"srv = S(('127.0.0.1', 0), H)\n"
	"if mode == 'tls':\n"
	"    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, cert.replace('.crt', '.key'))\n"
	"    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)\n"
	"open(port_file + '.tmp', 'w').write('%d\\n' % srv.server_address[1]); os.rename(port_file + '.tmp', port_file)\n"
	"srv.serve_forever()\n";

static int start_smtp(const char *name, const char *mode, const char *cert)
{
	char *pf = kv_xasprintf("%s/%s.port", tmpdir, name);
	char *dir = kv_xasprintf("%s/%s", tmpdir, name);
	mkdir(dir, 0700);
	char *argv[] = { (char *)python(), "-c", (char *)smtp_py, pf, dir, (char *)mode, (char *)cert, NULL };
	spawn(argv);
	int port = wait_port(pf);
	free(pf);
	free(dir);
	return port;
}

static void test_post(void)
{
	int port = start_llm("h", NULL, NULL, NULL, NULL);
	ok(port > 0, "llm test server started");
	if (port <= 0)
		return;
	char *url = kv_xasprintf("http://127.0.0.1:%d/v1/chat/completions", port);
	const char *body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Subject: x\"}]}";
	struct http_response r;

	set_mode("h", "normal");
	ok(http_post_json(url, "sk-secret-1", body, strlen(body), 10, &r) == 0, "normal: a response arrived");
	is_int(r.status, 200, "normal: status 200");
	ok(r.body.len && strstr(r.body.buf, "\"choices\""), "normal: the body is a chat completion");
	is_int((long long)r.retry_after, -1, "normal: no Retry-After");
	http_response_release(&r);
	char *logp = kv_xasprintf("%s/h.log", tmpdir);
	char *log = slurp(logp);
	ok(log && strstr(log, "\"Authorization\": \"Bearer sk-secret-1\""), "the key went in the Authorization header");
	ok(log && strstr(log, "\"Content-Type\": \"application/json\""), "sent as application/json");
	free(log);

	set_mode("h", "429:3");
	ok(http_post_json(url, NULL, body, strlen(body), 10, &r) == 0, "429: a response arrived");
	is_int(r.status, 429, "429: status");
	ok(r.retry_after == 3.0, "429: Retry-After in seconds read (%.1f)", r.retry_after);
	http_response_release(&r);

	set_mode("h", "429date:5");
	ok(http_post_json(url, NULL, body, strlen(body), 10, &r) == 0, "429 with date: a response arrived");
	ok(r.retry_after >= 3.0 && r.retry_after <= 6.0, "429: Retry-After as HTTP-date read (%.1f s)", r.retry_after);
	http_response_release(&r);

	set_mode("h", "500");
	ok(http_post_json(url, NULL, body, strlen(body), 10, &r) == 0 && r.status == 500, "500: status reported");
	http_response_release(&r);

	set_mode("h", "hang");
	double t0 = now();
	ok(http_post_json(url, NULL, body, strlen(body), 1, &r) == -1, "hang: no response within the timeout");
	ok(r.timed_out == 1 && r.status == 0, "hang: reported as a timeout");
	ok(now() - t0 < 4.0, "hang: returned after about the timeout (%.1f s)", now() - t0);
	ok(r.error[0] != '\0', "hang: error message set (%s)", r.error);
	http_response_release(&r);

	/* Log must hold the key only in the header records, never in a body. */
	log = slurp(logp);
	int key_in_body = 0;
	for (char *line = log; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *b = strstr(line, "\"body\":");
		if (b && strstr(b, "sk-secret-1"))
			key_in_body = 1;
		line = nl ? nl + 1 : line + strlen(line);
	}
	ok(!key_in_body, "the key is never in a request body");
	free(log);
	free(logp);

	/* A port nobody listens on: refused, not a timeout. */
	char *dead = kv_xasprintf("http://127.0.0.1:%d/v1/chat/completions", 1);
	ok(http_post_json(dead, NULL, body, strlen(body), 5, &r) == -1 && !r.timed_out, "refused connection: -1, not a timeout");
	http_response_release(&r);
	free(dead);
	free(url);
}

static int make_cert(char **crt)
{
	char *key = kv_xasprintf("%s/self.key", tmpdir);
	*crt = kv_xasprintf("%s/self.crt", tmpdir);
	char *cmd = kv_xasprintf("openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' -days 1 "
				 "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1", key, *crt);
	int rc = system(cmd);
	free(cmd);
	free(key);
	return rc == 0 ? 0 : -1;
}

static void test_tls(void)
{
	char *crt, *key;
	if (make_cert(&crt) < 0) {
		ok(1, "# skip openssl not available: no TLS tests");
		free(crt);
		return;
	}
	key = kv_xasprintf("%s/self.key", tmpdir);
	int port = start_llm("tls", "--tls-cert", crt, "--tls-key", key);
	ok(port > 0, "https test server started");
	char *url = kv_xasprintf("https://127.0.0.1:%d/v1/chat/completions", port);
	struct http_response r;
	ok(http_post_json(url, "sk-tls", "{}", 2, 5, &r) == -1 && r.status == 0,
	   "https with a self-signed certificate is refused (%s)", r.error);
	http_response_release(&r);
	char *logp = kv_xasprintf("%s/tls.log", tmpdir);
	ok(access(logp, F_OK) != 0, "no request reached the untrusted server");
	free(logp);
	free(url);

	int sport = start_smtp("smtps", "tls", crt);
	ok(sport > 0, "smtps test server started");
	char *surl = kv_xasprintf("smtps://127.0.0.1:%d", sport);
	struct smtp_opts o = { surl, "u", "p", 0, 5 };
	const char *rc1[] = { "a@example.org" };
	struct kv_err err = { "" };
	ok(http_smtp_send(&o, "d@example.org", rc1, 1, "Subject: x\n\nhi\n", 15, &err) == -1,
	   "smtps with a self-signed certificate is refused (%s)", err.msg);
	char *dp = kv_xasprintf("%s/smtps/data", tmpdir);
	ok(access(dp, F_OK) != 0, "no message reached the untrusted server");
	free(dp);
	free(surl);
	free(crt);
	free(key);
}

static void test_smtp(void)
{
	int port = start_smtp("smtp", "plain", NULL);
	ok(port > 0, "smtp receiver started");
	if (port <= 0)
		return;
	char *url = kv_xasprintf("smtp://127.0.0.1:%d", port);
	const char *msg =
		"From: Digest <digest@example.org>\n"
		"To: list@example.org\n"
		"Subject: weekly\n"
		"\n"
		"line one\n"
		".leading dot\n"
		".\n"
		"already crlf\r\n"
		"last line without newline";
	const char *rcpts[] = { "a@example.org", "b@example.org" };
	struct smtp_opts o = { url, "digest-user", "pw-123", 0, 10 };
	struct kv_err err = { "" };
	ok(http_smtp_send(&o, "digest@example.org", rcpts, 2, msg, strlen(msg), &err) == 0, "smtp: sent (%s)", err.msg);

	char *ep = kv_xasprintf("%s/smtp/envelope", tmpdir), *dp = kv_xasprintf("%s/smtp/data", tmpdir);
	char *env = slurp(ep), *data = slurp(dp);
	ok(env && strstr(env, "from <digest@example.org>"), "smtp: MAIL FROM");
	ok(env && strstr(env, "rcpt <a@example.org>") && strstr(env, "rcpt <b@example.org>"), "smtp: both RCPT TO");
	ok(env && strstr(env, "auth |digest-user|pw-123"), "smtp: AUTH PLAIN with the configured user");
	ok(data != NULL, "smtp: DATA received");
	if (data) {
		int bare_lf = 0;
		for (size_t i = 0; data[i]; i++)
			if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
				bare_lf = 1;
		ok(!bare_lf, "smtp: every line ends in CRLF on the wire");
		ok(strstr(data, "\r\n..leading dot\r\n") != NULL, "smtp: a line starting with a dot is dot-stuffed");
		ok(strstr(data, "\r\n..\r\n") != NULL, "smtp: a lone dot line does not end the message");
		ok(strstr(data, "already crlf\r\nlast line without newline\r\n") != NULL,
		   "smtp: CRLF kept, not doubled; the last line is terminated");
		ok(strstr(data, "Subject: weekly\r\n\r\nline one\r\n") != NULL, "smtp: headers and body intact");
	}
	free(env);
	free(data);

	/* STARTTLS required but the server does not offer it: never send in clear. */
	unlink(dp);
	struct smtp_opts t = { url, NULL, NULL, 1, 10 };
	ok(http_smtp_send(&t, "digest@example.org", rcpts, 1, msg, strlen(msg), &err) == -1,
	   "smtp: starttls required and not offered fails (%s)", err.msg);
	ok(access(dp, F_OK) != 0, "smtp: nothing sent in clear");

	struct smtp_opts bad = { "http://127.0.0.1:1", NULL, NULL, 0, 5 };
	ok(http_smtp_send(&bad, "d@example.org", rcpts, 1, msg, strlen(msg), &err) == -1 && strstr(err.msg, "http://127.0.0.1:1"),
	   "smtp: a non-smtp url is refused, naming it");
	free(ep);
	free(dp);
	free(url);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kvllmh.XXXXXX");
	if (!mkdtemp(tmpdir))
		kv_panic("mkdtemp failed");
	atexit(cleanup);
	http_init();
	test_post();
	test_smtp();
	test_tls();
	return done_testing();
}
