#!/usr/bin/env bash
# A private dockerd that takes only TLS with client certificates, made here
# with openssl: DOCKER_TLS_VERIFY and DOCKER_CERT_PATH reach both the REST
# calls (libcurl) and the hijacked exec (OpenSSL over memory BIOs, so no
# fallback to the archive API). Plain HTTP gets a hint, a foreign CA a
# verification error, and a save lands in the container on that engine.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enginelib.sh"
dw_init engine-tls
make_certs "$T/pki" 127.0.0.1
port=$(free_port)
pd_start -H "tcp://127.0.0.1:$port" --tlsverify --tlscacert "$T/pki/ca.pem" \
	--tlscert "$T/pki/server-cert.pem" --tlskey "$T/pki/server-key.pem"
export DOCKER_HOST="tcp://127.0.0.1:$port"
dw_copy_sample website

# Plain HTTP to a TLS engine: the engine answers 400, and we say why.
out=$("$DEVWATCH" status -f "$PROJ" 2>&1) && fail "status worked without TLS"
grep -q "answered 400 (an engine that wants TLS does: set DOCKER_TLS_VERIFY=1" <<<"$out" ||
	fail "no TLS hint: $out"

# A CA that did not sign the engine's certificate.
make_certs "$T/other" 127.0.0.1
out=$(DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$T/other/client "$DEVWATCH" status -f "$PROJ" 2>&1) &&
	fail "status trusted a foreign CA"
grep -qi "certificate" <<<"$out" || fail "no certificate error: $out"

export DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=$T/pki/client
"$DEVWATCH" version | grep -qxF "engine tcp://127.0.0.1:$port (from DOCKER_HOST, TLS verified)" ||
	fail "version does not name the engine: $("$DEVWATCH" version)"
WANT_URL_HOST=127.0.0.1
engine_scenario
echo "ok"
