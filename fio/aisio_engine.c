/* SPDX-License-Identifier: MIT */
/*
 * An external fio ioengine over libaisio: fio jobs run against any aisio URI
 * (emu:, pci:, /dev/ngXnY, /dev/nvmeXnY, file:).
 *
 *   fio --ioengine=external:PATH/libaisio-fio.so --thread --filename='emu\:1G' ...
 *   fio --ioengine=external:PATH/libaisio-fio.so --thread --aisio_uri=emu:1G ...
 *
 * fio splits --filename at ':', so a URI is given either with each ':'
 * escaped as '\:' or whole in the engine option aisio_uri (which then names
 * the device of every file of the job). Jobs of one process (--thread) that
 * name the same URI and options share one aisio device, each with its own
 * queue; a device stays open until fio unloads the engine, so a later job
 * (stonewall) sees what an earlier one wrote, as on a real disk.
 *
 * Built against the source of the installed fio (scripts/fio-source.sh); docs/fio.md.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fio.h"
#include "optgroup.h"

#include "aisio/aisio.h"

/* Engine options: what a URI does not carry. The first member is fio's. */
struct aisio_fio_opts {
	void *pad;
	char *uri;
	char *be;
	unsigned int nsid;
	unsigned int nqueues;
	unsigned int qdepth;
	unsigned int poll;
	int direct;
	unsigned int timeout_ms;
};

/* One open device, shared by the jobs of this process that name it alike. */
struct shared_dev {
	struct shared_dev *next;
	char *key;
	struct aisio_dev *dev;
	unsigned int users;
};

static pthread_mutex_t devs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared_dev *devs;

/* The API wants queues and buffers made before threads share a device; jobs
 * of one process (--thread) start together, so these calls take turns. */
static int locked_queue_init(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **q)
{
	int err;

	pthread_mutex_lock(&devs_lock);
	err = aisio_queue_init(dev, depth, q);
	pthread_mutex_unlock(&devs_lock);
	return err;
}

static void locked_queue_term(struct aisio_queue *q)
{
	pthread_mutex_lock(&devs_lock);
	aisio_queue_term(q);
	pthread_mutex_unlock(&devs_lock);
}

static void *locked_buf_alloc(struct aisio_dev *dev, size_t len)
{
	void *p;

	pthread_mutex_lock(&devs_lock);
	p = aisio_buf_alloc(dev, len);
	pthread_mutex_unlock(&devs_lock);
	return p;
}

static void locked_buf_free(struct aisio_dev *dev, void *p)
{
	pthread_mutex_lock(&devs_lock);
	aisio_buf_free(dev, p);
	pthread_mutex_unlock(&devs_lock);
}

/* Per job. */
struct aisio_fio_job {
	struct shared_dev *sd;
	struct aisio_queue *q;
	const struct aisio_geo *geo;
	/*
	 * Completed io_us, a ring of depth entries: a reap takes every
	 * completion the device has, and getevents hands fio at most its max,
	 * keeping the rest for the next call (which then needs no poll).
	 * ->event(i) reads ring[head + i]; the next getevents drops those.
	 */
	struct io_u **ring;
	unsigned int head, count, handed;
	unsigned int queued;              /* prepared since the last commit */
	unsigned int lba_shift;           /* log2 of the LBA size */
	struct aisio_nvme_dsm_range *ranges; /* one per io_u, DMA memory */
	void *iomem;
	unsigned int depth;
};

/* Per io_u: the command's status, for ->errdetails(). */
struct aisio_fio_iou {
	struct aisio_fio_job *job;
	struct io_u *io_u;
	unsigned int index;  /* fio's io_u index (engine_data shares its place) */
	int status;
};

