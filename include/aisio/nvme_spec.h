/* SPDX-License-Identifier: MIT */
/*
 * NVMe on-wire structures, register map, opcodes and status codes
 * (NVM Express Base Specification 2.0, NVM Command Set 1.0).
 *
 * No driver state lives here. Every structure is followed by a static size
 * assert; registers are read through shift/mask accessors, never bitfields.
 * NVMe is little-endian: multi-byte fields are named leNN and read with the
 * aisio_le*_to_cpu() helpers. The header compiles as C11 and as CUDA device code.
 */
#ifndef AISIO_NVME_SPEC_H
#define AISIO_NVME_SPEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define AISIO_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define AISIO_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#if defined(__CUDACC__)
#define AISIO_HD __host__ __device__
#else
#define AISIO_HD
#endif

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "aisio assumes a little-endian host (NVMe is little-endian)"
#endif

typedef uint16_t aisio_le16;
typedef uint32_t aisio_le32;
typedef uint64_t aisio_le64;

/* Byte-order helpers; identity on the little-endian hosts aisio supports. */
static inline AISIO_HD uint16_t aisio_le16_to_cpu(aisio_le16 v) { return v; }
static inline AISIO_HD uint32_t aisio_le32_to_cpu(aisio_le32 v) { return v; }
static inline AISIO_HD uint64_t aisio_le64_to_cpu(aisio_le64 v) { return v; }
static inline AISIO_HD aisio_le16 aisio_cpu_to_le16(uint16_t v) { return v; }
static inline AISIO_HD aisio_le32 aisio_cpu_to_le32(uint32_t v) { return v; }
static inline AISIO_HD aisio_le64 aisio_cpu_to_le64(uint64_t v) { return v; }

#define AISIO_BITS(v, lo, w) (((v) >> (lo)) & ((1ull << (w)) - 1))

/* ---- Controller registers (BAR0) ---------------------------------------- */

enum {
	AISIO_NVME_REG_CAP = 0x00,
	AISIO_NVME_REG_VS = 0x08,
	AISIO_NVME_REG_INTMS = 0x0c,
	AISIO_NVME_REG_INTMC = 0x10,
	AISIO_NVME_REG_CC = 0x14,
	AISIO_NVME_REG_CSTS = 0x1c,
	AISIO_NVME_REG_NSSR = 0x20,
	AISIO_NVME_REG_AQA = 0x24,
	AISIO_NVME_REG_ASQ = 0x28,
	AISIO_NVME_REG_ACQ = 0x30,
	AISIO_NVME_REG_CMBLOC = 0x38,
	AISIO_NVME_REG_CMBSZ = 0x3c,
	AISIO_NVME_REG_DBS = 0x1000, /* first doorbell: SQ0 tail */
};

/* CAP */
static inline AISIO_HD uint32_t aisio_nvme_cap_mqes(uint64_t cap) { return (uint32_t)AISIO_BITS(cap, 0, 16); }
static inline AISIO_HD uint32_t aisio_nvme_cap_cqr(uint64_t cap) { return (uint32_t)AISIO_BITS(cap, 16, 1); }
static inline AISIO_HD uint32_t aisio_nvme_cap_ams(uint64_t cap) { return (uint32_t)AISIO_BITS(cap, 17, 2); }
/* CAP.TO is in units of 500 ms */
static inline AISIO_HD uint32_t aisio_nvme_cap_to(uint64_t cap) { return (uint32_t)AISIO_BITS(cap, 24, 8); }
static inline AISIO_HD uint32_t aisio_nvme_cap_dstrd(uint64_t cap) { return (uint32_t)AISIO_BITS(cap, 32, 4); }
static inline AISIO_HD uint32_t aisio_nvme_cap_nssrs(uint64_t cap) { return (uint32_t)AISIO_BITS(cap, 36, 1); }
static inline AISIO_HD uint32_t aisio_nvme_cap_css(uint64_t cap) { return (uint32_t)AISIO_BITS(cap, 37, 8); }
static inline AISIO_HD uint32_t aisio_nvme_cap_mpsmin(uint64_t cap) { return (uint32_t)AISIO_BITS(cap, 48, 4); }
static inline AISIO_HD uint32_t aisio_nvme_cap_mpsmax(uint64_t cap) { return (uint32_t)AISIO_BITS(cap, 52, 4); }

#define AISIO_NVME_CAP_MQES(v) ((uint64_t)((v) & 0xffff) << 0)
#define AISIO_NVME_CAP_CQR (1ull << 16)
#define AISIO_NVME_CAP_TO(v) ((uint64_t)((v) & 0xff) << 24)
#define AISIO_NVME_CAP_DSTRD(v) ((uint64_t)((v) & 0xf) << 32)
#define AISIO_NVME_CAP_CSS_NVM (1ull << 37)
#define AISIO_NVME_CAP_MPSMIN(v) ((uint64_t)((v) & 0xf) << 48)
#define AISIO_NVME_CAP_MPSMAX(v) ((uint64_t)((v) & 0xf) << 52)

/* VS */
#define AISIO_NVME_VS(mjr, mnr, ter) (((uint32_t)(mjr) << 16) | ((uint32_t)(mnr) << 8) | (uint32_t)(ter))
static inline AISIO_HD uint32_t aisio_nvme_vs_mjr(uint32_t vs) { return vs >> 16; }
static inline AISIO_HD uint32_t aisio_nvme_vs_mnr(uint32_t vs) { return (vs >> 8) & 0xff; }
static inline AISIO_HD uint32_t aisio_nvme_vs_ter(uint32_t vs) { return vs & 0xff; }

