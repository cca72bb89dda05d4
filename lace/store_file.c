/* SPDX-License-Identifier: MIT */
/* Saving a store to a file and loading it back. The format (integers
 * little-endian; column bytes as the host holds them, so little-endian
 * hosts only):
 *
 *   "AGLSTORE" u32 version (1) u32 kind u64 capacity u64 min_traj_len
 *   u32 nfields, each: u32 name length, name, u32 dtype, u32 ndim,
 *                      u64 shape[ndim]
 *   u64 pos lo added traj_begin traj_id sample_begin sample_end rng[4]
 *   each field's whole column (capacity x row bytes)
 *   trajectory: capacity x (u64 id, u64 ep_begin, i64 ep_end, u64 traj)
 *   u64 FNV-1a of every byte before it
 *
 * A save writes a temporary file beside the target (mode 0600, from
 * mkstemp), syncs it and renames it, so a crash never leaves half a file
 * under the name; the store stays locked while it is written. A load
 * reads a file as hostile: every length is checked against the store's
 * own schema before anything is allocated, the bookkeeping is checked
 * for consistency, and the store is changed only once the whole file has
 * passed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "store.h"

#define FILE_MAGIC   "AGLSTORE"
#define FILE_VERSION 1u

static const char *const kind_names[] = { "queued", "replay", "trajectory" };

static bool
file_host_le(void)
{
	const uint16_t one = 1;
	unsigned char b;

	memcpy(&b, &one, 1);
	return b == 1;
}

static void
file_hash(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++) {
		*h = (*h ^ c[i]) * 0x100000001b3ULL;
	}
}

#define FILE_HASH_INIT 0xcbf29ce484222325ULL

/* ---- writing ----------------------------------------------------------- */

typedef struct file_w {
	FILE *f;
	uint64_t hash;
	bool bad;
} file_w;

static void
w_bytes(file_w *w, const void *p, size_t n)
{
	if (!w->bad && n > 0 && fwrite(p, 1, n, w->f) != n) {
		w->bad = true;
	}
	file_hash(&w->hash, p, n);
}

static void
w_u64(file_w *w, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++) {
		b[i] = (unsigned char)(v >> (8 * i));
	}
	w_bytes(w, b, sizeof(b));
}

static void
w_u32(file_w *w, uint32_t v)
{
	unsigned char b[4];

	for (int i = 0; i < 4; i++) {
		b[i] = (unsigned char)(v >> (8 * i));
	}
	w_bytes(w, b, sizeof(b));
}

static void
file_write_store(file_w *w, const agora_lace_store *st)
{
	w_bytes(w, FILE_MAGIC, 8);
	w_u32(w, FILE_VERSION);
	w_u32(w, (uint32_t)st->kind);
	w_u64(w, st->capacity);
	w_u64(w, st->min_len);
	w_u32(w, (uint32_t)st->nfields);
	for (size_t i = 0; i < st->nfields; i++) {
		const agora_lace_field *f = &st->fields[i];
		size_t len = strlen(f->name);

		w_u32(w, (uint32_t)len);
		w_bytes(w, f->name, len);
		w_u32(w, (uint32_t)f->dtype);
		w_u32(w, f->ndim);
		for (uint32_t d = 0; d < f->ndim; d++) {
			w_u64(w, f->shape[d]);
		}
	}
	w_u64(w, st->pos);
	w_u64(w, st->lo);
	w_u64(w, st->added);
	w_u64(w, st->traj_begin);
	w_u64(w, st->traj_id);
	w_u64(w, st->sample_begin);
	w_u64(w, st->sample_end);
	for (int i = 0; i < 4; i++) {
		w_u64(w, st->rng[i]);
	}
	for (size_t i = 0; i < st->nfields; i++) {
		w_bytes(w, st->cols[i], st->capacity * st->row_bytes[i]);
	}
	for (size_t i = 0; st->slots != NULL && i < st->capacity; i++) {
		w_u64(w, st->slots[i].id);
		w_u64(w, st->slots[i].ep_begin);
		w_u64(w, (uint64_t)st->slots[i].ep_end);
		w_u64(w, st->slots[i].traj);
	}
	w_u64(w, w->hash);
}

/* Write, flush and sync the open temporary file; false on any failure
 * (with errno). The file is closed either way. */
static bool
file_write_close(file_w *w, const agora_lace_store *st)
{
	bool ok;

	file_write_store(w, st);
	ok = !w->bad && fflush(w->f) == 0 && fsync(fileno(w->f)) == 0;
	if (fclose(w->f) != 0) {
		ok = false;
	}
	return ok;
}

