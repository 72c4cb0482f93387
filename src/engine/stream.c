/*
 * Decoding what the engine sends back: its multiplexed stdout/stderr frames
 * (an 8-byte header: stream, 3 zero bytes, big-endian length), its
 * JSON-lines progress streams, its JSON error bodies and version answer,
 * the ids it hands out, and query-string encoding for what we send. All of
 * it is outside input: nothing here trusts a length or a field.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "engine/engine.h"

void engine_demux_init(struct engine_demux *d, bool raw)
{
	memset(d, 0, sizeof(*d));
	d->raw = raw;
}

int engine_demux_feed(struct engine_demux *d, const char *data, size_t len,
		      engine_frame_cb cb, void *arg)
{
	int rc;

	if (d->raw)
		return len > 0 ? cb(1, data, len, arg) : 0;
	if (d->bad)
		return DW_ENGINE_PROTO;
	while (len > 0) {
		if (d->left == 0) {
			size_t take = DW_MIN(len, sizeof(d->hdr) - d->hdr_len);

			memcpy(d->hdr + d->hdr_len, data, take);
			d->hdr_len += take;
			data += take;
			len -= take;
			if (d->hdr_len < sizeof(d->hdr))
				return 0;
			d->hdr_len = 0;
			if (d->hdr[0] > 3 || d->hdr[1] != 0 || d->hdr[2] != 0 ||
			    d->hdr[3] != 0) {
				d->bad = true;
				return DW_ENGINE_PROTO;
			}
			d->stream = d->hdr[0];
			d->left = (size_t)d->hdr[4] << 24 |
				  (size_t)d->hdr[5] << 16 |
				  (size_t)d->hdr[6] << 8 | (size_t)d->hdr[7];
			continue;
		}
		size_t take = DW_MIN(len, d->left);

		rc = cb(d->stream, data, take, arg);
		if (rc != 0)
			return rc;
		d->left -= take;
		data += take;
		len -= take;
	}
	return 0;
}

char *engine_error_message(const char *body, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	char *s;

	if (cJSON_IsString(m)) {
		s = xstrdup(m->valuestring);
	} else {
		while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
			len--;
		s = xstrndup(body, len);
	}
	cJSON_Delete(j);
	return s;
}

char *engine_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(3 * n + 1), *o = out;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

bool engine_id_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];

		if (n >= 128 || !(isalnum(c) || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n > 0;
}

/* 1 to 3 digits at *p; advances it. */
static bool digits(const char **p)
{
	size_t n = 0;

	while (n < 4 && **p >= '0' && **p <= '9') {
		(*p)++;
		n++;
	}
	return n >= 1 && n <= 3;
}

int engine_api_parse(const char *body, size_t len, char *out, size_t size)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "ApiVersion");
	const char *p = cJSON_IsString(v) ? v->valuestring : "";
	int rc = DW_ENGINE_PROTO;

	if (digits(&p) && *p++ == '.' && digits(&p) && *p == '\0' &&
	    strlen(v->valuestring) < size) {
		memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
		rc = 0;
	}
	cJSON_Delete(j);
	return rc;
}

int engine_lines_feed(struct buf *line, const char *data, size_t len,
		      engine_line_cb cb, void *arg)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl != NULL ? (size_t)(nl - data) : len;

		if (buf_add(line, data, take) != 0)
			return DW_TOOBIG;
		if (nl == NULL)
			break;
		if (cb(buf_str(line), line->len, arg) != 0)
			return DW_CANCELED;
		buf_reset(line);
		data += take + 1;
		len -= take + 1;
	}
	return 0;
}

enum engine_line_kind engine_progress_parse(const char *line, size_t len,
					    char **text)
{
	cJSON *o = cJSON_ParseWithLength(line, len), *v;
	enum engine_line_kind kind = ENGINE_LINE_NONE;

	*text = NULL;
	if (cJSON_IsString(v = cJSON_GetObjectItem(o, "error"))) {
		kind = ENGINE_LINE_ERROR;
		*text = xstrdup(v->valuestring);
	} else if (cJSON_IsString(v = cJSON_GetObjectItem(o, "stream"))) {
		char *s = xstrdup(v->valuestring);
		size_t n = strlen(s);

		while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
			s[--n] = '\0';
		if (n > 0) {
			kind = ENGINE_LINE_TEXT;
			*text = s;
		} else {
			free(s);
		}
	} else if (cJSON_IsString(v = cJSON_GetObjectItem(o, "status"))) {
		cJSON *id = cJSON_GetObjectItem(o, "id");
		cJSON *pr = cJSON_GetObjectItem(o, "progress");

		kind = ENGINE_LINE_TEXT;
		*text = xasprintf("%s%s%s%s%s", cJSON_IsString(id) ? id->valuestring : "",
				  cJSON_IsString(id) ? ": " : "", v->valuestring,
				  cJSON_IsString(pr) ? " " : "",
				  cJSON_IsString(pr) ? pr->valuestring : "");
	}
	cJSON_Delete(o);
	return kind;
}
