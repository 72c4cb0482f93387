#!/usr/bin/env bash
# A docker context made by the docker CLI itself, pointing at a private TLS
# dockerd: `docker context use` writes currentContext into config.json (in
# DOCKER_CONFIG), the endpoint comes from contexts/meta/<sha256>/meta.json
# and the certificates from contexts/tls/. DOCKER_CONTEXT overrides it, and
# DOCKER_HOST overrides both.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enginelib.sh"
dw_init engine-context
make_certs "$T/pki" 127.0.0.1
port=$(free_port)
pd_start -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$T/pki/ca.pem" \
	--tlscert "$T/pki/server-cert.pem" --tlskey "$T/pki/server-key.pem"
export DOCKER_CONFIG=$T/config
ctx=dw-$P
c=$T/pki/client
docker context create "$ctx" 2>/dev/null \
	--docker "host=tcp://127.0.0.1:$port,ca=$c/ca.pem,cert=$c/cert.pem,key=$c/key.pem" >/dev/null
docker context use "$ctx" >/dev/null 2>&1
grep -q "\"currentContext\": \"$ctx\"" "$DOCKER_CONFIG/config.json" || fail "docker context use did not set currentContext"
# The files are not where DOCKER_CERT_PATH would look: only the context has them.
rm -rf "$T/pki/client"

"$DEVWATCH" version | grep -qxF "engine tcp://127.0.0.1:$port (context $ctx, TLS verified)" ||
	fail "version does not name the context: $("$DEVWATCH" version)"
DOCKER_CONTEXT=default "$DEVWATCH" version | grep -qxF "engine unix:///var/run/docker.sock (default socket)" ||
	fail "DOCKER_CONTEXT=default is not the default socket"
DOCKER_CONTEXT=nonesuch "$DEVWATCH" version >/dev/null 2>"$T/err" && fail "a missing context was accepted"
grep -q "context 'nonesuch' (from DOCKER_CONTEXT) does not exist" "$T/err" || fail "unclear error: $(cat "$T/err")"
DOCKER_HOST=tcp://127.0.0.1:1 "$DEVWATCH" version | grep -qxF "engine tcp://127.0.0.1:1 (from DOCKER_HOST)" ||
	fail "DOCKER_HOST does not win over the context"

WANT_URL_HOST=127.0.0.1
engine_scenario
echo "ok"
