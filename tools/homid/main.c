/* SPDX-License-Identifier: MIT */
/*
 * homid: owns NVMe controllers and hands their queue pairs to client
 * processes at run time (docs/homi.md).
 *
 *   homid [--config FILE] [--socket PATH] [--ctrl SPEC]... [--foreground]
 *         [--log-level error|warning|info|debug] [--check-config]
 *         [--sriov pci:BDF,vfs=N[,...]] [--sriov-status pci:BDF]
 *
 * One thread serves the socket (requests, admin commands, reclaim); the
 * mediator thread polls mediated queues.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "homid.h"
#include "sriov.h"
#include "util/err.h"

#define HOMID_CONFIG_DEFAULT "/etc/aisio/homid.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: homid [OPTIONS]\n\n"
		"Owns NVMe controllers and provisions their queue pairs to client processes\n"
		"(URI homi:SOCKET in the aisio API). docs/homi.md describes it all.\n\n"
		"  --config FILE       configuration and policy (default " HOMID_CONFIG_DEFAULT
		" when it exists)\n"
		"  --socket PATH       listening socket (default " AISIO_HOMI_SOCKET_DEFAULT ")\n"
		"  --ctrl SPEC         a controller: emu:SIZE[,...] (the device model, in homid),\n"
		"                      pci:BDF[,drv=vfio|uio] or nvme+tcp://HOST[:PORT]/SUBNQN[,...]\n"
		"                      (a remote controller); repeatable, adds to the config's\n"
		"  --foreground        stay in the foreground (default: detach)\n"
		"  --log-level LEVEL   error, warning, info (default) or debug\n"
		"  --export SPEC       export a namespace as /dev/ublkbN: ctrl=NAME,nsid=N,\n"
		"                      lba_first=N,lba_count=N,queues=N,depth=N (all optional)\n"
		"  --check-config      parse the configuration, print the policy, and exit\n"
		"  --sriov SPEC        provision SR-IOV VFs: pci:BDF,vfs=N[,vq=N][,vi=N][,ns=N+N]\n"
		"                      [,drv=vfio-pci]; idempotent. A PF the kernel nvme\n"
		"                      driver owns: through its admin passthrough, then exits\n"
		"                      unless controllers are given. A PF that is one of\n"
		"                      homid's controllers (--ctrl pci:BDF,drv=vfio): through\n"
		"                      homid's admin queue, again on SIGHUP from the config\n"
		"                      file's sriov line (needs vfio-pci enable_sriov=1)\n"
		"  --sriov-status PF   the PF's flexible resources and VFs (pci:BDF), then exit\n"
		"  --vf pci:BDF        a VF for the pool clients take whole (homi:...,mode=vf);\n"
		"                      repeatable\n"
		"  --help              this text\n\n"
		"Signals: SIGHUP reloads the policy (and the VFs of a PF homid owns); SIGUSR2 restarts homid in place, keeping\n"
		"vfio controllers running and their direct clients connected.\n\n"
		"Under systemd (Type=notify, FileDescriptorStoreMax=), homid keeps in the file\n"
		"descriptor store what a successor needs, so that a crash keeps vfio controllers\n"
		"running and their direct clients connected too (docs/homi.md).\n");
}

static int load_config(const char *path, int explicit_path, struct homid_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = -1;
	homid_config_default_policy(cfg);
	if (!path)
		return 0;
	if (!explicit_path && access(path, F_OK))
		return 0;
	return homid_config_load(path, cfg);
}

static void print_policy(const struct homid_config *cfg)
{
	printf("socket: %s\n", cfg->socket[0] ? cfg->socket : AISIO_HOMI_SOCKET_DEFAULT);
	for (int i = 0; i < cfg->nctrls; i++)
		printf("controller: %s\n", cfg->ctrls[i]);
	if (cfg->sriov)
		printf("sriov: %s\n", cfg->sriov);
	for (int i = 0; i < cfg->nvfs; i++)
		printf("vf: %s\n", cfg->vfs[i]);
	if (cfg->vfs_sriov)
		printf("vf: every VF the sriov line enables\n");
	if (!cfg->nrules)
		printf("policy: no rules: root gets everything, everyone else nothing\n");
	for (int i = 0; i < cfg->nrules; i++) {
		const struct homid_rule *r = &cfg->rules[i];
		const struct homid_grant *g = &r->g;

		printf("%s: %s namespace %u, LBAs %llu+%s%llu, %s, direct %s, ops%s%s%s, max_queues %u, "
		       "max_depth %u, max_mem %llu\n", g->rule, g->allowed ? "allowed" : "denied",
		       g->nsid, (unsigned long long)g->lba_first, g->lba_count ? "" : "all/",
		       (unsigned long long)g->lba_count, g->writable ? "rw" : "ro",
		       g->direct ? "yes" : "no", g->ops & HOMID_OP_READ ? " read" : "",
		       g->ops & HOMID_OP_WRITE ? " write" : "", g->ops & HOMID_OP_FLUSH ? " flush" : "",
		       g->max_queues, g->max_depth, (unsigned long long)g->max_mem);
	}
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	int fd, probe;

	if (strlen(path) >= sizeof(sa.sun_path))
		return aisio_err(-ENAMETOOLONG, "socket path '%s' is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755); /* /run/aisio the first time */
	}
	/* A socket file nobody answers on is left from a homid that died: replace it. */
	probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (!connect(probe, (struct sockaddr *)&sa, sizeof(sa))) {
			close(probe);
			return aisio_err(-EADDRINUSE, "another homid answers on %s", path);
		}
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return aisio_err(-errno, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)) {
		int err = -errno;

		close(fd);
		return aisio_err(err, "cannot listen on %s: %s", path, strerror(-err));
	}
	/* anyone may connect; the policy decides what they get */
	chmod(path, 0666);
	return fd;
}

