-- common.lua - helpers shared by the miltertest scripts (loaded with
-- dofile(lib)). Every step first asks whether the filter negotiated it
-- away (mt.test_option): calling a skipped step is an error in miltertest.

function check(err, what)
	if err ~= nil then
		error(what .. ": " .. err)
	end
end

function expect_reply(conn, want, what)
	local got = mt.getreply(conn)
	if got ~= want then
		error(what .. ": unexpected reply " .. tostring(got) .. ", want " .. tostring(want))
	end
end

function open_conn(sock)
	local conn = mt.connect(sock, 100, 0.05)
	if conn == nil then
		error("cannot connect to " .. sock)
	end
	if mt.test_action(conn, SMFIF_ADDHDRS) or mt.test_action(conn, SMFIF_CHGBODY)
	   or mt.test_action(conn, SMFIF_CHGHDRS) or mt.test_action(conn, SMFIF_ADDRCPT)
	   or mt.test_action(conn, SMFIF_DELRCPT) or mt.test_action(conn, SMFIF_QUARANTINE) then
		error("the filter asked for a modification action")
	end
	if not mt.test_option(conn, SMFIP_NOCONNECT) then
		check(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo")
	end
	if not mt.test_option(conn, SMFIP_NOHELO) then
		check(mt.helo(conn, "client.example.org"), "helo")
	end
	return conn
end

-- Start a message: envelope steps only when the filter wants them.
function envelope(conn, qid)
	mt.macro(conn, SMFIC_MAIL, "i", qid)
	if not mt.test_option(conn, SMFIP_NOMAIL) then
		check(mt.mailfrom(conn, "<sender@example.org>"), "mailfrom")
	end
	if not mt.test_option(conn, SMFIP_NORCPT) then
		check(mt.rcptto(conn, "<kvmarm@lists.linux.dev>"), "rcptto")
	end
end

-- Send one header. value is what follows the colon, leading space
-- included, as in the message. miltertest itself puts one space in front
-- of the value when HDR_LEADSPC was negotiated (as Sendmail does), and
-- without it the filter adds the customary one: either way we drop ours.
function header(conn, name, value)
	value = string.gsub(value, "^ ", "")
	check(mt.header(conn, name, value), "header " .. name)
	if not mt.test_option(conn, SMFIP_NR_HDR) then
		expect_reply(conn, SMFIR_CONTINUE, "header " .. name)
	end
end

function eoh(conn, want)
	check(mt.eoh(conn), "eoh")
	expect_reply(conn, want, "eoh")
end

function body(conn, s)
	check(mt.bodystring(conn, s), "body")
	if not mt.test_option(conn, SMFIP_NR_BODY) then
		expect_reply(conn, SMFIR_CONTINUE, "body")
	end
end

function eom(conn, want)
	check(mt.eom(conn), "eom")
	expect_reply(conn, want or SMFIR_ACCEPT, "eom")
end
