/* SPDX-License-Identifier: MIT */
/* Plugin loading (DESIGN.md section 11): a file is checked for the plugin
 * symbol before any of its code runs. tests/plugin/marker_plugin.c is a
 * shared object with a constructor that writes a marker file and only a
 * reference to the symbol: no loader may run it. The real plugin
 * (tally_plugin) still loads. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static char dir[64];
static char marker[128];

static const char *
env_file(const char *var)
{
	const char *v = getenv(var);

	if (v == NULL) {
		fail_msg("%s is not set (run the tests with ctest)", var);
	}
	return v;
}

/* Copy the first n bytes of from (all: SIZE_MAX) to dir/name. */
static char *
copy_to(const char *from, const char *name, size_t n)
{
	char *to = agora_sprintf("%s/%s", dir, name);
	FILE *in = fopen(from, "rb");
	FILE *out = fopen(to, "wb");
	char buf[4096];
	size_t got;

	assert_non_null(in);
	assert_non_null(out);
	while (n > 0 && (got = fread(buf, 1, sizeof(buf), in)) > 0) {
		got = got < n ? got : n;
		assert_int_equal(fwrite(buf, 1, got, out), got);
		n -= got;
	}
	fclose(in);
	fclose(out);
	return to;
}

static void
write_file(const char *name, const void *data, size_t len)
{
	char *path = agora_sprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	agora_free(path);
}

static void
empty_dir(void)
{
	char *cmd = agora_sprintf("rm -rf '%s'/* '%s'/.[!.]*", dir, dir);

	assert_int_equal(system(cmd), 0);
	agora_free(cmd);
	unlink(marker);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/agora-plugin-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		return -1;
	}
	snprintf(marker, sizeof(marker), "%s.marker", dir);
	setenv("AGORA_TEST_MARKER", marker, 1);
	agora_kinds_builtin();
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = agora_sprintf("rm -rf '%s'", dir);

	(void)state;
	(void)system(cmd);
	agora_free(cmd);
	unlink(marker);
	return 0;
}

static bool
marker_exists(void)
{
	return access(marker, F_OK) == 0;
}

static void
a_file_without_the_symbol_never_runs(void **state)
{
	agora_buf loaded;
	char err[512];
	char *path;

	(void)state;
	empty_dir();
	path = copy_to(env_file("AGORA_MARKER_PLUGIN"), "marker.so", SIZE_MAX);
	agora_buf_init(&loaded, 0);
	AGORA_PASS(agora_plugin_load_dir(dir, &loaded, err, sizeof(err)));
	assert_int_equal(loaded.len, 0);
	assert_false(marker_exists());
	/* Named explicitly, it is refused, and still not run. */
	assert_int_not_equal(agora_plugin_load(path, err, sizeof(err)),
	                     AGORA_OK);
	assert_non_null(strstr(err, AGORA_PLUGIN_SYMBOL));
	assert_false(marker_exists());
	agora_buf_fini(&loaded);
	agora_free(path);
}

static void
dot_files_and_other_files_are_skipped(void **state)
{
	agora_buf loaded;
	char err[512];

	(void)state;
	empty_dir();
	agora_free(copy_to(env_file("AGORA_PLUGIN"), ".tally.so", SIZE_MAX));
	agora_free(copy_to(env_file("AGORA_PLUGIN"), "tally.so.txt", SIZE_MAX));
	agora_buf_init(&loaded, 0);
	AGORA_PASS(agora_plugin_load_dir(dir, &loaded, err, sizeof(err)));
	assert_int_equal(loaded.len, 0);
	assert_null(agora_kind_find("tally"));
	agora_buf_fini(&loaded);
}

static void
garbage_and_truncated_files_are_skipped(void **state)
{
	agora_buf loaded;
	char err[512];

	(void)state;
	empty_dir();
	write_file("junk.so", "not an ELF file\n", 16);
	agora_free(copy_to(env_file("AGORA_PLUGIN"), "cut.so", 3000));
	agora_buf_init(&loaded, 0);
	AGORA_PASS(agora_plugin_load_dir(dir, &loaded, err, sizeof(err)));
	assert_int_equal(loaded.len, 0);
	assert_null(agora_kind_find("tally"));
	agora_buf_fini(&loaded);
}

/* The real plugin's bytes, to make broken copies of. */
static unsigned char *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	agora_buf b;
	char chunk[4096];
	size_t n;

	assert_non_null(f);
	agora_buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		AGORA_PASS(agora_buf_add(&b, chunk, n));
	}
	fclose(f);
	*len = b.len;
	return (unsigned char *)agora_buf_steal(&b);
}

