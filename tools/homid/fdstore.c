/* SPDX-License-Identifier: MIT */
/*
 * Surviving a crash (docs/homi.md, "Surviving a crash"): under systemd
 * (or anything that speaks its protocols: sd.h), homid keeps in the
 * service's file descriptor store what a successor needs to take over
 * without a reset: the vfio container, group and device of each vfio
 * controller, homid's DMA memfds, the listening socket, each direct
 * client's socket and registered memfds, and two state memfds holding the
 * restart record (handover.c) with each descriptor named by its token.
 * The record is rewritten whenever the queue table changes (after every
 * request and every reclaim), in the older of the two memfds, body first
 * and header (sequence number, length, checksum) last: a crash in the
 * middle of a write leaves the other one whole. A word at the start of
 * each state memfd names the client whose request is being served: its
 * reply would be lost, so a successor drops that client.
 *
 * Names in the store: f<token> for a descriptor, s<token> for a state
 * memfd. A successor started with LISTEN_FDS takes the newest whole record,
 * maps tokens to the descriptors it was passed, keeps the names (the store
 * is not rewritten) and closes what the record does not name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "homid.h"
#include "sd.h"
#include "util/err.h"

#define ST_MAGIC 0x5244434du /* "MCDR" */
#define ST_VERSION 1
#define ST_HDR_OFF 64	/* the busy word is at 0 */
#define ST_BODY_OFF 128
#define ST_MAX (64u << 20)

struct st_hdr {
	uint32_t magic;
	uint32_t version;
	uint64_t seq;
	uint64_t len;
	uint64_t sum; /* FNV-1a 64 of the body */
};

static struct {
	int on;
	long max;	  /* $FDSTORE (FileDescriptorStoreMax=), 0: not told */
	long count;
	int warned;
	uint32_t next;	  /* next token */
	uint32_t *token;  /* by descriptor; 0: not in the store */
	uint8_t *kind;	  /* HOMID_STORE_* by descriptor */
	int cap;
	int state[2];	  /* state memfds, -1 */
	uint32_t *busy[2];
	uint64_t seq;
	int cur;	  /* the one written last */
	int hold;	  /* a restart in progress: the record waits for its end */
} st = { .next = 1, .state = { -1, -1 } };

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

int homid_store_init(void)
{
	const char *e = getenv("NOTIFY_SOCKET"), *m = getenv("FDSTORE");

	if (!e || !*e)
		return 0;
	if (m) {
		st.max = strtol(m, NULL, 10);
		if (st.max <= 0) {
			LOG_WARN("systemd's file descriptor store is off (FileDescriptorStoreMax=0): a "
				 "crash of homid keeps nothing");
			return 0;
		}
	}
	st.on = 1;
	LOG_INFO("crash survival: systemd's file descriptor store (%s%ld descriptors)",
		 st.max ? "" : "capacity not told, ", st.max);
	return 1;
}

int homid_store_active(void)
{
	return st.on;
}

static int grow(int fd)
{
	int cap = st.cap ? st.cap : 256;
	uint32_t *t;
	uint8_t *k;

	while (cap <= fd)
		cap *= 2;
	t = realloc(st.token, (size_t)cap * sizeof(*t));
	if (!t)
		return -ENOMEM;
	st.token = t;
	k = realloc(st.kind, (size_t)cap);
	if (!k)
		return -ENOMEM;
	st.kind = k;
	memset(st.token + st.cap, 0, (size_t)(cap - st.cap) * sizeof(*t));
	memset(st.kind + st.cap, 0, (size_t)(cap - st.cap));
	st.cap = cap;
	return 0;
}

static void fdname(char *out, size_t cap, int kind, uint32_t token)
{
	snprintf(out, cap, "%c%u", kind == HOMID_STORE_STATE ? 's' : 'f', token);
}

/* Record @fd as @token (an adopted descriptor: already in the store under its name). */
void homid_store_adopt(int fd, uint32_t token, int kind)
{
	if (!st.on || fd < 0 || !token || (fd >= st.cap && grow(fd)))
		return;
	if (!st.token[fd])
		st.count++;
	st.token[fd] = token;
	st.kind[fd] = (uint8_t)kind;
	if (token >= st.next)
		st.next = token + 1;
	if (kind == HOMID_STORE_STATE) {
		int slot = st.state[0] < 0 ? 0 : 1;
		struct st_hdr hdr;
		void *p;

		if (st.state[slot] >= 0) {
			homid_store_close(fd); /* a third one: the record uses two */
			return;
		}
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			LOG_WARN("state memfd: %s", strerror(errno));
			homid_store_close(fd);
			return;
		}
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		st.state[slot] = fd;
		st.busy[slot] = p;
		/* go on from the newest record: the next one goes into the other memfd */
		if (pread(fd, &hdr, sizeof(hdr), ST_HDR_OFF) == (ssize_t)sizeof(hdr) &&
		    hdr.magic == ST_MAGIC && hdr.version == ST_VERSION && hdr.seq >= st.seq) {
			st.seq = hdr.seq;
			st.cur = slot;
		}
	}
}