static void reload(struct homid *h)
{
	struct homid_config next;
	int err;

	if (!h->config_path) {
		LOG_INFO("SIGHUP: no configuration file to reload");
		return;
	}
	err = load_config(h->config_path, 1, &next);
	if (err) {
		LOG_ERR("SIGHUP: %s; keeping the policy in force", aisio_errmsg());
		homid_config_free(&next);
		return;
	}
	/* Policy only: controllers and the socket stay as they are until a restart. */
	memcpy(h->cfg.rules, next.rules, sizeof(next.rules));
	h->cfg.nrules = next.nrules;
	if (next.log_level >= 0)
		homid_log_level = next.log_level;
	/* the VFs of a PF homid owns follow the sriov line (vfs=0 releases them) */
	if (h->sriov_pf && next.sriov) {
		if (homid_sriov_own_apply(h, next.sriov)) {
			LOG_ERR("SIGHUP: sriov = %s not applied: %s", next.sriov, aisio_errmsg());
		} else {
			free(h->cfg.sriov);
			h->cfg.sriov = next.sriov;
			next.sriov = NULL;
		}
	}
	/* the mediator reads grants while it checks commands: change them between its passes */
	homid_mediator_lock(h);
	for (struct homid_client *cl = h->clients; cl; cl = cl->next)
		homid_policy_lookup(&h->cfg, cl->uid, cl->gid, &cl->grant);
	homid_mediator_unlock(h);
	homid_config_free(&next);
	LOG_INFO("SIGHUP: policy reloaded from %s (%d rule(s)); %u client(s) kept", h->config_path,
		 h->cfg.nrules, h->nclients);
}

