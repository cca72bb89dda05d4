/* SPDX-License-Identifier: MIT */
/* Reading just enough of an ELF file to say whether it defines a function
 * in its dynamic symbol table: the file header, the section headers, the
 * .dynsym section and the string table it links to. Fields are decoded
 * from little-endian bytes, not by overlaying <elf.h>'s structs, so the
 * answer does not depend on the host; every offset and size is checked
 * against the file's size and a cap before it is read. Files without
 * section headers (stripped with sstrip) are refused rather than read
 * through PT_DYNAMIC: a plugin built the ordinary way has them. */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "elfsym.h"

#define ELF_EHDR_SIZE 64 /* sizeof(Elf64_Ehdr) */
#define ELF_SHDR_SIZE 64 /* sizeof(Elf64_Shdr) */
#define ELF_SYM_SIZE  24 /* sizeof(Elf64_Sym) */

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

/* What the search needs of one section header. */
struct elf_section {
	uint32_t type;
	uint64_t offset;
	uint64_t size;
	uint32_t link;
	uint64_t entsize;
};

struct elf_file {
	int fd;
	uint64_t size;
	char *why;
	size_t whylen;
};

/* Read len bytes at off into a new buffer (caller frees), if they lie in
 * the file and len is within cap. */
static agora_err
elf_read(struct elf_file *f, uint64_t off, uint64_t len, uint64_t cap,
         const char *what, unsigned char **out)
{
	unsigned char *buf;
	size_t done = 0;

	*out = NULL;
	if (len > cap) {
		snprintf(f->why, f->whylen, "%s over %llu bytes", what,
		         (unsigned long long)cap);
		return AGORA_EINVAL;
	}
	if (off > f->size || len > f->size - off) {
		snprintf(f->why, f->whylen, "%s past the end of the file",
		         what);
		return AGORA_EINVAL;
	}
	buf = agora_malloc(len > 0 ? (size_t)len : 1);
	while (done < len) {
		ssize_t n = pread(f->fd, buf + done, (size_t)len - done,
		                  (off_t)(off + done));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			/* Shrunk while read, or an I/O error. */
			snprintf(f->why, f->whylen, "cannot read its %s", what);
			agora_free(buf);
			return AGORA_ESYS;
		}
		done += (size_t)n;
	}
	*out = buf;
	return AGORA_OK;
}

/* Check the file header; the section header table's place and count. */
static agora_err
elf_header(struct elf_file *f, uint64_t *shoff, uint32_t *shnum)
{
	unsigned char *h = NULL;
	agora_err rv;

	if (f->size < ELF_EHDR_SIZE) {
		snprintf(f->why, f->whylen, "not an ELF file (too short)");
		return AGORA_EINVAL;
	}
	rv = elf_read(f, 0, ELF_EHDR_SIZE, ELF_EHDR_SIZE, "file header", &h);
	if (rv != AGORA_OK) {
		return rv;
	}
	if (memcmp(h, ELFMAG, SELFMAG) != 0) {
		snprintf(f->why, f->whylen, "not an ELF file");
		rv = AGORA_EINVAL;
	} else if (h[EI_CLASS] != ELFCLASS64 || h[EI_DATA] != ELFDATA2LSB) {
		snprintf(f->why, f->whylen,
		         "a %s %s ELF file: only 64-bit little-endian ELF "
		         "plugins can be checked",
		         h[EI_CLASS] == ELFCLASS64 ? "64-bit" : "32-bit",
		         h[EI_DATA] == ELFDATA2LSB ? "little-endian"
		                                   : "big-endian");
		rv = AGORA_EINVAL;
	} else if (le16(h + 16) != ET_DYN) {
		snprintf(f->why, f->whylen,
		         "not a shared object (ELF type %u): build it with "
		         "-shared -fPIC",
		         (unsigned)le16(h + 16));
		rv = AGORA_EINVAL;
	} else if (le64(h + 40) == 0 || le16(h + 60) == 0) {
		snprintf(f->why, f->whylen, "no section headers to check");
		rv = AGORA_EINVAL;
	} else if (le16(h + 58) != ELF_SHDR_SIZE) {
		snprintf(f->why, f->whylen, "bad section header size %u",
		         (unsigned)le16(h + 58));
		rv = AGORA_EINVAL;
	}
	*shoff = le64(h + 40);
	*shnum = le16(h + 60);
	agora_free(h);
	return rv;
}

