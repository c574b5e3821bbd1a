-- many.lua - n list mails (miltertest -D n=N -D size=BYTES -D tag=T) on
-- one connection, each with a body of about size bytes: enough traffic to
-- fill a small disk. Each must be answered with accept.
dofile(lib)
local conn = open_conn(sock)
local count = tonumber(n) or 20
local bytes = tonumber(size) or 100000
local line = string.rep("y", 70) .. "\r\n"
local chunk = string.rep(line, 512)
for i = 1, count do
	envelope(conn, string.format("QM%04d", i))
	header(conn, "From", " Many <many@example.org>")
	header(conn, "To", " kvmarm@lists.linux.dev")
	header(conn, "Subject", string.format(" [PATCH %d/%d] mail %s %d", i, count, tag or "m", i))
	header(conn, "Date", " Mon, 25 Jan 2021 10:46:42 +0000")
	header(conn, "Message-ID", string.format(" <many-%s-%d@example.org>", tag or "m", i))
	header(conn, "List-Id", " <kvmarm.lists.linux.dev>")
	eoh(conn, SMFIR_CONTINUE)
	local sent = 0
	body(conn, string.format("mail %d\r\n", i))
	while sent < bytes do
		body(conn, chunk)
		sent = sent + #chunk
	end
	eom(conn)
end
mt.disconnect(conn)
