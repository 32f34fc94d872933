/* SPDX-License-Identifier: MIT */
/*
 * NVMe over Fabrics bring-up on TCP: Connect (admin and I/O queues),
 * Property Get/Set for CAP, VS, CC and CSTS, controller enable and shutdown,
 * Keep Alive, and reconnecting the whole association when it is lost, for as
 * long as the controller-loss timeout allows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "nvme/cmd.h"
#include "tcp/tcp.h"
#include "util/err.h"

#define ADMIN_DEPTH 32
#define NVMF_CATTR_DISABLE_SQFLOW (1u << 2)
#define MAX_XFER_CAP (1u << 20)

/* Connect's own status codes share numbers with other commands' (SCT 1). */
static const char *connect_status_str(int st)
{
	switch (st) {
	case AISIO_NVMF_SC_CONNECT_FORMAT: return "Connect: incompatible format";
	case AISIO_NVMF_SC_CONNECT_CTRL_BUSY: return "Connect: controller busy";
	case AISIO_NVMF_SC_CONNECT_INVALID_PARAM: return "Connect: invalid parameters";
	case AISIO_NVMF_SC_CONNECT_RESTART_DISC: return "Connect: restart discovery";
	case AISIO_NVMF_SC_CONNECT_INVALID_HOST: return "Connect: invalid host";
	}
	return aisio_nvme_status_str((uint32_t)st);
}

int aisio_tcp_fabrics_connect(struct aisio_tcp_ctrl *c, struct aisio_tcp_queue *tq, uint32_t depth)
{
	struct aisio_nvmf_connect_cmd cmd = { 0 };
	struct aisio_nvmf_connect_data *d;
	uint64_t res = 0;
	int st;

	d = calloc(1, sizeof(*d));
	if (!d)
		return aisio_err(-ENOMEM, "out of memory");
	memcpy(d->hostid, c->hostid, sizeof(d->hostid));
	d->cntlid = aisio_cpu_to_le16(tq->qid ? c->cntlid : AISIO_NVMF_CNTLID_DYNAMIC);
	snprintf(d->subnqn, sizeof(d->subnqn), "%s", c->u.subnqn);
	snprintf(d->hostnqn, sizeof(d->hostnqn), "%s", c->u.hostnqn);
	cmd.opc = AISIO_NVME_FABRICS_OPC;
	cmd.fctype = AISIO_NVME_FCTYPE_CONNECT;
	cmd.qid = aisio_cpu_to_le16(tq->qid);
	cmd.sqsize = aisio_cpu_to_le16((uint16_t)(depth - 1));
	/* I/O queues: no SQ head pointer updates, so a good read ends with C2HData SUCCESS */
	cmd.cattr = tq->qid ? NVMF_CATTR_DISABLE_SQFLOW : 0;
	cmd.kato = aisio_cpu_to_le32(tq->qid ? 0 : c->u.kato_ms);
	st = aisio_tcp_queue_sync(tq, (const struct aisio_nvme_sqe *)&cmd, d, sizeof(*d), &res,
				  c->u.timeout_ms);
	free(d);
	if (st > 0)
		return aisio_err(st, "%s: Connect (queue %u) failed: %s%s", c->name, tq->qid,
				 connect_status_str(st),
				 st == AISIO_NVMF_SC_CONNECT_INVALID_PARAM || st == AISIO_NVMF_SC_CONNECT_INVALID_HOST
					 ? " (is SUBNQN right, and is this host allowed on the subsystem?)" : "");
	if (st < 0)
		return st;
	if (!tq->qid)
		c->cntlid = aisio_nvmf_connect_cntlid((uint32_t)res);
	return 0;
}

static int prop_get(struct aisio_tcp_ctrl *c, uint32_t ofst, int size8, uint64_t *val)
{
	struct aisio_nvmf_property_cmd cmd = { 0 };
	int st;

	cmd.opc = AISIO_NVME_FABRICS_OPC;
	cmd.fctype = AISIO_NVME_FCTYPE_PROP_GET;
	cmd.attrib = size8 ? AISIO_NVMF_PROP_SIZE_8 : AISIO_NVMF_PROP_SIZE_4;
	cmd.ofst = aisio_cpu_to_le32(ofst);
	st = aisio_tcp_queue_sync(c->admin, (const struct aisio_nvme_sqe *)&cmd, NULL, 0, val,
				  c->u.timeout_ms);
	if (st > 0)
		return aisio_err(st, "%s: Property Get %#x failed: %s", c->name, ofst,
				 aisio_nvme_status_str((uint32_t)st));
	if (!size8)
		*val &= 0xffffffffu;
	return st;
}

