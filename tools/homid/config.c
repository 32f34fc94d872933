/* SPDX-License-Identifier: MIT */
/*
 * homid's configuration file (INI, parsed with inih) and the policy it
 * holds: per uid or gid, which namespace and LBA range, read-only or
 * read-write, whether direct queues are allowed, how many queues, how deep,
 * how much registered memory. With no rule for them, root gets everything
 * and everyone else nothing. docs/homi.md has the reference.
 */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "homid.h"
#include "sriov.h"
#include "util/err.h"

struct parse_state {
	struct homid_config *cfg;
	struct homid_rule *rule; /* section being read, NULL in [homid] */
	int in_homid;
	char section[64]; /* the section the last key was in */
	int err;
	char msg[256];
};

static void grant_all(struct homid_grant *g, const char *why)
{
	memset(g, 0, sizeof(*g));
	g->allowed = 1;
	g->writable = 1;
	g->direct = 1;
	g->ops = HOMID_OP_READ | HOMID_OP_WRITE | HOMID_OP_FLUSH;
	snprintf(g->rule, sizeof(g->rule), "%s", why);
}

static int parse_u64(const char *v, uint64_t *out, int suffixes)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 0);
	if (end == v || errno || *v == '-')
		return -1;
	if (suffixes && *end) {
		int shift = strchr("kK", *end) ? 10 : strchr("mM", *end) ? 20 : strchr("gG", *end) ? 30
			    : strchr("tT", *end) ? 40 : -1;

		if (shift < 0 || end[1] || x > (~0ull >> shift))
			return -1;
		x <<= shift;
		end++;
	}
	if (*end)
		return -1;
	*out = x;
	return 0;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int parse_ops(const char *v, uint32_t *out)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", v);
	*out = 0;
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		if (!strcmp(t, "read"))
			*out |= HOMID_OP_READ;
		else if (!strcmp(t, "write"))
			*out |= HOMID_OP_WRITE;
		else if (!strcmp(t, "flush"))
			*out |= HOMID_OP_FLUSH;
		else
			return -1;
	}
	return 0;
}

static int level_of(const char *v)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (!strcasecmp(v, names[i]))
			return i;
	return -1;
}

static int new_rule(struct parse_state *ps, const char *section)
{
	struct homid_config *cfg = ps->cfg;
	struct homid_rule *r;
	uint64_t id = 0;

	if (cfg->nrules == HOMID_MAX_RULES) {
		snprintf(ps->msg, sizeof(ps->msg), "more than %d policy sections", HOMID_MAX_RULES);
		return -1;
	}
	r = &cfg->rules[cfg->nrules];
	memset(r, 0, sizeof(*r));
	if (!strcmp(section, "default")) {
		r->any = 1;
	} else if (!strncmp(section, "uid:", 4) && !parse_u64(section + 4, &id, 0) && id <= UINT32_MAX) {
		r->id = (uint32_t)id;
	} else if (!strncmp(section, "gid:", 4) && !parse_u64(section + 4, &id, 0) && id <= UINT32_MAX) {
		r->is_gid = 1;
		r->id = (uint32_t)id;
	} else {
		snprintf(ps->msg, sizeof(ps->msg), "unknown section [%s] (use [homid], [default], "
			 "[uid:N] or [gid:N])", section);
		return -1;
	}
	/* a section grants read-only mediated access to namespace 1's whole range unless it says more */
	r->g.allowed = 1;
	r->g.ops = HOMID_OP_READ | HOMID_OP_FLUSH;
	snprintf(r->g.rule, sizeof(r->g.rule), "config [%s]", section);
	cfg->nrules++;
	ps->rule = r;
	return 0;
}

/* vf = pci:BDF (one VF of the pool) or vf = sriov (every VF the sriov line enables) */
static int vf_line(struct parse_state *ps, const char *value)
{
	struct homid_config *cfg = ps->cfg;
	char bdf[AISIO_PCI_BDF_LEN];

	if (!strcmp(value, "sriov")) {
		cfg->vfs_sriov = 1;
		return 0;
	}
	if (strncmp(value, "pci:", 4) || aisio_pci_bdf_parse(value + 4, bdf)) {
		snprintf(ps->msg, sizeof(ps->msg), "vf = '%s': give pci:BDF (a VF for the pool) or "
			 "sriov (the VFs the sriov line enables)", value);
		return -1;
	}
	for (int i = 0; i < cfg->nvfs; i++)
		if (!strcmp(cfg->vfs[i], bdf)) {
			snprintf(ps->msg, sizeof(ps->msg), "vf = '%s': %s is in the pool already", value,
				 bdf);
			return -1;
		}
	if (cfg->nvfs == HOMID_MAX_VFS) {
		snprintf(ps->msg, sizeof(ps->msg), "vf = '%s': at most %d VFs in the pool", value,
			 HOMID_MAX_VFS);
		return -1;
	}
	memcpy(cfg->vfs[cfg->nvfs++], bdf, sizeof(bdf));
	return 0;
}