agora_err
agora_lace_store_save(agora_lace_store *st, const char *path, char *err,
                      size_t errlen)
{
	file_w w = { .hash = FILE_HASH_INIT };
	char *tmp;
	char why[128];
	int fd;
	bool ok;

	if (st == NULL || path == NULL) {
		agora__lace_seterr(err, errlen, "no store or no path");
		return AGORA_EINVAL;
	}
	if (!file_host_le()) {
		agora__lace_seterr(
		    err, errlen, "%s: saving needs a little-endian host", path);
		return AGORA_EINVAL;
	}
	tmp = agora_sprintf("%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0 || (w.f = fdopen(fd, "wb")) == NULL) {
		(void)strerror_r(errno, why, sizeof(why));
		agora__lace_seterr(err, errlen, "%s: cannot create: %s", tmp,
		                   why);
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		agora_free(tmp);
		return AGORA_ESYS;
	}
	pthread_mutex_lock(&st->lock);
	ok = file_write_close(&w, st);
	pthread_mutex_unlock(&st->lock);
	if (ok && rename(tmp, path) != 0) {
		ok = false;
	}
	if (!ok) {
		(void)strerror_r(errno, why, sizeof(why));
		agora__lace_seterr(err, errlen, "%s: cannot write: %s", path,
		                   why);
		unlink(tmp);
	}
	agora_free(tmp);
	return ok ? AGORA_OK : AGORA_ESYS;
}

/* ---- reading ----------------------------------------------------------- */

typedef struct file_r {
	FILE *f;
	uint64_t hash;
	bool bad; /* ended early or failed to read */
} file_r;

static bool
r_bytes(file_r *r, void *p, size_t n)
{
	if (r->bad || (n > 0 && fread(p, 1, n, r->f) != n)) {
		r->bad = true;
		memset(p, 0, n);
		return false;
	}
	file_hash(&r->hash, p, n);
	return true;
}

static uint64_t
r_u64(file_r *r)
{
	unsigned char b[8];
	uint64_t v = 0;

	r_bytes(r, b, sizeof(b));
	for (int i = 0; i < 8; i++) {
		v |= (uint64_t)b[i] << (8 * i);
	}
	return v;
}

static uint32_t
r_u32(file_r *r)
{
	unsigned char b[4];
	uint32_t v = 0;

	r_bytes(r, b, sizeof(b));
	for (int i = 0; i < 4; i++) {
		v |= (uint32_t)b[i] << (8 * i);
	}
	return v;
}

/* What a file holds, before it goes into the store. */
typedef struct file_img {
	uint64_t pos, lo, added, traj_begin, traj_id, sample_begin, sample_end;
	uint64_t rng[4];
	unsigned char **cols;
	agora__lace_slot *slots;
} file_img;

static void
file_img_free(file_img *m, size_t nfields)
{
	for (size_t i = 0; m->cols != NULL && i < nfields; i++) {
		agora_free(m->cols[i]);
	}
	agora_free(m->cols);
	agora_free(m->slots);
}

#define FILE_SHORT AGORA_EPROTO

/* Read one field's description and compare it with the store's. */
static agora_err
file_read_field(file_r *r, const agora_lace_field *f, size_t i, char *err,
                size_t errlen)
{
	char name[AGORA__LACE_NAME_MAX + 1];
	uint32_t len = r_u32(r), dtype, ndim;

	if (r->bad) {
		return FILE_SHORT;
	}
	if (len > AGORA__LACE_NAME_MAX) {
		agora__lace_seterr(err, errlen,
		                   "field %zu: a name of %u bytes is too long",
		                   i, (unsigned)len);
		return AGORA_EPROTO;
	}
	r_bytes(r, name, len);
	name[len] = '\0';
	dtype = r_u32(r);
	ndim = r_u32(r);
	if (r->bad) {
		return FILE_SHORT;
	}
	if (len != strlen(f->name) || memcmp(name, f->name, len) != 0) {
		agora__lace_seterr(err, errlen,
		                   "field %zu: the file's is \"%.*s\", the "
		                   "store's \"%s\"",
		                   i, (int)len, name, f->name);
		return AGORA_EINVAL;
	}
	if (dtype != (uint32_t)f->dtype || ndim != f->ndim) {
		const char *dn = agora_lace_dtype_name((agora_lace_dtype)dtype);

		agora__lace_seterr(
		    err, errlen,
		    "field \"%s\": the file's is %s with %u "
		    "dimensions, the store's %s with %u",
		    f->name, dn != NULL ? dn : "an unknown dtype",
		    (unsigned)ndim, agora_lace_dtype_name(f->dtype),
		    (unsigned)f->ndim);
		return AGORA_EINVAL;
	}
	for (uint32_t d = 0; d < ndim; d++) {
		uint64_t n = r_u64(r);

		if (!r->bad && n != f->shape[d]) {
			agora__lace_seterr(err, errlen,
			                   "field \"%s\": shape[%u] is %llu in "
			                   "the file, %llu in the store",
			                   f->name, (unsigned)d,
			                   (unsigned long long)n,
			                   (unsigned long long)f->shape[d]);
			return AGORA_EINVAL;
		}
	}
	return r->bad ? FILE_SHORT : AGORA_OK;
}

