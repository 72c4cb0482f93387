/*
 * The engine's container list, checked. See listing.h.
 */
#include "build/listing.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/util.h"
#include "build/container.h"
#include "engine/engine.h"

static char *string_or(const cJSON *v, const char *dflt)
{
	return xstrdup(cJSON_IsString(v) ? v->valuestring : dflt);
}

/* A port number as the engine gives it: a JSON integer in 1..65535. */
static int port_of(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 65535 ||
	    v->valuedouble != (double)(int)v->valuedouble)
		return 0;
	return (int)v->valuedouble;
}

static void parse_ports(struct container_entry *ce, const cJSON *ports)
{
	const cJSON *pt;

	if (!cJSON_IsArray(ports))
		return;
	cJSON_ArrayForEach(pt, ports) {
		int pub = port_of(cJSON_GetObjectItemCaseSensitive(pt, "PublicPort"));
		int priv = port_of(cJSON_GetObjectItemCaseSensitive(pt, "PrivatePort"));

		if (pub == 0 || priv == 0)
			continue; /* not published */
		ce->ports = xreallocarray(ce->ports, ce->n_ports + 1, sizeof(*ce->ports));
		ce->ports[ce->n_ports].public_port = pub;
		ce->ports[ce->n_ports].private_port = priv;
		ce->n_ports++;
	}
}

static int parse_entry(struct container_entry *ce, const cJSON *it, size_t i,
		       char **cause)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "Id");
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(it, "Names");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(it, "Labels");
	const cJSON *first = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, 0) : NULL;
	const char *name;

	if (!cJSON_IsObject(it)) {
		dw_cause(cause, "container list entry %zu is not an object", i);
		return DW_ENGINE_PROTO;
	}
	if (!cJSON_IsString(id) || !engine_id_ok(id->valuestring)) {
		dw_cause(cause, "container list entry %zu has no valid 'Id'", i);
		return DW_ENGINE_PROTO;
	}
	ce->id = xstrdup(id->valuestring);
	name = cJSON_IsString(first) && first->valuestring[0] != '\0'
		       ? first->valuestring : "?";
	if (name[0] == '/' && name[1] != '\0')
		name++;
	ce->name = xstrdup(name);
	if (!cJSON_IsObject(labels))
		labels = NULL;
	ce->container = string_or(cJSON_GetObjectItemCaseSensitive(labels, LABEL_CONTAINER), "");
	ce->replica = string_or(cJSON_GetObjectItemCaseSensitive(labels, LABEL_REPLICA), "");
	ce->state = string_or(cJSON_GetObjectItemCaseSensitive(it, "State"), "");
	parse_ports(ce, cJSON_GetObjectItemCaseSensitive(it, "Ports"));
	return 0;
}

int container_list_parse(const char *json, size_t len,
			 struct container_list *out, char **cause)
{
	cJSON *a = cJSON_ParseWithLength(json, len);
	const cJSON *it;
	size_t i = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsArray(a)) {
		dw_cause(cause, "the container list is not a JSON array");
		cJSON_Delete(a);
		return DW_ENGINE_PROTO;
	}
	out->v = xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*out->v));
	cJSON_ArrayForEach(it, a) {
		err = parse_entry(&out->v[out->n++], it, i++, cause);
		if (err != 0)
			break;
	}
	cJSON_Delete(a);
	return err;
}

void container_list_free(struct container_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct container_entry *ce = &l->v[i];

		free(ce->id);
		free(ce->name);
		free(ce->container);
		free(ce->replica);
		free(ce->state);
		free(ce->ports);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}