/* CC */
enum {
	AISIO_NVME_CC_EN = 1u << 0,
	AISIO_NVME_CC_CSS_NVM = 0u << 4,
	AISIO_NVME_CC_SHN_NORMAL = 1u << 14,
	AISIO_NVME_CC_SHN_ABRUPT = 2u << 14,
};
#define AISIO_NVME_CC_MPS(shift) ((uint32_t)((shift) - 12) << 7)
#define AISIO_NVME_CC_IOSQES(shift) ((uint32_t)(shift) << 16)
#define AISIO_NVME_CC_IOCQES(shift) ((uint32_t)(shift) << 20)
static inline AISIO_HD uint32_t aisio_nvme_cc_en(uint32_t cc) { return cc & 1; }
static inline AISIO_HD uint32_t aisio_nvme_cc_css(uint32_t cc) { return (cc >> 4) & 7; }
static inline AISIO_HD uint32_t aisio_nvme_cc_mps(uint32_t cc) { return (cc >> 7) & 0xf; }
static inline AISIO_HD uint32_t aisio_nvme_cc_ams(uint32_t cc) { return (cc >> 11) & 7; }
static inline AISIO_HD uint32_t aisio_nvme_cc_shn(uint32_t cc) { return (cc >> 14) & 3; }
static inline AISIO_HD uint32_t aisio_nvme_cc_iosqes(uint32_t cc) { return (cc >> 16) & 0xf; }
static inline AISIO_HD uint32_t aisio_nvme_cc_iocqes(uint32_t cc) { return (cc >> 20) & 0xf; }

/* CSTS */
enum {
	AISIO_NVME_CSTS_RDY = 1u << 0,
	AISIO_NVME_CSTS_CFS = 1u << 1,
	AISIO_NVME_CSTS_SHST_MASK = 3u << 2,
	AISIO_NVME_CSTS_SHST_OCCUR = 1u << 2,
	AISIO_NVME_CSTS_SHST_CMPLT = 2u << 2,
	AISIO_NVME_CSTS_NSSRO = 1u << 4,
	AISIO_NVME_CSTS_PP = 1u << 5,
};

/* AQA: sizes are 0's based */
#define AISIO_NVME_AQA(asqs, acqs) ((uint32_t)(((asqs) - 1) & 0xfff) | ((uint32_t)(((acqs) - 1) & 0xfff) << 16))
static inline AISIO_HD uint32_t aisio_nvme_aqa_asqs(uint32_t aqa) { return (aqa & 0xfff) + 1; }
static inline AISIO_HD uint32_t aisio_nvme_aqa_acqs(uint32_t aqa) { return ((aqa >> 16) & 0xfff) + 1; }

/* Doorbell offset of queue @qid; @cq selects the CQ head doorbell. */
static inline AISIO_HD uint32_t aisio_nvme_db_offset(uint32_t qid, int cq, uint32_t dstrd)
{
	return AISIO_NVME_REG_DBS + ((2 * qid + (cq ? 1 : 0)) * (4u << dstrd));
}

/* ---- Submission and completion queue entries ---------------------------- */

/* SGL descriptor (16 bytes) */
struct aisio_nvme_sgl_desc {
	aisio_le64 addr;
	aisio_le32 length;
	uint8_t rsvd12[3];
	uint8_t type; /* descriptor type << 4 | sub type */
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_sgl_desc) == 16, "SGL descriptor is 16 bytes");

enum {
	AISIO_NVME_SGL_TYPE_DATA_BLOCK = 0x0,
	AISIO_NVME_SGL_TYPE_BIT_BUCKET = 0x1,
	AISIO_NVME_SGL_TYPE_SEGMENT = 0x2,
	AISIO_NVME_SGL_TYPE_LAST_SEGMENT = 0x3,
	AISIO_NVME_SGL_TYPE_KEYED_DATA_BLOCK = 0x4,
};
enum {
	AISIO_NVME_SGL_SUBTYPE_ADDRESS = 0x0,
	AISIO_NVME_SGL_SUBTYPE_OFFSET = 0x1,
};
#define AISIO_NVME_SGL_TYPE(t, st) ((uint8_t)(((t) << 4) | (st)))

/* Submission queue entry (64 bytes) */
struct aisio_nvme_sqe {
	uint8_t opc;
	uint8_t flags; /* FUSE 1:0, PSDT 7:6 */
	aisio_le16 cid;
	aisio_le32 nsid;
	aisio_le32 cdw2;
	aisio_le32 cdw3;
	aisio_le64 mptr;
	union {
		struct {
			aisio_le64 prp1;
			aisio_le64 prp2;
		} prp;
		struct aisio_nvme_sgl_desc sgl1;
	} dptr;
	aisio_le32 cdw10;
	aisio_le32 cdw11;
	aisio_le32 cdw12;
	aisio_le32 cdw13;
	aisio_le32 cdw14;
	aisio_le32 cdw15;
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_sqe) == 64, "SQE is 64 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_sqe, dptr) == 24, "DPTR at byte 24");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_sqe, cdw10) == 40, "CDW10 at byte 40");

enum {
	AISIO_NVME_PSDT_PRP = 0u << 6,
	AISIO_NVME_PSDT_SGL_MPTR_CONTIG = 1u << 6,
	AISIO_NVME_PSDT_SGL_MPTR_SGL = 2u << 6,
	AISIO_NVME_PSDT_MASK = 3u << 6,
};

/* Completion queue entry (16 bytes) */
struct aisio_nvme_cqe {
	aisio_le32 dw0; /* command specific result */
	aisio_le32 dw1;
	aisio_le16 sqhd;
	aisio_le16 sqid;
	uint16_t cid;
	aisio_le16 status; /* P 0, SC 8:1, SCT 11:9, CRD 13:12, M 14, DNR 15 */
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_cqe) == 16, "CQE is 16 bytes");

static inline AISIO_HD uint32_t aisio_nvme_cqe_phase(uint16_t status) { return status & 1; }
static inline AISIO_HD uint32_t aisio_nvme_cqe_sc(uint16_t status) { return (status >> 1) & 0xff; }
static inline AISIO_HD uint32_t aisio_nvme_cqe_sct(uint16_t status) { return (status >> 9) & 0x7; }
static inline AISIO_HD uint32_t aisio_nvme_cqe_dnr(uint16_t status) { return (status >> 15) & 1; }
static inline AISIO_HD uint32_t aisio_nvme_cqe_more(uint16_t status) { return (status >> 14) & 1; }
/* The status as the API reports it: SCT << 8 | SC (0 = success). */
static inline AISIO_HD uint32_t aisio_nvme_cqe_code(uint16_t status) { return (status >> 1) & 0x7ff; }
/* Compose a CQE status field (without phase) from SCT << 8 | SC and DNR. */
static inline AISIO_HD uint16_t aisio_nvme_status_field(uint32_t code, int dnr)
{
	return (uint16_t)(((code & 0x7ff) << 1) | (dnr ? 0x8000u : 0));
}

