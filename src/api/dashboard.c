/*
 * Serving the embedded dashboard assets, with a content type from the
 * name and a policy that keeps the page to its own origin.
 */
#include "api/dashboard.h"

#include <string.h>

#include "base/util.h"

static const char csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; "
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
	"form-action 'none'; frame-ancestors 'none'";

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".ico", "image/x-icon"},
};

const struct dashboard_asset *dashboard_find(const char *name)
{
	for (unsigned i = 0; i < dashboard_n_assets; i++)
		if (strcmp(dashboard_assets[i].name, name) == 0)
			return &dashboard_assets[i];
	return NULL;
}

static const char *type_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (str_ends(name, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

void dashboard_handle(struct http_req *req, void *arg)
{
	const char *name = http_req_tail(req);
	const struct dashboard_asset *a;

	if (strcmp(http_req_path(req), "/") == 0)
		name = "index.html";
	a = dashboard_find(name);
	if (a == NULL) {
		http_reply_error(req, 404, "Unknown path: %s", http_req_path(req));
		return;
	}
	http_req_add_header(req, "Content-Security-Policy", csp);
	http_req_add_header(req, "X-Frame-Options", "DENY");
	http_req_add_header(req, "Referrer-Policy", "no-referrer");
	http_req_add_header(req, "Cache-Control", "no-cache");
	http_reply(req, 200, type_of(name), a->data, a->size);
}
