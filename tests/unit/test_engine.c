/*
 * Unit tests for the engine client against recorded engine answers, served
 * by a small fake engine on a unix socket in a thread: version
 * negotiation, buffered and capped bodies, JSON-lines streams split across
 * writes, multiplexed frames split at every byte, error bodies, an absent
 * socket, a kept-alive connection reset under the next request, sync
 * calls on a loop that other handles keep alive and from inside a stream's
 * callback, DOCKER_HOST parsing, and
 * where published ports are reached; and
 * the checks on what the engine says (versions, ids, container lists,
 * inspect answers, hijack heads), with the answers that the fuzzers and the
 * first campaign found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <uv.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/util.h"
#include "build/container.h"
#include "build/listing.h"
#include "engine/engine-int.h"
#include "engine/engine.h"

/* ---- the fake engine ---- */

static char sock_path[108];
static int listen_fd = -1;
static pthread_t server;

/* Recorded answers, by request line prefix. */
static const char *answer_for(const char *req)
{
	if (strstr(req, "GET /version") != NULL)
		return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 55\r\n\r\n"
		       "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"Os\":\"linux\"}";
	if (strstr(req, "GET /v1.41/images/missing/json") != NULL)
		return "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 43\r\n\r\n"
		       "{\"message\":\"No such image: missing:latest\"}";
	if (strstr(req, "GET /v1.41/big") != NULL)
		return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
		       "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";
	if (strstr(req, "POST /v1.41/build") != NULL)
		/* A build's progress, chunked, lines split across chunks. */
		return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		       "a\r\n{\"stream\":\r\n"
		       "13\r\n\"Step 1/2\"}\n{\"strea\r\n"
		       "14\r\nm\":\"Step 2/2\"}\n{\"aux\r\n"
		       "e\r\n\":{\"ID\":\"x\"}}\n\r\n"
		       "0\r\n\r\n";
	return "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}";
}

/* Wait until c has bytes to read, or its end. */
static void await_readable(int c)
{
	struct pollfd p = {.fd = c, .events = POLLIN};

	while (poll(&p, 1, -1) < 0)
		;
}

/* Answer on c, saying that the connection closes after it (it does):
   an answer that left that out would have curl reuse a connection this
   fake closes, racing the close (the ASan build failed so, on a loaded
   machine: the engine does keep connections open). */
static int answer(int c, const char *ans)
{
	const char *eol = strstr(ans, "\r\n");
	size_t first = (size_t)(eol - ans) + 2;

	if (write(c, ans, first) < 0 || write(c, "Connection: close\r\n", 19) < 0 ||
	    write(c, ans + first, strlen(ans + first)) < 0)
		return -1;
	return 0;
}

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		char req[8192];
		ssize_t n;
		int c = accept(listen_fd, NULL, NULL);

		if (c < 0)
			return NULL;
		n = read(c, req, sizeof(req) - 1);
		if (n > 0) {
			req[n] = '\0';
			/* Read the rest of a chunked upload, if any. */
			if (strstr(req, "Transfer-Encoding: chunked") != NULL) {
				while (strstr(req, "\r\n0\r\n\r\n") == NULL && n < (ssize_t)sizeof(req) - 1) {
					ssize_t m = read(c, req + n, sizeof(req) - 1 - (size_t)n);

					if (m <= 0)
						break;
					n += m;
					req[n] = '\0';
				}
			}
			if (strstr(req, "GET /v1.41/keep") != NULL) {
				/* Keep the connection, as the engine does, then close
				   it under the next request, unread: the client sees
				   ECONNRESET, an error on its poll. The pause lets the
				   client reach its poll first (nothing here can see
				   that happen). */
				static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

				if (write(c, ok, sizeof(ok) - 1) < 0)
					break;
				await_readable(c);
				usleep(50 * 1000);
			} else if (answer(c, answer_for(req)) != 0) {
				break;
			}
		}
		close(c);
	}
	return NULL;
}

static int setup(void **state)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(sock_path, sizeof(sock_path), "/tmp/dw-fake-engine-%d.sock", (int)getpid());
	unlink(sock_path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(listen_fd, 8) != 0)
		return -1;
	return pthread_create(&server, NULL, serve, NULL);
}

