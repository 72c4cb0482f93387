/*
 * Fuzz target: the engine's JSON answers. The first byte picks the reader:
 * 0 an inspect answer (container_info_parse, for a container with two
 * ports), 1 a container list (container_list_parse, what status, down and
 * logs read), 2 a GET /version answer (engine_api_parse), 3 an error body
 * (engine_error_message). Whatever comes out must be fit to use: ids that
 * can go into URLs, ports in range, an API version of digits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "build/container.h"
#include "build/listing.h"
#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void info(const char *s, size_t n)
{
	struct port_map ports[2] = {{.container = 80, .protocol = (char *)"tcp"},
				    {.container = 53, .protocol = (char *)"udp"}};
	struct project_container c = {.ports = ports, .n_ports = 2};
	struct container_info ci;

	if (container_info_parse(s, n, &c, &ci) == 0) {
		if (!engine_id_ok(ci.id) || ci.image == NULL || ci.n_ports != 2)
			abort();
		for (size_t i = 0; i < ci.n_ports; i++)
			if (ci.host_ports[i] < 0 || ci.host_ports[i] > 65535)
				abort();
	} else if (ci.id != NULL || ci.host_ports != NULL) {
		abort();
	}
	container_info_free(&ci);
}

static void list(const char *s, size_t n)
{
	struct container_list l;
	char *cause = NULL;

	if (container_list_parse(s, n, &l, &cause) == 0) {
		for (size_t i = 0; i < l.n; i++) {
			const struct container_entry *ce = &l.v[i];

			if (!engine_id_ok(ce->id) || ce->name[0] == '\0' ||
			    ce->container == NULL || ce->replica == NULL || ce->state == NULL)
				abort();
			for (size_t k = 0; k < ce->n_ports; k++)
				if (ce->ports[k].public_port < 1 || ce->ports[k].public_port > 65535 ||
				    ce->ports[k].private_port < 1 || ce->ports[k].private_port > 65535)
					abort();
		}
	} else if (cause == NULL) {
		abort();
	}
	container_list_free(&l);
	free(cause);
}

static void version(const char *s, size_t n)
{
	char api[16];

	if (engine_api_parse(s, n, api, sizeof(api)) == 0)
		if (strspn(api, "0123456789.") != strlen(api) || strchr(api, '.') == NULL)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;

	dw_log_level = -1;
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0: info(s, size - 1); break;
	case 1: list(s, size - 1); break;
	case 2: version(s, size - 1); break;
	default: free(engine_error_message(s, size - 1)); break;
	}
	return 0;
}
