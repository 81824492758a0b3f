/* Sampling throughput of the diffuse sampler through the C API, on any device (bench/sampling/README.md).
 *
 *   sample_bench MODEL [--device cpu] [--batch 32] [--steps 32] [--solver HEUN] [--repeats 5] [--warmup 1]
 *                [--threads 0] [--cpu-workers 0] [--save FILE]
 *
 * Opens MODEL, prepares one diffuse_sampler (the given solver, N steps; SamplerConfig.cpu_workers), and
 * times `repeats` runs of `batch` images (seeds 0..batch-1, classes cycling) after `warmup` runs. Prints
 * one RESULT line in the format of bench/gpu/table.py; --save writes the images as raw float32
 * [batch, C, R, R] (compare_images.py reads them). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diffuse.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what, diffuse_status status) {
  fprintf(stderr, "sample_bench: %s: %s: %s\n", what, diffuse_status_string(status), diffuse_last_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sample_bench MODEL [--device D] [--batch N] [--steps N] [--solver S] [--repeats N] "
                    "[--warmup N] [--threads N] [--cpu-workers N] [--save FILE]\n");
    return 2;
  }
  const char *model_path = argv[1], *device = "cpu", *solver = "HEUN", *save = NULL;
  long batch = 32, steps = 32, repeats = 5, warmup = 1, threads = 0, cpu_workers = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--device")) device = v;
    else if (!strcmp(k, "--batch")) batch = atol(v);
    else if (!strcmp(k, "--steps")) steps = atol(v);
    else if (!strcmp(k, "--solver")) solver = v;
    else if (!strcmp(k, "--repeats")) repeats = atol(v);
    else if (!strcmp(k, "--warmup")) warmup = atol(v);
    else if (!strcmp(k, "--threads")) threads = atol(v);
    else if (!strcmp(k, "--cpu-workers")) cpu_workers = atol(v);
    else if (!strcmp(k, "--save")) save = v;
    else {
      fprintf(stderr, "sample_bench: unknown argument %s\n", k);
      return 2;
    }
  }
  if (threads > 0 && diffuse_set_num_threads((int)threads) != DIFFUSE_OK) return fail("threads", DIFFUSE_E_INVALID_ARGUMENT);
  diffuse_model *model = NULL;
  diffuse_status status = diffuse_model_open(&model, model_path, device, NULL, 0, DIFFUSE_FORMAT_TEXT);
  if (status != DIFFUSE_OK) return fail(model_path, status);
  int channels = 0, resolution = 0, label_dim = 0;
  diffuse_model_shape(model, &channels, &resolution, &label_dim);
  char config[160];
  snprintf(config, sizeof config, "num_steps: %ld solver: %s batch_size: %ld cpu_workers: %ld", steps, solver, batch,
           cpu_workers);
  diffuse_sampler *sampler = NULL;
  status = diffuse_sampler_create(&sampler, model, NULL, config, strlen(config), DIFFUSE_FORMAT_TEXT);
  if (status != DIFFUSE_OK) return fail("sampler", status);

  uint64_t *seeds = malloc((size_t)batch * sizeof *seeds);
  int64_t *labels = malloc((size_t)batch * sizeof *labels);
  const size_t values = (size_t)batch * (size_t)channels * (size_t)resolution * (size_t)resolution;
  float *images = malloc(values * sizeof *images);
  if (!seeds || !labels || !images) return fail("malloc", DIFFUSE_E_OUT_OF_MEMORY);
  for (long i = 0; i < batch; ++i) {
    seeds[i] = (uint64_t)i;
    labels[i] = label_dim > 0 ? i % label_dim : -1;
  }
  for (long r = 0; r < warmup + repeats; ++r) {
    static double t0;
    if (r == warmup) t0 = now();
    status = diffuse_sampler_run(sampler, seeds, labels, (size_t)batch, DIFFUSE_PIXELS_FLOAT32, images,
                                 values * sizeof *images);
    if (status != DIFFUSE_OK) return fail("run", status);
    if (r == warmup + repeats - 1) {
      const double s = now() - t0;
      double mean = 0;
      for (size_t k = 0; k < values; ++k) mean += images[k];
      printf("RESULT impl=diffuse-sampler%s precision=fp32 batch=%ld steps=%ld solver=%s images_per_s=%.2f "
             "ms_per_batch=%.2f peak_bytes=0 mean=%.4f\n",
             cpu_workers == 1 ? "-one-call" : "", batch, steps, solver, (double)(batch * repeats) / s,
             1000 * s / (double)repeats, mean / (double)values);
    }
  }
  if (save) {
    FILE *f = fopen(save, "wb");
    if (!f || fwrite(images, sizeof *images, values, f) != values || fclose(f) != 0) {
      fprintf(stderr, "sample_bench: cannot write %s\n", save);
      return 1;
    }
  }
  free(seeds);
  free(labels);
  free(images);
  diffuse_sampler_free(sampler);
  diffuse_model_free(model);
  return 0;
}
