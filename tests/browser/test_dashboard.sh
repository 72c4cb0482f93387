#!/usr/bin/env bash
# The dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by
# playwright-core from tests/browser/node_modules, which scripts/deps.sh
# installs with `npm ci`). `devwatch up` runs the website sample; the
# page is driven by dashboard.test.mjs, which says what it checks.
#
# The sample is copied with two changes: host port 0 instead of 8080
# (the test is about the dashboard, not the sample's port, and 8080 is
# shared on this machine) and this test's unique project name (the shared
# engine may be running the sample itself). Everything else is as shipped.
#
# A missing chromium or playwright-core fails the test: it never skips.
. "$DEVWATCH_SRC/tests/system/lib.sh"
dw_init browser

here=$DEVWATCH_SRC/tests/browser
out=${DW_BROWSER_OUT:-$T/out}
chromium=${DW_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || fail "no $chromium: run scripts/deps.sh (Debian package chromium)"
command -v node >/dev/null || fail "no node: run scripts/deps.sh"
[ -f "$here/node_modules/playwright-core/package.json" ] ||
	fail "no playwright-core in $here/node_modules: run scripts/deps.sh (npm ci there)"

cp -r "$DEVWATCH_SRC/samples/website" "$T/website"
rm -rf "$T/website/.devwatch"
sed -i -e 's/"host": 8080/"host": 0/' -e "s/\"name\": \"website\"/\"name\": \"$P\"/" \
	"$T/website/devwatch.json"
grep -q "\"name\": \"$P\"" "$T/website/devwatch.json" || fail "could not rename the sample's project"
grep -q '"host": 0,' "$T/website/devwatch.json" || fail "could not move the sample to host port 0"
PROJ=$T/website/devwatch.json

dw_up
dw_wait_ready
api_named() { [ "$(sed -n 2p "$T/website/.devwatch/api" 2>/dev/null)" = "$UP_PID" ]; }
wait_for 60 api_named || fail ".devwatch/api does not name the up process"
mkdir -p "$out"

DW_URL=http://127.0.0.1:$(sed -n 1p "$T/website/.devwatch/api")/ \
DW_SITE=$T/website/site \
DW_CONTAINER=$P-web-1 \
DW_SHOT=$out/dashboard.png \
DW_CHROMIUM=$chromium \
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
	node "$here/dashboard.test.mjs" || fail "the dashboard test failed (screenshot: $out)"

# The container's files equal the local tree after all of it (the rebuilt
# container may still be taking its name: dw_converge waits).
dw_converge 30 "$P-web-1" /www "$T/website/site" --extra blog.html
up_alive
dw_stop
[ "$UP_RC" = 0 ] || fail "up exited $UP_RC"
echo PASS
