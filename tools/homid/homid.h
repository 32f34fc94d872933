/* SPDX-License-Identifier: MIT */
/* homid: the host control plane (docs/homi.md). State shared by its files. */
#ifndef HOMID_H
#define HOMID_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <aisio/homi_proto.h>

#include "drv/drv.h"
#include "emu/emu.h"
#include "homi/proto.h"
#include "pci/pci.h"

struct aisio_gpu_dma;
struct homid_queue;

/* ---- log.c ---------------------------------------------------------------- */
enum { HOMID_LOG_ERR = 0, HOMID_LOG_WARN = 1, HOMID_LOG_INFO = 2, HOMID_LOG_DEBUG = 3 };
extern int homid_log_level;
void homid_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define LOG_ERR(...) homid_log(HOMID_LOG_ERR, __VA_ARGS__)
#define LOG_WARN(...) homid_log(HOMID_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...) homid_log(HOMID_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) homid_log(HOMID_LOG_DEBUG, __VA_ARGS__)

/* ---- config.c: policy --------------------------------------------------------- */

/* Mediated opcodes a grant may allow (bit per NVM opcode class). */
enum {
	HOMID_OP_READ = 1u << 0,  /* Read, Compare */
	HOMID_OP_WRITE = 1u << 1, /* Write, Write Zeroes, Dataset Management */
	HOMID_OP_FLUSH = 1u << 2,
};

struct homid_grant {
	int allowed;	    /* 0: no access at all */
	uint32_t nsid;	    /* 0 = every namespace */
	uint64_t lba_first; /* granted range [lba_first, lba_first + lba_count) */
	uint64_t lba_count; /* 0 = to the end */
	int writable;
	int direct;	 /* direct queues allowed (trusted) */
	uint32_t ops;	 /* HOMID_OP_* for mediated commands */
	uint32_t max_queues;
	uint32_t max_depth;
	uint64_t max_mem; /* registered bytes */
	char rule[64];	  /* where it came from, for messages */
};

#define HOMID_MAX_RULES 64
#define HOMID_MAX_VFS 16
struct homid_rule {
	int is_gid;   /* match a gid instead of a uid */
	int any;      /* match everyone (the [default] section) */
	uint32_t id;
	struct homid_grant g;
};

struct homid_config {
	char *path;
	char socket[108];
	char *ctrls[16]; /* controller specs (emu:..., pci:...) */
	int nctrls;
	char *sriov; /* SR-IOV VFs to provision at start (sriov.c), or NULL */
	/* the VF pool (vf = pci:BDF lines); vfs_sriov: every VF the sriov line enables */
	char vfs[HOMID_MAX_VFS][AISIO_PCI_BDF_LEN];
	int nvfs;
	int vfs_sriov;
	int log_level;
	struct homid_rule rules[HOMID_MAX_RULES];
	int nrules;
};

int homid_config_load(const char *path, struct homid_config *cfg);
void homid_config_free(struct homid_config *cfg);
void homid_config_default_policy(struct homid_config *cfg);
/* The grant for a client (first matching uid rule, then gid rule, then default; root gets all). */
void homid_policy_lookup(const struct homid_config *cfg, uid_t uid, gid_t gid,
			 struct homid_grant *out);

/* ---- ctrl.c: controllers ------------------------------------------------------ */
struct homid_ns {
	uint32_t nsid;
	uint32_t lba_shift;
	uint64_t nlbas;
};

struct homid_ctrl {
	char name[AISIO_HOMI_NAME_LEN];
	int kind;		   /* AISIO_HOMI_CTRL_* */
	struct aisio_emu_ctrl *emu; /* emu: the model inside homid */
	struct aisio_pcif *pcif;
	struct aisio_nvme_ctrl *nc; /* the driver: admin queue, queue IDs */
	struct homid_ns *ns;
	uint32_t nns;
	int bar_fd;		   /* emu: shared BAR0; pci: the vfio device (-1 on uio) */
	uint64_t bar_off;	   /* where BAR0 starts in bar_fd */
	size_t bar_len;
	int direct_ok; /* client memory and doorbells can be shared (emu, vfio) */
	int gpu;		     /* emu:...,gpu=N: clients' GPU memory on this model; -1 = none */
	struct aisio_gpu_dma *gdma;  /* its copy provider (none for a null namespace: nothing moves) */
	struct aisio_pcif *host; /* vfio: the function as the driver sees it (pci_host.c) */
	struct homid_tcp *tcp;	 /* nvme+tcp://: the remote controller (tcp_host.c); nc is NULL */
	/* vfio SR-IOV PF: the VF token homid set on it ("" when not a PF) */
	char vf_token[AISIO_PCI_VF_TOKEN_LEN];
};

