/*
 * YAML to the positioned tree the compose reader walks, through libfyaml
 * (which parses YAML 1.2, rejects duplicate keys and reports line and column
 * marks). Anchors and aliases are followed here rather than with
 * fy_document_resolve(), so that a file whose aliases expand exponentially
 * (a "billion laughs") stops at a node cap instead of exhausting memory.
 * Merge keys follow the YAML merge-key rule: keys written in the mapping win,
 * then the merged mappings in the order listed. Plain scalars are typed by
 * the YAML 1.2 core schema, as compose's YAML library types them; string
 * values, and only they, are interpolated (keys never are).
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "base/error.h"
#include "base/util.h"
#include "project/compose-int.h"

#define NODES_MAX 200000
#define DEPTH_MAX 64

struct yr {
	struct cx *x;
	size_t nodes;
};

static void mark_of(struct fy_node *n, int *line, int *col)
{
	struct fy_token *t = NULL;
	void *it = NULL;

	if (n != NULL && fy_node_is_scalar(n)) {
		t = fy_node_get_scalar_token(n);
	} else if (n != NULL && fy_node_is_mapping(n)) {
		struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);

		if (p != NULL) {
			mark_of(fy_node_pair_key(p), line, col);
			return;
		}
	} else if (n != NULL && fy_node_is_sequence(n)) {
		struct fy_node *k = fy_node_sequence_iterate(n, &it);

		if (k != NULL) {
			mark_of(k, line, col);
			return;
		}
	}
	if (t != NULL && fy_token_start_mark(t) != NULL) {
		enum fy_node_style st = fy_node_get_style(n);

		*line = fy_token_start_mark(t)->line + 1;
		*col = fy_token_start_mark(t)->column + 1;
		/* A quoted scalar's mark is its text; point at the quote. */
		if ((st == FYNS_SINGLE_QUOTED || st == FYNS_DOUBLE_QUOTED) && *col > 1)
			(*col)--;
	}
}

static bool all(const char *s, int (*is)(int))
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!is((unsigned char)*s))
			return false;
	return true;
}

static int isodigit(int c)
{
	return c >= '0' && c <= '7';
}

static bool one_of(const char *s, const char *a, const char *b, const char *c)
{
	return strcmp(s, a) == 0 || strcmp(s, b) == 0 || strcmp(s, c) == 0;
}

/* The core schema's float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float(const char *s)
{
	const char *p = s + (*s == '-' || *s == '+');
	size_t ip = strspn(p, "0123456789"), fp = 0;

	p += ip;
	if (*p == '.') {
		fp = strspn(p + 1, "0123456789");
		p += 1 + fp;
	}
	if (ip == 0 && fp == 0)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		p += *p == '-' || *p == '+';
		if (!isdigit((unsigned char)*p))
			return false;
		p += strspn(p, "0123456789");
	}
	return *p == '\0';
}

/* Type a plain scalar (YAML 1.2 core schema). */
static void type_plain(struct jnode *j)
{
	const char *s = j->str, *d = s + (*s == '-' || *s == '+');

	if (s[0] == '\0' || one_of(s, "~", "null", "Null") || strcmp(s, "NULL") == 0) {
		j->type = J_NULL;
	} else if (one_of(s, "true", "True", "TRUE")) {
		j->type = J_BOOL;
		j->b = true;
	} else if (one_of(s, "false", "False", "FALSE")) {
		j->type = J_BOOL;
	} else if (all(d, isdigit)) {
		j->type = J_NUMBER;
		j->num = strtod(s, NULL);
		j->integral = true;
	} else if (strncmp(s, "0o", 2) == 0 && all(s + 2, isodigit)) {
		j->type = J_NUMBER;
		j->num = (double)strtoull(s + 2, NULL, 8);
		j->integral = true;
	} else if (strncmp(s, "0x", 2) == 0 && all(s + 2, isxdigit)) {
		j->type = J_NUMBER;
		j->num = (double)strtoull(s + 2, NULL, 16);
		j->integral = true;
	} else if (is_float(s)) {
		j->type = J_NUMBER;
		j->num = strtod(s, NULL);
	} else if (one_of(d, ".inf", ".Inf", ".INF") ||
		   one_of(s, ".nan", ".NaN", ".NAN")) {
		j->type = J_NUMBER;
		j->num = tolower((unsigned char)s[1]) == 'n' ? NAN
			 : s[0] == '-' ? -INFINITY : INFINITY;
	}
}

static struct jnode *conv(struct yr *r, struct fy_node *n, int depth,
			  const struct jnode *at);

static struct jnode *count(struct yr *r, struct jnode *j)
{
	if (++r->nodes > NODES_MAX) {
		cx_error(r->x, j, false,
			 "the file expands to more than %d nodes; expected "
			 "aliases that do not multiply",
			 NODES_MAX);
		json_free(j);
		return NULL;
	}
	return j;
}