/* Check a copy of the plugin changed by fn; err must contain want. */
static void
check_broken(const unsigned char *orig, size_t len,
             void (*fn)(unsigned char *elf, size_t len), const char *want)
{
	unsigned char *copy = agora_malloc(len);
	char *path = agora_sprintf("%s/broken.so", dir);
	char err[512];

	memcpy(copy, orig, len);
	fn(copy, len);
	write_file("broken.so", copy, len);
	if (agora_plugin_check(path, err, sizeof(err)) == AGORA_OK) {
		fail_msg("a broken plugin passed, wanting '%s'", want);
	}
	if (strstr(err, want) == NULL) {
		fail_msg("'%s' does not say '%s'", err, want);
	}
	agora_free(copy);
	agora_free(path);
}

static Elf64_Ehdr *
ehdr(unsigned char *elf)
{
	return (Elf64_Ehdr *)(void *)elf;
}

/* The section of this type (the test machine is 64-bit little-endian,
 * like the plugin it built). */
static Elf64_Shdr *
section(unsigned char *elf, uint32_t type)
{
	Elf64_Shdr *sh = (Elf64_Shdr *)(void *)(elf + ehdr(elf)->e_shoff);

	for (int i = 0; i < ehdr(elf)->e_shnum; i++) {
		if (sh[i].sh_type == type) {
			return &sh[i];
		}
	}
	fail_msg("no section of type %u", type);
	return sh; /* not reached: fail_msg leaves the test */
}

static void
make_32bit(unsigned char *e, size_t n)
{
	(void)n;
	e[EI_CLASS] = ELFCLASS32;
}
static void
make_big_endian(unsigned char *e, size_t n)
{
	(void)n;
	e[EI_DATA] = ELFDATA2MSB;
}
static void
make_executable(unsigned char *e, size_t n)
{
	(void)n;
	ehdr(e)->e_type = ET_EXEC;
}
static void
shoff_far(unsigned char *e, size_t n)
{
	(void)n;
	ehdr(e)->e_shoff = UINT64_MAX - 10;
}
static void
shnum_max(unsigned char *e, size_t n)
{
	(void)n;
	ehdr(e)->e_shnum = UINT16_MAX;
}
static void
no_sections(unsigned char *e, size_t n)
{
	(void)n;
	ehdr(e)->e_shnum = 0;
}
static void
dynsym_huge(unsigned char *e, size_t n)
{
	(void)n;
	section(e, SHT_DYNSYM)->sh_size = UINT64_MAX / 2;
}
static void
dynsym_past_end(unsigned char *e, size_t n)
{
	section(e, SHT_DYNSYM)->sh_offset = n - 8;
}
static void
dynsym_bad_link(unsigned char *e, size_t n)
{
	(void)n;
	section(e, SHT_DYNSYM)->sh_link = 60000;
}
static void
no_dynsym(unsigned char *e, size_t n)
{
	(void)n;
	section(e, SHT_DYNSYM)->sh_type = SHT_PROGBITS;
}
static void
names_cut_off(unsigned char *e, size_t n)
{
	Elf64_Shdr *sym = section(e, SHT_DYNSYM);
	Elf64_Shdr *str =
	    (Elf64_Shdr *)(void *)(e + ehdr(e)->e_shoff) + sym->sh_link;

	(void)n;
	str->sh_size = 4; /* every name past it is out of bounds */
}
static void
symbol_undefined(unsigned char *e, size_t n)
{
	Elf64_Shdr *sym = section(e, SHT_DYNSYM);
	Elf64_Shdr *str =
	    (Elf64_Shdr *)(void *)(e + ehdr(e)->e_shoff) + sym->sh_link;
	Elf64_Sym *s = (Elf64_Sym *)(void *)(e + sym->sh_offset);

	(void)n;
	for (size_t i = 0; i < sym->sh_size / sizeof(*s); i++) {
		if (strcmp((char *)e + str->sh_offset + s[i].st_name,
		           AGORA_PLUGIN_SYMBOL) == 0) {
			s[i].st_shndx = SHN_UNDEF;
		}
	}
}