static int teardown(void **state)
{
	(void)state;
	shutdown(listen_fd, SHUT_RDWR);
	close(listen_fd);
	pthread_join(server, NULL);
	unlink(sock_path);
	curl_global_cleanup();
	return 0;
}

static struct engine *client(uv_loop_t *loop)
{
	char host[160];
	struct engine *e = NULL;

	snprintf(host, sizeof(host), "unix://%s", sock_path);
	assert_int_equal(engine_new(loop, host, &e, NULL), 0);
	return e;
}

static void close_client(uv_loop_t *loop, struct engine *e)
{
	engine_close(e, NULL, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- tests ---- */

static void test_negotiate_and_errors(void **state)
{
	uv_loop_t loop;
	struct engine *e;
	long status = 0;
	char *body = NULL, *msg;

	(void)state;
	uv_loop_init(&loop);
	e = client(&loop);
	assert_int_equal(engine_call_sync(e, &(struct engine_call){.method = "GET",
				      .path = "/images/missing/json"}, &status, &body, NULL), 0);
	assert_string_equal(engine_api_version(e), "1.41");
	assert_int_equal(status, 404);
	msg = engine_error_message(body, strlen(body));
	assert_string_equal(msg, "No such image: missing:latest");
	free(msg);
	free(body);
	/* A body over its cap is an error, not a truncation. */
	assert_int_equal(engine_call_sync(e, &(struct engine_call){.method = "GET", .path = "/big",
				      .max_body = 50}, &status, NULL, NULL), DW_TOOBIG);
	assert_int_equal(engine_call_sync(e, &(struct engine_call){.method = "GET", .path = "/big"},
				      &status, &body, NULL), 0);
	assert_int_equal(strlen(body), 100);
	free(body);
	close_client(&loop, e);
}

struct lines {
	char got[8][64];
	int n;
};

static int on_line(const char *line, size_t len, void *arg)
{
	struct lines *l = arg;

	if (l->n < 8)
		snprintf(l->got[l->n++], sizeof(l->got[0]), "%.*s", (int)len, line);
	return 0;
}

static ssize_t upload(char *buf, size_t size, void *arg)
{
	int *left = arg;

	if (*left == 0)
		return 0;
	(*left)--;
	return (ssize_t)snprintf(buf, size, "tar-bytes");
}

static void test_streamed_lines(void **state)
{
	uv_loop_t loop;
	struct engine *e;
	struct lines l = {0};
	int chunks = 3;
	long status = 0;

	(void)state;
	uv_loop_init(&loop);
	e = client(&loop);
	assert_int_equal(engine_call_sync(e, &(struct engine_call){
		.method = "POST", .path = "/build?t=x", .content_type = "application/x-tar",
		.upload = upload, .upload_arg = &chunks, .on_line = on_line, .stream_arg = &l},
		&status, NULL, NULL), 0);
	assert_int_equal(status, 200);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.got[0], "{\"stream\":\"Step 1/2\"}");
	assert_string_equal(l.got[1], "{\"stream\":\"Step 2/2\"}");
	assert_string_equal(l.got[2], "{\"aux\":{\"ID\":\"x\"}}");
	assert_int_equal(chunks, 0);
	close_client(&loop, e);
}

struct frames {
	char out[64], err[64];
	size_t n_out, n_err;
};

static int on_frame(int stream, const char *data, size_t len, void *arg)
{
	struct frames *f = arg;

	if (stream == 1) {
		memcpy(f->out + f->n_out, data, len);
		f->n_out += len;
	} else {
		memcpy(f->err + f->n_err, data, len);
		f->n_err += len;
	}
	return 0;
}

static void test_demux_every_split(void **state)
{
	static const unsigned char stream[] = {
		1, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o',
		2, 0, 0, 0, 0, 0, 0, 3, 'e', 'r', 'r',
		1, 0, 0, 0, 0, 0, 0, 1, '!',
	};

	(void)state;
	for (size_t cut = 0; cut <= sizeof(stream); cut++) {
		for (size_t cut2 = cut; cut2 <= sizeof(stream); cut2++) {
			struct engine_demux d;
			struct frames f = {0};

			engine_demux_init(&d, false);
			engine_demux_feed(&d, (const char *)stream, cut, on_frame, &f);
			engine_demux_feed(&d, (const char *)stream + cut, cut2 - cut, on_frame, &f);
			engine_demux_feed(&d, (const char *)stream + cut2, sizeof(stream) - cut2,
					  on_frame, &f);
			assert_int_equal(f.n_out, 6);
			assert_memory_equal(f.out, "hello!", 6);
			assert_int_equal(f.n_err, 3);
			assert_memory_equal(f.err, "err", 3);
		}
	}
}

/* A frame header that is not one (stream byte 7, non-zero padding) stops
   the demuxer for good: what follows cannot be framed again. */
static void test_demux_bad_header(void **state)
{
	static const unsigned char stream[] = {
		1, 0, 0, 0, 0, 0, 0, 2, 'o', 'k',
		7, 1, 0, 0, 0, 0, 0, 1, 'x',
	};
	struct engine_demux d;
	struct frames f = {0};

	(void)state;
	engine_demux_init(&d, false);
	assert_int_equal(engine_demux_feed(&d, (const char *)stream, sizeof(stream), on_frame, &f),
			 DW_ENGINE_PROTO);
	assert_int_equal(f.n_out, 2);
	assert_int_equal(engine_demux_feed(&d, "\1\0\0\0\0\0\0\1y", 9, on_frame, &f),
			 DW_ENGINE_PROTO);
	assert_int_equal(f.n_out, 2);
}

static int count_line(const char *line, size_t len, void *arg)
{
	(void)line, (void)len;
	(*(int *)arg)++;
	return 0;
}

/* The line splitter and the progress reader a build uses. */
static void test_lines_and_progress(void **state)
{
	struct buf line;
	int n = 0;
	char *text;

	(void)state;
	buf_init(&line, 8);
	assert_int_equal(engine_lines_feed(&line, "ab\ncd", 5, count_line, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(buf_str(&line), "cd");
	assert_int_equal(engine_lines_feed(&line, "0123456789\n", 11, count_line, &n), DW_TOOBIG);
	buf_release(&line);

	assert_int_equal(engine_progress_parse("{\"stream\":\"Step 1\\n\"}", 21, &text), ENGINE_LINE_TEXT);
	assert_string_equal(text, "Step 1");
	free(text);
	assert_int_equal(engine_progress_parse("{\"status\":\"Pulling\",\"id\":\"a\"}", 29, &text),
			 ENGINE_LINE_TEXT);
	assert_string_equal(text, "a: Pulling");
	free(text);
	assert_int_equal(engine_progress_parse("{\"error\":\"boom\"}", 16, &text), ENGINE_LINE_ERROR);
	assert_string_equal(text, "boom");
	free(text);
	assert_int_equal(engine_progress_parse("{\"stream\":\"\\n\"}", 15, &text), ENGINE_LINE_NONE);
	assert_null(text);
	assert_int_equal(engine_progress_parse("[1", 2, &text), ENGINE_LINE_NONE);
}

/* What the engine says goes into URLs only when it has their shape. */
static void test_versions_and_ids(void **state)
{
	char api[16];
	static const char *bad[] = {
		"{\"ApiVersion\":\"1.41/../../x\"}", "{\"ApiVersion\":\"1.\"}",
		"{\"ApiVersion\":\"12345.1\"}", "{\"ApiVersion\":1.41}", "{}", "[",
	};

	(void)state;
	assert_int_equal(engine_api_parse("{\"ApiVersion\":\"1.43\"}", 21, api, sizeof(api)), 0);
	assert_string_equal(api, "1.43");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(engine_api_parse(bad[i], strlen(bad[i]), api, sizeof(api)),
				 DW_ENGINE_PROTO);
	assert_true(engine_id_ok("4f1c2a9b0d"));
	assert_true(engine_id_ok("shop-web-1"));
	assert_false(engine_id_ok(""));
	assert_false(engine_id_ok("a/../b"));
	assert_false(engine_id_ok("a?x=1"));
	assert_false(engine_id_ok("a b"));
}

/* The head of a hijack answer: only its status line decides, and nothing
   past the blank line is read as part of it. */
static void test_hijack_head(void **state)
{
	static const char up[] = "HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\nDATA";
	size_t used = 0;

	(void)state;
	assert_int_equal(engine_hijack_parse_head(up, sizeof(up) - 1, &used), 1);
	assert_int_equal(used, sizeof(up) - 1 - 4);
	assert_int_equal(engine_hijack_parse_head(up, 20, &used), 0);
	assert_int_equal(engine_hijack_parse_head("HTTP/1.0 200 OK\r\n\r\n", 19, &used), 1);
	assert_int_equal(engine_hijack_parse_head("HTTP/1.1 404 Not Found\r\n\r\n", 26, &used),
			 DW_NOTFOUND);
	assert_int_equal(engine_hijack_parse_head("HTTP/1.1 500 x\r\n\r\n", 18, &used),
			 DW_ENGINE_HTTP);
	/* The status used to be read with sscanf, past the head's end. */
	assert_int_equal(engine_hijack_parse_head("HTTP/1.1\r\n\r\n101 ", 16, &used),
			 DW_ENGINE_PROTO);
	assert_int_equal(engine_hijack_parse_head("SSH-2.0\r\n\r\n", 11, &used), DW_ENGINE_PROTO);
	assert_int_equal(engine_hijack_parse_head("HTTP/1.1 1011\r\n\r\n", 17, &used),
			 DW_ENGINE_PROTO);
}

/* status, down and logs read the container list through this: answers
   that crashed them are errors now. */
static void test_container_list(void **state)
{
	static const char good[] =
		"[{\"Id\":\"4f1c\",\"Names\":[\"/shop-web-1\"],\"State\":\"running\","
		"\"Labels\":{\"dev.devwatch.container\":\"web\",\"dev.devwatch.replica\":\"1\"},"
		"\"Ports\":[{\"PrivatePort\":80,\"PublicPort\":32768},{\"PrivatePort\":81},"
		"{\"PrivatePort\":82,\"PublicPort\":70000}]},"
		"{\"Id\":\"77aa\",\"Names\":[2],\"Labels\":[]}]";
	static const char *bad[] = {"[{}]", "[{\"Id\":\"\",\"Names\":[2]}]", "{}", "[1]",
				    "[{\"Id\":\"../x\"}]", "[{\"Id\":7}]"};
	struct container_list l;
	char *cause = NULL;

	(void)state;
	assert_int_equal(container_list_parse(good, sizeof(good) - 1, &l, &cause), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].id, "4f1c");
	assert_string_equal(l.v[0].name, "shop-web-1");
	assert_string_equal(l.v[0].container, "web");
	assert_string_equal(l.v[0].replica, "1");
	assert_string_equal(l.v[0].state, "running");
	assert_int_equal(l.v[0].n_ports, 1);
	assert_int_equal(l.v[0].ports[0].public_port, 32768);
	assert_string_equal(l.v[1].name, "?");
	assert_string_equal(l.v[1].container, "");
	assert_string_equal(l.v[1].state, "");
	container_list_free(&l);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(container_list_parse(bad[i], strlen(bad[i]), &l, &cause),
				 DW_ENGINE_PROTO);
		assert_non_null(cause);
		container_list_free(&l);
	}
	free(cause);
}

static void test_container_info(void **state)
{
	static const char good[] =
		"{\"Id\":\"4f1c\",\"Config\":{\"Image\":\"img\"},\"State\":{\"Running\":true},"
		"\"NetworkSettings\":{\"Ports\":{\"80/tcp\":[{\"HostPort\":\"99999999999\"},"
		"{\"HostPort\":\"32768\"}]}}}";
	struct port_map pm = {.container = 80, .protocol = (char *)"tcp"};
	struct project_container c = {.ports = &pm, .n_ports = 1};
	struct container_info ci;

	(void)state;
	assert_int_equal(container_info_parse(good, sizeof(good) - 1, &c, &ci), 0);
	assert_string_equal(ci.id, "4f1c");
	assert_true(ci.running);
	assert_int_equal(ci.host_ports[0], 32768);
	container_info_free(&ci);
	assert_int_equal(container_info_parse("{}", 2, &c, &ci), DW_ENGINE_PROTO);
	assert_null(ci.id);
	assert_false(ci.running);
	assert_int_equal(container_info_parse("[{\"Id\":\"a\"}]", 12, &c, &ci), DW_ENGINE_PROTO);
}

static void test_engine_down_and_hosts(void **state)
{
	uv_loop_t loop;
	struct engine *e = NULL;
	char *cause = NULL, *msg;

	(void)state;
	uv_loop_init(&loop);
	assert_int_equal(engine_new(&loop, "unix:///nonexistent/dw.sock", &e, NULL), 0);
	assert_int_equal(engine_call_sync(e, &(struct engine_call){.method = "GET", .path = "/_ping"},
				      NULL, NULL, NULL), DW_ENGINE_DOWN);
	msg = engine_down_message(e);
	assert_non_null(strstr(msg, "cannot reach the Docker engine at unix:///nonexistent/dw.sock: No such file or directory"));
	free(msg);
	close_client(&loop, e);

	uv_loop_init(&loop);
	assert_int_equal(engine_new(&loop, "tcp://127.0.0.1:2375", &e, NULL), 0);
	assert_string_equal(engine_address(e), "tcp://127.0.0.1:2375");
	close_client(&loop, e);
	uv_loop_init(&loop);
	assert_int_equal(engine_new(&loop, "tcp://nohost", &e, &cause), 0);
	assert_string_equal(engine_address(e), "tcp://nohost:2375");
	assert_true(engine_is_remote(e));
	close_client(&loop, e);
	uv_loop_init(&loop);
	assert_int_equal(engine_new(&loop, "tcp://nohost:x", &e, &cause), DW_USAGE);
	assert_non_null(strstr(cause, "expected tcp://HOST[:PORT]"));
	assert_int_equal(engine_new(&loop, "ftp://x", &e, &cause), DW_USAGE);
	assert_non_null(strstr(cause, "expected unix:///PATH, tcp://HOST[:PORT] or ssh://[USER@]HOST[:PORT]"));
	assert_int_equal(engine_new(&loop, "unix://relative", &e, &cause), DW_USAGE);
	free(cause);
	assert_int_equal(uv_loop_close(&loop), 0);

	/* Where published ports are reached: the HostIp the engine reports
	   when specific, else the engine's host; 127.0.0.1 for a socket. */
	{
		char b[64];

		uv_loop_init(&loop);
		assert_int_equal(engine_new(&loop, "tcp://[::1]:2375", &e, NULL), 0);
		assert_false(engine_is_remote(e));
		assert_string_equal(engine_host_for_ports(e, NULL, b, sizeof(b)), "[::1]");
		assert_string_equal(engine_host_for_ports(e, "0.0.0.0", b, sizeof(b)), "[::1]");
		assert_string_equal(engine_host_for_ports(e, "::", b, sizeof(b)), "[::1]");
		assert_string_equal(engine_host_for_ports(e, "10.0.0.5", b, sizeof(b)), "10.0.0.5");
		assert_string_equal(engine_host_for_ports(e, "fe80::1", b, sizeof(b)), "[fe80::1]");
		close_client(&loop, e);
		uv_loop_init(&loop);
		assert_int_equal(engine_new(&loop, "tcp://192.0.2.7", &e, NULL), 0);
		assert_true(engine_is_remote(e));
		assert_string_equal(engine_host_for_ports(e, "", b, sizeof(b)), "192.0.2.7");
		close_client(&loop, e);
		uv_loop_init(&loop);
		assert_int_equal(engine_new(&loop, "unix:///tmp/x.sock", &e, NULL), 0);
		assert_false(engine_is_remote(e));
		assert_string_equal(engine_how(e), "given");
		assert_string_equal(engine_host_for_ports(e, NULL, b, sizeof(b)), "127.0.0.1");
		close_client(&loop, e);
	}

	msg = engine_urlencode("a b/c?d=é");
	assert_string_equal(msg, "a%20b%2Fc%3Fd%3D%C3%A9");
	free(msg);
}

/* The engine closed a kept-alive connection under the next request: the
   poll reports an error, and curl, told the socket is readable, meets
   ECONNRESET and asks again on a new connection. Told only "error", it
   failed the request with "select/poll returned error". */
static void test_reused_connection_reset(void **state)
{
	uv_loop_t loop;
	struct engine *e;
	long status = 0;
	char *body = NULL;

	(void)state;
	uv_loop_init(&loop);
	e = client(&loop);
	assert_int_equal(engine_call_sync(e, &(struct engine_call){.method = "GET", .path = "/keep"},
					  &status, &body, NULL), 0);
	assert_string_equal(body, "ok");
	free(body);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(engine_call_sync(e, &(struct engine_call){.method = "GET",
						  .path = "/images/missing/json"}, &status, NULL, NULL), 0);
		assert_int_equal(status, 404);
		assert_int_equal(engine_call_sync(e, &(struct engine_call){.method = "GET", .path = "/keep"},
						  &status, NULL, NULL), 0);
	}
	close_client(&loop, e);
}

