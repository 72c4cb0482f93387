/*
 * Docker Swarm through the Engine API of a manager: services (create,
 * inspect, rolling update with the version index, remove), their tasks
 * (GET /tasks filtered by service) and the nodes (GET /nodes, for each
 * node's hostname and Status.Addr).
 *
 * Two halves: pure JSON (swarm-json.c: a service spec from a struct, and
 * the parsers of /tasks, /nodes and a service inspect, testable with
 * recorded answers) and the calls (swarm.c: on the engine's loop, each
 * ending in one callback).
 */
#ifndef DW_ENGINE_SWARM_H
#define DW_ENGINE_SWARM_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

/* A port a service publishes on each node that runs one of its tasks
   (PublishMode "host": this kernel has no IPVS for the ingress mesh). */
struct engine_service_port {
	int target;		/* 1..65535 */
	int published;		/* 0: the node picks a free one */
	const char *protocol;	/* "tcp" or "udp" */
};

struct engine_service {
	const char *name;
	const char *image;
	int replicas;
	const char *const *labels;	/* NULL-terminated KEY, VALUE, ... on
					   the service and its containers */
	const char *const *env;		/* NULL-terminated "K=V", or NULL */
	const char *const *command;	/* entrypoint override, or NULL */
	const char *const *args;	/* cmd, or NULL for the image's */
	const char *workdir;		/* or NULL */
	const char *user;		/* or NULL */
	const char *network;		/* an overlay network to join, or NULL */
	const char *const *aliases;	/* its names there, NULL-terminated */
	const struct engine_service_port *ports;
	size_t n_ports;
	bool dnsrr;		/* EndpointSpec.Mode "dnsrr": names resolve to
				   the tasks' addresses, no virtual IP */
	int stop_grace_ms;	/* StopGracePeriod; 0: 3 s */
};

enum engine_task_state {
	ENGINE_TASK_PENDING = 0, /* new .. starting */
	ENGINE_TASK_RUNNING,
	ENGINE_TASK_ENDED,	 /* complete, shutdown, failed, rejected, ... */
};

#define ENGINE_TASK_PORTS 16

struct engine_task {
	char *id;
	char *service_id;
	char *node_id;		/* "" before it is assigned */
	char *container_id;	/* "" before its container exists */
	char *image;		/* Spec.ContainerSpec.Image */
	char *state_text;	/* Status.State as the engine says it */
	char *message;		/* Status.Err, else Status.Message */
	int slot;		/* from 1 */
	/* Its published ports (Status.PortStatus), target and host port,
	   the first ENGINE_TASK_PORTS of them. */
	int port_target[ENGINE_TASK_PORTS];
	int port_published[ENGINE_TASK_PORTS];
	int n_ports;
	long version;		/* Version.Index: a later task is newer */
	enum engine_task_state state;
	bool desired_running;	/* DesiredState is "running" */
};

struct engine_node {
	char *id;
	char *hostname;		/* Description.Hostname */
	char *addr;		/* Status.Addr */
	bool ready;		/* Status.State "ready" */
};

/* The body of POST /services/create for s. Caller frees. */
char *engine_service_spec(const struct engine_service *s);
/* The body of POST /networks/create for an attachable overlay network,
   so that the services' names resolve (dnsrr) on every node; labels as
   in engine_service. Caller frees. */
char *engine_overlay_spec(const char *name, const char *const *labels);
/* From a POST /services/create answer, its "ID". Returns 0 with *id
   (caller frees) or DW_ENGINE_PROTO with *cause. */
int engine_service_created_parse(const char *body, size_t len, char **id,
				 char **cause);
/*
 * From a GET /services/{id} answer, what POST /services/{id}/update needs:
 * *version (Version.Index) and *spec, the service's Spec with its image
 * set to `image` and TaskTemplate.ForceUpdate incremented, so the update
 * rolls even when the image name is the same. Returns 0 (caller frees
 * *spec) or DW_ENGINE_PROTO with *cause.
 */
