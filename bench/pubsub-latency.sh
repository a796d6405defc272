#!/bin/bash
# make bench-pubsub: starts the real lighttpd with the project's config on a
# free port and a scratch data dir, runs bench/pubsub-latency.mjs, stops it.
source "$(dirname "$0")/../tests/lib/harness.sh"
export SSELIGHT_DATA_DIR=$(mktemp -d /tmp/sselight-b.XXXXXX)
server_start || exit 1
BASE_URL=$BASE_URL node "$ROOT/bench/pubsub-latency.mjs" "$@"
rc=$?
server_stop
rm -rf "$SSELIGHT_DATA_DIR"
exit $rc
