/* SPDX-License-Identifier: MIT */
/*
 * aisio fil gen: write a dataset whose every byte is pattern.h of the file's
 * relative path and offset, plus its manifest, and optionally a mkfs.xfs
 * prototype file that puts the same tree into an XFS image without mounting.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aisio/pattern.h>

#include "fil.h"
#include "util/size.h"

#define GEN_BUF (4u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aisio fil gen --profile imagenet|small|checkpoint --files N [OPTIONS] DIR\n"
		"\n"
		"Writes a dataset into DIR (new or empty): every byte of a file is a function of\n"
		"its path below DIR and its offset (include/aisio/pattern.h), so any reader can\n"
		"check every byte. DIR/" FIL_MANIFEST " lists the files and their sizes.\n"
		"Profiles:\n"
		"  imagenet    train/cNNNN/imgNNNNNNNN.jpg, 1300 files a class, sizes log-normal\n"
		"              (median 92 KiB, mean about 110 KiB, 2 KiB to 8 MiB)\n"
		"  small       dNNN/fNNNNNNN.bin, 1000 files a directory, 4 to 16 KiB\n"
		"  checkpoint  shard-NNNNN.bin, 1 GiB each\n"
		"Options:\n"
		"  --files N          number of files (required)\n"
		"  --size SIZE        every file exactly SIZE bytes (any profile)\n"
		"  --seed N           seed of the size draw (default 1); content depends on paths only\n"
		"  --threads N        writer threads (default: CPUs, at most 8)\n"
		"  --protofile FILE   also write a mkfs.xfs prototype of the tree (absolute paths), so\n"
		"                     'mkfs.xfs -p FILE -d file,name=IMG,size=S' fills an image, no mount\n");
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double unit_rand(uint64_t *s)
{
	return ((double)(splitmix(s) >> 11) + 0.5) / 9007199254740992.0;
}

static uint64_t draw_size(const char *profile, uint64_t *rng)
{
	if (!strcmp(profile, "imagenet")) {
		double n = sqrt(-2.0 * log(unit_rand(rng))) * cos(2.0 * M_PI * unit_rand(rng));
		double v = 92.0 * 1024.0 * exp(0.6 * n);

		if (v < 2048.0)
			v = 2048.0;
		if (v > 8.0 * 1048576.0)
			v = 8.0 * 1048576.0;
		return (uint64_t)v;
	}
	if (!strcmp(profile, "small"))
		return 4096 + splitmix(rng) % (12 * 1024 + 1);
	return 1ull << 30;
}

static int make_name(const char *profile, uint32_t i, char *buf, size_t len)
{
	if (!strcmp(profile, "imagenet"))
		return snprintf(buf, len, "train/c%04u/img%08u.jpg", i / 1300, i);
	if (!strcmp(profile, "small"))
		return snprintf(buf, len, "d%03u/f%07u.bin", i / 1000, i);
	return snprintf(buf, len, "shard-%05u.bin", i);
}

struct gen {
	const char *dir;
	struct fil_set *s;
	_Atomic uint32_t next;
	uint32_t npieces;
	uint32_t *piece_file;  /* file of each piece */
	uint32_t *first_piece; /* first piece of each file */
	_Atomic int err;
	char msg[PATH_MAX + 128];
	pthread_mutex_t lock;
};

static void gen_fail(struct gen *g, int err, const char *path, const char *what)
{
	int zero = 0;

	if (atomic_compare_exchange_strong(&g->err, &zero, err)) {
		pthread_mutex_lock(&g->lock);
		snprintf(g->msg, sizeof(g->msg), "%s/%s: %s: %s", g->dir, path, what, strerror(-err));
		pthread_mutex_unlock(&g->lock);
	}
}

/* Pieces of at most GEN_PIECE bytes: a large file is written by several threads. */
#define GEN_PIECE (64ull << 20)