void homid_store_add(int fd, int kind)
{
	char msg[64], name[24];
	uint32_t t;
	int err;

	if (!st.on || fd < 0)
		return;
	if (fd >= st.cap && grow(fd)) {
		LOG_ERR("out of memory for the descriptor store's names");
		return;
	}
	if (st.token[fd])
		return;
	t = st.next++;
	fdname(name, sizeof(name), kind, t);
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	err = homid_sd_notify(msg, &fd, 1);
	if (err < 0) {
		LOG_WARN("descriptor store: %s; a crash would lose descriptor %d", aisio_errmsg(), fd);
		return;
	}
	st.token[fd] = t;
	st.kind[fd] = (uint8_t)kind;
	st.count++;
	if (st.max && st.count > st.max && !st.warned) {
		st.warned = 1;
		LOG_WARN("descriptor store: %ld descriptors kept, more than FileDescriptorStoreMax=%ld: "
			 "systemd drops the rest, and a crash loses what they hold; raise it in "
			 "homid.service", st.count, st.max);
	}
}

void homid_store_remove(int fd)
{
	char msg[64], name[24];

	if (!st.on || fd < 0 || fd >= st.cap || !st.token[fd])
		return;
	fdname(name, sizeof(name), st.kind[fd], st.token[fd]);
	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
	if (homid_sd_notify(msg, NULL, 0) < 0)
		LOG_WARN("descriptor store: %s", aisio_errmsg());
	st.token[fd] = 0;
	st.count--;
}

void homid_store_close(int fd)
{
	if (fd < 0)
		return;
	homid_store_remove(fd);
	close(fd);
}

uint32_t homid_store_token(int fd)
{
	return st.on && fd >= 0 && fd < st.cap ? st.token[fd] : 0;
}

int homid_store_list(struct homid_store_fd **out)
{
	int n = 0;

	*out = NULL;
	if (!st.on || !st.count)
		return 0;
	*out = calloc((size_t)st.count, sizeof(**out));
	if (!*out)
		return aisio_err(-ENOMEM, "out of memory");
	for (int fd = 0; fd < st.cap && n < st.count; fd++)
		if (st.token[fd])
			(*out)[n++] = (struct homid_store_fd){ .fd = fd, .token = st.token[fd],
							       .kind = st.kind[fd] };
	return n;
}

void homid_store_clear(void)
{
	for (int fd = 0; st.on && fd < st.cap; fd++)
		homid_store_remove(fd);
	for (int i = 0; i < 2; i++) {
		if (st.busy[i])
			munmap(st.busy[i], 4096);
		st.busy[i] = NULL;
		if (st.state[i] >= 0)
			close(st.state[i]);
		st.state[i] = -1;
	}
	st.on = 0;
}

