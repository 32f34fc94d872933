/* SPDX-License-Identifier: MIT */
/*
 * nvme+tcp://HOST[:PORT]/SUBNQN[,key=value...]
 *
 * HOST is a name, an IPv4 address or an IPv6 address in brackets; PORT
 * defaults to 4420. Keys: hostnqn=NQN, nsid=N, nr_io_queues=N (1..1024),
 * timeout_ms=N (per command), kato_ms=N (Keep Alive timeout, 0 = off),
 * ctrl_loss_tmo=SECONDS, reconnect_delay_ms=N, hdgst=0|1, ddgst=0|1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/tcp.h"
#include "util/err.h"

#define SCHEME "nvme+tcp://"
#define USAGE "nvme+tcp://HOST[:PORT]/SUBNQN[,hostnqn=NQN][,nr_io_queues=N][,nsid=N]"

static int num(const char *uri, const char *key, const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (!*v || *end || errno || *v == '-' || x < lo || x > hi)
		return aisio_err(-EINVAL, "%s: '%s=%s': want a number from %u to %u", uri, key, v, lo, hi);
	*out = (uint32_t)x;
	return 0;
}

/* An NQN: 1..223 bytes of printable ASCII (NVMe 2.0 section 4.5). */
static int nqn_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 223)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

static int option(const char *uri, char *tok, struct aisio_tcp_uri *u)
{
	char *eq = strchr(tok, '=');
	const char *k = tok, *v;
	uint32_t x;
	int err;

	if (!eq)
		return aisio_err(-EINVAL, "%s: '%s' is not key=value (%s)", uri, tok, USAGE);
	*eq = '\0';
	v = eq + 1;
	if (!strcmp(k, "hostnqn")) {
		if (!nqn_ok(v))
			return aisio_err(-EINVAL, "%s: hostnqn '%s' is not an NQN (1 to 223 printable "
					 "characters, no spaces)", uri, v);
		snprintf(u->hostnqn, sizeof(u->hostnqn), "%s", v);
		return 0;
	}
	if (!strcmp(k, "nsid"))
		return num(uri, k, v, 1, 0xfffffffeu, &u->nsid);
	if (!strcmp(k, "nr_io_queues"))
		return num(uri, k, v, 1, 1024, &u->nr_io_queues);
	if (!strcmp(k, "timeout_ms"))
		return num(uri, k, v, 10, 3600000, &u->timeout_ms);
	if (!strcmp(k, "kato_ms"))
		return num(uri, k, v, 0, 3600000, &u->kato_ms);
	if (!strcmp(k, "ctrl_loss_tmo"))
		return num(uri, k, v, 0, 86400, &u->ctrl_loss_tmo_s);
	if (!strcmp(k, "reconnect_delay_ms"))
		return num(uri, k, v, 1, 3600000, &u->reconnect_delay_ms);
	if (!strcmp(k, "hdgst") || !strcmp(k, "ddgst")) {
		err = num(uri, k, v, 0, 1, &x);
		if (!err)
			*(k[0] == 'h' ? &u->hdgst : &u->ddgst) = (int)x;
		return err;
	}
	return aisio_err(-EINVAL, "%s: unknown option '%s' (hostnqn, nsid, nr_io_queues, timeout_ms, "
			 "kato_ms, ctrl_loss_tmo, reconnect_delay_ms, hdgst, ddgst)", uri, k);
}

int aisio_tcp_uri_parse(const char *uri, struct aisio_tcp_uri *u)
{
	const char *p = uri + strlen(SCHEME), *host_end, *slash;
	char *rest, *tok, *save = NULL;
	size_t hl;
	int err = 0;

	memset(u, 0, sizeof(*u));
	snprintf(u->port, sizeof(u->port), "%d", AISIO_NVME_TCP_PORT);
	u->nr_io_queues = 4;
	u->timeout_ms = 30000;
	u->kato_ms = 10000;
	u->ctrl_loss_tmo_s = 600;
	u->reconnect_delay_ms = 1000;
	if (strncmp(uri, SCHEME, strlen(SCHEME)))
		return aisio_err(-EINVAL, "'%s' is not an nvme+tcp:// URI (%s)", uri, USAGE);
	slash = strchr(p, '/');
	if (*p == '[') {
		host_end = strchr(p, ']');
		if (!host_end || (slash && host_end > slash))
			return aisio_err(-EINVAL, "%s: IPv6 address without its closing ']'", uri);
		hl = (size_t)(host_end - p - 1);
		memcpy(u->host, p + 1, hl < sizeof(u->host) ? hl : 0);
		p = host_end + 1;
	} else {
		host_end = p + strcspn(p, ":/,");
		hl = (size_t)(host_end - p);
		if (hl < sizeof(u->host))
			memcpy(u->host, p, hl);
		p = host_end;
	}
	if (!hl || hl >= sizeof(u->host))
		return aisio_err(-EINVAL, "%s: %s host (%s)", uri, hl ? "overlong" : "no", USAGE);
	if (*p == ':') {
		uint32_t port;
		char buf[16] = "";
		size_t n = strcspn(p + 1, "/,");

		if (n >= sizeof(buf))
			return aisio_err(-EINVAL, "%s: port '%.*s' out of range 1..65535", uri, (int)n, p + 1);
		memcpy(buf, p + 1, n);
		if (num(uri, "port", buf, 1, 65535, &port))
			return aisio_err(-EINVAL, "%s: port '%s' is not a number from 1 to 65535", uri, buf);
		snprintf(u->port, sizeof(u->port), "%u", port);
		p += 1 + n;
	}
	if (*p != '/' || !p[1] || p[1] == ',')
		return aisio_err(-EINVAL, "%s: no subsystem NQN after the host (%s)", uri, USAGE);
	p++;
	rest = strdup(p);
	if (!rest)
		return aisio_err(-ENOMEM, "out of memory");
	tok = strtok_r(rest, ",", &save);
	if (!nqn_ok(tok)) {
		err = aisio_err(-EINVAL, "%s: subsystem NQN '%s' is not an NQN (1 to 223 printable "
				"characters, no spaces)", uri, tok);
		goto out;
	}
	snprintf(u->subnqn, sizeof(u->subnqn), "%s", tok);
	while (!err && (tok = strtok_r(NULL, ",", &save)))
		err = option(uri, tok, u);
out:
	free(rest);
	return err;
}
