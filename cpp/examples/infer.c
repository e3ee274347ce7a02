/* infer.cpp through the C API alone (C99): runs an ONNX classifier on a batch from a .npy
 * file and prints each row's top class, in the same words as infer.cpp.
 *
 *   infer_c MODEL.onnx INPUT.npy [OUTPUT.npy]
 *
 * Every call returns an eng_status; on failure eng_last_error() says what went wrong. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/c_api.h"

/* Prints "<what> <name>: float32[-1, 10]" for input or output `index`. */
static eng_status describe(const eng_session* session, int output, size_t index) {
  const char* name;
  int32_t dtype;
  int64_t shape[ENG_MAX_RANK];
  size_t rank, k;
  eng_status status = output ? eng_session_output_info(session, index, &name, &dtype, shape, &rank)
                             : eng_session_input_info(session, index, &name, &dtype, shape, &rank);
  if (status != ENG_OK) return status;
  printf("%s %s: %s[", output ? "output" : "input", name, dtype == ENG_INT64 ? "int64" : "float32");
  for (k = 0; k < rank; ++k) printf("%s%lld", k ? ", " : "", (long long)shape[k]);
  printf("]\n");
  return ENG_OK;
}

/* The bytes output `index` needs for a batch of `batch` rows: its dims, -1 (the batch
 * dimension) taken as `batch`. */
static eng_status output_bytes(const eng_session* session, size_t index, int64_t batch,
                               size_t* bytes) {
  const char* name;
  int32_t dtype;
  int64_t shape[ENG_MAX_RANK];
  size_t rank, k;
  eng_status status = eng_session_output_info(session, index, &name, &dtype, shape, &rank);
  if (status != ENG_OK) return status;
  *bytes = dtype == ENG_INT64 ? 8 : 4;
  for (k = 0; k < rank; ++k) *bytes *= (size_t)(shape[k] < 0 ? batch : shape[k]);
  return ENG_OK;
}

/* On failure: print the library's message and go to main's clean-up (the _destroy and
 * eng_free calls accept NULL). */
#define TRY(call)                                          \
  do {                                                     \
    if ((call) != ENG_OK) {                                \
      fprintf(stderr, "infer_c: %s\n", eng_last_error()); \
      goto done;                                           \
    }                                                      \
  } while (0)

int main(int argc, char** argv) {
  eng_session* session = NULL;
  float* x = NULL;
  eng_output* outputs = NULL;
  size_t input_count = 0, output_count = 0, rank = 0, i;
  int64_t shape[ENG_MAX_RANK];
  int rc = 1;

  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s MODEL.onnx INPUT.npy [OUTPUT.npy]\n", argv[0]);
    return 2;
  }
  TRY(eng_session_create(argv[1], 0, &session));
  TRY(eng_session_input_count(session, &input_count));
  TRY(eng_session_output_count(session, &output_count));
  for (i = 0; i < input_count; ++i) TRY(describe(session, 0, i));
  for (i = 0; i < output_count; ++i) TRY(describe(session, 1, i));
  if (input_count != 1) {
    fprintf(stderr, "infer_c: %s has %zu inputs; this program feeds one\n", argv[1], input_count);
    goto done;
  }

  TRY(eng_npy_read(argv[2], &x, shape, &rank));
  {
    const eng_tensor input = {x, ENG_FLOAT32, shape, rank};
    const int64_t batch = rank > 0 ? shape[0] : 1;
    outputs = calloc(output_count, sizeof *outputs);
    if (outputs == NULL) {
      fprintf(stderr, "infer_c: out of memory\n");
      goto done;
    }
    for (i = 0; i < output_count; ++i) {
      TRY(output_bytes(session, i, batch, &outputs[i].capacity));
      outputs[i].data = malloc(outputs[i].capacity > 0 ? outputs[i].capacity : 1);
      if (outputs[i].data == NULL) {
        fprintf(stderr, "infer_c: out of memory\n");
        goto done;
      }
    }
    TRY(eng_session_run(session, 1, &input, output_count, outputs));
  }
  {
    const eng_output* y = &outputs[0];
    const float* s = (const float*)y->data;
    int64_t r, c;
    if (y->dtype != ENG_FLOAT32 || y->rank != 2 || y->shape[1] == 0) {
      fprintf(stderr, "infer_c: the first output is not a float32 [batch, classes] matrix\n");
      goto done;
    }
    for (r = 0; r < y->shape[0]; ++r) {
      int64_t top = 0;
      const int64_t classes = y->shape[1];
      for (c = 1; c < classes; ++c)
        if (s[r * classes + c] > s[r * classes + top]) top = c;
      printf("row %lld: class %lld (%.4f)\n", (long long)r, (long long)top, s[r * classes + top]);
    }
    if (argc == 4) TRY(eng_npy_write(argv[3], s, y->shape, y->rank));
  }
  rc = 0;

done:
  if (outputs != NULL)
    for (i = 0; i < output_count; ++i) free(outputs[i].data);
  free(outputs);
  eng_free(x);
  eng_session_destroy(session);
  return rc;
}
