/* SPDX-License-Identifier: MIT */
/* aisio fil run: read a dataset through one path, check every byte, report. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "fil.h"
#include "util/size.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aisio fil run --path posix|io_uring|homi|gpu|gpu-nvme [OPTIONS] DIR|DEVICE\n"
		"\n"
		"Reads every file of a dataset made by 'aisio fil gen' and checks every byte.\n"
		"Paths:\n"
		"  posix     open + pread per chunk into host memory (DIR)\n"
		"  io_uring  reads on one ring per thread, --qd in flight, into host memory (DIR)\n"
		"  homi      extents from the XFS decoder, data through aisio queues on DEVICE, an\n"
		"            unmounted XFS image or device by URI (IMG, file:IMG, emu:SIZE,file=IMG,\n"
		"            pci:BDF, homi:...), into host memory; on homi:SOCKET the extents\n"
		"            come from homid (FILE_MAP). --mem gpu (homi: only): the commands'\n"
		"            data pointers are GPU memory registered with homid (GPU_MEM_REG),\n"
		"            so its device moves the data straight into GPU memory\n"
		"  gpu       the kernel path into GPU memory (DIR): --xfer stage reads into pinned\n"
		"            staging buffers and copies them with the copy engine on a stream per\n"
		"            thread; --xfer map registers the page-cache pages of the file (mmap +\n"
		"            cudaHostRegister, read-only) and copies from them with no CPU copy;\n"
		"            --xfer mix: --map-threads threads map, the others stage, on the same\n"
		"            units\n"
		"  gpu-nvme  GPU-initiated reads (emu:SIZE,file=IMG or homi:SOCKET,...): the extent\n"
		"            table of every file goes to GPU memory, GPU threads walk it and build\n"
		"            the NVMe reads on GPU queues of the device model, which moves the\n"
		"            data into GPU memory; on homi: the extents come from homid (FILE_MAP),\n"
		"            homid gives the GPU queues and its controller (gpu=N) writes into\n"
		"            GPU memory registered with it; --threads queues of --qd GPU threads\n"
		"            (default 8 x 64), one command in flight a thread, of up to --chunk\n"
		"            bytes\n"
		"  kvikio    not linked into aisio: bench/fil/kvikio_fil.py drives the kvikio peer\n"
		"Options:\n"
		"  --threads N     reader threads (default 4)\n"
		"  --chunk SIZE    largest single read, a multiple of 4 KiB (default 1M)\n"
		"  --qd N          io_uring and homi: units in flight per thread (default 16);\n"
		"                  gpu: staging buffers, or registered pieces, per thread (default 4)\n"
		"  --stage SIZE    gpu stage: bytes per staging buffer; consecutive chunks and small\n"
		"                  files share one buffer and one copy (default 16M)\n"
		"  --xfer stage|map|mix  gpu: how bytes reach the GPU (default stage)\n"
		"  --reg SIZE      gpu map and mix: a thread maps and registers up to SIZE of a file\n"
		"                  at once (a piece) and copies each chunk in it from the registered\n"
		"                  pages; --qd pieces a thread in flight (default 64M)\n"
		"  --map-threads N gpu mix: how many of the threads map (default half)\n"
		"  --pipe          gpu map and mix: one pipeline maps: thread 0 registers pieces of\n"
		"                  --reg bytes, --qd ahead, and queues one copy a piece on two\n"
		"                  streams; an added releaser thread waits for the copies and\n"
		"                  unregisters. map: --threads 1 (the default with --pipe); mix:\n"
		"                  threads 1.. stage, all claiming from one shared cursor\n"
		"  --unreg-batch N gpu --pipe: the releaser waits until N pieces have been queued,\n"
		"                  then unregisters them in a row (default 1; less than --qd)\n"
		"  --stage-copy ce|kernel  gpu stage and mix: how staged bytes reach GPU memory:\n"
		"                  ce (default), cudaMemcpyAsync from pinned buffers by the copy\n"
		"                  engine; kernel, each staging thread fills min(--qd, 4) slots\n"
		"                  of --stage bytes in mapped pinned memory and publishes them to\n"
		"                  a persistent GPU kernel (a block a slot) that copies them into\n"
		"                  GPU memory: no CUDA call on the staging threads, so they do not\n"
		"                  wait for the driver lock a registration holds (--pipe)\n"
		"  --mem host|gpu  where the data lands: host for posix, io_uring, homi; gpu for gpu,\n"
		"                  gpu-nvme, and homi on homi:\n"
		"  --no-verify     do not check the bytes\n"
		"  --json          one JSON object on stdout\n"
		"  --progress      progress on stderr even when it is not a terminal\n"
		"Reports files/s, GB/s (decimal), CPU seconds per GB (getrusage), p50/p99 per-file\n"
		"latency, and which path served the reads. A mismatch names the file and offset.\n");
}

static int parse_size_opt(const char *opt, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	if (aisio_parse_size(v, out) || *out < min || *out > max) {
		fprintf(stderr, "aisio fil run: %s must be " AISIO_SIZE_HELP ", from %" PRIu64
			" to %" PRIu64 " (got '%s')\n", opt, min, max, v);
		return -1;
	}
	return 0;
}

static int parse_count_opt(const char *opt, const char *v, uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t x;

	if (aisio_parse_count(v, strlen(v), min, max, &x)) {
		fprintf(stderr, "aisio fil run: %s must be a number from %" PRIu64 " to %" PRIu64
			" (got '%s')\n", opt, min, max, v);
		return -1;
	}
	*out = (uint32_t)x;
	return 0;
}

static int load_dir(const char *dir, struct fil_set *s)
{
	char mpath[4200];
	struct stat st;
	char *txt;
	ssize_t n;
	int fd, err;

	if (stat(dir, &st) < 0) {
		fprintf(stderr, "aisio fil run: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "aisio fil run: %s is not a directory (an XFS image or device is read "
			"with --path homi)\n", dir);
		return -ENOTDIR;
	}
	snprintf(mpath, sizeof(mpath), "%s/" FIL_MANIFEST, dir);
	fd = open(mpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "aisio fil run: %s is not a fil dataset: %s: %s (make one with "
			"aisio fil gen)\n", dir, mpath, strerror(errno));
		return -ENOENT;
	}
	if (fstat(fd, &st) < 0 || st.st_size > (256 << 20) || !(txt = malloc((size_t)st.st_size + 1))) {
		fprintf(stderr, "aisio fil run: %s: cannot read the manifest\n", mpath);
		close(fd);
		return -EINVAL;
	}
	n = pread(fd, txt, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		fprintf(stderr, "aisio fil run: %s: short read of the manifest\n", mpath);
		free(txt);
		return -EIO;
	}
	err = fil_manifest_parse(mpath, txt, (size_t)n, s);
	free(txt);
	return err;
}

static int load_image(const char *target, struct aisio_dev **dev, struct fil_extsrc *src,
		      struct fil_set *s)
{
	char uri[4200], where[4300];
	struct stat st;
	size_t len;
	char *txt;
	int err;

	if (!strchr(target, ':') && stat(target, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			fprintf(stderr, "aisio fil run: --path homi reads an unmounted XFS image or device "
				"(IMG, file:IMG, emu:SIZE,file=IMG, pci:BDF, homi:...), and %s is a "
				"directory (use --path posix or io_uring for it)\n", target);
			return -EISDIR;
		}
		snprintf(uri, sizeof(uri), "file:%s", target);
	} else {
		snprintf(uri, sizeof(uri), "%s", target);
	}
	err = aisio_dev_open(uri, NULL, dev);
	if (err) {
		fprintf(stderr, "aisio fil run: cannot open %s: %s\n", uri, aisio_errmsg());
		return err;
	}
	/* homid maps the files of a homi: device itself (FILE_MAP); elsewhere the decoder runs here */
	err = strncmp(uri, "homi:", 5) ? fil_extsrc_xfs(*dev, src) : fil_extsrc_homid(*dev, src);
	if (err) {
		fprintf(stderr, "aisio fil run: %s: not readable as XFS: %s\n", uri, aisio_errmsg());
		goto fail;
	}
	err = fil_homi_read_file(*dev, src, "/" FIL_MANIFEST, &txt, &len);
	if (err) {
		fprintf(stderr, "aisio fil run: %s is not a fil dataset: %s\n", uri, aisio_errmsg());
		src->close(src);
		memset(src, 0, sizeof(*src));
		goto fail;
	}
	snprintf(where, sizeof(where), "%s:/" FIL_MANIFEST, uri);
	err = fil_manifest_parse(where, txt, len, s);
	free(txt);
	if (!err)
		return 0;
	src->close(src);
	memset(src, 0, sizeof(*src));
