#!/usr/bin/env bash
# The image tag follows DESIGN.md section 4's rule. A second up with
# unchanged inputs does not rebuild. A changed Dockerfile input that no
# sync rule covers (httpd.conf) rebuilds. A changed input that a sync
# rule brings in live (site/index.html) does not make a new image: the
# container made from the older image is caught up before it is ready,
# so it serves the new page.
. "$(dirname "$0")/lib.sh"
dw_init rebuild
dw_copy_sample website
dw_up
dw_wait_ready
grep -q "image devwatch/$P-web:[0-9a-f]* built$" "$T/up.log" || fail "first up did not build"
dw_stop
img1=$(docker images -q "devwatch/$P-web" | head -1)
dw_up
dw_wait_ready
grep -q "up to date, not rebuilt" "$T/up.log" || fail "second up rebuilt"
grep -q "Step 1/" "$T/up.log" && fail "second up ran a build"
dw_stop
[ "$(docker images -q "devwatch/$P-web" | sort -u | wc -l)" -eq 1 ] || fail "a second image appeared"

echo "<p>changed while down</p>" >>"$T/website/site/index.html"
dw_up
dw_wait_ready
grep -q "up to date, not rebuilt" "$T/up.log" || fail "a synced input made a new image"
port=$(host_port web 80)
curl -sf "http://127.0.0.1:$port/" | grep -q "changed while down" || fail "the caught-up container does not serve the edit"
dw_converge 30 "$P-web-1" /www "$T/website/site" --extra blog.html
dw_stop

echo "# changed" >>"$T/website/httpd.conf"
dw_up
dw_wait_ready
grep -q "image devwatch/$P-web:[0-9a-f]* built$" "$T/up.log" || fail "a changed unsynced input did not rebuild"
dw_stop
[ "$(docker images -q "devwatch/$P-web" | sort -u | grep -vc "^$img1\$")" -ge 1 ] || fail "no new image"
echo ok
