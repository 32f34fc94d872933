/* SPDX-License-Identifier: MIT */
/* aisio perf: command-line options and opening the devices they name. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perf.h"
#include "util/size.h"

static const char *const pattern_names[] = { "read", "write", "randread", "randwrite", "randrw" };

const char *perf_pattern_name(int pattern)
{
	return pattern_names[pattern];
}

static void usage(FILE *f, int verify)
{
	if (verify)
		fprintf(f,
			"usage: aisio perf verify [OPTIONS] URI...\n\n"
			"Writes a stamp into every LBA of the region (LBA number, run seed and a\n"
			"pattern), reads it back and reports the number of LBAs that do not match.\n"
			"Exit status 1 if any LBA mismatches or any command fails.\n\n"
			"  --iosize BYTES      transfer size (default 128k, or the device's limit)\n"
			"  --qdepth N          commands in flight (default 32)\n"
			"  --offset BYTES      start of the region (default 0)\n"
			"  --size BYTES        length of the region (default: to the end)\n"
			"  --seed N            stamp seed (default: random, printed)\n"
			"  --only write|read   one phase only (read checks stamps an earlier run wrote with --seed)\n"
			"  --create            with --only read: create a missing file: (see below)\n");
	else
		fprintf(f,
			"usage: aisio perf run [OPTIONS] URI...\n\n"
			"Runs a CPU-initiated I/O workload on every URI at once and prints IOPS,\n"
			"MiB/s, failed commands and latency percentiles per device and in total.\n\n"
			"  --threads N         worker threads (default 1)\n"
			"  --cpus LIST         one pinned worker per CPU, e.g. 0,2-3 (instead of --threads)\n"
			"  --nqueues N         queues per thread per device (default 1)\n"
			"  --qdepth N          commands in flight per queue (default 32)\n"
			"  --iosize BYTES      transfer size (default 4k)\n"
			"  --runtime SECONDS   how long to run (default 5)\n"
			"  --iopattern P       read|write|randread|randwrite|randrw (default randread)\n"
			"  --rwmix PERCENT     reads in randrw (default 50)\n"
			"  --offset BYTES      start of the region to use (default 0)\n"
			"  --size BYTES        length of the region (default: to the end)\n"
			"  --seed N            random seed\n"
			"  --create            a read-only workload may create a missing file: too\n"
			"  --mem gpu|host      data buffers in GPU or pinned host memory (CUDA builds;\n"
			"                      'aisio perf run --mem gpu --help')\n");
	fprintf(f,
		"  --be NAME           backend: upci, psync, io_uring, uring_cmd (default: from the URI)\n"
		"  --direct            kernel paths: O_DIRECT (default on block devices)\n"
		"  --buffered          kernel paths: through the page cache\n"
		"  --poll MODE         io_uring: iopoll, sqpoll or both\n"
		"  --no-fixed          io_uring: no registered buffers or files\n"
		"  --json              machine-readable output\n"
		"  --help              this text\n\n"
		"URIs: emu:SIZE[,lbads=9|12][,file=PATH]  pci:BDF  file:PATH[,size=SIZE]\n"
		"      /dev/nvmeXnY  /dev/ngXnY  nvme+tcp://HOST[:PORT]/SUBNQN[,hostnqn=NQN]\n"
		"A workload that writes (or --create) creates a file: that does not exist (1G sparse,\n"
		"or size=SIZE) and grows a smaller one to size=; a read-only one never changes a file.\n"
		"Sizes take K, M, G, T suffixes.\n");
}

/* Bytes from "4k", "1M", "512"; -1 on a malformed value (message printed). */
static int parse_bytes(const char *opt, const char *s, uint64_t *out)
{
	int err = aisio_parse_size(s, out);

	if (err)
		fprintf(stderr, "aisio perf: %s: '%s' is %s (use " AISIO_SIZE_HELP ")\n", opt, s,
			err == -ERANGE ? "too large for 64 bits" : "not a size");
	return err ? -1 : 0;
}

static int parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int err = aisio_parse_count(s, strlen(s), min, max, &v);

	if (err == -EINVAL)
		fprintf(stderr, "aisio perf: %s: '%s' is not a number\n", opt, s);
	else if (err)
		fprintf(stderr, "aisio perf: %s must be between %u and %u (got %s)\n", opt, min, max, s);
	else
		*out = (uint32_t)v;
	return err ? -1 : 0;
}

