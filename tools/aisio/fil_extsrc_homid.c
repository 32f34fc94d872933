/* SPDX-License-Identifier: MIT */
/*
 * aisio fil: homid's extent service as an extent source. On a homi: device
 * each file of the dataset is mapped by homid (FILE_MAP of the image path,
 * through include/aisio/file.h) the first time a reader asks for it; the
 * runs are kept as extents in device bytes for every later unit. homid
 * decodes the namespace's XFS once; this process decodes nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <aisio/aisio.h>
#include <aisio/file.h>

#include "fil.h"
#include "util/err.h"

struct hent {
	char *path;
	struct aisio_extent *ext;
	uint32_t n;
	uint64_t size;
};

struct homid_src {
	struct aisio_dev *dev;
	pthread_mutex_t mu;
	struct hent *tab; /* open addressing, cap a power of two, at most half full */
	uint32_t cap, used;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static struct hent *slot_of(struct hent *tab, uint32_t cap, const char *path)
{
	for (uint64_t i = hash_str(path) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!tab[i].path || !strcmp(tab[i].path, path))
			return &tab[i];
}

static int grow(struct homid_src *h)
{
	uint32_t cap = h->cap ? h->cap * 2 : 1024;
	struct hent *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < h->cap; i++)
		if (h->tab[i].path)
			*slot_of(t, cap, h->tab[i].path) = h->tab[i];
	free(h->tab);
	h->tab = t;
	h->cap = cap;
	return 0;
}

/* Ask homid for the runs of @path (relative or absolute in the image) into @e. */
static int map_file(struct homid_src *h, const char *path, struct hent *e)
{
	const struct aisio_file_run *runs;
	struct aisio_file *f;
	char abs[4200];
	uint32_t n, lba;
	int err;

	snprintf(abs, sizeof(abs), "%s%s", path[0] == '/' ? "" : "/", path);
	err = aisio_file_open(h->dev, abs, AISIO_FILE_IMAGE, &f);
	if (err)
		return err;
	err = aisio_file_runs(f, &runs, &n, &lba);
	if (!err) {
		e->ext = calloc(n ? n : 1, sizeof(*e->ext));
		if (!e->ext)
			err = aisio_err(-ENOMEM, "out of memory");
	}
	if (!err) {
		for (uint32_t i = 0; i < n; i++) {
			e->ext[i].off = runs[i].off;
			e->ext[i].len = runs[i].len;
			e->ext[i].dev_off = runs[i].lba * lba;
			e->ext[i].flags = runs[i].flags;
		}
		e->n = n;
		e->size = aisio_file_size(f);
	}
	aisio_file_close(f);
	return err;
}

static int homid_file_extents(struct fil_extsrc *src, const char *path, const struct aisio_extent **ext,
			      uint32_t *n, uint64_t *size)
{
	struct homid_src *h = src->priv;
	struct hent *e, ne = { 0 };
	int err = 0;

	pthread_mutex_lock(&h->mu);
	if ((h->used + 1) * 2 > h->cap && grow(h)) {
		pthread_mutex_unlock(&h->mu);
		return aisio_err(-ENOMEM, "out of memory");
	}
	e = slot_of(h->tab, h->cap, path);
	if (!e->path) {
		/* one mapping at a time: the device's connection to homid serves one request at once anyway */
		err = map_file(h, path, &ne);
		if (!err && !(ne.path = strdup(path))) {
			free(ne.ext);
			err = aisio_err(-ENOMEM, "out of memory");
		}
		if (!err) {
			*e = ne;
			h->used++;
		}
	}
	if (!err) {
		for (uint32_t i = 0; i < e->n; i++)
			if (e->ext[i].flags & AISIO_FILE_RUN_REFUSED & ~AISIO_EXT_UNWRITTEN) {
				err = aisio_err(-EOPNOTSUPP, "%s: run %u has no plain device address (flags 0x%x: "
						"delayed, shared, inline, encoded, unaligned or realtime)", path, i,
						e->ext[i].flags);
				break;
			}
		*ext = e->ext;
		*n = e->n;
		*size = e->size;
	}
	pthread_mutex_unlock(&h->mu);
	return err;
}

static void homid_src_close(struct fil_extsrc *src)
{
	struct homid_src *h = src->priv;

	for (uint32_t i = 0; i < h->cap; i++) {
		free(h->tab[i].path);
		free(h->tab[i].ext);
	}
	free(h->tab);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

int fil_extsrc_homid(struct aisio_dev *dev, struct fil_extsrc *out)
{
	struct homid_src *h = calloc(1, sizeof(*h));

	if (!h)
		return aisio_err(-ENOMEM, "out of memory");
	h->dev = dev;
	pthread_mutex_init(&h->mu, NULL);
	if (grow(h)) {
		free(h);
		return aisio_err(-ENOMEM, "out of memory");
	}
	out->file_extents = homid_file_extents;
	out->close = homid_src_close;
	out->name = "homid";
	out->priv = h;
	return 0;
}
