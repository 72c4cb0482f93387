#!/usr/bin/env bash
# ssh://root@127.0.0.1:PORT through an sshd this test starts on loopback
# (its own host key, an authorized key made here, and DOCKER_HOST set for
# the session so that `docker system dial-stdio` on the far side reaches a
# private dockerd). Each connection of devwatch, REST and hijacked exec, is
# its own `ssh ... docker system dial-stdio`. ssh finds the test's keys
# through a wrapper first in PATH (ssh reads ~/.ssh of the passwd entry,
# not of $HOME).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/enginelib.sh"
dw_init engine-ssh
pd_start
S=$T/ssh
mkdir -p "$S" "$T/bin" /run/sshd
chmod 700 "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$S/id"
cp "$S/id.pub" "$S/authorized_keys"
port=$(free_port)
cat >"$S/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $S/host_key
AuthorizedKeysFile $S/authorized_keys
PidFile $S/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
SetEnv DOCKER_HOST=unix://$PD_SOCK
CONF
/usr/sbin/sshd -D -e -f "$S/sshd_config" 2>"$S/sshd.log" &
SSHD_PID=$!
EXTRA_CLEANUP='kill -TERM $SSHD_PID 2>/dev/null; wait $SSHD_PID 2>/dev/null'
echo "[127.0.0.1]:$port $(cat "$S/host_key.pub")" >"$S/known_hosts"
cat >"$S/config" <<CONF
Host *
  IdentityFile $S/id
  IdentitiesOnly yes
  UserKnownHostsFile $S/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
CONF
printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$S/config" >"$T/bin/ssh"
chmod +x "$T/bin/ssh"
export PATH=$T/bin:$PATH
wait_for 20 ssh -p "$port" root@127.0.0.1 true || { cat "$S/sshd.log" >&2; fail "sshd does not answer"; }

export DOCKER_HOST="ssh://root@127.0.0.1:$port"
export TMPDIR=$T/tmp # where devwatch keeps the socket its connections come through
mkdir -p "$TMPDIR"
"$DEVWATCH" version | grep -qxF "engine ssh://root@127.0.0.1:$port (from DOCKER_HOST)" ||
	fail "version does not name the engine: $("$DEVWATCH" version)"
WANT_URL_HOST=127.0.0.1
engine_scenario
# Every dial-stdio child ended with devwatch, and its socket folder is gone.
no_children() { ! pgrep -f -- "-p $port -- 127.0.0.1 docker system dial-stdio" >/dev/null; }
wait_for 10 no_children || fail "a dial-stdio child outlived devwatch"
[ -z "$(ls -A "$TMPDIR")" ] || fail "devwatch left $(ls "$TMPDIR") in TMPDIR"
echo "ok"