static int prop_set(struct aisio_tcp_ctrl *c, uint32_t ofst, uint32_t v)
{
	struct aisio_nvmf_property_cmd cmd = { 0 };
	int st;

	cmd.opc = AISIO_NVME_FABRICS_OPC;
	cmd.fctype = AISIO_NVME_FCTYPE_PROP_SET;
	cmd.attrib = AISIO_NVMF_PROP_SIZE_4;
	cmd.ofst = aisio_cpu_to_le32(ofst);
	cmd.value = aisio_cpu_to_le64(v);
	st = aisio_tcp_queue_sync(c->admin, (const struct aisio_nvme_sqe *)&cmd, NULL, 0, NULL,
				  c->u.timeout_ms);
	if (st > 0)
		return aisio_err(st, "%s: Property Set %#x = %#x failed: %s", c->name, ofst, v,
				 aisio_nvme_status_str((uint32_t)st));
	return st;
}

static int admin_locked(struct aisio_tcp_ctrl *c, const struct aisio_nvme_sqe *cmd, void *buf, size_t len,
			uint64_t *res)
{
	return aisio_tcp_queue_sync(c->admin, cmd, buf, len, res, c->u.timeout_ms);
}

/* CC.EN = 1 and wait for CSTS.RDY within CAP.TO. */
static int enable(struct aisio_tcp_ctrl *c)
{
	uint64_t csts, end;
	int err;

	err = prop_get(c, AISIO_NVME_REG_CAP, 1, &c->cap);
	if (!err) {
		uint64_t vs;

		err = prop_get(c, AISIO_NVME_REG_VS, 0, &vs);
		c->vs = (uint32_t)vs;
	}
	if (!err)
		err = prop_set(c, AISIO_NVME_REG_CC, AISIO_NVME_CC_EN | AISIO_NVME_CC_CSS_NVM | AISIO_NVME_CC_MPS(12) |
				       AISIO_NVME_CC_IOSQES(6) | AISIO_NVME_CC_IOCQES(4));
	if (err)
		return err;
	end = aisio_tcp_now_ms() + (aisio_nvme_cap_to(c->cap) ? aisio_nvme_cap_to(c->cap) * 500u : 5000u);
	for (;;) {
		err = prop_get(c, AISIO_NVME_REG_CSTS, 0, &csts);
		if (err)
			return err;
		if (csts & AISIO_NVME_CSTS_CFS)
			return aisio_err(-EIO, "%s: controller fatal status (CSTS %#x) after enable", c->name,
					 (uint32_t)csts);
		if (csts & AISIO_NVME_CSTS_RDY)
			return 0;
		if (aisio_tcp_now_ms() > end)
			return aisio_err(-ETIMEDOUT, "%s: controller not ready %u ms after CC.EN", c->name,
					 aisio_nvme_cap_to(c->cap) * 500u);
		usleep(10000);
	}
}

/* Identify, Number of Queues; the limits the backend reports. */
static int learn(struct aisio_tcp_ctrl *c)
{
	struct aisio_nvme_sqe cmd;
	uint64_t res = 0;
	uint32_t ps = 1u << (12 + aisio_nvme_cap_mpsmin(c->cap)), ioccsz;
	int st;

	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_CTRL, 0, 0);
	st = admin_locked(c, &cmd, &c->id, sizeof(c->id), NULL);
	if (st)
		return st > 0 ? aisio_err(-EIO, "%s: Identify Controller failed: %s", c->name,
					  aisio_nvme_status_str((uint32_t)st)) : st;
	c->max_xfer = MAX_XFER_CAP;
	if (c->id.mdts && (uint64_t)ps << c->id.mdts < c->max_xfer)
		c->max_xfer = ps << c->id.mdts;
	ioccsz = aisio_le32_to_cpu(c->id.ioccsz) * 16;
	c->io_icd_max = !c->id.icdoff && ioccsz > 64 ? ioccsz - 64 : 0;
	c->max_qdepth = aisio_nvme_cap_mqes(c->cap) + 1;
	if (c->max_qdepth > 1024)
		c->max_qdepth = 1024;
	aisio_nvme_cmd_clear(&cmd);
	cmd.opc = AISIO_NVME_ADM_SET_FEATURES;
	cmd.cdw10 = AISIO_NVME_FEAT_NUM_QUEUES;
	cmd.cdw11 = AISIO_NVME_FEAT_NUM_QUEUES_VAL(c->u.nr_io_queues, c->u.nr_io_queues);
	st = admin_locked(c, &cmd, NULL, 0, &res);
	if (st)
		return st > 0 ? aisio_err(-EIO, "%s: Set Features (Number of Queues) failed: %s", c->name,
					  aisio_nvme_status_str((uint32_t)st)) : st;
	c->nr_io_queues = aisio_nvme_feat_nsq((uint32_t)res);
	if (aisio_nvme_feat_ncq((uint32_t)res) < c->nr_io_queues)
		c->nr_io_queues = aisio_nvme_feat_ncq((uint32_t)res);
	if (c->nr_io_queues > c->u.nr_io_queues)
		c->nr_io_queues = c->u.nr_io_queues;
	return 0;
}

