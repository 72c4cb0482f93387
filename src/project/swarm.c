/*
 * The project file's "swarm" object, for `up --swarm` (DESIGN.md section
 * 13): where each node's engine is, since a swarm has no exec across
 * nodes (moby#27552) and a live update must go through the engine of the
 * node that runs the task.
 *
 *   "swarm": { "nodes": { "HOSTNAME": "tcp://ADDR:PORT", ... },
 *              "port": 2375 }
 *
 * A node not named in "nodes" is reached at its Status.Addr (what the
 * manager reports) and "port".
 */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "project/keys.h"
#include "project/project-int.h"

#define perr pctx_error

static int parse_nodes(struct pctx *x, const struct jnode *n,
		       struct project *p)
{
	int err = pctx_kvlist(x, n, "swarm.nodes", &p->swarm_nodes);

	if (err != 0)
		return err;
	for (size_t i = 0; i < n->n; i++) {
		const struct jnode *k = &n->kids[i];
		const char *v = p->swarm_nodes.v[i].value;

		if (k->type != J_STRING ||
		    !(str_starts(v, "tcp://") || str_starts(v, "ssh://") ||
		      str_starts(v, "unix://")) ||
		    strpbrk(v, " \t\n") != NULL)
			return perr(x, k, false,
				    "swarm.nodes.%s '%s': expected an engine "
				    "address such as \"tcp://10.0.0.2:2375\"",
				    k->key, v);
	}
	return 0;
}

int project_parse_swarm(struct pctx *x, const struct jnode *n,
			struct project *p)
{
	const struct jnode *k;
	int err = pctx_type(x, n, J_OBJECT, "swarm");

	if (err == 0)
		err = pctx_keys(x, n, KEYS_SWARM, "'swarm'");
	if (err == 0 && (k = json_get(n, "nodes")) != NULL)
		err = parse_nodes(x, k, p);
	if (err == 0 && (k = json_get(n, "port")) != NULL)
		err = pctx_int(x, k, "swarm.port", 1, 65535, &p->swarm_port);
	return err;
}

const char *project_swarm_node(const struct project *p, const char *hostname)
{
	for (size_t i = 0; i < p->swarm_nodes.n; i++)
		if (strcmp(p->swarm_nodes.v[i].key, hostname) == 0)
			return p->swarm_nodes.v[i].value;
	return NULL;
}
