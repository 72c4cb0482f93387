/*
 * Dockerfile-input analysis. See dockerfile.h. Reads logical lines (joining
 * '\' continuations, honouring a `# escape=` directive, skipping comments
 * and heredoc bodies), then takes the source arguments of COPY and ADD in
 * shell or JSON form, and the source= of RUN --mount=type=bind.
 */
#include "build/dockerfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/pattern.h"
#include "base/util.h"

static void add_src(struct dockerfile_inputs *in, const char *s)
{
	char *c;

	if (strchr(s, '$') != NULL) {
		in->everything = true;
		return;
	}
	while (s[0] == '.' && s[1] == '/')
		s += 2;
	while (*s == '/')
		s++;
	c = xstrdup(*s ? s : ".");
	{
		size_t n = strlen(c);

		while (n > 1 && c[n - 1] == '/')
			c[--n] = '\0';
		if (strcmp(c, ".") == 0 || strcmp(c, "*") == 0)
			in->everything = true;
	}
	in->src = xreallocarray(in->src, in->n + 1, sizeof(char *));
	in->src[in->n++] = c;
}

/* Split a shell-form argument list on blanks (no quotes beyond simple ones). */
static char **split_words(const char *s, size_t *n)
{
	char **v = NULL;

	*n = 0;
	while (*s) {
		const char *start;
		char q = 0;
		char *w;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (*s == '"' || *s == '\'')
			q = *s++;
		start = s;
		while (*s && (q ? *s != q : !isspace((unsigned char)*s)))
			s++;
		w = xstrndup(start, (size_t)(s - start));
		if (q && *s)
			s++;
		v = xreallocarray(v, *n + 1, sizeof(char *));
		v[(*n)++] = w;
	}
	return v;
}

static void free_words(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void copy_sources(struct dockerfile_inputs *in, const char *args)
{
	char **w;
	size_t n, first = 0;
	bool from = false;

	while (isspace((unsigned char)*args))
		args++;
	/* Flags first: --from, --chown, --chmod, --link, --parents ... */
	w = split_words(args, &n);
	while (first < n && strncmp(w[first], "--", 2) == 0) {
		if (strncmp(w[first], "--from=", 7) == 0)
			from = true;
		first++;
	}
	if (from) {
		free_words(w, n);
		return;
	}
	if (first < n && w[first][0] == '[') {
		/* JSON form: rebuild the rest and parse it. */
		const char *json = strchr(args, '[');
		cJSON *a = cJSON_Parse(json), *it;
		int count = cJSON_GetArraySize(a), i = 0;

		cJSON_ArrayForEach(it, a) {
			if (++i < count && cJSON_IsString(it))
				add_src(in, it->valuestring);
		}
		cJSON_Delete(a);
		free_words(w, n);
		return;
	}
	for (size_t i = first; i + 1 < n; i++) {
		if (str_starts(w[i], "http://") || str_starts(w[i], "https://") ||
		    str_starts(w[i], "git@"))
			continue;
		if (str_starts(w[i], "<<"))
			break; /* heredoc source: inline, not the context */
		add_src(in, w[i]);
	}
	free_words(w, n);
}

static void run_mounts(struct dockerfile_inputs *in, const char *args)
{
	char **w;
	size_t n;

	w = split_words(args, &n);
	for (size_t i = 0; i < n && strncmp(w[i], "--", 2) == 0; i++) {
		char *opt, *save = NULL, *tok;
		bool bind = false, from = false;
		char *src = NULL;

		if (strncmp(w[i], "--mount=", 8) != 0)
			continue;
		opt = xstrdup(w[i] + 8);
		for (tok = strtok_r(opt, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (strcmp(tok, "type=bind") == 0)
				bind = true;
			else if (str_starts(tok, "from="))
				from = true;
			else if (str_starts(tok, "source=") || str_starts(tok, "src="))
				src = strchr(tok, '=') + 1;
		}
		/* type defaults to bind; no source means the whole context. */
		if (!from && (bind || strstr(w[i], "type=") == NULL))
			add_src(in, src != NULL ? src : ".");
		free(opt);
	}
	free_words(w, n);
}

int dockerfile_inputs(const char *path, struct dockerfile_inputs *out,
		      char **cause)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *heredoc = NULL;
	size_t cap = 0;
	struct buf_s {
		char *s;
		size_t n;
	} cur = {NULL, 0};
	char esc = '\\';
	bool directives = true;

	memset(out, 0, sizeof(*out));
	if (f == NULL) {
		int e = -errno;

		dw_cause(cause, "cannot read %s: %s", path, strerror(errno));
		return e;
	}
	while (getline(&line, &cap, f) >= 0) {
		size_t len = strlen(line);
		char *t = line;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (heredoc != NULL) {
			if (strcmp(line, heredoc) == 0) {
				free(heredoc);
				heredoc = NULL;
			}
			continue;
		}
		while (isspace((unsigned char)*t))
			t++;
		if (*t == '#') {
			if (directives && strncasecmp(t, "# escape=", 9) == 0)
				esc = t[9] == '`' ? '`' : '\\';
			continue;
		}
		directives = false;
		if (cur.s == NULL && *t == '\0')
			continue;
		cur.s = xrealloc(cur.s, cur.n + len + 2);
		memcpy(cur.s + cur.n, t, strlen(t) + 1);
		cur.n += strlen(t);
		if (cur.n > 0 && cur.s[cur.n - 1] == esc) {
			cur.s[--cur.n] = ' ';
			cur.n++;
			cur.s[cur.n] = '\0';
			continue;
		}
		/* A complete instruction. */
		{
			char *p = cur.s, *args, *hd;

			args = p;
			while (*args && !isspace((unsigned char)*args))
				args++;
			if (strncasecmp(p, "COPY", 4) == 0 && args - p == 4)
				copy_sources(out, args);
			else if (strncasecmp(p, "ADD", 3) == 0 && args - p == 3)
				copy_sources(out, args);
			else if (strncasecmp(p, "RUN", 3) == 0 && args - p == 3)
				run_mounts(out, args);
			hd = strstr(p, "<<");
			if (hd != NULL) {
				/* Skip the heredoc body up to its delimiter. */
				char *d = hd + 2, *e;

				if (*d == '-')
					d++;
				if (*d == '"' || *d == '\'')
					d++;
				e = d;
				while (*e && (isalnum((unsigned char)*e) || *e == '_'))
					e++;
				if (e > d)
					heredoc = xstrndup(d, (size_t)(e - d));
			}
		}
		free(cur.s);
		cur.s = NULL;
		cur.n = 0;
	}
	free(cur.s);
	free(heredoc);
	free(line);
	fclose(f);
	return 0;
}

bool dockerfile_is_input(const struct dockerfile_inputs *in, const char *rel)
{
	if (in->everything)
		return true;
	for (size_t i = 0; i < in->n; i++) {
		const char *s = in->src[i];
		size_t n = strlen(s);

		/* A glob naming a folder covers its contents too. */
		if (glob_has_magic(s) ? glob_match_parent(s, rel) : strcmp(s, rel) == 0)
			return true;
		/* A folder source covers what is under it. */
		if (!glob_has_magic(s) && strncmp(rel, s, n) == 0 && rel[n] == '/')
			return true;
	}
	return false;
}

void dockerfile_inputs_free(struct dockerfile_inputs *in)
{
	for (size_t i = 0; i < in->n; i++)
		free(in->src[i]);
	free(in->src);
	memset(in, 0, sizeof(*in));
}
