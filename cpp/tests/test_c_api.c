/* The C API from a C99 program: it includes engine/c_api.h alone and links the shared
 * libengine, so it also checks that the header is C and that the library exports the API.
 *
 *   test_c_api DATA_DIR SCRATCH_DIR
 *
 * DATA_DIR holds cpp/tests/data (mlp.onnx, x.npy and onnxruntime's y_expected.npy, written
 * by make_data.py); SCRATCH_DIR receives the files the test writes. The references are
 * onnxruntime's outputs and losses computed here in double precision, never values the
 * library produced. Returns the number of failed checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/c_api.h"

static int failures = 0;

#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                      \
    }                                                                  \
  } while (0)

/* `call` must fail with `expected` and a message containing `phrase` (any message: ""). */
#define CHECK_FAILS(call, expected, phrase) check_fails((call), (expected), (phrase), #call, __LINE__)

static void check_fails(eng_status got, eng_status expected, const char* phrase,
                        const char* text, int line) {
  const char* message = eng_last_error();
  if (got != expected || message == NULL || message[0] == '\0' || !strstr(message, phrase)) {
    printf("  line %d: %s returned %d (expected %d) with message \"%s\" (expected \"%s\")\n",
           line, text, (int)got, (int)expected, message ? message : "(null)", phrase);
    ++failures;
  } else {
    printf("  ok, status %d: %s\n", (int)got, message);
  }
}

/* `call` must succeed; prints the error otherwise. */
#define CHECK_OK(call) check_ok((call), #call, __LINE__)

static int check_ok(eng_status got, const char* text, int line) {
  if (got == ENG_OK) return 1;
  printf("  line %d: %s failed with status %d: %s\n", line, text, (int)got, eng_last_error());
  ++failures;
  return 0;
}

static const char* data_dir;
static const char* scratch_dir;

/* dir/name in a static buffer (one path at a time). */
static const char* path_in(const char* dir, const char* name) {
  static char buffer[4096];
  snprintf(buffer, sizeof buffer, "%s/%s", dir, name);
  return buffer;
}

static size_t element_count(const int64_t* shape, size_t rank) {
  size_t n = 1, i;
  for (i = 0; i < rank; ++i) n *= (size_t)shape[i];
  return n;
}

/* ||a - b|| / ||b||, in double. */
static double relative_error(const float* a, const float* b, size_t n) {
  double diff = 0, norm = 0;
  size_t i;
  for (i = 0; i < n; ++i) {
    diff += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    norm += (double)b[i] * b[i];
  }
  return sqrt(diff) / sqrt(norm);
}

/* A float32 .npy file of the test data. */
typedef struct array {
  float* data;
  int64_t shape[ENG_MAX_RANK];
  size_t rank;
} array;

static int read_array(const char* name, array* a) {
  return check_ok(eng_npy_read(path_in(data_dir, name), &a->data, a->shape, &a->rank),
                  name, __LINE__);
}

static unsigned char* read_bytes(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  unsigned char* bytes = NULL;
  long n;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
    bytes = (unsigned char*)malloc((size_t)n);
    if (bytes && fread(bytes, 1, (size_t)n, f) != (size_t)n) {
      free(bytes);
      bytes = NULL;
    }
    *size = (size_t)n;
  }
  fclose(f);
  return bytes;
}

static eng_tensor float_tensor(const array* a) {
  eng_tensor t;
  t.data = a->data;
  t.dtype = ENG_FLOAT32;
  t.shape = a->shape;
  t.rank = a->rank;
  return t;
}

static eng_output output_buffer(float* data, size_t capacity) {
  eng_output o;
  memset(&o, 0, sizeof o);
  o.data = data;
  o.capacity = capacity;
  o.rank = 99; /* a sentinel: a failed call must leave it */
  return o;
}

static void test_version(void) {
  const char* version = eng_version();
  printf("test_version\n");
  CHECK(eng_api_version() == ENG_API_VERSION);
  CHECK(version != NULL && version[0] != '\0');
  CHECK(strcmp(eng_last_error(), "") == 0); /* nothing has failed yet */
}

