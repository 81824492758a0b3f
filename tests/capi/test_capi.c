/* C ABI tests: plain C99, linked against libdiffuse.so only. Prints "N passed, N failed". */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "diffuse.h"

static int passed = 0, failed = 0;

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
  CHECK(strcmp(diffuse_status_string(DIFFUSE_E_INVALID_CONFIG), "invalid config") == 0);
  CHECK(strcmp(diffuse_status_string((diffuse_status)999), "unknown status") == 0);
}

static void test_log_level_rejects_out_of_range(void) {
  CHECK(strcmp(diffuse_last_error(), "") == 0);
  CHECK(diffuse_log_set_level(DIFFUSE_LOG_WARN) == DIFFUSE_OK);
  CHECK(diffuse_log_set_level((diffuse_log_level)42) == DIFFUSE_E_INVALID_ARGUMENT);
  CHECK(strstr(diffuse_last_error(), "level 42") != NULL);
  CHECK(diffuse_log_set_level(DIFFUSE_LOG_INFO) == DIFFUSE_OK);
}

/* A tiny class-conditional model on Fashion-MNIST at 16x16 (Debian package dataset-fashion-mnist). */
static int tiny_config(char *out, size_t cap, const char *dir, long steps) {
  const char *data = "/usr/share/datasets/fashion-mnist/";
  return snprintf(out, cap,
                  "model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]"
                  " num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }"
                  " data { train { format: IDX path: \"%strain-images-idx3-ubyte.gz\""
                  " labels_path: \"%strain-labels-idx1-ubyte.gz\" } resize: RESIZE }"
                  " optimizer { rampup_images: 320 }"
                  " ema { snapshot_images: 1024 }"
                  " run { output_dir: \"%s\" batch_size: 32 duration_images: %ld status_images: 320"
                  " checkpoint_images: 0 validation_images: 32 threads: 2 }",
                  data, data, dir, steps * 32);
}

static void make_run_dir(char *dir, size_t cap, const char *tag) {
  snprintf(dir, cap, "/tmp/diffuse-capi-%s-XXXXXX", tag);
  if (!mkdtemp(dir)) perror("mkdtemp");
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
}

int main(void) {
  test_version_matches_header();
  test_status_strings();
  test_log_level_rejects_out_of_range();
  diffuse_log_set_level(DIFFUSE_LOG_WARN);
  test_trainer_rejects_bad_arguments_and_configs();
  test_trainer_trains_reports_stops_and_resumes();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
