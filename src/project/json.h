/*
 * A strict JSON reader that remembers where every value stands, for error
 * messages that name line and column (cJSON keeps no positions). It accepts
 * `//` and block comments, as devwatch.json allows, rejects duplicate keys,
 * and caps nesting depth and input size.
 */
#ifndef DW_PROJECT_JSON_H
#define DW_PROJECT_JSON_H

#include <stdbool.h>
#include <stddef.h>

enum jtype { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct jnode {
	enum jtype type;
	int line, column;
	bool b;
	double num;
	bool integral;	    /* the number had no fraction or exponent */
	char *str;	    /* J_STRING (NUL-terminated; may hold no NUL) */
	struct jnode *kids; /* J_ARRAY, J_OBJECT */
	size_t n;
	char *key;	    /* when a member of an object */
	int key_line, key_column;
};

/* Parse text. Returns the root, or NULL with *cause "LINE:COL: ..." */
struct jnode *json_parse(const char *text, size_t len, char **cause);
void json_free(struct jnode *n);
/* The member named key of an object, or NULL. */
const struct jnode *json_get(const struct jnode *obj, const char *key);
const char *json_type_name(enum jtype t);

#endif
