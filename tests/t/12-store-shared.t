#!/bin/sh
# 12-store-shared.t - one group shares the store (issue 11, "Shared store"):
# a store its user creates under umask 077 gets modes its group can query
# with (directory 02750, data files 0640, lock.mdb 0660: LMDB readers write
# their reader slot there); a member of the group, with no write permission
# on the data files, queries it with kvmarm-store while another process
# imports into it; a user outside the group is told "permission denied",
# naming the file, the store's group and `sudo -u`, instead of "no store
# here". The programs run as other users through setpriv (util-linux), so
# this needs root. Users: daemon owns the store (its group: users), nobody
# is the member (users as a supplementary group, as `usermod -aG` makes it)
# and the outsider.
. "${KV_SRC:-$(dirname "$0")/../..}/tests/lib/tap.sh"

KS="$KV_BUILD/kvmarm-store"
GEN="$PYTHON $KV_SRC/tests/gen/kvgen.py"
[ -x "$KS" ] || skip_all "kvmarm-store not built at $KS"
[ "$(id -u)" = 0 ] || skip_all "needs root (runs commands as other users)"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) missing"
getent passwd daemon >/dev/null && getent passwd nobody >/dev/null &&
	getent group users >/dev/null && getent group nogroup >/dev/null ||
	skip_all "users daemon, nobody or groups users, nogroup missing"

as_owner() { setpriv --reuid=daemon --regid=users --clear-groups "$@"; }
as_member() { setpriv --reuid=nobody --regid=nogroup --groups=users "$@"; }
as_other() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

chmod 0755 "$T"
mkdir "$T/share" && chown daemon:users "$T/share"
DB="$T/share/db"
$GEN --seed 3 --weeks 3 --start-date 2021-01-04 --format mboxrd --out "$T/a.mbox" --quiet &&
	$GEN --seed 4 --weeks 3 --start-date 2021-02-01 --format mboxrd --out "$T/b.mbox" --quiet
ok $? "generator wrote two mboxes"
chmod 0644 "$T/a.mbox" "$T/b.mbox"

# The writer: the store's user imports from a pipe that this script feeds,
# so it is still running (the store open for writing) while the member
# queries. Batches of 250 mails are committed before the input ends.
mkfifo "$T/feed"
(umask 077; exec setpriv --reuid=daemon --regid=users --clear-groups \
	"$KS" --db "$DB" import - <"$T/feed" >"$T/import.out" 2>&1) &
WPID=$!
track_pid $WPID
exec 3>"$T/feed"
cat "$T/a.mbox" >&3

# wait (bounded) until the member sees the first batch
i=0
while [ $i -lt 300 ]; do
	as_member "$KS" --db "$DB" threads --since 2021-01-01 --until 2021-02-01 >"$T/q.out" 2>"$T/q.err" && break
	sleep 0.1
	i=$((i + 1))
done
kill -0 $WPID 2>/dev/null
ok $? "the writer is still running (its input is open)"
[ -s "$T/q.out" ]
ok $? "a member of the store's group lists threads while the writer runs"
[ -s "$T/q.out" ] || diag "member: $(cat "$T/q.err")"

is "$(stat -c %a "$DB")" 2750 "store directory created 02750 under umask 077"
is "$(stat -c %a "$DB/data.mdb") $(stat -c %a "$DB/raw.dat") $(stat -c %a "$DB/rec.dat")" \
	"640 640 640" "data.mdb, raw.dat, rec.dat created 0640 under umask 077"
is "$(stat -c %a "$DB/lock.mdb")" 660 "lock.mdb created 0660 (readers write their slot)"
is "$(stat -c %U:%G "$DB/data.mdb")" daemon:users "files belong to the store's user and group"

# more queries by the member while more mail is written
fails=0
for k in 1 2 3 4 5; do
	[ $k = 2 ] && cat "$T/b.mbox" >&3
	as_member "$KS" --db "$DB" stats --since 2021-01-01 --until 2021-04-01 >"$T/q.out" 2>"$T/q.err" ||
		{ fails=$((fails + 1)); diag "member stats: $(cat "$T/q.err")"; }
	as_member "$KS" --db "$DB" msg 1 >"$T/q.out" 2>"$T/q.err" ||
		{ fails=$((fails + 1)); diag "member msg: $(cat "$T/q.err")"; }
done
is $fails 0 "ten queries by the member during the import all succeed"
exec 3>&-
wait $WPID
ok $? "the writer finishes cleanly"
N=$(grep -c '^From ' "$T/a.mbox" "$T/b.mbox" | awk -F: '{ n += $2 } END { print n }')
is "$(head -1 "$T/import.out")" "imported $N" "the writer stored all $N mails"
as_member "$KS" --db "$DB" search 'since:2021-01-01' >/dev/null 2>"$T/q.err"
ok $? "the member searches the finished store"
as_member "$KS" --db "$DB" check >"$T/q.out" 2>&1
ok $? "the member runs check: whole"

# the member cannot write
as_member "$KS" --db "$DB" import "$T/a.mbox" >"$T/q.out" 2>&1
[ $? -ne 0 ] && grep -q 'permission denied' "$T/q.out"
ok $? "a member's import is refused: permission denied"
grep -q "data.mdb: permission denied" "$T/q.out" || diag "got: $(cat "$T/q.out")"

# outside the group
as_other "$KS" --db "$DB" threads --since 2021-01-01 --until 2021-02-01 >"$T/q.out" 2>"$T/q.err"
is $? 3 "outsider: exit 3 (failure)"
grep -q "^kvmarm-store: $DB: permission denied" "$T/q.err" || grep -q "$DB.*: permission denied" "$T/q.err"
ok $? "outsider: permission denied, naming the store"
grep -q "group users" "$T/q.err" && grep -q "sudo -u daemon" "$T/q.err"
ok $? "outsider: told to use the store's group or sudo -u its user"
grep -q "no store here" "$T/q.err"
[ $? -ne 0 ]
ok $? "outsider: not told there is no store"
diag "outsider: $(cat "$T/q.err")"

# a directory others may enter (as a StateDirectory= may be): the first
# file closed to them is named; with data.mdb readable by all (a store made
# before these modes), it is the lock file, which readers must write
chmod 0755 "$DB"
as_other "$KS" --db "$DB" msg 1 >"$T/q.out" 2>"$T/q.err"
[ $? -ne 0 ] && grep -q "$DB/data.mdb: permission denied" "$T/q.err"
ok $? "outsider in an open directory: data.mdb named"
chmod 0644 "$DB/data.mdb"
as_other "$KS" --db "$DB" msg 1 >"$T/q.out" 2>"$T/q.err"
[ $? -ne 0 ] && grep -q "$DB/lock.mdb: permission denied" "$T/q.err"
ok $? "outsider, data.mdb readable by all: lock.mdb named"
diag "outsider: $(cat "$T/q.err")"
chmod 0640 "$DB/data.mdb"
chmod 2750 "$DB"

# a store made before these modes (lock.mdb 0644) is repaired by its
# user's next open, so the group can query it again
chmod 0644 "$DB/lock.mdb"
as_member "$KS" --db "$DB" msg 1 >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "lock.mdb 0644: the member cannot query"
as_owner "$KS" --db "$DB" msg 1 >/dev/null 2>&1
is "$(stat -c %a "$DB/lock.mdb")" 664 "the owner's next open gives the group read-write on lock.mdb"
as_member "$KS" --db "$DB" msg 1 >/dev/null 2>&1
ok $? "the member queries again"

done_testing
