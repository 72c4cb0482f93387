/*
 * The agent's wire format. See proto.h. Integers are little-endian
 * whatever the host; readers never run past their span.
 */
#include "sync/agent/proto.h"

#include <string.h>

void ap_rd_init(struct ap_rd *r, const void *p, size_t n)
{
	r->p = p;
	r->n = n;
	r->bad = false;
}

static const unsigned char *take(struct ap_rd *r, size_t n)
{
	const unsigned char *p = r->p;

	if (r->bad || r->n < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->n -= n;
	return p;
}

static uint64_t le(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

uint8_t ap_get_u8(struct ap_rd *r)
{
	const unsigned char *p = take(r, 1);

	return p != NULL ? p[0] : 0;
}

uint16_t ap_get_u16(struct ap_rd *r)
{
	const unsigned char *p = take(r, 2);

	return p != NULL ? (uint16_t)le(p, 2) : 0;
}

uint32_t ap_get_u32(struct ap_rd *r)
{
	const unsigned char *p = take(r, 4);

	return p != NULL ? (uint32_t)le(p, 4) : 0;
}

uint64_t ap_get_u64(struct ap_rd *r)
{
	const unsigned char *p = take(r, 8);

	return p != NULL ? le(p, 8) : 0;
}

const char *ap_get_bytes(struct ap_rd *r, size_t n)
{
	return (const char *)take(r, n);
}

const char *ap_get_str16(struct ap_rd *r, size_t max, size_t *len)
{
	size_t n = ap_get_u16(r);

	*len = 0;
	if (r->bad || n > max) {
		r->bad = true;
		return NULL;
	}
	*len = n;
	return n == 0 && !r->bad ? "" : ap_get_bytes(r, n);
}

static size_t put_le(unsigned char *d, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++, v >>= 8)
		d[i] = (unsigned char)(v & 0xff);
	return n;
}

size_t ap_put_u8(unsigned char *d, uint8_t v)
{
	d[0] = v;
	return 1;
}

size_t ap_put_u16(unsigned char *d, uint16_t v)
{
	return put_le(d, v, 2);
}

size_t ap_put_u32(unsigned char *d, uint32_t v)
{
	return put_le(d, v, 4);
}

size_t ap_put_u64(unsigned char *d, uint64_t v)
{
	return put_le(d, v, 8);
}

size_t ap_put_str16(unsigned char *d, const char *s, size_t n)
{
	put_le(d, n, 2);
	if (n > 0)
		memcpy(d + 2, s, n);
	return 2 + n;
}

size_t ap_frame_put(unsigned char *d, char type, uint32_t len)
{
	d[0] = (unsigned char)type;
	put_le(d + 1, len, 4);
	return AP_FRAME_HDR;
}

int ap_frame_get(const unsigned char *s, char *type, uint32_t *len,
		 uint32_t max)
{
	*type = (char)s[0];
	*len = (uint32_t)le(s + 1, 4);
	return *len > max ? -1 : 0;
}

size_t ap_whdr_size(const struct ap_whdr *h)
{
	return 1 + 4 + 8 + 4 + 2 + h->root_len + 2 + h->rel_len + 8;
}

size_t ap_whdr_put(unsigned char *d, const struct ap_whdr *h)
{
	size_t n = 0;

	n += ap_put_u8(d + n, h->kind);
	n += ap_put_u32(d + n, h->mode);
	n += ap_put_u64(d + n, (uint64_t)h->mtime_s);
	n += ap_put_u32(d + n, h->mtime_ns);
	n += ap_put_str16(d + n, h->root, h->root_len);
	n += ap_put_str16(d + n, h->rel, h->rel_len);
	n += ap_put_u64(d + n, h->size);
	return n;
}

long ap_whdr_get(const unsigned char *s, size_t n, struct ap_whdr *h)
{
	const size_t fixed = 1 + 4 + 8 + 4;
	size_t off = fixed;

	if (n < off + 2)
		return 0;
	h->kind = s[0];
	h->mode = (uint32_t)le(s + 1, 4);
	h->mtime_s = (int64_t)le(s + 5, 8);
	h->mtime_ns = (uint32_t)le(s + 13, 4);
	if (h->kind != AP_FILE && h->kind != AP_LINK && h->kind != AP_DIR)
		return -1;
	h->root_len = (size_t)le(s + off, 2);
	if (h->root_len > AP_NAME_MAX)
		return -1;
	h->root = (const char *)s + off + 2;
	off += 2 + h->root_len;
	if (n < off + 2)
		return 0;
	h->rel_len = (size_t)le(s + off, 2);
	if (h->rel_len > AP_NAME_MAX)
		return -1;
	h->rel = (const char *)s + off + 2;
	off += 2 + h->rel_len;
	if (n < off + 8)
		return 0;
	h->size = le(s + off, 8);
	off += 8;
	if (h->kind == AP_LINK && h->size > AP_NAME_MAX)
		return -1;
	return (long)off;
}

size_t ap_entry_size(const struct ap_entry *e)
{
	return 1 + 4 + 8 + 8 + 4 + 2 + e->path_len + 2 + e->link_len + 1 +
	       (e->has_hash ? 16 : 0);
}

size_t ap_entry_put(unsigned char *d, const struct ap_entry *e)
{
	size_t n = 0;

	n += ap_put_u8(d + n, e->kind);
	n += ap_put_u32(d + n, e->mode);
	n += ap_put_u64(d + n, e->size);
	n += ap_put_u64(d + n, (uint64_t)e->mtime_s);
	n += ap_put_u32(d + n, e->mtime_ns);
	n += ap_put_str16(d + n, e->path, e->path_len);
	n += ap_put_str16(d + n, e->link, e->link_len);
	n += ap_put_u8(d + n, e->has_hash ? 1 : 0);
	if (e->has_hash) {
		memcpy(d + n, e->hash, 16);
		n += 16;
	}
	return n;
}

int ap_entry_get(struct ap_rd *r, struct ap_entry *e)
{
	const char *h;

	e->kind = ap_get_u8(r);
	e->mode = ap_get_u32(r);
	e->size = ap_get_u64(r);
	e->mtime_s = (int64_t)ap_get_u64(r);
	e->mtime_ns = ap_get_u32(r);
	e->path = ap_get_str16(r, AP_NAME_MAX, &e->path_len);
	e->link = ap_get_str16(r, AP_NAME_MAX, &e->link_len);
	e->has_hash = ap_get_u8(r) != 0;
	if (e->has_hash) {
		h = ap_get_bytes(r, 16);
		if (h != NULL)
			memcpy(e->hash, h, 16);
	}
	if (!r->bad && e->kind != AP_FILE && e->kind != AP_LINK &&
	    e->kind != AP_DIR && e->kind != AP_OTHER)
		r->bad = true;
	return r->bad ? -1 : 0;
}

size_t ap_status_size(const struct ap_status *s)
{
	return 1 + 4 + 8 + 2 + s->msg_len;
}

size_t ap_status_put(unsigned char *d, const struct ap_status *s)
{
	size_t n = 0;

	n += ap_put_u8(d + n, (uint8_t)s->op);
	n += ap_put_u32(d + n, (uint32_t)s->code);
	n += ap_put_u64(d + n, s->ns);
	n += ap_put_str16(d + n, s->msg, s->msg_len);
	return n;
}

int ap_status_get(struct ap_rd *r, struct ap_status *s)
{
	s->op = (char)ap_get_u8(r);
	s->code = (int32_t)ap_get_u32(r);
	s->ns = ap_get_u64(r);
	s->msg = ap_get_str16(r, AP_NAME_MAX, &s->msg_len);
	return r->bad ? -1 : 0;
}

bool ap_rel_clean(const char *rel, size_t n)
{
	size_t i = 0;

	if (n == 0 || rel[0] == '/')
		return false;
	while (i < n) {
		size_t j = i;

		while (j < n && rel[j] != '/' && rel[j] != '\0')
			j++;
		if (j < n && rel[j] == '\0')
			return false;
		if (j == i || (j - i == 1 && rel[i] == '.') ||
		    (j - i == 2 && rel[i] == '.' && rel[i + 1] == '.'))
			return false;
		i = j + 1;
		if (j + 1 == n)
			return false; /* a trailing '/' */
	}
	return true;
}
