#!/usr/bin/env bash
# A seeded random edit storm over a synced folder that came with the image
# (COPY src /data): 3,000 creates, modifies, editor saves, deletes, renames
# of files and folders, chmods, symlinks and `rm -rf`s, in bursts while the
# updates of the last burst are in flight. Then /data must equal src/. Each
# seed gets a fresh tree, image and session; STORM_SEEDS="S1 S2" replays
# given seeds (each is printed), STORM_OPS changes the count.
. "$(dirname "$0")/lib.sh"
dw_init storm
seeds=${STORM_SEEDS:-"$RANDOM$RANDOM $RANDOM$RANDOM $RANDOM$RANDOM"}
storm() { python3 "$DEVWATCH_SRC/tests/system/storm.py" "$@"; }
mkdir -p "$T/p"
cd "$T/p"
printf 'FROM busybox:1.36\nCOPY src /data\nCMD ["sleep", "86400"]\n' >Dockerfile
cat >devwatch.json <<JSON
{ "name": "$P", "containers": { "box": {
  "build": { "context": "." },
  "live_update": [ { "sync": { "from": "src", "to": "/data" } } ] } } }
JSON
PROJ=$T/p/devwatch.json
for seed in $seeds; do
	echo "storm: seed $seed (replay with STORM_SEEDS=$seed)"
	rm -rf src .devwatch
	storm init "$seed" src
	dw_up
	# The storm starts the moment the container is ready, as a user's
	# editor would, not when devwatch says it watches (DESIGN.md 14: it
	# watches from the first moment).
	dw_wait_ready
	storm run "$seed" src --ops "${STORM_OPS:-3000}"
	dw_converge 120 "$P-box-1" /data src --ignore '*.swp~' ||
		fail "seed $seed: the container lost changes"
	dw_stop
	[ "$(count_containers)" -eq 0 ] || fail "seed $seed: containers left"
done
echo ok
