/*
 * The progress block. See progress.h. Drawing is plain ANSI: each line is
 * cleared and written, and hiding moves the cursor up over the block and
 * clears to the end of the screen. A line longer than the terminal is cut
 * (at a UTF-8 boundary) so that the block's height stays its line count.
 */
#include "up/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

#define PROGRESS_LOG_MAX (1u << 20)

void progress_init(struct progress *p, bool allowed, int label_width)
{
	const char *term = getenv("TERM");

	memset(p, 0, sizeof(*p));
	p->on = allowed && isatty(STDOUT_FILENO) &&
		!(term != NULL && strcmp(term, "dumb") == 0);
	p->label_width = label_width;
}

static int columns(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

void progress_hide(struct progress *p)
{
	if (!p->on || p->drawn == 0)
		return;
	printf("\033[%zuA\r\033[J", p->drawn);
	p->drawn = 0;
	fflush(stdout);
}

void progress_show(struct progress *p)
{
	int room = columns() - p->label_width - 3;

	if (!p->on || p->drawn > 0)
		return;
	for (size_t i = 0; i < p->n; i++) {
		const char *t = p->v[i].text;
		size_t n = strlen(t);

		if (room < 10)
			room = 10;
		if (n > (size_t)room) {
			n = (size_t)room;
			while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
				n--; /* not inside a UTF-8 sequence */
		}
		printf("\033[2K%s%-*s%s  %.*s\n", log_colour_code(p->v[i].colour),
		       p->label_width, p->v[i].label, log_colour_reset(), (int)n, t);
	}
	p->drawn = p->n;
	fflush(stdout);
}

static struct progress_line *find(struct progress *p, const char *label)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].label, label) == 0)
			return &p->v[i];
	return NULL;
}

bool progress_update(struct progress *p, const char *label, int colour,
		     const char *line)
{
	struct progress_line *l;
	size_t n = strlen(line);

	if (!p->on)
		return false;
	progress_hide(p);
	l = find(p, label);
	if (l == NULL) {
		p->v = xreallocarray(p->v, p->n + 1, sizeof(*p->v));
		l = &p->v[p->n++];
		l->label = xstrdup(label);
		l->colour = colour;
		l->text = NULL;
		buf_init(&l->log, PROGRESS_LOG_MAX);
	}
	free(l->text);
	l->text = xstrdup(line);
	if (l->log.len + n + 1 > PROGRESS_LOG_MAX) {
		/* Keep the end: a failure says what went wrong last. */
		buf_reset(&l->log);
		buf_adds(&l->log, "(earlier output dropped)\n");
	}
	buf_add(&l->log, line, n);
	buf_addc(&l->log, '\n');
	progress_show(p);
	return true;
}

void progress_done(struct progress *p, const char *label, bool failed)
{
	struct progress_line *l = p->on ? find(p, label) : NULL;
	size_t i;

	if (l == NULL)
		return;
	progress_hide(p);
	if (failed)
		fprintf(stderr, "%s", buf_str(&l->log));
	free(l->label);
	free(l->text);
	buf_release(&l->log);
	i = (size_t)(l - p->v);
	memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(*p->v));
	p->n--;
	progress_show(p);
}

void progress_release(struct progress *p)
{
	progress_hide(p);
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].label);
		free(p->v[i].text);
		buf_release(&p->v[i].log);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}
