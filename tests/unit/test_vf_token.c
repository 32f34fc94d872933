/* SPDX-License-Identifier: MIT */
/*
 * The VF token homid sets on a vfio SR-IOV PF: a random version-4 UUID in
 * the text form vfio-pci parses ("BDF vf_token=UUID"), and the parser that
 * turns one back into the 16 bytes VFIO_DEVICE_FEATURE_PCI_VF_TOKEN takes.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "../../src/pci/vfio_sriov.c"
#include "t.h"

int main(void)
{
	char a[AISIO_PCI_VF_TOKEN_LEN], b[AISIO_PCI_VF_TOKEN_LEN];
	uint8_t u[16];

	CHECK_EQ(aisio_pci_vf_token_new(a), 0);
	CHECK_EQ(aisio_pci_vf_token_new(b), 0);
	CHECK_EQ((int)strlen(a), 36);
	CHECK(strcmp(a, b) != 0);
	for (int i = 0; i < 36; i++)
		CHECK(i == 8 || i == 13 || i == 18 || i == 23 ? a[i] == '-'
		      : isxdigit((unsigned char)a[i]) && !isupper((unsigned char)a[i]));
	CHECK(a[14] == '4');                        /* version 4 */
	CHECK(strchr("89ab", a[19]) != NULL);       /* RFC 4122 variant */
	CHECK_EQ(uuid_parse(a, u), 0);
	CHECK_EQ(uuid_parse("00112233-4455-6677-8899-aabbccddeeff", u), 0);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(u[i], i * 0x11);
	CHECK_EQ(uuid_parse("00112233-4455-6677-8899-aabbccddeef", u), -EINVAL);
	CHECK_EQ(uuid_parse("00112233-4455-6677-8899-aabbccddeeff0", u), -EINVAL);
	CHECK_EQ(uuid_parse("0011223344556677-8899-aabbccddeeff-", u), -EINVAL);
	CHECK_EQ(uuid_parse("00112233_4455-6677-8899-aabbccddeeff", u), -EINVAL);
	CHECK_EQ(uuid_parse("0011223g-4455-6677-8899-aabbccddeeff", u), -EINVAL);
	CHECK_EQ(uuid_parse("", u), -EINVAL);
	return t_result("vf_token");
}
