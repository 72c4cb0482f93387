#!/usr/bin/env bash
# samples/website exactly as shipped (host port 8080), every step of its
# README: edit a page, a partial and httpd.conf. The last is a rebuild with a
# fixed host port: the old container must give the port up, the new one
# serve with the new configuration, devwatch stay up, and no container be
# left behind. Ends with /www equal to site/ (blog.html is build.sh's).
. "$(dirname "$0")/lib.sh"
dw_init swebsite
dw_copy_sample website
site=$T/website/site
url=http://127.0.0.1:8080
dw_up
dw_wait_ready
wait_for 30 up_log_has "watching" || fail "watcher did not start"
[ "$(host_port web 80)" = 8080 ] || fail "web:80 is not on host port 8080"
http_has "$url/" "Hello from devwatch" || fail "index.html not served on 8080"
http_has "$url/blog.html" "First post" || fail "blog.html not generated"
id=$(cid web)

served() { up_alive; http_has "$1" "$2"; }

# 1. A page: synced, served, same container.
sed -i 's|</body>|<p>step one edit</p></body>|' "$site/index.html"
grep -q "step one edit" "$site/index.html" || fail "test bug: index.html has no </body>"
wait_for 30 served "$url/" "step one edit" || fail "step 1: the edited page is not served"
[ "$(cid web)" = "$id" ] || fail "step 1: the container was replaced"

# 2. A partial and a page: synced, build.sh regenerates blog.html.
echo "<p>step two header</p>" >>"$site/partials/header.html"
wait_for 30 served "$url/blog.html" "step two header" || fail "step 2: the partial did not reach blog.html"
echo "<p>step two page</p>" >>"$site/pages/blog.html"
wait_for 30 served "$url/blog.html" "step two page" || fail "step 2: the page did not reach blog.html"
[ "$(cid web)" = "$id" ] || fail "step 2: the container was replaced"

# 3. httpd.conf: a rebuild on the fixed port 8080. The new configuration
# gives .dwtxt a MIME type of its own, so its Content-Type tells which
# container answers.
echo "dwtxt file" >"$site/note.dwtxt"
wait_for 30 served "$url/note.dwtxt" "dwtxt file" || fail "note.dwtxt not synced"
echo ".dwtxt:text/x-devwatch-step3" >>"$T/website/httpd.conf"
new_type() {
	up_alive
	! up_log_has "did not become ready" || fail "step 3: the new container did not become ready"
	curl -sfI "$url/note.dwtxt" | grep -qi "^content-type: text/x-devwatch-step3"
}
wait_for 120 new_type || fail "step 3: the rebuilt container does not serve on 8080 with the new httpd.conf"
# The new container may serve before it takes the old one's name and the
# old one is removed: wait for the replacement to finish.
replaced() { up_alive; [ "$(cid web)" != "$id" ] && [ "$(count_containers)" -eq 1 ]; }
wait_for 60 replaced || fail "step 3: the replacement did not finish: $(count_containers) containers, web-1 is $(cid web)"
served "$url/blog.html" "step two page" || fail "step 3: the rebuilt site lost an edit"
dw_converge 60 "$P-web-1" /www "$site" --extra blog.html
dw_stop
[ "$UP_RC" -eq 0 ] || fail "up exited $UP_RC on SIGTERM"
[ "$(count_containers)" -eq 0 ] || fail "containers left after SIGTERM"
echo ok