/* "0,2-3" -> {0, 2, 3} */
static int parse_cpus(struct perf_opts *o, const char *s)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	const char *p = s;

	free(o->cpus);
	o->cpus = NULL;
	o->ncpus = 0;
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b;

		if (end == p || a < 0)
			goto bad;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a)
				goto bad;
		}
		for (long c = a; c <= b; c++) {
			int *n;

			if (c >= ncpu) {
				fprintf(stderr, "aisio perf: --cpus: CPU %ld does not exist (this machine "
					"has CPUs 0-%ld)\n", c, ncpu - 1);
				return -1;
			}
			n = realloc(o->cpus, (size_t)(o->ncpus + 1) * sizeof(*n));
			if (!n)
				return -1;
			o->cpus = n;
			o->cpus[o->ncpus++] = (int)c;
		}
		p = end;
		if (*p == ',')
			p++;
		else if (*p)
			goto bad;
	}
	if (o->ncpus)
		return 0;
bad:
	fprintf(stderr, "aisio perf: --cpus: '%s' is not a CPU list (use e.g. 0,2-3)\n", s);
	return -1;
}

enum {
	OPT_CPUS = 256, OPT_THREADS, OPT_NQUEUES, OPT_QDEPTH, OPT_IOSIZE, OPT_RUNTIME, OPT_PATTERN,
	OPT_RWMIX, OPT_BE, OPT_JSON, OPT_OFFSET, OPT_SIZE, OPT_SEED, OPT_DIRECT, OPT_BUFFERED,
	OPT_POLL, OPT_NOFIXED, OPT_ONLY, OPT_CREATE, OPT_HELP,
};

