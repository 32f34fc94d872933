/* SPDX-License-Identifier: MIT */
/*
 * The homid protocol on the wire (docs/homi.md): messages over a UNIX
 * SOCK_SEQPACKET socket, one message per packet, little-endian fixed
 * layouts, descriptors passed with SCM_RIGHTS. No state here; encode and
 * decode live in src/homi/proto.c.
 *
 * Every message starts with struct aisio_homi_hdr. A reply has the request's
 * type with AISIO_HOMI_REPLY set and the same seq, then struct
 * aisio_homi_reply; when status is non-zero the body is struct
 * aisio_homi_err (a message for the user), else the reply body of the type.
 */
#ifndef AISIO_HOMI_PROTO_H
#define AISIO_HOMI_PROTO_H

#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the homid protocol layouts are little-endian and read in place"
#endif

#define AISIO_HOMI_MAGIC 0x494d4f48u /* "HOMI" */
#define AISIO_HOMI_VERSION 1
#define AISIO_HOMI_MSG_MAX 65536u /* header and body; larger packets are refused */
#define AISIO_HOMI_MAX_FDS 3      /* descriptors in one message (requests: at most 1) */
#define AISIO_HOMI_NAME_LEN 32
#define AISIO_HOMI_ERRMSG_LEN 240
#define AISIO_HOMI_SOCKET_DEFAULT "/run/aisio/homid.sock"

enum aisio_homi_type {
	AISIO_HOMI_HELLO = 1,
	AISIO_HOMI_LIST = 2,
	AISIO_HOMI_ATTACH = 3,
	AISIO_HOMI_MEM_REG = 4,
	AISIO_HOMI_MEM_UNREG = 5,
	AISIO_HOMI_QP_CREATE = 6,
	AISIO_HOMI_QP_DELETE = 7,
	AISIO_HOMI_STATUS = 8,
	AISIO_HOMI_IDENTIFY = 9,
	AISIO_HOMI_EXPORT = 10,   /* a namespace (range) as /dev/ublkbN (root only) */
	AISIO_HOMI_UNEXPORT = 11, /* remove /dev/ublkbN (root only) */
	AISIO_HOMI_EXPORTS = 12,  /* ublk features in use and the exports, as text */
	AISIO_HOMI_FILE_MAP = 13,   /* extent service: a file's path -> its LBA runs */
	AISIO_HOMI_FILE_CHECK = 14, /* extent service: is a mapping still current? */
	AISIO_HOMI_GPU_MEM_REG = 15, /* the client's GPU memory, by a shareable handle */
	AISIO_HOMI_TCP_QUEUE = 16, /* a Fabrics I/O queue connection of a remote controller */
	AISIO_HOMI_TYPE_MAX = 16, /* the last of the contiguous block; more types follow apart */
	AISIO_HOMI_VF_TAKE = 48,   /* an SR-IOV VF for the client alone (vfio descriptors) */
	AISIO_HOMI_VF_STATUS = 49, /* the VF pool, as text */
	AISIO_HOMI_REPLY = 0x8000,
};

enum aisio_homi_mode {
	AISIO_HOMI_MODE_DIRECT = 1,   /* client drives a hardware queue pair */
	AISIO_HOMI_MODE_MEDIATED = 2, /* homid checks and forwards every command */
};

enum aisio_homi_ctrl_kind {
	AISIO_HOMI_CTRL_EMU = 1,
	AISIO_HOMI_CTRL_PCI = 2,
	AISIO_HOMI_CTRL_TCP = 3, /* a remote controller over NVMe/TCP: mediated queues only */
};

struct aisio_homi_hdr {
	uint32_t magic;	  /* AISIO_HOMI_MAGIC */
	uint16_t version; /* AISIO_HOMI_VERSION */
	uint16_t type;	  /* enum aisio_homi_type, | AISIO_HOMI_REPLY in replies */
	uint32_t len;	  /* body bytes after this header */
	uint32_t seq;	  /* chosen by the client, echoed in the reply */
};
_Static_assert(sizeof(struct aisio_homi_hdr) == 16, "homi hdr");

struct aisio_homi_reply {
	int32_t status; /* 0 or a negative errno */
	uint32_t rsvd4;
};
_Static_assert(sizeof(struct aisio_homi_reply) == 8, "homi reply");

struct aisio_homi_err {
	char msg[AISIO_HOMI_ERRMSG_LEN]; /* NUL-terminated */
};
_Static_assert(sizeof(struct aisio_homi_err) == 240, "homi err");

/* HELLO */
struct aisio_homi_hello {
	uint16_t version_min;
	uint16_t version_max;
	uint32_t rsvd4;
};
_Static_assert(sizeof(struct aisio_homi_hello) == 8, "homi hello");

