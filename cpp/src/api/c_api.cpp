// The C API (engine/c_api.h) over the C++ sessions (engine/session.h) and .npy helpers.
//
// Every entry point runs its body through `guarded`, which turns each C++ exception into an
// eng_status and the calling thread's error message, so no exception crosses into C. Bodies
// write their output arguments last, after everything that can fail, so that a failed call
// leaves them unchanged.
#include "engine/c_api.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/npy.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "engine/status.h"

namespace {

using engine::DType;
using engine::ErrorKind;
using engine::Tensor;
using engine::TensorInfo;

// The calling thread's last error. `t_error_message` points into `t_error` normally, or at a
// fixed text when even storing the message ran out of memory.
thread_local std::string t_error;
thread_local const char* t_error_message = "";

// Thrown for a NULL required argument; `what()` names the argument.
struct NullArgument : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class T>
void require(const T* pointer, const char* name) {
  if (pointer == nullptr) throw NullArgument(name);
}

eng_status status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Value: return ENG_ERROR_VALUE;
    case ErrorKind::Type: return ENG_ERROR_TYPE;
    case ErrorKind::Memory: return ENG_ERROR_MEMORY;
    case ErrorKind::NotImplemented: return ENG_ERROR_NOT_IMPLEMENTED;
    case ErrorKind::OS: return ENG_ERROR_OS;
    case ErrorKind::FloatingPoint: return ENG_ERROR_FLOATING_POINT;
    case ErrorKind::Runtime: break;
  }
  return ENG_ERROR_RUNTIME;
}

eng_status set_error(eng_status status, const char* function, const char* message,
                     const char* suffix = "") noexcept {
  try {
    t_error.assign(function).append(": ").append(message).append(suffix);
    t_error_message = t_error.c_str();
  } catch (...) {
    t_error_message = "out of memory (storing an error message failed)";
  }
  return status;
}

// Runs `body`, mapping what it throws to a status and the thread's error message.
template <class Body>
eng_status guarded(const char* function, Body&& body) noexcept {
  try {
    body();
    return ENG_OK;
  } catch (const NullArgument& e) {
    return set_error(ENG_ERROR_NULL, function, e.what(), " is NULL");
  } catch (const engine::Error& e) {
    return set_error(status_of(e.kind()), function, e.what());
  } catch (const std::bad_alloc&) {
    return set_error(ENG_ERROR_MEMORY, function, "out of memory");
  } catch (const std::exception& e) {
    return set_error(ENG_ERROR_RUNTIME, function, e.what());
  } catch (...) {
    return set_error(ENG_ERROR_RUNTIME, function, "unknown C++ exception");
  }
}

std::string indexed(const char* array, size_t index) {
  return engine::str(array, "[", index, "]");
}

// A view of a caller's tensor descriptor (no copy). `what` names it in errors ("inputs[1]";
// "" for an eng_npy_write array, whose fields are the function's own arguments).
Tensor view(const eng_tensor& t, const std::string& what) {
  const std::string prefix = what.empty() ? "" : what + ": ";
  const std::string member = what.empty() ? "" : what + ".";
  if (t.dtype != static_cast<int32_t>(DType::Float32) &&
      t.dtype != static_cast<int32_t>(DType::Int64) && t.dtype != static_cast<int32_t>(DType::Bool))
    engine::fail(ErrorKind::Type, prefix, "dtype ", t.dtype, " is none of ENG_FLOAT32 (1), ",
                 "ENG_INT64 (7) and ENG_BOOL (9)");
  ENGINE_CHECK(t.rank <= ENG_MAX_RANK, prefix, "rank ", t.rank, " exceeds ENG_MAX_RANK (",
               ENG_MAX_RANK, ")");
  if (t.rank > 0 && t.shape == nullptr) throw NullArgument(member + "shape");
  const engine::Shape shape(t.shape, t.shape + t.rank);
  const DType dtype = static_cast<DType>(t.dtype);
  size_t nbytes = 0;
  try {  // negative dims and element counts that overflow
    nbytes = engine::shape_nbytes(shape, dtype);
  } catch (const engine::Error& e) {
    engine::fail(e.kind(), prefix, e.what());
  }
  if (nbytes > 0 && t.data == nullptr) throw NullArgument(member + "data");
  // The sessions only read their inputs: the const_cast never leads to a write.
  return engine::host_view(const_cast<void*>(t.data), shape, dtype);
}