static const struct option long_opts[] = {
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "nqueues", required_argument, NULL, OPT_NQUEUES },
	{ "qdepth", required_argument, NULL, OPT_QDEPTH },
	{ "iosize", required_argument, NULL, OPT_IOSIZE },
	{ "runtime", required_argument, NULL, OPT_RUNTIME },
	{ "iopattern", required_argument, NULL, OPT_PATTERN },
	{ "rwmix", required_argument, NULL, OPT_RWMIX },
	{ "be", required_argument, NULL, OPT_BE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "offset", required_argument, NULL, OPT_OFFSET },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "direct", no_argument, NULL, OPT_DIRECT },
	{ "buffered", no_argument, NULL, OPT_BUFFERED },
	{ "poll", required_argument, NULL, OPT_POLL },
	{ "no-fixed", no_argument, NULL, OPT_NOFIXED },
	{ "only", required_argument, NULL, OPT_ONLY },
	{ "create", no_argument, NULL, OPT_CREATE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int parse_one(struct perf_opts *o, int c, const char *arg, int verify)
{
	uint64_t v;
	uint32_t u;
	char *end;

	switch (c) {
	case OPT_CPUS:
		return parse_cpus(o, arg);
	case OPT_THREADS:
		if (parse_u32("--threads", arg, 1, 1024, &u))
			return -1;
		o->nthreads = (int)u;
		return 0;
	case OPT_NQUEUES:
		return parse_u32("--nqueues", arg, 1, 4096, &o->nqueues);
	case OPT_QDEPTH:
		return parse_u32("--qdepth", arg, 1, 65535, &o->qdepth);
	case OPT_IOSIZE:
		if (parse_bytes("--iosize", arg, &v))
			return -1;
		if (!v || v > (1u << 30)) {
			fprintf(stderr, "aisio perf: --iosize must be between 1 byte and 1G (got %s)\n", arg);
			return -1;
		}
		o->iosize = (uint32_t)v;
		return 0;
	case OPT_RUNTIME:
		o->runtime = strtod(arg, &end);
		if (end == arg || *end || !(o->runtime > 0) || o->runtime > 1e6) {
			fprintf(stderr, "aisio perf: --runtime must be a positive number of seconds "
				"(got '%s')\n", arg);
			return -1;
		}
		return 0;
	case OPT_PATTERN:
		for (int i = 0; i < 5; i++) {
			if (!strcmp(arg, pattern_names[i])) {
				o->pattern = i;
				return 0;
			}
		}
		fprintf(stderr, "aisio perf: --iopattern: unknown pattern '%s' (use read, write, "
			"randread, randwrite or randrw)\n", arg);
		return -1;
	case OPT_RWMIX:
		if (parse_u32("--rwmix", arg, 0, 100, &u))
			return -1;
		o->rwmix = (int)u;
		return 0;
	case OPT_BE:
		o->open.be = arg;
		return 0;
	case OPT_JSON:
		o->json = 1;
		return 0;
	case OPT_OFFSET:
		return parse_bytes("--offset", arg, &o->offset);
	case OPT_SIZE:
		if (parse_bytes("--size", arg, &o->size))
			return -1;
		if (!o->size) {
			fprintf(stderr, "aisio perf: --size must be greater than 0\n");
			return -1;
		}
		return 0;
	case OPT_SEED:
		o->seed = strtoull(arg, &end, 0);
		if (end == arg || *end) {
			fprintf(stderr, "aisio perf: --seed: '%s' is not a number\n", arg);
			return -1;
		}
		o->seed_set = 1;
		return 0;
	case OPT_DIRECT:
		o->open.direct = 1;
		return 0;
	case OPT_BUFFERED:
		o->open.direct = -1;
		return 0;
	case OPT_POLL:
		if (!strcmp(arg, "iopoll"))
			o->open.poll = 1;
		else if (!strcmp(arg, "sqpoll"))
			o->open.poll = 2;
		else if (!strcmp(arg, "both"))
			o->open.poll = 3;
		else {
			fprintf(stderr, "aisio perf: --poll: use iopoll, sqpoll or both (got '%s')\n", arg);
			return -1;
		}
		return 0;
	case OPT_NOFIXED:
		o->open.fixed = -1;
		return 0;
	case OPT_ONLY:
		if (!verify || (strcmp(arg, "write") && strcmp(arg, "read"))) {
			fprintf(stderr, "aisio perf: --only write|read is an option of 'perf verify'\n");
			return -1;
		}
		o->only = !strcmp(arg, "write") ? 1 : 2;
		return 0;
	case OPT_CREATE:
		o->open.flags |= AISIO_OPEN_CREATE;
		return 0;
	default:
		return -1;
	}
}

int perf_opts_parse(struct perf_opts *o, int argc, char **argv, int verify)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->nthreads = 1;
	o->nqueues = 1;
	o->qdepth = 32;
	o->iosize = verify ? 0 : 4096;
	o->runtime = 5;
	o->pattern = PAT_RANDREAD;
	o->rwmix = 50;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1) {
		if (c == OPT_HELP || c == 'h') {
			usage(stdout, verify);
			return 1;
		}
		if (c == '?' || c == ':') {
			if (optopt)
				fprintf(stderr, "aisio perf: option '%s' needs a value\n", argv[optind - 1]);
			else
				fprintf(stderr, "aisio perf: unknown option '%s' (see 'aisio perf %s --help')\n",
					argv[optind - 1], verify ? "verify" : "run");
			return -1;
		}
		if (parse_one(o, c, optarg, verify))
			return -1;
	}
	if (o->ncpus)
		o->nthreads = o->ncpus;
	/* Only a workload that writes may create or grow a file: (or one told to). */
	if (verify ? o->only != 2 :
		     o->pattern == PAT_WRITE || o->pattern == PAT_RANDWRITE ||
			     (o->pattern == PAT_RANDRW && o->rwmix < 100))
		o->open.flags |= AISIO_OPEN_CREATE;
	if (optind >= argc) {
		fprintf(stderr, "aisio perf %s: no device given (e.g. emu:1G, file:/tmp/x, "
			"/dev/nvme0n1)\n", verify ? "verify" : "run");
		return -1;
	}
	o->uris = &argv[optind];
	o->nuris = argc - optind;
	return 0;
}

void perf_opts_free(struct perf_opts *o)
{
	free(o->cpus);
	o->cpus = NULL;
}

int perf_dev_open(const struct perf_opts *o, const char *uri, uint32_t iosize,
		  struct aisio_dev **dev, uint64_t *slba, uint64_t *nlbas)
{
	struct aisio_open_opts oo = o->open;
	const struct aisio_geo *g;
	uint64_t ns_bytes, end;
	char *fpath, *created = NULL;
	struct stat st0, st1;
	int err, existed;

