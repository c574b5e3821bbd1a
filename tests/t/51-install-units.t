#!/bin/sh
# 51-install-units.t - what `make install` puts where, and the systemd
# units as shipped: programs, the three manual pages (truthful to --help),
# config, units with PREFIX in their paths; `systemd-analyze verify` of
# every unit; the milter's sandbox rated at most MEDIUM by `systemd-analyze
# security`; the milter in the foreground (Type=simple, -f, no PIDFile);
# one unit owning the state directory; every unit running as kvmarm;
# ordering against Debian 12's real MTA unit; the Debian conffile valid.
# Issue 11 items 4, 5, 6, 7 (ordering) and 10: each check failed on the
# old units and Makefile (Type=forking with a PIDFile nobody wrote,
# UNSAFE 9.6, StateDirectory= in both the milter and reporter units,
# Before=postfix.service only, no man pages, no config or units installed,
# /usr/local/bin hard-coded).
. "${KV_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/tap.sh"
for p in kvmarm-store kvmarm-milter kvmarm-reporter; do
	[ -x "$KV_BUILD/$p" ] || skip_all "$p not built"
done
BUILD_REL=$KV_BUILD
okr() { ok "$1" "$2"; return "$1"; }   # also returns the status, for "|| show why"

# --- make install into a PREFIX of its own (no DESTDIR: the units then name
# files that exist, so systemd-analyze verify can check their ExecStart).
P=$T/prefix
make -s -C "$KV_SRC" install BUILD="$BUILD_REL" PREFIX="$P" > "$T/install.log" 2>&1
okr $? "make install PREFIX=$P" || sed 's/^/#   /' "$T/install.log"
for f in bin/kvmarm-store bin/kvmarm-reporter sbin/kvmarm-milter lib/kvmarm-digest/kvmarm-store-import; do
	[ -x "$P/$f" ]; ok $? "installed $f"
done
for f in share/man/man1/kvmarm-store.1 share/man/man1/kvmarm-reporter.1 share/man/man8/kvmarm-milter.8 \
	 etc/kvmarm-digest/kvmarm-digest.conf share/doc/kvmarm-digest/postfix-main.cf.snippet \
	 lib/systemd/system/kvmarm-milter.service lib/systemd/system/kvmarm-reporter.service \
	 lib/systemd/system/kvmarm-reporter-once.service lib/systemd/system/kvmarm-reporter-once.timer; do
	[ -f "$P/$f" ]; ok $? "installed $f"
