/* SPDX-License-Identifier: MIT */
/* Private: one question asked of an ELF file without loading it, for
 * plugins (plugin.c): does its dynamic symbol table define this global
 * function? 64-bit little-endian ELF only; every read is bounded, so a
 * hostile or truncated file is an answer, never a crash or a hang. */
#ifndef AGORA_ELFSYM_H
#define AGORA_ELFSYM_H

#include <stddef.h>

#include "agora/err.h"

/* The caps: a larger file, or a larger symbol or string table, is refused
 * (plugins are small; this bounds what a hostile file costs to check). */
#define ELF_FILE_MAX  ((unsigned long long)512 << 20)
#define ELF_TABLE_MAX ((unsigned long long)16 << 20)

/* AGORA_OK if the file open on fd (a regular file, read with pread from
 * its start) defines name as a global or weak function of its .dynsym:
 * defined, not only referenced. Otherwise AGORA_ENOTFOUND (no such
 * definition) or AGORA_EINVAL (not a 64-bit little-endian ELF shared
 * object, or a malformed one), with why saying which; AGORA_ESYS for a
 * read error. */
agora_err agora__elf_defines_function(int fd, const char *name, char *why,
                                      size_t whylen);

#endif
