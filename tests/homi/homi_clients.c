/* SPDX-License-Identifier: MIT */
/*
 * homid on the device model with 8 client processes at once (4 direct, 4
 * mediated), each running 'aisio perf verify' through homi: on its own LBA
 * range: every one finds 0 mismatches, and afterwards every queue ID is back
 * in the pool. Usage: homi_clients HOMID AISIO
 */
#include "ht.h"

#define NCLIENTS 8
#define RANGE (2u << 20)

int main(int argc, char **argv)
{
	const char *args[] = { "--ctrl", "emu:64M", NULL };
	struct ht_homid h;
	pid_t pids[NCLIENTS];
	char out[NCLIENTS][64];
	uint32_t used = 99, others = 99;

	REQUIRE(argc == 3);
	ht_start(&h, argv[1], args);
	for (int i = 0; i < NCLIENTS; i++) {
		char uri[160], off[32], size[32];

		snprintf(uri, sizeof(uri), "homi:%s,mode=%s", h.sock, i % 2 ? "mediated" : "direct");
		snprintf(off, sizeof(off), "%u", i * RANGE);
		snprintf(size, sizeof(size), "%u", RANGE);
		snprintf(out[i], sizeof(out[i]), "/tmp/homi-clients-%d-%d.out", getpid(), i);
		pids[i] = fork();
		REQUIRE(pids[i] >= 0);
		if (!pids[i]) {
			int fd = open(out[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);

			dup2(fd, 1);
			dup2(fd, 2);
			execl(argv[2], argv[2], "perf", "verify", "--iosize", "16k", "--qdepth", "16",
			      "--offset", off, "--size", size, uri, (char *)NULL);
			_exit(127);
		}
	}
	for (int i = 0; i < NCLIENTS; i++) {
		char cmd[320], line[256];
		int st = -1, zero = 0;
		FILE *f;

		REQUIRE(waitpid(pids[i], &st, 0) == pids[i]);
		f = fopen(out[i], "r");
		REQUIRE(f);
		while (fgets(line, sizeof(line), f))
			zero |= strstr(line, " 0 mismatches") != NULL;
		fclose(f);
		if (!WIFEXITED(st) || WEXITSTATUS(st) || !zero) {
			fprintf(stderr, "client %d (%s) failed (status 0x%x):\n", i,
				i % 2 ? "mediated" : "direct", st);
			snprintf(cmd, sizeof(cmd), "cat %.200s >&2", out[i]);
			(void)!system(cmd);
		}
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		CHECK(zero);
		unlink(out[i]);
	}
	CHECK(ht_alive(&h));
	/* aisio homi status --json: the controller with every QID free, no client left */
	{
		char cmd[300], out[4096];
		size_t n;
		FILE *p;

		snprintf(cmd, sizeof(cmd), "%s homi status --json --socket %s", argv[2], h.sock);
		p = popen(cmd, "r");
		REQUIRE(p);
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = 0;
		CHECK_EQ(pclose(p), 0);
		CHECK(strstr(out, "\"name\": \"emu0\"") != NULL);
		CHECK(strstr(out, "\"qids_used\": 0, \"qids_free\": 64") != NULL);
		CHECK(strstr(out, "\"clients\": []") != NULL);
	}
	CHECK_EQ(ht_status(h.sock, &used, &others), 0);
	CHECK_EQ(used, 0);
	CHECK_EQ(others, 0);
	CHECK_EQ(ht_stop(&h), 0);
	return t_result("homi_clients");
}
