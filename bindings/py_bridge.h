// Glue between CPython and the core: C++ exceptions become Python exceptions, and
// Python buffers (numpy arrays) become tensors without a copy.
#pragma once

#include <Python.h>

#include <memory>
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

// A Communicator whose collectives are methods of a Python object (engine.distribute's
// MPI communicator, on mpi4py): allreduce_sum(buffer), broadcast(buffer, root) and
// barrier(), the buffers being writable memoryviews of the core's host memory. Called by
// the executor with the GIL released; each call takes it. A method that raises makes the
// call throw with that Python exception kept.
class PyCommunicator : public engine::Communicator {
 public:
  explicit PyCommunicator(PyObject* target) : target_(target) {
    Py_INCREF(target_);
    rank_ = int_attribute("rank");
    size_ = int_attribute("size");
  }
  ~PyCommunicator() override {
    PyGILState_STATE gil = PyGILState_Ensure();
    Py_DECREF(target_);
    PyGILState_Release(gil);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(float* data, int64_t count) override {
    call("allreduce_sum", data, count * static_cast<int64_t>(sizeof(float)), nullptr);
  }
  void broadcast(void* data, int64_t bytes, int root) override {
    call("broadcast", data, bytes, PyLong_FromLong(root));
  }
  void barrier() override { call("barrier", nullptr, 0, nullptr); }

 private:
  int int_attribute(const char* name) {
    PyObject* value = PyObject_GetAttrString(target_, name);
    if (value == nullptr) throw PythonErrorAlreadySet();
    const long v = PyLong_AsLong(value);
    Py_DECREF(value);
    if (v == -1 && PyErr_Occurred()) throw PythonErrorAlreadySet();
    return static_cast<int>(v);
  }
  // target.method([memoryview of data[:bytes]], [extra]); `extra` is a new reference.
  void call(const char* method, void* data, int64_t bytes, PyObject* extra) {
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject* result = nullptr;
    PyObject* view = data == nullptr ? nullptr
                                     : PyMemoryView_FromMemory(static_cast<char*>(data),
                                                               static_cast<Py_ssize_t>(bytes),
                                                               PyBUF_WRITE);
    if (data == nullptr || view != nullptr)
      result = PyObject_CallMethod(target_, method, view == nullptr ? "()" : extra ? "(OO)" : "(O)",
                                   view, extra);
    Py_XDECREF(view);
    Py_XDECREF(extra);
    const bool failed = result == nullptr;
    Py_XDECREF(result);
    PyGILState_Release(gil);
    if (failed) throw PythonErrorAlreadySet();
  }

  PyObject* target_;
  int rank_ = 0;
  int size_ = 1;
};

static inline std::shared_ptr<engine::Communicator> engine_py_communicator(PyObject* target) {
  return std::make_shared<PyCommunicator>(target);
}
