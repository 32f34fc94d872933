/* SPDX-License-Identifier: MIT */
/* Text for NVMe status codes, command statuses and opcodes. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <aisio/aisio.h>

struct code_name {
	uint16_t code;
	const char *text;
};

/* Sorted by code (SCT << 8 | SC) for binary search. */
static const struct code_name nvme_status[] = {
	{ AISIO_NVME_SC_SUCCESS, "Successful Completion" },
	{ AISIO_NVME_SC_INVALID_OPCODE, "Invalid Command Opcode" },
	{ AISIO_NVME_SC_INVALID_FIELD, "Invalid Field in Command" },
	{ AISIO_NVME_SC_CID_CONFLICT, "Command ID Conflict" },
	{ AISIO_NVME_SC_DATA_XFER_ERROR, "Data Transfer Error" },
	{ AISIO_NVME_SC_POWER_LOSS, "Commands Aborted due to Power Loss Notification" },
	{ AISIO_NVME_SC_INTERNAL, "Internal Error" },
	{ AISIO_NVME_SC_ABORT_REQ, "Command Abort Requested" },
	{ AISIO_NVME_SC_ABORT_SQ_DELETED, "Command Aborted due to SQ Deletion" },
	{ AISIO_NVME_SC_FUSED_FAIL, "Command Aborted due to Failed Fused Command" },
	{ AISIO_NVME_SC_FUSED_MISSING, "Command Aborted due to Missing Fused Command" },
	{ AISIO_NVME_SC_INVALID_NS, "Invalid Namespace or Format" },
	{ AISIO_NVME_SC_CMD_SEQ_ERROR, "Command Sequence Error" },
	{ AISIO_NVME_SC_SGL_INVALID_LAST, "Invalid SGL Segment Descriptor" },
	{ AISIO_NVME_SC_SGL_INVALID_COUNT, "Invalid Number of SGL Descriptors" },
	{ AISIO_NVME_SC_SGL_INVALID_DATA, "Data SGL Length Invalid" },
	{ AISIO_NVME_SC_SGL_INVALID_METADATA, "Metadata SGL Length Invalid" },
	{ AISIO_NVME_SC_SGL_INVALID_TYPE, "SGL Descriptor Type Invalid" },
	{ AISIO_NVME_SC_CMB_INVALID_USE, "Invalid Use of Controller Memory Buffer" },
	{ AISIO_NVME_SC_PRP_INVALID_OFFSET, "PRP Offset Invalid" },
	{ AISIO_NVME_SC_ATOMIC_WU_EXCEEDED, "Atomic Write Unit Exceeded" },
	{ AISIO_NVME_SC_OP_DENIED, "Operation Denied" },
	{ AISIO_NVME_SC_SGL_INVALID_OFFSET, "SGL Offset Invalid" },
	{ AISIO_NVME_SC_HOST_ID_INCONSIST, "Host Identifier Inconsistent Format" },
	{ AISIO_NVME_SC_KA_EXPIRED, "Keep Alive Timer Expired" },
	{ AISIO_NVME_SC_KA_INVALID, "Keep Alive Timeout Invalid" },
	{ AISIO_NVME_SC_ABORT_PREEMPT, "Command Aborted due to Preempt and Abort" },
	{ AISIO_NVME_SC_SANITIZE_FAILED, "Sanitize Failed" },
	{ AISIO_NVME_SC_SANITIZE_IN_PROGRESS, "Sanitize In Progress" },
	{ AISIO_NVME_SC_SGL_INVALID_GRANULARITY, "SGL Data Block Granularity Invalid" },
	{ AISIO_NVME_SC_CMD_NOT_SUP_CMB_QUEUE, "Command Not Supported for Queue in CMB" },
	{ AISIO_NVME_SC_NS_WRITE_PROTECTED, "Namespace is Write Protected" },
	{ AISIO_NVME_SC_CMD_INTERRUPTED, "Command Interrupted" },
	{ AISIO_NVME_SC_TRANSIENT_TRANSPORT, "Transient Transport Error" },
	{ AISIO_NVME_SC_LBA_RANGE, "LBA Out of Range" },
	{ AISIO_NVME_SC_CAP_EXCEEDED, "Capacity Exceeded" },
	{ AISIO_NVME_SC_NS_NOT_READY, "Namespace Not Ready" },
	{ AISIO_NVME_SC_RESERVATION_CONFLICT, "Reservation Conflict" },
	{ AISIO_NVME_SC_FORMAT_IN_PROGRESS, "Format In Progress" },

	{ AISIO_NVME_SC_CQ_INVALID, "Completion Queue Invalid" },
	{ AISIO_NVME_SC_QID_INVALID, "Invalid Queue Identifier" },
	{ AISIO_NVME_SC_QUEUE_SIZE, "Invalid Queue Size" },
	{ AISIO_NVME_SC_ABORT_LIMIT, "Abort Command Limit Exceeded" },
	{ AISIO_NVME_SC_ASYNC_LIMIT, "Asynchronous Event Request Limit Exceeded" },
	{ AISIO_NVME_SC_FIRMWARE_SLOT, "Invalid Firmware Slot" },
	{ AISIO_NVME_SC_FIRMWARE_IMAGE, "Invalid Firmware Image" },
	{ AISIO_NVME_SC_INVALID_VECTOR, "Invalid Interrupt Vector" },
	{ AISIO_NVME_SC_INVALID_LOG_PAGE, "Invalid Log Page" },
	{ AISIO_NVME_SC_INVALID_FORMAT, "Invalid Format" },
	{ AISIO_NVME_SC_FW_NEEDS_CONV_RESET, "Firmware Activation Requires Conventional Reset" },
	{ AISIO_NVME_SC_QUEUE_DELETION, "Invalid Queue Deletion" },
	{ AISIO_NVME_SC_FEATURE_NOT_SAVEABLE, "Feature Identifier Not Saveable" },
	{ AISIO_NVME_SC_FEATURE_NOT_CHANGEABLE, "Feature Not Changeable" },
	{ AISIO_NVME_SC_FEATURE_NOT_PER_NS, "Feature Not Namespace Specific" },
	{ AISIO_NVME_SC_FW_NEEDS_SUBSYS_RESET, "Firmware Activation Requires NVM Subsystem Reset" },
	{ AISIO_NVME_SC_FW_NEEDS_RESET, "Firmware Activation Requires Controller Level Reset" },
	{ AISIO_NVME_SC_FW_NEEDS_MAX_TIME, "Firmware Activation Requires Maximum Time Violation" },
	{ AISIO_NVME_SC_FW_ACTIVATE_PROHIBITED, "Firmware Activation Prohibited" },
	{ AISIO_NVME_SC_OVERLAPPING_RANGE, "Overlapping Range" },
	{ AISIO_NVME_SC_NS_INSUFFICIENT_CAP, "Namespace Insufficient Capacity" },
	{ AISIO_NVME_SC_NS_ID_UNAVAILABLE, "Namespace Identifier Unavailable" },
	{ AISIO_NVME_SC_NS_ALREADY_ATTACHED, "Namespace Already Attached" },
	{ AISIO_NVME_SC_NS_IS_PRIVATE, "Namespace Is Private" },
	{ AISIO_NVME_SC_NS_NOT_ATTACHED, "Namespace Not Attached" },
	{ AISIO_NVME_SC_THIN_PROV_NOT_SUPP, "Thin Provisioning Not Supported" },
	{ AISIO_NVME_SC_CTRL_LIST_INVALID, "Controller List Invalid" },
	{ AISIO_NVME_SC_SELF_TEST_IN_PROGRESS, "Device Self-test In Progress" },
	{ AISIO_NVME_SC_BP_WRITE_PROHIBITED, "Boot Partition Write Prohibited" },
	{ AISIO_NVME_SC_CTRL_ID_INVALID, "Invalid Controller Identifier" },
	{ AISIO_NVME_SC_SEC_CTRL_STATE_INVALID, "Invalid Secondary Controller State" },
	{ AISIO_NVME_SC_CTRL_RES_NUM_INVALID, "Invalid Number of Controller Resources" },
	{ AISIO_NVME_SC_RES_ID_INVALID, "Invalid Resource Identifier" },
	{ AISIO_NVME_SC_PMR_SAN_PROHIBITED,
	  "Sanitize Prohibited While Persistent Memory Region is Enabled" },
	{ AISIO_NVME_SC_ANA_GROUP_ID_INVALID, "ANA Group Identifier Invalid" },
	{ AISIO_NVME_SC_ANA_ATTACH_FAILED, "ANA Attach Failed" },
	{ AISIO_NVME_SC_CONFLICTING_ATTRS, "Conflicting Attributes" },
	{ AISIO_NVME_SC_INVALID_PI, "Invalid Protection Information" },
	{ AISIO_NVME_SC_READ_ONLY, "Attempted Write to Read Only Range" },

	{ AISIO_NVME_SC_WRITE_FAULT, "Write Fault" },
	{ AISIO_NVME_SC_READ_ERROR, "Unrecovered Read Error" },
	{ AISIO_NVME_SC_GUARD_CHECK, "End-to-end Guard Check Error" },
	{ AISIO_NVME_SC_APPTAG_CHECK, "End-to-end Application Tag Check Error" },
	{ AISIO_NVME_SC_REFTAG_CHECK, "End-to-end Reference Tag Check Error" },
	{ AISIO_NVME_SC_COMPARE_FAILED, "Compare Failure" },
	{ AISIO_NVME_SC_ACCESS_DENIED, "Access Denied" },
	{ AISIO_NVME_SC_UNWRITTEN_BLOCK, "Deallocated or Unwritten Logical Block" },

	{ AISIO_NVME_SC_INTERNAL_PATH_ERROR, "Internal Path Error" },
	{ AISIO_NVME_SC_ANA_PERSISTENT_LOSS, "Asymmetric Access Persistent Loss" },
	{ AISIO_NVME_SC_ANA_INACCESSIBLE, "Asymmetric Access Inaccessible" },
	{ AISIO_NVME_SC_ANA_TRANSITION, "Asymmetric Access Transition" },
	{ AISIO_NVME_SC_CTRL_PATH_ERROR, "Controller Pathing Error" },
	{ AISIO_NVME_SC_HOST_PATH_ERROR, "Host Pathing Error" },
	{ AISIO_NVME_SC_HOST_ABORTED_CMD, "Command Aborted By Host" },
};

