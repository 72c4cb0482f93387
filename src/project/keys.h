/*
 * The key table: which keys each level of devwatch.json allows.
 */
#ifndef DW_PROJECT_KEYS_H
#define DW_PROJECT_KEYS_H

#include <stdbool.h>

enum key_level {
	KEYS_TOP = 1,
	KEYS_CONTAINER,
	KEYS_BUILD,
	KEYS_PORT,
	KEYS_MOUNT,
	KEYS_RESOURCES,
	KEYS_RESTART,
	KEYS_PROBE,
	KEYS_STEP,
	KEYS_SYNC,
	KEYS_RUN,
	KEYS_LIMIT,
	KEYS_GPUS,
	KEYS_DATASET,
	KEYS_PUBLISH,
	KEYS_SWARM,
};

struct key_info {
	int level;
	const char *name;
	const char *type;
	const char *help;
};

extern const struct key_info project_keys[];

bool keys_known(int level, const char *key);
/* The nearest known key at that level, or NULL when none is close. */
const char *keys_suggest(int level, const char *key);
/* The same hint among names (NULL-terminated), for other key tables. */
const char *keys_nearest(const char *key, const char *const *names);

#endif