/* Admin queue connected (c->admin exists): enable and learn. */
static int assoc_setup(struct aisio_tcp_ctrl *c)
{
	int err = enable(c);

	if (!err)
		err = learn(c);
	return err;
}

int aisio_tcp_ctrl_reconnect(struct aisio_tcp_ctrl *c, uint64_t seen_gen)
{
	uint64_t now = aisio_tcp_now_ms();
	int err;

	if (__atomic_load_n(&c->lost, __ATOMIC_ACQUIRE))
		return aisio_err(-ENODEV, "%s: controller lost: the target was unreachable for the "
				 "controller-loss timeout (%u s)", c->name, c->u.ctrl_loss_tmo_s);
	if (c->gen != seen_gen && c->admin->state == TCP_Q_UP)
		return 0; /* someone else already did */
	if (!c->down_since_ms)
		c->down_since_ms = now;
	aisio_tcp_queue_fail(c->admin, -ENOTCONN);
	c->admin->state = TCP_Q_DOWN;
	err = aisio_tcp_queue_connect(c->admin);
	if (!err)
		err = assoc_setup(c);
	if (!err) {
		c->down_since_ms = 0;
		__atomic_add_fetch(&c->gen, 1, __ATOMIC_ACQ_REL);
		return 0;
	}
	aisio_tcp_queue_fail(c->admin, -ENOTCONN);
	if (aisio_tcp_now_ms() - c->down_since_ms >= (uint64_t)c->u.ctrl_loss_tmo_s * 1000) {
		__atomic_store_n(&c->lost, 1, __ATOMIC_RELEASE);
		return aisio_err(-ENODEV, "%s: controller lost: the target was unreachable for the "
				 "controller-loss timeout (%u s)", c->name, c->u.ctrl_loss_tmo_s);
	}
	return err < 0 ? err : -EIO;
}

int aisio_tcp_ctrl_admin(struct aisio_tcp_ctrl *c, const struct aisio_nvme_sqe *cmd, void *buf,
			 size_t len, uint32_t *result)
{
	uint64_t res = 0;
	int st = 0;

	pthread_mutex_lock(&c->admin_lock);
	if (c->admin->state != TCP_Q_UP)
		st = aisio_tcp_ctrl_reconnect(c, c->gen);
	if (!st)
		st = admin_locked(c, cmd, buf, len, &res);
	pthread_mutex_unlock(&c->admin_lock);
	if (result)
		*result = (uint32_t)res;
	return st;
}

/* Keep Alive every KATO/2; reconnect the association when it is down. */
static void *ka_main(void *arg)
{
	struct aisio_tcp_ctrl *c = arg;
	struct aisio_nvme_sqe ka = { .opc = AISIO_NVME_ADM_KEEP_ALIVE };

	pthread_mutex_lock(&c->ka_mutex);
	while (!c->ka_stop) {
		struct timespec ts;
		uint32_t ms = c->admin->state == TCP_Q_UP ? c->u.kato_ms / 2 : c->u.reconnect_delay_ms;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (long)(ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c->ka_cond, &c->ka_mutex, &ts);
		if (c->ka_stop)
			break;
		pthread_mutex_unlock(&c->ka_mutex);
		pthread_mutex_lock(&c->admin_lock);
		if (c->admin->state == TCP_Q_UP) {
			c->ka_sent++;
			if (admin_locked(c, &ka, NULL, 0, NULL))
				c->ka_failed++;
		} else if (!__atomic_load_n(&c->lost, __ATOMIC_ACQUIRE)) {
			aisio_tcp_ctrl_reconnect(c, c->gen);
		}
		pthread_mutex_unlock(&c->admin_lock);
		pthread_mutex_lock(&c->ka_mutex);
	}
	pthread_mutex_unlock(&c->ka_mutex);
	return NULL;
}