/* The header up to the fields: must be this store's kind and size. */
static agora_err
file_read_head(file_r *r, const agora_lace_store *st, char *err, size_t errlen)
{
	char magic[8];
	uint32_t version, kind, nfields;
	uint64_t cap, min_len;

	r_bytes(r, magic, sizeof(magic));
	if (r->bad || memcmp(magic, FILE_MAGIC, 8) != 0) {
		agora__lace_seterr(err, errlen, "not a datastore file");
		return AGORA_EPROTO;
	}
	version = r_u32(r);
	kind = r_u32(r);
	cap = r_u64(r);
	min_len = r_u64(r);
	nfields = r_u32(r);
	if (r->bad) {
		return FILE_SHORT;
	}
	if (version != FILE_VERSION) {
		agora__lace_seterr(err, errlen,
		                   "version %u, this program reads %u",
		                   (unsigned)version, FILE_VERSION);
		return AGORA_EPROTO;
	}
	if (kind != (uint32_t)st->kind) {
		agora__lace_seterr(err, errlen,
		                   "kind: the file's is %s, the store's %s",
		                   kind < 3 ? kind_names[kind] : "unknown",
		                   kind_names[st->kind]);
		return AGORA_EINVAL;
	}
	if (cap != st->capacity) {
		agora__lace_seterr(
		    err, errlen,
		    "capacity: the file's is %llu, the store's %zu",
		    (unsigned long long)cap, st->capacity);
		return AGORA_EINVAL;
	}
	if (min_len != st->min_len) {
		agora__lace_seterr(err, errlen,
		                   "min_traj_len: the file's is %llu, the "
		                   "store's %llu",
		                   (unsigned long long)min_len,
		                   (unsigned long long)st->min_len);
		return AGORA_EINVAL;
	}
	if (nfields != st->nfields) {
		agora__lace_seterr(err, errlen,
		                   "fields: the file has %u, the store %zu",
		                   (unsigned)nfields, st->nfields);
		return AGORA_EINVAL;
	}
	return AGORA_OK;
}

/* The size of this store's file, to refuse a short or long one before
 * reading its columns. */
static uint64_t
file_size_of(const agora_lace_store *st)
{
	uint64_t n = 8 + 4 + 4 + 8 + 8 + 4 + 7 * 8 + 4 * 8 + 8;

	for (size_t i = 0; i < st->nfields; i++) {
		n += 4 + strlen(st->fields[i].name) + 4 + 4 +
		     8 * (uint64_t)st->fields[i].ndim;
		n += (uint64_t)st->capacity * st->row_bytes[i];
	}
	if (st->slots != NULL) {
		n += (uint64_t)st->capacity * 32;
	}
	return n;
}

/* The held slots of a trajectory image: ids rise and stay under added,
 * each row lies within its trajectory. */
static bool
file_slots_ok(const file_img *m, uint64_t cap)
{
	for (uint64_t p = m->lo; p < m->pos; p++) {
		const agora__lace_slot *s = &m->slots[p % cap];

		if (s->id >= m->added ||
		    (p > m->lo && s->id <= m->slots[(p - 1) % cap].id)) {
			return false;
		}
		if (s->ep_begin > p ||
		    (s->ep_end != -1 && (s->ep_end <= (int64_t)p ||
		                         (uint64_t)s->ep_end > m->pos))) {
			return false;
		}
	}
	return true;
}

/* The bookkeeping agrees with itself (a file may be crafted). */
static bool
file_img_ok(const file_img *m, const agora_lace_store *st)
{
	uint64_t cap = st->capacity;

	if (m->pos > ((uint64_t)1 << 62) || m->lo > m->pos ||
	    m->pos - m->lo > cap || m->added < m->pos) {
		return false;
	}
	if (st->slots == NULL) {
		return m->added == m->pos &&
		       m->lo == (m->pos > cap ? m->pos - cap : 0);
	}
	if (m->sample_begin < m->lo || m->sample_end < m->sample_begin ||
	    m->pos < m->sample_end || m->traj_begin > m->pos) {
		return false;
	}
	return file_slots_ok(m, cap);
}