/* ---- Opcodes ------------------------------------------------------------ */

enum aisio_nvme_admin_opc {
	AISIO_NVME_ADM_DELETE_SQ = 0x00,
	AISIO_NVME_ADM_CREATE_SQ = 0x01,
	AISIO_NVME_ADM_GET_LOG_PAGE = 0x02,
	AISIO_NVME_ADM_DELETE_CQ = 0x04,
	AISIO_NVME_ADM_CREATE_CQ = 0x05,
	AISIO_NVME_ADM_IDENTIFY = 0x06,
	AISIO_NVME_ADM_ABORT = 0x08,
	AISIO_NVME_ADM_SET_FEATURES = 0x09,
	AISIO_NVME_ADM_GET_FEATURES = 0x0a,
	AISIO_NVME_ADM_ASYNC_EVENT = 0x0c,
	AISIO_NVME_ADM_NS_MGMT = 0x0d,
	AISIO_NVME_ADM_FW_COMMIT = 0x10,
	AISIO_NVME_ADM_FW_DOWNLOAD = 0x11,
	AISIO_NVME_ADM_NS_ATTACH = 0x15,
	AISIO_NVME_ADM_KEEP_ALIVE = 0x18,
	AISIO_NVME_ADM_DIRECTIVE_SEND = 0x19,
	AISIO_NVME_ADM_DIRECTIVE_RECV = 0x1a,
	AISIO_NVME_ADM_VIRT_MGMT = 0x1c,
	AISIO_NVME_ADM_DBBUF_CONFIG = 0x7c,
	AISIO_NVME_ADM_FORMAT_NVM = 0x80,
	AISIO_NVME_ADM_SANITIZE = 0x84,
};

enum aisio_nvme_nvm_opc {
	AISIO_NVME_NVM_FLUSH = 0x00,
	AISIO_NVME_NVM_WRITE = 0x01,
	AISIO_NVME_NVM_READ = 0x02,
	AISIO_NVME_NVM_WRITE_UNCOR = 0x04,
	AISIO_NVME_NVM_COMPARE = 0x05,
	AISIO_NVME_NVM_WRITE_ZEROES = 0x08,
	AISIO_NVME_NVM_DSM = 0x09,
	AISIO_NVME_NVM_VERIFY = 0x0c,
	AISIO_NVME_NVM_COPY = 0x19,
};

/* ---- Status codes: the API's positive status is SCT << 8 | SC ----------- */

enum aisio_nvme_sct {
	AISIO_NVME_SCT_GENERIC = 0x0,
	AISIO_NVME_SCT_CMD_SPECIFIC = 0x1,
	AISIO_NVME_SCT_MEDIA = 0x2,
	AISIO_NVME_SCT_PATH = 0x3,
	AISIO_NVME_SCT_VENDOR = 0x7,
};

#define AISIO_NVME_SC(sct, sc) (((sct) << 8) | (sc))

enum aisio_nvme_status {
	AISIO_NVME_SC_SUCCESS = 0x000,
	AISIO_NVME_SC_INVALID_OPCODE = 0x001,
	AISIO_NVME_SC_INVALID_FIELD = 0x002,
	AISIO_NVME_SC_CID_CONFLICT = 0x003,
	AISIO_NVME_SC_DATA_XFER_ERROR = 0x004,
	AISIO_NVME_SC_POWER_LOSS = 0x005,
	AISIO_NVME_SC_INTERNAL = 0x006,
	AISIO_NVME_SC_ABORT_REQ = 0x007,
	AISIO_NVME_SC_ABORT_SQ_DELETED = 0x008,
	AISIO_NVME_SC_FUSED_FAIL = 0x009,
	AISIO_NVME_SC_FUSED_MISSING = 0x00a,
	AISIO_NVME_SC_INVALID_NS = 0x00b,
	AISIO_NVME_SC_CMD_SEQ_ERROR = 0x00c,
	AISIO_NVME_SC_SGL_INVALID_LAST = 0x00d,
	AISIO_NVME_SC_SGL_INVALID_COUNT = 0x00e,
	AISIO_NVME_SC_SGL_INVALID_DATA = 0x00f,
	AISIO_NVME_SC_SGL_INVALID_METADATA = 0x010,
	AISIO_NVME_SC_SGL_INVALID_TYPE = 0x011,
	AISIO_NVME_SC_CMB_INVALID_USE = 0x012,
	AISIO_NVME_SC_PRP_INVALID_OFFSET = 0x013,
	AISIO_NVME_SC_ATOMIC_WU_EXCEEDED = 0x014,
	AISIO_NVME_SC_OP_DENIED = 0x015,
	AISIO_NVME_SC_SGL_INVALID_OFFSET = 0x016,
	AISIO_NVME_SC_HOST_ID_INCONSIST = 0x018,
	AISIO_NVME_SC_KA_EXPIRED = 0x019,
	AISIO_NVME_SC_KA_INVALID = 0x01a,
	AISIO_NVME_SC_ABORT_PREEMPT = 0x01b,
	AISIO_NVME_SC_SANITIZE_FAILED = 0x01c,
	AISIO_NVME_SC_SANITIZE_IN_PROGRESS = 0x01d,
	AISIO_NVME_SC_SGL_INVALID_GRANULARITY = 0x01e,
	AISIO_NVME_SC_CMD_NOT_SUP_CMB_QUEUE = 0x01f,
	AISIO_NVME_SC_NS_WRITE_PROTECTED = 0x020,
	AISIO_NVME_SC_CMD_INTERRUPTED = 0x021,
	AISIO_NVME_SC_TRANSIENT_TRANSPORT = 0x022,
	AISIO_NVME_SC_LBA_RANGE = 0x080,
	AISIO_NVME_SC_CAP_EXCEEDED = 0x081,
	AISIO_NVME_SC_NS_NOT_READY = 0x082,
	AISIO_NVME_SC_RESERVATION_CONFLICT = 0x083,
	AISIO_NVME_SC_FORMAT_IN_PROGRESS = 0x084,

