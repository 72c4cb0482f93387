#!/usr/bin/env bash
# A second up with unchanged inputs does not rebuild; a changed input does.
. "$(dirname "$0")/lib.sh"
dw_init rebuild
dw_copy_sample website
dw_up
dw_wait_ready
grep -q "built$" "$T/up.log" || fail "first up did not build"
dw_stop
img1=$(docker images -q "devwatch/$P-web" | head -1)
dw_up
dw_wait_ready
grep -q "up to date, not rebuilt" "$T/up.log" || fail "second up rebuilt"
grep -q "Step 1/" "$T/up.log" && fail "second up ran a build"
dw_stop
[ "$(docker images -q "devwatch/$P-web" | sort -u | wc -l)" -eq 1 ] || fail "a second image appeared"
echo "<p>changed</p>" >>"$T/website/site/index.html"
dw_up
dw_wait_ready
grep -q "built$" "$T/up.log" || fail "a changed input did not rebuild"
dw_stop
[ "$(docker images -q "devwatch/$P-web" | sort -u | grep -vc "^$img1\$")" -ge 1 ] || fail "no new image"
echo ok
