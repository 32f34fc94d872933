/* SPDX-License-Identifier: MIT */
/*
 * aisio fil: verifiable datasets (gen) and reading them through one of
 * several paths (run). A dataset is a directory tree whose file contents are
 * include/aisio/pattern.h of each file's relative path, plus a manifest
 * (FIL_MANIFEST at the root) listing every file and its size, so a reader
 * knows what to expect without walking the tree and can tell a short file
 * from a damaged one.
 */
#ifndef AISIO_TOOLS_FIL_H
#define AISIO_TOOLS_FIL_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "extent/extmap.h"

#define FIL_MANIFEST ".aisio-fil"
#define FIL_MAGIC "aisio-fil 1"

struct fil_file {
	char *path;        /* relative to the dataset root, '/'-separated */
	uint64_t size;     /* bytes, from the manifest */
	uint64_t seed;     /* aisio_pattern_seed(path) */
	uint64_t dst_off;  /* where the file lands in a whole-dataset buffer */
	_Atomic uint64_t t_start; /* ns, when its first unit was claimed */
	_Atomic uint32_t units_left;
	uint32_t rsvd;
};

/* One read of up to a chunk: [off, off + len) of file @file. */
struct fil_unit {
	uint32_t file;
	uint32_t len;
	uint64_t off;
};

struct fil_set {
	char profile[32];
	uint64_t gen_seed;
	struct fil_file *f;
	uint32_t n;
	uint64_t bytes;      /* sum of file sizes */
	uint64_t dst_bytes;  /* whole-dataset buffer size (files dst_align-byte aligned) */
	uint32_t dst_align;  /* where files start in that buffer (0: 256 bytes); set before fil_set_units */
	struct fil_unit *u;
	uint64_t nunits;
	uint32_t max_unit;   /* longest unit */
};

/* Parse manifest text @txt (@len bytes) into @s. Prints why and returns -EINVAL when malformed. */
int fil_manifest_parse(const char *where, const char *txt, size_t len, struct fil_set *s);
/* Split every file into units of at most @chunk bytes and lay out dst offsets. */
int fil_set_units(struct fil_set *s, uint64_t chunk);
void fil_set_free(struct fil_set *s);

/*
 * Where file data comes from for the decoder path: one function that gives a
 * file's extents. The XFS decoder is the source today; homid's extent service
 * can be another (same signature) without touching the reader.
 */
struct fil_extsrc {
	/* Extents of @path (relative); *size gets the file size. Returns 0 or -errno with aisio_errmsg(). */
	int (*file_extents)(struct fil_extsrc *src, const char *path, const struct aisio_extent **ext,
			    uint32_t *n, uint64_t *size);
	void (*close)(struct fil_extsrc *src);
	const char *name;    /* "xfs-decoder" */
	void *priv;
};

/* The XFS decoder over an open device: indexes the file system once. */
struct aisio_dev;
int fil_extsrc_xfs(struct aisio_dev *dev, struct fil_extsrc *out);
/*
 * homid's extent service (FILE_MAP through include/aisio/file.h) for a homi:
 * device: each file is mapped by homid once, on its first use, and kept.
 */
int fil_extsrc_homid(struct aisio_dev *dev, struct fil_extsrc *out);

/* Run options. */
enum fil_path { FIL_POSIX, FIL_URING, FIL_HOMI, FIL_GPU, FIL_GPU_NVME };
enum fil_gpu_xfer { FIL_XFER_STAGE, FIL_XFER_MAP, FIL_XFER_MIX };

struct fil_opts {
	enum fil_path path;
	enum fil_gpu_xfer xfer;
	uint32_t threads;
	uint64_t chunk;
	uint32_t qd;
	uint64_t stage;      /* gpu: bytes per pinned staging buffer */
	uint64_t reg;        /* gpu map: bytes of a file mapped and registered at once (a piece) */
	uint32_t map_threads; /* gpu mix: threads that map (the others stage) */
	int pipe;            /* gpu map and mix: one registrar thread + a releaser thread map */
	uint32_t unreg_batch; /* gpu --pipe: pieces the releaser waits for before releasing them */
	int stage_kernel;    /* gpu stage and mix: staging threads publish to a persistent copy kernel */
	int verify, json, progress;
	int mem_gpu;         /* data lands in GPU memory (gpu, gpu-nvme, homi --mem gpu) */
	const char *target;  /* DIR or device URI */
};

