#!/usr/bin/env bash
# Saves that keep coming while restart_container restarts the container
# (samples/service as shipped, port 8081): about four a second to its source
# for 20 s, so that most land while the last restart is in flight. Once
# quiet, /app must equal app/ and the service answer with the last version.
. "$(dirname "$0")/lib.sh"
dw_init restartedits
dw_copy_sample service
dw_up
dw_wait_ready 900
wait_for 30 up_log_has "watching" || fail "watcher did not start"
app=$T/service/app
python3 - "$app" <<'PY'
import os, random, sys, time
app = sys.argv[1]
rng = random.Random(7)
orig = {n: open(os.path.join(app, n)).read() for n in ("app.py", "greeting.py")}
for i in range(80):
    n = rng.choice(sorted(orig))
    text = orig[n] + "\n# edit %d\n" % i
    if n == "greeting.py":
        text = text.replace("from the devwatch service", "from edit %d" % i)
    with open(os.path.join(app, n), "w") as f:
        f.write(text)
    time.sleep(rng.random() * 0.5)
PY
last=$(grep -o 'from edit [0-9]*' "$app/greeting.py" || echo "from the devwatch service")
dw_converge 60 "$P-api-1" /app "$app" --extra __pycache__ --extra '__pycache__/*'
says() { up_alive; curl -sf http://127.0.0.1:8081/ | grep -qF "hello $last"; }
wait_for 60 says || fail "the service does not answer with the last edit ('$last')"
dw_stop
[ "$(count_containers)" -eq 0 ] || fail "containers left"
echo ok
