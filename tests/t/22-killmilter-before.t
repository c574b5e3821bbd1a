#!/bin/sh
# 22-killmilter-before.t - 22-killmilter.t with journal_sync = before-answer:
# the same SIGKILL test for the milter that flushes before it answers.
KV_JOURNAL_SYNC=before-answer
export KV_JOURNAL_SYNC
exec sh "$(dirname "$0")/22-killmilter.t"