/* What only the whole [homid] section can tell: the VF pool against the sriov line. */
static int check_vfs(const char *path, struct homid_config *cfg)
{
	struct homid_sriov_spec sp;

	if (!cfg->sriov)
		return cfg->vfs_sriov ? aisio_err(-EINVAL, "%s: vf = sriov needs an sriov = line in "
						  "[homid] (the VFs it enables)", path) : 0;
	if (homid_sriov_parse(cfg->sriov, &sp))
		return -EINVAL;
	/* a PF of homid's own may go without VFs for a while (SIGHUP with vfs=0 releases them) */
	if (cfg->vfs_sriov && !sp.vfs && homid_sriov_pf_index(cfg->sriov, cfg->ctrls, cfg->nctrls) < 0)
		return aisio_err(-EINVAL, "%s: vf = sriov, but sriov = %s enables no VF", path,
				 cfg->sriov);
	if (cfg->vfs_sriov && cfg->nvfs + sp.vfs > HOMID_MAX_VFS)
		return aisio_err(-EINVAL, "%s: vf = sriov adds %u VFs to the %d listed: at most %d in the "
				 "pool", path, sp.vfs, cfg->nvfs, HOMID_MAX_VFS);
	for (int i = 0; i < cfg->nvfs; i++)
		if (!strcmp(cfg->vfs[i], sp.bdf))
			return aisio_err(-EINVAL, "%s: vf = pci:%s is the physical function of the sriov "
					 "line, not one of its VFs", path, sp.bdf);
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	struct homid_config *cfg = ps->cfg;
	uint64_t v = 0;
	int b;

	if (!section || !name || !value)
		return 0;
	/* inih reports keys only: a section starts where its first key is (an empty one grants nothing) */
	if (strcmp(section, ps->section)) {
		snprintf(ps->section, sizeof(ps->section), "%s", section);
		ps->in_homid = !strcmp(section, "homid");
		ps->rule = NULL;
		if (!ps->in_homid && !*section) {
			snprintf(ps->msg, sizeof(ps->msg), "'%s' outside a section", name);
			return 0;
		}
		if (!ps->in_homid && new_rule(ps, section))
			return 0;
	}
	if (ps->in_homid) {
		if (!strcmp(name, "socket")) {
			if (strlen(value) >= sizeof(cfg->socket))
				goto bad;
			snprintf(cfg->socket, sizeof(cfg->socket), "%s", value);
		} else if (!strcmp(name, "controller")) {
			if (cfg->nctrls == 16)
				goto bad;
			cfg->ctrls[cfg->nctrls] = strdup(value);
			if (!cfg->ctrls[cfg->nctrls])
				goto bad;
			cfg->nctrls++;
		} else if (!strcmp(name, "sriov")) {
			/* Checked here so that --check-config catches it; sriov.c acts on it. */
			struct homid_sriov_spec sp;

			if (homid_sriov_parse(value, &sp) || !sp.has_vfs) {
				snprintf(ps->msg, sizeof(ps->msg), "sriov = '%s': give pci:BDF,vfs=N"
					 "[,vq=N][,vi=N][,drv=NAME]", value);
				return 0;
			}
			free(cfg->sriov);
			cfg->sriov = strdup(value);
			if (!cfg->sriov)
				goto bad;
		} else if (!strcmp(name, "vf")) {
			if (vf_line(ps, value))
				return 0;
		} else if (!strcmp(name, "log_level")) {
			cfg->log_level = level_of(value);
			if (cfg->log_level < 0)
				goto bad;
		} else {
			goto unknown;
		}
		return 1;
	}
	if (!ps->rule) {
		snprintf(ps->msg, sizeof(ps->msg), "'%s' outside a section", name);
		return 0;
	}
	{
		struct homid_grant *g = &ps->rule->g;

		if (!strcmp(name, "namespace")) {
			if (parse_u64(value, &v, 0) || v > UINT32_MAX)
				goto bad;
			g->nsid = (uint32_t)v;
		} else if (!strcmp(name, "lba_first")) {
			if (parse_u64(value, &g->lba_first, 0))
				goto bad;
		} else if (!strcmp(name, "lba_count")) {
			if (parse_u64(value, &g->lba_count, 0))
				goto bad;
		} else if (!strcmp(name, "access")) {
			if (!strcmp(value, "rw")) {
				g->writable = 1;
				g->ops |= HOMID_OP_WRITE;
			} else if (!strcmp(value, "ro")) {
				g->writable = 0;
				g->ops &= ~HOMID_OP_WRITE;
			} else if (!strcmp(value, "none")) {
				g->allowed = 0;
			} else {
				goto bad;
			}
		} else if (!strcmp(name, "direct")) {
			if (parse_bool(value, &b))
				goto bad;
			g->direct = b;
		} else if (!strcmp(name, "ops")) {
			if (parse_ops(value, &g->ops))
				goto bad;
			if (!g->writable)
				g->ops &= ~HOMID_OP_WRITE;
		} else if (!strcmp(name, "max_queues")) {
			if (parse_u64(value, &v, 0) || v > 65535)
				goto bad;
			g->max_queues = (uint32_t)v;
		} else if (!strcmp(name, "max_depth")) {
			if (parse_u64(value, &v, 0) || v > 65536 || v == 1)
				goto bad;
			g->max_depth = (uint32_t)v;
		} else if (!strcmp(name, "max_mem")) {
			if (parse_u64(value, &g->max_mem, 1))
				goto bad;
		} else {
			goto unknown;
		}
	}
	return 1;
bad:
	snprintf(ps->msg, sizeof(ps->msg), "[%s] %s = %s: bad value", section, name, value);
	return 0;
unknown:
	snprintf(ps->msg, sizeof(ps->msg), "[%s]: unknown key '%s'", section, name);
	return 0;
}