static void
elf_section_at(const unsigned char *shdrs, uint32_t i, struct elf_section *s)
{
	const unsigned char *p = shdrs + (size_t)i * ELF_SHDR_SIZE;

	s->type = le32(p + 4);
	s->offset = le64(p + 24);
	s->size = le64(p + 32);
	s->link = le32(p + 40);
	s->entsize = le64(p + 56);
}

/* The .dynsym section and the string table it names. */
static agora_err
elf_find_dynsym(struct elf_file *f, struct elf_section *sym,
                struct elf_section *str)
{
	unsigned char *shdrs = NULL;
	uint64_t shoff;
	uint32_t shnum, i;
	agora_err rv = elf_header(f, &shoff, &shnum);

	if (rv == AGORA_OK) {
		/* At most 65535 * 64 bytes: the count is 16 bits. */
		rv = elf_read(f, shoff, (uint64_t)shnum * ELF_SHDR_SIZE,
		              (uint64_t)UINT16_MAX * ELF_SHDR_SIZE,
		              "section headers", &shdrs);
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	for (i = 0; i < shnum; i++) {
		elf_section_at(shdrs, i, sym);
		if (sym->type == SHT_DYNSYM) {
			break;
		}
	}
	if (i == shnum) {
		snprintf(f->why, f->whylen, "no dynamic symbol table");
		rv = AGORA_EINVAL;
	} else if (sym->entsize != ELF_SYM_SIZE) {
		snprintf(f->why, f->whylen, "bad symbol size %llu",
		         (unsigned long long)sym->entsize);
		rv = AGORA_EINVAL;
	} else if (sym->link == 0 || sym->link >= shnum) {
		snprintf(f->why, f->whylen, "bad string table index %u",
		         (unsigned)sym->link);
		rv = AGORA_EINVAL;
	} else {
		elf_section_at(shdrs, sym->link, str);
		if (str->type != SHT_STRTAB) {
			snprintf(f->why, f->whylen,
			         "the symbols' string table is not one");
			rv = AGORA_EINVAL;
		}
	}
	agora_free(shdrs);
	return rv;
}

/* Whether strtab[off] is name, NUL-terminated, within the table. */
static bool
elf_name_is(const unsigned char *strtab, uint64_t strsize, uint32_t off,
            const char *name, size_t len)
{
	return off < strsize && strsize - off > len &&
	       memcmp(strtab + off, name, len) == 0 &&
	       strtab[off + len] == '\0';
}

agora_err
agora__elf_defines_function(int fd, const char *name, char *why, size_t whylen)
{
	struct elf_file f = { fd, 0, why, whylen };
	struct elf_section symsec, strsec;
	unsigned char *syms = NULL, *strtab = NULL;
	size_t len = strlen(name);
	bool referenced = false, found = false;
	struct stat st;
	agora_err rv;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return AGORA_EINVAL;
	}
	f.size = (uint64_t)st.st_size;
	if (f.size > ELF_FILE_MAX) {
		snprintf(why, whylen, "over %llu bytes", ELF_FILE_MAX);
		return AGORA_EINVAL;
	}
	rv = elf_find_dynsym(&f, &symsec, &strsec);
	if (rv == AGORA_OK) {
		rv = elf_read(&f, symsec.offset, symsec.size, ELF_TABLE_MAX,
		              "symbol table", &syms);
	}
	if (rv == AGORA_OK) {
		rv = elf_read(&f, strsec.offset, strsec.size, ELF_TABLE_MAX,
		              "string table", &strtab);
	}
	for (uint64_t i = 0;
	     rv == AGORA_OK && !found && i < symsec.size / ELF_SYM_SIZE; i++) {
		const unsigned char *s = syms + i * ELF_SYM_SIZE;
		unsigned bind = s[4] >> 4, type = s[4] & 0xfu, vis = s[5] & 3u;
		uint16_t shndx = le16(s + 6);

		if (!elf_name_is(strtab, strsec.size, le32(s), name, len)) {
			continue;
		}
		/* Defined here (not undefined, absolute or common), seen by
		 * dlsym (global or weak, not hidden), and a function. */
		found = shndx != SHN_UNDEF && shndx < SHN_LORESERVE &&
		        (bind == STB_GLOBAL || bind == STB_WEAK) &&
		        type == STT_FUNC && vis != STV_HIDDEN &&
		        vis != STV_INTERNAL;
		referenced = true;
	}
	if (rv == AGORA_OK && !found) {
		snprintf(why, whylen,
		         referenced ? "it names %s() but does not define it"
		                    : "no %s() in it",
		         name);
		rv = AGORA_ENOTFOUND;
	}
	agora_free(syms);
	agora_free(strtab);
	return rv;
}