static void check_info(const eng_session* s, int input, const char* name, int64_t dim1) {
  const char* got_name = NULL;
  int32_t dtype = 0;
  int64_t shape[ENG_MAX_RANK];
  size_t rank = 0;
  eng_status status = input ? eng_session_input_info(s, 0, &got_name, &dtype, shape, &rank)
                            : eng_session_output_info(s, 0, &got_name, &dtype, shape, &rank);
  if (!check_ok(status, name, __LINE__)) return;
  CHECK(got_name != NULL && strcmp(got_name, name) == 0);
  CHECK(dtype == ENG_FLOAT32);
  CHECK(rank == 2);
  CHECK(shape[0] == -1); /* the batch: any size */
  CHECK(shape[1] == dim1);
}

static void test_session_info(void) {
  eng_session* s = NULL;
  size_t count = 0;
  const char* name = NULL;
  printf("test_session_info\n");
  if (!CHECK_OK(eng_session_create(path_in(data_dir, "mlp.onnx"), 0, &s))) return;
  CHECK(CHECK_OK(eng_session_input_count(s, &count)) && count == 1);
  CHECK(CHECK_OK(eng_session_output_count(s, &count)) && count == 1);
  check_info(s, 1, "x", 4);
  check_info(s, 0, "y", 3);
  /* Every output argument but the handle is optional. */
  CHECK(CHECK_OK(eng_session_input_info(s, 0, &name, NULL, NULL, NULL)) && strcmp(name, "x") == 0);
  CHECK_FAILS(eng_session_input_info(s, 1, &name, NULL, NULL, NULL), ENG_ERROR_VALUE, "index 1");
  CHECK_FAILS(eng_session_output_info(NULL, 0, &name, NULL, NULL, NULL), ENG_ERROR_NULL,
              "session is NULL");
  CHECK_FAILS(eng_session_input_count(s, NULL), ENG_ERROR_NULL, "count is NULL");
  CHECK_FAILS(eng_session_output_count(NULL, &count), ENG_ERROR_NULL, "session is NULL");
  eng_session_destroy(s);
  eng_session_destroy(NULL);
}

static void test_session_run(void) {
  array x, y;
  eng_session* s = NULL;
  float out[64];
  eng_tensor in;
  eng_output o = output_buffer(out, sizeof out);
  int64_t one_row[2] = {1, 4};
  printf("test_session_run\n");
  if (!read_array("x.npy", &x)) return;
  if (!read_array("y_expected.npy", &y)) {
    eng_free(x.data);
    return;
  }
  CHECK(x.rank == 2 && x.shape[0] == 5 && x.shape[1] == 4);
  CHECK(y.rank == 2 && y.shape[0] == 5 && y.shape[1] == 3);
  in = float_tensor(&x);
  if (CHECK_OK(eng_session_create(path_in(data_dir, "mlp.onnx"), 1, &s)) &&
      CHECK_OK(eng_session_run(s, 1, &in, 1, &o))) {
    CHECK(o.dtype == ENG_FLOAT32 && o.rank == 2 && o.shape[0] == 5 && o.shape[1] == 3);
    CHECK(relative_error(out, y.data, 15) < 1e-5);
    /* Another batch size through the same session: the first row alone. */
    in.shape = one_row;
    if (CHECK_OK(eng_session_run(s, 1, &in, 1, &o))) {
      CHECK(o.rank == 2 && o.shape[0] == 1 && o.shape[1] == 3);
      CHECK(relative_error(out, y.data, 3) < 1e-5);
    }
  }
  eng_session_destroy(s);
  eng_free(x.data);
  eng_free(y.data);
}