/* Results a path fills in. */
#define FIL_NSERVED 4
struct fil_served {
	const char *name;    /* "posix", "io_uring", "homi:xfs-decoder/emu", "gpu-stage", ... */
	_Atomic uint64_t reads;
	_Atomic uint64_t bytes;
};

struct fil_run {
	const struct fil_opts *o;
	struct fil_set *set;
	_Atomic uint64_t next_unit;
	_Atomic uint64_t files_done, bytes_done;
	double *lat;         /* seconds per file, filled when its last unit lands */
	struct fil_served served[FIL_NSERVED];
	char note[512];      /* a fallback or refusal, said out loud */
	/* first verification failure */
	_Atomic int bad;
	uint32_t bad_file;
	uint64_t bad_off;
	uint8_t bad_got, bad_want;
	uint64_t bad_count;  /* mismatching bytes (host) or words (GPU) found */
	double verify_s;     /* GPU: time of the check kernel, outside the timed part */
	double map_s;        /* gpu-nvme: mapping every file and copying the tables, before the timed part */
	uint64_t gpu_threads; /* gpu-nvme: GPU threads that issued the reads */
	uint64_t cmds;       /* homi --mem gpu, gpu-nvme: NVMe read commands issued */
	uint32_t kslots;     /* gpu --stage-copy kernel: staging slots (blocks of the copy kernel) */
	int no_lat;          /* per-file latency not measured on this path */
	uint64_t t_start_ns; /* set by a path whose timed part starts after its setup */
	double cpu_start_s;
	uint64_t t_end_ns;   /* set by a path whose timed part ends before it returns */
	double cpu_end_s;    /* process CPU seconds at t_end_ns */
	_Atomic int err;     /* first error (-errno); message in errmsg */
	char errmsg[512];
	/* path state */
	struct fil_extsrc *src;
	struct aisio_dev *dev;
};

uint64_t fil_now_ns(void);
/* Process CPU seconds (user + system), from getrusage. */
double fil_cpu_s(void);
/* Report an error from a worker: the first one wins. Returns @err. */
int fil_fail(struct fil_run *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Claim the next unit; returns its index or UINT64_MAX when all are taken (or the run failed). */
uint64_t fil_claim(struct fil_run *r);
/* Note the start of unit @ui (first claim of its file sets the start time). */
void fil_unit_start(struct fil_run *r, uint64_t ui);
/* A unit's bytes have landed; completes its file when it was the last one. */
void fil_unit_done(struct fil_run *r, uint64_t ui);
/* Count a read served by path slot @slot. */
void fil_served_add(struct fil_run *r, int slot, uint64_t bytes);
/* Check @len bytes of @buf against file @fi at @off; records the first mismatch. Returns 0 or -EILSEQ. */
int fil_verify_host(struct fil_run *r, uint32_t fi, uint64_t off, const void *buf, size_t len);

/* Run @fn(r) on r->o->threads threads; returns the run's first error. */
int fil_run_threads(struct fil_run *r, void *(*fn)(void *));
/* Read all of @path through @src and @dev (the manifest inside an image). */
int fil_homi_read_file(struct aisio_dev *dev, struct fil_extsrc *src, const char *path, char **out,
		       size_t *len);

/* The paths: each runs the whole set with r->o->threads workers. Return 0 or -errno (message in r). */
int fil_run_posix(struct fil_run *r);
int fil_run_uring(struct fil_run *r);
int fil_run_homi(struct fil_run *r);
int fil_run_gpu(struct fil_run *r);
/* homi --mem gpu: extents from the source, NVMe reads on homid queues straight into GPU memory. */
int fil_run_homi_gpu(struct fil_run *r);
/* gpu-nvme: GPU threads walk extent tables in GPU memory and issue the reads themselves. */
int fil_run_gpu_nvme(struct fil_run *r);
/* 0 when a GPU can take the data, else -errno with the reason on stderr ("no usable GPU", no CUDA). */
int fil_gpu_usable(void);
/* aisio fil ceiling: pinned host -> GPU copy of @bytes, @rounds times. */
int fil_gpu_ceiling(uint64_t bytes, int rounds, int json);
/* aisio fil regprobe: what registering page-cache pages of @path costs (see fil_gpu_probe.c). */
int fil_gpu_regprobe(const char *path, const uint64_t *pieces, int npieces, const uint32_t *threads,
		     int nthreads, uint64_t bytes, double budget_s, int json);

/* Subcommands. */
int fil_cmd_gen(int argc, char **argv);
int fil_cmd_run(int argc, char **argv);

#endif
