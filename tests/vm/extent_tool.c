/* SPDX-License-Identifier: MIT */
/*
 * Tests of the extent service (docs/homi.md, "Extent service") and of
 * aisio_file_read() (include/aisio/file.h). Every file's content is
 * include/aisio/pattern.h's function of its path relative to the dataset
 * root, so every byte read is checked.
 *
 *   extent_tool gen SRCDIR PROTO
 *       write the dataset's files into SRCDIR and a mkfs.xfs -p prototype
 *       naming them; print the dataset's paths, one a line
 *   extent_tool verify URI image|mounted ROOT PATH...
 *       read every file through its extents in pieces of many sizes and
 *       offsets; every byte must match and every read be served by the
 *       extent path
 *   extent_tool expect ERRNO URI image|mounted PATH
 *       opening PATH must fail with ERRNO (ENOENT, EISDIR, EXDEV, EACCES ...)
 *   extent_tool stale URI DIR ROUNDS
 *       DIR on a mounted file system: files are changed (overwritten in
 *       place, truncated, extended, deleted, renamed, replaced, changed by
 *       another process) while handles hold their runs; after every change
 *       each read must return the new bytes or a refusal, never old ones.
 *       Unwritten and shared (reflink) extents must be served by the kernel
 *       path, with the reason.
 *   extent_tool read URI image|mounted ROOT REPS PATH...
 *       map every file, then read each whole REPS times unchecked into DMA
 *       memory (aisio_file_read_dma; read-copy: aisio_file_read into
 *       malloc'd memory); print
 *       the mapping time and GB/s, files/s (bench/extent)
 *   --as UID (first): drop to UID and its group before opening URI.
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <aisio/aisio.h>
#include <aisio/file.h>
#include <aisio/pattern.h>

static int failures;

#define FAIL(...)                                    \
	do {                                         \
		fprintf(stderr, "FAIL: " __VA_ARGS__); \
		fputc('\n', stderr);                 \
		failures++;                          \
	} while (0)

static const struct {
	const char *path;
	uint64_t size;
} dataset[] = {
	{ "empty", 0 },
	{ "tiny", 1 },
	{ "odd", 4095 },
	{ "page", 4096 },
	{ "mid", 100000 },
	{ "big", (3u << 20) + 123 },
	{ "d1/a", 65536 },
	{ "d1/b", 12345 },
	{ "d1/d2/c", 777777 },
	{ "d1/d2/large", (9u << 20) + 4097 },
};
#define NDATA (sizeof(dataset) / sizeof(dataset[0]))
#define NMANY 24

static uint64_t seed_of(const char *name)
{
	return aisio_pattern_seed(name, strlen(name));
}

static int write_pattern(const char *file, const char *name, uint64_t size)
{
	static uint8_t buf[1 << 16];
	uint64_t seed = seed_of(name);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		perror(file);
		return -1;
	}
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		aisio_pattern_fill(seed, off, buf, n);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
			perror(file);
			close(fd);
			return -1;
		}
		off += n;
	}
	return close(fd);
}

/* ---- gen ------------------------------------------------------------------------ */

static int gen(const char *src, const char *proto)
{
	FILE *p = fopen(proto, "w");
	char file[4096], name[64], cur[64] = "";
	int depth = 0;

	if (!p) {
		perror(proto);
		return 1;
	}
	fprintf(p, "/dev/null\n0 0\nd--755 0 0\n");
	/* dataset[] is ordered so that each directory's entries are contiguous */
	for (size_t i = 0; i < NDATA + NMANY; i++) {
		const char *path;
		uint64_t size;
		char dir[64];
		const char *slash;

		if (i < NDATA) {
			path = dataset[i].path;
			size = dataset[i].size;
		} else {
			snprintf(name, sizeof(name), "many/f%02zu", i - NDATA);
			path = name;
			size = (uint64_t)(i - NDATA) * 37 * 1024 + (i - NDATA) * 13 + 1;
		}
		slash = strrchr(path, '/');
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 0, path);
		/* leave directories until cur is a prefix of dir, then enter the rest */
		while (strncmp(cur, dir, strlen(cur)) || (dir[strlen(cur)] && dir[strlen(cur)] != '/' &&
							 *cur)) {
			char *up = strrchr(cur, '/');

			fprintf(p, "$\n");
			depth--;
			if (up)
				*up = 0;
			else
				cur[0] = 0;
		}
		while (strcmp(cur, dir)) {
			const char *rest = dir + strlen(cur) + (*cur ? 1 : 0);
			size_t n = strcspn(rest, "/");

			fprintf(p, "%.*s d--755 0 0\n", (int)n, rest);
			depth++;
			snprintf(cur, sizeof(cur), "%.*s", (int)((size_t)(rest - dir) + n), dir);
		}
		snprintf(file, sizeof(file), "%s/%zu", src, i);
		if (write_pattern(file, path, size))
			return 1;
		fprintf(p, "%s ---644 0 0 %s\n", slash ? slash + 1 : path, file);
		printf("%s\n", path);
	}
	for (; depth >= 0; depth--)
		fprintf(p, "$\n");
	return fclose(p) ? 1 : 0;
}

