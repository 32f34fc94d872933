/* SPDX-License-Identifier: MIT */
/*
 * aisio homi status [--socket PATH] [--json]: what homid holds —
 * controllers, namespaces, queue IDs used and free, and per client its
 * pid, uid, mode, queues, registered memory, commands and errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "homi/client.h"
#include <aisio/aisio.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: aisio homi status [--socket PATH] [--json]\n\n"
		   "Shows what homid holds: controllers, namespaces, queue IDs in use and\n"
		   "free, and per client pid, uid, mode, queues, registered MiB, commands\n"
		   "and errors. Default socket: " AISIO_HOMI_SOCKET_DEFAULT ".\n");
}

static const char *mode_name(uint32_t m)
{
	return m == AISIO_HOMI_MODE_DIRECT ? "direct" : m == AISIO_HOMI_MODE_MEDIATED ? "mediated"
											: "-";
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case AISIO_HOMI_CTRL_EMU: return "emu";
	case AISIO_HOMI_CTRL_PCI: return "pci";
	case AISIO_HOMI_CTRL_TCP: return "tcp";
	}
	return "?";
}

static void print_text(const struct aisio_homi_status_reply *sr,
		       const struct aisio_homi_ctrl_desc *cd, const struct aisio_homi_ns_desc *nd,
		       const struct aisio_homi_client_desc *cl)
{
	printf("homid pid %u, up %llu s\n", sr->homid_pid,
	       (unsigned long long)(sr->uptime_ms / 1000));
	printf("controllers:\n");
	for (uint32_t i = 0; i < sr->nctrl; i++) {
		printf("  %-12s %-4s qids used %u free %u (of %u), max depth %u, max transfer %u B%s\n",
		       cd[i].name, kind_name(cd[i].kind), cd[i].qids_used,
		       cd[i].nqueues - cd[i].qids_used, cd[i].nqueues, cd[i].max_qdepth,
		       cd[i].max_xfer, cd[i].direct_ok ? ", direct queues possible" : "");
		for (uint32_t k = 0; k < sr->nns; k++)
			if (nd[k].ctrl == i)
				printf("    nsid %-4u %llu LBAs of %u B (%.2f GiB)\n", nd[k].nsid,
				       (unsigned long long)nd[k].nlbas, 1u << nd[k].lba_shift,
				       (double)(nd[k].nlbas << nd[k].lba_shift) / (1 << 30));
	}
	printf("clients: %u\n", sr->nclient);
	if (!sr->nclient)
		return;
	/* the controller column as wide as its longest name: a PCI address or an NQN, never cut */
	int cw = 4;
	for (uint32_t i = 0; i < sr->nclient; i++) {
		size_t n = strnlen(cl[i].ctrl, sizeof(cl[i].ctrl));

		if (n > (size_t)cw)
			cw = (int)n;
	}
	printf("  %-8s %-6s %-9s %-*s %-5s %-6s %-10s %-10s %s\n", "pid", "uid", "mode", cw, "ctrl",
	       "nsid", "queues", "reg MiB", "commands", "errors");
	for (uint32_t i = 0; i < sr->nclient; i++) {
		char qids[64] = "";
		size_t off = 0;

		for (uint32_t k = 0; k < cl[i].nqueues && k < 8; k++)
			off += (size_t)snprintf(qids + off, sizeof(qids) - off, "%s%u", k ? "," : "",
						cl[i].qids[k]);
		printf("  %-8u %-6u %-9s %-*.*s %-5u %-6u %-10.1f %-10llu %llu%s%s%s\n", cl[i].pid,
		       cl[i].uid, mode_name(cl[i].mode), cw, (int)sizeof(cl[i].ctrl),
		       cl[i].ctrl[0] ? cl[i].ctrl : "-", cl[i].nsid,
		       cl[i].nqueues, (double)cl[i].mem_bytes / (1 << 20),
		       (unsigned long long)cl[i].cmds, (unsigned long long)cl[i].errors,
		       cl[i].nqueues ? " (qids " : "", qids, cl[i].nqueues ? ")" : "");
	}
}