static const char *const sct_names[8] = {
	"Generic Command Status",	  "Command Specific Status",
	"Media and Data Integrity Error", "Path Related Status",
	"Reserved Status Code Type 4",	  "Reserved Status Code Type 5",
	"Reserved Status Code Type 6",	  "Vendor Specific Status",
};

static const char *lookup(const struct code_name *t, size_t n, uint32_t code)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t[mid].code == code)
			return t[mid].text;
		if (t[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Unknown codes are formatted per thread so that two in one printf stay apart. */
static __thread char unknown_buf[2][96];
static __thread unsigned unknown_idx;

static char *scratch(void)
{
	return unknown_buf[unknown_idx++ & 1];
}

const char *aisio_nvme_status_str(uint32_t sct_sc)
{
	const char *s = lookup(nvme_status, sizeof(nvme_status) / sizeof(nvme_status[0]), sct_sc);
	char *b;

	if (s)
		return s;
	b = scratch();
	snprintf(b, sizeof(unknown_buf[0]), "Unknown status (%s, SCT 0x%x SC 0x%02x)",
		 sct_names[(sct_sc >> 8) & 7], (sct_sc >> 8) & 7, sct_sc & 0xff);
	return b;
}

/* Errno values a command status can carry, with their meaning in this API. */
static const char *errno_text(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return "timed out: the controller did not complete the command in time";
	case ECANCELED:
		return "cancelled: the queue was deleted or the controller reset while the command "
		       "was in flight";
	case EIO:
		return "I/O error: controller fatal status or transport failure";
	case E2BIG:
		return "transfer larger than the controller's maximum (MDTS)";
	case EINVAL:
		return "invalid argument: bad buffer, length or command field";
	case ENOSPC:
		return "no room: out of queue slots or PRP/SGL list memory";
	case ENODEV:
		return "no device: the controller is gone";
	case ENOTSUP:
		return "not supported by this I/O path";
	default:
		return NULL;
	}
}

const char *aisio_status_str(int status)
{
	const char *s;
	char *b;

	if (status == 0)
		return "success";
	if (status > 0)
		return aisio_nvme_status_str((uint32_t)status);
	if (status == INT_MIN)
		return "invalid status";
	s = errno_text(-status);
	if (s)
		return s;
	b = scratch();
	snprintf(b, sizeof(unknown_buf[0]), "%s", strerror(-status));
	return b;
}

static const struct code_name admin_opc[] = {
	{ AISIO_NVME_ADM_DELETE_SQ, "Delete I/O Submission Queue" },
	{ AISIO_NVME_ADM_CREATE_SQ, "Create I/O Submission Queue" },
	{ AISIO_NVME_ADM_GET_LOG_PAGE, "Get Log Page" },
	{ AISIO_NVME_ADM_DELETE_CQ, "Delete I/O Completion Queue" },
	{ AISIO_NVME_ADM_CREATE_CQ, "Create I/O Completion Queue" },
	{ AISIO_NVME_ADM_IDENTIFY, "Identify" },
	{ AISIO_NVME_ADM_ABORT, "Abort" },
	{ AISIO_NVME_ADM_SET_FEATURES, "Set Features" },
	{ AISIO_NVME_ADM_GET_FEATURES, "Get Features" },
	{ AISIO_NVME_ADM_ASYNC_EVENT, "Asynchronous Event Request" },
	{ AISIO_NVME_ADM_NS_MGMT, "Namespace Management" },
	{ AISIO_NVME_ADM_FW_COMMIT, "Firmware Commit" },
	{ AISIO_NVME_ADM_FW_DOWNLOAD, "Firmware Image Download" },
	{ AISIO_NVME_ADM_NS_ATTACH, "Namespace Attachment" },
	{ AISIO_NVME_ADM_KEEP_ALIVE, "Keep Alive" },
	{ AISIO_NVME_ADM_DIRECTIVE_SEND, "Directive Send" },
	{ AISIO_NVME_ADM_DIRECTIVE_RECV, "Directive Receive" },
	{ AISIO_NVME_ADM_VIRT_MGMT, "Virtualization Management" },
	{ AISIO_NVME_ADM_DBBUF_CONFIG, "Doorbell Buffer Config" },
	{ AISIO_NVME_ADM_FORMAT_NVM, "Format NVM" },
	{ AISIO_NVME_ADM_SANITIZE, "Sanitize" },
};

static const struct code_name nvm_opc[] = {
	{ AISIO_NVME_NVM_FLUSH, "Flush" },
	{ AISIO_NVME_NVM_WRITE, "Write" },
	{ AISIO_NVME_NVM_READ, "Read" },
	{ AISIO_NVME_NVM_WRITE_UNCOR, "Write Uncorrectable" },
	{ AISIO_NVME_NVM_COMPARE, "Compare" },
	{ AISIO_NVME_NVM_WRITE_ZEROES, "Write Zeroes" },
	{ AISIO_NVME_NVM_DSM, "Dataset Management" },
	{ AISIO_NVME_NVM_VERIFY, "Verify" },
	{ AISIO_NVME_NVM_COPY, "Copy" },
};

const char *aisio_nvme_opc_str(uint8_t opc, int admin)
{
	const char *s;
	char *b;

	if (admin)
		s = lookup(admin_opc, sizeof(admin_opc) / sizeof(admin_opc[0]), opc);
	else
		s = lookup(nvm_opc, sizeof(nvm_opc) / sizeof(nvm_opc[0]), opc);
	if (s)
		return s;
	b = scratch();
	snprintf(b, sizeof(unknown_buf[0]), "%s opcode 0x%02x",
		 admin ? "Unknown admin" : "Unknown I/O", opc);
	return b;
}