fail:
	aisio_dev_close(*dev);
	*dev = NULL;
	return err;
}

struct progress {
	struct fil_run *r;
	int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void *progress_thread(void *arg)
{
	struct progress *p = arg;
	uint64_t t0 = fil_now_ns();

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct timespec ts;
		double s;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		if (p->stop)
			break;
		s = (double)(fil_now_ns() - t0) / 1e9;
		fprintf(stderr, "\rfil run: %" PRIu64 "/%u files, %.2f of %.2f GB, %.2f GB/s   ",
			atomic_load(&p->r->files_done), p->r->set->n,
			(double)atomic_load(&p->r->bytes_done) / 1e9, (double)p->r->set->bytes / 1e9,
			s > 0 ? (double)atomic_load(&p->r->bytes_done) / 1e9 / s : 0.0);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *sorted, uint32_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return sorted[i];
}

double fil_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static const char *path_name(enum fil_path p)
{
	static const char *n[] = { "posix", "io_uring", "homi", "gpu", "gpu-nvme" };

	return n[p];
}

static const char *xfer_name(enum fil_gpu_xfer x)
{
	return x == FIL_XFER_MAP ? "map" : x == FIL_XFER_MIX ? "mix" : "stage";
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void report(const struct fil_run *r, double secs, double cpu, double p50, double p99)
{
	const struct fil_opts *o = r->o;
	const struct fil_set *s = r->set;
	double gb = (double)s->bytes / 1e9;
	const char *vres = !o->verify ? "off" : r->bad ? "mismatch" : "ok";

	if (o->json) {
		printf("{\"path\":\"%s\",\"target\":", path_name(o->path));
		json_str(stdout, o->target);
		printf(",\"profile\":\"%s\",\"files\":%u,\"bytes\":%" PRIu64 ",\"threads\":%u,"
		       "\"chunk\":%" PRIu64 ",\"qd\":%u,\"mem\":\"%s\"",
		       s->profile, s->n, s->bytes, o->threads, o->chunk, o->qd, o->mem_gpu ? "gpu" : "host");
		if (o->path == FIL_GPU)
			printf(",\"xfer\":\"%s\",\"stage\":%" PRIu64 ",\"reg\":%" PRIu64 ",\"map_threads\":%u"
			       ",\"pipe\":%d,\"unreg_batch\":%u",
			       xfer_name(o->xfer), o->stage, o->reg,
			       o->xfer == FIL_XFER_MAP ? o->threads : o->xfer == FIL_XFER_MIX ? o->map_threads : 0,
			       o->pipe, o->pipe ? (o->unreg_batch ? o->unreg_batch : 1) : 0);
		if (o->path == FIL_GPU && o->xfer != FIL_XFER_MAP)
			printf(",\"stage_copy\":\"%s\",\"kernel_slots\":%u", o->stage_kernel ? "kernel" : "ce",
			       r->kslots);
		if (o->path == FIL_GPU_NVME)
			printf(",\"gpu_threads\":%" PRIu64 ",\"map_s\":%.4f", r->gpu_threads, r->map_s);
		if (r->cmds)
			printf(",\"cmds\":%" PRIu64, r->cmds);
		printf(",\"seconds\":%.6f,\"files_per_s\":%.1f,\"gb_per_s\":%.3f,\"cpu_s\":%.3f,"
		       "\"cpu_s_per_gb\":%.4f,", secs, s->n / secs, gb / secs, cpu, gb > 0 ? cpu / gb : 0.0);
		if (r->no_lat)
			printf("\"lat_p50_us\":null,\"lat_p99_us\":null,\"served\":{");
		else
			printf("\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"served\":{", p50 * 1e6, p99 * 1e6);
		for (int i = 0, k = 0; i < FIL_NSERVED; i++) {
			if (!r->served[i].name || (!r->served[i].reads && i))
				continue;
			printf("%s\"%s\":{\"reads\":%" PRIu64 ",\"bytes\":%" PRIu64 "}", k++ ? "," : "",
			       r->served[i].name, atomic_load(&r->served[i].reads),
			       atomic_load(&r->served[i].bytes));
		}
		printf("},\"verify\":\"%s\"", vres);
		if (o->mem_gpu && o->verify)
			printf(",\"verify_s\":%.4f", r->verify_s);
		if (r->bad) {
			printf(",\"mismatch\":{\"file\":");
			json_str(stdout, s->f[r->bad_file].path);
			printf(",\"offset\":%" PRIu64 ",\"got\":%u,\"want\":%u,\"count\":%" PRIu64 "}",
			       r->bad_off, r->bad_got, r->bad_want, r->bad_count);
		}
		if (r->note[0]) {
			printf(",\"note\":");
			json_str(stdout, r->note);
		}
		printf("}\n");
		return;
	}
	printf("fil run: path %s, %s: %u files, %.3f GB (%s), %u threads, chunk %" PRIu64 " KiB",
	       path_name(o->path), o->target, s->n, gb, s->profile, o->threads, o->chunk >> 10);
	if (o->path == FIL_GPU)
		printf(", xfer %s%s", xfer_name(o->xfer),
		       o->stage_kernel ? " (staged bytes copied by a GPU kernel)" : "");
	if (o->mem_gpu)
		printf(", into GPU memory");
	if (o->path == FIL_GPU_NVME)
		printf(", %" PRIu64 " GPU threads issuing the reads (tables mapped in %.3f s before)",
		       r->gpu_threads, r->map_s);
	printf("\n  %.4f s: %.0f files/s, %.3f GB/s; CPU %.3f s (%.4f s/GB)\n", secs, s->n / secs,
	       gb / secs, cpu, gb > 0 ? cpu / gb : 0.0);
	if (r->no_lat)
		printf("  per-file latency: not measured on this path\n");
	else
		printf("  per-file latency: p50 %.1f us, p99 %.1f us\n", p50 * 1e6, p99 * 1e6);
	printf("  served:");
	for (int i = 0; i < FIL_NSERVED; i++)
		if (r->served[i].name && (r->served[i].reads || !i))
			printf(" %s %" PRIu64 " reads (%" PRIu64 " bytes)", r->served[i].name,
			       atomic_load(&r->served[i].reads), atomic_load(&r->served[i].bytes));
	printf("\n");
	if (r->note[0])
		printf("  note: %s\n", r->note);
	if (!o->verify)
		printf("  verify: off\n");
	else if (!r->bad)
		printf("  verify: all %" PRIu64 " bytes match%s\n", s->bytes,
		       o->mem_gpu ? " (checked on the GPU after the timed part)" : "");
	else
		printf("  verify: MISMATCH in %s at offset %" PRIu64 "\n", s->f[r->bad_file].path,
		       r->bad_off);
}

int fil_cmd_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "path", required_argument, NULL, 'p' },    { "threads", required_argument, NULL, 't' },
		{ "chunk", required_argument, NULL, 'c' },   { "qd", required_argument, NULL, 'q' },
		{ "mem", required_argument, NULL, 'm' },     { "no-verify", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },	     { "progress", no_argument, NULL, 'P' },
		{ "xfer", required_argument, NULL, 'x' },    { "stage", required_argument, NULL, 's' },
		{ "reg", required_argument, NULL, 'r' },     { "map-threads", required_argument, NULL, 'M' },
		{ "pipe", no_argument, NULL, 'i' },	     { "unreg-batch", required_argument, NULL, 'U' },
		{ "stage-copy", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },	     { NULL, 0, NULL, 0 },
	};
	struct fil_opts o = { .threads = 4, .chunk = 1u << 20, .stage = 16u << 20, .reg = 64u << 20,
			      .verify = 1 };
	const char *path = NULL, *mem = NULL;
	struct fil_set set = { 0 };
	struct fil_extsrc src = { 0 };
	struct fil_run *r = NULL;
	struct progress prog = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	pthread_t pt;
	int c, err, qd_given = 0, have_prog = 0, rc = 1, mt_given = 0, th_given = 0, sc_given = 0;
	double t0, t1, c0, c1, p50 = 0, p99 = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p': path = optarg; break;
		case 't':
			if (parse_count_opt("--threads", optarg, 1, 256, &o.threads))
				return 2;
			th_given = 1;
			break;
		case 'c':
			if (parse_size_opt("--chunk", optarg, 4096, 1u << 30, &o.chunk))
				return 2;
			if (o.chunk % 4096) {
				fprintf(stderr, "aisio fil run: --chunk must be a multiple of 4 KiB (got '%s')\n",
					optarg);
				return 2;
			}
			break;
		case 'q':
			if (parse_count_opt("--qd", optarg, 1, 1024, &o.qd))
				return 2;
			qd_given = 1;
			break;
		case 'm': mem = optarg; break;
		case 'V': o.verify = 0; break;
		case 'j': o.json = 1; break;
		case 'P': o.progress = 1; break;
		case 'x':
			if (strcmp(optarg, "stage") && strcmp(optarg, "map") && strcmp(optarg, "mix")) {
				fprintf(stderr, "aisio fil run: --xfer must be stage, map or mix (got '%s')\n",
					optarg);
				return 2;
			}
			o.xfer = !strcmp(optarg, "map") ? FIL_XFER_MAP
				 : !strcmp(optarg, "mix") ? FIL_XFER_MIX : FIL_XFER_STAGE;
			break;
		case 's':
			if (parse_size_opt("--stage", optarg, 4096, 1u << 30, &o.stage))
				return 2;
			break;
		case 'r':
			if (parse_size_opt("--reg", optarg, 4096, 4ull << 30, &o.reg))
				return 2;
			if (o.reg % 4096) {
				fprintf(stderr, "aisio fil run: --reg must be a multiple of 4 KiB (got '%s')\n",
					optarg);
				return 2;
			}
			break;
		case 'M':
			if (parse_count_opt("--map-threads", optarg, 0, 256, &o.map_threads))
				return 2;
			mt_given = 1;
			break;
		case 'i': o.pipe = 1; break;
		case 'U':
			if (parse_count_opt("--unreg-batch", optarg, 1, 1024, &o.unreg_batch))
				return 2;
			break;
		case 'S':
			if (strcmp(optarg, "ce") && strcmp(optarg, "kernel")) {
				fprintf(stderr, "aisio fil run: --stage-copy must be ce or kernel (got '%s')\n", optarg);
				return 2;
			}
			o.stage_kernel = !strcmp(optarg, "kernel");
			sc_given = 1;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	o.target = argv[optind];
	if (!path) {
		fprintf(stderr, "aisio fil run: which path? give --path posix, io_uring, homi, gpu or gpu-nvme\n");
		return 2;
	}
	if (!strcmp(path, "posix")) {
		o.path = FIL_POSIX;
	} else if (!strcmp(path, "io_uring")) {
		o.path = FIL_URING;
	} else if (!strcmp(path, "homi")) {
		o.path = FIL_HOMI;
	} else if (!strcmp(path, "gpu")) {
		o.path = FIL_GPU;
	} else if (!strcmp(path, "gpu-nvme")) {
		o.path = FIL_GPU_NVME;
	} else if (!strcmp(path, "kvikio")) {
		fprintf(stderr, "aisio fil run: kvikio is a peer, not linked into aisio; "
			"bench/fil/kvikio_fil.py reads the same datasets through it\n");
		return 2;
	} else {
		fprintf(stderr, "aisio fil run: unknown path '%s': use posix, io_uring, homi, gpu or gpu-nvme\n",
			path);
		return 2;
	}
	if (mem && strcmp(mem, "host") && strcmp(mem, "gpu")) {
		fprintf(stderr, "aisio fil run: --mem must be host or gpu (got '%s')\n", mem);
		return 2;
	}
	o.mem_gpu = o.path == FIL_GPU || o.path == FIL_GPU_NVME || (o.path == FIL_HOMI && mem && !strcmp(mem, "gpu"));
	if (mem && (strcmp(mem, "gpu") == 0) != o.mem_gpu) {
		fprintf(stderr, "aisio fil run: --mem %s does not go with --path %s: GPU memory is "
			"reached through --path gpu, gpu-nvme and homi, host memory through posix, io_uring "
			"and homi\n", mem, path);
		return 2;
	}
	if (o.path == FIL_HOMI && o.mem_gpu && strncmp(o.target, "homi:", 5)) {
		fprintf(stderr, "aisio fil run: --path homi --mem gpu reads through homid: give a homi: URI "
			"(homid's controller a model started with gpu=N), not '%s'\n", o.target);
		return 2;
	}
	if (o.path == FIL_GPU_NVME && strncmp(o.target, "emu:", 4) && strncmp(o.target, "homi:", 5)) {
		fprintf(stderr, "aisio fil run: --path gpu-nvme runs against a device model holding the image, "
			"on this host (emu:SIZE,file=IMG) or through homid (homi:SOCKET,...), not '%s'\n", o.target);
		return 2;
	}
	if (!qd_given)
		o.qd = o.path == FIL_GPU ? 4 : o.path == FIL_GPU_NVME ? 64 : 16;
	if (!th_given && o.path == FIL_GPU_NVME)
		o.threads = 8;
	if (o.path == FIL_GPU_NVME && (o.qd % 32 || o.threads * o.qd > 65536)) {
		fprintf(stderr, "aisio fil run: --path gpu-nvme: --qd is GPU threads a queue, a multiple of 32 "
			"up to 1024 (got %u), and --threads (queues) x --qd at most 65536\n", o.qd);
		return 2;
	}
	if (o.path == FIL_GPU && o.xfer != FIL_XFER_MAP && o.stage < o.chunk) {
		fprintf(stderr, "aisio fil run: --stage (%" PRIu64 ") must be at least --chunk (%" PRIu64 ")\n",
			o.stage, o.chunk);
		return 2;
	}
	if (o.path == FIL_GPU && o.xfer != FIL_XFER_STAGE && o.reg < o.chunk) {
		fprintf(stderr, "aisio fil run: --reg (%" PRIu64 ") must be at least --chunk (%" PRIu64 "): "
			"a piece holds whole chunks\n", o.reg, o.chunk);
		return 2;
	}
	if (mt_given && (o.path != FIL_GPU || o.xfer != FIL_XFER_MIX)) {
		fprintf(stderr, "aisio fil run: --map-threads goes with --path gpu --xfer mix\n");
		return 2;
	}
	if (o.pipe && (o.path != FIL_GPU || o.xfer == FIL_XFER_STAGE)) {
		fprintf(stderr, "aisio fil run: --pipe goes with --path gpu --xfer map or mix\n");
		return 2;
	}
	if (sc_given && (o.path != FIL_GPU || o.xfer == FIL_XFER_MAP)) {
		fprintf(stderr, "aisio fil run: --stage-copy goes with --path gpu --xfer stage or mix (the "
			"threads that stage; --xfer map has none)\n");
		return 2;
	}
	if (o.unreg_batch && !o.pipe) {
		fprintf(stderr, "aisio fil run: --unreg-batch goes with --pipe\n");
		return 2;
	}
	if (o.unreg_batch > 1 && o.unreg_batch >= o.qd) {
		fprintf(stderr, "aisio fil run: --unreg-batch (%u) must be less than --qd (%u), the pieces "
			"registered at once, or the registrar waits for every batch\n", o.unreg_batch, o.qd);
		return 2;
	}
	if (o.pipe && mt_given) {
		fprintf(stderr, "aisio fil run: --pipe maps with one registrar thread: leave out --map-threads\n");
		return 2;
	}
	if (o.pipe && o.xfer == FIL_XFER_MAP) {
		if (th_given && o.threads != 1) {
			fprintf(stderr, "aisio fil run: --xfer map --pipe has one registrar thread: --threads "
				"must be 1 (--xfer mix --pipe adds staging threads)\n");
			return 2;
		}
		o.threads = 1;
	}
	if (o.pipe)
		o.map_threads = 1, mt_given = 1;
	if (!mt_given)
		o.map_threads = (o.threads + 1) / 2;
	if (o.map_threads > o.threads) {
		fprintf(stderr, "aisio fil run: --map-threads (%u) is more than --threads (%u)\n",
			o.map_threads, o.threads);
		return 2;
	}
	if (!o.json && !o.progress && isatty(2))
		o.progress = 1;
	r = calloc(1, sizeof(*r));
	if (!r) {
		fprintf(stderr, "aisio fil run: out of memory\n");
		return 1;
	}
	r->o = &o;
	r->set = &set;
	/* no GPU: said before any file is looked at */
	if (o.mem_gpu && (err = fil_gpu_usable()))
		goto out;
	if (o.path == FIL_HOMI || o.path == FIL_GPU_NVME)
		err = load_image(o.target, &r->dev, &src, &set);
	else
		err = load_dir(o.target, &set);
	if (err)
		goto out;
	r->src = &src;
	/* NVMe reads into GPU memory write whole LBAs: every file starts on a page there */
	if (o.path == FIL_GPU_NVME || (o.path == FIL_HOMI && o.mem_gpu))
		set.dst_align = 4096;
	err = fil_set_units(&set, o.chunk);
	r->lat = calloc(set.n ? set.n : 1, sizeof(double));
	if (err || !r->lat) {
		fprintf(stderr, "aisio fil run: out of memory for %u files\n", set.n);
		goto out;
	}
	if (o.progress) {
		prog.r = r;
		have_prog = !pthread_create(&pt, NULL, progress_thread, &prog);
	}
	c0 = fil_cpu_s();
	t0 = (double)fil_now_ns() / 1e9;
	switch (o.path) {
	case FIL_POSIX: err = fil_run_posix(r); break;
	case FIL_URING: err = fil_run_uring(r); break;
	case FIL_HOMI: err = o.mem_gpu ? fil_run_homi_gpu(r) : fil_run_homi(r); break;
	case FIL_GPU: err = fil_run_gpu(r); break;
	case FIL_GPU_NVME: err = fil_run_gpu_nvme(r); break;
	}
	t1 = (double)fil_now_ns() / 1e9;
	c1 = fil_cpu_s();
	if (r->t_start_ns) { /* the GPU path sets up GPU memory before its timed part */
		t0 = (double)r->t_start_ns / 1e9;
		c0 = r->cpu_start_s;
	}
	if (r->t_end_ns) { /* and checks the bytes after it */
		t1 = (double)r->t_end_ns / 1e9;
		c1 = r->cpu_end_s;
	}
	if (have_prog) {
		pthread_mutex_lock(&prog.lock);
		prog.stop = 1;
		pthread_cond_signal(&prog.cond);
		pthread_mutex_unlock(&prog.lock);
		pthread_join(pt, NULL);
		fprintf(stderr, "\r%*s\r", 78, "");
	}
	if (err) {
		fprintf(stderr, "aisio fil run: %s\n", r->errmsg[0] ? r->errmsg : strerror(-err));
		goto out;
	}
	qsort(r->lat, set.n, sizeof(double), cmp_double);
	p50 = pct(r->lat, set.n, 0.50);
	p99 = pct(r->lat, set.n, 0.99);
	report(r, t1 - t0 > 0 ? t1 - t0 : 1e-9, c1 - c0, p50, p99);
	if (r->bad) {
		fprintf(stderr, "aisio fil run: verify: %s at offset %" PRIu64 ": byte 0x%02x where the "
			"pattern has 0x%02x (%" PRIu64 " %s differ)\n", set.f[r->bad_file].path, r->bad_off,
			r->bad_got, r->bad_want, r->bad_count, o.mem_gpu ? "words" : "bytes");
		goto out;
	}
	rc = 0;
out:
	if (src.close)
		src.close(&src);
	if (r && r->dev)
		aisio_dev_close(r->dev);
	if (r)
		free(r->lat);
	fil_set_free(&set);
	free(r);
	return rc;
}