/* ---- verify ---------------------------------------------------------------------- */

static int open_dev(const char *uri, struct aisio_dev **dev, struct aisio_queue **q)
{
	if (aisio_dev_open(uri, NULL, dev)) {
		fprintf(stderr, "FAIL: %s: %s\n", uri, aisio_errmsg());
		return -1;
	}
	if (aisio_queue_init(*dev, 64, q)) {
		fprintf(stderr, "FAIL: queue on %s: %s\n", uri, aisio_errmsg());
		aisio_dev_close(*dev);
		return -1;
	}
	return 0;
}

static uint32_t parse_where(const char *s)
{
	if (!strcmp(s, "image"))
		return AISIO_FILE_IMAGE;
	if (strcmp(s, "mounted")) {
		fprintf(stderr, "want 'image' or 'mounted', not '%s'\n", s);
		exit(1);
	}
	return 0;
}

/* Read [off, off + len) and check it against the pattern of @name; returns bytes or -1. */
static uint8_t *dma_buf; /* from aisio_buf_alloc(): reads with aisio_file_read_dma() */

static long read_check(struct aisio_file *f, struct aisio_queue *q, const char *path,
		       const char *name, uint8_t *buf, uint64_t off, size_t len, uint64_t size,
		       uint64_t *cmds)
{
	struct aisio_file_report rep;
	ssize_t n = buf == dma_buf ? aisio_file_read_dma(f, q, buf, off, len, &rep)
				   : aisio_file_read(f, q, buf, off, len, &rep);
	size_t want = off >= size ? 0 : size - off < len ? (size_t)(size - off) : len, bad;

	if (n < 0) {
		FAIL("%s: read of %zu at %llu: %s", path, len, (unsigned long long)off, aisio_errmsg());
		return -1;
	}
	if ((size_t)n != want) {
		FAIL("%s: read of %zu at %llu gave %zd bytes, want %zu", path, len,
		     (unsigned long long)off, n, want);
		return -1;
	}
	if (n && rep.served != AISIO_FILE_SERVED_EXTENT) {
		FAIL("%s: read at %llu served by the %s path (%s)", path, (unsigned long long)off,
		     aisio_file_served_str(rep.served), rep.why);
		return -1;
	}
	bad = aisio_pattern_check(seed_of(name), off, buf, (size_t)n);
	if (bad != (size_t)n) {
		FAIL("%s: byte %llu differs from the pattern", path, (unsigned long long)(off + bad));
		return -1;
	}
	*cmds += rep.cmds;
	return n;
}