static void *gen_worker(void *arg)
{
	struct gen *g = arg;
	char *buf = malloc(GEN_BUF);
	uint32_t i;

	if (!buf) {
		gen_fail(g, -ENOMEM, "", "buffer");
		return NULL;
	}
	/* piece p of file i: next counts pieces, file by file */
	while (!atomic_load(&g->err) && (i = atomic_fetch_add(&g->next, 1)) < g->npieces) {
		uint32_t fi = g->piece_file[i];
		const struct fil_file *f = &g->s->f[fi];
		uint64_t start = (uint64_t)(i - g->first_piece[fi]) * GEN_PIECE;
		uint64_t end = f->size - start < GEN_PIECE ? f->size : start + GEN_PIECE;
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", g->dir, f->path);
		/* a file of one piece is created here; larger ones were created before */
		fd = open(path, O_WRONLY | (f->size > GEN_PIECE ? 0 : O_CREAT | O_EXCL), 0644);
		if (fd < 0) {
			gen_fail(g, -errno, f->path, "create");
			break;
		}
		for (uint64_t off = start; off < end;) {
			size_t n = end - off < GEN_BUF ? (size_t)(end - off) : GEN_BUF;
			ssize_t w;

			aisio_pattern_fill(f->seed, off, buf, n);
			w = pwrite(fd, buf, n, (off_t)off);
			if (w <= 0) {
				gen_fail(g, w < 0 ? -errno : -EIO, f->path, "write");
				break;
			}
			off += (uint64_t)w;
		}
		if (close(fd) < 0)
			gen_fail(g, -errno, f->path, "close");
	}
	free(buf);
	return NULL;
}

/* mkdir -p for the parent directories of @rel below @dir. */
static int mkparents(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	size_t dl = strlen(dir);

	if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + dl + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct fil_file *)a)->path, ((const struct fil_file *)b)->path);
}

/* Prototype file for mkfs.xfs -p: nested directory blocks, files by absolute source path. */
static int write_proto(const char *protofile, const char *absdir, struct fil_set *s)
{
	struct fil_file *sorted = malloc(((size_t)s->n + 1) * sizeof(*sorted));
	char cur[PATH_MAX] = ""; /* directory now open in the prototype, "" = root */
	FILE *p;
	int err = 0;

	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, s->f, (size_t)s->n * sizeof(*sorted));
	sorted[s->n].path = (char *)FIL_MANIFEST;
	qsort(sorted, (size_t)s->n + 1, sizeof(*sorted), cmp_path);
	p = fopen(protofile, "w");
	if (!p) {
		free(sorted);
		return -errno;
	}
	fprintf(p, "/dev/null\n0 0\nd--755 0 0\n");
	for (uint32_t i = 0; i <= s->n; i++) {
		const char *path = sorted[i].path, *slash = strrchr(path, '/');
		size_t dl = slash ? (size_t)(slash - path) : 0;
		size_t common = 0, cl = strlen(cur);

		/* the longest shared prefix of whole components */
		for (size_t k = 0; k <= dl && k <= cl; k++)
			if ((k == dl || path[k] == '/') && (k == cl || cur[k] == '/') &&
			    !strncmp(path, cur, k))
				common = k;
		/* close the directories of cur below common */
		for (const char *q = cur + common; *q; q++)
			if (*q == '/')
				fprintf(p, "$\n");
		if (!common && cl)
			fprintf(p, "$\n");
		/* open the directories of path below common */
		for (size_t k = common ? common + 1 : 0; k < dl;) {
			const char *e = memchr(path + k, '/', dl - k);
			size_t end = e ? (size_t)(e - path) : dl;

			fprintf(p, "%.*s d--755 0 0\n", (int)(end - k), path + k);
			k = end + 1;
		}
		memcpy(cur, path, dl);
		cur[dl] = 0;
		if (strchr(slash ? slash + 1 : path, ' ') || strchr(absdir, ' ')) {
			err = -EINVAL;
			break;
		}
		fprintf(p, "%s ---644 0 0 %s/%s\n", slash ? slash + 1 : path, absdir, path);
	}
	for (const char *q = cur; *q; q++)
		if (*q == '/')
			fprintf(p, "$\n");
	if (cur[0])
		fprintf(p, "$\n");
	fprintf(p, "$\n");
	if (fclose(p) && !err)
		err = -errno;
	free(sorted);
	return err;
}

