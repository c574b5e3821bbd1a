# tests/lib/postfix.sh - a private Postfix instance for tests, the demo and
# the benchmarks: its own config, queue and log in one directory, listening
# on 127.0.0.1 only, started and stopped as root. Source it after tap.sh
# (or on its own: it needs only sh and the postfix package).
#
#   pf_setup DIR SMTPD_PORT MODE [MILTER]
#       Write DIR/etc/main.cf and master.cf and create the queue.
#       MODE  relay:PORT    relay every mail to 127.0.0.1:PORT (e.g. smtpsink.py)
#             maildir:PATH  deliver every mail, any recipient, into the one
#                           maildir PATH (made here; owned by nobody)
#       MILTER  optional milter socket, e.g. unix:/tmp/x/milter.sock or
#               inet:127.0.0.1:PORT (Postfix syntax), set as smtpd_milters
#               and non_smtpd_milters with milter_default_action = accept.
#       Extra main.cf lines: set PF_EXTRA (newline-separated) before pf_setup.
#   pf_start DIR       start it (prints the reason and returns 1 on failure)
#   pf_stop DIR        stop it and wait (up to 10 s) until the master is gone
#   pf_log DIR         print its log (DIR/maillog)
#   pf_wait_queue DIR [TENTHS]   wait until its queue is empty (default 300 = 30 s)
#   pf_sendmail DIR ARGS...      Postfix's sendmail command for this instance
#
# Typical use in a test:
#   pf_setup "$T/pf" "$port" "relay:$sinkport" "unix:$T/milter.sock"
#   pf_start "$T/pf" || exit 1; on_exit "pf_stop $T/pf"

pf_setup() {
	_pf_dir=$1 _pf_port=$2 _pf_mode=$3 _pf_milter=${4:-}
	mkdir -p "$_pf_dir/etc" "$_pf_dir/spool" "$_pf_dir/data"
	# The postfix user must reach its directories (mktemp -d makes 0700).
	chmod 755 "$_pf_dir" "$(dirname "$_pf_dir")"
	chown postfix "$_pf_dir/data"
	: > "$_pf_dir/maillog"
	chmod 644 "$_pf_dir/maillog"
	{
		cat <<EOF
# private test instance (tests/lib/postfix.sh)
compatibility_level = 3.6
queue_directory = $_pf_dir/spool
data_directory = $_pf_dir/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = pf-test.localdomain
mydomain = localdomain
myorigin = localdomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
maillog_file = $_pf_dir/maillog
maillog_file_prefixes = $_pf_dir, /var
message_size_limit = 0
mailbox_size_limit = 0
virtual_mailbox_limit = 0
# hand mail over at once: tests and benchmarks want no batching delays
in_flow_delay = 0
EOF
		case $_pf_mode in
		relay:*)
			echo "relayhost = [127.0.0.1]:${_pf_mode#relay:}"
			;;
		maildir:*)
			_pf_md=${_pf_mode#maildir:}
			mkdir -p "$_pf_md/new" "$_pf_md/cur" "$_pf_md/tmp"
			chown -R nobody:nogroup "$_pf_md"
			cat <<EOF
virtual_mailbox_domains = static:all
virtual_mailbox_base = $(dirname "$_pf_md")
virtual_mailbox_maps = static:$(basename "$_pf_md")/
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(getent group nogroup | cut -d: -f3)
virtual_minimum_uid = 1
EOF
			;;
		*)
			echo "pf_setup: MODE must be relay:PORT or maildir:PATH, not $_pf_mode" >&2
			return 2
			;;
		esac
		if [ -n "$_pf_milter" ]; then
			cat <<EOF
smtpd_milters = $_pf_milter
non_smtpd_milters = $_pf_milter
milter_protocol = 6
milter_default_action = accept
milter_connect_timeout = 10s
milter_command_timeout = 30s
milter_content_timeout = 60s
EOF
		fi
		[ -z "${PF_EXTRA:-}" ] || printf '%s\n' "$PF_EXTRA"
	} > "$_pf_dir/etc/main.cf"
	cat > "$_pf_dir/etc/master.cf" <<EOF
127.0.0.1:$_pf_port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	postfix -c "$_pf_dir/etc" check >/dev/null 2>&1 || {
		echo "pf_setup: postfix check failed:" >&2
		postfix -c "$_pf_dir/etc" check >&2
		return 1
	}
}

pf_start() {
	# A failed start explains itself only in syslog (absent here): capture
	# the terminal output instead.
	if ! script -eqc "postfix -c '$1/etc' start" /dev/null > "$1/start.out" 2>&1; then
		echo "pf_start: postfix did not start:" >&2
		cat "$1/start.out" >&2
		return 1
	fi
	_pf_i=0
	while [ ! -s "$1/spool/pid/master.pid" ] && [ $_pf_i -lt 50 ]; do
		sleep 0.1; _pf_i=$((_pf_i + 1))
	done
	sleep 0.2
	_pf_pid=$(tr -d ' \n' < "$1/spool/pid/master.pid" 2>/dev/null)
	if [ -z "$_pf_pid" ] || ! kill -0 "$_pf_pid" 2>/dev/null; then
		echo "pf_start: postfix master is not running:" >&2
		tail -5 "$1/maillog" >&2
		return 1
	fi
}

pf_stop() {
	[ -d "$1/etc" ] || return 0
	_pf_pid=$(tr -d ' \n' < "$1/spool/pid/master.pid" 2>/dev/null)
	postfix -c "$1/etc" stop >/dev/null 2>&1 || true
	[ -n "$_pf_pid" ] || return 0
	_pf_i=0
	while kill -0 "$_pf_pid" 2>/dev/null && [ $_pf_i -lt 100 ]; do
		sleep 0.1; _pf_i=$((_pf_i + 1))
	done
	kill -KILL "$_pf_pid" 2>/dev/null || true
	return 0
}

pf_log() { cat "$1/maillog" 2>/dev/null; }

pf_wait_queue() {
	_pf_i=0
	while [ $_pf_i -lt "${2:-300}" ]; do
		_pf_n=$(find "$1/spool/maildrop" "$1/spool/incoming" "$1/spool/active" \
			"$1/spool/deferred" -type f 2>/dev/null | wc -l)
		[ "$_pf_n" -eq 0 ] && return 0
		sleep 0.1; _pf_i=$((_pf_i + 1))
	done
	return 1
}

pf_sendmail() {
	_pf_dir=$1; shift
	MAIL_CONFIG="$_pf_dir/etc" /usr/sbin/sendmail -C "$_pf_dir/etc" "$@"
}
