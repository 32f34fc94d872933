/* SPDX-License-Identifier: MIT */
/*
 * The aisio Python extension (_aisio): shared declarations. Built against the
 * stable ABI (Py_LIMITED_API, Python >= 3.11, which has the buffer protocol).
 */
#ifndef AISIO_PY_MOD_H
#define AISIO_PY_MOD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stddef.h>
#include <stdint.h>

#include <aisio/aisio.h>

/* Module state: types and the exception class. */
struct py_state {
	PyObject *Error;       /* aisio.Error, a subclass of OSError */
	PyObject *DeviceType;
	PyObject *BufferType;
	PyObject *BatchType;
	PyObject *FileType;
	PyObject *FutureType;
};

extern struct PyModuleDef py_module_def;
struct py_state *py_state_of(PyObject *module);
/* The state of the module that owns @type (heap types made by this module). */
struct py_state *py_state_of_type(PyTypeObject *type);

/*
 * Raise aisio.Error(errno, "WHAT: MSG") where MSG is the library's message
 * (aisio_errmsg()) for @err < 0 and the command status text for @err > 0
 * (NVMe status: errno EIO). Returns NULL.
 */
PyObject *py_raise(struct py_state *st, int err, const char *fmt, ...);
/* Same, with the message given as is (no library message appended). */
PyObject *py_raise_msg(struct py_state *st, int err, const char *msg);

/* ---- Device ---- */
struct py_dev {
	PyObject_HEAD
	struct aisio_dev *dev;
	struct aisio_queue *q;      /* the queue of blocking read/write (lock held) */
	PyThread_type_lock lock;
	uint32_t lba_size, max_xfer, nsid;
	uint64_t nlbas;
	Py_ssize_t nbatches;        /* open batches (each holds a queue) */
	Py_ssize_t nfiles;          /* open DeviceFiles (each holds handles and queues) */
	int closed;                 /* close() called: no new I/O; the device goes with the last buffer/batch/file */
	/* DMA buffers allocated through alloc(): ranges used without a copy */
	struct py_dma_range { uintptr_t va; size_t len; } *dma;
	Py_ssize_t ndma, dma_cap;
};
int py_dev_init_type(PyObject *m, struct py_state *st);
/* Whether [p, p + len) lies inside one buffer of dev.alloc(). */
int py_dev_is_dma(struct py_dev *d, const void *p, size_t len);
int py_dev_dma_add(struct py_dev *d, void *p, size_t len); /* 0 or -1 (no memory) */
void py_dev_dma_del(struct py_dev *d, void *p);
/* 0, or -1 with an exception when the device is closed. */
int py_dev_check_open(struct py_dev *d);
/* Close the device once close() was called and no buffer, batch or DeviceFile uses it. */
void py_dev_maybe_shut(struct py_dev *d);

/* ---- Buffers: host (buffer protocol) or GPU (__cuda_array_interface__, DLPack) ---- */
struct py_ubuf {
	char *ptr;
	size_t len;
	int gpu;            /* 1: GPU memory (CUDA device pointer) */
	int have_view;      /* view must be released */
	Py_buffer view;
	PyObject *keep;     /* owner of GPU memory (DLPack capsule or the object) */
	void *dl;           /* DLPack managed tensor to release (NULL if none) */
};
/*
 * Take @obj's memory: for writing into it when @writable. Returns 0 or -1
 * with an exception. Release with py_ubuf_release() (GIL held).
 */
int py_ubuf_get(PyObject *obj, int writable, struct py_ubuf *b);
void py_ubuf_release(struct py_ubuf *b);
int py_buffer_init_type(PyObject *m, struct py_state *st);
/* dev.alloc(nbytes) */
PyObject *py_buffer_new(struct py_dev *d, Py_ssize_t len);

/* ---- CUDA (driver API loaded at first use) ---- */
/*
 * Copy between host and GPU memory with the CUDA driver, loaded with dlopen
 * at first use so that the module imports on machines without CUDA. The
 * context is the primary context of the device that owns @gpu.
 * Return 0 or -errno with a message for aisio_errmsg()-style reporting in @why.
 */
int py_cuda_htod(void *gpu, const void *host, size_t len, char *why, size_t whylen);
int py_cuda_dtoh(void *host, const void *gpu, size_t len, char *why, size_t whylen);
/*
 * Whether @gpu is memory of a GPU that the CUDA driver here can copy to:
 * 0, or -errno (no driver or GPU: -ENOTSUP/-ENODEV; an address CUDA does
 * not know: -EIO) with the reason in @why. Checked before any I/O starts.
 */
int py_cuda_probe(const void *gpu, char *why, size_t whylen);

/* ---- Batch ---- */
int py_batch_init_type(PyObject *m, struct py_state *st);
PyObject *py_batch_new(struct py_dev *d, uint32_t depth);

/* ---- Files and futures ---- */
int py_file_init_type(PyObject *m, struct py_state *st);
/* Device.open_file(path, image=False, queues=4, fallback=False) -> aisio.DeviceFile (efile.c) */
PyObject *py_dev_open_file(PyObject *self, PyObject *args, PyObject *kw);
int py_efile_init_type(PyObject *m);

/* ---- Pattern ---- */
extern PyMethodDef py_pattern_methods[];

#endif
