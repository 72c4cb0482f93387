/*
 * The project-file model: devwatch.json parsed, validated and resolved.
 *
 * project_load() reads the file (JSON with line and block comments), checks
 * every key against the key table (project/keys.c), resolves paths against
 * the file's folder, and returns a fully validated model or an error that
 * names file:line:column and what was expected. Nothing downstream needs to
 * re-validate. All strings are owned by the project and freed with it.
 */
#ifndef DW_PROJECT_PROJECT_H
#define DW_PROJECT_PROJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct project;
struct project_container;

/* A string list as read from the file, in order. */
struct strlist {
	char **v;
	size_t n;
};

/* "KEY" -> "VALUE", in file order (env, build args). */
struct kv {
	char *key;
	char *value;
};
struct kvlist {
	struct kv *v;
	size_t n;
};

enum pull_policy { PULL_MISSING = 0, PULL_ALWAYS, PULL_NEVER };
enum restart_policy { RESTART_NEVER = 0, RESTART_ALWAYS, RESTART_ON_FAILURE };

struct port_map {
	int host;	   /* 0: the engine picks a free port */
	int container;	   /* 1..65535 */
	char *protocol;	   /* "tcp" (default), "udp", or "http" (tcp, and
			      the URL printed is http://) */
	char *host_ip;	   /* "" = all; e.g. "127.0.0.1" */
};

struct mount {
	char *type;	/* "bind" | "volume" | "tmpfs" */
	char *source;	/* bind: absolute host path (resolved); volume: name */
	char *target;	/* absolute path in the container */
	bool read_only;
};

struct probe {
	bool set;
	char *http_path;     /* "/health", or NULL when a command probe */
	int port;	     /* container port for http; default: first port */
	char **cmd;	     /* argv (NULL-terminated) for a command probe */
	int interval_ms;     /* default 100 for readiness, 5000 liveness */
	int timeout_ms;	     /* per attempt; default 1000 */
	int start_timeout_ms;/* readiness: give up after; default 60000 */
	int retries;	     /* liveness: failures before restart; default 3 */
};

enum live_step_kind {
	STEP_FALL_BACK_ON,
	STEP_SYNC,
	STEP_RUN,
	STEP_RESTART,
};

struct live_step {
	enum live_step_kind kind;
	int line, column;	 /* where the step stands in the file */
	/* STEP_FALL_BACK_ON: globs relative to the project root */
	struct strlist globs;
	/* STEP_SYNC */
	char *from;		 /* relative to the project root, normalised,
				    no trailing '/', "." for the root */
	char *to;		 /* absolute container path, normalised */
	/* STEP_RUN */
	char *cmd;		 /* shell command run with sh -c */
	char **argv;		 /* or exec form (NULL-terminated), or NULL */
	struct strlist triggers; /* globs relative to the project root;
				    empty = always */
	/* STEP_RESTART */
	bool restart;
};

/* network: the project's own network, another container's namespace (a
   sidecar), the host's, or none. */
enum net_mode { NET_PROJECT = 0, NET_CONTAINER, NET_HOST, NET_NONE };

/* depends_on conditions, in the order they are reached. */
enum dep_cond { DEP_STARTED = 0, DEP_READY, DEP_COMPLETED };

struct depend {
	char *name;		/* another container of the project */
	enum dep_cond cond;
	int line, column;	/* where the entry stands */
};

/* A path copied out of the container into sink when it stops. */
struct dataset {
	char *path;		/* absolute container path, normalised */
	char *sink;		/* relative to the project root, normalised */
	char *sink_abs;		/* absolute */
};

/* gpus: engine DeviceRequests (needs the NVIDIA container runtime). */
struct gpu_request {
	bool set;
	int count;		/* -1 = all */
	struct strlist device_ids;
	struct strlist capabilities; /* default ["gpu"] */
};

struct build_spec {
	char *context;	       /* relative to the project root, normalised */
	char *context_abs;     /* absolute */
	char *dockerfile;      /* relative to the context (as the engine wants) */
	char *dockerfile_abs;  /* absolute */
	struct kvlist args;
	char *target;	       /* NULL = last stage */
};