static void print_json(const struct aisio_homi_status_reply *sr,
		       const struct aisio_homi_ctrl_desc *cd, const struct aisio_homi_ns_desc *nd,
		       const struct aisio_homi_client_desc *cl)
{
	printf("{\"homid_pid\": %u, \"uptime_ms\": %llu, \"controllers\": [", sr->homid_pid,
	       (unsigned long long)sr->uptime_ms);
	for (uint32_t i = 0; i < sr->nctrl; i++) {
		int first = 1;

		printf("%s{\"name\": \"%s\", \"kind\": \"%s\", \"qids_total\": %u, \"qids_used\": %u, "
		       "\"qids_free\": %u, \"max_qdepth\": %u, \"max_xfer\": %u, \"direct_ok\": %s, "
		       "\"namespaces\": [", i ? ", " : "", cd[i].name,
		       kind_name(cd[i].kind), cd[i].nqueues,
		       cd[i].qids_used, cd[i].nqueues - cd[i].qids_used, cd[i].max_qdepth,
		       cd[i].max_xfer, cd[i].direct_ok ? "true" : "false");
		for (uint32_t k = 0; k < sr->nns; k++) {
			if (nd[k].ctrl != i)
				continue;
			printf("%s{\"nsid\": %u, \"nlbas\": %llu, \"lba_size\": %u}", first ? "" : ", ",
			       nd[k].nsid, (unsigned long long)nd[k].nlbas, 1u << nd[k].lba_shift);
			first = 0;
		}
		printf("]}");
	}
	printf("], \"clients\": [");
	for (uint32_t i = 0; i < sr->nclient; i++) {
		printf("%s{\"pid\": %u, \"uid\": %u, \"gid\": %u, \"mode\": \"%s\", \"ctrl\": \"%s\", "
		       "\"nsid\": %u, \"queues\": %u, \"qids\": [", i ? ", " : "", cl[i].pid, cl[i].uid,
		       cl[i].gid, mode_name(cl[i].mode), cl[i].ctrl, cl[i].nsid, cl[i].nqueues);
		for (uint32_t k = 0; k < cl[i].nqueues && k < 8; k++)
			printf("%s%u", k ? ", " : "", cl[i].qids[k]);
		printf("], \"mem_regions\": %u, \"mem_bytes\": %llu, \"commands\": %llu, "
		       "\"errors\": %llu}", cl[i].nmem, (unsigned long long)cl[i].mem_bytes,
		       (unsigned long long)cl[i].cmds, (unsigned long long)cl[i].errors);
	}
	printf("]");
}

/* The VF pool (VF_STATUS), when homid has one; JSON: "vfs": [lines as strings]. */
static void print_vfs(struct aisio_homi_conn *c, int json)
{
	static char text[AISIO_HOMI_VF_STATUS_MAX + 1];
	size_t len = 0;
	int n = 0;

	if (aisio_homi_call(c, AISIO_HOMI_VF_STATUS, NULL, 0, -1, text, sizeof(text) - 1, &len, NULL))
		len = 0;
	text[len] = 0;
	if (json)
		printf(", \"vfs\": [");
	else if (text[0])
		printf("VFs (clients take them whole: homi:...,mode=vf):\n");
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), n++) {
		if (!json) {
			printf("  %s\n", line);
			continue;
		}
		printf("%s\"", n ? ", " : "");
		for (const char *p = line; *p; p++) /* homid's text: printable, but escape anyway */
			printf(*p == '"' || *p == '\\' ? "\\%c" : (unsigned char)*p < 0x20 ? "?" : "%c", *p);
		printf("\"");
	}
	if (json)
		printf("]");
}

static int homi_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static uint8_t buf[AISIO_HOMI_MSG_MAX];
	const char *sock = NULL;
	struct aisio_homi_status_reply sr;
	struct aisio_homi_conn *c;
	int json = 0, ch, err;
	size_t len;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	err = aisio_homi_connect(sock, &c);
	if (err) {
		fprintf(stderr, "aisio homi status: %s\n", aisio_errmsg());
		return 1;
	}
	err = aisio_homi_call(c, AISIO_HOMI_STATUS, NULL, 0, -1, buf, sizeof(buf), &len, NULL);
	if (err) {
		aisio_homi_disconnect(c);
		fprintf(stderr, "aisio homi status: %s\n", aisio_errmsg());
		return 1;
	}
	memcpy(&sr, buf, sizeof(sr));
	{
		/* the decoder checked the counts against the length; copy to aligned arrays */
		size_t co = sizeof(sr), no = co + sr.nctrl * sizeof(struct aisio_homi_ctrl_desc),
		       lo = no + sr.nns * sizeof(struct aisio_homi_ns_desc);
		struct aisio_homi_ctrl_desc *cd = calloc(sr.nctrl + 1, sizeof(*cd));
		struct aisio_homi_ns_desc *nd = calloc(sr.nns + 1, sizeof(*nd));
		struct aisio_homi_client_desc *cl = calloc(sr.nclient + 1, sizeof(*cl));

		if (!cd || !nd || !cl) {
			aisio_homi_disconnect(c);
			fprintf(stderr, "aisio homi status: out of memory\n");
			free(cd);
			free(nd);
			free(cl);
			return 1;
		}
		memcpy(cd, buf + co, sr.nctrl * sizeof(*cd));
		memcpy(nd, buf + no, sr.nns * sizeof(*nd));
		memcpy(cl, buf + lo, sr.nclient * sizeof(*cl));
		for (uint32_t i = 0; i < sr.nclient; i++)
			cl[i].ctrl[sizeof(cl[i].ctrl) - 1] = 0;
		for (uint32_t i = 0; i < sr.nctrl; i++)
			cd[i].name[sizeof(cd[i].name) - 1] = 0;
		if (json) {
			print_json(&sr, cd, nd, cl);
			print_vfs(c, 1);
			printf("}\n");
		} else {
			print_text(&sr, cd, nd, cl);
			homi_print_exports(c); /* ublk exports; an older homid has none */
			print_vfs(c, 0);
		}
		aisio_homi_disconnect(c);
		free(cd);
		free(nd);
		free(cl);
	}
	return 0;
}

int aisio_cmd_homi(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "status"))
		return homi_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "export") || !strcmp(argv[1], "unexport"))
		return aisio_cmd_homi_export(argc - 1, argv + 1);
	fprintf(stderr, "aisio homi: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
