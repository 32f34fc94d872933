/* SPDX-License-Identifier: MIT */
/*
 * The one I/O API: open a device by URI, pick the backend, dispatch.
 * Backends are weak references so that a build without one (no liburing,
 * say) still links; asking for a missing backend gives a clear error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <aisio/aisio.h>

#include "io/backend.h"
#include "util/err.h"

extern const struct aisio_backend_ops aisio_be_upci __attribute__((weak));
extern const struct aisio_backend_ops aisio_be_psync __attribute__((weak));
extern const struct aisio_backend_ops aisio_be_io_uring __attribute__((weak));
extern const struct aisio_backend_ops aisio_be_uring_cmd __attribute__((weak));
extern const struct aisio_backend_ops aisio_be_homi __attribute__((weak));

static const struct aisio_backend_ops *backend_by_name(const char *name)
{
	static const struct {
		const char *name;
		const struct aisio_backend_ops *ops;
	} table[] = {
		{ "upci", &aisio_be_upci },
		{ "psync", &aisio_be_psync },
		{ "io_uring", &aisio_be_io_uring },
		{ "uring_cmd", &aisio_be_uring_cmd },
		{ "homi", &aisio_be_homi },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].name, name))
			return table[i].ops;
	return NULL;
}

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The backend a URI implies when none is forced. */
static const char *default_backend(const char *uri)
{
	if (starts_with(uri, "emu:") || starts_with(uri, "pci:"))
		return "upci";
	if (starts_with(uri, "homi:"))
		return "homi";
	if (starts_with(uri, "/dev/ng"))
		return "uring_cmd";
	if (starts_with(uri, "/dev/") || starts_with(uri, "file:"))
		return &aisio_be_io_uring && starts_with(uri, "/dev/") ? "io_uring" : "psync";
	return NULL;
}

int aisio_dev_open(const char *uri, const struct aisio_open_opts *opts, struct aisio_dev **out)
{
	static const struct aisio_open_opts defaults;
	const struct aisio_backend_ops *ops;
	struct aisio_dev *dev;
	const char *be;
	int err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (!uri || !*uri)
		return aisio_err(-EINVAL, "empty device URI");
	be = opts->be && *opts->be ? opts->be : default_backend(uri);
	if (!be)
		return aisio_err(-EINVAL,
				 "unknown URI scheme in '%s': use emu:SIZE, pci:BDF, file:PATH, "
				 "/dev/nvmeXnY or /dev/ngXnY", uri);
	ops = backend_by_name(be);
	if (!ops)
		return aisio_err(-EINVAL, "unknown backend '%s': use upci, psync, io_uring or uring_cmd", be);
	if (!ops->name)
		return aisio_err(-ENOTSUP, "backend '%s' is not built into this aisio", be);

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
	return q->dev->ops->get_io(q);
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
