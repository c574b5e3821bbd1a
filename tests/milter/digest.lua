-- digest.lua - the project's own digest mail (marker header) passes
-- unrecorded even though it carries the list's List-Id.
dofile(lib)
local conn = open_conn(sock)
envelope(conn, "QC0001")
header(conn, "From", " kvmarm-digest@example.org")
header(conn, "Subject", " KVM/arm64 weekly digest")
header(conn, "Message-ID", " <digest-1@example.org>")
header(conn, "List-Id", " <kvmarm.lists.linux.dev>")
header(conn, "X-Kvmarm-Digest", " 2021-W04")
eoh(conn, SMFIR_ACCEPT)
mt.disconnect(conn)