static void on_alarm(int sig)
{
	static const char msg[] = "an engine call hung: alarm\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void on_usr2(uv_signal_t *h, int sig)
{
	(void)h, (void)sig;
}

/* A command's loop has other handles (run's signal handlers). A request
   joins curl through a 0 ms timer; when the answer is there at once, curl
   finishes the transfer inside that timer's callback, and the wait must
   not go on to block for I/O that never comes. The fake engine answers
   that fast on a part of these calls; the alarm turns a hang into a
   failure. */
static void test_sync_call_with_other_handles(void **state)
{
	uv_loop_t loop;
	uv_signal_t alive;
	struct engine *e;
	long status = 0;

	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(20);
	uv_loop_init(&loop);
	uv_signal_init(&loop, &alive);
	uv_signal_start(&alive, on_usr2, SIGUSR2);
	e = client(&loop);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(engine_call_sync(e, &(struct engine_call){.method = "GET",
						  .path = "/images/missing/json"}, &status, NULL, NULL), 0);
		assert_int_equal(status, 404);
	}
	alarm(0);
	uv_close((uv_handle_t *)&alive, NULL);
	close_client(&loop, e);
}

struct nested {
	struct engine *e;
	int lines, refused;
};

static int line_calls_sync(const char *line, size_t len, void *arg)
{
	struct nested *n = arg;

	(void)line, (void)len;
	n->lines++;
	if (engine_call_sync(n->e, &(struct engine_call){.method = "GET", .path = "/images/missing/json"},
			     NULL, NULL, NULL) == DW_USAGE)
		n->refused++;
	return 0;
}

