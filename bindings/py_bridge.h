// Glue between CPython and the core: C++ exceptions become Python exceptions, and
// Python buffers (numpy arrays) become tensors without a copy.
#pragma once

#include <Python.h>

#include <new>
#include <string>

#include "engine/engine.h"

// Thrown when a CPython call already set the Python exception; the handler keeps it.
struct PythonErrorAlreadySet {};

// Used as `except +engine_raise_py_error` on every core call: runs inside the C++ catch
// block and sets the matching Python exception with the core's message.
static inline void engine_raise_py_error() {
  try {
    throw;
  } catch (const PythonErrorAlreadySet&) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "engine: lost Python error");
  } catch (const engine::Error& e) {
    if (e.kind() == engine::ErrorKind::OS) {
      // OSError(errno, message, filename) becomes FileNotFoundError, IsADirectoryError, ...
      PyObject* args = Py_BuildValue("(isN)", e.os_errno(), e.what(),
                                     PyUnicode_DecodeFSDefault(e.path().c_str()));
      if (args != nullptr) {
        PyErr_SetObject(PyExc_OSError, args);
        Py_DECREF(args);
      }
      return;
    }
    PyObject* type = PyExc_RuntimeError;
    switch (e.kind()) {
      case engine::ErrorKind::Value: type = PyExc_ValueError; break;
      case engine::ErrorKind::Type: type = PyExc_TypeError; break;
      case engine::ErrorKind::Memory: type = PyExc_MemoryError; break;
      case engine::ErrorKind::NotImplemented: type = PyExc_NotImplementedError; break;
      case engine::ErrorKind::FloatingPoint: type = PyExc_FloatingPointError; break;
      case engine::ErrorKind::Runtime:
      case engine::ErrorKind::OS: type = PyExc_RuntimeError; break;
    }
    PyErr_SetString(type, e.what());
  } catch (const std::bad_alloc&) {
    PyErr_SetString(PyExc_MemoryError, "engine: out of memory");
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, "engine: unknown C++ exception");
  }
}

// Views an object exporting the buffer protocol (a numpy array of the given dtype) as a
// tensor that keeps the exporter alive; the buffer is released, under the GIL, with the
// last view. Call with the GIL held.
static inline engine::Tensor engine_tensor_from_object(PyObject* obj, engine::DType dtype) {
  Py_buffer* view = new Py_buffer();
  if (PyObject_GetBuffer(obj, view, PyBUF_RECORDS_RO) != 0) {
    delete view;
    throw PythonErrorAlreadySet();
  }
  engine::Shape shape(view->ndim), strides(view->ndim);
  const Py_ssize_t item = view->itemsize;
  for (int i = 0; i < view->ndim; ++i) {
    shape[i] = view->shape[i];
    if (view->strides[i] % item != 0) {
      PyBuffer_Release(view);
      delete view;
      engine::fail(engine::ErrorKind::Value, "array strides are not a multiple of its item size");
    }
    strides[i] = view->strides[i] / item;
  }
  auto storage = engine::Storage::wrap(view->buf, static_cast<size_t>(view->len), [view] {
    PyGILState_STATE gil = PyGILState_Ensure();
    PyBuffer_Release(view);
    PyGILState_Release(gil);
    delete view;
  });
  return engine::Tensor::from_storage(storage, 0, shape, strides, dtype);
}
