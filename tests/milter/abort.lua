-- abort.lua - a message aborted midway is not recorded, and the next one
-- on the same connection is recorded whole (no leftovers of the first);
-- a connection that drops mid-message records nothing.
dofile(lib)
local conn = open_conn(sock)

envelope(conn, "QB0001")
header(conn, "From", " a@example.org")
header(conn, "Subject", " aborted")
header(conn, "Message-ID", " <aborted-1@example.org>")
header(conn, "List-Id", " <kvmarm.lists.linux.dev>")
eoh(conn, SMFIR_CONTINUE)
body(conn, "half a body\r\n")
check(mt.abort(conn), "abort")

envelope(conn, "QB0002")
header(conn, "From", " b@example.org")
header(conn, "Subject", " after abort")
header(conn, "Message-ID", " <after-abort@example.org>")
header(conn, "List-Id", " <kvmarm.lists.linux.dev>")
eoh(conn, SMFIR_CONTINUE)
body(conn, "whole\r\n")
eom(conn)

-- aborted right after some headers
envelope(conn, "QB0003")
header(conn, "From", " c@example.org")
header(conn, "Message-ID", " <aborted-2@example.org>")
check(mt.abort(conn), "abort after headers")
mt.disconnect(conn)

-- a connection that goes away mid-body
local c2 = open_conn(sock)
envelope(c2, "QB0004")
header(c2, "From", " d@example.org")
header(c2, "Message-ID", " <dropped@example.org>")
header(c2, "List-Id", " <kvmarm.lists.linux.dev>")
eoh(c2, SMFIR_CONTINUE)
body(c2, "part\r\n")
mt.disconnect(c2, false)
