/* SPDX-License-Identifier: MIT */
/*
 * Status and opcode text. The codes are read from nvme_spec.h itself (its
 * path is the first argument), so a code added to the header without text
 * fails this test.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aisio/aisio.h>

#include "t.h"

static int is_unknown(const char *s)
{
	return !s || !*s || strstr(s, "Unknown") != NULL;
}

/* Each "PREFIXNAME = 0xNN," line in the header; returns how many were checked. */
static int for_each_enum(const char *path, const char *prefix, void (*fn)(const char *, unsigned))
{
	char line[512], name[128];
	unsigned val;
	int n = 0;
	FILE *f = fopen(path, "r");

	REQUIRE(f);
	while (fgets(line, sizeof(line), f)) {
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, prefix, strlen(prefix)))
			continue;
		if (sscanf(p, "%127[A-Z0-9_] = %i,", name, (int *)&val) != 2)
			continue;
		fn(name, val);
		n++;
	}
	fclose(f);
	return n;
}

static void check_status(const char *name, unsigned code)
{
	const char *s = aisio_nvme_status_str(code);

	if (is_unknown(s)) {
		fprintf(stderr, "%s (0x%03x) has no text: '%s'\n", name, code, s);
		t_failures++;
	}
	/* The API's positive status decodes the same way. */
	if (code && strcmp(aisio_status_str((int)code), s)) {
		fprintf(stderr, "aisio_status_str(0x%x) differs from aisio_nvme_status_str\n",
			code);
		t_failures++;
	}
}

static void check_admin(const char *name, unsigned opc)
{
	if (is_unknown(aisio_nvme_opc_str((uint8_t)opc, 1))) {
		fprintf(stderr, "%s (0x%02x) has no name\n", name, opc);
		t_failures++;
	}
}

static void check_nvm(const char *name, unsigned opc)
{
	if (is_unknown(aisio_nvme_opc_str((uint8_t)opc, 0))) {
		fprintf(stderr, "%s (0x%02x) has no name\n", name, opc);
		t_failures++;
	}
}

int main(int argc, char **argv)
{
	char a[128], b[128];

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH/nvme_spec.h\n", argv[0]);
		return 1;
	}
	/* The header has about a hundred status codes, 21 admin and 9 I/O opcodes. */
	CHECK(for_each_enum(argv[1], "AISIO_NVME_SC_", check_status) > 90);
	CHECK(for_each_enum(argv[1], "AISIO_NVME_ADM_", check_admin) >= 21);
	CHECK(for_each_enum(argv[1], "AISIO_NVME_NVM_", check_nvm) >= 9);

	/* A few exact texts. */
	CHECK(!strcmp(aisio_nvme_status_str(AISIO_NVME_SC_LBA_RANGE), "LBA Out of Range"));
	CHECK(!strcmp(aisio_nvme_status_str(AISIO_NVME_SC_INVALID_OPCODE),
		      "Invalid Command Opcode"));
	CHECK(!strcmp(aisio_nvme_status_str(AISIO_NVME_SC_QID_INVALID),
		      "Invalid Queue Identifier"));
	CHECK(!strcmp(aisio_nvme_opc_str(AISIO_NVME_NVM_READ, 0), "Read"));
	CHECK(!strcmp(aisio_nvme_opc_str(AISIO_NVME_ADM_IDENTIFY, 1), "Identify"));
	/* Opcode 0x00 means different commands in the two sets. */
	CHECK(strcmp(aisio_nvme_opc_str(0, 0), aisio_nvme_opc_str(0, 1)));

	/* Unknown codes name SCT and SC in hex; two in one expression stay distinct. */
	snprintf(a, sizeof(a), "%s", aisio_nvme_status_str(0x07f));
	snprintf(b, sizeof(b), "%s", aisio_nvme_status_str(0x2ff));
	CHECK(strstr(a, "SCT 0x0 SC 0x7f") != NULL);
	CHECK(strstr(b, "SCT 0x2 SC 0xff") != NULL);
	CHECK(strstr(aisio_nvme_status_str(0x7c1), "Vendor") != NULL);
	CHECK(strcmp(aisio_nvme_status_str(0x07f), aisio_nvme_status_str(0x17f)) != 0);
	CHECK(strstr(aisio_nvme_opc_str(0xfe, 0), "0xfe") != NULL);
	CHECK(strstr(aisio_nvme_opc_str(0xfe, 1), "admin") != NULL);

	/* Tri-state command status. */
	CHECK(!strcmp(aisio_status_str(0), "success"));
	CHECK(strstr(aisio_status_str(-ETIMEDOUT), "timed out") != NULL);
	CHECK(strstr(aisio_status_str(-ECANCELED), "cancel") != NULL);
	CHECK(strstr(aisio_status_str(-ECANCELED), "reset") != NULL);
	CHECK(strstr(aisio_status_str(-E2BIG), "MDTS") != NULL);
	CHECK(!strcmp(aisio_status_str(-ENOENT), strerror(ENOENT)));
	CHECK(*aisio_status_str(-99999) != '\0');
	CHECK(*aisio_status_str(-2147483647 - 1) != '\0');
	CHECK(!strcmp(aisio_status_str(AISIO_NVME_SC_COMPARE_FAILED), "Compare Failure"));
	return t_result("status");
}
