/* SPDX-License-Identifier: MIT */
/*
 * Copies between host and GPU memory through the CUDA driver (libcuda.so.1),
 * loaded at the first GPU buffer so that the module needs no CUDA to import.
 * Only the driver API's C ABI is used: handles are opaque pointers, results
 * are ints (0 = CUDA_SUCCESS).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mod.h"

typedef int cu_result;
typedef unsigned long long cu_ptr;
typedef void *cu_ctx;

#define CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL 9
#define PY_CUDA_MAX_GPUS 64

static struct {
	pthread_once_t once;
	int err;
	char why[256];
	cu_result (*init)(unsigned);
	cu_result (*ptr_attr)(void *, int, cu_ptr);
	cu_result (*dev_get)(int *, int);
	cu_result (*primary_retain)(cu_ctx *, int);
	cu_result (*push)(cu_ctx);
	cu_result (*pop)(cu_ctx *);
	cu_result (*htod)(cu_ptr, const void *, size_t);
	cu_result (*dtoh)(void *, cu_ptr, size_t);
	cu_result (*err_str)(cu_result, const char **);
	pthread_mutex_t lock;
	cu_ctx ctx[PY_CUDA_MAX_GPUS];
} cu = { .once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER };

static void cu_load(void)
{
	void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		cu.err = -ENOTSUP;
		snprintf(cu.why, sizeof(cu.why), "GPU memory needs the CUDA driver, which is not loadable here (%s)",
			 dlerror());
		return;
	}
#define SYM(field, name)                                                                              \
	do {                                                                                          \
		*(void **)&cu.field = dlsym(h, name);                                                 \
		if (!cu.field) {                                                                      \
			cu.err = -ENOTSUP;                                                            \
			snprintf(cu.why, sizeof(cu.why), "the CUDA driver lacks %s", name);           \
			return;                                                                       \
		}                                                                                     \
	} while (0)
	SYM(init, "cuInit");
	SYM(ptr_attr, "cuPointerGetAttribute");
	SYM(dev_get, "cuDeviceGet");
	SYM(primary_retain, "cuDevicePrimaryCtxRetain");
	SYM(push, "cuCtxPushCurrent_v2");
	SYM(pop, "cuCtxPopCurrent_v2");
	SYM(htod, "cuMemcpyHtoD_v2");
	SYM(dtoh, "cuMemcpyDtoH_v2");
	SYM(err_str, "cuGetErrorString");
#undef SYM
	cu_result r = cu.init(0);
	if (r) {
		cu.err = -ENODEV;
		snprintf(cu.why, sizeof(cu.why), "the CUDA driver did not initialise (error %d): no usable GPU", r);
	}
}

static int cu_fail(cu_result r, const char *what, char *why, size_t whylen)
{
	const char *s = NULL;

	if (cu.err_str(r, &s) || !s)
		s = "unknown error";
	snprintf(why, whylen, "%s: CUDA error %d: %s", what, r, s);
	return -EIO;
}

/* Make the primary context of the GPU that owns @p current; 0 or -errno. */
static int cu_enter(const void *p, char *why, size_t whylen)
{
	int ord = 0, dev;
	cu_result r = 0;

	pthread_once(&cu.once, cu_load);
	if (cu.err) {
		snprintf(why, whylen, "%s", cu.why);
		return cu.err;
	}
	r = cu.ptr_attr(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, (cu_ptr)(uintptr_t)p);
	if (r)
		return cu_fail(r, "address is not GPU memory CUDA knows", why, whylen);
	if (ord < 0 || ord >= PY_CUDA_MAX_GPUS) {
		snprintf(why, whylen, "GPU %d is beyond the %d GPUs aisio handles", ord, PY_CUDA_MAX_GPUS);
		return -ENODEV;
	}
	pthread_mutex_lock(&cu.lock);
	if (!cu.ctx[ord]) {
		r = cu.dev_get(&dev, ord);
		if (!r)
			r = cu.primary_retain(&cu.ctx[ord], dev);
	}
	pthread_mutex_unlock(&cu.lock);
	if (r)
		return cu_fail(r, "cannot get the GPU's primary context", why, whylen);
	r = cu.push(cu.ctx[ord]);
	if (r)
		return cu_fail(r, "cannot make the GPU's context current", why, whylen);
	return 0;
}

static void cu_leave(void)
{
	cu_ctx c;

	cu.pop(&c);
}

int py_cuda_htod(void *gpu, const void *host, size_t len, char *why, size_t whylen)
{
	int err = cu_enter(gpu, why, whylen);

	if (err)
		return err;
	cu_result r = cu.htod((cu_ptr)(uintptr_t)gpu, host, len);
	cu_leave();
	return r ? cu_fail(r, "copy to GPU memory", why, whylen) : 0;
}

int py_cuda_dtoh(void *host, const void *gpu, size_t len, char *why, size_t whylen)
{
	int err = cu_enter(gpu, why, whylen);

	if (err)
		return err;
	cu_result r = cu.dtoh(host, (cu_ptr)(uintptr_t)gpu, len);
	cu_leave();
	return r ? cu_fail(r, "copy from GPU memory", why, whylen) : 0;
}

int py_cuda_probe(const void *gpu, char *why, size_t whylen)
{
	int err = cu_enter(gpu, why, whylen);

	if (err)
		return err;
	cu_leave();
	return 0;
}