/* Everything after the fields, into m. */
static agora_err
file_read_body(file_r *r, const agora_lace_store *st, file_img *m)
{
	uint64_t *v[] = { &m->pos,        &m->lo,      &m->added,
		          &m->traj_begin, &m->traj_id, &m->sample_begin,
		          &m->sample_end, &m->rng[0],  &m->rng[1],
		          &m->rng[2],     &m->rng[3] };
	uint64_t sum;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		*v[i] = r_u64(r);
	}
	m->cols = agora_calloc(st->nfields, sizeof(*m->cols));
	for (size_t i = 0; i < st->nfields && !r->bad; i++) {
		m->cols[i] = agora_malloc(st->capacity * st->row_bytes[i]);
		r_bytes(r, m->cols[i], st->capacity * st->row_bytes[i]);
	}
	if (st->slots != NULL && !r->bad) {
		m->slots = agora_calloc(st->capacity, sizeof(*m->slots));
		for (size_t i = 0; i < st->capacity && !r->bad; i++) {
			m->slots[i].id = r_u64(r);
			m->slots[i].ep_begin = r_u64(r);
			m->slots[i].ep_end = (int64_t)r_u64(r);
			m->slots[i].traj = r_u64(r);
		}
	}
	sum = r->hash;
	/* AGORA_ECANCELED: a checksum mismatch, said by the caller. */
	if (r->bad || r_u64(r) != sum) {
		return r->bad ? FILE_SHORT : AGORA_ECANCELED;
	}
	return AGORA_OK;
}

/* Read and check the whole file into m; a message (without the path) in
 * err on failure. */
static agora_err
file_read(FILE *f, const agora_lace_store *st, file_img *m, char *err,
          size_t errlen)
{
	file_r r = { .f = f, .hash = FILE_HASH_INIT };
	agora_err rv = file_read_head(&r, st, err, errlen);

	for (size_t i = 0; rv == AGORA_OK && i < st->nfields; i++) {
		rv = file_read_field(&r, &st->fields[i], i, err, errlen);
	}
	if (rv == AGORA_OK) {
		struct stat sb;
		uint64_t want = file_size_of(st);

		if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0 ||
		    (uint64_t)sb.st_size != want) {
			agora__lace_seterr(err, errlen,
			                   "%lld bytes, a file of this store "
			                   "has %llu: truncated or not one",
			                   (long long)sb.st_size,
			                   (unsigned long long)want);
			return AGORA_EPROTO;
		}
	}
	if (rv == AGORA_OK) {
		rv = file_read_body(&r, st, m);
	}
	if (rv == AGORA_ECANCELED) {
		agora__lace_seterr(err, errlen,
		                   "checksum mismatch: the file is corrupted");
		return AGORA_EPROTO;
	}
	if (r.bad) {
		agora__lace_seterr(err, errlen, "the file ends early");
		return AGORA_EPROTO;
	}
	if (rv == AGORA_OK && !file_img_ok(m, st)) {
		agora__lace_seterr(err, errlen,
		                   "its bookkeeping is inconsistent");
		return AGORA_EPROTO;
	}
	return rv;
}

/* Put a checked image into the store; the store's old columns go into m
 * (to be freed). Caller holds the lock. */
static void
file_install(agora_lace_store *st, file_img *m)
{
	unsigned char **cols = st->cols;
	agora__lace_slot *slots = st->slots;

	st->cols = m->cols;
	m->cols = cols;
	if (slots != NULL) {
		st->slots = m->slots;
		m->slots = slots;
	}
	st->pos = m->pos;
	st->lo = m->lo;
	st->added = m->added;
	st->traj_begin = m->traj_begin;
	st->traj_id = m->traj_id;
	st->sample_begin = m->sample_begin;
	st->sample_end = m->sample_end;
	memcpy(st->rng, m->rng, sizeof(st->rng));
}

agora_err
agora_lace_store_load(agora_lace_store *st, const char *path, char *err,
                      size_t errlen)
{
	file_img m = { 0 };
	char why[256] = "";
	agora_err rv;
	FILE *f;

	if (st == NULL || path == NULL) {
		agora__lace_seterr(err, errlen, "no store or no path");
		return AGORA_EINVAL;
	}
	if (!file_host_le()) {
		agora__lace_seterr(err, errlen,
		                   "%s: loading needs a little-endian host",
		                   path);
		return AGORA_EINVAL;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		int e = errno;

		(void)strerror_r(e, why, sizeof(why));
		agora__lace_seterr(err, errlen, "%s: %s", path, why);
		return e == ENOENT ? AGORA_ENOTFOUND : AGORA_ESYS;
	}
	rv = file_read(f, st, &m, why, sizeof(why));
	(void)fclose(f);
	if (rv != AGORA_OK) {
		agora__lace_seterr(err, errlen, "%s: %s", path, why);
	} else {
		pthread_mutex_lock(&st->lock);
		file_install(st, &m);
		pthread_mutex_unlock(&st->lock);
	}
	file_img_free(&m, st->nfields);
	return rv;
}