static struct jnode *scalar(struct yr *r, struct fy_node *n,
			    struct jnode *j)
{
	size_t len;
	const char *s = fy_node_get_scalar(n, &len);
	struct strlist unset = {0};
	char *msg = NULL, *v;

	j->type = J_STRING;
	j->str = xstrndup(s != NULL ? s : "", len);
	if (fy_node_get_tag(n, &len) == NULL && fy_node_get_style(n) == FYNS_PLAIN)
		type_plain(j);
	if (j->type != J_STRING)
		return j;
	if (compose_interpolate(&r->x->env, j->str, &v, &unset, &msg) != 0) {
		cx_error(r->x, j, false, "%s", msg);
		free(msg);
		json_free(j);
		return NULL;
	}
	for (size_t i = 0; i < unset.n; i++)
		cx_warn(r->x, j, false,
			"the \"%s\" variable is not set; defaulting to a blank string",
			unset.v[i]);
	strlist_release(&unset);
	free(j->str);
	j->str = v;
	return j;
}

static bool explicit_key(struct fy_node *map, const char *key)
{
	void *it = NULL;
	struct fy_node_pair *p;

	while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
		size_t len;
		const char *k = fy_node_get_scalar(fy_node_pair_key(p), &len);

		if (k != NULL && len == strlen(key) && memcmp(k, key, len) == 0)
			return true;
	}
	return false;
}

/* Merge one mapping's keys into out, skipping those map writes itself and
   those already merged. */
static int merge_from(struct yr *r, struct fy_node *map, struct fy_node *src,
		      int depth, struct jnode *out, const struct jnode *at)
{
	struct jnode *m;

	if (src != NULL && fy_node_is_alias(src))
		src = fy_node_resolve_alias(src);
	if (src == NULL || !fy_node_is_mapping(src))
		return cx_error(r->x, at, true,
				"merge key '<<' holds something else; expected a mapping, "
				"an alias of one, or a list of them");
	m = conv(r, src, depth + 1, at);
	if (m == NULL)
		return DW_PROJECT;
	for (size_t i = 0; i < m->n; i++) {
		struct jnode *k = &m->kids[i];
		struct jnode *kid = memcpy(xmalloc(sizeof(*k)), k, sizeof(*k));

		if (explicit_key(map, kid->key) || json_get(out, kid->key) != NULL)
			json_free(kid);
		else
			jb_put(out, NULL, kid);
	}
	free(m->kids);
	m->n = 0;
	m->kids = NULL;
	json_free(m);
	return 0;
}

static struct jnode *mapping(struct yr *r, struct fy_node *n, int depth,
			     struct jnode *out)
{
	void *it = NULL;
	struct fy_node_pair *p;

	out->type = J_OBJECT;
	while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
		struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
		struct jnode pos = {0}, *val;
		const char *ks;
		size_t len;

		if (k != NULL && fy_node_is_alias(k))
			k = fy_node_resolve_alias(k);
		mark_of(k, &pos.line, &pos.column);
		pos.key = (char *)"";
		pos.key_line = pos.line;
		pos.key_column = pos.column;
		ks = k != NULL && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &len) : NULL;
		if (ks == NULL) {
			cx_error(r->x, &pos, false, "a key is not a string; expected a name");
			goto error;
		}
		if (len == 2 && memcmp(ks, "<<", 2) == 0 &&
		    fy_node_get_style(k) == FYNS_PLAIN) {
			struct fy_node *src = v != NULL && fy_node_is_alias(v)
						      ? fy_node_resolve_alias(v) : v;
			int err = 0;

			if (src != NULL && fy_node_is_sequence(src)) {
				void *si = NULL;
				struct fy_node *e;

				while (err == 0 && (e = fy_node_sequence_iterate(src, &si)) != NULL)
					err = merge_from(r, n, e, depth, out, &pos);
			} else {
				err = merge_from(r, n, src, depth, out, &pos);
			}
			if (err != 0)
				goto error;
			continue;
		}
		val = conv(r, v, depth + 1, &pos);
		if (val == NULL)
			goto error;
		val->key = xstrndup(ks, len);
		val->key_line = pos.line;
		val->key_column = pos.column;
		jb_put(out, NULL, val);
	}
	return out;
error:
	json_free(out);
	return NULL;
}

