/* SPDX-License-Identifier: MIT */
/*
 * The driver's conformance suite through homi:, a direct and a mediated
 * client of homid on the model (MDTS 4 MiB): both must pass, chained PRP
 * lists and Dataset Management included (the mediator copies and checks
 * both), and what needs the whole controller is skipped or refused.
 * Usage: homi_conformance HOMID CONFORMANCE
 */
#include "ht.h"

static int run(const char *conformance, const char *uri, const char *out)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s '%s' >%s 2>&1", conformance, uri, out);
	return system(cmd);
}

static int has(const char *path, const char *what)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	const char *args[] = { "--ctrl", "emu:256M,mdts=10", NULL };
	const char *modes[] = { "direct", "mediated" };
	struct ht_homid h;

	REQUIRE(argc == 3);
	ht_start(&h, argv[1], args);
	for (int i = 0; i < 2; i++) {
		char uri[200], out[64], show[128];

		snprintf(uri, sizeof(uri), "homi:%s,mode=%s", h.sock, modes[i]);
		snprintf(out, sizeof(out), "/tmp/homi-conformance-%d-%s", getpid(), modes[i]);
		CHECK_EQ(run(argv[2], uri, out), 0);
		CHECK(has(out, ": PASS prp-chained-lists"));
		CHECK(has(out, ": PASS dsm-deallocate"));
		CHECK(has(out, ": PASS identify-other-namespace"));
		CHECK(has(out, ": PASS admin-refused"));
		CHECK(has(out, " 0 failed"));
		snprintf(show, sizeof(show), "cat %s", out);
		(void)!system(show);
		unlink(out);
	}
	CHECK_EQ(ht_stop(&h), 0);
	return t_result("homi_conformance");
}
