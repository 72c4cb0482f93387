/*
 * Variables for compose files: the project folder's .env (compose's dotenv
 * format), the lookup that prefers the environment, interpolation with
 * compose's exact rules (compose-go template.go), and the shell-words split
 * compose applies to a command written as one string.
 *
 * Interpolation glossary: a `$` starts a template only before `$`, a name
 * ([_A-Za-z][_A-Za-z0-9]*) or `{`; anything else leaves the `$` as text.
 * `${` must be followed by a name and then `}` or one operator (`:-`, `-`,
 * `:+`, `+`, `:?`, `?`) and a body that runs to the matching `}`, counted
 * as compose counts it (a `{` skips the character after it). The body is
 * itself interpolated, only when it is used.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "project/compose-int.h"

#define VALUE_MAX (1u << 20)
#define ENV_FILE_MAX (1u << 20)
#define NEST_MAX 32

void strlist_push(struct strlist *l, const char *s)
{
	l->v = xreallocarray(l->v, l->n + 2, sizeof(char *));
	l->v[l->n++] = xstrdup(s);
	l->v[l->n] = NULL;
}

void strlist_release(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static bool name_start(char c)
{
	return c == '_' || isalpha((unsigned char)c);
}

static bool name_char(char c)
{
	return c == '_' || isalnum((unsigned char)c);
}

static const char *dotenv_get(const struct kvlist *l, const char *name)
{
	/* The last definition wins, as in a map filled in file order. */
	for (size_t i = l->n; i-- > 0;)
		if (strcmp(l->v[i].key, name) == 0)
			return l->v[i].value;
	return NULL;
}

const char *compose_env_get(const struct compose_env *e, const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? v : dotenv_get(&e->dotenv, name);
}

struct interp {
	struct compose_env *env;
	struct strlist *unset_now;
	const char *whole;	/* the template, for messages */
	char **msg;
	int depth;
};

static int expand(struct interp *ip, const char *s, size_t n, struct buf *out);

static int invalid(struct interp *ip)
{
	dw_cause(ip->msg,
		 "invalid interpolation format in '%s'; you may need to "
		 "escape any $ with another $",
		 ip->whole);
	return -1;
}

static const char *lookup(struct interp *ip, const char *name, bool warn)
{
	const char *v = compose_env_get(ip->env, name);

	if (v == NULL && warn && !has(&ip->env->unset, name)) {
		strlist_push(&ip->env->unset, name);
		strlist_push(ip->unset_now, name);
	}
	return v;
}

/* The index of the `}` that closes the template starting at s[0] == '$',
   by compose's count; -1 when none does. */
static long closing_brace(const char *s, size_t n)
{
	int open = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '}' && --open == 0)
			return (long)i;
		if (s[i] == '{') {
			open++;
			i++;
		}
	}
	return -1;
}

/* s[0..n) starts with "${". Expands one braced template into out and
   returns how many bytes it used, or -1. */
static long braced(struct interp *ip, const char *s, size_t n, struct buf *out)
{
	size_t j = 2, name_len;
	char name[256], op[3] = "";
	const char *v, *body;
	long close;
	size_t body_len;
	int err = 0;

	if (j >= n || !name_start(s[j]))
		return invalid(ip);
	while (j < n && name_char(s[j]))
		j++;
	name_len = j - 2;
	if (name_len >= sizeof(name))
		return invalid(ip);
	memcpy(name, s + 2, name_len);
	name[name_len] = '\0';
	if (j + 1 < n && s[j] == ':' && s[j + 1] != '\0' && strchr("-+?", s[j + 1])) {
		op[0] = ':';
		op[1] = s[j + 1];
		j += 2;
	} else if (j < n && s[j] != '\0' && strchr("-+?", s[j]) != NULL) {
		op[0] = s[j];
		j++;
	} else if (j >= n || s[j] != '}') {
		return invalid(ip);
	}
	close = closing_brace(s, n);
	if (close < 0 || (size_t)close < j)
		return invalid(ip);
	body = s + j;
	body_len = (size_t)close - j;
	if (op[0] == '\0') {
		v = lookup(ip, name, true);
		err = buf_adds(out, v != NULL ? v : "");
	} else {
		bool colon = op[0] == ':';
		char kind = colon ? op[1] : op[0];

		v = lookup(ip, name, false);
		if (kind == '-') {
			if (v == NULL || (colon && v[0] == '\0'))
				err = expand(ip, body, body_len, out);
			else
				err = buf_adds(out, v);
		} else if (kind == '+') {
			if (v != NULL && (!colon || v[0] != '\0'))
				err = expand(ip, body, body_len, out);
			else
				err = buf_adds(out, v != NULL ? v : "");
		} else if (v == NULL || (colon && v[0] == '\0')) {
			struct buf m;

			buf_init(&m, VALUE_MAX);
			err = expand(ip, body, body_len, &m);
			if (err == 0) {
				if (m.len > 0)
					dw_cause(ip->msg, "required variable %s is missing a value: %s",
						 name, buf_str(&m));
				else
					dw_cause(ip->msg, "required variable %s is missing a value",
						 name);
			}
			buf_release(&m);
			return -1;
		} else {
			err = buf_adds(out, v);
		}
	}
	if (err == DW_TOOBIG) {
		dw_cause(ip->msg, "interpolated value is larger than 1 MiB");
		return -1;
	}
	return err != 0 ? -1 : close + 1;
}

