/*
 * The engine's container list (GET /containers/json), checked before use:
 * `status`, `down` and `logs` read only what this hands them, so an odd
 * answer (an entry without an Id, a name that is a number, an id that would
 * change the URL it goes into) is an error or a default, never a crash.
 */
#ifndef DW_BUILD_LISTING_H
#define DW_BUILD_LISTING_H

#include <stddef.h>

struct container_port {
	int public_port;  /* 1..65535 */
	int private_port; /* 1..65535 */
};

struct container_entry {
	char *id;	  /* engine_id_ok */
	char *name;	  /* the first name without its '/', or "?" */
	char *container;  /* the dev.devwatch.container label, or "" */
	char *replica;	  /* the dev.devwatch.replica label, or "" */
	char *state;	  /* "running", "exited", ...; "" when not given */
	struct container_port *ports; /* the published ones, as listed */
	size_t n_ports;
};

struct container_list {
	struct container_entry *v;
	size_t n;
};

/* Parse the list. Returns 0, or DW_ENGINE_PROTO with *cause when it is not
   an array of objects each with a valid "Id". Free with
   container_list_free, also after an error. */
int container_list_parse(const char *json, size_t len,
			 struct container_list *out, char **cause);
void container_list_free(struct container_list *l);

#endif