int homid_ctrl_open(const char *spec, int index, struct homid_ctrl *hc);
/* vfio: container, group and device into the descriptor store (fdstore.c). */
void homid_ctrl_store(struct homid_ctrl *hc);
void homid_ctrl_close(struct homid_ctrl *hc);
void homid_ctrl_desc(struct homid_ctrl *hc, struct aisio_homi_ctrl_desc *d);
const struct homid_ns *homid_ctrl_ns(const struct homid_ctrl *hc, uint32_t nsid);
/* The limits clients see: ATTACH, QP_CREATE and the mediator. */
void homid_ctrl_limits(struct homid_ctrl *hc, uint32_t *max_qdepth, uint32_t *max_xfer,
		       uint32_t *page_shift, uint32_t *dstrd);
/* Identify CNS 0 or 1 through the controller's admin queue into @out (4096 bytes). */
int homid_ctrl_identify(struct homid_ctrl *hc, uint32_t cns, uint32_t nsid, void *out);
/* Delete a client's I/O queue pair on the controller (after the mediator let go of it). */
int homid_ctrl_qpair_delete(struct homid_ctrl *hc, struct homid_queue *q);
/*
 * vfio: a function reset of the controller (a PF's Primary Controller
 * Flexible Allocation takes effect), homid's driver brought up again and
 * the namespaces identified again. Only while no client holds a queue.
 */
int homid_ctrl_function_reset(struct homid_ctrl *hc);
/* 1 when @hc is the PCI function @bdf (any spelling of the address). */
int homid_ctrl_is_pci(const struct homid_ctrl *hc, const char *bdf);
/* emu_host.c: homid's own DMA memory on a model, as live DMA ranges */
int homid_emu_pcif_open(struct aisio_emu_ctrl *c, struct aisio_pcif **out);
/* Client memory for the device: map it and return its device address. */
int homid_ctrl_map(struct homid_ctrl *hc, void *va, size_t len, uint64_t *bus);
int homid_ctrl_unmap(struct homid_ctrl *hc, uint64_t bus, size_t len);
/* A client's GPU allocation (CUDA IPC @handle, @len bytes) for the model; *@ptr is its bus address. */
int homid_ctrl_gpu_map(struct homid_ctrl *hc, const uint8_t *handle, size_t len, void **ptr);
void homid_ctrl_gpu_unmap(struct homid_ctrl *hc, void *ptr);

/* ---- tcp_host.c: a remote controller over NVMe/TCP (nvme+tcp://...) ------------ */
struct homid_tcp;
struct aisio_tcp_queue;
/* Connect the association, learn the namespaces; hc->name is "tcpN". */
int homid_tcp_open(const char *spec, int index, struct homid_ctrl *hc);
void homid_tcp_close(struct homid_ctrl *hc);
void homid_tcp_desc(struct homid_ctrl *hc, struct aisio_homi_ctrl_desc *d);
int homid_tcp_identify(struct homid_ctrl *hc, uint32_t cns, uint32_t nsid, void *out);
/* One of homid's Fabrics I/O queues (its own TCP connection) of @depth entries. */
int homid_tcp_queue_create(struct homid_ctrl *hc, uint32_t depth, struct aisio_tcp_queue **out,
			   uint16_t *qid);
void homid_tcp_queue_destroy(struct homid_ctrl *hc, struct aisio_tcp_queue *tq);
void homid_tcp_qid_put(struct homid_ctrl *hc, uint16_t qid);
/* A direct client's queue: connected here; @fd_client goes to it, homid keeps @fd_keep. */
int homid_tcp_queue_handover(struct homid_ctrl *hc, uint32_t depth,
			     struct aisio_homi_tcp_queue_reply *r, int *fd_client, int *fd_keep);

/* ---- pci_host.c, handover.c: restart without letting go of vfio controllers ---- */
struct homid_ho_region {
	int32_t fd; /* memfd */
	uint32_t rsvd;
	uint64_t len;
	uint64_t iova;
};

