/* SPDX-License-Identifier: MIT */
/*
 * The one I/O API: open a device by URI, pick the backend, dispatch.
 * Backends are registered in one table built at compile time from what this
 * build was configured with: a backend left out (io_uring without liburing,
 * say) has no ops there, and asking for it gives a clear error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <aisio/aisio.h>

#include "file/local.h"
#include "drv/drv.h"
#include "io/backend.h"
#include "util/err.h"

/* A backend's ops and the library it needs: always built, or only with liburing. */
#define ALWAYS(ops) &(ops), NULL
#ifdef AISIO_HAVE_LIBURING
#define WITH_LIBURING(ops) &(ops), "liburing"
#else
#define WITH_LIBURING(ops) NULL, "liburing"
#endif

/* A URI prefix a backend opens when none is forced, and how messages show it. */
struct uri_form {
	const char *prefix;
	const char *usage;
};

/* One line a backend; the longest matching prefix picks the default one. */
static const struct backend {
	const char *name;
	const struct aisio_backend_ops *ops; /* NULL: not built into this aisio */
	const char *needs;                   /* the library a build needs to have it */
	const char *fallback;                /* takes its URIs when it is not built */
	struct uri_form uris[2];
} backends[] = {
	// clang-format off
	{ "upci", ALWAYS(aisio_be_upci), NULL, { { "emu:", "emu:SIZE" }, { "pci:", "pci:BDF" } } },
	{ "psync", ALWAYS(aisio_be_psync), NULL, { { "file:", "file:PATH" } } },
	{ "io_uring", WITH_LIBURING(aisio_be_io_uring), "psync", { { "/dev/", "/dev/nvmeXnY" } } },
	{ "uring_cmd", WITH_LIBURING(aisio_be_uring_cmd), NULL, { { "/dev/ng", "/dev/ngXnY" } } },
	{ "homi", ALWAYS(aisio_be_homi), NULL, { { "homi:", "homi:SOCKET" } } },
	{ "tcp", ALWAYS(aisio_be_tcp), NULL, { { "nvme+tcp://", "nvme+tcp://HOST[:PORT]/SUBNQN" } } },
	// clang-format on
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))
#define NURIS (sizeof(backends[0].uris) / sizeof(backends[0].uris[0]))

static const struct backend *backend_by_name(const char *name)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (!strcmp(backends[i].name, name))
			return &backends[i];
	return NULL;
}

/* The backend a URI implies when none is forced, or NULL. */
static const struct backend *default_backend(const char *uri)
{
	const struct backend *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < NBACKENDS; i++) {
		for (size_t j = 0; j < NURIS && backends[i].uris[j].prefix; j++) {
			size_t n = strlen(backends[i].uris[j].prefix);

			if (n > best_len && !strncmp(uri, backends[i].uris[j].prefix, n)) {
				best = &backends[i];
				best_len = n;
			}
		}
	}
	if (best && !best->ops && best->fallback)
		return backend_by_name(best->fallback);
	return best;
}

/* "a, b, c or d" from the table: backend names, or the URI forms. */
static void list_names(char *buf, size_t size, int uris)
{
	const char *item[NBACKENDS * NURIS];
	size_t n = 0, used = 0;

	for (size_t i = 0; i < NBACKENDS; i++) {
		if (!uris)
			item[n++] = backends[i].name;
		else
			for (size_t j = 0; j < NURIS && backends[i].uris[j].prefix; j++)
				item[n++] = backends[i].uris[j].usage;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
					 !i ? "" : i + 1 == n ? " or " : ", ", item[i]);
}

/*
 * No backend for @uri: a path that names nothing is "no such file", else the
 * scheme is unknown; @forms lists the URI forms this build opens.
 */
static int no_backend(const char *uri, const char *forms)
{
	const char *colon = strchr(uri, ':'), *slash = strchr(uri, '/');
	struct stat st;

	if ((!colon || (slash && slash < colon)) && stat(uri, &st) && errno == ENOENT)
		return aisio_err(-ENOENT, "no such file: %s", uri);
	if (!colon || (slash && slash < colon))
		return aisio_err(-EINVAL, "'%s' has no URI scheme: open a file or block device as "
				 "file:%s", uri, uri);
	return aisio_err(-EINVAL, "unknown URI scheme in '%s': use %s", uri, forms);
}

int aisio_dev_open(const char *uri, const struct aisio_open_opts *opts, struct aisio_dev **out)
{
	static const struct aisio_open_opts defaults;
	const struct aisio_backend_ops *ops;
	const struct backend *be;
	struct aisio_dev *dev;
	char names[160];
	int err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (!uri || !*uri)
		return aisio_err(-EINVAL, "empty device URI");
	if (opts->be && *opts->be) {
		be = backend_by_name(opts->be);
		if (!be) {
			list_names(names, sizeof(names), 0);
			return aisio_err(-EINVAL, "unknown backend '%s': use %s", opts->be, names);
		}
	} else {
		be = default_backend(uri);
		if (!be) {
			list_names(names, sizeof(names), 1);
			return no_backend(uri, names);
		}
	}
	if (!be->ops)
		return aisio_err(-ENOTSUP,
				 "backend '%s' is not built into this aisio: it needs %s "
				 "(install its development package, then meson setup --reconfigure)",
				 be->name, be->needs ? be->needs : "a library this build lacks");
	ops = be->ops;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return aisio_err(-ENOMEM, "out of memory");
	dev->uri = strdup(uri);
	if (!dev->uri) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto err_free_dev;
	}
	dev->ops = ops;
	aisio_err_clear();
	err = ops->open(dev, uri, opts);
	if (err) {
		if (!*aisio_errmsg())
			aisio_err(err, "%s: cannot open: %s", uri, strerror(-err));
		goto err_free_uri;
	}
	if (!dev->geo.backend)
		dev->geo.backend = ops->name;
	*out = dev;
	return 0;