static int serve(struct homid *h, int sfd)
{
	struct pollfd *pfd = NULL;
	struct homid_client **who = NULL;
	size_t cap = 0;

	for (;;) {
		size_t n = 3, i = 0;
		int r;

		if (cap < h->nclients + 3) {
			cap = (h->nclients + 3) * 2;
			free(pfd);
			free(who);
			pfd = calloc(cap, sizeof(*pfd));
			who = calloc(cap, sizeof(*who));
			if (!pfd || !who) {
				LOG_ERR("out of memory for the poll set");
				free(pfd);
				free(who);
				return -ENOMEM;
			}
		}
		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = h->listen_fd, .events = POLLIN };
		/* fanotify events of the extent service (fd -1 is skipped by poll) */
		pfd[2] = (struct pollfd){ .fd = homid_extent_fd(), .events = POLLIN };
		for (struct homid_client *cl = h->clients; cl; cl = cl->next, n++) {
			pfd[n] = (struct pollfd){ .fd = cl->sock, .events = POLLIN };
			who[n] = cl;
		}
		r = poll(pfd, n, -1);
		if (r < 0 && errno != EINTR) {
			LOG_ERR("poll: %s", strerror(errno));
			break;
		}
		if (r <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					reload(h);
				} else if (si.ssi_signo == SIGUSR2) {
					/* returns only when the restart failed; clients may be gone */
					homid_handover_exec(h);
					continue;
				} else {
					LOG_INFO("signal %u: shutting down", si.ssi_signo);
					break;
				}
			}
		}
		/* clients first: a client dropped now is not in the set built next pass */
		if (pfd[2].revents & POLLIN)
			homid_extent_drain();
		for (i = 3; i < n; i++) {
			struct homid_client *cl = who[i];

			if (pfd[i].revents & POLLIN) {
				if (homid_client_serve(h, cl) < 0)
					homid_client_drop(h, cl, "hang-up or unreadable stream");
			} else if (pfd[i].revents & (POLLHUP | POLLERR | POLLNVAL)) {
				homid_client_drop(h, cl, "hang-up");
			}
		}
		if (pfd[1].revents & POLLIN)
			while (homid_client_accept(h) == 0)
				;
	}
	free(pfd);
	free(who);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "ctrl", required_argument, NULL, 'C' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "export", required_argument, NULL, 'x' },
		{ "sriov", required_argument, NULL, 'V' },
		{ "sriov-status", required_argument, NULL, 'W' },
		{ "handover", required_argument, NULL, 'H' },
		{ "vf", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct homid h;
	const char *config = NULL, *sock_opt = NULL, *ctrl_opt[16], *sriov = NULL, *sriov_st = NULL;
	struct homid_handover *ho = NULL;
	char *exports[8];
	int own_pf = -1, handover_fd = -1, nexports = 0, nctrl_opt = 0, foreground = 0, check = 0, level = -1, c, sfd, err, rc = 1;
	sigset_t mask;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 's':
			sock_opt = optarg;
			break;
		case 'C':
			if (nctrl_opt == 16) {
				fprintf(stderr, "homid: at most 16 controllers\n");
				return 2;
			}
			ctrl_opt[nctrl_opt++] = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'l':
			level = !strcmp(optarg, "error") ? 0 : !strcmp(optarg, "warning") ? 1
				: !strcmp(optarg, "info") ? 2 : !strcmp(optarg, "debug") ? 3 : -1;
			if (level < 0) {
				fprintf(stderr, "homid: --log-level takes error, warning, info or debug\n");
				return 2;
			}
			break;
		case 'k':
			check = 1;
			break;
		case 'x':
			if (nexports == 8) {
				fprintf(stderr, "homid: at most 8 exports\n");
				return 2;
			}
			exports[nexports++] = optarg;
			break;
		case 'V':
			sriov = optarg;
			break;
		case 'W':
			sriov_st = optarg;
			break;
		case 'F':
			if (homid_vf_add(&h, optarg)) {
				fprintf(stderr, "homid: %s\n", aisio_errmsg());
				return 2;
			}
			break;
		case 'H': /* from the homid that restarted into this one (handover.c) */
			handover_fd = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "homid: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	err = load_config(config ? config : HOMID_CONFIG_DEFAULT, config != NULL, &h.cfg);
	if (err) {
		fprintf(stderr, "homid: %s\n", aisio_errmsg());
		return 1;
	}
	if (config || !access(HOMID_CONFIG_DEFAULT, F_OK))
		h.config_path = (char *)(config ? config : HOMID_CONFIG_DEFAULT);
	if (sock_opt)
		snprintf(h.cfg.socket, sizeof(h.cfg.socket), "%s", sock_opt);
	if (!h.cfg.socket[0])
		snprintf(h.cfg.socket, sizeof(h.cfg.socket), "%s", AISIO_HOMI_SOCKET_DEFAULT);
	for (int i = 0; i < nctrl_opt; i++) {
		if (h.cfg.nctrls == 16) {
			fprintf(stderr, "homid: at most 16 controllers\n");
			return 2;
		}
		h.cfg.ctrls[h.cfg.nctrls++] = strdup(ctrl_opt[i]);
	}
	if (check) {
		print_policy(&h.cfg);
		printf("configuration OK\n");
		homid_config_free(&h.cfg);
		return 0;
	}
	homid_log_level = level >= 0 ? level : h.cfg.log_level >= 0 ? h.cfg.log_level : HOMID_LOG_INFO;
	if (!sriov && !sriov_st && h.cfg.sriov)
		sriov = h.cfg.sriov;
	/* the PF one of homid's controllers: its VFs through homid's admin queue, once it is up */
	own_pf = homid_sriov_pf_index(sriov, h.cfg.ctrls, h.cfg.nctrls);
	if (own_pf >= 0) {
		struct homid_sriov_spec sp;

		if (sriov_st) {
			fprintf(stderr, "homid: %s is one of homid's controllers here: while homid "
				"runs, aisio homi status shows its VFs\n", sriov_st);
			homid_config_free(&h.cfg);
			return 2;
		}
		if (homid_sriov_parse(sriov, &sp) || homid_sriov_take_check(sp.bdf)) {
			fprintf(stderr, "homid: %s\n", aisio_errmsg());
			homid_config_free(&h.cfg);
			return 1;
		}
	} else if (sriov || sriov_st) {
		int src = homid_sriov_cli(sriov, sriov_st);

		if (src) {
			homid_config_free(&h.cfg);
			return src;
		}
	}
	if (!sriov_st && homid_vf_add_config(&h, own_pf >= 0 ? NULL : sriov ? sriov : h.cfg.sriov)) {
		fprintf(stderr, "homid: %s: %s\n", h.config_path ? h.config_path : "configuration",
			aisio_errmsg());
		homid_config_free(&h.cfg);
		return 1;
	}
	if ((sriov || sriov_st) && own_pf < 0 && !h.cfg.nctrls && !h.nvfs) {
		homid_config_free(&h.cfg);
		return 0;
	}
	if (!h.cfg.nctrls && !h.nvfs) {
		fprintf(stderr, "homid: no controller: give --ctrl emu:SIZE or --ctrl pci:BDF, or "
			"'controller =' in [homid] of the configuration\n");
		homid_config_free(&h.cfg);
		return 2;
	}
	h.argv = argv;
	homid_store_init();
	if (handover_fd >= 0) {
		err = homid_handover_load(handover_fd, &ho);
		if (err) {
			fprintf(stderr, "homid: %s\n", aisio_errmsg());
			homid_store_clear();
			return 1;
		}
		LOG_INFO("restarted (pid %d): taking over what the previous homid handed over",
			 getpid());
	} else if (homid_store_active()) {
		/* started again after a crash: the store holds what the dead homid kept */
		err = homid_store_restore(&ho);
		if (err < 0) {
			fprintf(stderr, "homid: %s\n", aisio_errmsg());
			homid_store_clear();
			return 1;
		}
	}
	homid_store_hold(ho != NULL);
	if (!foreground && !ho && daemon(0, 1)) {
		fprintf(stderr, "homid: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	h.start_ms = homid_now_ms();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		LOG_ERR("signalfd: %s", strerror(errno));
		goto out_cfg;
	}
	for (int i = 0; i < h.cfg.nctrls; i++) {
		const struct homid_ho_ctrl *hs = homid_handover_ctrl(ho, i);

		/* a controller that ran on under the restart is taken over, not reset */
		err = hs ? homid_ctrl_adopt(h.cfg.ctrls[i], ho, i, &h.ctrls[h.nctrls])
			 : homid_ctrl_open(h.cfg.ctrls[i], i, &h.ctrls[h.nctrls]);
		if (err && hs) {
			LOG_ERR("controller %s: taking it over after the restart: %s; exiting so that "
				"a fresh start resets it", h.cfg.ctrls[i], aisio_errmsg());
			goto out_ctrls;
		}
		if (err) {
			LOG_ERR("controller %s: %s", h.cfg.ctrls[i], aisio_errmsg());
			goto out_ctrls;
		}
		homid_ctrl_store(&h.ctrls[h.nctrls]);
		{
			struct aisio_homi_ctrl_desc d;

			homid_ctrl_desc(&h.ctrls[h.nctrls], &d);
			LOG_INFO("controller %s (%s): %u namespace(s), %u I/O queues",
				 h.ctrls[h.nctrls].name, h.cfg.ctrls[i], d.nns, d.nqueues);
		}
		h.nctrls++;
	}
	if (own_pf >= 0) {
		/* idempotent: after a restart that took the controller over, nothing changes */
		h.sriov_pf = &h.ctrls[own_pf];
		err = homid_sriov_own_apply(&h, sriov);
		if (err) {
			LOG_ERR("%s", aisio_errmsg());
			goto out_ctrls;
		}
		if (sriov != h.cfg.sriov) {
			free(h.cfg.sriov);
			h.cfg.sriov = strdup(sriov);
		}
	}
	err = homid_mediator_start(&h);
	if (err) {
		LOG_ERR("mediator: %s", aisio_errmsg());
		goto out_ctrls;
	}
	h.listen_fd = ho ? homid_handover_listen_fd(ho) : listen_on(h.cfg.socket);
	if (h.listen_fd < 0 && homid_handover_crashed(ho)) {
		LOG_WARN("%s; listening again", aisio_errmsg());
		h.listen_fd = listen_on(h.cfg.socket);
	}
	if (h.listen_fd < 0) {
		LOG_ERR("%s", aisio_errmsg());
		goto out_med;
	}
	/* connections wait in its backlog while a successor starts */
	homid_store_add(h.listen_fd, HOMID_STORE_FD);
	/* clients first: their queue IDs are taken before exports ask for any */
	if (ho) {
		int kept = homid_handover_clients(&h, ho);

		homid_handover_finish(&h, ho);
		LOG_INFO("restarted%s: %d client(s) kept", homid_handover_crashed(ho) ?
			 " after a crash" : "", kept);
		homid_handover_free(ho);
		ho = NULL;
	}
	if (homid_ublk_start(&h, exports, nexports)) {
		LOG_ERR("%s", aisio_errmsg());
		goto out_ublk;
	}
	homid_store_hold(0);
	homid_store_sync(&h);
	LOG_INFO("listening on %s (pid %d)", h.cfg.socket, getpid());
	homid_sd_state("READY=1\nSTATUS=serving %d controller(s), %u client(s)", h.nctrls,
		       h.nclients);
	rc = serve(&h, sfd) ? 1 : 0;
	homid_sd_state("STOPPING=1");
	/* a clean exit: the next start resets the controllers, nothing is kept for it */
	homid_store_clear();
out_ublk:
	while (h.clients)
		homid_client_drop(&h, h.clients, "homid shutting down");
	homid_ublk_stop(&h);
	homid_extent_stop();
	close(h.listen_fd);
	unlink(h.cfg.socket);
out_med:
	homid_mediator_stop(&h);
out_ctrls:
	homid_store_clear();
	for (int i = h.nctrls - 1; i >= 0; i--)
		homid_ctrl_close(&h.ctrls[i]);
	close(sfd);
out_cfg:
	homid_store_clear();
	homid_handover_free(ho);
	homid_config_free(&h.cfg);
	return rc;
}