std::vector<Tensor> views(size_t count, const eng_tensor* tensors, const char* name) {
  if (count > 0) require(tensors, name);
  std::vector<Tensor> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(view(tensors[i], indexed(name, i)));
  return out;
}

// Copies `results` (one per output, described by `infos`) into the caller's buffers. Every
// size is checked, and every result made contiguous, before anything is written: a failure
// leaves all outputs unchanged.
void fill_outputs(const std::vector<Tensor>& results, const std::vector<TensorInfo>& infos,
                  eng_output* outputs) {
  std::vector<Tensor> packed;
  packed.reserve(results.size());
  for (size_t k = 0; k < results.size(); ++k) {
    packed.push_back(results[k].contiguous());
    const Tensor& r = packed.back();
    const std::string what =
        indexed("outputs", k) + (k < infos.size() ? " ('" + infos[k].name + "')" : "");
    ENGINE_CHECK(r.shape().size() <= ENG_MAX_RANK, what, ": rank ", r.shape().size(),
                 " exceeds ENG_MAX_RANK (", ENG_MAX_RANK, ")");
    ENGINE_CHECK(outputs[k].capacity >= r.nbytes(), what, " needs ", r.nbytes(), " bytes (",
                 r.describe(), "), the buffer holds ", outputs[k].capacity);
    if (r.nbytes() > 0 && outputs[k].data == nullptr) throw NullArgument(what + ".data");
  }
  for (size_t k = 0; k < packed.size(); ++k) {
    const Tensor& r = packed[k];
    eng_output& o = outputs[k];
    if (r.nbytes() > 0) std::memcpy(o.data, r.raw_data(), r.nbytes());
    o.dtype = static_cast<int32_t>(r.dtype());
    std::copy(r.shape().begin(), r.shape().end(), o.shape);
    o.rank = r.shape().size();
  }
}

float learning_rate_of(double learning_rate) {
  // The optimizers keep a float32 rate (as Keras does): a double past float's range
  // would silently become infinity.
  const float lr = static_cast<float>(learning_rate);
  ENGINE_CHECK(std::isfinite(lr) && lr >= 0, "learning_rate ", learning_rate,
               " is not a finite, non-negative float32");
  return lr;
}

// A handle: the C++ session and copies of its input and output descriptions, whose name
// strings the *_info functions hand out (they live as long as the handle).
template <class Session>
struct Handle {
  explicit Handle(Session s)
      : session(std::move(s)), inputs(session.inputs()), outputs(session.outputs()) {}
  Session session;
  std::vector<TensorInfo> inputs, outputs;
};

}  // namespace

struct eng_session : Handle<engine::InferenceSession> {
  using Handle::Handle;
};
struct eng_trainer : Handle<engine::TrainingSession> {
  using Handle::Handle;
};