	AISIO_NVME_SC_CQ_INVALID = 0x100,
	AISIO_NVME_SC_QID_INVALID = 0x101,
	AISIO_NVME_SC_QUEUE_SIZE = 0x102,
	AISIO_NVME_SC_ABORT_LIMIT = 0x103,
	AISIO_NVME_SC_ASYNC_LIMIT = 0x105,
	AISIO_NVME_SC_FIRMWARE_SLOT = 0x106,
	AISIO_NVME_SC_FIRMWARE_IMAGE = 0x107,
	AISIO_NVME_SC_INVALID_VECTOR = 0x108,
	AISIO_NVME_SC_INVALID_LOG_PAGE = 0x109,
	AISIO_NVME_SC_INVALID_FORMAT = 0x10a,
	AISIO_NVME_SC_FW_NEEDS_CONV_RESET = 0x10b,
	AISIO_NVME_SC_QUEUE_DELETION = 0x10c,
	AISIO_NVME_SC_FEATURE_NOT_SAVEABLE = 0x10d,
	AISIO_NVME_SC_FEATURE_NOT_CHANGEABLE = 0x10e,
	AISIO_NVME_SC_FEATURE_NOT_PER_NS = 0x10f,
	AISIO_NVME_SC_FW_NEEDS_SUBSYS_RESET = 0x110,
	AISIO_NVME_SC_FW_NEEDS_RESET = 0x111,
	AISIO_NVME_SC_FW_NEEDS_MAX_TIME = 0x112,
	AISIO_NVME_SC_FW_ACTIVATE_PROHIBITED = 0x113,
	AISIO_NVME_SC_OVERLAPPING_RANGE = 0x114,
	AISIO_NVME_SC_NS_INSUFFICIENT_CAP = 0x115,
	AISIO_NVME_SC_NS_ID_UNAVAILABLE = 0x116,
	AISIO_NVME_SC_NS_ALREADY_ATTACHED = 0x118,
	AISIO_NVME_SC_NS_IS_PRIVATE = 0x119,
	AISIO_NVME_SC_NS_NOT_ATTACHED = 0x11a,
	AISIO_NVME_SC_THIN_PROV_NOT_SUPP = 0x11b,
	AISIO_NVME_SC_CTRL_LIST_INVALID = 0x11c,
	AISIO_NVME_SC_SELF_TEST_IN_PROGRESS = 0x11d,
	AISIO_NVME_SC_BP_WRITE_PROHIBITED = 0x11e,
	AISIO_NVME_SC_CTRL_ID_INVALID = 0x11f,
	AISIO_NVME_SC_SEC_CTRL_STATE_INVALID = 0x120,
	AISIO_NVME_SC_CTRL_RES_NUM_INVALID = 0x121,
	AISIO_NVME_SC_RES_ID_INVALID = 0x122,
	AISIO_NVME_SC_PMR_SAN_PROHIBITED = 0x123,
	AISIO_NVME_SC_ANA_GROUP_ID_INVALID = 0x124,
	AISIO_NVME_SC_ANA_ATTACH_FAILED = 0x125,
	AISIO_NVME_SC_CONFLICTING_ATTRS = 0x180,
	AISIO_NVME_SC_INVALID_PI = 0x181,
	AISIO_NVME_SC_READ_ONLY = 0x182,

	AISIO_NVME_SC_WRITE_FAULT = 0x280,
	AISIO_NVME_SC_READ_ERROR = 0x281,
	AISIO_NVME_SC_GUARD_CHECK = 0x282,
	AISIO_NVME_SC_APPTAG_CHECK = 0x283,
	AISIO_NVME_SC_REFTAG_CHECK = 0x284,
	AISIO_NVME_SC_COMPARE_FAILED = 0x285,
	AISIO_NVME_SC_ACCESS_DENIED = 0x286,
	AISIO_NVME_SC_UNWRITTEN_BLOCK = 0x287,

	AISIO_NVME_SC_INTERNAL_PATH_ERROR = 0x300,
	AISIO_NVME_SC_ANA_PERSISTENT_LOSS = 0x301,
	AISIO_NVME_SC_ANA_INACCESSIBLE = 0x302,
	AISIO_NVME_SC_ANA_TRANSITION = 0x303,
	AISIO_NVME_SC_CTRL_PATH_ERROR = 0x360,
	AISIO_NVME_SC_HOST_PATH_ERROR = 0x370,
	AISIO_NVME_SC_HOST_ABORTED_CMD = 0x371,
};

/* ---- Command fields ----------------------------------------------------- */

/* Identify CNS values */
enum {
	AISIO_NVME_CNS_NS = 0x00,
	AISIO_NVME_CNS_CTRL = 0x01,
	AISIO_NVME_CNS_NS_ACTIVE_LIST = 0x02,
	AISIO_NVME_CNS_NS_DESC_LIST = 0x03,
	AISIO_NVME_CNS_NS_ALLOC_LIST = 0x10,   /* allocated namespace IDs, attached or not */
	AISIO_NVME_CNS_NS_ALLOC = 0x11,        /* Identify Namespace of an allocated NSID */
	AISIO_NVME_CNS_NS_CTRL_LIST = 0x12,    /* controllers namespace NSID is attached to */
	AISIO_NVME_CNS_CTRL_LIST = 0x13,
	AISIO_NVME_CNS_PRIMARY_CTRL_CAP = 0x14,
	AISIO_NVME_CNS_SECONDARY_CTRL_LIST = 0x15,
};