int engine_service_update_body(const char *body, size_t len,
			       const char *image, long *version, char **spec,
			       char **cause);
/* A GET /tasks answer as tasks, in the engine's order. Returns 0 with *out
   (free with engine_tasks_free) and *n, or DW_ENGINE_PROTO with *cause. */
int engine_tasks_parse(const char *body, size_t len, struct engine_task **out,
		       size_t *n, char **cause);
void engine_tasks_free(struct engine_task *t, size_t n);
/* A GET /nodes answer. As engine_tasks_parse. */
int engine_nodes_parse(const char *body, size_t len, struct engine_node **out,
		       size_t *n, char **cause);
void engine_nodes_free(struct engine_node *v, size_t n);
/* The "ID" of each object of an array answer (GET /services), those fit
   for a URL only; what names the request in *cause. Returns 0 with *ids
   (caller frees each and the array) and *n, or DW_ENGINE_PROTO. */
int engine_ids_parse(const char *body, size_t len, const char *what,
		     char ***ids, size_t *n, char **cause);
/* The host port where task t publishes target, or 0. */
int engine_task_port(const struct engine_task *t, int target);
/* The running task of each slot 1..replicas: for each, the newest task
   whose desired state is running, into slots[slot - 1] (NULL when none).
   Returns how many slots have one that is RUNNING with a container. */
int engine_tasks_by_slot(const struct engine_task *t, size_t n, int replicas,
			 const struct engine_task **slots);

/* ---- calls (swarm.c) ---- */

/* err 0 or negative with cause (valid during the call); id is the new
   service's ID for a create, else NULL. */
typedef void (*engine_service_cb)(void *arg, int err, const char *id,
				  const char *cause);
typedef void (*engine_tasks_cb)(void *arg, int err, struct engine_task *t,
				size_t n, const char *cause);
typedef void (*engine_nodes_cb)(void *arg, int err, struct engine_node *v,
				size_t n, const char *cause);

/*
 * POST /services/create; auth (X-Registry-Auth, engine/auth.h) lets the
 * nodes pull a private image. Returns 0 (cb runs later) or a negative code
 * (cb never runs). The same holds for each call below.
 */
int engine_service_create(struct engine *e, const struct engine_service *s,
			  const char *auth, engine_service_cb cb, void *arg);
/* GET /services/{id}, then POST /services/{id}/update?version=N with its
   spec and `image`: a rolling update in the service's UpdateConfig. */
int engine_service_update(struct engine *e, const char *id, const char *image,
			  const char *auth, engine_service_cb cb, void *arg);
/* DELETE /services/{id}; one already gone (404) is success. */
int engine_service_remove(struct engine *e, const char *id,
			  engine_service_cb cb, void *arg);
/* GET /tasks?filters={"service":[id]}. The tasks are the callee's only
   during cb. */
int engine_tasks_list(struct engine *e, const char *service_id,
		      engine_tasks_cb cb, void *arg);
/* GET /nodes. */
int engine_nodes_list(struct engine *e, engine_nodes_cb cb, void *arg);

/* DELETE /networks/{name}. cb gets 0 when it was removed, DW_NOTFOUND
   once the engine has no such network at all, DW_ENGINE_HTTP while the
   removed services' containers still hold it (403; and 500 while the
   manager's own copy lingers after the swarm's is gone): to leave nothing,
   call again until DW_NOTFOUND. */
int engine_network_remove(struct engine *e, const char *name,
			  engine_service_cb cb, void *arg);

/* For `down`, on its own loop: remove every service labelled
   dev.devwatch.project=project, then the overlay network `network`
   (waiting, up to 20 s, until the engine has none).
   Returns how many services, 0 on an engine that is no swarm manager, or
   a negative code with *cause. */
int engine_services_remove_project(struct engine *e, const char *project,
				   const char *network, char **cause);

#endif