/* A failure in fio's words: on stderr and in the job's error. */
static void job_err(struct thread_data *td, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void job_err(struct thread_data *td, int err, const char *fmt, ...)
{
	char msg[512] = "aisio: ";
	size_t n = strlen(msg);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	log_err("fio: %s\n", msg);
	if (!td->error) {
		/* fio's error text holds FIO_VERROR_SIZE bytes; the line above has it all. */
		n = strlen(msg);
		if (n >= sizeof(td->verror))
			n = sizeof(td->verror) - 1;
		memcpy(td->verror, msg, n);
		td->verror[n] = '\0';
		td->error = err;
	}
}

/* The URI of file @f: the aisio_uri option, else the file name (fio has
 * already turned '\:' back into ':'). */
static const char *file_uri(struct thread_data *td, const struct fio_file *f)
{
	const struct aisio_fio_opts *o = td->eo;

	return o->uri && o->uri[0] ? o->uri : f->file_name;
}

static void fill_open_opts(const struct aisio_fio_opts *o, struct thread_data *td,
			   struct aisio_open_opts *oo)
{
	memset(oo, 0, sizeof(*oo));
	oo->be = o->be && o->be[0] ? o->be : NULL;
	oo->nsid = o->nsid;
	oo->nqueues = o->nqueues;
	oo->qdepth = o->qdepth ? o->qdepth : td->o.iodepth + 1;
	oo->poll = (int)o->poll;
	oo->direct = o->direct;
	oo->timeout_ms = o->timeout_ms;
	if (td_write(td) || td_trim(td))
		oo->flags |= AISIO_OPEN_CREATE;
}

/* Words to add when the name looks like a URI that fio cut at a ':'. */
static const char *split_hint(const char *uri)
{
	static const char *const schemes[] = { "emu", "pci", "file", "homi" };

	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (!strcmp(uri, schemes[i]))
			return " (fio splits --filename at ':'; write the URI with '\\:', "
			       "e.g. --filename=emu\\:1G, or give --aisio_uri=URI)";
	return "";
}

static int open_dev(struct thread_data *td, const char *uri, struct aisio_dev **dev)
{
	const struct aisio_fio_opts *o = td->eo;
	struct aisio_open_opts oo;
	int err;

	fill_open_opts(o, td, &oo);
	err = aisio_dev_open(uri, &oo, dev);
	if (err)
		job_err(td, -err, "%s%s", aisio_errmsg(), split_hint(uri));
	return err;
}

static struct shared_dev *get_shared(struct thread_data *td, const char *uri)
{
	const struct aisio_fio_opts *o = td->eo;
	struct shared_dev *sd;
	char *key;

	if (asprintf(&key, "%s|%s|%u|%u|%d|%u", uri, o->be ? o->be : "", o->nsid, o->poll,
		     o->direct, o->timeout_ms) < 0) {
		job_err(td, ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_lock(&devs_lock);
	for (sd = devs; sd; sd = sd->next)
		if (!strcmp(sd->key, key))
			break;
	if (sd) {
		free(key);
	} else {
		sd = calloc(1, sizeof(*sd));
		if (!sd || open_dev(td, uri, &sd->dev)) {
			if (!sd)
				job_err(td, ENOMEM, "out of memory");
			free(sd);
			free(key);
			pthread_mutex_unlock(&devs_lock);
			return NULL;
		}
		sd->key = key;
		sd->next = devs;
		devs = sd;
	}
	sd->users++;
	pthread_mutex_unlock(&devs_lock);
	return sd;
}

/* In thread mode the device outlives its jobs (a later job of the run may
 * read what an earlier one wrote); a forked job's process closes its own. */
static void put_shared(struct thread_data *td, struct shared_dev *sd)
{
	struct shared_dev **pp;

	pthread_mutex_lock(&devs_lock);
	if (--sd->users == 0 && !td->o.use_thread) {
		for (pp = &devs; *pp != sd; pp = &(*pp)->next)
			;
		*pp = sd->next;
		aisio_dev_close(sd->dev);
		free(sd->key);
		free(sd);
	}
	pthread_mutex_unlock(&devs_lock);
}

/* Devices close when fio unloads the engine, after its last job. */
__attribute__((destructor)) static void close_all(void)
{
	pthread_mutex_lock(&devs_lock);
	while (devs) {
		struct shared_dev *sd = devs;

		devs = sd->next;
		aisio_dev_close(sd->dev);
		free(sd->key);
		free(sd);
	}
	pthread_mutex_unlock(&devs_lock);
}

/* Size of each file, asked in the parent before the jobs start: the device is
 * opened for its geometry and closed again (a forked job opens its own). */
static int aisio_fio_get_file_size(struct thread_data *td, struct fio_file *f)
{
	struct aisio_dev *dev;
	const struct aisio_geo *geo;

	if (fio_file_size_known(f))
		return 0;
	if (open_dev(td, file_uri(td, f), &dev))
		return 1;
	geo = aisio_dev_geo(dev);
	f->real_file_size = geo->nlbas * geo->lba_size;
	fio_file_set_size_known(f);
	aisio_dev_close(dev);
	return 0;
}

static int aisio_fio_init(struct thread_data *td)
{
	struct aisio_fio_job *job;
	struct fio_file *f;
	const char *uri = NULL;
	unsigned int i;
	int err;

	for_each_file(td, f, i) {
		if (!uri) {
			uri = file_uri(td, f);
		} else if (strcmp(uri, file_uri(td, f))) {
			job_err(td, EINVAL, "a job drives one device: '%s' and '%s' differ "
				"(give each device its own job)", uri, file_uri(td, f));
			return 1;
		}
	}
	if (!uri) {
		job_err(td, EINVAL, "no device: give --filename=URI or --aisio_uri=URI");
		return 1;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		job_err(td, ENOMEM, "out of memory");
		return 1;
	}
	job->depth = td->o.iodepth;
	job->ring = calloc(job->depth, sizeof(*job->ring));
	job->sd = job->ring ? get_shared(td, uri) : NULL;
	if (!job->sd) {
		if (!job->ring)
			job_err(td, ENOMEM, "out of memory");
		free(job->ring);
		free(job);
		return 1;
	}
	job->geo = aisio_dev_geo(job->sd->dev);
	job->lba_shift = (unsigned int)__builtin_ctz(job->geo->lba_size);
	/* A queue of N entries holds N - 1 commands. */
	err = locked_queue_init(job->sd->dev, job->depth + 1, &job->q);
	if (!err && aisio_queue_depth(job->q) < job->depth)
		err = -EINVAL;
	if (err) {
		job_err(td, err < 0 ? -err : EIO, "%s: no queue for iodepth=%u: %s",
			uri, job->depth, err < 0 && aisio_errmsg()[0] ? aisio_errmsg() :
			aisio_status_str(err));
		goto fail;
	}
	if (job->geo->max_xfer && td_read(td) && td->o.max_bs[DDIR_READ] > job->geo->max_xfer) {
		job_err(td, EINVAL, "%s: bs %llu is above the device's largest transfer (%u bytes)",
			uri, td->o.max_bs[DDIR_READ], job->geo->max_xfer);
		goto fail;
	}
	if (job->geo->max_xfer && td_write(td) && td->o.max_bs[DDIR_WRITE] > job->geo->max_xfer) {
		job_err(td, EINVAL, "%s: bs %llu is above the device's largest transfer (%u bytes)",
			uri, td->o.max_bs[DDIR_WRITE], job->geo->max_xfer);
		goto fail;
	}
	if (td->o.min_bs[DDIR_READ] % job->geo->lba_size ||
	    td->o.min_bs[DDIR_WRITE] % job->geo->lba_size) {
		job_err(td, EINVAL, "%s: bs must be a multiple of the LBA size (%u bytes)", uri,
			job->geo->lba_size);
		goto fail;
	}
	job->ranges = locked_buf_alloc(job->sd->dev, job->depth * sizeof(*job->ranges));
	if (!job->ranges) {
		job_err(td, ENOMEM, "%s: no DMA memory for DSM ranges", uri);
		goto fail;
	}
	td->io_ops_data = job;
	return 0;
fail:
	if (job->q)
		locked_queue_term(job->q);
	put_shared(td, job->sd);
	free(job->ring);
	free(job);
	return 1;
}

static void aisio_fio_cleanup(struct thread_data *td)
{
	struct aisio_fio_job *job = td->io_ops_data;

	if (!job)
		return;
	if (job->q) {
		/* fio asks for no more events: what is left completes into an
		 * empty ring (never more than depth entries). */
		job->head = job->count = job->handed = 0;
		aisio_queue_wait(job->q);
		locked_queue_term(job->q);
	}
	if (job->ranges)
		locked_buf_free(job->sd->dev, job->ranges);
	put_shared(td, job->sd);
	free(job->ring);
	free(job);
	td->io_ops_data = NULL;
}

/* fio's buffers come from the device, so that every path can DMA them. */
static int aisio_fio_iomem_alloc(struct thread_data *td, size_t total)
{
	struct aisio_fio_job *job = td->io_ops_data;

	job->iomem = locked_buf_alloc(job->sd->dev, total);
	if (!job->iomem) {
		job_err(td, ENOMEM, "%s: no DMA memory for %zu bytes of buffers: %s",
			aisio_dev_uri(job->sd->dev), total, aisio_errmsg());
		return 1;
	}
	td->orig_buffer = job->iomem;
	return 0;
}

static void aisio_fio_iomem_free(struct thread_data *td)
{
	struct aisio_fio_job *job = td->io_ops_data;

	if (job && job->iomem) {
		locked_buf_free(job->sd->dev, job->iomem);
		job->iomem = NULL;
	}
}

static int aisio_fio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct aisio_fio_iou *iu = calloc(1, sizeof(*iu));

	if (!iu)
		return 1;
	iu->job = td->io_ops_data;
	iu->io_u = io_u;
	iu->index = io_u->index;
	io_u->engine_data = iu;
	return 0;
}

static void aisio_fio_io_u_free(struct thread_data *td, struct io_u *io_u)
{
	free(io_u->engine_data);
	io_u->engine_data = NULL;
}

static int aisio_fio_open_file(struct thread_data *td, struct fio_file *f)
{
	return 0;
}

static int aisio_fio_close_file(struct thread_data *td, struct fio_file *f)
{
	return 0;
}

/* errno for fio's accounting; the NVMe status itself goes to ->errdetails(). */
static int status_errno(int status)
{
	if (status < 0)
		return -status;
	switch (status) {
	case 0:
		return 0;
	case AISIO_NVME_SC_LBA_RANGE:
		return ERANGE;
	case AISIO_NVME_SC_INVALID_OPCODE:
	case AISIO_NVME_SC_INVALID_FIELD:
		return EOPNOTSUPP;
	default:
		return EIO;
	}
}

static void on_done(struct aisio_io *io, void *arg)
{
	struct aisio_fio_iou *iu = arg;
	struct aisio_fio_job *job = iu->job;
	struct io_u *io_u = iu->io_u;
	unsigned int tail = job->head + job->count++;

	iu->status = io->status;
	io_u->error = status_errno(io->status);
	if (!io_u->error)
		io_u->resid = 0;
	else
		io_u->resid = io_u->xfer_buflen;
	/* At most depth io_us are out, so the ring never overflows. */
	if (tail >= job->depth)
		tail -= job->depth;
	job->ring[tail] = io_u;
}

static enum fio_q_status aisio_fio_queue(struct thread_data *td, struct io_u *io_u)
{
	struct aisio_fio_job *job = td->io_ops_data;
	struct aisio_fio_iou *iu = io_u->engine_data;
	const struct aisio_geo *geo = job->geo;
	uint64_t lbmask = geo->lba_size - 1;
	uint64_t slba = io_u->offset >> job->lba_shift;
	uint32_t nlb = (uint32_t)(io_u->xfer_buflen >> job->lba_shift);
	struct aisio_io *io;

	fio_ro_check(td, io_u);
	if (io_u->ddir == DDIR_READ || io_u->ddir == DDIR_WRITE || io_u->ddir == DDIR_TRIM) {
		if (((io_u->offset | io_u->xfer_buflen) & lbmask) || !nlb) {
			io_u->error = EINVAL;
			iu->status = -EINVAL;
			return FIO_Q_COMPLETED;
		}
	}
	io = aisio_queue_get_io(job->q);
	if (!io)
		return FIO_Q_BUSY;
	iu->status = 0;
	switch (io_u->ddir) {
	case DDIR_READ:
		aisio_prep_read(io, geo->nsid, slba, nlb, io_u->xfer_buf, io_u->xfer_buflen);
		break;
	case DDIR_WRITE:
		aisio_prep_write(io, geo->nsid, slba, nlb, io_u->xfer_buf, io_u->xfer_buflen);
		break;
	case DDIR_TRIM: {
		struct aisio_nvme_dsm_range *r = &job->ranges[iu->index];

		r->cattr = 0;
		r->nlb = aisio_cpu_to_le32(nlb); /* a count, not 0's based */
		r->slba = aisio_cpu_to_le64(slba);
		aisio_prep_dsm(io, geo->nsid, r, 1, AISIO_NVME_DSM_AD);
		break;
	}
	case DDIR_SYNC:
	case DDIR_DATASYNC:
	case DDIR_SYNC_FILE_RANGE:
		aisio_prep_flush(io, geo->nsid);
		break;
	default:
		aisio_queue_put_io(job->q, io);
		io_u->error = EINVAL;
		iu->status = -EINVAL;
		return FIO_Q_COMPLETED;
	}
	aisio_io_set_cb(io, on_done, iu);
	job->queued++;
	return FIO_Q_QUEUED;
}

static int aisio_fio_commit(struct thread_data *td)
{
	struct aisio_fio_job *job = td->io_ops_data;
	int n;

	if (!job->queued)
		return 0;
	n = aisio_queue_submit(job->q);
	if (n < 0) {
		job_err(td, -n, "%s: submit failed: %s", aisio_dev_uri(job->sd->dev),
			aisio_errmsg()[0] ? aisio_errmsg() : aisio_status_str(n));
		return n;
	}
	job->queued = 0;
	return 0;
}

static int aisio_fio_getevents(struct thread_data *td, unsigned int min, unsigned int max,
			       const struct timespec *t)
{
	struct aisio_fio_job *job = td->io_ops_data;
	unsigned int idle = 0;

	/* fio has taken the events of the last call. */
	job->head += job->handed;
	if (job->head >= job->depth)
		job->head -= job->depth;
	job->count -= job->handed;
	job->handed = 0;
	/* Poll only for what the ring cannot give; min 0 asks for one look. */
	while (job->count < min || (!min && !job->count && !idle)) {
		int n = aisio_queue_reap(job->q, 0);

		if (n < 0) {
			job_err(td, -n, "%s: %s", aisio_dev_uri(job->sd->dev),
				aisio_errmsg()[0] ? aisio_errmsg() : aisio_status_str(n));
			return n;
		}
		if (n > 0)
			continue;
		if (!aisio_queue_outstanding(job->q))
			break; /* nothing left that could complete */
		if (!min)
			break;
		/* Polled paths: a device model in this process may need this CPU
		 * to make progress (as aisio perf does). */
		if (++idle >= 64) {
			idle = 1;
			sched_yield();
		}
	}
	job->handed = job->count < max ? job->count : max;
	return (int)job->handed;
}

static struct io_u *aisio_fio_event(struct thread_data *td, int event)
{
	struct aisio_fio_job *job = td->io_ops_data;
	unsigned int i = job->head + (unsigned int)event;

	if (i >= job->depth)
		i -= job->depth;
	return job->ring[i];
}

/* The command's status as aisio names it, after fio's own line. */
static char *aisio_fio_errdetails(struct io_u *io_u)
{
	struct aisio_fio_iou *iu = io_u->engine_data;
	char *s;

	if (asprintf(&s, "aisio: %s: %s", iu ? aisio_dev_uri(iu->job->sd->dev) : "?",
		     aisio_status_str(iu ? iu->status : -(int)io_u->error)) < 0)
		return NULL;
	return s;
}

static struct fio_option options[] = {
	{
		.name = "aisio_uri",
		.lname = "aisio device URI",
		.type = FIO_OPT_STR_STORE,
		.off1 = offsetof(struct aisio_fio_opts, uri),
		.help = "Device URI (emu:SIZE, pci:BDF, /dev/ngXnY, file:PATH...) for every file "
			"of the job; instead of --filename with each ':' escaped",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "aisio_be",
		.lname = "aisio backend",
		.type = FIO_OPT_STR_STORE,
		.off1 = offsetof(struct aisio_fio_opts, be),
		.help = "Force a backend: upci, psync, io_uring, uring_cmd",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "aisio_nsid",
		.lname = "aisio namespace",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct aisio_fio_opts, nsid),
		.def = "0",
		.help = "Namespace ID (0: from the URI or the first active one)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "aisio_nqueues",
		.lname = "aisio queue count hint",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct aisio_fio_opts, nqueues),
		.def = "0",
		.help = "How many queues the jobs on this device will create (hint)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "aisio_qdepth",
		.lname = "aisio queue depth hint",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct aisio_fio_opts, qdepth),
		.def = "0",
		.help = "Queue depth hint at open (0: iodepth + 1)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "aisio_poll",
		.lname = "aisio polling",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct aisio_fio_opts, poll),
		.def = "0",
		.minval = 0,
		.maxval = 3,
		.help = "io_uring: 1 IOPOLL, 2 SQPOLL, 3 both",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "aisio_direct",
		.lname = "aisio O_DIRECT",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct aisio_fio_opts, direct),
		.def = "0",
		.minval = -1,
		.maxval = 1,
		.help = "Kernel paths: 1 O_DIRECT, -1 buffered, 0 default",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = "aisio_timeout_ms",
		.lname = "aisio command timeout",
		.type = FIO_OPT_INT,
		.off1 = offsetof(struct aisio_fio_opts, timeout_ms),
		.def = "0",
		.help = "Per-command timeout in ms (0: the backend's default)",
		.category = FIO_OPT_C_ENGINE,
		.group = FIO_OPT_G_INVALID,
	},
	{
		.name = NULL,
	},
};

/* fio looks this symbol up in the library (external:PATH). */
struct ioengine_ops ioengine = {
	.name = "aisio",
	.version = FIO_IOOPS_VERSION,
	.flags = FIO_DISKLESSIO | FIO_NODISKUTIL | FIO_NOEXTEND | FIO_RAWIO | FIO_MEMALIGN,
	.init = aisio_fio_init,
	.cleanup = aisio_fio_cleanup,
	.queue = aisio_fio_queue,
	.commit = aisio_fio_commit,
	.getevents = aisio_fio_getevents,
	.event = aisio_fio_event,
	.errdetails = aisio_fio_errdetails,
	.open_file = aisio_fio_open_file,
	.close_file = aisio_fio_close_file,
	.get_file_size = aisio_fio_get_file_size,
	.iomem_alloc = aisio_fio_iomem_alloc,
	.iomem_free = aisio_fio_iomem_free,
	.io_u_init = aisio_fio_io_u_init,
	.io_u_free = aisio_fio_io_u_free,
	.option_struct_size = sizeof(struct aisio_fio_opts),
	.options = options,
};