/* Feature identifiers */
enum {
	AISIO_NVME_FEAT_ARBITRATION = 0x01,
	AISIO_NVME_FEAT_POWER_MGMT = 0x02,
	AISIO_NVME_FEAT_LBA_RANGE = 0x03,
	AISIO_NVME_FEAT_TEMP_THRESH = 0x04,
	AISIO_NVME_FEAT_ERR_RECOVERY = 0x05,
	AISIO_NVME_FEAT_VOLATILE_WC = 0x06,
	AISIO_NVME_FEAT_NUM_QUEUES = 0x07,
	AISIO_NVME_FEAT_IRQ_COALESCE = 0x08,
	AISIO_NVME_FEAT_IRQ_CONFIG = 0x09,
	AISIO_NVME_FEAT_WRITE_ATOMIC = 0x0a,
	AISIO_NVME_FEAT_ASYNC_EVENT = 0x0b,
	AISIO_NVME_FEAT_TIMESTAMP = 0x0e,
	AISIO_NVME_FEAT_KATO = 0x0f,
};

/* Get/Set Features select (CDW10 10:8 of Get Features) */
enum {
	AISIO_NVME_FEAT_SEL_CURRENT = 0,
	AISIO_NVME_FEAT_SEL_DEFAULT = 1,
	AISIO_NVME_FEAT_SEL_SAVED = 2,
	AISIO_NVME_FEAT_SEL_SUPPORTED = 3,
};

/* Number of Queues feature value (dw11 and completion dw0): 0's based counts */
#define AISIO_NVME_FEAT_NUM_QUEUES_VAL(nsq, ncq) \
	((uint32_t)(((nsq) - 1) & 0xffff) | ((uint32_t)(((ncq) - 1) & 0xffff) << 16))
static inline AISIO_HD uint32_t aisio_nvme_feat_nsq(uint32_t v) { return (v & 0xffff) + 1; }
static inline AISIO_HD uint32_t aisio_nvme_feat_ncq(uint32_t v) { return (v >> 16) + 1; }

/* Log page identifiers */
enum {
	AISIO_NVME_LOG_ERROR = 0x01,
	AISIO_NVME_LOG_SMART = 0x02,
	AISIO_NVME_LOG_FW_SLOT = 0x03,
	AISIO_NVME_LOG_CHANGED_NS = 0x04,
	AISIO_NVME_LOG_CMD_EFFECTS = 0x05,
};

/* Create I/O queue flags (CDW11) */
enum {
	AISIO_NVME_QUEUE_PHYS_CONTIG = 1u << 0,
	AISIO_NVME_CQ_IRQ_ENABLED = 1u << 1,
};

/* Read/Write CDW12 */
enum {
	AISIO_NVME_RW_FUA = 1u << 30,
	AISIO_NVME_RW_LR = 1u << 31,
	AISIO_NVME_WZ_DEAC = 1u << 25,
};

/* Dataset Management: CDW11 attributes and the 16-byte range */
enum {
	AISIO_NVME_DSM_IDR = 1u << 0,
	AISIO_NVME_DSM_IDW = 1u << 1,
	AISIO_NVME_DSM_AD = 1u << 2,
};

struct aisio_nvme_dsm_range {
	aisio_le32 cattr;
	aisio_le32 nlb;
	aisio_le64 slba;
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_dsm_range) == 16, "DSM range is 16 bytes");
#define AISIO_NVME_DSM_MAX_RANGES 256

/* ---- Identify data structures ------------------------------------------- */

struct aisio_nvme_power_state {
	aisio_le16 mp;
	uint8_t rsvd2;
	uint8_t flags;
	aisio_le32 enlat;
	aisio_le32 exlat;
	uint8_t rrt;
	uint8_t rrl;
	uint8_t rwt;
	uint8_t rwl;
	aisio_le16 idlp;
	uint8_t ips;
	uint8_t rsvd19;
	aisio_le16 actp;
	uint8_t apws;
	uint8_t rsvd23[9];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_power_state) == 32, "power state descriptor is 32 bytes");

/* Identify Controller (CNS 01h), 4096 bytes */
struct aisio_nvme_id_ctrl {
	aisio_le16 vid;
	aisio_le16 ssvid;
	char sn[20];
	char mn[40];
	char fr[8];
	uint8_t rab;
	uint8_t ieee[3];
	uint8_t cmic;
	uint8_t mdts; /* 2^mdts units of CAP.MPSMIN; 0 = no limit */
	aisio_le16 cntlid;
	aisio_le32 ver;
	aisio_le32 rtd3r;
	aisio_le32 rtd3e;
	aisio_le32 oaes;
	aisio_le32 ctratt;
	aisio_le16 rrls;
	uint8_t rsvd102[9];
	uint8_t cntrltype;
	uint8_t fguid[16];
	aisio_le16 crdt1;
	aisio_le16 crdt2;
	aisio_le16 crdt3;
	uint8_t rsvd134[119];
	uint8_t nvmsr;
	uint8_t vwci;
	uint8_t mec;
	aisio_le16 oacs;
	uint8_t acl;
	uint8_t aerl;
	uint8_t frmw;
	uint8_t lpa;
	uint8_t elpe;
	uint8_t npss;
	uint8_t avscc;
	uint8_t apsta;
	aisio_le16 wctemp;
	aisio_le16 cctemp;
	aisio_le16 mtfa;
	aisio_le32 hmpre;
	aisio_le32 hmmin;
	uint8_t tnvmcap[16];
	uint8_t unvmcap[16];
	aisio_le32 rpmbs;
	aisio_le16 edstt;
	uint8_t dsto;
	uint8_t fwug;
	aisio_le16 kas;
	aisio_le16 hctma;
	aisio_le16 mntmt;
	aisio_le16 mxtmt;
	aisio_le32 sanicap;
	aisio_le32 hmminds;
	aisio_le16 hmmaxd;
	aisio_le16 nsetidmax;
	aisio_le16 endgidmax;
	uint8_t anatt;
	uint8_t anacap;
	aisio_le32 anagrpmax;
	aisio_le32 nanagrpid;
	aisio_le32 pels;
	aisio_le16 domainid;
	uint8_t rsvd358[10];
	uint8_t megcap[16];
	uint8_t rsvd384[128];
	uint8_t sqes; /* required 3:0, maximum 7:4, log2 of entry size */
	uint8_t cqes;
	aisio_le16 maxcmd;
	aisio_le32 nn;
	aisio_le16 oncs;
	aisio_le16 fuses;
	uint8_t fna;
	uint8_t vwc;
	aisio_le16 awun;
	aisio_le16 awupf;
	uint8_t icsvscc;
	uint8_t nwpc;
	aisio_le16 acwu;
	aisio_le16 ocfs;
	aisio_le32 sgls;
	aisio_le32 mnan;
	uint8_t maxdna[16];
	aisio_le32 maxcna;
	uint8_t rsvd564[204];
	char subnqn[256];
	uint8_t rsvd1024[768];
	aisio_le32 ioccsz;
	aisio_le32 iorcsz;
	aisio_le16 icdoff;
	uint8_t fcatt;
	uint8_t msdbd;
	aisio_le16 ofcs;
	uint8_t rsvd1806[242];
	struct aisio_nvme_power_state psd[32];
	uint8_t vs[1024];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_id_ctrl) == 4096, "Identify Controller is 4096 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ctrl, mdts) == 77, "MDTS at byte 77");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ctrl, ver) == 80, "VER at byte 80");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ctrl, oacs) == 256, "OACS at byte 256");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ctrl, tnvmcap) == 280, "TNVMCAP at byte 280");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ctrl, sqes) == 512, "SQES at byte 512");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ctrl, nn) == 516, "NN at byte 516");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ctrl, sgls) == 536, "SGLS at byte 536");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ctrl, subnqn) == 768, "SUBNQN at byte 768");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ctrl, psd) == 2048, "PSD0 at byte 2048");