static int parse_u64(const char *opt, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	if (aisio_parse_count(v, strlen(v), min, max, out)) {
		fprintf(stderr, "aisio fil gen: %s must be a number from %" PRIu64 " to %" PRIu64
			" (got '%s')\n", opt, min, max, v);
		return -1;
	}
	return 0;
}

int fil_cmd_gen(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "profile", required_argument, NULL, 'p' }, { "files", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },    { "seed", required_argument, NULL, 'S' },
		{ "threads", required_argument, NULL, 't' }, { "protofile", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },	     { NULL, 0, NULL, 0 },
	};
	const char *profile = NULL, *protofile = NULL, *dir;
	uint64_t nfiles = 0, size = 0, seed = 1, threads = 0, rng;
	struct fil_set s = { 0 };
	struct gen g = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char absdir[PATH_MAX], mpath[PATH_MAX];
	pthread_t th[8];
	struct stat st;
	FILE *m;
	int c, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p': profile = optarg; break;
		case 'n':
			if (parse_u64("--files", optarg, 1, 100000000, &nfiles))
				return 2;
			break;
		case 's':
			if (aisio_parse_size(optarg, &size) || size == 0) {
				fprintf(stderr, "aisio fil gen: --size must be " AISIO_SIZE_HELP
					", greater than 0 (got '%s')\n", optarg);
				return 2;
			}
			break;
		case 'S':
			if (parse_u64("--seed", optarg, 0, UINT64_MAX, &seed))
				return 2;
			break;
		case 't':
			if (parse_u64("--threads", optarg, 1, 8, &threads))
				return 2;
			break;
		case 'P': protofile = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	dir = argv[optind];
	if (!profile || (strcmp(profile, "imagenet") && strcmp(profile, "small") &&
			 strcmp(profile, "checkpoint"))) {
		fprintf(stderr, "aisio fil gen: --profile must be imagenet, small or checkpoint%s%s\n",
			profile ? ", not " : "", profile ? profile : "");
		return 2;
	}
	if (!nfiles) {
		fprintf(stderr, "aisio fil gen: how many files? give --files N\n");
		return 2;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "aisio fil gen: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "aisio fil gen: %s is not a directory\n", dir);
		return 1;
	}
	{
		char probe[PATH_MAX];
		int nonempty = 0;
		DIR *d;
		struct dirent *de;

		snprintf(probe, sizeof(probe), "%s/" FIL_MANIFEST, dir);
		if (access(probe, F_OK) == 0) {
			fprintf(stderr, "aisio fil gen: %s already holds a dataset (%s); remove it first\n",
				dir, probe);
			return 1;
		}
		d = opendir(dir);
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				nonempty = 1;
		if (d)
			closedir(d);
		if (nonempty) {
			fprintf(stderr, "aisio fil gen: %s is not empty; give a new or empty directory\n",
				dir);
			return 1;
		}
	}
	if (!realpath(dir, absdir)) {
		fprintf(stderr, "aisio fil gen: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	s.f = calloc(nfiles, sizeof(*s.f));
	if (!s.f) {
		fprintf(stderr, "aisio fil gen: out of memory for %" PRIu64 " files\n", nfiles);
		return 1;
	}
	s.n = (uint32_t)nfiles;
	snprintf(s.profile, sizeof(s.profile), "%s", profile);
	s.gen_seed = seed;
	rng = seed;
	for (uint32_t i = 0; i < s.n; i++) {
		char name[128];
		int l = make_name(profile, i, name, sizeof(name));

		s.f[i].path = strdup(name);
		if (!s.f[i].path) {
			fprintf(stderr, "aisio fil gen: out of memory\n");
			fil_set_free(&s);
			return 1;
		}
		s.f[i].size = size ? size : draw_size(profile, &rng);
		s.f[i].seed = aisio_pattern_seed(name, (size_t)l);
		s.bytes += s.f[i].size;
		if (i == 0 || strncmp(name, s.f[i - 1].path, (size_t)(strrchr(name, '/') ?
				      strrchr(name, '/') - name : 0))) {
			err = mkparents(absdir, name);
			if (err) {
				fprintf(stderr, "aisio fil gen: %s/%s: %s\n", absdir, name, strerror(-err));
				fil_set_free(&s);
				return 1;
			}
		}
	}
	g.dir = absdir;
	g.s = &s;
	for (uint32_t i = 0; i < s.n; i++) {
		uint64_t np = s.f[i].size ? (s.f[i].size + GEN_PIECE - 1) / GEN_PIECE : 1;

		if (g.npieces + np > UINT32_MAX) {
			fprintf(stderr, "aisio fil gen: the dataset is too large\n");
			fil_set_free(&s);
			return 1;
		}
		g.npieces += (uint32_t)np;
	}
	g.piece_file = malloc((size_t)g.npieces * sizeof(uint32_t));
	g.first_piece = malloc((size_t)s.n * sizeof(uint32_t));
	if (!g.piece_file || !g.first_piece) {
		fprintf(stderr, "aisio fil gen: out of memory\n");
		free(g.piece_file);
		free(g.first_piece);
		fil_set_free(&s);
		return 1;
	}
	for (uint32_t i = 0, k = 0; i < s.n; i++) {
		uint64_t np = s.f[i].size ? (s.f[i].size + GEN_PIECE - 1) / GEN_PIECE : 1;

		if (np > 1) { /* written by several threads: exists before any of them runs */
			char path[PATH_MAX];
			int fd;

			snprintf(path, sizeof(path), "%s/%s", absdir, s.f[i].path);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (fd < 0) {
				fprintf(stderr, "aisio fil gen: %s: %s\n", path, strerror(errno));
				free(g.piece_file);
				free(g.first_piece);
				fil_set_free(&s);
				return 1;
			}
			close(fd);
		}
		g.first_piece[i] = k;
		while (np--)
			g.piece_file[k++] = i;
	}
	if (!threads) {
		long np = sysconf(_SC_NPROCESSORS_ONLN);
		threads = np < 1 ? 1 : np > 8 ? 8 : (uint64_t)np;
	}
	for (uint64_t t = 0; t < threads; t++)
		if (pthread_create(&th[t], NULL, gen_worker, &g)) {
			gen_fail(&g, -EAGAIN, "", "thread");
			threads = t;
		}
	for (uint64_t t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	free(g.piece_file);
	free(g.first_piece);
	if (atomic_load(&g.err)) {
		fprintf(stderr, "aisio fil gen: %s\n", g.msg);
		fil_set_free(&s);
		return 1;
	}
	snprintf(mpath, sizeof(mpath), "%s/" FIL_MANIFEST, absdir);
	m = fopen(mpath, "w");
	if (!m) {
		fprintf(stderr, "aisio fil gen: %s: %s\n", mpath, strerror(errno));
		fil_set_free(&s);
		return 1;
	}
	fprintf(m, FIL_MAGIC "\nprofile %s\nseed %" PRIu64 "\nfiles %u\nbytes %" PRIu64 "\n", profile,
		seed, s.n, s.bytes);
	for (uint32_t i = 0; i < s.n; i++)
		fprintf(m, "%" PRIu64 " %s\n", s.f[i].size, s.f[i].path);
	if (fclose(m)) {
		fprintf(stderr, "aisio fil gen: %s: %s\n", mpath, strerror(errno));
		fil_set_free(&s);
		return 1;
	}
	if (protofile) {
		err = write_proto(protofile, absdir, &s);
		if (err) {
			fprintf(stderr, "aisio fil gen: prototype %s: %s%s\n", protofile, strerror(-err),
				err == -EINVAL ? " (mkfs.xfs prototypes cannot name paths with spaces)" : "");
			fil_set_free(&s);
			return 1;
		}
	}
	printf("%s: %u files, %" PRIu64 " bytes (profile %s, seed %" PRIu64 ")\n", absdir, s.n, s.bytes,
	       profile, seed);
	if (protofile)
		printf("prototype %s: mkfs.xfs -p %s -d file,name=IMAGE,size=%" PRIu64 "m\n", protofile,
		       protofile, (uint64_t)((s.bytes + (uint64_t)s.n * 8192 + (400ull << 20)) >> 20));
	fil_set_free(&s);
	return 0;
}
