/* The engine's C API: run and train ONNX models from C or any language with a C FFI.
 *
 *   eng_session* s = NULL;
 *   if (eng_session_create("model.onnx", 0, &s) != ENG_OK) {
 *     fprintf(stderr, "%s\n", eng_last_error());
 *     return 1;
 *   }
 *   eng_tensor in = {.data = x, .dtype = ENG_FLOAT32, .shape = shape, .rank = 4};
 *   eng_output out = {.data = y, .capacity = sizeof y};
 *   eng_session_run(s, 1, &in, 1, &out);   -- out.shape, out.rank now describe y
 *   eng_session_destroy(s);
 *
 * ABI rules. This header is C99. Handles are opaque; the structs below are passed by
 * pointer and may only grow at their end in a later version, which then raises
 * ENG_API_VERSION (eng_api_version() tells a program which library it loaded). Functions
 * are only ever added. Every function that can fail returns an eng_status; on failure the
 * calling thread's eng_last_error() holds a message naming the problem (valid until that
 * thread's next call into the library), and output arguments are left unchanged. No call
 * crashes on bad input: null handles and pointers, wrong sizes or dtypes, corrupt or
 * missing files return an error.
 *
 * Ownership. The caller owns every buffer it passes (inputs, outputs, paths) and keeps
 * them valid for the call only. Strings returned by the library (names, error messages)
 * belong to the library: names live as long as their handle. Handles are released with
 * their _destroy function (NULL is accepted).
 *
 * Threads. One eng_session may be run from several threads at once. An eng_trainer is
 * used by one thread at a time.
 */
#ifndef ENGINE_C_API_H
#define ENGINE_C_API_H

#include <stddef.h>
#include <stdint.h>

#include "engine/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ENG_API_VERSION 1

typedef enum eng_status {
  ENG_OK = 0,
  ENG_ERROR_VALUE = 1,          /* bad argument: shape, size, attribute, malformed model */
  ENG_ERROR_TYPE = 2,           /* wrong dtype */
  ENG_ERROR_MEMORY = 3,         /* out of memory */
  ENG_ERROR_RUNTIME = 4,        /* anything else */
  ENG_ERROR_NOT_IMPLEMENTED = 5,/* a valid request this build cannot serve */
  ENG_ERROR_OS = 6,             /* a file operation failed */
  ENG_ERROR_FLOATING_POINT = 7, /* a loss or gradient went non-finite */
  ENG_ERROR_NULL = 8            /* a required pointer or handle is NULL */
} eng_status;

typedef enum eng_dtype { ENG_FLOAT32 = 1, ENG_INT64 = 7, ENG_BOOL = 9 } eng_dtype; /* ONNX's codes; bool: 1 byte, 0 or 1 */

#define ENG_MAX_RANK 8

/* An input: `rank` dims in `shape`, C-contiguous data of that many elements of `dtype`. */
typedef struct eng_tensor {
  const void* data;
  int32_t dtype; /* eng_dtype */
  const int64_t* shape;
  size_t rank;
} eng_tensor;

/* An output: the caller's buffer of `capacity` bytes; the call fills dtype, shape and rank
 * (ENG_ERROR_VALUE naming the size needed when the buffer is too small). */
typedef struct eng_output {
  void* data;
  size_t capacity;
  int32_t dtype;
  int64_t shape[ENG_MAX_RANK];
  size_t rank;
} eng_output;

typedef struct eng_session eng_session;
typedef struct eng_trainer eng_trainer;

ENGINE_API int eng_api_version(void);
ENGINE_API const char* eng_version(void);
/* The message of the calling thread's last failed call ("" when none). */
ENGINE_API const char* eng_last_error(void);

/* ---- inference ---- threads > 0 sets the engine's thread count. */
ENGINE_API eng_status eng_session_create(const char* onnx_path, int threads, eng_session** out);
ENGINE_API eng_status eng_session_create_from_buffer(const void* data, size_t size, int threads,
                                                     eng_session** out);
ENGINE_API void eng_session_destroy(eng_session* session);

ENGINE_API eng_status eng_session_input_count(const eng_session* session, size_t* count);
ENGINE_API eng_status eng_session_output_count(const eng_session* session, size_t* count);
/* Name, dtype and shape (-1: any size) of input or output `index`. Any of name, dtype,
 * shape and rank may be NULL (not wanted); shape has room for ENG_MAX_RANK values. */
ENGINE_API eng_status eng_session_input_info(const eng_session* session, size_t index,
                                             const char** name, int32_t* dtype, int64_t* shape,
                                             size_t* rank);
ENGINE_API eng_status eng_session_output_info(const eng_session* session, size_t index,
                                              const char** name, int32_t* dtype, int64_t* shape,
                                              size_t* rank);

ENGINE_API eng_status eng_session_run(eng_session* session, size_t input_count,
                                      const eng_tensor* inputs, size_t output_count,
                                      eng_output* outputs);

/* ---- training ----
 * loss: "sparse_categorical_crossentropy", "categorical_crossentropy",
 * "binary_crossentropy", "mse", "mae", "huber" (cross-entropies on logits);
 * optimizer: "sgd", "adagrad", "rmsprop", "adam", "adamax", "nadam", "adamw", with its
 * Keras defaults and `learning_rate`. */
ENGINE_API eng_status eng_trainer_create(const char* onnx_path, const char* loss,
                                         const char* optimizer, double learning_rate,
                                         int threads, eng_trainer** out);
ENGINE_API void eng_trainer_destroy(eng_trainer* trainer);
/* One step; *loss receives the batch's mean loss. */
ENGINE_API eng_status eng_trainer_step(eng_trainer* trainer, size_t input_count,
                                       const eng_tensor* inputs, const eng_tensor* targets,
                                       float* loss);
ENGINE_API eng_status eng_trainer_evaluate(eng_trainer* trainer, size_t input_count,
                                           const eng_tensor* inputs, const eng_tensor* targets,
                                           float* loss);
ENGINE_API eng_status eng_trainer_run(eng_trainer* trainer, size_t input_count,
                                      const eng_tensor* inputs, size_t output_count,
                                      eng_output* outputs);
ENGINE_API eng_status eng_trainer_set_learning_rate(eng_trainer* trainer, double learning_rate);
ENGINE_API eng_status eng_trainer_export_onnx(const eng_trainer* trainer, const char* path);
ENGINE_API eng_status eng_trainer_save_optimizer_state(const eng_trainer* trainer,
                                                       const char* path);
ENGINE_API eng_status eng_trainer_load_optimizer_state(eng_trainer* trainer, const char* path);

/* ---- .npy files (float32, C order) ---- *data is allocated by the library: release it
 * with eng_free. */
ENGINE_API eng_status eng_npy_read(const char* path, float** data, int64_t* shape, size_t* rank);
ENGINE_API eng_status eng_npy_write(const char* path, const float* data, const int64_t* shape,
                                    size_t rank);
ENGINE_API void eng_free(void* p);

#ifdef __cplusplus
}
#endif

#endif /* ENGINE_C_API_H */