static int state_create(void)
{
	for (int i = 0; i < 2; i++) {
		int fd;
		void *p;

		if (st.state[i] >= 0)
			continue;
		fd = memfd_create("homid-crash-record", MFD_CLOEXEC);
		if (fd < 0)
			return aisio_err(-errno, "memfd_create: %s", strerror(errno));
		if (ftruncate(fd, 4096) ||
		    (p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
			int err = aisio_err(-errno, "the crash record's memfd: %s", strerror(errno));

			close(fd);
			return err;
		}
		st.state[i] = fd;
		st.busy[i] = p;
		homid_store_add(fd, HOMID_STORE_STATE);
	}
	return 0;
}

void homid_store_sync(struct homid *h)
{
	struct st_hdr hdr = { .magic = ST_MAGIC, .version = ST_VERSION };
	uint8_t *buf;
	size_t len;
	int slot, err;

	if (!st.on || st.hold)
		return;
	err = state_create() ?: homid_handover_encode(h, &buf, &len);
	if (err) {
		LOG_ERR("crash record not written: %s", aisio_errmsg());
		return;
	}
	slot = !st.cur;
	hdr.seq = ++st.seq;
	hdr.len = len;
	hdr.sum = fnv(buf, len);
	if (pwrite(st.state[slot], buf, len, ST_BODY_OFF) != (ssize_t)len ||
	    pwrite(st.state[slot], &hdr, sizeof(hdr), ST_HDR_OFF) != (ssize_t)sizeof(hdr))
		LOG_ERR("crash record not written: %s", strerror(errno));
	else
		st.cur = slot;
	free(buf);
}

void homid_store_hold(int on)
{
	st.hold = on;
}

void homid_store_busy(int sock)
{
	uint32_t t = homid_store_token(sock);

	for (int i = 0; i < 2; i++)
		if (st.busy[i])
			__atomic_store_n(st.busy[i], t, __ATOMIC_RELEASE);
}

void homid_sd_state(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (homid_sd_notify(msg, NULL, 0) < 0)
		LOG_WARN("sd_notify: %s", aisio_errmsg());
}

/* ---- a successor: the descriptors passed (LISTEN_FDS) ---------------------------- */

struct passed {
	int fd;
	int kind;
	uint32_t token;
	int used;
};

struct passed_set {
	struct passed *p;
	int n;
};

static int passed_map(void *arg, uint32_t token)
{
	struct passed_set *ps = arg;

	for (int i = 0; i < ps->n; i++)
		if (ps->p[i].kind == HOMID_STORE_FD && ps->p[i].token == token) {
			ps->p[i].used = 1;
			return ps->p[i].fd;
		}
	return -1;
}

/* The newest whole record among the state memfds: its body (malloc'd) and busy token. */
static int read_record(struct passed_set *ps, uint8_t **body, size_t *len, uint32_t *busy,
		       uint64_t *seq)
{
	int best = -1;

	*body = NULL;
	for (int i = 0; i < ps->n; i++) {
		struct st_hdr hdr;
		struct stat sb;
		uint8_t *b;

		if (ps->p[i].kind != HOMID_STORE_STATE || fstat(ps->p[i].fd, &sb) ||
		    pread(ps->p[i].fd, &hdr, sizeof(hdr), ST_HDR_OFF) != (ssize_t)sizeof(hdr) ||
		    hdr.magic != ST_MAGIC || hdr.version != ST_VERSION || hdr.len > ST_MAX ||
		    (uint64_t)sb.st_size < ST_BODY_OFF + hdr.len || (best >= 0 && hdr.seq <= *seq))
			continue;
		b = malloc(hdr.len ? hdr.len : 1);
		if (!b)
			return aisio_err(-ENOMEM, "out of memory");
		if (pread(ps->p[i].fd, b, hdr.len, ST_BODY_OFF) != (ssize_t)hdr.len ||
		    fnv(b, hdr.len) != hdr.sum) {
			LOG_WARN("crash record %u: cut short or damaged (a crash while it was written); "
				 "taking the other one", ps->p[i].token);
			free(b);
			continue;
		}
		free(*body);
		*body = b;
		*len = hdr.len;
		*seq = hdr.seq;
		if (pread(ps->p[i].fd, busy, sizeof(*busy), 0) != (ssize_t)sizeof(*busy))
			*busy = 0;
		best = i;
	}
	return best < 0 ? aisio_err(-ENOENT, "no whole crash record among the descriptors passed") : 0;
}

int homid_store_restore(struct homid_handover **out)
{
	struct passed_set ps = { 0 };
	char **names = NULL;
	uint8_t *body = NULL;
	size_t len = 0;
	uint32_t busy = 0;
	uint64_t seq = 0;
	int n, err, nstate = 0, unused = 0;

	*out = NULL;
	n = homid_sd_listen_fds(1, &names);
	if (n <= 0)
		return n;
	ps.p = calloc((size_t)n, sizeof(*ps.p));
	if (!ps.p) {
		free(names);
		return aisio_err(-ENOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		struct passed *p = &ps.p[ps.n];
		char *end;

		p->fd = HOMID_SD_LISTEN_START + i;
		p->kind = names[i][0] == 's' ? HOMID_STORE_STATE : names[i][0] == 'f' ? HOMID_STORE_FD : -1;
		errno = 0;
		p->token = (uint32_t)strtoul(names[i] + (p->kind >= 0), &end, 10);
		if (p->kind < 0 || errno || *end || !p->token) {
			LOG_WARN("descriptor %d passed as '%s': not a name homid gives; closing it",
				 p->fd, names[i]);
			close(p->fd);
			continue;
		}
		nstate += p->kind == HOMID_STORE_STATE;
		ps.n++;
	}
	free(names);
	err = read_record(&ps, &body, &len, &busy, &seq);
	if (!err)
		err = homid_handover_parse(body, len, out);
	free(body);
	if (!err)
		err = homid_handover_remap(*out, passed_map, &ps, busy);
	if (err) {
		/* nothing to take over: a fresh start, and a store with nothing stale in it */
		char why[256];

		snprintf(why, sizeof(why), "%s", aisio_errmsg());
		homid_handover_free(*out);
		*out = NULL;
		for (int i = 0; i < ps.n; i++) {
			char msg[64], name[24];

			fdname(name, sizeof(name), ps.p[i].kind, ps.p[i].token);
			snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
			homid_sd_notify(msg, NULL, 0);
			close(ps.p[i].fd);
		}
		free(ps.p);
		LOG_WARN("%d descriptor(s) passed, but %s: starting fresh", n, why);
		return 0;
	}
	for (int i = 0; i < ps.n; i++) {
		struct passed *p = &ps.p[i];

		homid_store_adopt(p->fd, p->token, p->kind);
		/* a descriptor stored after the last record was written: nobody needs it */
		if (p->kind == HOMID_STORE_FD && !p->used) {
			homid_store_close(p->fd);
			unused++;
		}
	}
	LOG_INFO("restarted after a crash: %d descriptor(s) passed, record %llu (%zu bytes), %d "
		 "descriptor(s) it does not name closed", n, (unsigned long long)seq, len, unused);
	free(ps.p);
	return 1;
}