static void default_hostnqn(struct aisio_tcp_ctrl *c)
{
	const uint8_t *h = c->hostid;

	if (c->u.hostnqn[0])
		return;
	snprintf(c->u.hostnqn, sizeof(c->u.hostnqn),
		 "nqn.2014-08.org.nvmexpress:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9],
		 h[10], h[11], h[12], h[13], h[14], h[15]);
}

int aisio_tcp_ctrl_init(const char *name, const struct aisio_tcp_uri *u, struct aisio_tcp_ctrl **out)
{
	struct aisio_tcp_ctrl *c;
	int err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return aisio_err(-ENOMEM, "out of memory");
	c->u = *u;
	c->name = name;
	pthread_mutex_init(&c->admin_lock, NULL);
	pthread_mutex_init(&c->ka_mutex, NULL);
	pthread_cond_init(&c->ka_cond, NULL);
	if (getrandom(c->hostid, sizeof(c->hostid), 0) != sizeof(c->hostid)) {
		for (size_t i = 0; i < sizeof(c->hostid); i++)
			c->hostid[i] = (uint8_t)(rand() ^ getpid() ^ (int)(i * 131));
	}
	c->hostid[6] = (uint8_t)((c->hostid[6] & 0x0f) | 0x40); /* a version 4 UUID */
	c->hostid[8] = (uint8_t)((c->hostid[8] & 0x3f) | 0x80);
	default_hostnqn(c);
	err = aisio_tcp_queue_create(c, 0, ADMIN_DEPTH, &c->admin);
	if (err)
		goto err_free;
	pthread_mutex_lock(&c->admin_lock);
	err = assoc_setup(c);
	c->gen = 1;
	pthread_mutex_unlock(&c->admin_lock);
	if (err)
		goto err_admin;
	if (c->u.kato_ms) {
		if (pthread_create(&c->ka_thread, NULL, ka_main, c)) {
			err = aisio_err(-EAGAIN, "%s: cannot start the Keep Alive thread", name);
			goto err_admin;
		}
		c->ka_running = 1;
	}
	*out = c;
	return 0;

err_admin:
	aisio_tcp_queue_destroy(c->admin);
err_free:
	free(c);
	return err;
}

void aisio_tcp_ctrl_term(struct aisio_tcp_ctrl *c)
{
	uint64_t csts = 0, end;

	if (!c)
		return;
	if (c->ka_running) {
		pthread_mutex_lock(&c->ka_mutex);
		c->ka_stop = 1;
		pthread_cond_signal(&c->ka_cond);
		pthread_mutex_unlock(&c->ka_mutex);
		pthread_join(c->ka_thread, NULL);
	}
	pthread_mutex_lock(&c->admin_lock);
	/* a normal shutdown, briefly: the target frees the controller when we close anyway */
	if (c->admin->state == TCP_Q_UP &&
	    !prop_set(c, AISIO_NVME_REG_CC, AISIO_NVME_CC_EN | AISIO_NVME_CC_MPS(12) | AISIO_NVME_CC_IOSQES(6) |
				       AISIO_NVME_CC_IOCQES(4) | AISIO_NVME_CC_SHN_NORMAL)) {
		end = aisio_tcp_now_ms() + 1000;
		while (!prop_get(c, AISIO_NVME_REG_CSTS, 0, &csts) &&
		       (csts & AISIO_NVME_CSTS_SHST_MASK) != AISIO_NVME_CSTS_SHST_CMPLT && aisio_tcp_now_ms() < end)
			usleep(5000);
	}
	pthread_mutex_unlock(&c->admin_lock);
	aisio_tcp_queue_destroy(c->admin);
	pthread_cond_destroy(&c->ka_cond);
	pthread_mutex_destroy(&c->ka_mutex);
	pthread_mutex_destroy(&c->admin_lock);
	free(c);
}