/* ONCS bits */
enum {
	AISIO_NVME_ONCS_COMPARE = 1u << 0,
	AISIO_NVME_ONCS_WRITE_UNCOR = 1u << 1,
	AISIO_NVME_ONCS_DSM = 1u << 2,
	AISIO_NVME_ONCS_WRITE_ZEROES = 1u << 3,
	AISIO_NVME_ONCS_FEAT_SAVE = 1u << 4,
	AISIO_NVME_ONCS_RESERVATIONS = 1u << 5,
	AISIO_NVME_ONCS_TIMESTAMP = 1u << 6,
	AISIO_NVME_ONCS_VERIFY = 1u << 7,
	AISIO_NVME_ONCS_COPY = 1u << 8,
};

/* OACS bits */
enum {
	AISIO_NVME_OACS_SECURITY = 1u << 0,
	AISIO_NVME_OACS_FORMAT = 1u << 1,
	AISIO_NVME_OACS_FW = 1u << 2,
	AISIO_NVME_OACS_NS_MGMT = 1u << 3,
	AISIO_NVME_OACS_SELF_TEST = 1u << 4,
	AISIO_NVME_OACS_DIRECTIVES = 1u << 5,
	AISIO_NVME_OACS_VIRT_MGMT = 1u << 7,
	AISIO_NVME_OACS_DBBUF = 1u << 8,
};

/* SGLS support field: bits 1:0 */
static inline AISIO_HD uint32_t aisio_nvme_sgls_supported(uint32_t sgls) { return sgls & 3; }

/* LBA format descriptor */
struct aisio_nvme_lbaf {
	aisio_le16 ms;
	uint8_t lbads; /* log2 of the LBA data size */
	uint8_t rp;
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_lbaf) == 4, "LBA format is 4 bytes");

/* Identify Namespace (CNS 00h), 4096 bytes */
struct aisio_nvme_id_ns {
	aisio_le64 nsze;
	aisio_le64 ncap;
	aisio_le64 nuse;
	uint8_t nsfeat;
	uint8_t nlbaf; /* 0's based */
	uint8_t flbas; /* format index 3:0 (6:5 high bits) */
	uint8_t mc;
	uint8_t dpc;
	uint8_t dps;
	uint8_t nmic;
	uint8_t rescap;
	uint8_t fpi;
	uint8_t dlfeat;
	aisio_le16 nawun;
	aisio_le16 nawupf;
	aisio_le16 nacwu;
	aisio_le16 nabsn;
	aisio_le16 nabo;
	aisio_le16 nabspf;
	aisio_le16 noiob;
	uint8_t nvmcap[16];
	aisio_le16 npwg;
	aisio_le16 npwa;
	aisio_le16 npdg;
	aisio_le16 npda;
	aisio_le16 nows;
	aisio_le16 mssrl;
	aisio_le32 mcl;
	uint8_t msrc;
	uint8_t rsvd81[11];
	aisio_le32 anagrpid;
	uint8_t rsvd96[3];
	uint8_t nsattr;
	aisio_le16 nvmsetid;
	aisio_le16 endgid;
	uint8_t nguid[16];
	uint8_t eui64[8];
	struct aisio_nvme_lbaf lbaf[64];
	uint8_t vs[3712];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_id_ns) == 4096, "Identify Namespace is 4096 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ns, nlbaf) == 25, "NLBAF at byte 25");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ns, nvmcap) == 48, "NVMCAP at byte 48");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ns, anagrpid) == 92, "ANAGRPID at byte 92");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_id_ns, lbaf) == 128, "LBAF0 at byte 128");

static inline AISIO_HD uint32_t aisio_nvme_id_ns_flbas_index(const struct aisio_nvme_id_ns *ns)
{
	return (ns->flbas & 0xf) | (((uint32_t)ns->flbas >> 5 & 3) << 4);
}

/* Active namespace ID list (CNS 02h), 4096 bytes */
struct aisio_nvme_ns_list {
	aisio_le32 nsid[1024];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_ns_list) == 4096, "namespace list is 4096 bytes");

/* Primary Controller Capabilities (CNS 14h), 4096 bytes. VQ = Virtual Queue
 * (one SQ or CQ) resources, VI = Virtual Interrupt (MSI-X vector) resources. */