static int expand(struct interp *ip, const char *s, size_t n, struct buf *out)
{
	int err = 0;

	if (++ip->depth > NEST_MAX) {
		dw_cause(ip->msg, "interpolation in '%s' nests deeper than %d",
			 ip->whole, NEST_MAX);
		return -1;
	}
	for (size_t i = 0; i < n && err == 0;) {
		if (s[i] != '$' || i + 1 >= n) {
			err = buf_addc(out, s[i++]);
		} else if (s[i + 1] == '$') {
			err = buf_addc(out, '$');
			i += 2;
		} else if (name_start(s[i + 1])) {
			size_t j = i + 1;
			char name[256];
			const char *v;

			while (j < n && name_char(s[j]))
				j++;
			if (j - i - 1 >= sizeof(name))
				return invalid(ip);
			memcpy(name, s + i + 1, j - i - 1);
			name[j - i - 1] = '\0';
			v = lookup(ip, name, true);
			err = buf_adds(out, v != NULL ? v : "");
			i = j;
		} else if (s[i + 1] == '{') {
			long used = braced(ip, s + i, n - i, out);

			if (used < 0)
				return -1;
			i += (size_t)used;
		} else {
			err = buf_addc(out, s[i++]);
		}
	}
	ip->depth--;
	if (err != 0) {
		dw_cause(ip->msg, "interpolated value is larger than 1 MiB");
		return -1;
	}
	return 0;
}

int compose_interpolate(struct compose_env *e, const char *in, char **out,
			struct strlist *unset_now, char **msg)
{
	struct interp ip = {.env = e, .unset_now = unset_now, .whole = in,
			    .msg = msg};
	struct buf b;