	oo.nqueues = o->nqueues * (uint32_t)o->nthreads;
	oo.qdepth = o->qdepth + 1;
	/* As fio does, a workload that writes creates a file that is not there yet (sparse). */
	fpath = !strncmp(uri, "file:", 5) ? strndup(uri + 5, strcspn(uri + 5, ",")) : NULL;
	existed = fpath && !stat(fpath, &st0);
	if (fpath && !existed && errno == ENOENT && (oo.flags & AISIO_OPEN_CREATE) &&
	    !strstr(uri, ",size=")) {
		uint64_t want = o->offset + o->size > (1ull << 30) ? o->offset + o->size : 1ull << 30;

		if (asprintf(&created, "%s,size=%llu", uri, (unsigned long long)want) < 0)
			created = NULL;
	}
	err = aisio_dev_open(created ? created : uri, &oo, dev);
	free(created);
	if (!err && fpath && !stat(fpath, &st1) && S_ISREG(st1.st_mode)) {
		if (!existed)
			fprintf(stderr, "aisio perf: %s did not exist: created it as a %llu MiB sparse "
				"file\n", fpath, (unsigned long long)(st1.st_size >> 20));
		else if (st1.st_size > st0.st_size)
			fprintf(stderr, "aisio perf: %s: grew it from %lld to %lld bytes (size=)\n",
				fpath, (long long)st0.st_size, (long long)st1.st_size);
	}
	if (err) {
		fprintf(stderr, "aisio perf: %s\n", *aisio_errmsg() ? aisio_errmsg() : strerror(-err));
		if (fpath && !existed && err == -ENOENT && !(oo.flags & AISIO_OPEN_CREATE))
			fprintf(stderr, "aisio perf: a workload that only reads creates no file; "
				"--create makes a sparse one\n");
		free(fpath);
		return -1;
	}
	g = aisio_dev_geo(*dev);
	ns_bytes = g->nlbas * g->lba_size;
	if (iosize % g->lba_size) {
		fprintf(stderr, "aisio perf: %s: --iosize %u is not a multiple of the %u-byte LBA size\n",
			uri, iosize, g->lba_size);
		goto err;
	}
	if (g->max_xfer && iosize > g->max_xfer) {
		fprintf(stderr, "aisio perf: %s: --iosize %u exceeds the device's largest transfer "
			"(%u bytes)\n", uri, iosize, g->max_xfer);
		goto err;
	}
	if (o->offset % g->lba_size || o->size % g->lba_size) {
		fprintf(stderr, "aisio perf: %s: --offset and --size must be multiples of the %u-byte "
			"LBA size\n", uri, g->lba_size);
		goto err;
	}
	end = o->size ? o->offset + o->size : ns_bytes;
	if (o->offset >= ns_bytes && !o->size) {
		fprintf(stderr, "aisio perf: %s: LBA beyond the end: --offset %llu is LBA %llu, but the "
			"namespace has %llu LBAs of %u bytes (%llu bytes)\n", uri,
			(unsigned long long)o->offset, (unsigned long long)(o->offset / g->lba_size),
			(unsigned long long)g->nlbas, g->lba_size, (unsigned long long)ns_bytes);
		goto err;
	}
	if (o->offset >= ns_bytes || end > ns_bytes || end < o->offset) {
		fprintf(stderr, "aisio perf: %s: LBA beyond the end: the region --offset %llu "
			"--size %llu ends at LBA %llu, but the namespace has %llu LBAs of %u bytes "
			"(%llu bytes)\n", uri, (unsigned long long)o->offset,
			(unsigned long long)(end - o->offset), (unsigned long long)(end / g->lba_size),
			(unsigned long long)g->nlbas, g->lba_size, (unsigned long long)ns_bytes);
		goto err;
	}
	if (end - o->offset < iosize) {
		fprintf(stderr, "aisio perf: %s: the region (%llu bytes) is smaller than one I/O of "
			"%u bytes\n", uri, (unsigned long long)(end - o->offset), iosize);
		goto err;
	}
	*slba = o->offset / g->lba_size;
	*nlbas = (end - o->offset) / g->lba_size;
	free(fpath);
	return 0;
err:
	free(fpath);
	aisio_dev_close(*dev);
	*dev = NULL;
	return -1;
}