struct aisio_homi_hello_reply {
	uint16_t version;
	uint16_t rsvd2;
	uint32_t server_pid;
	uint32_t uid; /* the caller as homid sees it (SO_PEERCRED) */
	uint32_t gid;
};
_Static_assert(sizeof(struct aisio_homi_hello_reply) == 16, "homi hello reply");

/* A controller, in LIST and ATTACH replies. */
struct aisio_homi_ctrl_desc {
	char name[AISIO_HOMI_NAME_LEN];
	uint32_t kind;	     /* enum aisio_homi_ctrl_kind */
	uint32_t nns;	     /* namespaces */
	uint32_t nqueues;    /* I/O queue IDs of the controller */
	uint32_t qids_used;  /* by clients and homid */
	uint32_t max_qdepth; /* CAP.MQES + 1 */
	uint32_t max_xfer;   /* bytes per command (MDTS) */
	uint32_t page_shift; /* CC.MPS + 12 */
	uint32_t dstrd;	     /* CAP.DSTRD */
	uint32_t sgl;	     /* SGLs supported */
	uint32_t timeout_ms;
	uint32_t bar0_len;
	uint32_t direct_ok; /* direct queues possible on this controller */
	uint64_t db_off;    /* ATTACH: where the doorbell page starts in its descriptor */
	uint8_t rsvd88[40];
};
_Static_assert(sizeof(struct aisio_homi_ctrl_desc) == 128, "homi ctrl desc");

struct aisio_homi_ns_desc {
	uint32_t ctrl;	    /* index in the LIST reply */
	uint32_t nsid;
	uint32_t lba_shift;
	uint32_t rsvd12;
	uint64_t nlbas;
};
_Static_assert(sizeof(struct aisio_homi_ns_desc) == 24, "homi ns desc");

/* LIST reply: this, then nctrl ctrl_desc, then nns ns_desc. */
struct aisio_homi_list_reply {
	uint32_t nctrl;
	uint32_t nns;
};
_Static_assert(sizeof(struct aisio_homi_list_reply) == 8, "homi list reply");

/* ATTACH: bind the session to one controller and namespace, in one mode. */
struct aisio_homi_attach {
	char ctrl[AISIO_HOMI_NAME_LEN]; /* "" = the first controller */
	uint32_t nsid;			/* 0 = the first namespace */
	uint32_t mode;			/* enum aisio_homi_mode */
	uint32_t rsvd40[2];
};
_Static_assert(sizeof(struct aisio_homi_attach) == 48, "homi attach");

/* ATTACH reply; one descriptor comes with it: the doorbell page (see docs). */
struct aisio_homi_attach_reply {
	struct aisio_homi_ctrl_desc ctrl;
	struct aisio_homi_ns_desc ns;
	uint32_t db_len; /* bytes of the doorbell page to map */
	uint32_t mode;
	uint64_t lba_first; /* granted LBA range [lba_first, lba_first + lba_count) */
	uint64_t lba_count;
	uint32_t writable;
	uint32_t rsvd180;
};
_Static_assert(sizeof(struct aisio_homi_attach_reply) == 184, "homi attach reply");

/* MEM_REG: one memfd comes with it; homid maps @len bytes from offset 0. */
struct aisio_homi_mem_reg {
	uint64_t len;
	uint64_t rsvd8;
};
_Static_assert(sizeof(struct aisio_homi_mem_reg) == 16, "homi mem reg");

struct aisio_homi_mem_reg_reply {
	uint32_t mem_id;
	uint32_t rsvd4;
	uint64_t bus; /* device address of the memory's first byte */
};
_Static_assert(sizeof(struct aisio_homi_mem_reg_reply) == 16, "homi mem reg reply");

struct aisio_homi_mem_unreg {
	uint32_t mem_id;
	uint32_t rsvd4;
};
_Static_assert(sizeof(struct aisio_homi_mem_unreg) == 8, "homi mem unreg");

/*
 * GPU_MEM_REG: GPU memory of the client's, named by a handle its GPU driver
 * exported; homid opens it and its device model moves data straight into
 * it. No descriptor. The reply is struct aisio_homi_mem_reg_reply; MEM_UNREG
 * takes its mem_id back. Only data may live there (rings must be CPU memory).
 */
