-- record.lua - list mails on one connection are recorded exactly: headers
-- in order (folded values kept), blank line, body with CRLF made LF (a CR
-- at the end of one body chunk and its LF in the next included); a
-- non-list mail in between passes at end-of-header.
dofile(lib)
local conn = open_conn(sock)

-- 1: linux.dev list mail, folded Subject, body in three chunks
envelope(conn, "QA0001")
header(conn, "From", " Marc Zyngier <maz@kernel.org>")
header(conn, "To", " kvmarm@lists.linux.dev")
header(conn, "Subject", " [PATCH v2 1/3] KVM: arm64: fold\r\n\ta long subject")
header(conn, "Date", " Mon, 25 Jan 2021 10:46:42 +0000")
header(conn, "Message-ID", " <rec-1@kernel.org>")
header(conn, "List-Id", " <kvmarm.lists.linux.dev>")
eoh(conn, SMFIR_CONTINUE)
body(conn, "First line.\r\nSecond line ends in CR\r")
body(conn, "\nThird line, bare\rCR kept.\r\n")
body(conn, "-- \r\nsig\r\n")
eom(conn)

-- 2: the old list, List-Id in upper case with a description
envelope(conn, "QA0002")
header(conn, "From", " Will Deacon <will@kernel.org>")
header(conn, "Subject", " Re: [PATCH v2 1/3] KVM: arm64: fold a long subject")
header(conn, "Date", " Mon, 25 Jan 2021 11:00:00 +0000")
header(conn, "Message-ID", " <rec-2@kernel.org>")
header(conn, "In-Reply-To", " <rec-1@kernel.org>")
header(conn, "List-Id", " KVM/arm64 list <KVMARM.lists.CS.columbia.edu>")
eoh(conn, SMFIR_CONTINUE)
body(conn, "Looks good.\r\n")
eom(conn)

-- 3: not list mail: accepted at end-of-header, body never sent
envelope(conn, "QA0003")
header(conn, "From", " someone@example.org")
header(conn, "Subject", " lunch?")
header(conn, "Message-ID", " <nonlist-1@example.org>")
header(conn, "List-Id", " <other.lists.linux.dev>")
eoh(conn, SMFIR_ACCEPT)

-- 4: list mail again after the skipped one
envelope(conn, "QA0004")
header(conn, "From", " Oliver Upton <oliver@example.org>")
header(conn, "Subject", " [PATCH] KVM: arm64: third")
header(conn, "Date", " Tue, 26 Jan 2021 09:00:00 -0800")
header(conn, "Message-ID", " <rec-3@example.org>")
header(conn, "List-Id", " <kvmarm.lists.linux.dev>")
eoh(conn, SMFIR_CONTINUE)
body(conn, "Body.\r\n")
eom(conn)

mt.disconnect(conn)