/* curl runs nothing from inside its callbacks: a sync call from a
   streamed line used to wait for ever (the alarm), and is refused now,
   while the stream goes on. */
static void test_sync_call_from_stream_refused(void **state)
{
	uv_loop_t loop;
	struct nested n = {0};
	int chunks = 1;
	long status = 0;

	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(20);
	uv_loop_init(&loop);
	n.e = client(&loop);
	assert_int_equal(engine_call_sync(n.e, &(struct engine_call){
		.method = "POST", .path = "/build?t=x", .content_type = "application/x-tar",
		.upload = upload, .upload_arg = &chunks, .on_line = line_calls_sync, .stream_arg = &n},
		&status, NULL, NULL), 0);
	alarm(0);
	assert_int_equal(status, 200);
	assert_int_equal(n.lines, 3);
	assert_int_equal(n.refused, 3);
	close_client(&loop, n.e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_negotiate_and_errors),
		cmocka_unit_test(test_streamed_lines),
		cmocka_unit_test(test_reused_connection_reset),
		cmocka_unit_test(test_sync_call_with_other_handles),
		cmocka_unit_test(test_sync_call_from_stream_refused),
		cmocka_unit_test(test_demux_every_split),
		cmocka_unit_test(test_demux_bad_header),
		cmocka_unit_test(test_lines_and_progress),
		cmocka_unit_test(test_versions_and_ids),
		cmocka_unit_test(test_hijack_head),
		cmocka_unit_test(test_container_list),
		cmocka_unit_test(test_container_info),
		cmocka_unit_test(test_engine_down_and_hosts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