static struct jnode *conv(struct yr *r, struct fy_node *n, int depth,
			  const struct jnode *at)
{
	struct jnode *j = jb_new(J_NULL, at);
	size_t len;

	if (depth > DEPTH_MAX) {
		cx_error(r->x, at, false, "the file nests deeper than %d levels", DEPTH_MAX);
		json_free(j);
		return NULL;
	}
	if (n != NULL && fy_node_is_alias(n)) {
		struct fy_node *t = fy_node_resolve_alias(n);

		if (t == NULL) {
			mark_of(n, &j->line, &j->column);
			cx_error(r->x, j, false, "an alias names no anchor");
			json_free(j);
			return NULL;
		}
		n = t;
	}
	mark_of(n, &j->line, &j->column);
	if (count(r, j) == NULL)
		return NULL;
	if (n == NULL)
		return j;
	if (fy_node_get_tag(n, &len) != NULL) {
		char *t = xstrndup(fy_node_get_tag(n, &len), len);

		/* !!str only says what a plain scalar would not. */
		if (strcmp(t, "!!str") != 0 && strcmp(t, "tag:yaml.org,2002:str") != 0) {
			struct fy_token *tt = fy_node_get_tag_token(n);

			if (tt != NULL && fy_token_start_mark(tt) != NULL) {
				j->line = fy_token_start_mark(tt)->line + 1;
				j->column = fy_token_start_mark(tt)->column + 1;
			}
			cx_error(r->x, j, false, "tag '%s' is not supported yet", t);
			free(t);
			json_free(j);
			return NULL;
		}
		free(t);
	}
	if (fy_node_is_scalar(n))
		return scalar(r, n, j);
	if (fy_node_is_mapping(n))
		return mapping(r, n, depth, j);
	j->type = J_ARRAY;
	for (void *it = NULL;;) {
		struct fy_node *e = fy_node_sequence_iterate(n, &it);
		struct jnode *v;

		if (e == NULL)
			break;
		v = conv(r, e, depth + 1, j);
		if (v == NULL) {
			json_free(j);
			return NULL;
		}
		jb_put(j, NULL, v);
	}
	return j;
}

/* The first error libfyaml reports, from its "SOURCE:LINE:COL: error: MSG"
   line (collecting errors instead leaks in libfyaml 0.7 when a build
   fails). */
struct first_error {
	bool got;
	int line, column;
	char msg[256];
};

static void on_diag(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
	struct first_error *fe = user;
	char text[512], *e, *c2, *c1;

	if (fe->got || len >= sizeof(text))
		return;
	memcpy(text, buf, len);
	text[len] = '\0';
	if ((e = strstr(text, ": error: ")) == NULL)
		return;
	*e = '\0';
	snprintf(fe->msg, sizeof(fe->msg), "%.*s", (int)strcspn(e + 9, "\n"), e + 9);
	c2 = strrchr(text, ':');
	if (c2 != NULL) {
		*c2 = '\0';
		c1 = strrchr(text, ':');
		fe->column = atoi(c2 + 1);
		fe->line = c1 != NULL ? atoi(c1 + 1) : 0;
	}
	fe->got = true;
}

int compose_yaml_read(struct cx *x, const char *text, size_t len,
		      struct jnode **out)
{
	struct fy_diag_cfg dc;
	struct fy_diag *diag;
	struct fy_parse_cfg cfg = {0};
	struct fy_parser *fyp;
	struct fy_document *doc, *more;
	struct first_error fe = {0};
	struct yr r = {.x = x};
	struct jnode top = {.line = 1, .column = 1};
	int err = 0;

	fy_diag_cfg_default(&dc);
	dc.fp = NULL;
	dc.output_fn = on_diag;
	dc.user = &fe;
	dc.colorize = false;
	dc.show_source = false;
	dc.show_position = true;
	diag = fy_diag_create(&dc);
	if (diag == NULL)
		abort();
	cfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2;
	cfg.diag = diag;
	fyp = fy_parser_create(&cfg);
	if (fyp == NULL || fy_parser_set_string(fyp, text, len) != 0)
		abort();
	doc = fy_parse_load_document(fyp);
	if (doc != NULL && !fe.got && (more = fy_parse_load_document(fyp)) != NULL) {
		mark_of(fy_document_root(more), &top.line, &top.column);
		err = cx_error(x, &top, false, "a second YAML document in the file is not "
			       "supported yet");
		fy_parse_document_destroy(fyp, more);
	} else if (fe.got) {
		if (fe.line > 0) {
			top.line = fe.line;
			top.column = fe.column > 0 ? fe.column : 1;
		}
		err = cx_error(x, &top, false, "invalid YAML: %s", fe.msg);
	} else if (doc == NULL || fy_document_root(doc) == NULL) {
		err = cx_error(x, &top, false,
			       "the file is empty; expected a mapping with 'services'");
	} else {
		*out = conv(&r, fy_document_root(doc), 0, &top);
		if (*out == NULL)
			err = DW_PROJECT;
	}
	fy_parse_document_destroy(fyp, doc);
	fy_parser_destroy(fyp);
	fy_diag_unref(diag);
	return err;
}
