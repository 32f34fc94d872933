/* SPDX-License-Identifier: MIT */
/*
 * emu: device URIs:
 *   emu:SIZE[,lbads=9|12|512|4096][,file=PATH][,null][,nns=N][,latency_us=N]
 *       [,iops=N][,bw=BYTES/s][,mdts=N][,mqes=N][,nqueues=N][,threads=N]
 *       [,gpu_direct=0|1|eager]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/priv.h"
#include "util/err.h"
#include "util/size.h"

#define EMU_OPTS_HELP                                                                          \
	"lbads=9|12, file=PATH, null, nns=N, latency_us=N, iops=N, bw=BYTES, mdts=N, mqes=N, " \
	"nqueues=N, threads=N, gpu_direct=0|1|eager"

static int parse_u32(const char *spec, const char *key, const char *s, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	/* Counts take no unit: latency_us=1k would be a puzzle. */
	int err = aisio_parse_count(s, n, 0, UINT32_MAX, &v);

	*out = (uint32_t)v;
	return err ? aisio_err(-EINVAL, "emu:%s: %s needs a number from 0 to %u, not '%.*s'", spec,
			       key, UINT32_MAX, (int)n, s) : 0;
}

int aisio_emu_parse_uri(const char *spec, struct aisio_emu_opts *o, char **file_out)
{
	const char *p = spec, *end;
	char *file = NULL;
	int err;

	*file_out = NULL;
	if (!spec || !*spec)
		return aisio_err(-EINVAL, "emu: missing size: use emu:SIZE, e.g. emu:64M");
	end = strchr(p, ',');
	if (!end)
		end = p + strlen(p);
	if (aisio_parse_size_n(p, (size_t)(end - p), &o->ns_size) || !o->ns_size)
		return aisio_err(-EINVAL, "emu:%s: bad size '%.*s': give " AISIO_SIZE_HELP ", greater than 0",
				 spec, (int)(end - p), p);
	p = *end ? end + 1 : end;
	while (*p) {
		const char *eq, *val;
		size_t klen, vlen;

		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		klen = (size_t)((eq ? eq : end) - p);
		val = eq ? eq + 1 : end;
		vlen = (size_t)(end - val);
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(p, k, klen))
		if (KEY("null") && !eq) {
			o->backing = AISIO_EMU_NULL;
		} else if (!eq) {
			err = aisio_err(-EINVAL,
					"emu:%s: unknown option '%.*s'; options: " EMU_OPTS_HELP,
					spec, (int)klen, p);
			goto err;
		} else if (KEY("file")) {
			if (!vlen) {
				err = aisio_err(-EINVAL, "emu:%s: file= needs a path", spec);
				goto err;
			}
			free(file);
			file = strndup(val, vlen);
			if (!file) {
				err = aisio_err(-ENOMEM, "emu: out of memory");
				goto err;
			}
			if (o->backing != AISIO_EMU_NULL)
				o->backing = AISIO_EMU_FILE;
		} else if (KEY("lbads")) {
			uint32_t v;

			err = parse_u32(spec, "lbads", val, vlen, &v);
			if (err)
				goto err;
			if (v == 9 || v == 512)
				o->lba_shift = 9;
			else if (v == 12 || v == 4096)
				o->lba_shift = 12;
			else {
				err = aisio_err(-EINVAL,
						"emu:%s: lbads=%u: use 9 or 512, 12 or 4096", spec,
						v);
				goto err;
			}
		} else if (KEY("bw")) {
			if (aisio_parse_size_n(val, vlen, &o->bw)) {
				err = aisio_err(-EINVAL,
						"emu:%s: bw needs bytes per second (" AISIO_SIZE_HELP
						"), not '%.*s'",
						spec, (int)vlen, val);
				goto err;
			}
		} else if (KEY("gpu_direct")) {
			if (vlen == 5 && !memcmp(val, "eager", 5)) {
				o->gpu_direct = 2;
			} else if (vlen == 1 && (*val == '0' || *val == '1')) {
				o->gpu_direct = (uint32_t)(*val - '0');
			} else {
				err = aisio_err(-EINVAL,
						"emu:%s: gpu_direct=%.*s: use 0 (staging copies only), 1 "
						"(store pinned as it is reached) or eager (pinned at start)",
						spec, (int)vlen, val);
				goto err;
			}
		} else if (KEY("iops")) {
			uint32_t v;

			err = parse_u32(spec, "iops", val, vlen, &v);
			if (err)
				goto err;
			o->iops = v;
		} else if (KEY("nns") || KEY("latency_us") || KEY("mdts") || KEY("mqes") ||
			   KEY("nqueues") || KEY("threads")) {
			uint32_t v, *dst = KEY("nns")	     ? &o->nns :
					   KEY("latency_us") ? &o->latency_us :
					   KEY("mdts")	     ? &o->mdts :
					   KEY("mqes")	     ? &o->mqes :
					   KEY("nqueues")    ? &o->nqueues :
							       &o->threads;
			char key[16];

			snprintf(key, sizeof(key), "%.*s", (int)klen, p);
			err = parse_u32(spec, key, val, vlen, &v);
			if (err)
				goto err;
			*dst = v;
		} else {
			err = aisio_err(-EINVAL,
					"emu:%s: unknown option '%.*s'; options: " EMU_OPTS_HELP,
					spec, (int)klen, p);
			goto err;
		}
#undef KEY
		p = *end ? end + 1 : end;
	}
	if (file && o->backing == AISIO_EMU_NULL) {
		err = aisio_err(-EINVAL, "emu:%s: 'null' and 'file=' exclude each other", spec);
		goto err;
	}
	if (o->backing == AISIO_EMU_FILE && !file) {
		err = aisio_err(-EINVAL, "emu:%s: file-backed namespace without a path", spec);
		goto err;
	}
	o->file = file;
	*file_out = file;
	return 0;
err:
	free(file);
	return err;
}

int aisio_emu_open_uri(const char *spec, struct aisio_emu_ctrl **ctrl)
{
	struct aisio_emu_opts o;
	char *file;
	int err;

	*ctrl = NULL;
	aisio_emu_opts_init(&o);
	err = aisio_emu_parse_uri(spec, &o, &file);
	if (err)
		return err;
	err = aisio_emu_ctrl_create(&o, ctrl);
	free(file); /* the controller keeps its own copy */
	return err;
}
