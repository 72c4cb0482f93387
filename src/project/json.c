/*
 * The positioned JSON reader. See json.h. A recursive-descent parser over the
 * whole text, as small as the grammar; depth is capped so hostile input
 * cannot exhaust the stack.
 */
#include "project/json.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/error.h"
#include "base/util.h"

#define JSON_MAX_DEPTH 64
#define JSON_MAX_SIZE (4u << 20)

struct jparser {
	const char *s, *end, *p;
	int line;
	const char *line_start;
	char **cause;
	int depth;
};

static int col(const struct jparser *j, const char *at)
{
	return (int)(at - j->line_start) + 1;
}

static struct jnode *fail(struct jparser *j, const char *at, const char *fmt,
			  const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg);
	dw_cause(j->cause, "%d:%d: %s", j->line, col(j, at), msg);
	return NULL;
}

static bool skip_space(struct jparser *j)
{
	while (j->p < j->end) {
		char c = *j->p;

		if (c == '\n') {
			j->line++;
			j->line_start = ++j->p;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			j->p++;
		} else if (c == '/' && j->p + 1 < j->end && j->p[1] == '/') {
			while (j->p < j->end && *j->p != '\n')
				j->p++;
		} else if (c == '/' && j->p + 1 < j->end && j->p[1] == '*') {
			const char *start = j->p;
			int l = j->line, cl = col(j, start);

			j->p += 2;
			for (;;) {
				if (j->p + 1 >= j->end) {
					dw_cause(j->cause,
						 "%d:%d: unterminated comment; "
						 "expected '*/'",
						 l, cl);
					return false;
				}
				if (j->p[0] == '*' && j->p[1] == '/') {
					j->p += 2;
					break;
				}
				if (*j->p == '\n') {
					j->line++;
					j->line_start = j->p + 1;
				}
				j->p++;
			}
		} else {
			break;
		}
	}
	return true;
}

static struct jnode *parse_value(struct jparser *j);

static void put_utf8(char **o, uint32_t cp)
{
	char *d = *o;

	if (cp < 0x80) {
		*d++ = (char)cp;
	} else if (cp < 0x800) {
		*d++ = (char)(0xC0 | cp >> 6);
		*d++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*d++ = (char)(0xE0 | cp >> 12);
		*d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*d++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*d++ = (char)(0xF0 | cp >> 18);
		*d++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*d++ = (char)(0x80 | (cp & 0x3F));
	}
	*o = d;
}

static int hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* At the opening quote. Returns a malloc'd string or NULL. */
static char *parse_string(struct jparser *j)
{
	const char *start = j->p++, *q = j->p;
	char *out, *o;

	/* Decoded text is never longer than its source, up to the closing
	   quote (not the rest of the input: that made a file of many short
	   strings quadratic). */
	while (q < j->end && *q != '"')
		q += *q == '\\' && q + 1 < j->end ? 2 : 1;
	out = o = xmalloc((size_t)(q - j->p) + 1);
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20) {
			fail(j, j->p, "%scontrol character in a string; "
				      "expected '\\n' and the like",
			     "");
			free(out);
			return NULL;
		}
		if (c != '\\') {
			*o++ = (char)c;
			j->p++;
			continue;
		}
		if (j->p + 1 >= j->end) {
			fail(j, start, "%sunterminated string; expected '\"'", "");
			free(out);
			return NULL;
		}
		switch (j->p[1]) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			uint32_t cp, lo;

			if (j->end - j->p < 6 || hex4(j->p + 2, &cp) != 0) {
				fail(j, j->p, "%sbad \\u escape; expected 4 hex digits", "");
				free(out);
				return NULL;
			}
			if (cp == 0) {
				/* Strings are NUL-terminated: a NUL would cut
				   them short without a word. */
				fail(j, j->p, "%s\\u0000 in a string; expected no NUL character", "");
				free(out);
				return NULL;
			}
			j->p += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && j->end - j->p >= 8 &&
			    j->p[2] == '\\' && j->p[3] == 'u' &&
			    hex4(j->p + 4, &lo) == 0 && lo >= 0xDC00 &&
			    lo < 0xE000) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				j->p += 6;
			}
			put_utf8(&o, cp);
			break;
		}
		default:
			fail(j, j->p, "%sunknown escape; expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u", "");
			free(out);
			return NULL;
		}
		j->p += 2;
	}
	if (j->p >= j->end) {
		fail(j, start, "%sunterminated string; expected '\"'", "");
		free(out);
		return NULL;
	}
	j->p++;
	*o = '\0';
	return out;
}