/* Bad arguments: each gives its status and a message, and leaves the outputs alone. */
static void test_session_errors(void) {
  array x;
  eng_session* s = NULL;
  eng_session* untouched = (eng_session*)(void*)&failures; /* a sentinel, never used */
  eng_session* out = untouched;
  float buffer[15] = {0};
  eng_output o = output_buffer(buffer, sizeof buffer);
  eng_tensor in, pair[2], wrong;
  int64_t labels[20] = {0};
  int64_t shape55[2] = {5, 5}, shape1[1] = {20}, negative[2] = {-5, 4}, shape9[9] = {5, 4};
  printf("test_session_errors\n");
  if (!read_array("x.npy", &x)) return;
  if (!CHECK_OK(eng_session_create(path_in(data_dir, "mlp.onnx"), 0, &s))) {
    eng_free(x.data);
    return;
  }
  in = float_tensor(&x);

  CHECK_FAILS(eng_session_run(NULL, 1, &in, 1, &o), ENG_ERROR_NULL, "eng_session_run: session is NULL");
  CHECK_FAILS(eng_session_run(s, 1, NULL, 1, &o), ENG_ERROR_NULL, "eng_session_run: inputs is NULL");
  CHECK_FAILS(eng_session_run(s, 1, &in, 1, NULL), ENG_ERROR_NULL, "eng_session_run: outputs is NULL");
  CHECK_FAILS(eng_session_create(NULL, 0, &out), ENG_ERROR_NULL, "onnx_path is NULL");
  CHECK_FAILS(eng_session_create(path_in(data_dir, "mlp.onnx"), 0, NULL), ENG_ERROR_NULL,
              "out is NULL");
  CHECK_FAILS(eng_session_create_from_buffer(NULL, 10, 0, &out), ENG_ERROR_NULL, "data is NULL");

  pair[0] = in;
  pair[1] = in;
  CHECK_FAILS(eng_session_run(s, 2, pair, 1, &o), ENG_ERROR_VALUE, "got 2");
  CHECK_FAILS(eng_session_run(s, 0, NULL, 1, &o), ENG_ERROR_VALUE, "got 0");
  CHECK_FAILS(eng_session_run(s, 1, &in, 2, &o), ENG_ERROR_VALUE, "output_count 2");

  wrong = in; /* int64 data where the model takes float32 */
  wrong.data = labels;
  wrong.dtype = ENG_INT64;
  CHECK_FAILS(eng_session_run(s, 1, &wrong, 1, &o), ENG_ERROR_TYPE, "int64");
  wrong = in;
  wrong.dtype = 3; /* no such dtype */
  CHECK_FAILS(eng_session_run(s, 1, &wrong, 1, &o), ENG_ERROR_TYPE, "inputs[0]: dtype 3");
  wrong = in;
  wrong.shape = shape55;
  {
    float bigger[25] = {0};
    wrong.data = bigger;
    CHECK_FAILS(eng_session_run(s, 1, &wrong, 1, &o), ENG_ERROR_VALUE, "[5, 5]");
  }
  wrong = in;
  wrong.shape = shape1;
  wrong.rank = 1;
  CHECK_FAILS(eng_session_run(s, 1, &wrong, 1, &o), ENG_ERROR_VALUE, "[20]");
  wrong = in;
  wrong.shape = negative;
  CHECK_FAILS(eng_session_run(s, 1, &wrong, 1, &o), ENG_ERROR_VALUE, "inputs[0]");
  wrong = in;
  wrong.shape = shape9;
  wrong.rank = 9;
  CHECK_FAILS(eng_session_run(s, 1, &wrong, 1, &o), ENG_ERROR_VALUE, "ENG_MAX_RANK");
  wrong = in;
  wrong.data = NULL;
  CHECK_FAILS(eng_session_run(s, 1, &wrong, 1, &o), ENG_ERROR_NULL, "inputs[0].data is NULL");
  wrong = in;
  wrong.shape = NULL;
  CHECK_FAILS(eng_session_run(s, 1, &wrong, 1, &o), ENG_ERROR_NULL, "inputs[0].shape is NULL");

  /* 5x3 floats need 60 bytes: one short fails and writes nothing. */
  buffer[0] = 1234.5f;
  o.capacity = 59;
  CHECK_FAILS(eng_session_run(s, 1, &in, 1, &o), ENG_ERROR_VALUE, "60 bytes");
  CHECK(buffer[0] == 1234.5f && o.rank == 99);
  o.capacity = 60;
  CHECK(CHECK_OK(eng_session_run(s, 1, &in, 1, &o)) && o.rank == 2);

  CHECK_FAILS(eng_session_create(path_in(data_dir, "missing.onnx"), 0, &out), ENG_ERROR_OS,
              "missing.onnx");
  CHECK(out == untouched);
  eng_session_destroy(s);
  eng_free(x.data);
}

