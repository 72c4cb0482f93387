/*
 * Containers as the engine sees them: the create body built from the project
 * (labels of DESIGN.md section 6, run options, port bindings with host port 0
 * left to the engine), and what an inspect answer tells us back.
 */
#ifndef DW_BUILD_CONTAINER_H
#define DW_BUILD_CONTAINER_H

#include <stdbool.h>

#include "project/project.h"

#define LABEL_PROJECT "dev.devwatch.project"
#define LABEL_CONTAINER "dev.devwatch.container"
#define LABEL_REPLICA "dev.devwatch.replica"
#define LABEL_CONFIG "dev.devwatch.config-hash"

/* The JSON body of POST /containers/create. Caller frees. */
char *container_create_body(const struct project *p,
			    const struct project_container *c, int replica,
			    const char *image);

enum container_health {
	HEALTH_NONE = 0,	/* the image has no HEALTHCHECK */
	HEALTH_STARTING,
	HEALTH_HEALTHY,
	HEALTH_UNHEALTHY,
};

struct container_info {
	char *id;
	char *image;	   /* Config.Image */
	char *config_hash; /* label, or NULL */
	bool running;
	bool restarting;
	int exit_code;
	enum container_health health; /* State.Health.Status */
	int *host_ports;   /* per c->ports[i]: the bound host port, 0 if none */
	char **host_ips;   /* per c->ports[i]: the HostIp the engine reports
			      for it ("0.0.0.0", "10.0.0.5"), or NULL */
	size_t n_ports;
};

/* Parse GET /containers/{id}/json. Returns 0, or DW_ENGINE_PROTO (out
   all zero, nothing to free) when it is not an object with a valid "Id". */
int container_info_parse(const char *json, size_t len,
			 const struct project_container *c,
			 struct container_info *out);
void container_info_free(struct container_info *ci);
/* Free a host_ips array of n entries (NULL does nothing). */
void container_host_ips_free(char **ips, size_t n);

/* The label filter for GET /containers/json, URL-encoded: the project's
   containers, or one container's when cname is not NULL. Caller frees. */
char *container_label_filter(const char *project, const char *cname);

#endif
