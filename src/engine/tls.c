/*
 * TLS for hijacked exec streams. libcurl speaks TLS for REST calls on its
 * own; a hijacked stream is a raw uv stream, so it gets OpenSSL (the same
 * library libcurl is built on here) over a pair of memory BIOs: ciphertext
 * read from the uv stream is fed in, ciphertext OpenSSL produces is taken
 * out and written to the uv stream. The SSL object never touches a socket,
 * so nothing blocks the loop. The SSL_CTX mirrors the curl options of
 * engine.c: the engine's CA (or the system's), the client certificate and
 * key, peer and host name verification unless DOCKER_TLS_VERIFY is unset.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/engine-int.h"

#define TLS_READ_CHUNK (16u << 10)

/* OpenSSL's queued errors as one line for down_reason. */
static void set_reason(struct engine *e, const char *what)
{
	char msg[256] = "";
	unsigned long code = ERR_get_error();

	if (code != 0)
		ERR_error_string_n(code, msg, sizeof(msg));
	ERR_clear_error();
	free(e->down_reason);
	e->down_reason = xasprintf("%s%s%s", what, msg[0] ? ": " : "", msg);
}

int engine_tls_ctx(struct engine *e)
{
	SSL_CTX *ctx;

	if (e->ssl_ctx != NULL)
		return 0;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		set_reason(e, "cannot set up TLS");
		return DW_ENGINE_DOWN;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (e->t.ca_file != NULL
		    ? SSL_CTX_load_verify_locations(ctx, e->t.ca_file, NULL) != 1
		    : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		set_reason(e, "cannot load the CA certificate");
		goto error;
	}
	if (e->t.cert_file != NULL &&
	    (SSL_CTX_use_certificate_chain_file(ctx, e->t.cert_file) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, e->t.key_file,
					 SSL_FILETYPE_PEM) != 1)) {
		set_reason(e, "cannot load the client certificate");
		goto error;
	}
	SSL_CTX_set_verify(ctx, e->t.tls_verify ? SSL_VERIFY_PEER
						: SSL_VERIFY_NONE, NULL);
	e->ssl_ctx = ctx;
	return 0;
error:
	SSL_CTX_free(ctx);
	return DW_ENGINE_DOWN;
}

int engine_tls_start(struct engine *e, struct engine_tls *c)
{
	unsigned char ip[16];
	bool literal = inet_pton(AF_INET, e->t.host, ip) == 1 ||
		       inet_pton(AF_INET6, e->t.host, ip) == 1;

	memset(c, 0, sizeof(*c));
	if (engine_tls_ctx(e) != 0)
		return DW_ENGINE_DOWN;
	c->ssl = SSL_new(e->ssl_ctx);
	c->in = BIO_new(BIO_s_mem());
	c->out = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->in == NULL || c->out == NULL) {
		BIO_free(c->in);
		BIO_free(c->out);
		SSL_free(c->ssl);
		memset(c, 0, sizeof(*c));
		set_reason(e, "cannot start TLS");
		return DW_ENGINE_DOWN;
	}
	/* An empty memory BIO means "no data yet", not end of file. */
	BIO_set_mem_eof_return(c->in, -1);
	SSL_set_bio(c->ssl, c->in, c->out);
	SSL_set_connect_state(c->ssl);
	if (e->t.tls_verify) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);

		if (literal)
			X509_VERIFY_PARAM_set1_ip_asc(vp, e->t.host);
		else
			SSL_set1_host(c->ssl, e->t.host);
	}
	if (!literal)
		SSL_set_tlsext_host_name(c->ssl, e->t.host);
	return 0;
}

int engine_tls_handshake(struct engine *e, struct engine_tls *c)
{
	int rc = SSL_do_handshake(c->ssl);

	if (rc == 1)
		return 1;
	if (SSL_get_error(c->ssl, rc) == SSL_ERROR_WANT_READ)
		return 0;
	if (SSL_get_verify_result(c->ssl) != X509_V_OK) {
		char *why = xasprintf(
			"TLS handshake failed: %s",
			X509_verify_cert_error_string(
				SSL_get_verify_result(c->ssl)));

		ERR_clear_error();
		free(e->down_reason);
		e->down_reason = why;
	} else {
		set_reason(e, "TLS handshake failed");
	}
	return DW_ENGINE_DOWN;
}

void engine_tls_feed(struct engine_tls *c, const char *data, size_t n)
{
	/* A memory BIO grows as needed; it fails only when out of memory,
	   which xmalloc elsewhere would abort on too. */
	while (n > 0) {
		int chunk = n > INT32_MAX ? INT32_MAX : (int)n;
		int w = BIO_write(c->in, data, chunk);

		if (w <= 0)
			abort();
		data += w;
		n -= (size_t)w;
	}
}

ssize_t engine_tls_read(struct engine_tls *c, char *buf, size_t size)
{
	int n = SSL_read(c->ssl, buf, (int)DW_MIN(size, TLS_READ_CHUNK));

	if (n > 0)
		return n;
	switch (SSL_get_error(c->ssl, n)) {
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return UV_EOF;
	default:
		ERR_clear_error();
		return DW_ENGINE_PROTO;
	}
}

int engine_tls_write(struct engine_tls *c, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		int chunk = n > INT32_MAX ? INT32_MAX : (int)n;
		int w = SSL_write(c->ssl, p, chunk);

		if (w <= 0) {
			ERR_clear_error();
			return DW_ENGINE_PROTO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

char *engine_tls_take(struct engine_tls *c, size_t *n)
{
	size_t len = (size_t)BIO_ctrl_pending(c->out);
	char *data;

	*n = 0;
	if (len == 0)
		return NULL;
	data = xmalloc(len);
	if (BIO_read(c->out, data, (int)len) != (int)len)
		abort(); /* a memory BIO hands over what it said it holds */
	*n = len;
	return data;
}

void engine_tls_free(struct engine_tls *c)
{
	/* SSL_free frees the BIOs SSL_set_bio gave it. */
	SSL_free(c->ssl);
	memset(c, 0, sizeof(*c));
}
