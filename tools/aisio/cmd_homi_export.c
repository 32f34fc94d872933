/* SPDX-License-Identifier: MIT */
/*
 * aisio homi export [--socket PATH] SPEC: homid exports a namespace (or an
 * LBA range of it) to the kernel as /dev/ublkbN and prints N.
 * aisio homi unexport [--socket PATH] N: removes /dev/ublkbN.
 * Both are for root; docs/homi.md, "Block devices".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "homi/client.h"
#include <aisio/aisio.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: aisio homi export [--socket PATH] SPEC\n"
		   "       aisio homi unexport [--socket PATH] N\n\n"
		   "export: homid serves a namespace, or an LBA range of it, as /dev/ublkbN\n"
		   "through ublk_drv and prints N. SPEC: ctrl=NAME,nsid=N,lba_first=N,\n"
		   "lba_count=N,queues=N,depth=N (all optional: the first controller's first\n"
		   "namespace, whole, one queue of 64). unexport: remove /dev/ublkbN.\n");
}

int homi_print_exports(struct aisio_homi_conn *c)
{
	static char text[AISIO_HOMI_EXPORTS_MAX];
	size_t len = 0;
	int err = aisio_homi_call(c, AISIO_HOMI_EXPORTS, NULL, 0, -1, text, sizeof(text) - 1, &len,
				  NULL);

	if (err)
		return err;
	text[len < sizeof(text) ? len : sizeof(text) - 1] = 0;
	fputs(text, stdout);
	return 0;
}

int aisio_cmd_homi_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int unexport = !strcmp(argv[0], "unexport"), ch, err;
	const char *sock = NULL;
	struct aisio_homi_conn *c;
	size_t len = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	err = aisio_homi_connect(sock, &c);
	if (err) {
		fprintf(stderr, "aisio homi %s: %s\n", argv[0], aisio_errmsg());
		return 1;
	}
	if (unexport) {
		struct aisio_homi_unexport r = { 0 };
		char *end;
		unsigned long n = strtoul(argv[optind], &end, 10);

		if (*end || !*argv[optind] || n > UINT32_MAX) {
			fprintf(stderr, "aisio homi unexport: '%s' is not a device number (N of "
				"/dev/ublkbN)\n", argv[optind]);
			aisio_homi_disconnect(c);
			return 2;
		}
		r.dev_id = (uint32_t)n;
		err = aisio_homi_call(c, AISIO_HOMI_UNEXPORT, &r, sizeof(r), -1, NULL, 0, &len, NULL);
	} else {
		struct aisio_homi_export r = { 0 };
		struct aisio_homi_export_reply er = { 0 };

		if (strlen(argv[optind]) >= sizeof(r.spec)) {
			fprintf(stderr, "aisio homi export: SPEC longer than %zu bytes\n",
				sizeof(r.spec) - 1);
			aisio_homi_disconnect(c);
			return 2;
		}
		memcpy(r.spec, argv[optind], strlen(argv[optind]));
		err = aisio_homi_call(c, AISIO_HOMI_EXPORT, &r, sizeof(r), -1, &er, sizeof(er), &len,
				      NULL);
		if (!err)
			printf("/dev/ublkb%u\n", er.dev_id);
	}
	aisio_homi_disconnect(c);
	if (err) {
		fprintf(stderr, "aisio homi %s: %s\n", argv[0], aisio_errmsg());
		return 1;
	}
	return 0;
}