/* Truncated and corrupted model bytes: an error or a working session, never a crash. */
static void test_corrupt_models(void) {
  size_t size = 0, i, failed = 0;
  unsigned char* bytes = read_bytes(path_in(data_dir, "mlp.onnx"), &size);
  eng_session* untouched = (eng_session*)(void*)&failures;
  eng_session* out = untouched;
  float x[4] = {0.5f, -1.0f, 2.0f, 0.25f}, y[64];
  int64_t shape[2] = {1, 4};
  eng_tensor in;
  eng_output o = output_buffer(y, sizeof y);
  printf("test_corrupt_models\n");
  CHECK(bytes != NULL);
  if (!bytes) return;
  in.data = x;
  in.dtype = ENG_FLOAT32;
  in.shape = shape;
  in.rank = 2;
  CHECK_FAILS(eng_session_create_from_buffer(bytes, size / 2, 0, &out), ENG_ERROR_VALUE, "");
  CHECK(out == untouched);
  /* Every single byte flipped in turn. A flip inside a weight still makes a valid model
   * (then it must run); a flip in the structure must be reported. */
  for (i = 0; i < size; ++i) {
    eng_session* s = NULL;
    eng_status status;
    bytes[i] ^= 0xFF;
    status = eng_session_create_from_buffer(bytes, size, 0, &s);
    if (status == ENG_OK) {
      eng_status run = eng_session_run(s, 1, &in, 1, &o);
      CHECK(run == ENG_OK || eng_last_error()[0] != '\0');
      eng_session_destroy(s);
    } else {
      ++failed;
      CHECK(eng_last_error()[0] != '\0');
    }
    bytes[i] ^= 0xFF;
  }
  printf("  %lu of %lu byte flips were refused\n", (unsigned long)failed, (unsigned long)size);
  CHECK(failed > size / 4);
  free(bytes);
}

/* The mean sparse categorical cross-entropy of `logits` [n, 3], in double. */
static double cross_entropy(const float* logits, const int64_t* labels, size_t n) {
  double sum = 0;
  size_t i;
  int c;
  for (i = 0; i < n; ++i) {
    const float* z = logits + 3 * i;
    double m = z[0], s = 0;
    for (c = 1; c < 3; ++c) m = z[c] > m ? z[c] : m;
    for (c = 0; c < 3; ++c) s += exp(z[c] - m);
    sum += m + log(s) - z[labels[i]];
  }
  return sum / (double)n;
}

enum { kTrainRows = 60 };

static unsigned rng_state = 20261201u;

static float uniform(void) { /* in [-1, 1) */
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float)(rng_state >> 8) / 8388608.0f - 1.0f;
}

/* Separable data: the class is the largest of three linear scores of x. */
static void make_training_data(float* x, int64_t* labels) {
  size_t i;
  for (i = 0; i < kTrainRows; ++i) {
    float* r = x + 4 * i;
    float score[3];
    int c, best = 0;
    for (c = 0; c < 4; ++c) r[c] = uniform();
    score[0] = r[0] + r[1];
    score[1] = r[2] - r[0];
    score[2] = r[3] - r[1];
    for (c = 1; c < 3; ++c) best = score[c] > score[best] ? c : best;
    labels[i] = best;
  }
}