struct project_container {
	char *name;		/* key under "containers" */
	int line, column;
	/* Exactly one of image / build is set. */
	char *image;		/* registry reference, or NULL */
	enum pull_policy pull;
	struct build_spec *build; /* NULL when image is set */
	char **cmd;		/* NULL-terminated argv, or NULL = image's */
	char **entrypoint;	/* NULL-terminated argv, or NULL = image's */
	struct kvlist env;
	char *workdir;
	char *user;
	struct port_map *ports;
	size_t n_ports;
	struct mount *mounts;
	size_t n_mounts;
	double cpus;		/* limit; 0 = unlimited */
	int64_t memory;		/* limit in bytes; 0 = unlimited ("512m", "1g") */
	double cpus_request;	/* reservation; 0 = none */
	int64_t memory_request;	/* reservation in bytes; 0 = none */
	struct gpu_request gpus;
	enum net_mode network;
	char *network_of;	/* NET_CONTAINER: the container whose network
				   namespace this one joins */
	int network_line, network_column;
	struct strlist aliases;	/* extra names on the project network */
	struct depend *depends;
	size_t n_depends;
	bool job;		/* runs to completion; exit 0 is success */
	bool function;		/* takes invocations through the Lambda
				   Runtime API devwatch serves it */
	struct dataset *datasets;
	size_t n_datasets;
	char *stop_signal;	/* NULL = the image's */
	int stop_grace_ms;	/* default 3000 */
	struct strlist env_files; /* absolute paths */
	struct kvlist file_env;	/* their contents; env overrides them */
	bool init;		/* run an init as PID 1 */
	enum restart_policy restart;
	int max_restarts;	/* on-failure only; 0 = unlimited */
	int replicas;		/* >= 1, default 1 */
	bool tty;
	bool stdin_open;
	struct probe readiness;
	struct probe liveness;
	struct live_step *steps;
	size_t n_steps;
	/* XXH3-128 of everything that shapes the container as created (not
	   live_update), as 32 hex chars: the dev.devwatch.config-hash label. */
	char config_hash[33];
};

struct project {
	char *file;		/* path as given */
	char *root;		/* absolute folder of the file */
	char *name;		/* "name", or the root folder's base name,
				   lowercased and cleaned for engine names */
	struct strlist ignore;	/* globs relative to the root */
	struct project_container *containers;
	size_t n_containers;	/* in file order */
	/* Indexes into containers in a start order: every container after
	   what it depends on and after the container whose network it
	   joins. */
	size_t *order;
	char *publish_registry;	/* "HOST[:PORT]/PREFIX", or NULL */
	char *publish_tag;	/* the user tag `push` adds; default "latest" */
	struct kvlist swarm_nodes; /* "swarm.nodes": hostname -> engine address */
	int swarm_port;		/* "swarm.port"; 0 = unset (2375) */
};

/*
 * Read and validate a project file. Returns 0 and sets *out (free with
 * project_free), or a negative code: DW_PROJECT for anything wrong with the
 * file's content, a UV_E* code when it cannot be read. *cause then holds e.g.
 * "devwatch.json:12:7: unknown key 'prots' in container 'web' (did you mean
 * 'ports'?)".
 */
int project_load(const char *path, struct project **out, char **cause);
/* Parse from memory; `path` is used for messages and to resolve paths. */
int project_parse(const char *path, const char *text, size_t len,
		  struct project **out, char **cause);
void project_free(struct project *p);

struct project_container *project_find(struct project *p, const char *name);
/* The engine address swarm.nodes gives for a node's hostname, or NULL. */
const char *project_swarm_node(const struct project *p, const char *hostname);

/* Engine-safe names: "<project>-<container>-<replica>" (replica from 1). */
char *project_container_instance(const struct project *p,
				 const struct project_container *c,
				 int replica);
/* The project's network: "devwatch-<project>". Caller frees. */
char *project_network_name(const struct project *p);
/* "devwatch/<project>-<container>" for built images. */
/* Is the project-relative path rel under one of c's sync rules (its
   `from`, or ".")? */
bool project_container_synced(const struct project_container *c,
			      const char *rel);
char *project_image_repo(const struct project *p,
			 const struct project_container *c);

/* Print every key of the file format with its type and help (--help). */
void project_print_keys(FILE *f);

#endif