	if (strchr(in, '$') == NULL) {
		*out = xstrdup(in);
		return 0;
	}
	buf_init(&b, VALUE_MAX);
	if (expand(&ip, in, strlen(in), &b) != 0) {
		buf_release(&b);
		return -1;
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

/* One value of a .env line, from p (after '='), up to *endp. */
static int dotenv_value(struct compose_env *e, const char *p, const char **endp,
			int *line, char **out, char **msg)
{
	struct strlist unset = {0};
	struct buf b;
	char q = *p;
	int err = 0;

	buf_init(&b, VALUE_MAX);
	if (q == '\'' || q == '"') {
		bool esc = false;

		for (p++; *p != '\0'; p++) {
			if (*p == '\n')
				(*line)++;
			if (*p == q && !esc)
				break;
			if (*p == '\\' && !esc) {
				esc = true;
				continue;
			}
			if (esc && q == '"') {
				static const char from[] = "abfnrtv\"\\$", to[] = "\a\b\f\n\r\t\v\"\\";
				const char *f = strchr(from, *p);

				if (*p == '$')
					err = buf_adds(&b, "$$");
				else if (f != NULL)
					err = buf_addc(&b, to[f - from]);
				else
					err = buf_addc(&b, '\\') || buf_addc(&b, *p);
			} else {
				if (esc && *p != q)
					err = buf_addc(&b, '\\');
				err = err || buf_addc(&b, *p);
			}
			esc = false;
			if (err != 0)
				break;
		}
		if (*p != q) {
			buf_release(&b);
			dw_cause(msg, "unterminated quoted value");
			return -1;
		}
		*endp = p + 1;
	} else {
		const char *nl = strchr(p, '\n'), *end = nl != NULL ? nl : p + strlen(p);
		const char *hash = strstr(p, " #");

		if (hash != NULL && hash < end)
			end = hash;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		err = buf_add(&b, p, (size_t)(end - p));
		*endp = nl != NULL ? nl : p + strlen(p);
	}
	if (err != 0) {
		buf_release(&b);
		dw_cause(msg, "value is larger than 1 MiB");
		return -1;
	}
	if (q == '\'') {
		*out = buf_detach(&b, NULL);
		return 0;
	}
	err = compose_interpolate(e, buf_str(&b), out, &unset, msg);
	strlist_release(&unset);
	buf_release(&b);
	return err;
}

static int dotenv_parse(struct compose_env *e, const char *file, const char *s,
			char **cause)
{
	int line = 1;
	char *msg = NULL;

	if (strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	while (*s != '\0') {
		const char *k, *ke;
		char *key, *val = NULL;

		while (isspace((unsigned char)*s)) {
			if (*s == '\n')
				line++;
			s++;
		}
		if (*s == '\0')
			break;
		if (*s == '#') {
			s += strcspn(s, "\n");
			continue;
		}
		if (strncmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t')) {
			s += 6;
			while (*s == ' ' || *s == '\t')
				s++;
		}
		k = s;
		while (*s != '\0' && (isalnum((unsigned char)*s) || strchr("_.-[]", *s)))
			s++;
		ke = s;
		while (*s == ' ' || *s == '\t')
			s++;
		if (ke == k || (*s != '=' && *s != ':' && *s != '\n' && *s != '\0')) {
			int n = (int)strcspn(k, "\n");

			dw_cause(cause, "%s:%d: unexpected character in variable name '%.*s'",
				 file, line, n, k);
			return DW_PROJECT;
		}
		key = xstrndup(k, (size_t)(ke - k));
		if (*s == '\n' || *s == '\0') {
			/* A bare name inherits the environment's value. */
			const char *v = getenv(key);

			if (v != NULL)
				val = xstrdup(v);
		} else {
			int at = line;

			s++;
			while (*s == ' ' || *s == '\t')
				s++;
			if (dotenv_value(e, s, &s, &line, &val, &msg) != 0) {
				dw_cause(cause, "%s:%d: %s", file, at, msg);
				free(msg);
				free(key);
				return DW_PROJECT;
			}
		}
		if (val != NULL) {
			e->dotenv.v = xreallocarray(e->dotenv.v, e->dotenv.n + 1,
						    sizeof(struct kv));
			e->dotenv.v[e->dotenv.n].key = key;
			e->dotenv.v[e->dotenv.n].value = val;
			e->dotenv.n++;
		} else {
			free(key);
		}
	}
	return 0;
}

int compose_env_load(struct compose_env *e, const char *dir, char **cause)
{
	char *file = path_join(dir, ".env");
	FILE *f = fopen(file, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;
	int err = 0;

	memset(e, 0, sizeof(*e));
	if (f == NULL) {
		free(file);
		return 0;
	}
	buf_init(&b, ENV_FILE_MAX);
	while (err == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		err = buf_add(&b, chunk, n);
	fclose(f);
	if (err != 0)
		dw_cause(cause, "%s: larger than 1 MiB", file);
	else
		err = dotenv_parse(e, file, buf_str(&b), cause);
	buf_release(&b);
	free(file);
	return err != 0 ? DW_PROJECT : 0;
}

void compose_env_release(struct compose_env *e)
{
	for (size_t i = 0; i < e->dotenv.n; i++) {
		free(e->dotenv.v[i].key);
		free(e->dotenv.v[i].value);
	}
	free(e->dotenv.v);
	strlist_release(&e->unset);
}

int compose_split_words(const char *s, char ***argv, char **msg)
{
	struct strlist words = {0};
	struct buf w;
	bool in_word = false;
	char q = 0;

	buf_init(&w, strlen(s) + 1);
	for (const char *p = s;; p++) {
		char c = *p;

		if (c == '\0') {
			if (q != 0) {
				dw_cause(msg, "unterminated %s quote in '%s'",
					 q == '"' ? "double" : "single", s);
				buf_release(&w);
				strlist_release(&words);
				return -1;
			}
			break;
		}
		if (q == '\'') {
			if (c == '\'')
				q = 0;
			else
				buf_addc(&w, c);
		} else if (c == '\\' && p[1] != '\0' &&
			   (q == 0 || strchr("\"\\$`", p[1]) != NULL)) {
			buf_addc(&w, *++p);
			in_word = true;
		} else if (q == '"') {
			if (c == '"')
				q = 0;
			else
				buf_addc(&w, c);
		} else if (c == '"' || c == '\'') {
			q = c;
			in_word = true;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (in_word) {
				strlist_push(&words, buf_str(&w));
				buf_reset(&w);
				in_word = false;
			}
		} else {
			buf_addc(&w, c);
			in_word = true;
		}
	}
	if (in_word)
		strlist_push(&words, buf_str(&w));
	buf_release(&w);
	if (words.n == 0) {
		strlist_release(&words);
		dw_cause(msg, "the command is empty");
		return -1;
	}
	*argv = words.v;
	return 0;
}
