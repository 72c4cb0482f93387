/*
 * The key table of devwatch.json: every key at every level, with its type and
 * a line of help. The validator checks unknown keys against it (with a "did
 * you mean" from the nearest name) and `devwatch check --keys` prints it.
 */
#include "project/keys.h"

#include <stdlib.h>
#include <string.h>

const struct key_info project_keys[] = {
	{KEYS_TOP, "name", "string", "project name; default: the folder's name"},
	{KEYS_TOP, "ignore", "[glob]", "paths never watched or synced"},
	{KEYS_TOP, "swarm", "object", "{nodes, port}: each swarm node's engine, for up --swarm"},
	{KEYS_TOP, "containers", "object", "one entry per container"},
	{KEYS_TOP, "publish", "object", "{registry, tag}: where `devwatch push` sends built images"},
	{KEYS_CONTAINER, "image", "string", "registry image (or use build)"},
	{KEYS_CONTAINER, "pull", "string", "missing | always | never (default missing)"},
	{KEYS_CONTAINER, "build", "object", "build an image from a context"},
	{KEYS_CONTAINER, "cmd", "string|[string]", "command; a string runs with sh -c"},
	{KEYS_CONTAINER, "entrypoint", "string|[string]", "entrypoint override"},
	{KEYS_CONTAINER, "env", "object", "environment variables"},
	{KEYS_CONTAINER, "workdir", "string", "absolute working directory"},
	{KEYS_CONTAINER, "user", "string", "user[:group] to run as"},
	{KEYS_CONTAINER, "ports", "[port]", "\"8080:80\", \"80\" or {host, container, protocol}"},
	{KEYS_CONTAINER, "mounts", "[mount]", "\"src:dst[:ro]\" or {type, source, target, readonly}"},
	{KEYS_CONTAINER, "resources", "object", "{cpus, memory}, each a limit or {request, limit}"},
	{KEYS_CONTAINER, "gpus", "string|integer|object", "\"all\", a count, or {count, device_ids, capabilities}"},
	{KEYS_CONTAINER, "restart", "string|object", "never | always | on-failure, or {policy, max_restarts}"},
	{KEYS_CONTAINER, "replicas", "integer", "how many copies (default 1)"},
	{KEYS_CONTAINER, "tty", "boolean", "allocate a terminal"},
	{KEYS_CONTAINER, "stdin", "boolean", "keep stdin open"},
	{KEYS_CONTAINER, "readiness", "probe", "{http, port} or {cmd}: when it counts as ready"},
	{KEYS_CONTAINER, "liveness", "probe", "{http, port} or {cmd}: restart when it fails"},
	{KEYS_CONTAINER, "live_update", "[step]", "fall_back_on, sync, run, restart_container steps"},
	{KEYS_CONTAINER, "network", "string", "\"container:NAME\" (a sidecar), \"host\" or \"none\"; default: the project's"},
	{KEYS_CONTAINER, "aliases", "[string]", "more names on the project network"},
	{KEYS_CONTAINER, "depends_on", "object", "NAME: started | ready | completed; start after those"},
	{KEYS_CONTAINER, "job", "boolean", "run to completion; exit 0 is success"},
	{KEYS_CONTAINER, "function", "boolean", "takes invocations through the AWS Lambda Runtime API devwatch serves it"},
	{KEYS_CONTAINER, "datasets", "[dataset]", "{path, sink}: copied out when the container stops"},
	{KEYS_CONTAINER, "stop_signal", "string", "signal that stops it, e.g. SIGINT (default: the image's)"},
	{KEYS_CONTAINER, "stop_grace", "duration", "wait before killing it on stop (default 3s)"},
	{KEYS_CONTAINER, "env_file", "string|[string]", "files of KEY=VALUE lines; env overrides them"},
	{KEYS_CONTAINER, "init", "boolean", "run an init process as PID 1"},
	{KEYS_BUILD, "context", "string", "build context folder (default \".\")"},
	{KEYS_BUILD, "dockerfile", "string", "relative to the context (default Dockerfile)"},
	{KEYS_BUILD, "args", "object", "build arguments"},
	{KEYS_BUILD, "target", "string", "stage to build"},
	{KEYS_PORT, "host", "integer", "host port; 0 picks a free one"},
	{KEYS_PORT, "container", "integer", "container port"},
	{KEYS_PORT, "protocol", "string", "tcp | udp | http"},
	{KEYS_PORT, "host_ip", "string", "address to bind on the host"},
	{KEYS_MOUNT, "type", "string", "bind | volume | tmpfs (default bind)"},
	{KEYS_MOUNT, "source", "string", "host path (relative to the project) or volume name"},
	{KEYS_MOUNT, "target", "string", "absolute path in the container"},
	{KEYS_MOUNT, "readonly", "boolean", "mount read-only"},
	{KEYS_RESOURCES, "cpus", "number|object", "CPU limit, e.g. 0.5, or {request, limit}"},
	{KEYS_RESOURCES, "memory", "string|integer|object", "memory limit: bytes, or \"512m\", \"1g\", or {request, limit}"},
	{KEYS_RESTART, "policy", "string", "never | always | on-failure"},
	{KEYS_RESTART, "max_restarts", "integer", "on-failure: give up after this many"},
	{KEYS_PROBE, "http", "string", "path to GET; 2xx or 3xx means ready"},
	{KEYS_PROBE, "port", "integer", "container port (default: the first)"},
	{KEYS_PROBE, "cmd", "string|[string]", "command run in the container; exit 0 means ready"},
	{KEYS_PROBE, "interval", "duration", "between attempts, e.g. \"100ms\""},
	{KEYS_PROBE, "timeout", "duration", "per attempt"},
	{KEYS_PROBE, "start_timeout", "duration", "readiness: give up after"},
	{KEYS_PROBE, "retries", "integer", "liveness: failures before a restart"},
	{KEYS_STEP, "fall_back_on", "[glob]", "a change here rebuilds instead"},
	{KEYS_STEP, "sync", "object", "{from, to}: copy changed files in"},
	{KEYS_STEP, "run", "object", "{cmd, trigger}: run in the container after syncing"},
	{KEYS_STEP, "restart_container", "boolean", "restart after the steps"},
	{KEYS_SYNC, "from", "string", "folder or file relative to the project"},
	{KEYS_SYNC, "to", "string", "absolute path in the container"},
	{KEYS_RUN, "cmd", "string|[string]", "command; a string runs with sh -c"},
	{KEYS_RUN, "trigger", "[glob]", "run only when a changed path matches"},
	{KEYS_LIMIT, "request", "number|string", "reserved for the container"},
	{KEYS_LIMIT, "limit", "number|string", "the most it may use"},
	{KEYS_GPUS, "count", "integer|string", "how many GPUs, or \"all\""},
	{KEYS_GPUS, "device_ids", "[string]", "GPUs by ID instead of a count"},
	{KEYS_GPUS, "capabilities", "[string]", "driver capabilities (default [\"gpu\"])"},
	{KEYS_DATASET, "path", "string", "absolute path in the container"},
	{KEYS_DATASET, "sink", "string", "folder inside the project that receives it"},
	{KEYS_PUBLISH, "registry", "string", "HOST[:PORT]/PREFIX to push built images to"},
	{KEYS_PUBLISH, "tag", "string", "tag pushed beside the content hash (default latest)"},
	{KEYS_SWARM, "nodes", "object", "HOSTNAME: engine address (\"tcp://ADDR:PORT\") of each node"},
	{KEYS_SWARM, "port", "integer", "engine port at a node's Status.Addr when nodes does not name it (default 2375)"},
	{0, NULL, NULL, NULL},
};

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins)
					   : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(size_t) * (lb + 1));
	}
	return prev[lb];
}

bool keys_known(int level, const char *key)
{
	for (const struct key_info *k = project_keys; k->name != NULL; k++)
		if (k->level == level && strcmp(k->name, key) == 0)
			return true;
	return false;
}

const char *keys_suggest(int level, const char *key)
{
	const char *best = NULL;
	size_t best_d = 99, len = strlen(key);

	for (const struct key_info *k = project_keys; k->name != NULL; k++) {
		size_t d;

		if (k->level != level)
			continue;
		d = edit_distance(key, k->name);
		if (d < best_d) {
			best_d = d;
			best = k->name;
		}
	}
	/* Only a near miss is a useful hint. */
	return best_d <= (len > 5 ? 3u : 2u) ? best : NULL;
}

const char *keys_nearest(const char *key, const char *const *names)
{
	const char *best = NULL;
	size_t best_d = 99, len = strlen(key);

	for (size_t i = 0; names[i] != NULL; i++) {
		size_t d = edit_distance(key, names[i]);

		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	return best_d <= (len > 5 ? 3u : 2u) ? best : NULL;
}