static int verify(const char *uri, uint32_t flags, const char *root, int n, char **paths)
{
	static const size_t pieces[] = { 1, 4095, 65536, 1 << 20, 333333, 4096, 7 };
	struct aisio_dev *dev;
	struct aisio_queue *q;
	uint64_t bytes = 0, cmds = 0;
	uint8_t *buf = malloc((4u << 20) + 4096);

	if (!buf || open_dev(uri, &dev, &q))
		return 1;
	dma_buf = aisio_buf_alloc(dev, (4u << 20) + 4096);
	if (!dma_buf) {
		FAIL("DMA memory on %s: %s", uri, aisio_errmsg());
		return 1;
	}
	for (int i = 0; i < n; i++) {
		char full[4096];
		struct aisio_file *f;
		uint64_t size, off = 0;
		size_t k = (size_t)i;

		snprintf(full, sizeof(full), "%s%s%s", root, root[strlen(root) - 1] == '/' ? "" : "/", paths[i]);
		if (aisio_file_open(dev, full, flags, &f)) {
			FAIL("open %s: %s", full, aisio_errmsg());
			continue;
		}
		size = aisio_file_size(f);
		/* the whole file in pieces of changing sizes, then once more in one read */
		/* every other piece into DMA memory: whole LBAs land there without a copy */
		while (off < size) {
			long r = read_check(f, q, full, paths[i], k & 1 ? dma_buf : buf, off,
					    pieces[k % 7], size, &cmds);

			k++;
			if (r <= 0)
				break;
			off += (uint64_t)r;
			bytes += (uint64_t)r;
		}
		if (size <= (4u << 20) &&
		    read_check(f, q, full, paths[i], buf, 0, size + 4096, size, &cmds) >= 0 &&
		    read_check(f, q, full, paths[i], dma_buf, 0, size + 4096, size, &cmds) >= 0)
			bytes += 2 * size;
		/* an unaligned read across the middle, and at the end of the file */
		if (size > 10)
			read_check(f, q, full, paths[i], buf, size / 2 - 3, 8191, size, &cmds);
		read_check(f, q, full, paths[i], buf, size, 100, size, &cmds);
		aisio_file_close(f);
	}
	printf("verify: %d file(s), %llu bytes checked, %llu NVMe commands, %d failure(s)\n", n,
	       (unsigned long long)bytes, (unsigned long long)cmds, failures);
	aisio_buf_free(dev, dma_buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	free(buf);
	return failures ? 1 : 0;
}

static int errno_of(const char *name)
{
	static const struct {
		const char *n;
		int e;
	} t[] = { { "ENOENT", ENOENT }, { "EISDIR", EISDIR }, { "EXDEV", EXDEV },
		  { "EACCES", EACCES }, { "EINVAL", EINVAL }, { "ENOTDIR", ENOTDIR },
		  { "EBUSY", EBUSY },	{ "EOPNOTSUPP", EOPNOTSUPP }, { "EUCLEAN", EUCLEAN } };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].n, name))
			return t[i].e;
	fprintf(stderr, "unknown errno name %s\n", name);
	exit(1);
}

static int expect(const char *ename, const char *uri, uint32_t flags, const char *path)
{
	struct aisio_dev *dev;
	struct aisio_queue *q;
	struct aisio_file *f;
	int err, want = errno_of(ename);

	if (open_dev(uri, &dev, &q))
		return 1;
	err = aisio_file_open(dev, path, flags, &f);
	if (!err) {
		FAIL("%s opened; want %s", path, ename);
		aisio_file_close(f);
	} else if (err != -want) {
		FAIL("%s: %s (%d); want %s", path, aisio_errmsg(), err, ename);
	} else {
		printf("refused as it should be: %s\n", aisio_errmsg());
	}
	aisio_queue_term(q);
	aisio_dev_close(dev);
	return failures ? 1 : 0;
}

/* ---- read (bench/extent) ---------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Map every file, then read each whole REPS times without checking: throughput. */
static int read_bench(const char *uri, uint32_t flags, const char *root, int reps, int copy,
		      int n, char **paths)
{
	struct aisio_file **fs = calloc((size_t)n, sizeof(*fs));
	struct aisio_dev *dev;
	struct aisio_queue *q;
	uint64_t bytes = 0, cmds = 0, maps = 0, checks = 0, kernel = 0;
	uint8_t *buf;
	double t0, t1, t2;

	if (!fs || open_dev(uri, &dev, &q))
		return 1;
	/* the reads go straight into DMA memory, or (copy = 1) into malloc'd memory */
	buf = copy ? malloc(16u << 20) : aisio_buf_alloc(dev, 16u << 20);
	if (!buf) {
		FAIL("DMA memory: %s", aisio_errmsg());
		return 1;
	}
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		char full[4096];

		snprintf(full, sizeof(full), "%s%s%s", root, root[strlen(root) - 1] == '/' ? "" : "/",
			 paths[i]);
		if (aisio_file_open(dev, full, flags, &fs[i])) {
			FAIL("open %s: %s", full, aisio_errmsg());
			return 1;
		}
	}
	t1 = now_s();
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < n; i++) {
			struct aisio_file_report rep;
			uint64_t size = aisio_file_size(fs[i]);
			size_t want = size < (16u << 20) ? size : 16u << 20;
			ssize_t got = copy ? aisio_file_read(fs[i], q, buf, 0, want, &rep)
					   : aisio_file_read_dma(fs[i], q, buf, 0, want, &rep);

			if (got < 0) {
				FAIL("%s: %s", paths[i], aisio_errmsg());
				return 1;
			}
			bytes += (uint64_t)got;
			cmds += rep.cmds;
			maps += rep.maps;
			checks += rep.checks;
			kernel += rep.served == AISIO_FILE_SERVED_KERNEL;
		}
	t2 = now_s();
	printf("map %d files: %.3f ms each\n", n, (t1 - t0) * 1e3 / n);
	printf("read %d x %d files: %.3f GB/s, %.0f files/s, %llu bytes, %llu commands, %llu maps, "
	       "%llu checks, %llu kernel-path reads\n", reps, n, (double)bytes / (t2 - t1) / 1e9,
	       (double)reps * n / (t2 - t1), (unsigned long long)bytes, (unsigned long long)cmds,
	       (unsigned long long)maps, (unsigned long long)checks, (unsigned long long)kernel);
	for (int i = 0; i < n; i++)
		aisio_file_close(fs[i]);
	free(fs);
	if (copy)
		free(buf);
	else
		aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	return failures ? 1 : 0;
}