enum {
	AISIO_NVME_CRT_VQ = 1u << 0, /* CRT: VQ resources supported */
	AISIO_NVME_CRT_VI = 1u << 1, /* CRT: VI resources supported */
};
struct aisio_nvme_pri_ctrl_cap {
	aisio_le16 cntlid;
	aisio_le16 portid;
	uint8_t crt;
	uint8_t rsvd5[27];
	aisio_le32 vqfrt;  /* VQ flexible resources, total */
	aisio_le32 vqrfa;  /* VQ flexible resources assigned to secondaries */
	aisio_le16 vqrfap; /* VQ flexible resources allocated to the primary */
	aisio_le16 vqprt;  /* VQ private resources of the primary */
	aisio_le16 vqfrsm; /* VQ flexible resources per secondary, at most */
	aisio_le16 vqgran; /* VQ preferred granularity */
	uint8_t rsvd48[16];
	aisio_le32 vifrt;
	aisio_le32 virfa;
	aisio_le16 virfap;
	aisio_le16 viprt;
	aisio_le16 vifrsm;
	aisio_le16 vigran;
	uint8_t rsvd80[4016];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_pri_ctrl_cap) == 4096,
		    "Primary Controller Capabilities is 4096 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_pri_ctrl_cap, crt) == 4, "CRT at byte 4");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_pri_ctrl_cap, vqfrt) == 32, "VQFRT at byte 32");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_pri_ctrl_cap, vqgran) == 46, "VQGRAN at byte 46");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_pri_ctrl_cap, vifrt) == 64, "VIFRT at byte 64");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_pri_ctrl_cap, vigran) == 78, "VIGRAN at byte 78");

/* Secondary Controller Entry, 32 bytes */
enum { AISIO_NVME_SCS_ONLINE = 1u << 0 };
struct aisio_nvme_sec_ctrl_entry {
	aisio_le16 scid; /* secondary controller identifier */
	aisio_le16 pcid; /* its primary controller */
	uint8_t scs;     /* state: AISIO_NVME_SCS_ONLINE */
	uint8_t rsvd5[3];
	aisio_le16 vfn;  /* virtual function number (1-based; 0: not a VF) */
	aisio_le16 nvq;  /* VQ flexible resources assigned */
	aisio_le16 nvi;  /* VI flexible resources assigned */
	uint8_t rsvd14[18];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_sec_ctrl_entry) == 32, "secondary controller entry is 32 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_sec_ctrl_entry, vfn) == 8, "VFN at byte 8");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_sec_ctrl_entry, nvi) == 12, "NVI at byte 12");

/* Secondary Controller List (CNS 15h; CDW10.CNTID = lowest SCID listed), 4096 bytes */
#define AISIO_NVME_SEC_CTRL_LIST_MAX 127
struct aisio_nvme_sec_ctrl_list {
	uint8_t numid; /* entries that follow */
	uint8_t rsvd1[31];
	struct aisio_nvme_sec_ctrl_entry sc[AISIO_NVME_SEC_CTRL_LIST_MAX];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_sec_ctrl_list) == 4096, "Secondary Controller List is 4096 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_sec_ctrl_list, sc) == 32, "first entry at byte 32");

/* Virtualization Management (admin 1Ch): CDW10.ACT, CDW10.RT */
enum {
	AISIO_NVME_VIRT_ACT_PRI_FLEX_ALLOC = 0x1, /* Primary Controller Flexible Allocation */
	AISIO_NVME_VIRT_ACT_SEC_OFFLINE = 0x7,    /* Secondary Controller Offline */
	AISIO_NVME_VIRT_ACT_SEC_ASSIGN = 0x8,     /* Secondary Controller Assign */
	AISIO_NVME_VIRT_ACT_SEC_ONLINE = 0x9,     /* Secondary Controller Online */
};
enum {
	AISIO_NVME_VIRT_RT_VQ = 0x0,
	AISIO_NVME_VIRT_RT_VI = 0x1,
};

/* Controller List (Identify CNS 12h/13h, Namespace Attachment data), 4096 bytes */
#define AISIO_NVME_CTRL_LIST_MAX 2047
struct aisio_nvme_ctrl_list {
	aisio_le16 num; /* identifiers that follow */
	aisio_le16 id[AISIO_NVME_CTRL_LIST_MAX];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_ctrl_list) == 4096, "Controller List is 4096 bytes");

/* Namespace Attachment (admin 15h): CDW10.SEL */
enum {
	AISIO_NVME_NS_ATTACH_SEL_ATTACH = 0x0,
	AISIO_NVME_NS_ATTACH_SEL_DETACH = 0x1,
};

/* Identify Namespace NMIC bits */
enum { AISIO_NVME_NMIC_SHARED = 1u << 0 }; /* may be attached to two or more controllers */

/* ---- Log pages ---------------------------------------------------------- */

/* Error Information log entry (LID 01h), 64 bytes */
struct aisio_nvme_error_log {
	aisio_le64 error_count;
	aisio_le16 sqid;
	aisio_le16 cid;
	aisio_le16 status_field;
	aisio_le16 parm_error_location;
	aisio_le64 lba;
	aisio_le32 nsid;
	uint8_t vs;
	uint8_t trtype;
	uint8_t rsvd30[2];
	aisio_le64 cs;
	aisio_le16 trtype_spec_info;
	uint8_t rsvd42[22];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_error_log) == 64, "error log entry is 64 bytes");

/* SMART / Health Information log (LID 02h), 512 bytes */
struct aisio_nvme_smart_log {
	uint8_t critical_warning;
	uint8_t temperature[2]; /* Kelvin, little-endian, unaligned */
	uint8_t avail_spare;
	uint8_t spare_thresh;
	uint8_t percent_used;
	uint8_t endu_grp_crit_warn;
	uint8_t rsvd7[25];
	uint8_t data_units_read[16];
	uint8_t data_units_written[16];
	uint8_t host_reads[16];
	uint8_t host_writes[16];
	uint8_t ctrl_busy_time[16];
	uint8_t power_cycles[16];
	uint8_t power_on_hours[16];
	uint8_t unsafe_shutdowns[16];
	uint8_t media_errors[16];
	uint8_t num_err_log_entries[16];
	aisio_le32 warning_temp_time;
	aisio_le32 critical_comp_time;
	aisio_le16 temp_sensor[8];
	aisio_le32 thm_temp1_trans_count;
	aisio_le32 thm_temp2_trans_count;
	aisio_le32 thm_temp1_total_time;
	aisio_le32 thm_temp2_total_time;
	uint8_t rsvd232[280];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_smart_log) == 512, "SMART log is 512 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_smart_log, data_units_read) == 32, "data units read at byte 32");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_smart_log, warning_temp_time) == 192, "WCTT at byte 192");

