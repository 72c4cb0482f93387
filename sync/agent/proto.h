/*
 * The wire format between devwatch and its in-container agent: frames of
 * a type byte, a little-endian u32 length and that many bytes of payload.
 * Every name and every byte of content is data inside a frame, never shell
 * text. This file is plain C with no dependency beyond libc, compiled into
 * both devwatch and the agent (a static executable), so each side encodes
 * and decodes with the same code.
 *
 * To the agent:
 *   'W' a piece of a write set: u8 flags (AP_LAST on the final piece), then
 *       a byte stream of write headers (ap_whdr), each followed by `size`
 *       bytes (file content or link target). A header or a file may span
 *       pieces. One status answers the whole set.
 *   'D' trees to delete: a sequence of (root, rel) pairs (u16-length strings).
 *   'X' a run step: u8 AP_RUN_SHELL and one string for sh -c, or
 *       AP_RUN_ARGV, u32 argc and argc strings (u32-length).
 *   'L' list: u8 flags (AP_HASH to hash file contents) and u16-length paths.
 * From the agent:
 *   'H' hello, once at start: u32 AP_VERSION and the XXH3-128 of its own
 *       executable (16 bytes, big-endian halves high then low).
 *   'O' run-step output: u8 stream (1 stdout, 2 stderr) and the bytes.
 *   'E' listed entries (ap_entry), as many as fit.
 *   'S' status, one per request (ap_status).
 */
#ifndef DW_SYNC_AGENT_PROTO_H
#define DW_SYNC_AGENT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AP_VERSION 1u
#define AP_FRAME_HDR 5u
/* The largest payload either side accepts. */
#define AP_FRAME_MAX (4u << 20)
/* Names and link targets are at most this long (Linux's PATH_MAX). */
#define AP_NAME_MAX 4096u
/* A write header's largest encoding: two names and the fixed fields. */
#define AP_WHDR_MAX (2u * (2u + AP_NAME_MAX) + 32u)
/* A listed entry's largest encoding. */
#define AP_ENTRY_MAX (2u * (2u + AP_NAME_MAX) + 48u)

enum { AP_LAST = 1 };
enum { AP_HASH = 1 };
enum { AP_RUN_SHELL = 's', AP_RUN_ARGV = 'a' };
/* Entry kinds, in writes and listings. */
enum { AP_FILE = 'f', AP_LINK = 'l', AP_DIR = 'd', AP_OTHER = 'o' };

/* A bounded reader: every get past the end sets `bad` and yields zeros. */
struct ap_rd {
	const unsigned char *p;
	size_t n;
	bool bad;
};

void ap_rd_init(struct ap_rd *r, const void *p, size_t n);
uint8_t ap_get_u8(struct ap_rd *r);
uint16_t ap_get_u16(struct ap_rd *r);
uint32_t ap_get_u32(struct ap_rd *r);
uint64_t ap_get_u64(struct ap_rd *r);
/* n bytes in place, or NULL (and bad) when fewer are left. */
const char *ap_get_bytes(struct ap_rd *r, size_t n);
/* A u16-length string, in place; NULL when short or longer than max. */
const char *ap_get_str16(struct ap_rd *r, size_t max, size_t *len);

/* Writers into a caller's buffer, returning the bytes written. */
size_t ap_put_u8(unsigned char *d, uint8_t v);
size_t ap_put_u16(unsigned char *d, uint16_t v);
size_t ap_put_u32(unsigned char *d, uint32_t v);
size_t ap_put_u64(unsigned char *d, uint64_t v);
size_t ap_put_str16(unsigned char *d, const char *s, size_t n);

/* A frame header: returns AP_FRAME_HDR. */
size_t ap_frame_put(unsigned char *d, char type, uint32_t len);
/* Read a frame header from 5 bytes. Returns 0, or -1 when len > max. */
int ap_frame_get(const unsigned char *s, char *type, uint32_t *len,
		 uint32_t max);

/* What precedes each written entry's bytes. root is the sync rule's target
   (followed as the image has it); rel is the path under it, whose every
   folder is walked without following symlinks. */
struct ap_whdr {
	uint8_t kind; /* AP_FILE, AP_LINK, AP_DIR */
	uint32_t mode;
	int64_t mtime_s;
	uint32_t mtime_ns;
	const char *root;
	size_t root_len;
	const char *rel;
	size_t rel_len;
	uint64_t size; /* bytes that follow: content or link target */
};

/* Bytes ap_whdr_put writes. */
size_t ap_whdr_size(const struct ap_whdr *h);
size_t ap_whdr_put(unsigned char *d, const struct ap_whdr *h);
/* Decode from the start of s (n bytes). Returns the bytes used, 0 when more
   are needed, or -1 when malformed (a name too long, a bad kind). */
long ap_whdr_get(const unsigned char *s, size_t n, struct ap_whdr *h);

/* One listed path. path is relative to the listed root ("" for the root). */
struct ap_entry {
	uint8_t kind;
	uint32_t mode;
	uint64_t size;
	int64_t mtime_s;
	uint32_t mtime_ns;
	const char *path;
	size_t path_len;
	const char *link; /* AP_LINK: the target */
	size_t link_len;
	bool has_hash;
	unsigned char hash[16];
};

size_t ap_entry_size(const struct ap_entry *e);
size_t ap_entry_put(unsigned char *d, const struct ap_entry *e);
/* Decode one entry; 0, or -1 (r->bad) when malformed. */
int ap_entry_get(struct ap_rd *r, struct ap_entry *e);

/* The answer to one request. code: W and D, the entries that failed; X,
   the step's exit code (128 + signal when killed, 127 when it could not
   start); L, 0. ns: the operation's time inside the agent. msg: the first
   failure, for people. */
struct ap_status {
	char op;
	int32_t code;
	uint64_t ns;
	const char *msg;
	size_t msg_len;
};

size_t ap_status_size(const struct ap_status *s);
size_t ap_status_put(unsigned char *d, const struct ap_status *s);
int ap_status_get(struct ap_rd *r, struct ap_status *s);

/* A path under a root is clean: not empty, no leading '/', no empty, "."
   or ".." component. */
bool ap_rel_clean(const char *rel, size_t n);

#endif