static struct jnode *new_node(struct jparser *j, enum jtype t)
{
	struct jnode *n = xcalloc(1, sizeof(*n));

	n->type = t;
	n->line = j->line;
	n->column = col(j, j->p);
	return n;
}

static bool word(struct jparser *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) >= n && memcmp(j->p, w, n) == 0) {
		j->p += n;
		return true;
	}
	return false;
}

static void push(struct jnode *parent, struct jnode *kid)
{
	size_t n = parent->n;

	/* Doubling: grow when n is 0 or a power of two. */
	if ((n & (n - 1)) == 0)
		parent->kids = xreallocarray(parent->kids, n ? 2 * n : 1,
					     sizeof(*kid));
	parent->kids[parent->n++] = *kid;
	free(kid);
}

/* The keys of the object being read, for the duplicate check: open
   addressing over the key strings (which the members own), so an object
   of n keys costs O(n), not the O(n^2) of comparing each with all before. */
struct keyset {
	const char **slot; /* NULL = empty */
	size_t cap;	   /* 0, or a power of two */
	size_t n;
};

static size_t key_slot(const struct keyset *ks, const char *key)
{
	size_t i = (size_t)XXH3_64bits(key, strlen(key)) & (ks->cap - 1);

	while (ks->slot[i] != NULL && strcmp(ks->slot[i], key) != 0)
		i = (i + 1) & (ks->cap - 1);
	return i;
}

/* Add key. False when it is there already. */
static bool keyset_add(struct keyset *ks, const char *key)
{
	size_t i;

	if (2 * (ks->n + 1) > ks->cap) {
		struct keyset big = {.cap = ks->cap ? 2 * ks->cap : 16};

		big.slot = xcalloc(big.cap, sizeof(*big.slot));
		for (size_t k = 0; k < ks->cap; k++)
			if (ks->slot[k] != NULL)
				big.slot[key_slot(&big, ks->slot[k])] = ks->slot[k];
		big.n = ks->n;
		free(ks->slot);
		*ks = big;
	}
	i = key_slot(ks, key);
	if (ks->slot[i] != NULL)
		return false;
	ks->slot[i] = key;
	ks->n++;
	return true;
}

static struct jnode *parse_container(struct jparser *j, bool object)
{
	struct jnode *n = new_node(j, object ? J_OBJECT : J_ARRAY), *v;
	char close = object ? '}' : ']';
	struct keyset keys = {0};

	if (++j->depth > JSON_MAX_DEPTH) {
		fail(j, j->p, "%snested too deeply", "");
		goto error;
	}
	j->p++;
	if (!skip_space(j))
		goto error;
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return n;
	}
	for (;;) {
		char *key = NULL;
		int kl = 0, kc = 0;

		if (!skip_space(j))
			goto error;
		if (object) {
			if (j->p >= j->end || *j->p != '"') {
				fail(j, j->p, "%sexpected a key in double quotes", "");
				goto error;
			}
			kl = j->line;
			kc = col(j, j->p);
			key = parse_string(j);
			if (key == NULL)
				goto error;
			if (!keyset_add(&keys, key)) {
				dw_cause(j->cause, "%d:%d: duplicate key '%s'",
					 kl, kc, key);
				free(key);
				goto error;
			}
			if (!skip_space(j)) {
				free(key);
				goto error;
			}
			if (j->p >= j->end || *j->p != ':') {
				free(key);
				fail(j, j->p, "%sexpected ':' after the key", "");
				goto error;
			}
			j->p++;
		}
		v = parse_value(j);
		if (v == NULL) {
			free(key);
			goto error;
		}
		v->key = key;
		v->key_line = kl;
		v->key_column = kc;
		push(n, v);
		if (!skip_space(j))
			goto error;
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			if (!skip_space(j))
				goto error;
			if (j->p < j->end && *j->p == close) {
				fail(j, j->p, "%strailing comma; expected a value", "");
				goto error;
			}
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		fail(j, j->p, object ? "%sexpected ',' or '}'"
				     : "%sexpected ',' or ']'", "");
		goto error;
	}
	j->depth--;
	free(keys.slot);
	return n;
