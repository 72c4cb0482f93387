/*
 * The dashboard: plain HTML, CSS and JavaScript from src/api/dashboard/,
 * turned into C arrays at build time (cmake/embed.cmake), served at "/"
 * and "/dashboard/NAME". It makes no external request: everything it
 * shows comes from GET /api/status and the events of GET /api/events
 * (the shapes it reads are documented in events.h and dashboard.js).
 *
 * Every asset goes out with a Content-Security-Policy that allows this
 * origin only, and with frame-ancestors 'none' (no clickjacking of the
 * trigger and restart buttons).
 */
#ifndef DW_API_DASHBOARD_H
#define DW_API_DASHBOARD_H

#include "api/http.h"

struct dashboard_asset {
	const char *name; /* "index.html" */
	const unsigned char *data;
	unsigned long size;
};

/* The embedded assets, from the generated dashboard-assets.c. */
extern const struct dashboard_asset dashboard_assets[];
extern const unsigned dashboard_n_assets;

/* The asset called name, or NULL. */
const struct dashboard_asset *dashboard_find(const char *name);

/*
 * Route handler for GET "/" (index.html) and GET "/dashboard/" as a
 * HTTP_PREFIX route (the tail names the asset); 404 for an unknown name.
 * arg is unused. DASHBOARD_ROUTES expands to both routes.
 */
void dashboard_handle(struct http_req *req, void *arg);
#define DASHBOARD_ROUTES                                                       \
	{"GET", "/", 0, dashboard_handle, NULL},                               \
	{"GET", "/dashboard/", HTTP_PREFIX, dashboard_handle, NULL}

#endif
