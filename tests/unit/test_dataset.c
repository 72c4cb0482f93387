/*
 * Unit tests for dataset extraction (build/dataset.c): a hostile tar whose
 * members try every way out of the sink (absolute names, "..", links
 * pointing out, hardlinks out, writing through a link), beside the members
 * that must arrive with their modes and links; then the whole-replacement
 * swap and the removal of temporary folders a killed run left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "build/dataset.h"

static char dir[] = "/tmp/dw-test-dataset-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	return dataset_remove_tree(dir);
}

static void add(struct archive *a, const char *name, mode_t type, int perm,
		const char *data, const char *link, const char *hardlink)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, perm);
	if (link != NULL)
		archive_entry_set_symlink(ae, link);
	if (hardlink != NULL)
		archive_entry_set_hardlink(ae, hardlink);
	archive_entry_set_size(ae, data != NULL ? (la_int64_t)strlen(data) : 0);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	if (data != NULL)
		assert_int_equal(archive_write_data(a, data, strlen(data)), (la_ssize_t)strlen(data));
	archive_entry_free(ae);
}

static void write_hostile_tar(const char *path)
{
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	add(a, "out/", AE_IFDIR, 0755, NULL, NULL, NULL);
	add(a, "out/ok.txt", AE_IFREG, 0640, "hello", NULL, NULL);
	add(a, "out/bin/run.sh", AE_IFREG, 04755, "#!/bin/sh\n", NULL, NULL);
	add(a, "out/link", AE_IFLNK, 0777, NULL, "ok.txt", NULL);
	add(a, "out/bin/up", AE_IFLNK, 0777, NULL, "../ok.txt", NULL);
	add(a, "out/evil1", AE_IFLNK, 0777, NULL, "/etc/passwd", NULL);
	add(a, "out/evil2", AE_IFLNK, 0777, NULL, "../../escape", NULL);
	add(a, "out/evil3", AE_IFLNK, 0777, NULL, "bin/../../x", NULL);
	add(a, "out/../escaped.txt", AE_IFREG, 0644, "no", NULL, NULL);
	add(a, "/abs.txt", AE_IFREG, 0644, "no", NULL, NULL);
	add(a, "out/hard", AE_IFREG, 0640, NULL, NULL, "out/ok.txt");
	add(a, "out/hard2", AE_IFREG, 0644, NULL, NULL, "/etc/passwd");
	add(a, "out/hard3", AE_IFREG, 0644, NULL, NULL, "out/../../x");
	add(a, "out/dirlink", AE_IFLNK, 0777, NULL, "bin", NULL);
	add(a, "out/dirlink/through.txt", AE_IFREG, 0644, "no", NULL, NULL);
	add(a, "other/x", AE_IFREG, 0644, "no", NULL, NULL);
	add(a, "out/fifo", AE_IFIFO, 0644, NULL, NULL, NULL);
	add(a, "out/ro/", AE_IFDIR, 0555, NULL, NULL, NULL);
	add(a, "out/ro/f", AE_IFREG, 0444, "ro", NULL, NULL);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static char *at(const char *rel)
{
	static char buf[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, rel);
	return buf[i];
}

static void assert_absent(const char *rel)
{
	struct stat st;

	if (lstat(at(rel), &st) == 0)
		fail_msg("'%s' exists and must not", rel);
}

static void test_hostile_tar(void **state)
{
	struct dataset_stats st;
	struct stat sb;
	char *cause = NULL, target[256];
	ssize_t n;
	FILE *f;

	(void)state;
	mkdir(at("p"), 0755);
	mkdir(at("p/sink"), 0755);
	write_hostile_tar(at("t.tar"));
	if (dataset_extract(at("t.tar"), at("p/sink"), &st, &cause) != 0)
		fail_msg("%s", cause);
	/* What belongs there arrived, with its modes and links. */
	assert_int_equal(stat(at("p/sink/ok.txt"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(sb.st_nlink, 2);
	assert_int_equal(stat(at("p/sink/bin/run.sh"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
	n = readlink(at("p/sink/link"), target, sizeof(target) - 1);
	assert_int_equal(n, 6);
	target[n] = '\0';
	assert_string_equal(target, "ok.txt");
	n = readlink(at("p/sink/bin/up"), target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "../ok.txt");
	f = fopen(at("p/sink/hard"), "r");
	assert_non_null(f);
	assert_non_null(fgets(target, sizeof(target), f));
	fclose(f);
	assert_string_equal(target, "hello");
	assert_int_equal(stat(at("p/sink/ro"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0555);
	/* Nothing else, inside or out. */
	assert_absent("p/sink/evil1");
	assert_absent("p/sink/evil2");
	assert_absent("p/sink/evil3");
	assert_absent("p/sink/hard2");
	assert_absent("p/sink/hard3");
	assert_absent("p/sink/fifo");
	assert_absent("p/sink/bin/through.txt");
	assert_absent("p/escaped.txt");
	assert_absent("escaped.txt");
	assert_absent("p/sink/escaped.txt");
	assert_absent("p/sink/abs.txt");
	assert_absent("p/sink/x");
	assert_absent("p/sink/other");
	assert_int_equal(access("/abs.txt", F_OK), -1);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.bytes, strlen("hello") + strlen("#!/bin/sh\n") + strlen("ro"));
	assert_int_equal(st.refused, 9);
	assert_int_equal(st.skipped, 1);
	assert_true(strstr(st.first_refused, "evil1") != NULL);
}

static void test_install_and_clean(void **state)
{
	char *cause = NULL;
	struct stat sb;
	FILE *f;

	(void)state;
	mkdir(at("q"), 0755);
	mkdir(at("q/sink"), 0755);
	f = fopen(at("q/sink/stale"), "w");
	fputs("old", f);
	fclose(f);
	mkdir(at("q/fresh"), 0755);
	mkdir(at("q/fresh/ro"), 0755);
	f = fopen(at("q/fresh/ro/new"), "w");
	fputs("new", f);
	fclose(f);
	chmod(at("q/fresh/ro"), 0555);
	if (dataset_install(at("q/fresh"), at("q/sink"), &cause) != 0)
		fail_msg("%s", cause);
	assert_absent("q/sink/stale");
	assert_absent("q/fresh");
	assert_int_equal(stat(at("q/sink/ro/new"), &sb), 0);
	/* A first copy: no sink yet. */
	mkdir(at("q/fresh2"), 0755);
	if (dataset_install(at("q/fresh2"), at("q/sink2"), &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(stat(at("q/sink2"), &sb), 0);
	/* What a killed copy leaves beside the sink goes; the sink stays. */
	mkdir(at("q/sink.devwatch-abc123"), 0755);
	mkdir(at("q/sink.devwatch-abc123/new"), 0755);
	chmod(at("q/sink.devwatch-abc123/new"), 0500);
	mkdir(at("q/sink.devwatch-def456"), 0755);
	assert_int_equal(dataset_clean_temp(at("q/sink")), 2);
	assert_absent("q/sink.devwatch-abc123");
	assert_absent("q/sink.devwatch-def456");
	assert_int_equal(stat(at("q/sink/ro/new"), &sb), 0);
	assert_int_equal(dataset_clean_temp(at("q/sink")), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_tar),
		cmocka_unit_test(test_install_and_clean),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
