#!/usr/bin/env bash
# When devwatch's agent cannot be put in place, the shell agent serves,
# with one line saying why: here /.devwatch is a read-only mount, as on a
# read-only root, so the copy is refused. A damaged copy already in the
# container (one that cannot start: "exec format error", as a binary of
# another architecture) is replaced and then serves. Both end by
# comparing the container's files with the local tree.
. "$(dirname "$0")/lib.sh"
dw_init noagent
mkdir -p "$T/p/src"
cd "$T/p"
mkdir -p "$T/p/ro"
printf 'FROM busybox:1.36\nCOPY src /data\nCMD ["sleep", "86400"]\n' >Dockerfile.blocked
printf 'FROM busybox:1.36\nRUN mkdir /.devwatch && echo not a program > /.devwatch/agent && chmod 755 /.devwatch/agent\nCOPY src /data\nCMD ["sleep", "86400"]\n' >Dockerfile.stale
echo base >src/base.txt
cat >devwatch.json <<JSON
{ "name": "$P", "containers": {
  "blocked": { "build": { "context": ".", "dockerfile": "Dockerfile.blocked" },
    "mounts": ["ro:/.devwatch:ro"],
    "live_update": [ { "sync": { "from": "src", "to": "/data" } } ] },
  "stale": { "build": { "context": ".", "dockerfile": "Dockerfile.stale" },
    "live_update": [ { "sync": { "from": "src", "to": "/data" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
mkdir -p src/a && echo one >src/a/one.txt && ln -s a/one.txt src/link
dw_converge 30 "$P-blocked-1" /data src
dw_converge 30 "$P-stale-1" /data src
rm -rf src/a && echo two >src/base.txt
dw_converge 30 "$P-blocked-1" /data src
dw_converge 30 "$P-stale-1" /data src
up_log_has "blocked.*devwatch's agent unavailable \(cannot copy it into the container: .*\); using the shell agent" ||
	fail "no reason given for the shell agent"
[ "$(grep -c "agent unavailable" "$T/up.log")" -eq 1 ] || fail "the reason was repeated, or the replaced agent fell back too"
docker exec "$P-stale-1" /.devwatch/agent </dev/null | head -c 1 | grep -q H || fail "the damaged copy is still there"
up_log_has "fast channel unavailable" && fail "the archive API was used"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
