#!/usr/bin/env bash
# Push and pull through Debian's docker-registry on loopback, on a private
# dockerd: `devwatch push` tags by content hash and by the user tag; on a
# registry with htpasswd basic auth a push without credentials fails with
# the registry's message (the engine answers 200 first: the error is in the
# stream); with auths in config.json, and with a credHelpers helper, it
# works; and `up` pulls a private image with those credentials.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enginelib.sh"
dw_init engine-registry
pd_start
export DOCKER_HOST=unix://$PD_SOCK DOCKER_CONFIG=$T/config
mkdir -p "$DOCKER_CONFIG" "$T/bin"
REG_PIDS=
EXTRA_CLEANUP='for p in $REG_PIDS; do kill -TERM $p 2>/dev/null; wait $p 2>/dev/null; done'
# registry NAME PORT [HTPASSWD]
registry() {
	mkdir -p "$T/$1"
	{
		printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$T/$1/data"
		printf 'http:\n  addr: 127.0.0.1:%s\n' "$2"
		[ -z "${3:-}" ] || printf 'auth:\n  htpasswd:\n    realm: devwatch-test\n    path: %s\n' "$3"
	} >"$T/$1/config.yml"
	docker-registry serve "$T/$1/config.yml" >"$T/$1/log" 2>&1 &
	REG_PIDS="$REG_PIDS $!"
	wait_for 20 curl -s "http://127.0.0.1:$2/v2/" || fail "registry $1 did not start"
}
open_port=$(free_port)
registry open "$open_port"
htpasswd -Bbn dwuser "s3cret-$P" >"$T/htpasswd"
auth_port=$(free_port)
registry auth "$auth_port" "$T/htpasswd"

mkdir -p "$T/p/src"
cd "$T/p"
echo "v1 $P" >src/a.txt
printf 'FROM busybox:1.36\nCOPY src /srv\nCMD ["sleep", "86400"]\n' >Dockerfile
project() { # project REGISTRY
	cat >devwatch.json <<JSON
{ "name": "$P", "publish": { "registry": "$1/team", "tag": "dev" },
  "containers": { "web": { "build": "." } } }
JSON
}
tags() { # tags PORT [USER:PASS]
	curl -sf ${2:+-u "$2"} "http://127.0.0.1:$1/v2/team/$P-web/tags/list" |
		python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["tags"])))'
}

project "127.0.0.1:$open_port"
"$DEVWATCH" push >"$T/push.log" 2>&1 || { cat "$T/push.log"; fail "push to the open registry failed"; }
hash=$(docker images --format '{{.Tag}}' "devwatch/$P-web" | head -1)
[ -n "$hash" ] || fail "push did not build the image"
[ "$(tags "$open_port")" = "$(printf '%s\n' "$hash" dev | sort | tr '\n' ' ' | sed 's/ $//')" ] ||
	fail "the registry has tags '$(tags "$open_port")', expected $hash and dev"
grep -q "Pushed\|Layer already exists" "$T/push.log" || fail "no layer progress shown: $(cat "$T/push.log")"

project "127.0.0.1:$auth_port"
"$DEVWATCH" push >"$T/push.log" 2>&1 && fail "push without credentials worked"
grep -q "push of 127.0.0.1:$auth_port/team/$P-web:.* failed: .*no basic auth credentials" "$T/push.log" ||
	fail "the stream's errorDetail is not the error: $(cat "$T/push.log")"

# auths in config.json (base64 of user:password)
b64=$(printf 'dwuser:s3cret-%s' "$P" | base64 -w0)
printf '{"auths": {"127.0.0.1:%s": {"auth": "%s"}}}\n' "$auth_port" "$b64" >"$DOCKER_CONFIG/config.json"
"$DEVWATCH" push >"$T/push.log" 2>&1 || { cat "$T/push.log"; fail "push with auths failed"; }
tags "$auth_port" "dwuser:s3cret-$P" | grep -qw dev || fail "the auth registry lacks tag dev"

# a credential helper, found in PATH as the docker CLI finds it
cat >"$T/bin/docker-credential-dwtest" <<SH
#!/bin/sh
[ "\$1" = get ] || exit 1
read -r server
[ "\$server" = "127.0.0.1:$auth_port" ] || { echo "credentials not found in native keychain"; exit 1; }
printf '{"ServerURL":"%s","Username":"dwuser","Secret":"s3cret-$P"}\n' "\$server"
SH
chmod +x "$T/bin/docker-credential-dwtest"
export PATH=$T/bin:$PATH
printf '{"credHelpers": {"127.0.0.1:%s": "dwtest"}}\n' "$auth_port" >"$DOCKER_CONFIG/config.json"
"$DEVWATCH" push --tag helper web >"$T/push.log" 2>&1 || { cat "$T/push.log"; fail "push with a credential helper failed"; }
tags "$auth_port" "dwuser:s3cret-$P" | grep -qw helper || fail "the auth registry lacks tag helper"

# up pulls the private image with the helper's credentials
img=127.0.0.1:$auth_port/team/$P-web:helper
docker images --format '{{.Repository}}:{{.Tag}}' | grep "^127.0.0.1:" | xargs -r docker rmi >/dev/null
cat >"$T/p/pull.json" <<JSON
{ "name": "$P", "containers": { "box": { "image": "$img", "pull": "always",
  "readiness": { "cmd": ["cat", "/srv/a.txt"] } } } }
JSON
PROJ=$T/p/pull.json
dw_up --no-watch
dw_wait_ready 120
[ "$(docker exec "$P-box-1" cat /srv/a.txt)" = "v1 $P" ] || fail "the pulled image lacks the pushed file"
dw_stop
rm "$DOCKER_CONFIG/config.json"
docker rmi "$img" >/dev/null
"$DEVWATCH" up -f "$PROJ" --no-watch >"$T/up.log" 2>&1 && fail "a pull without credentials worked"
grep -q "pull of $img failed" "$T/up.log" || fail "no pull error: $(cat "$T/up.log")"
echo "ok"