#define HOMID_HO_REGIONS 32
/* A vfio controller as the next homid takes it over. */
struct homid_ho_ctrl {
	uint32_t index; /* in h->ctrls and the controller list of the configuration */
	uint32_t nregion;
	struct aisio_pci_vfio_handover vfio;
	struct aisio_nvme_ctrl_handover nvme;
	struct homid_ho_region region[HOMID_HO_REGIONS]; /* homid's DMA memory */
};

int homid_pci_host_open(struct aisio_pcif *fn, struct aisio_pcif **out);
/* Every region of homid's DMA memory: count or -E2BIG. */
int homid_pci_host_save(struct aisio_pcif *f, struct homid_ho_region *out, int max);
/* A region the previous homid handed over, mapped here again (its fd is kept). */
int homid_pci_host_adopt(struct aisio_pcif *f, const struct homid_ho_region *r);
/* Release the handed-over regions that hold neither address. */
void homid_pci_host_trim(struct aisio_pcif *f, uint64_t keep_a, uint64_t keep_b);
void *homid_pci_host_va(struct aisio_pcif *f, uint64_t iova, size_t len);

struct homid;
struct homid_handover;
/*
 * SIGUSR2: execute homid again (/proc/self/exe, same arguments) keeping
 * vfio controllers, the listening socket and direct clients on them; the
 * rest is dropped first (docs/homi.md, "Restart"). Returns only when it
 * could not: then homid goes on serving.
 */
void homid_handover_exec(struct homid *h);
/* --handover FD: the state the previous homid left. 0 or -errno. */
int homid_handover_load(int fd, struct homid_handover **out);
const struct homid_ho_ctrl *homid_handover_ctrl(const struct homid_handover *ho, int index);
/* Record the memory of controller @index's clients as mapped (before homid maps any of its own). */
int homid_handover_reserve(const struct homid_handover *ho, int index, struct aisio_pcif *fn);
/* ctrl.c: vfio controller @index taken over running, its admin queue where it was. */
int homid_ctrl_adopt(const char *spec, const struct homid_handover *ho, int index,
		     struct homid_ctrl *hc);
int homid_handover_listen_fd(const struct homid_handover *ho);
/* Clients back into h->clients (after the controllers); returns how many. */
int homid_handover_clients(struct homid *h, const struct homid_handover *ho);
/*
 * After the clients: (a crash) queues no one took over are deleted, then
 * homid's handed-over DMA memory that is not the admin queue is released.
 */
void homid_handover_finish(struct homid *h, const struct homid_handover *ho);
void homid_handover_free(struct homid_handover *ho);
/* The crash record (fdstore.c): descriptors named by their store tokens. 0 or -errno. */
int homid_handover_encode(struct homid *h, uint8_t **buf, size_t *len);
/* A record from memory (a copy is kept). 0 or -errno. */
int homid_handover_parse(const void *buf, size_t len, struct homid_handover **out);
/* Exec under systemd: the store's names of the descriptors kept (fdstore.c). 0 or -errno. */
int homid_handover_tokens(const struct homid_handover *ho);
/*
 * A crash record: every token through @map (-1: not passed); @busy: the
 * token of the socket whose request was in flight (0: none). 0 or -errno.
 */
int homid_handover_remap(struct homid_handover *ho, int (*map)(void *arg, uint32_t token),
			 void *arg, uint32_t busy);
/* 1 when @ho came from a crash record. */
int homid_handover_crashed(const struct homid_handover *ho);