enum aisio_homi_gpu_handle_kind {
	AISIO_HOMI_GPU_CUDA_IPC = 1, /* handle: cudaIpcMemHandle_t of a cudaMalloc allocation's start */
};
#define AISIO_HOMI_GPU_HANDLE_LEN 64
struct aisio_homi_gpu_mem_reg {
	uint32_t kind; /* enum aisio_homi_gpu_handle_kind */
	uint32_t rsvd4;
	uint64_t len; /* bytes from the allocation's start, a multiple of 4096, within the allocation */
	uint8_t handle[AISIO_HOMI_GPU_HANDLE_LEN];
	uint64_t rsvd80[2];
};
_Static_assert(sizeof(struct aisio_homi_gpu_mem_reg) == 96, "homi gpu mem reg");

/* QP_CREATE: rings in the client's registered memory, by device address. */
struct aisio_homi_qp_create {
	uint32_t depth; /* ring entries */
	uint32_t rsvd4;
	uint64_t sq_bus; /* depth * 64 bytes, page aligned */
	uint64_t cq_bus; /* depth * 16 bytes, page aligned, zeroed */
};
_Static_assert(sizeof(struct aisio_homi_qp_create) == 24, "homi qp create");

struct aisio_homi_qp_create_reply {
	uint16_t qid;	 /* the queue ID to use in the doorbell page */
	uint16_t rsvd2;
	uint32_t depth;
	uint32_t sq_db; /* byte offsets in the doorbell page */
	uint32_t cq_db;
};
_Static_assert(sizeof(struct aisio_homi_qp_create_reply) == 16, "homi qp create reply");

/*
 * TCP_QUEUE: a direct client's own I/O queue on a remote (NVMe/TCP)
 * controller. homid connects a TCP connection, exchanges ICReq/ICResp and
 * sends Fabrics Connect for a free queue ID with the controller's CNTLID,
 * then hands the connected socket over (the reply's descriptor). QP_DELETE
 * with the QID gives it back.
 */
struct aisio_homi_tcp_queue {
	uint32_t depth; /* entries; depth - 1 commands in flight */
	uint32_t rsvd4;
};
_Static_assert(sizeof(struct aisio_homi_tcp_queue) == 8, "homi tcp queue");

struct aisio_homi_tcp_queue_reply {
	uint16_t qid;
	uint16_t cntlid;
	uint32_t depth;
	uint32_t maxh2cdata; /* ICResp: the largest H2CData PDU the controller takes */
	uint32_t icd_max;    /* in-capsule data bytes a write may carry (IOCCSZ) */
	uint32_t max_xfer;   /* bytes per command */
	uint8_t cpda;	     /* ICResp: data alignment the controller wants, dwords 0's based */
	uint8_t hdgst;	     /* header digests on */
	uint8_t ddgst;	     /* data digests on */
	uint8_t rsvd23;
	uint32_t timeout_ms;
	uint32_t rsvd28;
};
_Static_assert(sizeof(struct aisio_homi_tcp_queue_reply) == 32, "homi tcp queue reply");

struct aisio_homi_qp_delete {
	uint16_t qid;
	uint16_t rsvd2;
	uint32_t rsvd4;
};
_Static_assert(sizeof(struct aisio_homi_qp_delete) == 8, "homi qp delete");

/* STATUS reply: this, nctrl ctrl_desc, nns ns_desc, nclient client_desc (every client but the asking one). */
struct aisio_homi_status_reply {
	uint32_t nctrl;
	uint32_t nns;
	uint32_t nclient;
	uint32_t homid_pid;
	uint64_t uptime_ms;
};
_Static_assert(sizeof(struct aisio_homi_status_reply) == 24, "homi status reply");

struct aisio_homi_client_desc {
	uint32_t pid;
	uint32_t uid;
	uint32_t gid;
	uint32_t mode; /* 0 = not attached */
	char ctrl[AISIO_HOMI_NAME_LEN];
	uint32_t nsid;
	uint32_t nqueues;
	uint32_t nmem;
	uint32_t rsvd60;
	uint64_t mem_bytes;
	uint64_t cmds;	 /* commands homid saw (mediated; direct queues bypass homid) */
	uint64_t errors; /* failed requests and refused commands */
	uint16_t qids[8]; /* first queues */
};
_Static_assert(sizeof(struct aisio_homi_client_desc) == 104, "homi client desc");

/* IDENTIFY: homid runs Identify (CNS 0 or 1 only) on the attached controller; reply: 4096 bytes. */
struct aisio_homi_identify {
	uint32_t cns;
	uint32_t nsid;
};
_Static_assert(sizeof(struct aisio_homi_identify) == 8, "homi identify");

/* EXPORT: the export spec (docs/homi.md, "Block devices"), NUL-terminated */
struct aisio_homi_export {
	char spec[248];
	uint32_t rsvd[2];
};
_Static_assert(sizeof(struct aisio_homi_export) == 256, "homi export");