namespace {

template <class H>
eng_status count_of(const char* function, const H* handle, bool inputs, size_t* count) {
  return guarded(function, [&] {
    require(handle, "session");
    require(count, "count");
    *count = (inputs ? handle->inputs : handle->outputs).size();
  });
}

// Any of name, dtype, shape (ENG_MAX_RANK entries) and rank may be NULL: not wanted.
template <class H>
eng_status info_of(const char* function, const H* handle, bool inputs, size_t index,
                   const char** name, int32_t* dtype, int64_t* shape, size_t* rank) {
  return guarded(function, [&] {
    require(handle, "session");
    const std::vector<TensorInfo>& infos = inputs ? handle->inputs : handle->outputs;
    const char* kind = inputs ? "input" : "output";
    ENGINE_CHECK(index < infos.size(), kind, " index ", index, " is out of range (the model has ",
                 infos.size(), " ", kind, infos.size() == 1 ? ")" : "s)");
    const TensorInfo& info = infos[index];
    ENGINE_CHECK(shape == nullptr || info.shape.size() <= ENG_MAX_RANK, kind, " '", info.name,
                 "' has rank ", info.shape.size(), ", more than ENG_MAX_RANK (", ENG_MAX_RANK,
                 ") entries of shape");
    if (name) *name = info.name.c_str();
    if (dtype) *dtype = static_cast<int32_t>(info.dtype);
    if (shape) std::copy(info.shape.begin(), info.shape.end(), shape);
    if (rank) *rank = info.shape.size();
  });
}

// inputs -> outputs through handle->session.run, for sessions and trainers alike.
template <class H>
eng_status run_of(const char* function, const char* handle_name, H* handle, size_t input_count,
                  const eng_tensor* inputs, size_t output_count, eng_output* outputs) {
  return guarded(function, [&] {
    require(handle, handle_name);
    std::vector<Tensor> in = views(input_count, inputs, "inputs");
    const size_t expected = handle->outputs.size();
    ENGINE_CHECK(output_count == expected, "the model has ", expected, " output",
                 expected == 1 ? "" : "s", ", got output_count ", output_count);
    if (output_count > 0) require(outputs, "outputs");
    const std::vector<Tensor> results = handle->session.run(in);
    if (results.size() != expected)  // never: it would write past the caller's array
      engine::fail(ErrorKind::Runtime, "the session returned ", results.size(), " outputs for ",
                   expected);
    fill_outputs(results, handle->outputs, outputs);
  });
}

engine::SessionOptions session_options(int threads) {
  engine::SessionOptions options;
  options.threads = threads > 0 ? threads : 0;
  return options;
}

}  // namespace

