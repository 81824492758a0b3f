/* C ABI tests: plain C99, linked against libdiffuse.so only. Prints "N passed, N failed". */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "diffuse.h"

static int passed = 0, failed = 0;

/* The device of every trainer and model that these tests train or sample with: $DIFFUSE_TEST_DEVICE
 * (e.g. "cuda"), else "cpu". */
static const char *test_device(void) {
  const char *device = getenv("DIFFUSE_TEST_DEVICE");
  return device && *device ? device : "cpu";
}

/* Fashion-MNIST in IDX format: $DIFFUSE_FASHION_MNIST, else Debian's dataset-fashion-mnist package. */
static const char *fashion_mnist_dir(void) {
  const char *dir = getenv("DIFFUSE_FASHION_MNIST");
  return dir && *dir ? dir : "/usr/share/datasets/fashion-mnist";
}

#define CHECK(cond)                                                  \
  do {                                                               \
    if (cond) {                                                      \
      ++passed;                                                      \
    } else {                                                         \
      ++failed;                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                \
  } while (0)

static void test_version_matches_header(void) {
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", DIFFUSE_VERSION_MAJOR, DIFFUSE_VERSION_MINOR,
           DIFFUSE_VERSION_PATCH);
  CHECK(strcmp(diffuse_version(), expected) == 0);
  CHECK(diffuse_version_number() == DIFFUSE_VERSION_NUMBER);
  CHECK(diffuse_abi_version() == DIFFUSE_ABI_VERSION);
}

static void test_status_strings(void) {
  CHECK(strcmp(diffuse_status_string(DIFFUSE_OK), "ok") == 0);
  /* Every status has its own name, from the one table of the core (util/error.cpp). */
  static const char *const names[] = {"ok",           "invalid argument",   "invalid config", "I/O error",
                                      "corrupt file", "out of memory",      "device unavailable",
                                      "cancelled",    "busy",               "not found",
                                      "internal error", "training diverged", "peer lost"};
  for (int status = DIFFUSE_OK; status <= DIFFUSE_E_PEER_LOST; ++status) {
    CHECK(strcmp(diffuse_status_string((diffuse_status)status), names[status]) == 0);
  }
  CHECK(strcmp(diffuse_status_string((diffuse_status)13), "unknown status") == 0);
  CHECK(strcmp(diffuse_status_string((diffuse_status)-1), "unknown status") == 0);
  CHECK(strcmp(diffuse_status_string((diffuse_status)999), "unknown status") == 0);
}

static void test_log_level_rejects_out_of_range(void) {
  CHECK(strcmp(diffuse_last_error(), "") == 0);
  CHECK(diffuse_log_set_level(DIFFUSE_LOG_WARN) == DIFFUSE_OK);
  CHECK(diffuse_log_set_level((diffuse_log_level)42) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "level 42") != NULL);
  CHECK(diffuse_log_set_level(DIFFUSE_LOG_INFO) == DIFFUSE_OK);
}

/* A tiny class-conditional model on Fashion-MNIST at 16x16. */
static int tiny_config(char *out, size_t cap, const char *dir, long steps) {
  const char *data = fashion_mnist_dir();
  return snprintf(out, cap,
                  "model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]"
                  " num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }"
                  " data { train { format: IDX path: \"%s/train-images-idx3-ubyte.gz\""
                  " labels_path: \"%s/train-labels-idx1-ubyte.gz\" } resize: RESIZE }"
                  " optimizer { rampup_images: 320 }"
                  " ema { snapshot_images: 1024 }"
                  " run { output_dir: \"%s\" batch_size: 32 duration_images: %ld status_images: 320"
                  " checkpoint_images: 0 validation_images: 32 threads: 2 device: \"%s\" }",
                  data, data, dir, steps * 32, test_device());
}

/* The run directories the tests made: removed when every test passed, kept for a look otherwise. */
static char run_dirs[16][64];
static int num_run_dirs = 0;

static void make_run_dir(char *dir, size_t cap, const char *tag) {
  snprintf(dir, cap, "/tmp/diffuse-capi-%s-XXXXXX", tag);
  if (!mkdtemp(dir)) perror("mkdtemp");
  if (num_run_dirs < 16) snprintf(run_dirs[num_run_dirs++], sizeof run_dirs[0], "%s", dir);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st, (void)type, (void)ftw;
  if (remove(path) != 0) perror(path);
  return 0;
}