static void
hostile_files_are_refused_with_a_reason(void **state)
{
	size_t len;
	unsigned char *elf = read_all(env_file("AGORA_PLUGIN"), &len);
	char *path;
	char err[512];

	(void)state;
	empty_dir();
	check_broken(elf, len, make_32bit, "only 64-bit little-endian");
	check_broken(elf, len, make_big_endian, "big-endian");
	check_broken(elf, len, make_executable, "not a shared object");
	check_broken(elf, len, shoff_far, "section headers past the end");
	check_broken(elf, len, shnum_max, "section headers past the end");
	check_broken(elf, len, no_sections, "no section headers");
	check_broken(elf, len, dynsym_huge, "symbol table over");
	check_broken(elf, len, dynsym_past_end, "symbol table past the end");
	check_broken(elf, len, dynsym_bad_link, "bad string table index");
	check_broken(elf, len, no_dynsym, "no dynamic symbol table");
	check_broken(elf, len, names_cut_off, "no agora_plugin_register()");
	check_broken(elf, len, symbol_undefined, "does not define it");
	write_file("empty.so", "", 0);
	path = agora_sprintf("%s/empty.so", dir);
	AGORA_FAIL(agora_plugin_check(path, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "not an ELF file"));
	agora_free(path);
	path = agora_sprintf("%s/none.so", dir);
	AGORA_FAIL(agora_plugin_check(path, err, sizeof(err)), AGORA_ENOTFOUND);
	agora_free(path);
	agora_free(elf);
}

/* Random bytes over the headers and tables: every answer is an answer. */
static void
mangled_plugins_never_crash_the_check(void **state)
{
	size_t len;
	unsigned char *elf = read_all(env_file("AGORA_PLUGIN"), &len);
	unsigned char *copy = agora_malloc(len);
	char *path = agora_sprintf("%s/mangled.so", dir);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	Elf64_Shdr *sym = section(elf, SHT_DYNSYM);
	char err[512];

	(void)state;
	for (int round = 0; round < 300; round++) {
		memcpy(copy, elf, len);
		for (int k = 0; k < 8; k++) {
			size_t at;
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* The file header, the section headers or .dynsym. */
			switch (x % 3) {
			case 0:
				at = (x >> 8) % sizeof(Elf64_Ehdr);
				break;
			case 1:
				at = ehdr(elf)->e_shoff +
				     (x >> 8) % (ehdr(elf)->e_shnum *
				                 sizeof(Elf64_Shdr));
				break;
			default:
				at = sym->sh_offset + (x >> 8) % sym->sh_size;
				break;
			}
			copy[at % len] = (unsigned char)(x >> 32);
		}
		write_file("mangled.so", copy, len);
		(void)agora_plugin_check(path, err, sizeof(err));
	}
	agora_free(path);
	agora_free(copy);
	agora_free(elf);
}

static void
fifos_and_directories_are_skipped_without_blocking(void **state)
{
	agora_buf loaded;
	char err[512];
	char *fifo = agora_sprintf("%s/fifo.so", dir);
	char *sub = agora_sprintf("%s/sub.so", dir);

	(void)state;
	empty_dir();
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	agora_buf_init(&loaded, 0);
	AGORA_PASS(agora_plugin_load_dir(dir, &loaded, err, sizeof(err)));
	assert_int_equal(loaded.len, 0);
	AGORA_FAIL(agora_plugin_load(fifo, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	agora_buf_fini(&loaded);
	agora_free(fifo);
	agora_free(sub);
}

/* Last: it registers "tally" for the rest of the process. */
static void
the_real_plugin_still_loads(void **state)
{
	agora_buf loaded;
	char err[512];

	(void)state;
	empty_dir();
	agora_free(copy_to(env_file("AGORA_PLUGIN"), "tally.so", SIZE_MAX));
	agora_buf_init(&loaded, 0);
	AGORA_PASS(agora_plugin_load_dir(dir, &loaded, err, sizeof(err)));
	assert_non_null(strstr(loaded.data, "tally.so"));
	assert_non_null(agora_kind_find("tally"));
	agora_buf_fini(&loaded);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_file_without_the_symbol_never_runs),
		cmocka_unit_test(dot_files_and_other_files_are_skipped),
		cmocka_unit_test(garbage_and_truncated_files_are_skipped),
		cmocka_unit_test(hostile_files_are_refused_with_a_reason),
		cmocka_unit_test(mangled_plugins_never_crash_the_check),
		cmocka_unit_test(
		    fifos_and_directories_are_skipped_without_blocking),
		cmocka_unit_test(the_real_plugin_still_loads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
