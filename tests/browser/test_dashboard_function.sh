#!/usr/bin/env bash
# The dashboard of a function container in headless Chromium (as
# test_dashboard.sh): samples/function exactly as shipped (it has no host
# ports), driven by function.test.mjs, which says what it checks. A missing
# chromium or playwright-core fails the test: it never skips.
. "$DEVWATCH_SRC/tests/system/lib.sh"
. "$DEVWATCH_SRC/tests/system/fnlib.sh"
dw_init browserfn

here=$DEVWATCH_SRC/tests/browser
out=${DW_BROWSER_OUT:-$T/out}
chromium=${DW_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || fail "no $chromium: run scripts/deps.sh (Debian package chromium)"
command -v node >/dev/null || fail "no node: run scripts/deps.sh"
[ -f "$here/node_modules/playwright-core/package.json" ] ||
	fail "no playwright-core in $here/node_modules: run scripts/deps.sh (npm ci there)"

fn_start
mkdir -p "$out"
DW_URL=$API/ \
DW_HANDLER=$H \
DW_SHOT=$out/dashboard-function.png \
DW_CHROMIUM=$chromium \
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
	node "$here/function.test.mjs" || fail "the dashboard test failed (screenshot: $out)"

dw_converge 30 "$C" /var/task "$T/function/handler"
up_alive
dw_stop
[ "$UP_RC" = 0 ] || fail "up exited $UP_RC"
echo PASS
