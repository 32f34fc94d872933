/* SPDX-License-Identifier: MIT */
/* The host's value of spec_cuda_sqe_hash(), for check.sh to compare with the device's. */
#include <inttypes.h>
#include <stdio.h>

#include "sqe_hash.h"

int main(void)
{
	printf("%" PRIu64 "\n", spec_cuda_sqe_hash());
	return 0;
}
