-- size.lua - run against a filter with max_message_size = 4096: a list
-- mail over the limit passes unrecorded; a small one still records.
dofile(lib)
local conn = open_conn(sock)
envelope(conn, "QD0001")
header(conn, "From", " big@example.org")
header(conn, "Subject", " too big")
header(conn, "Message-ID", " <big-1@example.org>")
header(conn, "List-Id", " <kvmarm.lists.linux.dev>")
eoh(conn, SMFIR_CONTINUE)
local line = string.rep("x", 78) .. "\r\n"
local chunk = string.rep(line, 40)
-- without NR_BODY the filter may say "accept" as soon as it is over
local accepted = false
for i = 1, 3 do
	check(mt.bodystring(conn, chunk), "body")
	if not mt.test_option(conn, SMFIP_NR_BODY) then
		if mt.getreply(conn) == SMFIR_ACCEPT then
			accepted = true
			break
		end
	end
end
if not accepted then
	eom(conn)
end

envelope(conn, "QD0002")
header(conn, "From", " small@example.org")
header(conn, "Subject", " small")
header(conn, "Message-ID", " <small-1@example.org>")
header(conn, "List-Id", " <kvmarm.lists.linux.dev>")
eoh(conn, SMFIR_CONTINUE)
body(conn, "small\r\n")
eom(conn)
mt.disconnect(conn)