static void test_trainer(void) {
  static float x[kTrainRows * 4], trained[kTrainRows * 3], reloaded[kTrainRows * 3];
  int64_t labels[kTrainRows], x_shape[2] = {kTrainRows, 4}, label_shape[1] = {kTrainRows};
  array x5, y5;
  int64_t labels5[5] = {0, 1, 2, 1, 0}, labels5_shape[1] = {5};
  eng_tensor in = {NULL, ENG_FLOAT32, NULL, 2}, targets = {NULL, ENG_INT64, NULL, 1};
  eng_tensor float_targets;
  eng_output o = output_buffer(trained, sizeof trained);
  eng_trainer* t = NULL;
  eng_trainer* untouched = (eng_trainer*)(void*)&failures;
  eng_trainer* out = untouched;
  eng_session* s = NULL;
  float loss = 0, first = 0, before = 0, after = 0, again = 0, untouched_loss = -1;
  int step, correct = 0, ok = 1;
  size_t i;
  char exported[4096], state[4096];
  printf("test_trainer\n");
  snprintf(exported, sizeof exported, "%s", path_in(scratch_dir, "test_c_api_trained.onnx"));
  snprintf(state, sizeof state, "%s", path_in(scratch_dir, "test_c_api_adam.state"));
  make_training_data(x, labels);
  in.data = x;
  in.shape = x_shape;
  targets.data = labels;
  targets.shape = label_shape;

  CHECK_FAILS(eng_trainer_create(path_in(data_dir, "mlp.onnx"), "no_such_loss", "adam", 0.01, 0,
                                 &out), ENG_ERROR_VALUE, "no_such_loss");
  CHECK_FAILS(eng_trainer_create(path_in(data_dir, "mlp.onnx"), "sparse_categorical_crossentropy",
                                 "no_such_optimizer", 0.01, 0, &out), ENG_ERROR_VALUE, "no_such_optimizer");
  CHECK_FAILS(eng_trainer_create(path_in(data_dir, "missing.onnx"), "mse", "sgd", 0.01, 0, &out),
              ENG_ERROR_OS, "missing.onnx");
  CHECK_FAILS(eng_trainer_create(path_in(data_dir, "mlp.onnx"), "sparse_categorical_crossentropy",
                                 "adam", -1.0, 0, &out), ENG_ERROR_VALUE, "learning_rate");
  CHECK_FAILS(eng_trainer_create(path_in(data_dir, "mlp.onnx"), NULL, "adam", 0.01, 0, &out),
              ENG_ERROR_NULL, "loss is NULL");
  CHECK(out == untouched);
  if (!CHECK_OK(eng_trainer_create(path_in(data_dir, "mlp.onnx"),
                                   "sparse_categorical_crossentropy", "adam", 0.01, 0, &t)))
    return;

  /* Before training the weights are mlp.onnx's: the loss on x.npy matches one computed
   * here from onnxruntime's logits. */
  if (read_array("x.npy", &x5)) {
    if (read_array("y_expected.npy", &y5)) {
      eng_tensor in5 = float_tensor(&x5);
      eng_tensor targets5 = {NULL, ENG_INT64, NULL, 1};
      targets5.data = labels5;
      targets5.shape = labels5_shape;
      if (CHECK_OK(eng_trainer_evaluate(t, 1, &in5, &targets5, &loss)))
        CHECK(fabs(loss - cross_entropy(y5.data, labels5, 5)) <= 1e-5 * cross_entropy(y5.data, labels5, 5));
      eng_free(y5.data);
    }
    eng_free(x5.data);
  }

  /* Bad targets and arguments. */
  float_targets = targets;
  float_targets.data = x;
  float_targets.dtype = ENG_FLOAT32;
  CHECK_FAILS(eng_trainer_step(t, 1, &in, &float_targets, &untouched_loss), ENG_ERROR_TYPE,
              "int64");
  CHECK_FAILS(eng_trainer_step(t, 1, &in, NULL, &untouched_loss), ENG_ERROR_NULL, "targets is NULL");
  CHECK_FAILS(eng_trainer_step(t, 1, &in, &targets, NULL), ENG_ERROR_NULL, "loss is NULL");
  CHECK_FAILS(eng_trainer_step(NULL, 1, &in, &targets, &untouched_loss), ENG_ERROR_NULL,
              "trainer is NULL");
  CHECK_FAILS(eng_trainer_set_learning_rate(t, -0.5), ENG_ERROR_VALUE, "learning_rate");
  CHECK_FAILS(eng_trainer_set_learning_rate(t, 1e300), ENG_ERROR_VALUE, "learning_rate");
  CHECK_FAILS(eng_trainer_load_optimizer_state(t, path_in(scratch_dir, "missing.state")),
              ENG_ERROR_OS, "missing.state");
  CHECK(untouched_loss == -1);

  /* 100 Adam steps lower the loss well below where it started. */
  ok = CHECK_OK(eng_trainer_evaluate(t, 1, &in, &targets, &before)) &&
       CHECK_OK(eng_trainer_evaluate(t, 1, &in, &targets, &again));
  CHECK(before == again); /* evaluate changes nothing */
  for (step = 0; ok && step < 100; ++step) {
    ok = CHECK_OK(eng_trainer_step(t, 1, &in, &targets, &loss));
    if (step == 0) first = loss;
    CHECK(loss == loss); /* not NaN */
  }
  CHECK(fabs(first - before) <= 1e-5 * before); /* the first step's loss is the start's */
  ok = ok && CHECK_OK(eng_trainer_evaluate(t, 1, &in, &targets, &after));
  printf("  loss %.4f -> %.4f after 100 steps\n", before, after);
  CHECK(ok && after < 0.5f * before);

  /* Its outputs: the loss computed here from them, the accuracy, and an exported model
   * that a session runs to the same outputs. */
  if (ok && CHECK_OK(eng_trainer_run(t, 1, &in, 1, &o))) {
    CHECK(o.rank == 2 && o.shape[0] == kTrainRows && o.shape[1] == 3);
    CHECK(fabs(after - cross_entropy(trained, labels, kTrainRows)) <= 1e-5 * after);
    for (i = 0; i < kTrainRows; ++i) {
      const float* z = trained + 3 * i;
      int best = z[1] > z[0] ? 1 : 0;
      best = z[2] > z[best] ? 2 : best;
      correct += best == labels[i];
    }
    printf("  accuracy %d/%d\n", correct, kTrainRows);
    CHECK(correct >= kTrainRows * 9 / 10);
    if (CHECK_OK(eng_trainer_export_onnx(t, exported)) &&
        CHECK_OK(eng_session_create(exported, 0, &s))) {
      eng_output r = output_buffer(reloaded, sizeof reloaded);
      if (CHECK_OK(eng_session_run(s, 1, &in, 1, &r)))
        CHECK(relative_error(reloaded, trained, kTrainRows * 3) < 1e-6);
      eng_session_destroy(s);
    }
  }
  CHECK_FAILS(eng_trainer_export_onnx(t, NULL), ENG_ERROR_NULL, "path is NULL");

  /* The optimizer state goes to a file and back; a lower rate still trains. */
  CHECK_OK(eng_trainer_save_optimizer_state(t, state));
  CHECK_OK(eng_trainer_load_optimizer_state(t, state));
  CHECK_OK(eng_trainer_set_learning_rate(t, 0.001));
  CHECK(CHECK_OK(eng_trainer_step(t, 1, &in, &targets, &loss)) && loss <= after * 1.01f);
  eng_trainer_destroy(t);
  eng_trainer_destroy(NULL);
  remove(exported);
  remove(state);
}