done
U=$P/lib/systemd/system
grep -h '^ExecStart=' "$U"/*.service > "$T/exec"
okr $(! grep -v "^ExecStart=$P/s*bin/kvmarm-[a-z]* .*--config $P/etc/kvmarm-digest/kvmarm-digest.conf" "$T/exec" > /dev/null; echo $?) \
	"every ExecStart names the PREFIX's program and config" || sed 's/^/#   /' "$T/exec"

# A config the admin changed survives a second install.
echo "# changed" >> "$P/etc/kvmarm-digest/kvmarm-digest.conf"
make -s -C "$KV_SRC" install BUILD="$BUILD_REL" PREFIX="$P" > "$T/install2.log" 2>&1
ok $? "make install again"
tail -1 "$P/etc/kvmarm-digest/kvmarm-digest.conf" | grep -q '^# changed$'
ok $? "an existing config is kept"

# Fails loudly; builds the programs only.
make -s -C "$KV_SRC" install BUILD="$BUILD_REL" DESTDIR=/dev/null/x > "$T/install3.log" 2>&1
ok $([ $? -ne 0 ]; echo $?) "make install into an unwritable DESTDIR fails"
make -n -C "$KV_SRC" install BUILD="$T/fresh" PREFIX="$P" > "$T/dry" 2>&1
ok $([ -s "$T/dry" ] && ! grep -q 'tests/' "$T/dry"; echo $?) "make install builds no tests"

# --- the units -----------------------------------------------------------------
if command -v systemd-analyze > /dev/null; then
	(cd "$U" && MANPATH="$P/share/man" systemd-analyze verify ./*.service ./*.timer) > "$T/verify" 2>&1
	okr $? "systemd-analyze verify passes for every installed unit" || sed 's/^/#   /' "$T/verify"
	for u in "$KV_SRC"/conf/*.service; do
		systemd-analyze security --offline=true "$u" > "$T/sec" 2>&1
		line=$(grep 'Overall exposure level' "$T/sec")
		diag "$(basename "$u"): ${line#*: }"
		echo "$line" | grep -q ': [0-9.]* \(PERFECT\|SAFE\|OK\|MEDIUM\) '
		ok $? "$(basename "$u"): systemd-analyze security rates it at most MEDIUM"
	done
else
	skip "systemd-analyze is not installed"
fi
M=$KV_SRC/conf/kvmarm-milter.service
key() { sed -n "s/^$2=//p" "$1"; }
is "$(key "$M" Type)" simple "milter: Type=simple"
key "$M" ExecStart | grep -q -- ' -f '
ok $? "milter: ExecStart runs it in the foreground (-f)"
is "$(key "$M" PIDFile)" "" "milter: no PIDFile"
for u in "$KV_SRC"/conf/*.service; do
	is "$(key "$u" User)" kvmarm "$(basename "$u"): User=kvmarm"
	is "$(key "$u" NoNewPrivileges)" yes "$(basename "$u"): NoNewPrivileges=yes"
done
is "$(grep -l '^StateDirectory=' "$KV_SRC"/conf/*.service | wc -l)" 1 \
	"one unit declares StateDirectory= (no unit re-owns the store)"
key "$M" Before | grep -q 'postfix@-\.service'
ok $? "milter: Before=postfix@-.service (Debian 12's MTA unit)"
key "$M" ReadWritePaths | grep -q '/var/spool/postfix/kvmarm'
ok $? "milter: may write its socket directory inside Postfix's chroot"
for u in kvmarm-reporter.service kvmarm-reporter-once.service; do
	key "$KV_SRC/conf/$u" After | grep -q 'postfix@-\.service'
	ok $? "$u: After=postfix@-.service"
done

# --- the Debian conffile: valid, and the values the units rely on -----------------
D=$KV_SRC/conf/debian/kvmarm-digest.conf
"$KV_BUILD/kvmarm-reporter" --config "$D" --db "$T/none" --once --no-send --output "$T/o" \
	> /dev/null 2> "$T/dconf.err"
okr $(! grep -q 'config' "$T/dconf.err"; echo $?) "conf/debian/kvmarm-digest.conf loads" ||
	sed 's/^/#   /' "$T/dconf.err"
for kv in "socket = unix:/var/spool/postfix/kvmarm/milter.sock" "socket_group = postfix" \
	  "socket_mode = 0660" "user = kvmarm" "transport = smtp" "smtp_url = smtp://127.0.0.1:25"; do
	grep -qx "$kv" "$D"; ok $? "Debian conffile: $kv"
done

# --- manual pages: render cleanly, name every option of --help ------------------
for m in store/cli/kvmarm-store.1 reporter/kvmarm-reporter.1 milter/kvmarm-milter.8; do
	out=$(groff -man -ww -z "$KV_SRC/$m" 2>&1)
	is "$out" "" "$m renders without groff warnings"
done
opts() { "$KV_BUILD/$1" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u |
	grep -v -x -- '--now\|--max-iterations\|--exit-after-catchup'; }
missing=
sed 's/\\-/-/g' "$KV_SRC/reporter/kvmarm-reporter.1" > "$T/reporter.1"
for o in $(opts kvmarm-reporter); do
	grep -q -- "$o" "$T/reporter.1" || missing="$missing $o"
done
is "$missing" "" "kvmarm-reporter(1) documents every option of --help"
missing=
for c in $("$KV_BUILD/kvmarm-store" --help 2>&1 | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && /^  [a-z]/ { print $1 }'); do
	grep -q "^\.B[R]* $c\b\|^\.BI $c\b" "$KV_SRC/store/cli/kvmarm-store.1" || missing="$missing $c"
done
is "$missing" "" "kvmarm-store(1) documents every command of --help"
for m in store/cli/kvmarm-store.1 reporter/kvmarm-reporter.1 milter/kvmarm-milter.8; do
	for ref in $(sed -n '/^\.SH SEE ALSO/,$p' "$KV_SRC/$m" | grep -o 'kvmarm-[a-z]* ([18])' | tr -d ' '); do
		sec=$(echo "$ref" | sed 's/.*(\(.\))/\1/'); name=${ref%(*}
		[ -f "$P/share/man/man$sec/$name.$sec" ] || missing="$missing $m:$ref"
	done
done
is "$missing" "" "every SEE ALSO page is installed"

done_testing