void homid_config_default_policy(struct homid_config *cfg)
{
	cfg->nrules = 0;
}

int homid_config_load(const char *path, struct homid_config *cfg)
{
	struct parse_state ps = { .cfg = cfg };
	int line;

	line = ini_parse(path, handler, &ps);
	if (line == -1)
		return aisio_err(-errno ? -errno : -ENOENT, "%s: cannot open: %s", path,
				 strerror(errno ? errno : ENOENT));
	if (line == -2)
		return aisio_err(-ENOMEM, "%s: out of memory while parsing", path);
	if (line > 0)
		return aisio_err(-EINVAL, "%s:%d: %s", path, line,
				 ps.msg[0] ? ps.msg : "syntax error");
	if (check_vfs(path, cfg))
		return -EINVAL;
	/* write access implies the rule said rw; keep ops coherent */
	for (int i = 0; i < cfg->nrules; i++)
		if (!cfg->rules[i].g.writable)
			cfg->rules[i].g.ops &= ~HOMID_OP_WRITE;
	return 0;
}

void homid_config_free(struct homid_config *cfg)
{
	for (int i = 0; i < cfg->nctrls; i++)
		free(cfg->ctrls[i]);
	cfg->nctrls = 0;
	cfg->nrules = 0;
	free(cfg->sriov);
	cfg->sriov = NULL;
	cfg->nvfs = 0;
	cfg->vfs_sriov = 0;
}

void homid_policy_lookup(const struct homid_config *cfg, uid_t uid, gid_t gid,
			 struct homid_grant *out)
{
	const struct homid_rule *any = NULL, *bygid = NULL;

	for (int i = 0; i < cfg->nrules; i++) {
		const struct homid_rule *r = &cfg->rules[i];

		if (r->any) {
			any = r;
		} else if (r->is_gid) {
			if (r->id == gid && !bygid)
				bygid = r;
		} else if (r->id == uid) {
			*out = r->g;
			return;
		}
	}
	if (uid == 0) {
		grant_all(out, "root");
		return;
	}
	if (bygid || any) {
		*out = (bygid ? bygid : any)->g;
		return;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->rule, sizeof(out->rule), "no rule");
}