static void test_npy(void) {
  float data[2 * 3 * 5], *back = NULL;
  int64_t shape[3] = {2, 3, 5}, got[ENG_MAX_RANK], empty_shape[2] = {0, 3};
  size_t rank = 0, i;
  char path[4096];
  float* untouched = data;
  printf("test_npy\n");
  snprintf(path, sizeof path, "%s", path_in(scratch_dir, "test_c_api.npy"));
  for (i = 0; i < 30; ++i) data[i] = (float)i * 0.25f - 3.0f;
  if (CHECK_OK(eng_npy_write(path, data, shape, 3)) &&
      CHECK_OK(eng_npy_read(path, &back, got, &rank))) {
    CHECK(rank == 3 && got[0] == 2 && got[1] == 3 && got[2] == 5);
    CHECK(memcmp(back, data, sizeof data) == 0);
    eng_free(back);
  }
  /* An empty array: no data pointer needed. */
  if (CHECK_OK(eng_npy_write(path, NULL, empty_shape, 2)) &&
      CHECK_OK(eng_npy_read(path, &back, got, &rank))) {
    CHECK(rank == 2 && got[0] == 0 && got[1] == 3 && element_count(got, rank) == 0);
    eng_free(back);
  }
  remove(path);
  CHECK_FAILS(eng_npy_write(path, NULL, shape, 3), ENG_ERROR_NULL, "eng_npy_write: data is NULL");
  CHECK_FAILS(eng_npy_read(path_in(data_dir, "labels.npy"), &untouched, got, &rank), ENG_ERROR_TYPE,
              "int64");
  CHECK_FAILS(eng_npy_read(path_in(data_dir, "missing.npy"), &untouched, got, &rank), ENG_ERROR_OS,
              "missing.npy");
  CHECK_FAILS(eng_npy_read(path, NULL, got, &rank), ENG_ERROR_NULL, "data is NULL");
  CHECK(untouched == data);
  eng_free(NULL);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DATA_DIR SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  data_dir = argv[1];
  scratch_dir = argv[2];
  test_version();
  test_session_info();
  test_session_run();
  test_session_errors();
  test_corrupt_models();
  test_trainer();
  test_npy();
  printf("%d failed checks\n", failures);
  return failures == 0 ? 0 : 1;
}
