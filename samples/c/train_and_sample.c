/* A whole session through the C ABI: train a tiny class-conditional model for a few steps on
 * Fashion-MNIST, watch its status, then sample one image per class into a PNG grid.
 *
 *   cc -std=c99 train_and_sample.c $(pkg-config --cflags --libs diffuse) -o train_and_sample
 *   ./train_and_sample [FASHION_MNIST_DIR] [RUN_DIR]
 *
 * FASHION_MNIST_DIR holds train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz (default: Debian's
 * dataset-fashion-mnist package); RUN_DIR must not hold a run yet (default ./c-sample-run). */
#include <stdio.h>
#include <string.h>

#include "diffuse.h"

static int fail(const char *what, diffuse_status status) {
  fprintf(stderr, "%s: %s: %s\n", what, diffuse_status_string(status), diffuse_last_error());
  return 1;
}

int main(int argc, char **argv) {
  const char *data = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const char *run_dir = argc > 2 ? argv[2] : "c-sample-run";
  char config[2048];
  /* 16x16 images, a 0.2 M-parameter network, 8 steps of 32 images. */
  snprintf(config, sizeof config,
           "model { img_resolution: 16 img_channels: 1 label_dim: 10 model_channels: 16 channel_mult: [1, 2]"
           " num_blocks: 1 attn_resolutions: [8] channels_per_head: 32 logvar_channels: 16 }"
           " data { train { format: IDX path: \"%s/train-images-idx3-ubyte.gz\""
           " labels_path: \"%s/train-labels-idx1-ubyte.gz\" } resize: RESIZE }"
           " optimizer { rampup_images: 64 }"
           " run { output_dir: \"%s\" batch_size: 32 duration_images: 256 status_images: 128"
           " checkpoint_images: 0 validation_images: 64 }",
           data, data, run_dir);

  diffuse_trainer *trainer = NULL;
  diffuse_status status = diffuse_trainer_create(&trainer, config, strlen(config), DIFFUSE_FORMAT_TEXT);
  if (status != DIFFUSE_OK) return fail("diffuse_trainer_create", status);
  diffuse_train_status s;
  memset(&s, 0, sizeof s);
  s.size = sizeof s;
  do {
    status = diffuse_trainer_run(trainer, 2, NULL);
    if (status != DIFFUSE_OK) {
      diffuse_trainer_free(trainer);
      return fail("diffuse_trainer_run", status);
    }
    diffuse_trainer_get_status(trainer, &s);
    printf("step %3lld  %5lld/%lld images  loss %.4f  lr %.3g  %.0f img/s\n", (long long)s.steps,
           (long long)s.images_seen, (long long)s.images_total, s.loss, s.learning_rate, s.images_per_second);
  } while (!s.done);
  diffuse_buffer message = {NULL, 0};
  if (diffuse_trainer_get_status_message(trainer, DIFFUSE_FORMAT_TEXT, &message) == DIFFUSE_OK) {
    printf("final status:\n%s", (const char *)message.data);
    diffuse_buffer_free(&message);
  }
  diffuse_trainer_free(trainer);

  /* The run ended with checkpoint-<kimg>.safetensors; sample one image of each class from it. */
  char path[1024], grid[1024];
  snprintf(path, sizeof path, "%s/checkpoint-%07lld.safetensors", run_dir, (long long)(s.images_seen / 1000));
  diffuse_model *model = NULL;
  status = diffuse_model_open(&model, path, "cpu", NULL, 0, DIFFUSE_FORMAT_TEXT);
  if (status != DIFFUSE_OK) return fail("diffuse_model_open", status);
  uint64_t seeds[10];
  int64_t labels[10];
  for (int i = 0; i < 10; ++i) {
    seeds[i] = (uint64_t)i;
    labels[i] = i;
  }
  const char *sampler_config = "num_steps: 8";
  diffuse_sampler *sampler = NULL;
  status = diffuse_sampler_create(&sampler, model, NULL, sampler_config, strlen(sampler_config), DIFFUSE_FORMAT_TEXT);
  if (status != DIFFUSE_OK) {
    diffuse_model_free(model);
    return fail("diffuse_sampler_create", status);
  }
  snprintf(grid, sizeof grid, "%s/samples.png", run_dir);
  status = diffuse_sampler_write_png_grid(sampler, seeds, labels, 10, 10, grid);
  diffuse_sampler_free(sampler); /* before its model */
  diffuse_model_free(model);
  if (status != DIFFUSE_OK) return fail("diffuse_sampler_write_png_grid", status);
  printf("wrote %s\n", grid);
  return 0;
}
