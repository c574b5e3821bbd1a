/*
 * accept_milter.c - the benchmark floor: a libmilter filter that accepts
 * every mail and does nothing else. It registers the same steps and
 * negotiates the same protocol as kvmarm-milter (content only, no replies
 * for headers and body on a unix socket) but skips the recording, so
 * bench-milter.sh can tell what libmilter itself costs from what
 * recording costs.
 *
 *   accept_milter SOCKET [COUNTFILE]
 *       SOCKET     e.g. unix:/tmp/x.sock (removed first if stale)
 *       COUNTFILE  one line appended per mail at end-of-message, so a
 *                  test standing it in for OpenDKIM can tell it saw
 *                  every mail (O_APPEND: sessions on many threads)
 *
 * Stops on SIGTERM (libmilter's own handler).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

static int on_unix;
static int count_fd = -1;

static sfsistat am_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3, unsigned long *pf0,
			     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIP_HDR_LEADSPC;
	if (on_unix)
		want |= SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT |
			SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_NR_HDR | SMFIP_NR_BODY;
	*pf0 = 0;
	*pf1 = want & f1;
	*pf2 = 0;
	*pf3 = 0;
	smfi_setpriv(ctx, (void *)(*pf1));
	return SMFIS_CONTINUE;
}

static sfsistat am_header(SMFICTX *ctx, char *name, char *value)
{
	unsigned long pf = (unsigned long)smfi_getpriv(ctx);
	return (pf & SMFIP_NR_HDR) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat am_eoh(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat am_body(SMFICTX *ctx, unsigned char *b, size_t n)
{
	unsigned long pf = (unsigned long)smfi_getpriv(ctx);
	return (pf & SMFIP_NR_BODY) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat am_eom(SMFICTX *ctx)
{
	if (count_fd >= 0 && write(count_fd, "eom\n", 4) != 4)
		perror("accept_milter: count file");
	return SMFIS_ACCEPT;
}

static sfsistat am_close(SMFICTX *ctx)
{
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
	struct smfiDesc d;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: accept_milter SOCKET [COUNTFILE]\n");
		return 2;
	}
	if (argc == 3) {
		count_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (count_fd < 0) {
			perror(argv[2]);
			return 1;
		}
	}
	on_unix = strncmp(argv[1], "inet", 4) != 0;
	memset(&d, 0, sizeof d);
	d.xxfi_name = "accept_milter";
	d.xxfi_version = SMFI_VERSION;
	d.xxfi_flags = SMFIF_NONE;
	d.xxfi_header = am_header;
	d.xxfi_eoh = am_eoh;
	d.xxfi_body = am_body;
	d.xxfi_eom = am_eom;
	d.xxfi_close = am_close;
	d.xxfi_negotiate = am_negotiate;
	if (smfi_setconn(argv[1]) == MI_FAILURE || smfi_register(d) == MI_FAILURE) {
		fprintf(stderr, "accept_milter: cannot set up %s\n", argv[1]);
		return 1;
	}
	umask(0);  /* the postfix user must be able to connect */
	if (smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "accept_milter: cannot open %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
