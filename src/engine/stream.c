/*
 * Decoding what the engine sends back: its multiplexed stdout/stderr frames
 * (an 8-byte header: stream, 3 zero bytes, big-endian length), its JSON error
 * bodies, and query-string encoding for what we send.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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