/* 128-bit little-endian counters in the SMART log, saturated to 64 bits. */
static inline uint64_t aisio_nvme_u128_lo(const uint8_t v[16])
{
	uint64_t r = 0;
	for (int i = 7; i >= 0; i--)
		r = (r << 8) | v[i];
	for (int i = 8; i < 16; i++)
		if (v[i])
			return UINT64_MAX;
	return r;
}

static inline void aisio_nvme_u128_set(uint8_t v[16], uint64_t x)
{
	for (int i = 0; i < 16; i++) {
		v[i] = i < 8 ? (uint8_t)(x >> (8 * i)) : 0;
	}
}

/* ---- NVMe over Fabrics (Base Specification 2.0, section 6) --------------- */

/* Fabrics commands share admin opcode 7Fh; the type is in byte 4 (FCTYPE). */
#define AISIO_NVME_FABRICS_OPC 0x7f

enum aisio_nvme_fctype {
	AISIO_NVME_FCTYPE_PROP_SET = 0x00,
	AISIO_NVME_FCTYPE_CONNECT = 0x01,
	AISIO_NVME_FCTYPE_PROP_GET = 0x04,
	AISIO_NVME_FCTYPE_AUTH_SEND = 0x05,
	AISIO_NVME_FCTYPE_AUTH_RECV = 0x06,
	AISIO_NVME_FCTYPE_DISCONNECT = 0x08,
};

/* Connect command (64 bytes, in place of an SQE) */
struct aisio_nvmf_connect_cmd {
	uint8_t opc;    /* 7Fh */
	uint8_t flags;  /* PSDT 7:6 */
	aisio_le16 cid;
	uint8_t fctype; /* 01h */
	uint8_t rsvd5[19];
	struct aisio_nvme_sgl_desc sgl1;
	aisio_le16 recfmt; /* record format, 0 */
	aisio_le16 qid;
	aisio_le16 sqsize; /* 0's based */
	uint8_t cattr;
	uint8_t rsvd47;
	aisio_le32 kato; /* keep alive timeout in ms, admin queue only */
	uint8_t rsvd52[12];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvmf_connect_cmd) == 64, "Connect is 64 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvmf_connect_cmd, fctype) == 4, "FCTYPE at byte 4");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvmf_connect_cmd, sgl1) == 24, "SGL1 at byte 24");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvmf_connect_cmd, qid) == 42, "QID at byte 42");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvmf_connect_cmd, kato) == 48, "KATO at byte 48");

/* Connect data (1024 bytes), sent in the command's capsule */
struct aisio_nvmf_connect_data {
	uint8_t hostid[16];
	aisio_le16 cntlid; /* FFFFh: any controller (dynamic model) */
	uint8_t rsvd18[238];
	char subnqn[256];
	char hostnqn[256];
	uint8_t rsvd768[256];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvmf_connect_data) == 1024, "Connect data is 1024 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvmf_connect_data, subnqn) == 256, "SUBNQN at byte 256");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvmf_connect_data, hostnqn) == 512, "HOSTNQN at byte 512");

/* Connect response: DW0 15:0 is the controller ID on success. */
static inline AISIO_HD uint16_t aisio_nvmf_connect_cntlid(uint32_t dw0) { return (uint16_t)dw0; }
#define AISIO_NVMF_CNTLID_DYNAMIC 0xffff
#define AISIO_NVMF_NQN_SIZE 256

/* Connect's command specific status codes (SCT 1; the numbers other commands use too) */
enum {
	AISIO_NVMF_SC_CONNECT_FORMAT = 0x180,
	AISIO_NVMF_SC_CONNECT_CTRL_BUSY = 0x181,
	AISIO_NVMF_SC_CONNECT_INVALID_PARAM = 0x182,
	AISIO_NVMF_SC_CONNECT_RESTART_DISC = 0x183,
	AISIO_NVMF_SC_CONNECT_INVALID_HOST = 0x184,
};

/* Property Get / Property Set (64 bytes, in place of an SQE) */
struct aisio_nvmf_property_cmd {
	uint8_t opc;
	uint8_t flags;
	aisio_le16 cid;
	uint8_t fctype; /* 00h set, 04h get */
	uint8_t rsvd5[35];
	uint8_t attrib; /* 2:0 size: 0 = 4 bytes, 1 = 8 bytes */
	uint8_t rsvd41[3];
	aisio_le32 ofst; /* register offset: AISIO_NVME_REG_* */
	aisio_le64 value; /* Property Set only */
	uint8_t rsvd56[8];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvmf_property_cmd) == 64, "Property Get/Set is 64 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvmf_property_cmd, attrib) == 40, "ATTRIB at byte 40");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvmf_property_cmd, ofst) == 44, "OFST at byte 44");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvmf_property_cmd, value) == 48, "VALUE at byte 48");

enum {
	AISIO_NVMF_PROP_SIZE_4 = 0,
	AISIO_NVMF_PROP_SIZE_8 = 1,
};

/* SGL descriptor types the fabrics transports use (sub type in 3:0) */
enum {
	AISIO_NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK = 0x5,
	AISIO_NVME_SGL_SUBTYPE_TRANSPORT = 0xa, /* transport specific */
};

/* ---- Asynchronous event completion dw0 ---------------------------------- */
enum {
	AISIO_NVME_AER_TYPE_ERROR = 0,
	AISIO_NVME_AER_TYPE_SMART = 1,
	AISIO_NVME_AER_TYPE_NOTICE = 2,
};

#endif /* AISIO_NVME_SPEC_H */