extern "C" {

int eng_api_version(void) { return ENG_API_VERSION; }

const char* eng_version(void) { return engine::version(); }

const char* eng_last_error(void) { return t_error_message; }

// ---- inference ----

eng_status eng_session_create(const char* onnx_path, int threads, eng_session** out) {
  return guarded(__func__, [&] {
    require(onnx_path, "onnx_path");
    require(out, "out");
    *out = new eng_session(engine::InferenceSession::from_file(onnx_path, session_options(threads)));
  });
}

eng_status eng_session_create_from_buffer(const void* data, size_t size, int threads,
                                          eng_session** out) {
  return guarded(__func__, [&] {
    require(data, "data");
    require(out, "out");
    *out = new eng_session(
        engine::InferenceSession::from_buffer(data, size, session_options(threads)));
  });
}

void eng_session_destroy(eng_session* session) { delete session; }

eng_status eng_session_input_count(const eng_session* session, size_t* count) {
  return count_of(__func__, session, true, count);
}

eng_status eng_session_output_count(const eng_session* session, size_t* count) {
  return count_of(__func__, session, false, count);
}

eng_status eng_session_input_info(const eng_session* session, size_t index, const char** name,
                                  int32_t* dtype, int64_t* shape, size_t* rank) {
  return info_of(__func__, session, true, index, name, dtype, shape, rank);
}

eng_status eng_session_output_info(const eng_session* session, size_t index, const char** name,
                                   int32_t* dtype, int64_t* shape, size_t* rank) {
  return info_of(__func__, session, false, index, name, dtype, shape, rank);
}

eng_status eng_session_run(eng_session* session, size_t input_count, const eng_tensor* inputs,
                           size_t output_count, eng_output* outputs) {
  return run_of(__func__, "session", session, input_count, inputs, output_count, outputs);
}

// ---- training ----

eng_status eng_trainer_create(const char* onnx_path, const char* loss, const char* optimizer,
                              double learning_rate, int threads, eng_trainer** out) {
  return guarded(__func__, [&] {
    require(onnx_path, "onnx_path");
    require(loss, "loss");
    require(optimizer, "optimizer");
    require(out, "out");
    engine::TrainingOptions options;
    options.loss = loss;
    options.from_logits = true;
    options.optimizer =
        engine::optimizer_default_config(engine::optimizer_kind_from_name(optimizer));
    options.optimizer.learning_rate = learning_rate_of(learning_rate);
    options.session = session_options(threads);
    *out = new eng_trainer(engine::TrainingSession::from_file(onnx_path, options));
  });
}

void eng_trainer_destroy(eng_trainer* trainer) { delete trainer; }

eng_status eng_trainer_step(eng_trainer* trainer, size_t input_count, const eng_tensor* inputs,
                            const eng_tensor* targets, float* loss) {
  return guarded(__func__, [&] {
    require(trainer, "trainer");
    require(targets, "targets");
    require(loss, "loss");
    const float value = trainer->session.train_step(views(input_count, inputs, "inputs"),
                                                    view(*targets, "targets"));
    *loss = value;
  });
}

eng_status eng_trainer_evaluate(eng_trainer* trainer, size_t input_count,
                                const eng_tensor* inputs, const eng_tensor* targets,
                                float* loss) {
  return guarded(__func__, [&] {
    require(trainer, "trainer");
    require(targets, "targets");
    require(loss, "loss");
    const float value = trainer->session.evaluate(views(input_count, inputs, "inputs"),
                                                  view(*targets, "targets"));
    *loss = value;
  });
}

eng_status eng_trainer_run(eng_trainer* trainer, size_t input_count, const eng_tensor* inputs,
                           size_t output_count, eng_output* outputs) {
  return run_of(__func__, "trainer", trainer, input_count, inputs, output_count, outputs);
}

eng_status eng_trainer_set_learning_rate(eng_trainer* trainer, double learning_rate) {
  return guarded(__func__, [&] {
    require(trainer, "trainer");
    trainer->session.set_learning_rate(learning_rate_of(learning_rate));
  });
}

eng_status eng_trainer_export_onnx(const eng_trainer* trainer, const char* path) {
  return guarded(__func__, [&] {
    require(trainer, "trainer");
    require(path, "path");
    trainer->session.export_onnx(path);
  });
}

eng_status eng_trainer_save_optimizer_state(const eng_trainer* trainer, const char* path) {
  return guarded(__func__, [&] {
    require(trainer, "trainer");
    require(path, "path");
    trainer->session.save_optimizer_state(path);
  });
}

eng_status eng_trainer_load_optimizer_state(eng_trainer* trainer, const char* path) {
  return guarded(__func__, [&] {
    require(trainer, "trainer");
    require(path, "path");
    trainer->session.load_optimizer_state(path);
  });
}

// ---- .npy files ----

eng_status eng_npy_read(const char* path, float** data, int64_t* shape, size_t* rank) {
  return guarded(__func__, [&] {
    require(path, "path");
    require(data, "data");
    require(shape, "shape");
    require(rank, "rank");
    const Tensor t = engine::npy_read(path).contiguous();
    ENGINE_CHECK_TYPE(t.dtype() == DType::Float32, "'", path, "' holds ", t.describe(),
                      "; eng_npy_read reads float32 arrays only");
    ENGINE_CHECK(t.shape().size() <= ENG_MAX_RANK, "'", path, "' holds ", t.describe(),
                 ", more dims than ENG_MAX_RANK (", ENG_MAX_RANK, ")");
    // malloc, so that eng_free is free(); one byte for an empty array keeps NULL = failure.
    void* buffer = std::malloc(t.nbytes() > 0 ? t.nbytes() : 1);
    if (buffer == nullptr) throw std::bad_alloc();
    if (t.nbytes() > 0) std::memcpy(buffer, t.raw_data(), t.nbytes());
    *data = static_cast<float*>(buffer);
    std::copy(t.shape().begin(), t.shape().end(), shape);
    *rank = t.shape().size();
  });
}

eng_status eng_npy_write(const char* path, const float* data, const int64_t* shape,
                         size_t rank) {
  return guarded(__func__, [&] {
    require(path, "path");
    const eng_tensor t = {data, ENG_FLOAT32, shape, rank};
    engine::npy_write(path, view(t, ""));
  });
}

void eng_free(void* p) { std::free(p); }

}  // extern "C"