/* ---- fdstore.c: surviving a crash through systemd's file descriptor store ---- */
enum { HOMID_STORE_FD = 0, HOMID_STORE_STATE = 1 };
struct homid_store_fd {
	int fd;
	uint32_t token;
	int kind;
};
/* From $NOTIFY_SOCKET and $FDSTORE: 1 when descriptors are kept, else 0. */
int homid_store_init(void);
int homid_store_active(void);
/* Keep @fd in the store (once; nothing without a store). */
void homid_store_add(int fd, int kind);
/* Take @fd out of the store (before it is closed). */
void homid_store_remove(int fd);
/* homid_store_remove, then close; -1 is ignored. */
void homid_store_close(int fd);
/* @fd's token in the store, 0 when it is not there. */
uint32_t homid_store_token(int fd);
/* An adopted descriptor, in the store already as @token. */
void homid_store_adopt(int fd, uint32_t token, int kind);
/* Every descriptor in the store (malloc'd in *@out): count or -errno. */
int homid_store_list(struct homid_store_fd **out);
/* Empty the store (a clean exit: the next start resets the controllers). */
void homid_store_clear(void);
/* Rewrite the crash record: after every change of the queue table. */
void homid_store_sync(struct homid *h);
/* While a restart takes things over: no record until it is done (1, then 0). */
void homid_store_hold(int on);
/* The client (its socket, -1: none) whose request is being served. */
void homid_store_busy(int sock);
/* LISTEN_FDS from the store: 1 and *@out (a crash record), 0 (nothing passed), -errno. */
int homid_store_restore(struct homid_handover **out);
/* A state line for systemd (READY=1, STATUS=...); nothing without $NOTIFY_SOCKET. */
void homid_sd_state(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- session.c: clients ------------------------------------------------------- */
struct homid_mem {
	uint32_t id;
	int fd;	       /* -1 for GPU memory */
	void *gpu_ptr; /* GPU memory (GPU_MEM_REG): the client's allocation opened here */
	uint8_t *va;   /* NULL for GPU memory */
	size_t len;
	uint64_t bus;
	struct homid_mem *next;
};

struct homid_med;

struct homid_queue {
	uint16_t qid; /* hardware queue ID */
	uint32_t depth;
	int mode;
	uint64_t sq_bus, cq_bus; /* the rings, for a restart to take the queue over */
	struct homid_med *med; /* mediated: the poller's state */
	int tcp_direct;	       /* a remote controller's queue handed to a direct client */
	int tcp_fd;	       /* ... homid's duplicate of its socket */
	struct homid_queue *next;
};

struct homid_client {
	int sock;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	struct homid_grant grant;
	struct homid_ctrl *ctrl; /* attached controller, NULL before ATTACH */
	const struct homid_ns *ns;
	int mode;
	int shadow_fd; /* mediated: the doorbell page homid polls */
	uint8_t *shadow;
	size_t shadow_len;
	struct homid_mem *mems;
	uint32_t nmem;
	uint64_t mem_bytes;
	uint32_t next_mem_id;
	struct homid_queue *queues;
	uint32_t nqueues;
	uint64_t cmds;	 /* mediated commands forwarded or refused (poller) */
	uint64_t errors; /* failed requests (main thread) */
	uint64_t med_errors; /* refused mediated commands (poller) */
	struct homid_client *next;
};

/* vf.c: SR-IOV VFs handed to clients whole (VF_TAKE); HOMID_MAX_VFS in the pool */
struct homid_vf {
	char bdf[AISIO_PCI_BDF_LEN];
	int from_sriov;		     /* one of the VFs the sriov line enables (vf = sriov) */
	struct aisio_pcif *fn;	     /* open while taken */
	struct homid_client *owner; /* NULL: free */
	uint32_t takes, resets, reset_failed;
};

struct homid {
	struct homid_config cfg;
	char *config_path;
	struct homid_ctrl ctrls[16];
	int nctrls;
	int listen_fd;
	struct homid_client *clients;
	uint32_t nclients;
	uint64_t start_ms;
	struct homid_mediator *med;
	char **argv; /* to execute again on a restart (handover.c) */
	struct homid_vf vfs[HOMID_MAX_VFS];
	int nvfs;
	/* the PF of the sriov line when homid owns it (a vfio controller): VFs through its admin queue */
	struct homid_ctrl *sriov_pf;
	/* Messages are decoded and replies built in place: structure alignment. */
	_Alignas(16) uint8_t buf[AISIO_HOMI_MSG_MAX];
	_Alignas(16) uint8_t reply[AISIO_HOMI_MSG_MAX];
};

int homid_client_accept(struct homid *h);
void homid_mem_release(struct homid_client *cl, struct homid_mem *m);
/* Reclaim everything the client holds, in order: queues, then memory. */
void homid_client_drop(struct homid *h, struct homid_client *cl, const char *why);
/* Read and answer one request; returns -1 when the client must be dropped. */
int homid_client_serve(struct homid *h, struct homid_client *cl);
/* request.c */
int homid_request(struct homid *h, struct homid_client *cl, const struct aisio_homi_msg *m,
		  void *reply, size_t *rlen, int *fd_out);
/* status.c */
/* LIST (with_clients 0) or STATUS body; STATUS leaves out @self, the connection asking. */
int homid_status_encode(struct homid *h, const struct homid_client *self, int with_clients, void *out,
			size_t cap, size_t *len);
uint64_t homid_now_ms(void);

/* vf.c: the VF pool (--vf pci:BDF); fds_out: container, group, device */
int homid_vf_add(struct homid *h, const char *spec);
/* The configuration's vf = lines into the pool; vf = sriov takes the VFs of
 * @sriov (the spec provisioned, enabled by now). 0 or -errno with a message. */
int homid_vf_add_config(struct homid *h, const char *sriov);
/* The pool's vf = sriov entries again, after the VFs of @sriov changed (none taken). */
int homid_vf_resync(struct homid *h, const char *sriov);
/* -EBUSY with a message when a client holds a VF of the pool, else 0. */
int homid_vf_any_taken(const struct homid *h);
/*
 * sriov_own.c: the VFs of a PF homid owns through vfio (h->sriov_pf, found
 * with homid_sriov_pf_index()), provisioned through its admin queue as
 * @sriov asks, at start and on SIGHUP; the VF pool follows. 0 or -errno.
 */
int homid_sriov_own_apply(struct homid *h, const char *sriov);
int homid_vf_take(struct homid *h, struct homid_client *cl, const struct aisio_homi_vf_take *r,
		  void *reply, size_t *rlen, int *fds_out);
/* The client's VF, if it holds one: reset (FLR) and back in the pool. */
void homid_vf_release(struct homid *h, struct homid_client *cl);
int homid_vf_status(struct homid *h, char *out, size_t cap);
/*
 * sriov.c: " (PF ..., secondary controller ..., VQ, VI)" for a VF, or "";
 * @ctrls: homid's controllers, one of which may be the VF's PF (its admin queue).
 */
int homid_vf_resources(const char *vf, struct homid_ctrl *ctrls, int nctrls, char *out,
		       size_t cap);

/* ---- mediator.c ------------------------------------------------------------- */
struct homid_mediator;
int homid_mediator_start(struct homid *h);
void homid_mediator_stop(struct homid *h);
/* Hold the mediator between two passes (grants change under it). */
void homid_mediator_lock(struct homid *h);
void homid_mediator_unlock(struct homid *h);
/* A mediated queue: client rings at @sq_va/@cq_va (client memory mapped here). */
int homid_med_queue_create(struct homid *h, struct homid_client *cl, uint32_t depth, void *sq_va,
			   void *cq_va, struct homid_queue *q);
void homid_med_queue_delete(struct homid *h, struct homid_client *cl, struct homid_queue *q);
/* After the hardware queue pair is deleted: homid's ring memory of a mediated queue. */
void homid_med_queue_free(struct homid_client *cl, struct homid_queue *q);

/* ---- ublk.c: namespaces exported to the kernel as /dev/ublkbN ------------------ */
/* Resume or remove devices a killed homid left, then export @specs (docs/homi.md). */
int homid_ublk_start(struct homid *h, char *const *specs, int n);
void homid_ublk_stop(struct homid *h);
/* Kernel features and exports, one line each, for STATUS. */
int homid_ublk_describe(char *out, size_t cap);
/* EXPORT, UNEXPORT, EXPORTS requests (@body: the request, checked for size). */
int homid_ublk_request(struct homid *h, struct homid_client *cl, uint16_t type, const void *body,
		       void *reply, size_t *rlen);
/*
 * The export whose /dev/ublkbN has device number @dev (the st_dev of a file
 * on a file system the kernel mounted from it). Returns 0 or -ENOENT.
 */
int homid_ublk_find_dev(dev_t dev, struct homid_ctrl **hc, const struct homid_ns **ns,
			uint64_t *lba_first, uint64_t *nlbas, uint32_t *dev_id);
/* N + 1 when /dev/ublkbN exports LBAs of namespace @ns of @hc, else 0. */
int homid_ublk_ns_exported(const struct homid_ctrl *hc, const struct homid_ns *ns);

/* ---- extent.c: the extent service (FILE_MAP, FILE_CHECK) ---------------------- */
/* FILE_MAP and FILE_CHECK requests (@body: the request, checked for size). */
int homid_extent_request(struct homid *h, struct homid_client *cl, uint16_t type, const void *body,
			 void *reply, size_t *rlen);
/* The fanotify descriptor main's loop polls (-1 while nothing is watched). */
int homid_extent_fd(void);
/* Read pending fanotify events and drop the cached mappings they touch. */
void homid_extent_drain(void);
void homid_extent_stop(void);

/* nvme_errno.c: the errno the block layer gets for a command status (SCT << 8 | SC, or -errno). */
int homid_nvme_errno(int status);

#endif
