/* SPDX-License-Identifier: MIT */
/* The _aisio module: state, errors, aisio.open() and small functions. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "future.h"
#include "mod.h"

struct py_state *py_state_of(PyObject *module)
{
	return (struct py_state *)PyModule_GetState(module);
}

struct py_state *py_state_of_type(PyTypeObject *type)
{
	return (struct py_state *)PyType_GetModuleState(type);
}

PyObject *py_raise_msg(struct py_state *st, int err, const char *msg)
{
	/* NVMe status (positive): the device answered, the data did not move: EIO. */
	int e = err < 0 ? -err : EIO;
	PyObject *exc = PyObject_CallFunction(st->Error, "is", e, msg);

	PyObject *status = PyLong_FromLong(err);

	if (exc && status && PyObject_SetAttrString(exc, "status", status) == 0)
		PyErr_SetObject(st->Error, exc);
	Py_XDECREF(status);
	Py_XDECREF(exc);
	return NULL;
}

PyObject *py_raise(struct py_state *st, int err, const char *fmt, ...)
{
	char what[512], msg[1100];
	const char *lib = err < 0 ? aisio_errmsg() : aisio_status_str(err);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err < 0 && !lib[0])
		lib = strerror(-err);
	snprintf(msg, sizeof(msg), "%s: %s", what, lib);
	return py_raise_msg(st, err, msg);
}

static PyObject *mod_open(PyObject *m, PyObject *args, PyObject *kw)
{
	return PyObject_Call(py_state_of(m)->DeviceType, args, kw);
}

static PyObject *mod_status_str(PyObject *m, PyObject *args)
{
	int status;

	if (!PyArg_ParseTuple(args, "i:status_str", &status))
		return NULL;
	return PyUnicode_FromString(aisio_status_str(status));
}

static PyObject *mod_cuda_copy_test(PyObject *m, PyObject *args);

static PyMethodDef mod_methods[] = {
	{ "open", (PyCFunction)(void (*)(void))mod_open, METH_VARARGS | METH_KEYWORDS,
	  "open(uri, *, backend=None, nsid=0, create=False, timeout_ms=0) -> aisio.Device" },
	{ "status_str", mod_status_str, METH_VARARGS,
	  "status_str(status) -> str\n\nText for a command status: 0, -errno, or NVMe status SCT << 8 | SC." },
	{ "_gpu_pointer", mod_cuda_copy_test, METH_VARARGS,
	  "_gpu_pointer(obj) -> (address, nbytes, is_gpu)\n\nHow aisio sees obj's memory (for tests)." },
	{ NULL }
};

static PyObject *mod_cuda_copy_test(PyObject *m, PyObject *args)
{
	PyObject *obj, *r;
	struct py_ubuf b;

	if (!PyArg_ParseTuple(args, "O:_gpu_pointer", &obj))
		return NULL;
	if (py_ubuf_get(obj, 0, &b))
		return NULL;
	r = Py_BuildValue("(KnO)", (unsigned long long)(uintptr_t)b.ptr, (Py_ssize_t)b.len, b.gpu ? Py_True : Py_False);
	py_ubuf_release(&b);
	return r;
}

static int mod_exec(PyObject *m)
{
	struct py_state *st = py_state_of(m);

	st->Error = PyErr_NewExceptionWithDoc("aisio.Error",
		"An aisio call failed. errno and strerror as OSError; strerror carries the library's message; "
		"status is the command status (-errno, or NVMe status SCT << 8 | SC when positive).",
		PyExc_OSError, NULL);
	if (!st->Error || PyModule_AddObjectRef(m, "Error", st->Error))
		return -1;
	if (py_dev_init_type(m, st) || py_buffer_init_type(m, st) || py_batch_init_type(m, st) ||
	    py_future_init_type(m, st) || py_file_init_type(m, st) || py_efile_init_type(m))
		return -1;
	if (PyModule_AddFunctions(m, py_pattern_methods))
		return -1;
	return 0;
}

static int mod_traverse(PyObject *m, visitproc visit, void *arg)
{
	struct py_state *st = py_state_of(m);

	Py_VISIT(st->Error);
	Py_VISIT(st->DeviceType);
	Py_VISIT(st->BufferType);
	Py_VISIT(st->BatchType);
	Py_VISIT(st->FileType);
	Py_VISIT(st->FutureType);
	return 0;
}

static int mod_clear(PyObject *m)
{
	struct py_state *st = py_state_of(m);

	Py_CLEAR(st->Error);
	Py_CLEAR(st->DeviceType);
	Py_CLEAR(st->BufferType);
	Py_CLEAR(st->BatchType);
	Py_CLEAR(st->FileType);
	Py_CLEAR(st->FutureType);
	return 0;
}

static PyModuleDef_Slot mod_slots[] = {
	{ Py_mod_exec, mod_exec },
	{ 0, NULL }
};

struct PyModuleDef py_module_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "aisio._aisio",
	.m_doc = "libaisio from Python: devices by URI, blocking and batched NVMe I/O, files, dataset patterns.",
	.m_size = sizeof(struct py_state),
	.m_methods = mod_methods,
	.m_slots = mod_slots,
	.m_traverse = mod_traverse,
	.m_clear = mod_clear,
};

PyMODINIT_FUNC PyInit__aisio(void)
{
	return PyModuleDef_Init(&py_module_def);
}
