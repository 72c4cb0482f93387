#!/usr/bin/env bash
# up --swarm on a real 3-node swarm (swarmlib.sh: docker-in-docker nodes
# on the shared engine, a registry on node 1). A 3-replica service gets
# one task per node, its image pushed to publish.registry; each of its
# tasks reaches a second service by name and alias; a save reaches
# every task's container through that task's own node engine (named in
# swarm.nodes, or at the manager's Status.Addr; compared
# file by file); a task killed on its node is rescheduled by the swarm and
# caught up with what changed while it was gone; a Dockerfile change
# rebuilds, pushes and rolls the service to new tasks, each caught up;
# Ctrl-C removes the service and its network, and `down` removes the
# services a --keep session left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/swarmlib.sh"
dw_init swarm
# Refused before anything starts: an engine that is no swarm manager (the
# shared one), and a project without publish.registry.
mkdir -p "$T/bad"
printf '{ "name": "%s", "publish": { "registry": "127.0.0.1:1/x" },\n  "containers": { "a": { "image": "busybox:1.36" } } }\n' \
	"$P" >"$T/bad/devwatch.json"
rc=0
"$DEVWATCH" up --swarm -f "$T/bad/devwatch.json" >"$T/bad.log" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "up --swarm on a plain engine exited $rc, expected 2"
grep -q "is not a swarm manager (GET /nodes answered 503: .*); point DOCKER_HOST at a manager" "$T/bad.log" ||
	fail "no clear error on a plain engine: $(cat "$T/bad.log")"
printf '{ "name": "%s", "containers": { "a": { "image": "busybox:1.36" } } }\n' "$P" >"$T/bad/devwatch.json"
rc=0
"$DEVWATCH" up --swarm -f "$T/bad/devwatch.json" >"$T/bad.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "has no publish.registry, which every swarm node pulls from" "$T/bad.log" ||
	fail "no clear error without publish.registry (exit $rc): $(cat "$T/bad.log")"

swarm_trap
swarm_up 3 || fail "the test swarm did not come up"
export DOCKER_HOST=$SWARM_MANAGER

mkdir -p "$T/p/site/sub"
cd "$T/p"
echo "v1 $P" >site/index.html
echo "old" >site/old.txt
printf 'FROM busybox:1.36\nCOPY site /www\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n' >Dockerfile
# Node 2's engine named in swarm.nodes; the others found at their
# Status.Addr and swarm.port.
node2=$(echo "$SWARM_NODES" | cut -d' ' -f2)
cat >devwatch.json <<JSON
{ "name": "$P", "publish": { "registry": "$SWARM_REGISTRY/team" },
  "swarm": { "nodes": { "$node2": "$(swarm_engine "$node2")" }, "port": $SWARM_PORT },
  "containers": {
    "api": { "image": "busybox:1.36", "replicas": 2, "aliases": ["backend"], "stop_grace": "1s",
      "cmd": ["sh", "-c", "mkdir -p /www && echo api-$P >/www/index.html && exec httpd -f -p 8000 -h /www"] },
    "web": { "build": ".", "replicas": 3, "ports": ["0:80"], "stop_grace": "1s",
      "readiness": { "http": "/index.html", "port": 80 },
      "live_update": [ { "sync": { "from": "site", "to": "/www" } },
        { "run": { "cmd": "cp /www/index.html /tmp/step.out", "trigger": ["site/index.html"] } } ] } } }
JSON
PROJ=$T/p/devwatch.json

# The newest "task ... on NODE · container CID" line of each slot, as
# "SLOT NODE CID URL".
tasks() {
	grep -E '^web\.[0-9]+ +task [^ ]+ on ' "$T/up.log" |
		awk '{ slot = substr($1, 5); node[slot] = $5; cid[slot] = $8; url[slot] = $10 }
		     END { for (s in node) print s, node[s], cid[s], url[s] }' | sort -n
}
# Every task's /www equals site/, each read through its own node's engine.
all_match() {
	local slot node cid url n=0
	up_alive
	while read -r slot node cid url; do
		DOCKER_HOST=$(swarm_engine "$node") treecmp "$cid" /www "$T/p/site" || return 1
		n=$((n + 1))
	done < <(tasks)
	[ "$n" = 3 ]
}
converge_all() {
	local slot node cid url
	if ! wait_for "$1" all_match; then
		while read -r slot node cid url; do
			echo "web.$slot on $node:" >&2
			DOCKER_HOST=$(swarm_engine "$node") treecmp "$cid" /www "$T/p/site" >&2 || true
		done < <(tasks)
		fail "$2"
	fi
}

dw_up --swarm
dw_wait_ready 300
up_log_has "node $node2: engine $(swarm_engine "$node2") \(swarm.nodes\)" ||
	fail "node 2's engine is not the one swarm.nodes names"
[ "$(grep -c 'engine tcp://.*(its Status.Addr)' "$T/up.log")" = 2 ] ||
	fail "the other nodes are not reached at their Status.Addr"
[ "$(tasks | wc -l)" = 3 ] || fail "expected 3 tasks, got: $(tasks)"
[ "$(grep -cE '^web\.[1-3] +ready: GET /index.html answered 200' "$T/up.log")" = 3 ] ||
	fail "not every task passed its readiness probe at its node's port"