err_free_uri:
	free(dev->uri);
err_free_dev:
	free(dev);
	return err;
}

void aisio_dev_close(struct aisio_dev *dev)
{
	if (!dev)
		return;
	aisio_file_vol_free(dev->fvol); /* it reads through the device: before it goes */
	dev->ops->close(dev);
	free(dev->uri);
	free(dev);
}

const struct aisio_geo *aisio_dev_geo(const struct aisio_dev *dev)
{
	return &dev->geo;
}

const char *aisio_dev_uri(const struct aisio_dev *dev)
{
	return dev->uri;
}

int aisio_dev_admin(struct aisio_dev *dev, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		    uint32_t *result)
{
	if (!dev->ops->admin)
		return aisio_err(-ENOTSUP, "%s: the %s path carries no admin commands", dev->uri,
				 dev->ops->name);
	return dev->ops->admin(dev, cmd, buf, len, result);
}

int aisio_dev_reset(struct aisio_dev *dev)
{
	if (!dev->ops->reset)
		return aisio_err(-ENOTSUP, "%s: the %s path cannot reset the controller", dev->uri,
				 dev->ops->name);
	return dev->ops->reset(dev);
}

void *aisio_buf_alloc(struct aisio_dev *dev, size_t len)
{
	return dev->ops->buf_alloc(dev, len);
}

void aisio_buf_free(struct aisio_dev *dev, void *buf)
{
	if (buf)
		dev->ops->buf_free(dev, buf);
}

int aisio_queue_init(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **out)
{
	*out = NULL;
	if (depth < 2 || (dev->geo.max_qdepth && depth > dev->geo.max_qdepth))
		return aisio_err(-EINVAL, "%s: queue depth %u out of range (2..%u)", dev->uri, depth,
				 dev->geo.max_qdepth);
	return dev->ops->queue_init(dev, depth, out);
}

void aisio_queue_term(struct aisio_queue *q)
{
	if (q)
		q->dev->ops->queue_term(q);
}

uint32_t aisio_queue_depth(const struct aisio_queue *q)
{
	return q->depth;
}

struct aisio_io *aisio_queue_get_io(struct aisio_queue *q)
{
	struct aisio_io *io = q->nvme ? aisio_nvme_qpair_get_io(q->nvme) : q->dev->ops->get_io(q);

	/* A slot remembers nothing of its last use: a stale callback would be
	 * called into a frame that is gone. */
	if (io) {
		io->cb = NULL;
		io->cb_arg = NULL;
	}
	return io;
}

void aisio_queue_put_io(struct aisio_queue *q, struct aisio_io *io)
{
	q->dev->ops->put_io(q, io);
}

int aisio_queue_submit(struct aisio_queue *q)
{
	return q->dev->ops->submit(q);
}

int aisio_queue_reap(struct aisio_queue *q, uint32_t max)
{
	return q->dev->ops->reap(q, max);
}

uint32_t aisio_queue_outstanding(const struct aisio_queue *q)
{
	return q->dev->ops->outstanding(q);
}

int aisio_queue_wait(struct aisio_queue *q)
{
	while (aisio_queue_outstanding(q)) {
		int n = aisio_queue_reap(q, 0);
		if (n < 0)
			return n;
	}
	return 0;
}

struct sync_ctx {
	aisio_io_cb cb;
	void *arg;
	int done;
};

static void sync_done(struct aisio_io *io, void *arg)
{
	struct sync_ctx *s = arg;

	s->done = 1;
	io->cb = s->cb;
	io->cb_arg = s->arg;
}

int aisio_io_sync(struct aisio_io *io)
{
	struct aisio_queue *q = io->q;
	struct sync_ctx s = { .cb = io->cb, .arg = io->cb_arg };
	int err, status;

	io->cb = sync_done;
	io->cb_arg = &s;
	err = aisio_queue_submit(q);
	if (err < 0)
		return err;
	while (!s.done) {
		err = aisio_queue_reap(q, 0);
		if (err < 0)
			return err;
	}
	/* The slot is free again once reaped; its status stays readable until reused. */
	status = io->status;
	if (s.cb)
		s.cb(io, s.arg);
	return status;
}

int aisio_dev_identify_ctrl(struct aisio_dev *dev, struct aisio_nvme_id_ctrl *id)
{
	struct aisio_nvme_sqe cmd = { .opc = AISIO_NVME_ADM_IDENTIFY, .cdw10 = AISIO_NVME_CNS_CTRL };

	return aisio_dev_admin(dev, &cmd, id, sizeof(*id), NULL);
}

int aisio_dev_identify_ns(struct aisio_dev *dev, uint32_t nsid, struct aisio_nvme_id_ns *id)
{
	struct aisio_nvme_sqe cmd = { .opc = AISIO_NVME_ADM_IDENTIFY, .nsid = nsid,
				      .cdw10 = AISIO_NVME_CNS_NS };

	return aisio_dev_admin(dev, &cmd, id, sizeof(*id), NULL);
}