error:
	free(keys.slot);
	json_free(n);
	return NULL;
}

static struct jnode *parse_number(struct jparser *j)
{
	struct jnode *n = new_node(j, J_NUMBER);
	const char *p = j->p;
	char *end, tmp[64];
	size_t len;

	if (*p == '-')
		p++;
	if (p >= j->end || *p < '0' || *p > '9') {
		json_free(n);
		return fail(j, j->p, "%sexpected a value", "");
	}
	while (p < j->end && ((*p >= '0' && *p <= '9') || *p == '.' ||
			      *p == 'e' || *p == 'E' || *p == '+' ||
			      *p == '-'))
		p++;
	len = (size_t)(p - j->p);
	if (len >= sizeof(tmp)) {
		json_free(n);
		return fail(j, j->p, "%snumber too long", "");
	}
	memcpy(tmp, j->p, len);
	tmp[len] = '\0';
	errno = 0;
	n->num = strtod(tmp, &end);
	if (*end != '\0' || errno == ERANGE) {
		json_free(n);
		return fail(j, j->p, "%sbad number; expected e.g. 80 or 0.5", "");
	}
	n->integral = strpbrk(tmp, ".eE") == NULL;
	j->p = p;
	return n;
}

static struct jnode *parse_value(struct jparser *j)
{
	struct jnode *n;

	if (!skip_space(j))
		return NULL;
	if (j->p >= j->end)
		return fail(j, j->p, "%sunexpected end of file; expected a value", "");
	switch (*j->p) {
	case '{':
		return parse_container(j, true);
	case '[':
		return parse_container(j, false);
	case '"':
		n = new_node(j, J_STRING);
		n->str = parse_string(j);
		if (n->str == NULL) {
			free(n);
			return NULL;
		}
		return n;
	case 't':
	case 'f':
	case 'n':
		n = new_node(j, J_NULL);
		if (word(j, "true")) {
			n->type = J_BOOL;
			n->b = true;
		} else if (word(j, "false")) {
			n->type = J_BOOL;
		} else if (!word(j, "null")) {
			free(n);
			return fail(j, j->p, "%sexpected a value (strings need double quotes)", "");
		}
		return n;
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return parse_number(j);
		return fail(j, j->p, "%sexpected a value (strings need double quotes)", "");
	}
}

struct jnode *json_parse(const char *text, size_t len, char **cause)
{
	struct jparser j = {.s = text, .end = text + len, .p = text, .line = 1,
			    .line_start = text, .cause = cause};
	struct jnode *root;

	if (len > JSON_MAX_SIZE) {
		dw_cause(cause, "1:1: file larger than %u bytes", JSON_MAX_SIZE);
		return NULL;
	}
	root = parse_value(&j);
	if (root == NULL)
		return NULL;
	if (!skip_space(&j)) {
		json_free(root);
		return NULL;
	}
	if (j.p < j.end) {
		json_free(root);
		return fail(&j, j.p, "%sunexpected text after the end; expected end of file", "");
	}
	return root;
}

static void free_kids(struct jnode *n)
{
	for (size_t i = 0; i < n->n; i++) {
		free_kids(&n->kids[i]);
		free(n->kids[i].str);
		free(n->kids[i].key);
	}
	free(n->kids);
}

void json_free(struct jnode *n)
{
	if (n == NULL)
		return;
	free_kids(n);
	free(n->str);
	free(n->key);
	free(n);
}

const struct jnode *json_get(const struct jnode *obj, const char *key)
{
	if (obj == NULL || obj->type != J_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->kids[i].key, key) == 0)
			return &obj->kids[i];
	return NULL;
}

const char *json_type_name(enum jtype t)
{
	static const char *names[] = {"null", "a boolean", "a number",
				      "a string", "an array", "an object"};

	return names[t];
}