static void remove_run_dirs(void) {
  for (int i = 0; i < num_run_dirs; i++) nftw(run_dirs[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_trainer_rejects_bad_arguments_and_configs(void) {
  diffuse_trainer *t = (diffuse_trainer *)1;
  const char *bad = "run { batch_size: 0 }";
  CHECK(diffuse_trainer_create(NULL, bad, strlen(bad), DIFFUSE_FORMAT_TEXT) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_trainer_create(&t, bad, strlen(bad), DIFFUSE_FORMAT_TEXT) == DIFFUSE_E_INVALID_CONFIG);
  CHECK(t == NULL);
  CHECK(strstr(diffuse_last_error(), "TrainConfig.") != NULL);
  const char *unknown = "run { no_such_field: 1 }";
  CHECK(diffuse_trainer_create(&t, unknown, strlen(unknown), DIFFUSE_FORMAT_TEXT) == DIFFUSE_E_INVALID_CONFIG);
  CHECK(strstr(diffuse_last_error(), "no_such_field") != NULL);
  const char *json = "{\"run\": {\"batchSize\": \"x\"}}";
  CHECK(diffuse_trainer_create(&t, json, strlen(json), DIFFUSE_FORMAT_JSON) == DIFFUSE_E_INVALID_CONFIG);
  CHECK(diffuse_trainer_create(&t, bad, strlen(bad), (diffuse_format)7) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_trainer_resume(&t, "/nonexistent/run") != DIFFUSE_OK);
  CHECK(t == NULL);
  CHECK(diffuse_trainer_run(NULL, 1, NULL) == DIFFUSE_E_INVALID_ARGUMENT);
  diffuse_trainer_free(NULL);
}

struct runner {
  diffuse_trainer *trainer;
  diffuse_status status;
};

static void *run_many(void *arg) {
  struct runner *r = (struct runner *)arg;
  r->status = diffuse_trainer_run(r->trainer, 1000, NULL);
  return NULL;
}

static char trained_run[64]; /* set by the training test, used by the model tests */

static void test_trainer_trains_reports_stops_and_resumes(void) {
  char dir[64], config[2048];
  make_run_dir(dir, sizeof dir, "train");
  tiny_config(config, sizeof config, dir, 40);
  diffuse_trainer *t = NULL;
  CHECK(diffuse_trainer_create(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  if (!t) {
    fprintf(stderr, "%s\n", diffuse_last_error());
    return;
  }
  int64_t taken = -1;
  CHECK(diffuse_trainer_run(t, 4, &taken) == DIFFUSE_OK);
  CHECK(taken == 4);
  diffuse_train_status s;
  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  CHECK(diffuse_trainer_get_status(t, &s) == DIFFUSE_OK);
  CHECK(s.images_seen == 128 && s.images_total == 1280 && s.steps == 4 && !s.done);
  CHECK(isfinite(s.loss) && s.learning_rate > 0);

  /* A second call while a run is in progress is refused; status and stop work meanwhile. */
  struct runner r = {t, DIFFUSE_E_INTERNAL};
  pthread_t thread;
  pthread_create(&thread, NULL, run_many, &r);
  /* Wait until the other thread's run has taken a step, so it holds the trainer. */
  for (int i = 0; i < 60000 && s.steps <= 4; ++i) {
    const struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
    diffuse_trainer_get_status(t, &s);
  }
  CHECK(diffuse_trainer_run(t, 1, NULL) == DIFFUSE_E_BUSY);
  CHECK(strstr(diffuse_last_error(), "in progress") != NULL);
  CHECK(diffuse_trainer_get_status(t, &s) == DIFFUSE_OK);
  CHECK(diffuse_trainer_request_stop(t) == DIFFUSE_OK);
  pthread_join(thread, NULL);
  CHECK(r.status == DIFFUSE_OK);
  CHECK(diffuse_trainer_get_status(t, &s) == DIFFUSE_OK);
  const int64_t stopped_at = s.images_seen;
  CHECK(stopped_at > 128 && stopped_at < 1280);
  diffuse_trainer_free(t);

  /* Resume continues from the checkpoint the stop wrote, and finishes the run. */
  t = NULL;
  CHECK(diffuse_trainer_resume(&t, dir) == DIFFUSE_OK);
  if (!t) return;
  CHECK(diffuse_trainer_get_status(t, &s) == DIFFUSE_OK);
  CHECK(s.images_seen == stopped_at);
  CHECK(diffuse_trainer_run(t, 1000, NULL) == DIFFUSE_OK);
  CHECK(diffuse_trainer_get_status(t, &s) == DIFFUSE_OK);
  CHECK(s.done && s.images_seen == 1280);

  /* A short (older) status struct is filled only as far as it goes. */
  struct { size_t size; int64_t images_seen; } old_status = {sizeof old_status, 0};
  CHECK(diffuse_trainer_get_status(t, (diffuse_train_status *)(void *)&old_status) == DIFFUSE_OK);
  CHECK(old_status.images_seen == 1280);
  s.size = 4;
  CHECK(diffuse_trainer_get_status(t, &s) == DIFFUSE_E_INVALID_ARGUMENT);
  diffuse_trainer_free(t);

  struct stat st;
  char path[256];
  snprintf(path, sizeof path, "%s/checkpoint-0000001.safetensors", dir);
  CHECK(stat(path, &st) == 0);
  snprintf(path, sizeof path, "%s/ema-0.050-0000001.safetensors", dir);
  CHECK(stat(path, &st) == 0);
  snprintf(trained_run, sizeof trained_run, "%s", dir);
}

struct sampler_job {
  diffuse_sampler *sampler;
  uint8_t images[4 * 16 * 16];
  diffuse_status status;
};

static const char *kFastSampler = "num_steps: 4";
static const uint64_t kSeeds[4] = {7, 8, 9, 10};
static const int64_t kLabels[4] = {0, 3, -1, 9};

static void *sample_job(void *arg) {
  struct sampler_job *job = (struct sampler_job *)arg;
  job->status = diffuse_sampler_run(job->sampler, kSeeds, kLabels, 4, DIFFUSE_PIXELS_UINT8, job->images,
                                    sizeof job->images);
  return NULL;
}

static void test_models_open_sample_and_reconstruct(void) {
  char path[512], out_dir[128];
  diffuse_model *m = (diffuse_model *)1;
  CHECK(diffuse_model_open(NULL, "x", NULL, NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_model_open(&m, "/nonexistent.safetensors", NULL, NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_E_IO);
  CHECK(m == NULL);
  CHECK(strstr(diffuse_last_error(), "/nonexistent.safetensors") != NULL);
  snprintf(path, sizeof path, "%s/garbage.safetensors", trained_run);
  FILE *f = fopen(path, "wb");
  if (f) {
    fputs("not a safetensors file at all", f);
    fclose(f);
  }
  CHECK(diffuse_model_open(&m, path, NULL, NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_E_CORRUPT_FILE);
  remove(path);
  snprintf(path, sizeof path, "%s/checkpoint-0000001.safetensors", trained_run);
  CHECK(diffuse_model_open(&m, path, "tpu", NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_model_open(&m, path, test_device(), NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  if (!m) return;

  diffuse_buffer config = {NULL, 0};
  int64_t parameters = 0;
  CHECK(diffuse_model_info(m, DIFFUSE_FORMAT_TEXT, &config, &parameters) == DIFFUSE_OK);
  CHECK(config.data && strstr((const char *)config.data, "img_resolution: 16") != NULL);
  CHECK(parameters > 100000);
  diffuse_buffer_free(&config);
  CHECK(config.data == NULL && config.len == 0);
  diffuse_buffer_free(NULL);
  int channels = 0, resolution = 0, label_dim = 0;
  CHECK(diffuse_model_shape(m, &channels, &resolution, &label_dim) == DIFFUSE_OK);
  CHECK(channels == 1 && resolution == 16 && label_dim == 10);

  /* Sampling: argument checks, then per-seed determinism across threads. */
  uint8_t one[4 * 256], small[10];
  diffuse_sampler *sampler = (diffuse_sampler *)1, *bad_sampler = NULL;
  const char *bad = "num_steps: 0";
  CHECK(diffuse_sampler_create(&bad_sampler, m, NULL, bad, strlen(bad), DIFFUSE_FORMAT_TEXT) ==
        DIFFUSE_E_INVALID_CONFIG);
  CHECK(bad_sampler == NULL);
  CHECK(strstr(diffuse_last_error(), "SamplerConfig.num_steps") != NULL);
  const char *guided = "guidance: 2";
  CHECK(diffuse_sampler_create(&bad_sampler, m, NULL, guided, strlen(guided), DIFFUSE_FORMAT_TEXT) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_sampler_create(&sampler, NULL, NULL, NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(sampler == NULL);
  CHECK(diffuse_sampler_create(&sampler, m, NULL, kFastSampler, strlen(kFastSampler), DIFFUSE_FORMAT_TEXT) ==
        DIFFUSE_OK);
  CHECK(diffuse_sampler_run(sampler, kSeeds, kLabels, 4, DIFFUSE_PIXELS_UINT8, small, sizeof small) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  const int64_t bad_labels[4] = {0, 10, 0, 0};
  CHECK(diffuse_sampler_run(sampler, kSeeds, bad_labels, 4, DIFFUSE_PIXELS_UINT8, one, sizeof one) != DIFFUSE_OK);
  CHECK(diffuse_sampler_run(sampler, kSeeds, kLabels, 4, DIFFUSE_PIXELS_UINT8, one, sizeof one) == DIFFUSE_OK);
  CHECK(diffuse_sampler_run(sampler, kSeeds, kLabels, 0, DIFFUSE_PIXELS_UINT8, one, 0) == DIFFUSE_OK);
  /* Image 2 alone (seed 9, no label) equals its row of the batch, up to float rounding of the
   * batched kernels (at most one level after quantisation). */
  uint8_t single[256];
  CHECK(diffuse_sampler_run(sampler, kSeeds + 2, kLabels + 2, 1, DIFFUSE_PIXELS_UINT8, single, sizeof single) ==
        DIFFUSE_OK);
  int max_diff = 0;
  for (int i = 0; i < 256; ++i) {
    const int d = abs((int)single[i] - (int)one[2 * 256 + i]);
    if (d > max_diff) max_diff = d;
  }
  CHECK(max_diff <= 1);
  struct sampler_job jobs[3];
  pthread_t threads[3];
  for (int i = 0; i < 3; ++i) {
    jobs[i].sampler = sampler;
    jobs[i].status = DIFFUSE_E_INTERNAL;
    pthread_create(&threads[i], NULL, sample_job, &jobs[i]);
  }
  for (int i = 0; i < 3; ++i) {
    pthread_join(threads[i], NULL);
    CHECK(jobs[i].status == DIFFUSE_OK);
    CHECK(memcmp(jobs[i].images, one, sizeof one) == 0);
  }
  /* The float output quantises to the uint8 one; the library-allocated buffers hold the same values. */
  float values[4 * 256];
  CHECK(diffuse_sampler_run(sampler, kSeeds, kLabels, 4, DIFFUSE_PIXELS_FLOAT32, values, sizeof values - 1) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_sampler_run(sampler, kSeeds, kLabels, 4, DIFFUSE_PIXELS_FLOAT32, values, sizeof values) == DIFFUSE_OK);
  int quantised_equal = 1;
  for (int i = 0; i < 4 * 256; ++i) {
    double q = floor(values[i] * 127.5 + 128);
    q = q < 0 ? 0 : q > 255 ? 255 : q;
    if ((int)q != one[i]) quantised_equal = 0;
  }
  CHECK(quantised_equal);
  diffuse_buffer pixels = {NULL, 0}, floats = {NULL, 0};
  CHECK(diffuse_sampler_run_to_buffer(sampler, kSeeds, kLabels, 4, DIFFUSE_PIXELS_UINT8, &pixels) == DIFFUSE_OK);
  CHECK(pixels.len == sizeof one && memcmp(pixels.data, one, sizeof one) == 0);
  CHECK(diffuse_sampler_run_to_buffer(sampler, kSeeds, kLabels, 4, DIFFUSE_PIXELS_FLOAT32, &floats) == DIFFUSE_OK);
  CHECK(floats.len == sizeof values && memcmp(floats.data, values, sizeof values) == 0);
  diffuse_buffer_free(&pixels);
  diffuse_buffer_free(&floats);
  CHECK(diffuse_sampler_run_to_buffer(sampler, kSeeds, kLabels, 4, (diffuse_pixel_type)5, &pixels) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(pixels.data == NULL && strstr(diffuse_last_error(), "type 5") != NULL);
  CHECK(diffuse_sampler_run(sampler, kSeeds, kLabels, 4, (diffuse_pixel_type)-1, one, sizeof one) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_sampler_run_to_buffer(sampler, kSeeds, kLabels, 0, DIFFUSE_PIXELS_UINT8, &pixels) ==
        DIFFUSE_E_INVALID_ARGUMENT);

  snprintf(path, sizeof path, "%s/grid.png", trained_run);
  CHECK(diffuse_sampler_write_png_grid(sampler, kSeeds, kLabels, 4, 0, path) == DIFFUSE_OK);
  struct stat st;
  CHECK(stat(path, &st) == 0 && st.st_size > 0);
  CHECK(diffuse_sampler_write_png_grid(sampler, kSeeds, kLabels, 4, -1, path) == DIFFUSE_E_INVALID_ARGUMENT);
  /* Every solver is one config field away; the new ones take N network evaluations. */
  const char *solvers[] = {"solver: EULER", "solver: DPMPP_2M", "solver: DPMPP_2M_SDE eta: 0.5",
                           "solver: EULER_ANCESTRAL schedule: LOG_LINEAR"};
  for (int i = 0; i < 4; ++i) {
    char text[128];
    uint8_t other[4 * 256];
    diffuse_sampler *s = NULL;
    snprintf(text, sizeof text, "num_steps: 4 %s", solvers[i]);
    CHECK(diffuse_sampler_create(&s, m, NULL, text, strlen(text), DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
    CHECK(diffuse_sampler_run(s, kSeeds, kLabels, 4, DIFFUSE_PIXELS_UINT8, other, sizeof other) == DIFFUSE_OK);
    CHECK(memcmp(other, one, sizeof one) != 0);
    diffuse_sampler_free(s);
  }
  const char *churned = "solver: DPMPP_2M s_churn: 1";
  CHECK(diffuse_sampler_create(&bad_sampler, m, NULL, churned, strlen(churned), DIFFUSE_FORMAT_TEXT) ==
        DIFFUSE_E_INVALID_CONFIG);
  CHECK(strstr(diffuse_last_error(), "SamplerConfig.s_churn") != NULL);
  diffuse_sampler_free(sampler);
  diffuse_sampler_free(NULL);
  diffuse_model_free(m);

  /* Post-hoc EMA: a tracked profile is reproduced; a very short one is refused unless forced. */
  snprintf(out_dir, sizeof out_dir, "%s/phema", trained_run);
  const double tracked[1] = {0.10}, short_ema[1] = {0.01};
  double residual = -1;
  CHECK(diffuse_phema_reconstruct(trained_run, tracked, 1, -1, 0, 0, out_dir, 0, &residual) == DIFFUSE_OK);
  CHECK(residual >= 0 && residual < 1e-6);
  CHECK(diffuse_phema_reconstruct(trained_run, short_ema, 1, -1, 0, 0, out_dir, 0, &residual) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "0.01") != NULL);
  CHECK(diffuse_phema_reconstruct(trained_run, tracked, 1, 12345, 0, 0, out_dir, 0, NULL) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_phema_reconstruct("/nonexistent", tracked, 1, -1, 0, 0, out_dir, 0, NULL) != DIFFUSE_OK);
  CHECK(diffuse_phema_reconstruct(NULL, tracked, 1, -1, 0, 0, out_dir, 0, NULL) == DIFFUSE_E_INVALID_ARGUMENT);
  snprintf(path, sizeof path, "%s/phema-0.100-0000001.safetensors", out_dir);
  m = NULL;
  CHECK(diffuse_model_open(&m, path, test_device(), NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  diffuse_model_free(m);
  diffuse_model_free(NULL);
}

/* Whether s is well-formed UTF-8 (RFC 3629). */
static int is_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int n = *p < 0x80 ? 1 : *p >= 0xC2 && *p <= 0xDF ? 2 : *p >= 0xE0 && *p <= 0xEF ? 3 : *p >= 0xF0 && *p <= 0xF4 ? 4 : 0;
    if (n == 0) return 0;
    for (int k = 1; k < n; ++k) {
      if (p[k] < 0x80 || p[k] > 0xBF) return 0;
    }
    if ((*p == 0xE0 && p[1] < 0xA0) || (*p == 0xED && p[1] > 0x9F) || (*p == 0xF0 && p[1] < 0x90) ||
        (*p == 0xF4 && p[1] > 0x8F)) {
      return 0;
    }
    p += n;
  }
  return 1;
}

/* Sizes whose products overflow, labels and seeds at their limits, NaN, very long and non-UTF-8 paths:
 * a status and a message, never a crash, a hang or an allocation of what the numbers claim. */
static void test_hostile_arguments(void) {
  char path[512];
  diffuse_model *m = NULL;
  diffuse_sampler *sampler = NULL;
  snprintf(path, sizeof path, "%s/checkpoint-0000001.safetensors", trained_run);
  CHECK(diffuse_model_open(&m, path, test_device(), NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  if (!m) return;
  CHECK(diffuse_sampler_create(&sampler, m, NULL, kFastSampler, strlen(kFastSampler), DIFFUSE_FORMAT_TEXT) ==
        DIFFUSE_OK);
  if (!sampler) return;

  /* count x 1 x 16 x 16 (x 4 bytes) wraps around size_t to a small number, or to 0. */
  const size_t wraps = SIZE_MAX / 256 + 2, wraps_to_zero = ((size_t)1 << (sizeof(size_t) * 8 - 8));
  uint8_t pixels[256];
  diffuse_buffer buffer = {NULL, 0};
  CHECK(diffuse_sampler_run(sampler, kSeeds, NULL, wraps, DIFFUSE_PIXELS_UINT8, pixels, sizeof pixels) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "overflow") != NULL);
  CHECK(diffuse_sampler_run(sampler, kSeeds, NULL, wraps_to_zero, DIFFUSE_PIXELS_FLOAT32, pixels, 0) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_sampler_run_to_buffer(sampler, kSeeds, NULL, wraps, DIFFUSE_PIXELS_UINT8, &buffer) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(buffer.data == NULL);
  CHECK(diffuse_sampler_run_to_buffer(sampler, kSeeds, NULL, wraps_to_zero, DIFFUSE_PIXELS_FLOAT32, &buffer) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  snprintf(path, sizeof path, "%s/hostile-grid.png", trained_run);
  CHECK(diffuse_sampler_write_png_grid(sampler, kSeeds, NULL, wraps, 0, path) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_consistency(sampler, m, kSeeds, NULL, wraps_to_zero, NULL, NULL) == DIFFUSE_E_INVALID_ARGUMENT);
  /* More columns than images: one row, not a grid of INT_MAX empty cells. */
  CHECK(diffuse_sampler_write_png_grid(sampler, kSeeds, NULL, 2, 2147483647, path) == DIFFUSE_OK);
  remove(path);

  /* Labels outside [-1, label_dim) are named; seeds take every uint64 value. */
  const int64_t labels[3][1] = {{INT64_MAX}, {INT64_MIN}, {-2}};
  for (int i = 0; i < 3; ++i) {
    CHECK(diffuse_sampler_run(sampler, kSeeds, labels[i], 1, DIFFUSE_PIXELS_UINT8, pixels, sizeof pixels) ==
          DIFFUSE_E_INVALID_ARGUMENT);
    CHECK(strstr(diffuse_last_error(), "label") != NULL);
  }
  const uint64_t extreme_seeds[2] = {0, UINT64_MAX};
  uint8_t two[2 * 256], again[2 * 256];
  CHECK(diffuse_sampler_run(sampler, extreme_seeds, NULL, 2, DIFFUSE_PIXELS_UINT8, two, sizeof two) == DIFFUSE_OK);
  CHECK(diffuse_sampler_run(sampler, extreme_seeds, NULL, 2, DIFFUSE_PIXELS_UINT8, again, sizeof again) == DIFFUSE_OK);
  CHECK(memcmp(two, again, sizeof two) == 0 && memcmp(two, two + 256, 256) != 0);

  /* Host images whose size overflows, or with sizes that cannot be. */
  diffuse_images images = {sizeof(diffuse_images), pixels, NULL, SIZE_MAX / 2, 65536, 65536, 4};
  double mean = 0;
  CHECK(diffuse_validation_loss(m, &images, 0, NULL, NULL, &mean) == DIFFUSE_E_INVALID_ARGUMENT);
  images.count = 1, images.height = -16, images.width = 16, images.channels = 1;
  CHECK(diffuse_validation_loss(m, &images, 0, NULL, NULL, &mean) == DIFFUSE_E_INVALID_ARGUMENT);
  images.height = 16, images.channels = 2;
  CHECK(diffuse_validation_loss(m, &images, 0, NULL, NULL, &mean) == DIFFUSE_E_INVALID_ARGUMENT);

  /* Post-hoc EMA: NaN and infinite profiles, a count no caller can mean. */
  const double bad_sigmas[3] = {NAN, INFINITY, -0.05};
  snprintf(path, sizeof path, "%s/hostile-phema", trained_run);
  for (int i = 0; i < 3; ++i) {
    CHECK(diffuse_phema_reconstruct(trained_run, &bad_sigmas[i], 1, -1, 0, 1, path, 1, NULL) ==
          DIFFUSE_E_INVALID_ARGUMENT);
    CHECK(strstr(diffuse_last_error(), "sigma_rel") != NULL);
  }
  CHECK(diffuse_phema_reconstruct(trained_run, bad_sigmas, SIZE_MAX, -1, 0, 1, path, 1, NULL) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_trainer_run((diffuse_trainer *)NULL, -1, NULL) == DIFFUSE_E_INVALID_ARGUMENT);

  /* A path of 64 KiB and one that is not UTF-8: an I/O error, and a message that is valid UTF-8. */
  const size_t long_length = 65536;
  char *long_path = malloc(long_length + 1);
  if (long_path) {
    memset(long_path, 'a', long_length);
    long_path[0] = '/';
    long_path[long_length] = '\0';
    diffuse_model *none = NULL;
    CHECK(diffuse_model_open(&none, long_path, NULL, NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_E_IO);
    CHECK(none == NULL);
    free(long_path);
  }
  diffuse_model *none = NULL;
  CHECK(diffuse_model_open(&none, "/nonexistent/\xff\xfe\xc3(.safetensors", NULL, NULL, 0, DIFFUSE_FORMAT_TEXT) ==
        DIFFUSE_E_IO);
  CHECK(is_utf8(diffuse_last_error()));
  CHECK(strstr(diffuse_last_error(), "/nonexistent/\\xFF\\xFE\\xC3(.safetensors") != NULL);
  diffuse_trainer *t = NULL;
  const char *latin1 = "run { output_dir: \"/nonexistent/\\351t\\351\" }";
  CHECK(diffuse_trainer_create(&t, latin1, strlen(latin1), DIFFUSE_FORMAT_TEXT) != DIFFUSE_OK);
  CHECK(t == NULL && is_utf8(diffuse_last_error()));

  diffuse_sampler_free(sampler);
  diffuse_model_free(m);
}

static void test_config_resolve(void) {
  const char *json = "{\"run\": {\"outputDir\": \"/tmp/x\", \"durationImages\": \"4096\"},"
                     " \"data\": {\"train\": {\"format\": \"IDX\", \"path\": \"/x\"}}}";
  diffuse_buffer resolved = {NULL, 0};
  CHECK(diffuse_train_config_resolve(json, strlen(json), DIFFUSE_FORMAT_JSON, DIFFUSE_FORMAT_TEXT, &resolved) ==
        DIFFUSE_OK);
  CHECK(resolved.data && strstr((const char *)resolved.data, "batch_size: 2048") != NULL);
  diffuse_buffer_free(&resolved);
  const char *bad = "run { output_dir: \"/tmp/x\" duration_images: 10 batch_size: 4 batch_per_step: 3 }";
  CHECK(diffuse_train_config_resolve(bad, strlen(bad), DIFFUSE_FORMAT_TEXT, DIFFUSE_FORMAT_TEXT, &resolved) ==
        DIFFUSE_E_INVALID_CONFIG);
  CHECK(resolved.data == NULL);
}

static void test_threads_devices_and_log_file(void) {
  int available = -1;
  CHECK(diffuse_device_available("cpu", &available) == DIFFUSE_OK && available == 1);
  CHECK(diffuse_device_available("cuda:99", &available) == DIFFUSE_OK && available == 0);
  CHECK(diffuse_device_available("quantum", &available) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "quantum") != NULL);
  CHECK(diffuse_device_available(NULL, &available) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_set_num_threads(0) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_set_num_threads(2) == DIFFUSE_OK);
  CHECK(diffuse_log_to_file("/dev/null/log.txt") == DIFFUSE_E_IO);
  char dir[64], path[128];
  make_run_dir(dir, sizeof dir, "log");
  snprintf(path, sizeof path, "%s/host.log", dir);
  CHECK(diffuse_log_to_file(path) == DIFFUSE_OK);
  CHECK(diffuse_log_set_level(DIFFUSE_LOG_INFO) == DIFFUSE_OK);
  char config[2048];
  tiny_config(config, sizeof config, dir, 2);
  diffuse_trainer *t = NULL;
  CHECK(diffuse_trainer_create(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  diffuse_trainer_free(t);
  CHECK(diffuse_log_to_file(NULL) == DIFFUSE_OK);
  CHECK(diffuse_log_set_level(DIFFUSE_LOG_WARN) == DIFFUSE_OK);
  struct stat st;
  CHECK(stat(path, &st) == 0 && st.st_size > 0); /* "new run in ..." */
}

struct log_capture {
  int messages;
  int saw_new_run;
};

static void capture_log(void *user, diffuse_log_level level, const char *message) {
  struct log_capture *c = (struct log_capture *)user;
  ++c->messages;
  if (level == DIFFUSE_LOG_INFO && strstr(message, "new run") != NULL) c->saw_new_run = 1;
}

static void test_log_callback(void) {
  struct log_capture capture = {0, 0};
  char dir[64], config[2048];
  make_run_dir(dir, sizeof dir, "logcb");
  tiny_config(config, sizeof config, dir, 2);
  CHECK(diffuse_log_set_callback(capture_log, &capture) == DIFFUSE_OK);
  CHECK(diffuse_log_set_level(DIFFUSE_LOG_INFO) == DIFFUSE_OK);
  diffuse_trainer *t = NULL;
  CHECK(diffuse_trainer_create(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  diffuse_trainer_free(t);
  CHECK(capture.messages > 0 && capture.saw_new_run);
  /* Removed: no further calls. */
  CHECK(diffuse_log_set_callback(NULL, NULL) == DIFFUSE_OK);
  const int seen = capture.messages;
  make_run_dir(dir, sizeof dir, "logcb2");
  tiny_config(config, sizeof config, dir, 2);
  t = NULL;
  CHECK(diffuse_trainer_create(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  diffuse_trainer_free(t);
  CHECK(capture.messages == seen);
  CHECK(diffuse_log_set_level(DIFFUSE_LOG_WARN) == DIFFUSE_OK);
}

/* 64 synthetic 16x16 grey images with labels 0..9, as a host would hand them in. */
enum { kHostCount = 64, kHostSide = 16 };
static uint8_t host_pixels[kHostCount * kHostSide * kHostSide];
static int64_t host_labels[kHostCount];

static diffuse_images host_images(void) {
  for (int i = 0; i < kHostCount; ++i) {
    host_labels[i] = i % 10;
    for (int p = 0; p < kHostSide * kHostSide; ++p) {
      host_pixels[i * kHostSide * kHostSide + p] = (uint8_t)((i * 37 + p * (1 + i % 10)) % 256);
    }
  }
  diffuse_images images = {sizeof(diffuse_images), host_pixels, host_labels, kHostCount, kHostSide, kHostSide, 1};
  return images;
}

static int memory_config(char *out, size_t cap, const char *dir, const char *validation) {
  return snprintf(out, cap,
                  "model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]"
                  " num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }"
                  " data { train { format: MEMORY } %s }"
                  " optimizer { rampup_images: 320 }"
                  " run { output_dir: \"%s\" batch_size: 16 duration_images: 640 status_images: 32"
                  " checkpoint_images: 0 validation_images: 16 threads: 2 device: \"%s\" }",
                  validation, dir, test_device());
}

static void test_trainer_with_host_images(void) {
  char dir[64], config[2048];
  diffuse_images images = host_images();
  diffuse_trainer *t = (diffuse_trainer *)1;

  /* Wrong images or a config that does not read MEMORY are named. */
  make_run_dir(dir, sizeof dir, "mem-bad");
  memory_config(config, sizeof config, dir, "");
  CHECK(diffuse_trainer_create_with_images(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT, NULL, NULL) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(t == NULL);
  diffuse_images bad = images;
  bad.size = 0;
  CHECK(diffuse_trainer_create_with_images(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT, &bad, NULL) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "sizeof(diffuse_images)") != NULL);
  bad = images;
  bad.channels = 2;
  CHECK(diffuse_trainer_create_with_images(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT, &bad, NULL) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "channels is 2") != NULL);
  bad = images;
  bad.pixels = NULL;
  CHECK(diffuse_trainer_create_with_images(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT, &bad, NULL) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "pixels is NULL") != NULL);
  bad = images;
  bad.count = 0;
  CHECK(diffuse_trainer_create_with_images(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT, &bad, NULL) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  int64_t negative[kHostCount];
  memcpy(negative, host_labels, sizeof negative);
  negative[5] = -3;
  bad = images;
  bad.labels = negative;
  CHECK(diffuse_trainer_create_with_images(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT, &bad, NULL) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "labels[5]") != NULL);
  CHECK(diffuse_trainer_create(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "data.train") != NULL);
  CHECK(diffuse_trainer_create_with_images(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT, &images, &images) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "data.validation") != NULL);

  /* Train on the host's images with host validation images; the status message names the run. */
  make_run_dir(dir, sizeof dir, "mem");
  memory_config(config, sizeof config, dir, "validation { format: MEMORY }");
  CHECK(diffuse_trainer_create_with_images(&t, config, strlen(config), DIFFUSE_FORMAT_TEXT, &images, &images) ==
        DIFFUSE_OK);
  if (!t) {
    fprintf(stderr, "%s\n", diffuse_last_error());
    return;
  }
  CHECK(diffuse_trainer_run(t, 3, NULL) == DIFFUSE_OK);
  diffuse_buffer text = {NULL, 0}, json = {NULL, 0}, binary = {NULL, 0};
  CHECK(diffuse_trainer_get_status_message(t, DIFFUSE_FORMAT_TEXT, &text) == DIFFUSE_OK);
  CHECK(text.data && strstr((const char *)text.data, "images_seen: 48") != NULL);
  CHECK(text.data && strstr((const char *)text.data, dir) != NULL);
  CHECK(text.data && strstr((const char *)text.data, "images_total: 640") != NULL);
  diffuse_buffer_free(&text);
  CHECK(diffuse_trainer_get_status_message(t, DIFFUSE_FORMAT_JSON, &json) == DIFFUSE_OK);
  CHECK(json.data && strstr((const char *)json.data, "\"images_seen\":\"48\"") != NULL);
  CHECK(diffuse_trainer_get_status_message(t, DIFFUSE_FORMAT_BINARY, &binary) == DIFFUSE_OK);
  CHECK(binary.len > 20);
  CHECK(diffuse_trainer_get_status_message(t, (diffuse_format)9, &text) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(text.data == NULL);
  CHECK(diffuse_trainer_get_status_message(NULL, DIFFUSE_FORMAT_TEXT, &text) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_trainer_get_status_message(t, DIFFUSE_FORMAT_TEXT, NULL) == DIFFUSE_E_INVALID_ARGUMENT);
  diffuse_buffer_free(&json);
  diffuse_buffer_free(&binary);
  CHECK(diffuse_trainer_save_checkpoint(t) == DIFFUSE_OK);
  diffuse_trainer_free(t);

  /* Resuming a MEMORY run needs the images again; with them it continues from step 3. */
  t = (diffuse_trainer *)1;
  CHECK(diffuse_trainer_resume(&t, dir) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(t == NULL);
  CHECK(diffuse_trainer_resume_with_images(&t, dir, &images, &images) == DIFFUSE_OK);
  if (!t) return;
  diffuse_train_status s;
  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  CHECK(diffuse_trainer_run(t, 1, NULL) == DIFFUSE_OK);
  CHECK(diffuse_trainer_get_status(t, &s) == DIFFUSE_OK && s.images_seen == 64 && isfinite(s.loss));
  diffuse_trainer_free(t);
}

static void test_metrics(void) {
  char path[512];
  diffuse_model *a = NULL, *b = NULL;
  snprintf(path, sizeof path, "%s/checkpoint-0000001.safetensors", trained_run);
  CHECK(diffuse_model_open(&a, path, test_device(), NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  snprintf(path, sizeof path, "%s/ema-0.050-0000001.safetensors", trained_run);
  CHECK(diffuse_model_open(&b, path, test_device(), NULL, 0, DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  if (!a || !b) return;
  diffuse_images images = host_images();
  images.count = 20;

  double sigmas[DIFFUSE_VALIDATION_SIGMAS], losses[DIFFUSE_VALIDATION_SIGMAS], again[DIFFUSE_VALIDATION_SIGMAS];
  double mean = -1, sum = 0;
  CHECK(diffuse_validation_loss(a, &images, 5, sigmas, losses, &mean) == DIFFUSE_OK);
  for (int i = 0; i < DIFFUSE_VALIDATION_SIGMAS; ++i) {
    const double expected = 0.002 * pow(80 / 0.002, i / 9.0);
    CHECK(fabs(sigmas[i] - expected) <= 1e-12 * expected);
    CHECK(isfinite(losses[i]) && losses[i] > 0);
    sum += losses[i];
  }
  CHECK(fabs(mean - sum / DIFFUSE_VALIDATION_SIGMAS) <= 1e-12 * mean);
  /* The same seed gives the same noise; another seed or another model other losses. */
  CHECK(diffuse_validation_loss(a, &images, 5, NULL, again, NULL) == DIFFUSE_OK);
  CHECK(memcmp(again, losses, sizeof again) == 0);
  CHECK(diffuse_validation_loss(a, &images, 6, NULL, again, NULL) == DIFFUSE_OK);
  CHECK(memcmp(again, losses, sizeof again) != 0);
  CHECK(diffuse_validation_loss(b, &images, 5, NULL, again, NULL) == DIFFUSE_OK);
  CHECK(memcmp(again, losses, sizeof again) != 0);
  diffuse_images bad = images;
  bad.labels = NULL;
  CHECK(diffuse_validation_loss(a, &bad, 5, NULL, losses, NULL) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "labels is NULL") != NULL);
  bad = images;
  bad.width = 8;
  CHECK(diffuse_validation_loss(a, &bad, 5, NULL, losses, NULL) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "16x16x1") != NULL);
  CHECK(diffuse_validation_loss(NULL, &images, 5, NULL, losses, NULL) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_validation_loss(a, NULL, 5, NULL, losses, NULL) == DIFFUSE_E_INVALID_ARGUMENT);

  /* Consistency: a model against itself is identical; against its EMA, close but not equal. */
  double msd = -1, cosine = -1;
  diffuse_sampler *fast = NULL, *guided_sampler = NULL;
  CHECK(diffuse_sampler_create(&fast, a, NULL, kFastSampler, strlen(kFastSampler), DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  CHECK(diffuse_consistency(fast, a, kSeeds, kLabels, 4, &msd, &cosine) == DIFFUSE_OK);
  CHECK(msd == 0 && fabs(cosine - 1) < 1e-6);
  CHECK(diffuse_consistency(fast, b, kSeeds, kLabels, 4, &msd, &cosine) == DIFFUSE_OK);
  CHECK(msd > 0 && msd < 2 && cosine < 1);
  const char *guided = "guidance: 2";
  CHECK(diffuse_sampler_create(&guided_sampler, a, b, guided, strlen(guided), DIFFUSE_FORMAT_TEXT) == DIFFUSE_OK);
  CHECK(diffuse_consistency(guided_sampler, b, kSeeds, kLabels, 4, &msd, &cosine) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "guidance") != NULL);
  CHECK(diffuse_consistency(fast, b, kSeeds, kLabels, 0, &msd, &cosine) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_consistency(fast, NULL, kSeeds, kLabels, 4, &msd, &cosine) == DIFFUSE_E_INVALID_ARGUMENT);
  diffuse_sampler_free(fast);
  diffuse_sampler_free(guided_sampler);

  /* All sample-quality metrics at once against Fashion-MNIST test images, with the committed
   * classifier; deterministic, and config errors are named. */
  char eval[1024];
  snprintf(eval, sizeof eval,
           "reference { format: IDX path: \"%s/t10k-images-idx3-ubyte.gz\""
           " labels_path: \"%s/t10k-labels-idx1-ubyte.gz\" } resize: RESIZE"
           " classifier: \"%s/metrics/fashion-mnist-classifier.safetensors\" num_images: 40 sampler { num_steps: 4 }",
           fashion_mnist_dir(), fashion_mnist_dir(), DIFFUSE_SOURCE_DIR);
  diffuse_eval_result r1, r2;
  memset(&r1, 0, sizeof r1);
  r1.size = sizeof r1;
  r2 = r1;
  CHECK(diffuse_evaluate(a, eval, strlen(eval), DIFFUSE_FORMAT_TEXT, &r1) == DIFFUSE_OK);
  if (r1.num_images == 0) fprintf(stderr, "%s\n", diffuse_last_error());
  CHECK(r1.num_images == 40 && r1.fd_cls > 0 && isfinite(r1.kid_cls) && r1.swd > 0 && r1.validation_loss > 0);
  CHECK(r1.precision >= 0 && r1.precision <= 1 && r1.recall >= 0 && r1.recall <= 1);
  CHECK(diffuse_evaluate(a, eval, strlen(eval), DIFFUSE_FORMAT_TEXT, &r2) == DIFFUSE_OK);
  CHECK(memcmp(&r1, &r2, sizeof r1) == 0);
  const char *no_classifier = "reference { format: IDX path: \"/x\" } num_images: 40";
  CHECK(diffuse_evaluate(a, no_classifier, strlen(no_classifier), DIFFUSE_FORMAT_TEXT, &r2) == DIFFUSE_E_INVALID_CONFIG);
  CHECK(strstr(diffuse_last_error(), "EvalConfig.classifier") != NULL);
  r2.size = 4;
  CHECK(diffuse_evaluate(a, eval, strlen(eval), DIFFUSE_FORMAT_TEXT, &r2) == DIFFUSE_E_INVALID_ARGUMENT);
  diffuse_model_free(a);
  diffuse_model_free(b);
}

/* Every entry point taking a handle or an output pointer refuses NULL with INVALID_ARGUMENT and a
 * message naming the function. */
#define CHECK_NULL_ARG(call, name)                                       \
  do {                                                                   \
    CHECK((call) == DIFFUSE_E_INVALID_ARGUMENT);                         \
    CHECK(strstr(diffuse_last_error(), name) != NULL);                   \
  } while (0)

static void test_every_function_rejects_null(void) {
  diffuse_trainer *t = NULL;
  diffuse_model *m = NULL;
  diffuse_buffer b = {NULL, 0};
  diffuse_train_status s = {sizeof s, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const uint64_t seed = 1;
  uint8_t pixel[1];
  float value[1];
  double d[DIFFUSE_VALIDATION_SIGMAS];
  diffuse_images images = {sizeof(diffuse_images), pixel, NULL, 1, 1, 1, 1};
  CHECK_NULL_ARG(diffuse_device_available("cpu", NULL), "diffuse_device_available");
  CHECK_NULL_ARG(diffuse_trainer_create(NULL, "", 0, DIFFUSE_FORMAT_TEXT), "diffuse_trainer_create");
  CHECK_NULL_ARG(diffuse_trainer_create_with_images(NULL, "", 0, DIFFUSE_FORMAT_TEXT, &images, NULL),
                 "diffuse_trainer_create_with_images");
  CHECK_NULL_ARG(diffuse_trainer_resume(NULL, "x"), "diffuse_trainer_resume");
  CHECK_NULL_ARG(diffuse_trainer_resume(&t, NULL), "diffuse_trainer_resume");
  CHECK_NULL_ARG(diffuse_trainer_resume_with_images(&t, "x", NULL, NULL), "diffuse_trainer_resume_with_images");
  CHECK_NULL_ARG(diffuse_trainer_run(NULL, 1, NULL), "diffuse_trainer_run");
  CHECK_NULL_ARG(diffuse_trainer_get_status(NULL, &s), "diffuse_trainer_get_status");
  CHECK_NULL_ARG(diffuse_trainer_get_status_message(NULL, DIFFUSE_FORMAT_TEXT, &b), "diffuse_trainer_get_status_message");
  CHECK_NULL_ARG(diffuse_trainer_request_stop(NULL), "diffuse_trainer_request_stop");
  CHECK_NULL_ARG(diffuse_trainer_save_checkpoint(NULL), "diffuse_trainer_save_checkpoint");
  CHECK_NULL_ARG(diffuse_model_open(NULL, "x", NULL, NULL, 0, DIFFUSE_FORMAT_TEXT), "diffuse_model_open");
  CHECK_NULL_ARG(diffuse_model_open(&m, NULL, NULL, NULL, 0, DIFFUSE_FORMAT_TEXT), "diffuse_model_open");
  CHECK_NULL_ARG(diffuse_model_save(NULL, "x", 0), "diffuse_model_save");
  CHECK_NULL_ARG(diffuse_model_info(NULL, DIFFUSE_FORMAT_TEXT, &b, NULL), "diffuse_model_info");
  CHECK_NULL_ARG(diffuse_model_shape(NULL, NULL, NULL, NULL), "diffuse_model_shape");
  CHECK_NULL_ARG(diffuse_sampler_create(NULL, NULL, NULL, NULL, 0, DIFFUSE_FORMAT_TEXT), "diffuse_sampler_create");
  CHECK_NULL_ARG(diffuse_sampler_run(NULL, &seed, NULL, 1, DIFFUSE_PIXELS_UINT8, pixel, 1), "diffuse_sampler_run");
  CHECK_NULL_ARG(diffuse_sampler_run(NULL, &seed, NULL, 1, DIFFUSE_PIXELS_FLOAT32, value, sizeof value),
                 "diffuse_sampler_run");
  CHECK_NULL_ARG(diffuse_sampler_run_to_buffer(NULL, &seed, NULL, 1, DIFFUSE_PIXELS_UINT8, &b),
                 "diffuse_sampler_run_to_buffer");
  CHECK_NULL_ARG(diffuse_sampler_write_png_grid(NULL, &seed, NULL, 1, 0, "x.png"), "diffuse_sampler_write_png_grid");
  CHECK_NULL_ARG(diffuse_phema_reconstruct(NULL, d, 1, -1, 0, 0, "x", 0, NULL), "diffuse_phema_reconstruct");
  CHECK_NULL_ARG(diffuse_phema_reconstruct("x", NULL, 1, -1, 0, 0, "x", 0, NULL), "diffuse_phema_reconstruct");
  CHECK_NULL_ARG(diffuse_phema_reconstruct("x", d, 1, -1, 0, 0, NULL, 0, NULL), "diffuse_phema_reconstruct");
  CHECK_NULL_ARG(diffuse_validation_loss(NULL, &images, 0, NULL, d, NULL), "diffuse_validation_loss");
  CHECK_NULL_ARG(diffuse_consistency(NULL, NULL, &seed, NULL, 1, NULL, NULL), "diffuse_consistency");
  CHECK(t == NULL && m == NULL && b.data == NULL);
  /* Releasing NULL is always allowed. */
  diffuse_trainer_free(NULL);
  diffuse_model_free(NULL);
  diffuse_buffer_free(NULL);
}

/* Malformed and inconsistent configs are refused in each wire format, naming the problem. */
static void test_configs_in_every_format(void) {
  const char *text = "data { train { format: IDX path: \"/x\" } } run { output_dir: \"/tmp/x\" duration_images: 4096 }";
  diffuse_buffer binary = {NULL, 0}, out = {NULL, 0};
  CHECK(diffuse_train_config_resolve(text, strlen(text), DIFFUSE_FORMAT_TEXT, DIFFUSE_FORMAT_BINARY, &binary) ==
        DIFFUSE_OK);
  if (!binary.data) return;
  /* The binary form round-trips. */
  CHECK(diffuse_train_config_resolve(binary.data, binary.len, DIFFUSE_FORMAT_BINARY, DIFFUSE_FORMAT_TEXT, &out) ==
        DIFFUSE_OK);
  CHECK(out.data && strstr((const char *)out.data, "duration_images: 4096") != NULL);
  diffuse_buffer_free(&out);
  /* Truncated: malformed. */
  CHECK(diffuse_train_config_resolve(binary.data, binary.len - 3, DIFFUSE_FORMAT_BINARY, DIFFUSE_FORMAT_TEXT, &out) ==
        DIFFUSE_E_INVALID_CONFIG);
  CHECK(out.data == NULL);
  /* Valid encoding, inconsistent value: appending run { batch_size: 0 } (field 7, then field 2) merges. */
  unsigned char inconsistent[4096];
  if (binary.len + 4 <= sizeof inconsistent) {
    memcpy(inconsistent, binary.data, binary.len);
    const unsigned char run_batch_zero[4] = {0x3A, 0x02, 0x10, 0x00};
    memcpy(inconsistent + binary.len, run_batch_zero, 4);
    CHECK(diffuse_train_config_resolve(inconsistent, binary.len + 4, DIFFUSE_FORMAT_BINARY, DIFFUSE_FORMAT_TEXT,
                                       &out) == DIFFUSE_E_INVALID_CONFIG);
    CHECK(strstr(diffuse_last_error(), "run.batch_size") != NULL);
  }
  diffuse_buffer_free(&binary);
  const char *json_bad = "{\"run\": {\"outputDir\": ";
  CHECK(diffuse_train_config_resolve(json_bad, strlen(json_bad), DIFFUSE_FORMAT_JSON, DIFFUSE_FORMAT_TEXT, &out) ==
        DIFFUSE_E_INVALID_CONFIG);
  const char *json_inconsistent = "{\"data\": {\"train\": {\"format\": \"IDX\", \"path\": \"/x\"}},"
                                  " \"run\": {\"outputDir\": \"/tmp/x\", \"durationImages\": \"4096\","
                                  " \"batchSize\": \"64\", \"batchPerStep\": \"48\"}}";
  CHECK(diffuse_train_config_resolve(json_inconsistent, strlen(json_inconsistent), DIFFUSE_FORMAT_JSON,
                                     DIFFUSE_FORMAT_TEXT, &out) == DIFFUSE_E_INVALID_CONFIG);
  CHECK(strstr(diffuse_last_error(), "batch_per_step") != NULL);
  const char *text_bad = "run { output_dir: ";
  CHECK(diffuse_train_config_resolve(text_bad, strlen(text_bad), DIFFUSE_FORMAT_TEXT, DIFFUSE_FORMAT_TEXT, &out) ==
        DIFFUSE_E_INVALID_CONFIG);
  CHECK(diffuse_train_config_resolve(NULL, 5, DIFFUSE_FORMAT_TEXT, DIFFUSE_FORMAT_TEXT, &out) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(diffuse_train_config_resolve(text, strlen(text), DIFFUSE_FORMAT_TEXT, (diffuse_format)3, &out) ==
        DIFFUSE_E_INVALID_ARGUMENT);
  /* A model config override that does not fit the file's tensors names the tensor. */
  if (trained_run[0]) {
    char path[512];
    snprintf(path, sizeof path, "%s/checkpoint-0000001.safetensors", trained_run);
    diffuse_model *m = NULL;
    const char *wider = "{\"imgResolution\": 16, \"imgChannels\": 1, \"labelDim\": 10, \"modelChannels\": 32,"
                        " \"channelMult\": [1, 2], \"numBlocks\": 1, \"attnResolutions\": [8]}";
    CHECK(diffuse_model_open(&m, path, NULL, wider, strlen(wider), DIFFUSE_FORMAT_JSON) != DIFFUSE_OK);
    CHECK(m == NULL && strstr(diffuse_last_error(), "shape") != NULL);
    const char *model_bad = "img_resolution: -3";
    CHECK(diffuse_model_open(&m, path, NULL, model_bad, strlen(model_bad), DIFFUSE_FORMAT_TEXT) ==
          DIFFUSE_E_INVALID_CONFIG);
    CHECK(strstr(diffuse_last_error(), "img_resolution") != NULL);
  }
}

int main(void) {
  test_version_matches_header();
  test_status_strings();
  test_log_level_rejects_out_of_range();
  diffuse_log_set_level(DIFFUSE_LOG_WARN);
  test_trainer_rejects_bad_arguments_and_configs();
  test_trainer_trains_reports_stops_and_resumes();
  test_models_open_sample_and_reconstruct();
  test_hostile_arguments();
  test_config_resolve();
  test_threads_devices_and_log_file();
  test_every_function_rejects_null();
  test_configs_in_every_format();
  test_log_callback();
  test_trainer_with_host_images();
  test_metrics();
  printf("%d passed, %d failed\n", passed, failed);
  if (failed == 0) {
    remove_run_dirs();
  } else {
    for (int i = 0; i < num_run_dirs; i++) printf("kept %s\n", run_dirs[i]);
  }
  return failed == 0 ? 0 : 1;
}