[ "$(tasks | awk '{ print $2 }' | sort -u | wc -l)" = 3 ] || fail "not one task per node: $(tasks)"
[ "$(docker service ls -q --filter "label=dev.devwatch.project=$P" | wc -l)" = 2 ] ||
	fail "not 2 services of the project on the manager"
docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$P-web" |
	grep -q "^$SWARM_REGISTRY/team/$P-web:" || fail "the service does not run the pushed image"
docker service inspect -f '{{.Spec.EndpointSpec.Mode}} {{(index .Spec.EndpointSpec.Ports 0).PublishMode}}' "$P-web" |
	grep -qx 'dnsrr host' || fail "the service does not use dnsrr and host-mode ports"
# Every web task, whatever its node, reaches api by its name and alias
# over the overlay network (dnsrr: no virtual IP, no IPVS).
while read -r slot node cid url; do
	http_has "$url" "v1 $P" || fail "task $slot on $node does not serve the page at $url"
	for name in api backend; do
		[ "$(DOCKER_HOST=$(swarm_engine "$node") docker exec "$cid" wget -qO- "http://$name:8000/")" = "api-$P" ] ||
			fail "web.$slot on $node cannot reach '$name' by name"
	done
done < <(tasks)

# A save: a changed page, a new file in a new folder, a deleted file.
echo "v2 $P" >site/index.html
echo "new $P" >site/sub/new.txt
rm site/old.txt
converge_all 30 "a save did not reach every task"
while read -r slot node cid url; do
	http_has "$url" "v2 $P" || fail "task $slot on $node does not serve the saved page"
	# The triggered run step ran in each task, after the files.
	[ "$(DOCKER_HOST=$(swarm_engine "$node") docker exec "$cid" cat /tmp/step.out)" = "v2 $P" ] ||
		fail "the run step did not run in web.$slot on $node"
done < <(tasks)

# A task killed on its node: the swarm starts a new one, which is caught
# up with what changed while it was down.
read -r kslot knode kcid kurl < <(tasks | sed -n 2p)
DOCKER_HOST=$(swarm_engine "$knode") docker kill "$kcid" >/dev/null
echo "v3 $P while web.$kslot was down" >site/index.html
rescheduled() {
	up_alive
	[ "$(tasks | awk -v s="$kslot" '$1 == s { print $3 }')" != "$kcid" ]
}
wait_for 90 rescheduled || fail "web.$kslot was not rescheduled after its container was killed"
converge_all 30 "the rescheduled task was not caught up"
grep -qE "^web\.$kslot +caught up: [1-9][0-9]* written" "$T/up.log" ||
	fail "no catch-up sync of the rescheduled web.$kslot"

# A rebuild: the Dockerfile changes, the image is pushed and the service
# rolls to it, one task at a time; each new task is caught up.
before=$(tasks | awk '{ print $3 }' | sort)
echo 'ENV REV=2' >>Dockerfile
# A save while the service rolls: the old tasks get it live, each new one
# in its catch-up.
wait_for 240 up_log_has "rolling update to $SWARM_REGISTRY/team/$P-web:" ||
	fail "no rolling update started"
echo "v4 $P during the rollout" >site/index.html
echo "during $P" >site/sub/during.txt
wait_for 240 up_log_has "rolled out $SWARM_REGISTRY/team/$P-web:[0-9a-f]+ to 3 tasks" ||
	fail "no rolling update to the rebuilt image"
after=$(tasks | awk '{ print $3 }' | sort)
[ -z "$(comm -12 <(echo "$before") <(echo "$after"))" ] || fail "a task survived the rolling update"
docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Env}}' "$P-web" >/dev/null
while read -r slot node cid url; do
	DOCKER_HOST=$(swarm_engine "$node") docker inspect -f '{{.Config.Env}}' "$cid" | grep -q REV=2 ||
		fail "task $slot on $node does not run the rebuilt image"
done < <(tasks)
converge_all 30 "a save during the rolling update did not reach every new task"
echo "v5 $P after the rebuild" >site/index.html
converge_all 30 "a save after the rolling update did not reach every task"

dw_stop
[ "$UP_RC" = 0 ] || fail "up exited $UP_RC"
[ -z "$(docker service ls -q --filter "label=dev.devwatch.project=$P")" ] || fail "up left its service"
[ -z "$(docker network ls -q --filter "name=devwatch-$P")" ] || fail "up left its overlay network"

# --keep leaves the service; down removes it.
dw_up --swarm --keep
dw_wait_ready 120
dw_stop
[ "$UP_RC" = 0 ] || fail "up --keep exited $UP_RC"
[ -n "$(docker service ls -q --filter "label=dev.devwatch.project=$P")" ] || fail "--keep removed the service"
"$DEVWATCH" down -f "$PROJ" >"$T/down.log" 2>&1 || fail "down failed: $(cat "$T/down.log")"
grep -q "removed 2 services" "$T/down.log" || fail "down did not say it removed the service: $(cat "$T/down.log")"
[ -z "$(docker service ls -q --filter "label=dev.devwatch.project=$P")" ] || fail "down left the service"
echo "ok"