/* ---- stale ------------------------------------------------------------------------ */

#define MAXF 16
#define MAXSZ (4u << 20)

/* What a file should hold: the model the reads are checked against. */
struct model {
	char path[512];
	struct aisio_file *f;
	uint8_t *data; /* MAXSZ bytes */
	uint64_t size;
	int gone; /* the path names nothing: reads must be refused */
};

static struct {
	struct aisio_dev *dev;
	struct aisio_queue *q;
	uint8_t *buf;
	struct model m[MAXF];
	int n;
	uint64_t extent_reads, kernel_reads, refusals, remaps;
} S;

static void fill(struct model *m, const char *name, uint64_t off, uint64_t len)
{
	aisio_pattern_fill(seed_of(name), off, m->data + off, (size_t)len);
}

/* Write bytes [off, off + len) of the model to the file through the kernel. */
static int sync_out(struct model *m, uint64_t off, uint64_t len)
{
	int fd = open(m->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || pwrite(fd, m->data + off, len, (off_t)off) != (ssize_t)len ||
	    ftruncate(fd, (off_t)m->size)) {
		FAIL("writing %s: %s", m->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

static struct model *make(const char *dir, const char *name, uint64_t size)
{
	struct model *m = &S.m[S.n++];

	snprintf(m->path, sizeof(m->path), "%s/%s", dir, name);
	m->data = calloc(1, MAXSZ);
	m->size = size;
	fill(m, name, 0, size);
	sync_out(m, 0, size);
	if (aisio_file_open(S.dev, m->path, 0, &m->f))
		FAIL("open %s: %s", m->path, aisio_errmsg());
	return m;
}

/*
 * Read the whole file through the handle: the model's bytes, or a refusal
 * when gone; @want_kernel 0: served by the extent path, 1: by the kernel
 * path with a reason, 2: either.
 */
static void check_read(struct model *m, const char *what, int want_kernel)
{
	struct aisio_file_report rep;
	ssize_t n;

	if (!m->f)
		return;
	memset(S.buf, 0xa5, MAXSZ + 4096);
	n = aisio_file_read(m->f, S.q, S.buf, 0, MAXSZ + 4096, &rep);
	S.remaps += rep.maps;
	if (m->gone) {
		if (n >= 0)
			FAIL("%s: %s: read %zd bytes of a file that is gone (%s path)", m->path, what, n,
			     aisio_file_served_str(rep.served));
		else
			S.refusals++;
		return;
	}
	if (n < 0) {
		FAIL("%s: %s: %s", m->path, what, aisio_errmsg());
		return;
	}
	if ((uint64_t)n != m->size) {
		FAIL("%s: %s: read %zd bytes, want %llu (%s path)", m->path, what, n,
		     (unsigned long long)m->size, aisio_file_served_str(rep.served));
		return;
	}
	for (uint64_t i = 0; i < m->size; i++)
		if (S.buf[i] != m->data[i]) {
			FAIL("%s: %s: stale or wrong byte at %llu (%s path, %u maps)", m->path, what,
			     (unsigned long long)i, aisio_file_served_str(rep.served), rep.maps);
			return;
		}
	if (want_kernel == 1) {
		if (rep.served != AISIO_FILE_SERVED_KERNEL || !rep.why[0])
			FAIL("%s: %s: want the kernel path with a reason, got %s '%s'", m->path, what,
			     aisio_file_served_str(rep.served), rep.why);
		else
			printf("%s: %s: kernel path: %s\n", m->path, what, rep.why);
	} else if (want_kernel == 0 && rep.served != AISIO_FILE_SERVED_EXTENT) {
		FAIL("%s: %s: served by the %s path (%s)", m->path, what,
		     aisio_file_served_str(rep.served), rep.why);
	}
	if (rep.served == AISIO_FILE_SERVED_EXTENT)
		S.extent_reads++;
	else
		S.kernel_reads++;
}

static void check_all(const char *what)
{
	for (int i = 0; i < S.n; i++)
		check_read(&S.m[i], what, 0);
}

static uint64_t rnd(uint64_t n)
{
	return n ? (uint64_t)random() % n : 0;
}

static int stale(const char *uri, const char *dir, int rounds)
{
	struct model *a, *b, *c, *d, *e, *f, *g;
	char tmp[600], cmd[1400];
	int fd;

	S.buf = malloc(MAXSZ + 4096);
	if (!S.buf || open_dev(uri, &S.dev, &S.q))
		return 1;
	srandom(42);
	a = make(dir, "a", 1 << 20);
	b = make(dir, "b", (2 << 20) + 333);
	c = make(dir, "c", 300000);
	d = make(dir, "d", 65536);
	e = make(dir, "e", 123457);
	f = make(dir, "f", 500000);
	g = make(dir, "g", 40960);
	if (failures)
		return 1;
	check_all("first read (delayed allocation flushed by FIEMAP_FLAG_SYNC)");
	check_all("second read (cached runs)");

	/* in place: same blocks, new bytes still in the page cache */
	fill(a, "a#v2", 0, a->size);
	sync_out(a, 0, a->size);
	check_read(a, "overwritten in place", 0);
	fill(a, "a#v3", 4096 * 7 + 5, 10000);
	sync_out(a, 4096 * 7 + 5, 10000);
	check_read(a, "part overwritten in place", 0);

	/* truncate down, then extend (a hole, zeros) */
	b->size = 100000;
	if (truncate(b->path, (off_t)b->size))
		FAIL("truncate %s: %s", b->path, strerror(errno));
	check_read(b, "truncated", 0);
	memset(b->data + b->size, 0, 1 << 20);
	b->size += 1 << 20;
	if (truncate(b->path, (off_t)b->size))
		FAIL("truncate %s: %s", b->path, strerror(errno));
	check_read(b, "extended (hole)", 0);

	/* delete, then new files that may take its blocks */
	if (unlink(c->path))
		FAIL("unlink %s: %s", c->path, strerror(errno));
	c->gone = 1;
	snprintf(tmp, sizeof(tmp), "%s/c.filler", dir);
	write_pattern(tmp, "filler", 4 << 20);
	sync();
	check_read(c, "deleted", 0);

	/* rename away: the path names nothing; rename onto it: the path names the other file */
	snprintf(tmp, sizeof(tmp), "%s/d.moved", dir);
	if (rename(d->path, tmp))
		FAIL("rename: %s", strerror(errno));
	d->gone = 1;
	check_read(d, "renamed away", 0);
	if (rename(e->path, d->path))
		FAIL("rename: %s", strerror(errno));
	memcpy(d->data, e->data, e->size);
	d->size = e->size;
	d->gone = 0;
	e->gone = 1;
	check_read(d, "another file renamed onto its path", 0);
	check_read(e, "renamed onto another path", 0);

	/* replaced by rename over it */
	snprintf(tmp, sizeof(tmp), "%s/f.new", dir);
	write_pattern(tmp, "f#new", 77777);
	if (rename(tmp, f->path))
		FAIL("rename: %s", strerror(errno));
	fill(f, "f#new", 0, 77777);
	f->size = 77777;
	check_read(f, "replaced by a rename over it", 0);

	/* changed by another process */
	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s bs=4096 seek=2 count=3 conv=notrunc "
		 "status=none", g->path);
	if (system(cmd))
		FAIL("%s failed", cmd);
	memset(g->data + 8192, 0, 3 * 4096);
	check_read(g, "written by another process", 0);

	/* rounds of random changes, each followed by a read of every file */
	for (int r = 0; r < rounds; r++) {
		struct model *m;
		uint64_t off, len;
		char name[32];
		int tries = 0;

		do
			m = &S.m[rnd((uint64_t)S.n)];
		while ((m->gone || !m->f) && ++tries < 100);
		snprintf(name, sizeof(name), "round%d", r);
		switch (rnd(4)) {
		case 0: /* overwrite a range in place */
			off = rnd(m->size);
			len = 1 + rnd(m->size - off);
			fill(m, name, off, len);
			sync_out(m, off, len);
			break;
		case 1: /* truncate */
			m->size = rnd(m->size + 1);
			sync_out(m, 0, 0);
			break;
		case 2: /* append */
			off = m->size;
			len = 1 + rnd(MAXSZ - off > (1 << 20) ? 1 << 20 : MAXSZ - off);
			if (off + len > MAXSZ)
				break;
			m->size += len;
			fill(m, name, off, len);
			sync_out(m, off, len);
			break;
		default: /* rewrite it whole: truncate to 0 and write (new blocks) */
			len = 1 + rnd(MAXSZ / 2);
			m->size = len;
			fill(m, name, 0, len);
			fd = open(m->path, O_TRUNC | O_WRONLY);
			if (fd >= 0)
				close(fd);
			sync_out(m, 0, len);
			break;
		}
		check_all("after a random change");
	}

	/* unwritten extents: refused, read by the kernel with the reason */
	{
		struct model *u = make(dir, "u", 0);

		fd = open(u->path, O_RDWR);
		if (fd < 0 || fallocate(fd, 0, 0, 1 << 20))
			FAIL("fallocate %s: %s", u->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		u->size = 1 << 20;
		check_read(u, "preallocated (unwritten)", 1);
	}
	/* reflink: both files' extents are shared */
	{
		struct model *s = make(dir, "s", 0);
		int src = open(a->path, O_RDONLY), dst = open(s->path, O_WRONLY);

		if (src < 0 || dst < 0 || ioctl(dst, FICLONE, src)) {
			printf("reflink not available here (%s): shared extents not checked\n",
			       strerror(errno));
			s->f = NULL;
		} else {
			memcpy(s->data, a->data, a->size);
			s->size = a->size;
			check_read(s, "a reflink copy (shared extents)", 1);
			/*
			 * The source of a clone gets no event that changes it (its
			 * blocks keep its bytes: either path is right) until a write,
			 * which copies the block it writes and drops the mapping: the
			 * rest of its extents are then mapped as shared.
			 */
			check_read(a, "source of a reflink (still mapped)", 2);
			sync_out(a, 0, 1);
			check_read(a, "source of a reflink, written since (shared extents)", 1);
		}
		if (src >= 0)
			close(src);
		if (dst >= 0)
			close(dst);
	}
	printf("stale: %llu extent reads, %llu kernel reads, %llu refusals, %llu mappings, "
	       "%d failure(s)\n", (unsigned long long)S.extent_reads,
	       (unsigned long long)S.kernel_reads, (unsigned long long)S.refusals,
	       (unsigned long long)S.remaps, failures);
	for (int i = 0; i < S.n; i++) {
		aisio_file_close(S.m[i].f);
		free(S.m[i].data);
	}
	aisio_queue_term(S.q);
	aisio_dev_close(S.dev);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "--as")) {
		int uid = atoi(argv[2]);

		if (setgroups(0, NULL) || setgid((gid_t)uid) || setuid((uid_t)uid)) {
			perror("extent_tool: --as");
			return 1;
		}
		argc -= 2;
		argv += 2;
	}
	if (argc == 4 && !strcmp(argv[1], "gen"))
		return gen(argv[2], argv[3]);
	if (argc >= 5 && !strcmp(argv[1], "verify"))
		return verify(argv[2], parse_where(argv[3]), argv[4], argc - 5, argv + 5);
	if (argc >= 6 && (!strcmp(argv[1], "read") || !strcmp(argv[1], "read-copy")))
		return read_bench(argv[2], parse_where(argv[3]), argv[4], atoi(argv[5]),
				  !strcmp(argv[1], "read-copy"), argc - 6, argv + 6);
	if (argc == 6 && !strcmp(argv[1], "expect"))
		return expect(argv[2], argv[3], parse_where(argv[4]), argv[5]);
	if (argc == 5 && !strcmp(argv[1], "stale"))
		return stale(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: extent_tool [--as UID] gen SRCDIR PROTO | verify URI image|mounted "
			"ROOT PATH... | read[-copy] URI image|mounted ROOT REPS PATH... | expect ERRNO URI image|mounted PATH | stale URI DIR ROUNDS\n");
	return 1;
}