struct aisio_homi_export_reply {
	uint32_t dev_id; /* N of /dev/ublkbN */
	uint32_t rsvd;
};
_Static_assert(sizeof(struct aisio_homi_export_reply) == 8, "homi export reply");

struct aisio_homi_unexport {
	uint32_t dev_id;
	uint32_t rsvd;
};
_Static_assert(sizeof(struct aisio_homi_unexport) == 8, "homi unexport");

/* EXPORTS reply: NUL-terminated text, at most this many bytes with the NUL */
#define AISIO_HOMI_EXPORTS_MAX 8192

/*
 * Extent service (docs/homi.md, "Extent service"). FILE_MAP resolves a path
 * to the LBA runs of the attached namespace that hold the file's data; the
 * request and reply carry their own layout version so the service can grow
 * without a new header version. FILE_CHECK asks whether a mapping is still
 * current (status 0) or the file changed since (-ESTALE).
 */
#define AISIO_HOMI_FILE_VERSION 1
#define AISIO_HOMI_PATH_MAX 4096
#define AISIO_HOMI_FILE_RUNS_MAX 1024 /* runs in one FILE_MAP reply */

enum aisio_homi_file_where {
	AISIO_HOMI_FILE_MOUNTED = 1, /* a path in homid's file tree, on a mounted ublk export (FIEMAP) */
	AISIO_HOMI_FILE_IMAGE = 2,   /* a path inside the unmounted XFS of the namespace (decoder) */
};

/* FILE_MAP reply flags */
#define AISIO_HOMI_FILE_F_MORE 0x1   /* more runs: ask again with off = next_off (same gen) */
#define AISIO_HOMI_FILE_F_STATIC 0x2 /* nothing invalidates it (decoded image): no checks needed */
#define AISIO_HOMI_FILE_F_CACHED 0x4 /* served from homid's cache */

struct aisio_homi_file_map {
	uint16_t version; /* AISIO_HOMI_FILE_VERSION */
	uint16_t where;   /* enum aisio_homi_file_where */
	uint32_t rsvd4;
	uint64_t off;     /* runs that end after this file offset */
	char path[AISIO_HOMI_PATH_MAX]; /* NUL-terminated */
};
_Static_assert(sizeof(struct aisio_homi_file_map) == 4112, "homi file map");

/* FILE_MAP reply: this, then nruns struct aisio_homi_run in file order. */
struct aisio_homi_file_map_reply {
	uint16_t version;
	uint16_t where;
	uint32_t flags;	   /* AISIO_HOMI_FILE_F_* */
	uint64_t gen;	   /* the mapping's generation, for FILE_CHECK; never 0 */
	uint64_t size;	   /* file size in bytes */
	uint64_t ino;
	uint64_t next_off; /* with F_MORE */
	uint32_t nsid;
	uint32_t lba_shift;
	uint32_t blksize;  /* file system block size */
	uint32_t nruns;
};
_Static_assert(sizeof(struct aisio_homi_file_map_reply) == 56, "homi file map reply");

struct aisio_homi_run {
	uint64_t off;	/* file offset, bytes */
	uint64_t len;	/* bytes */
	uint64_t lba;	/* namespace LBA of off (0 when flags say there is none) */
	uint32_t flags; /* AISIO_EXT_* (the FIEMAP_EXTENT_* values) */
	uint32_t rsvd;
};
_Static_assert(sizeof(struct aisio_homi_run) == 32, "homi run");

struct aisio_homi_file_check {
	uint64_t gen;
};
_Static_assert(sizeof(struct aisio_homi_file_check) == 8, "homi file check");

/*
 * VF_TAKE: a virtual function of homid's pool for this connection alone.
 * The reply carries three descriptors, in order: the vfio container, the
 * group and the device; the client drives the VF with the user-space
 * driver (homi:...,mode=vf). When the connection closes homid resets the
 * VF (VFIO_DEVICE_RESET, a function-level reset) and returns it to the pool.
 */
struct aisio_homi_vf_take {
	char bdf[16]; /* "" = any free VF, else "DDDD:BB:DD.F" */
	uint32_t rsvd[4];
};
_Static_assert(sizeof(struct aisio_homi_vf_take) == 32, "homi vf take");

struct aisio_homi_vf_take_reply {
	char bdf[16];
	uint32_t rsvd[4];
};
_Static_assert(sizeof(struct aisio_homi_vf_take_reply) == 32, "homi vf take reply");

/* VF_STATUS reply: NUL-terminated text, one line per VF, at most this many bytes */
#define AISIO_HOMI_VF_STATUS_MAX 4096

#endif
