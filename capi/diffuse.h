/*
 * diffuse.h — the C interface of libdiffuse, a library that trains and samples diffusion models
 * (EDM2: magnitude-preserving U-Net, uncertainty-weighted loss, power-function EMA, EDM sampler).
 *
 * This header is the whole public contract. It is plain C99 and usable from any FFI.
 *
 * Conventions
 *   - Every symbol starts with diffuse_ / DIFFUSE_.
 *   - Functions that can fail return a diffuse_status; DIFFUSE_OK (0) means success. The message of
 *     the most recent failure on the calling thread is available from diffuse_last_error().
 *   - No C++ exception ever leaves a function of this header.
 *   - Strings returned as `const char*` are owned by the library and stay valid as documented.
 *
 * Versioning
 *   DIFFUSE_VERSION_* describe the header a program was compiled against; diffuse_version_number()
 *   describes the library it runs with. Within one ABI version (DIFFUSE_ABI_VERSION, also the
 *   SONAME suffix: libdiffuse.so.0) the meaning of every stable entry point is fixed.
 */
#ifndef DIFFUSE_H
#define DIFFUSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SWIG)
#define DIFFUSE_API
#elif defined(_WIN32)
#ifdef DIFFUSE_BUILDING_LIBRARY
#define DIFFUSE_API __declspec(dllexport)
#else
#define DIFFUSE_API __declspec(dllimport)
#endif
#else
#define DIFFUSE_API __attribute__((visibility("default")))
#endif

#define DIFFUSE_VERSION_MAJOR 0
#define DIFFUSE_VERSION_MINOR 1
#define DIFFUSE_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH, comparable with diffuse_version_number(). */
#define DIFFUSE_VERSION_NUMBER (DIFFUSE_VERSION_MAJOR * 10000 + DIFFUSE_VERSION_MINOR * 100 + DIFFUSE_VERSION_PATCH)
#define DIFFUSE_ABI_VERSION 0

/* Result of every fallible call. Values are stable within an ABI version. */
typedef enum diffuse_status {
  DIFFUSE_OK = 0,
  DIFFUSE_E_INVALID_ARGUMENT = 1, /* a NULL pointer, bad size, shape or value was passed */
  DIFFUSE_E_INVALID_CONFIG = 2,   /* a config could not be parsed, or a field is out of range */
  DIFFUSE_E_IO = 3,               /* a file could not be opened, read, written or renamed */
  DIFFUSE_E_CORRUPT_FILE = 4,     /* a file is malformed or truncated */
  DIFFUSE_E_OUT_OF_MEMORY = 5,
  DIFFUSE_E_DEVICE_UNAVAILABLE = 6, /* e.g. "cuda:0" requested but not present */
  DIFFUSE_E_CANCELLED = 7,
  DIFFUSE_E_BUSY = 8,      /* another call is in progress on the same handle */
  DIFFUSE_E_NOT_FOUND = 9, /* a named tensor, file or entry does not exist */
  DIFFUSE_E_INTERNAL = 10, /* a bug: please report it with the diffuse_last_error() message */
  DIFFUSE_E_DIVERGED = 11, /* training produced non-finite losses for too many consecutive steps */
  DIFFUSE_E_PEER_LOST = 12 /* a process of a data-parallel run died or did not answer in time */
} diffuse_status;

typedef enum diffuse_log_level {
  DIFFUSE_LOG_TRACE = 0,
  DIFFUSE_LOG_DEBUG = 1,
  DIFFUSE_LOG_INFO = 2,
  DIFFUSE_LOG_WARN = 3,
  DIFFUSE_LOG_ERROR = 4,
  DIFFUSE_LOG_OFF = 5
} diffuse_log_level;

/* Library version as "MAJOR.MINOR.PATCH". Static string; never NULL; any thread. */
DIFFUSE_API const char *diffuse_version(void);

/* Library version as MAJOR*10000 + MINOR*100 + PATCH. Any thread. */
DIFFUSE_API int diffuse_version_number(void);

/* ABI version of the running library; a host compiled against this header should check
 * diffuse_abi_version() == DIFFUSE_ABI_VERSION. Any thread. */
DIFFUSE_API int diffuse_abi_version(void);

/* Short English name of a status ("invalid config"). Static string; never NULL, also for values
 * outside the enum ("unknown status"). Any thread. */
DIFFUSE_API const char *diffuse_status_string(diffuse_status status);

/* Message of the most recent failed call on the calling thread ("" if none failed yet), always valid
 * UTF-8 (bytes of a name that are not, e.g. a path in another encoding, appear as \xNN). The string
 * is owned by the library and valid until the next call into the library on the same thread. */
DIFFUSE_API const char *diffuse_last_error(void);

/* Sets the process-wide log threshold (default DIFFUSE_LOG_INFO, or $DIFFUSE_LOG_LEVEL). Messages go
 * to stderr. Returns DIFFUSE_E_INVALID_ARGUMENT for a value outside diffuse_log_level. Any thread. */
DIFFUSE_API diffuse_status diffuse_log_set_level(diffuse_log_level level);

/* Also writes every log message to `path` (appending; "" or NULL stops writing to the file set
 * before). Returns DIFFUSE_E_IO if the file cannot be opened. Any thread. */
DIFFUSE_API diffuse_status diffuse_log_to_file(const char *path);

/* Receives log messages: `message` is the text without timestamp or level prefix, valid only during
 * the call. `user` is the pointer given to diffuse_log_set_callback. */
typedef void (*diffuse_log_callback)(void *user, diffuse_log_level level, const char *message);

/* Also hands every log message at or above the log level to `callback` (NULL removes it), replacing
 * the previous callback. The callback runs on whichever library thread logs (training, data loading,
 * the caller's), one message at a time; it must return quickly and must not call diffuse_log_* itself.
 * Once this function returns, the previous callback is not running and will not be called again.
 * Returns DIFFUSE_OK. Any thread. */
DIFFUSE_API diffuse_status diffuse_log_set_callback(diffuse_log_callback callback, void *user);

/* Sets the number of CPU threads for tensor math, process-wide (a trainer with run.threads = 0 sets one
 * per CPU the process may use, shared among a launcher's local processes). Returns
 * DIFFUSE_E_INVALID_ARGUMENT for n < 1. Any thread. */
DIFFUSE_API diffuse_status diffuse_set_num_threads(int n);

/* Whether `device` ("cpu", "cuda", "cuda:N") can be used by this build on this machine: *available is
 * set to 1 or 0. Returns DIFFUSE_E_INVALID_ARGUMENT for NULL or a malformed device name. Any thread. */
DIFFUSE_API diffuse_status diffuse_device_available(const char *device, int *available);

/* Joins the data-parallel launch this process is a rank of (torchrun, Slurm, `diffuse ... --nproc`:
 * README "Training on several processes") for sampling and evaluation: from then on
 * diffuse_sampler_run, diffuse_sampler_run_to_buffer, diffuse_sampler_write_png_grid and
 * diffuse_evaluate spread their seeds over the ranks and return every image on every rank (the grid
 * file is written by rank 0 alone), so every rank must make the same such calls in the same order,
 * from one thread. Joining sets the process's CPU thread count to its share of the machine's CPUs (as
 * a trainer with run.threads = 0 does; diffuse_set_num_threads afterwards overrides it). Outside such
 * a launch it does nothing: rank 0 of 1. A trainer needs no call (it
 * joins by itself). rank and world_size may be NULL. Returns DIFFUSE_E_INVALID_CONFIG for a malformed
 * launch environment, DIFFUSE_E_PEER_LOST when a rank does not join within 300 s. */
DIFFUSE_API diffuse_status diffuse_world_join(int *rank, int *world_size);

/* ---------------------------------------------------------------------------------------------- */
/* Memory owned by the library                                                                     */
/* ---------------------------------------------------------------------------------------------- */

/* Bytes allocated by the library for the caller; release with diffuse_buffer_free, never free(). */
typedef struct diffuse_buffer {
  void *data;
  size_t len;
} diffuse_buffer;

/* Frees buffer->data and sets it to NULL / 0. NULL and an empty buffer are allowed; freeing the same
 * buffer twice is harmless (the first call cleared it). Any thread. */
DIFFUSE_API void diffuse_buffer_free(diffuse_buffer *buffer);

/* ---------------------------------------------------------------------------------------------- */
/* Configs                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* Wire format of a config message (schemas/diffuse/v1/diffuse.proto). */
typedef enum diffuse_format {
  DIFFUSE_FORMAT_BINARY = 0, /* protobuf binary encoding */
  DIFFUSE_FORMAT_TEXT = 1,   /* protobuf text format, as in samples/configs/ and a run's config.textproto */
  DIFFUSE_FORMAT_JSON = 2    /* proto3 JSON mapping (field names or lowerCamelCase) */
} diffuse_format;

/* Checks a TrainConfig (`len` bytes in `format`) without starting anything: parses it, fills every
 * default and validates every field. On success *resolved (may be NULL) receives the resolved config
 * in `out_format` (library-owned: diffuse_buffer_free it). Returns DIFFUSE_E_INVALID_CONFIG naming the
 * first bad field. Any thread. */
DIFFUSE_API diffuse_status diffuse_train_config_resolve(const void *config, size_t len, diffuse_format format,
                                                        diffuse_format out_format, diffuse_buffer *resolved);

/* ---------------------------------------------------------------------------------------------- */
/* Training                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

/* A training run: network, optimizer, EMAs, data loader and run directory. Opaque. */
typedef struct diffuse_trainer diffuse_trainer;

/* Progress of a run. Set `size` to sizeof(diffuse_train_status) before the call: the library fills
 * only the fields that fit, so a host compiled against an older header keeps working. */
typedef struct diffuse_train_status {
  size_t size;
  int64_t images_seen;      /* images trained on so far */
  int64_t images_total;     /* run.duration_images */
  int64_t steps;            /* optimizer steps taken */
  double loss;              /* mean loss per element of the last step (NaN before the first) */
  double learning_rate;     /* learning rate of the last step */
  double beta1;             /* Adam beta1 of the last step */
  double images_per_second; /* during the current diffuse_trainer_run call */
  double seconds_per_step;
  double elapsed_seconds;   /* training time over all sessions of the run */
  double eta_seconds;       /* remaining time at the current speed; 0 while unknown */
  double validation_loss;   /* last validation loss (NaN before the first) */
  int done;                 /* 1 once images_seen >= images_total */
} diffuse_train_status;

/* Images handed in by the host (data source format MEMORY in the TrainConfig; validation loss). Set
 * `size` to sizeof(diffuse_images). `pixels` holds count images of height x width x channels uint8
 * values, each image in row-major HWC order (channels innermost, as PNG decoders produce). `labels`
 * holds `count` class indices (NULL = unlabeled). Functions taking a diffuse_images copy what they need
 * before they return. */
typedef struct diffuse_images {
  size_t size;
  const uint8_t *pixels;
  const int64_t *labels;
  size_t count;
  int height;
  int width;
  int channels; /* 1 (grey), 3 (RGB) or 4 (RGBA) */
} diffuse_images;

/* Starts a new run from a TrainConfig (`config`, `len` bytes in `format`). The run directory
 * config.run.output_dir is created; it must not hold a run already. On success *out owns the trainer
 * (free it with diffuse_trainer_free); on failure *out is NULL.
 * Blocks while datasets are opened and the network is built. Any thread.
 * Returns DIFFUSE_E_INVALID_ARGUMENT (NULL pointer), DIFFUSE_E_INVALID_CONFIG (parse error or an
 * invalid field, named in diffuse_last_error()), DIFFUSE_E_IO / DIFFUSE_E_CORRUPT_FILE (data or run
 * directory), DIFFUSE_E_DEVICE_UNAVAILABLE, DIFFUSE_E_OUT_OF_MEMORY. */
DIFFUSE_API diffuse_status diffuse_trainer_create(diffuse_trainer **out, const void *config, size_t len,
                                                  diffuse_format format);

/* Like diffuse_trainer_create, with the training images (data.train.format MEMORY) and optionally the
 * validation images (data.validation.format MEMORY; NULL otherwise) handed in by the host. Both are
 * copied: the host may release them when the call returns. Returns DIFFUSE_E_INVALID_ARGUMENT for a
 * NULL or inconsistent diffuse_images (named), or MEMORY data that the config does not ask for, plus
 * the statuses of diffuse_trainer_create. */
DIFFUSE_API diffuse_status diffuse_trainer_create_with_images(diffuse_trainer **out, const void *config, size_t len,
                                                              diffuse_format format, const diffuse_images *train,
                                                              const diffuse_images *validation);

/* Continues the run in `run_dir` (its config.textproto and newest checkpoint) exactly where the
 * checkpoint left it. On failure *out is NULL. Returns DIFFUSE_E_NOT_FOUND if the directory holds no
 * checkpoint, plus the statuses of diffuse_trainer_create. */
DIFFUSE_API diffuse_status diffuse_trainer_resume(diffuse_trainer **out, const char *run_dir);

/* diffuse_trainer_resume for a run whose config reads MEMORY data: the host hands the same images in
 * again (validation may be NULL when the run holds out training images). */
DIFFUSE_API diffuse_status diffuse_trainer_resume_with_images(diffuse_trainer **out, const char *run_dir,
                                                              const diffuse_images *train,
                                                              const diffuse_images *validation);

/* Trains up to `max_steps` optimizer steps and returns; the number taken goes to *steps_taken (may be
 * NULL). Returns early, with DIFFUSE_OK, when the run is done (after writing the final stats, EMA
 * snapshots and checkpoint) or after diffuse_trainer_request_stop (after writing a checkpoint; fewer
 * than max_steps taken). In a data-parallel run (README "Training on several processes") every rank
 * calls it with the same max_steps, a stop requested on any rank stops every rank at the same step,
 * and DIFFUSE_E_PEER_LOST says that a rank died or did not answer within the timeout.
 * Blocks for the duration of the steps. One call at a time per trainer: a concurrent call on the same
 * trainer returns DIFFUSE_E_BUSY. Returns DIFFUSE_E_DIVERGED after too many consecutive non-finite
 * losses, DIFFUSE_E_IO / DIFFUSE_E_CORRUPT_FILE for data or write failures. */
DIFFUSE_API diffuse_status diffuse_trainer_run(diffuse_trainer *trainer, int64_t max_steps, int64_t *steps_taken);

/* Copies the progress as of the last completed step into *out (set out->size first). Never blocks on
 * a running diffuse_trainer_run: any thread, at any time. Returns DIFFUSE_E_INVALID_ARGUMENT for NULL
 * pointers or a size smaller than offsetof(diffuse_train_status, images_seen) + 8. */
DIFFUSE_API diffuse_status diffuse_trainer_get_status(diffuse_trainer *trainer, diffuse_train_status *out);

/* The same progress as a TrainStatus message (schemas/diffuse/v1/diffuse.proto) in `format`, plus the
 * run directory, into *out (library-owned: diffuse_buffer_free it; text and JSON are NUL-terminated,
 * the NUL not counted in len). Any thread, at any time, like diffuse_trainer_get_status.
 * Returns DIFFUSE_E_INVALID_ARGUMENT for NULL pointers or a format outside diffuse_format. */
DIFFUSE_API diffuse_status diffuse_trainer_get_status_message(diffuse_trainer *trainer, diffuse_format format,
                                                              diffuse_buffer *out);

/* Asks diffuse_trainer_run to write a checkpoint and return before its next step: the current call,
 * or the next one when the request comes during the current call's last step. Any thread, never
 * blocks; safe to call from a signal-handling thread. */
DIFFUSE_API diffuse_status diffuse_trainer_request_stop(diffuse_trainer *trainer);

/* Writes checkpoint-<kimg>.safetensors into the run directory now (atomically) and deletes
 * checkpoints beyond run.keep_checkpoints. DIFFUSE_E_BUSY during a diffuse_trainer_run. */
DIFFUSE_API diffuse_status diffuse_trainer_save_checkpoint(diffuse_trainer *trainer);

/* Releases the trainer (NULL is allowed). Must not be called while another thread is inside a call on
 * the same trainer. Does not write a checkpoint. */
DIFFUSE_API void diffuse_trainer_free(diffuse_trainer *trainer);

/* ---------------------------------------------------------------------------------------------- */
/* Models                                                                                          */
/* ---------------------------------------------------------------------------------------------- */

/* A network ready for sampling (eval mode) on one device. Opaque. Several threads may sample from one
 * model at the same time (through diffuse_sampler); diffuse_model_save and diffuse_model_free need
 * exclusive use, and every sampler of the model must be freed first. */
typedef struct diffuse_model diffuse_model;

/* Opens a network from `path`: a checkpoint-*.safetensors of a run, an ema-* snapshot, a phema-*
 * post-hoc output, a file written by diffuse_model_save, or any safetensors with EDM2 state-dict
 * names. `model_config` (a ModelConfig, `len` bytes in `format`) may be NULL when the file carries its
 * own; if given, it takes precedence. `device` is "cpu", "cuda" or "cuda:N" (NULL = "cpu").
 * On failure *out is NULL. Blocks while reading. Any thread.
 * Returns DIFFUSE_E_IO, DIFFUSE_E_CORRUPT_FILE, DIFFUSE_E_INVALID_CONFIG, DIFFUSE_E_INVALID_ARGUMENT (no
 * config, or a tensor missing or of the wrong shape: named in diffuse_last_error()),
 * DIFFUSE_E_DEVICE_UNAVAILABLE. */
DIFFUSE_API diffuse_status diffuse_model_open(diffuse_model **out, const char *path, const char *device,
                                              const void *model_config, size_t len, diffuse_format format);

/* Writes the network (EDM2 names; fp16 if `fp16` != 0, else fp32) and its config to `path`,
 * atomically (a failed write leaves no partial file). Blocks while writing. Needs exclusive use of the
 * model (no concurrent sampling). Returns DIFFUSE_E_INVALID_ARGUMENT (NULL), DIFFUSE_E_IO. */
DIFFUSE_API diffuse_status diffuse_model_save(diffuse_model *model, const char *path, int fp16);

/* The model's resolved ModelConfig in `format` into *config (library-owned: diffuse_buffer_free it;
 * may be NULL), and its parameter count into *num_parameters (may be NULL). Never blocks; any thread.
 * Returns DIFFUSE_E_INVALID_ARGUMENT (NULL model, format outside diffuse_format). */
DIFFUSE_API diffuse_status diffuse_model_info(diffuse_model *model, diffuse_format format, diffuse_buffer *config,
                                              int64_t *num_parameters);

/* Image geometry of the model: channels, resolution (square), label_dim (0 = unconditional). Any
 * output pointer may be NULL. Never blocks; any thread. Returns DIFFUSE_E_INVALID_ARGUMENT (NULL model). */
DIFFUSE_API diffuse_status diffuse_model_shape(diffuse_model *model, int *channels, int *resolution, int *label_dim);

/* Releases the model (NULL is allowed). No other thread may be using it. */
DIFFUSE_API void diffuse_model_free(diffuse_model *model);

/* ---------------------------------------------------------------------------------------------- */
/* Sampling                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

/* A sampler: a SamplerConfig parsed and checked once against a model and an optional guide, then run
 * many times (as a prepared statement). Opaque. It refers to its models without owning them: they must
 * outlive it. It never changes after creation, so several threads may run one sampler (and samplers of
 * the same models) at the same time. */
typedef struct diffuse_sampler diffuse_sampler;

/* Prepares sampling from `model` with the EDM sampler configured by `config` (a SamplerConfig, `len`
 * bytes in `format`; NULL/0 = defaults: 32 Heun steps, sigma 0.002..80, rho 7). `guide` (may be NULL)
 * is the second network of guidance: D = D_guide + w (D_model - D_guide) with w =
 * SamplerConfig.guidance; it must have the model's image shape, is required when w != 1 and is never
 * evaluated when w = 1. On success *out owns the sampler (free it with diffuse_sampler_free); on
 * failure *out is NULL. Any thread.
 * Returns DIFFUSE_E_INVALID_ARGUMENT (NULL, guide shape, guidance without a guide),
 * DIFFUSE_E_INVALID_CONFIG (a SamplerConfig field, named). */
DIFFUSE_API diffuse_status diffuse_sampler_create(diffuse_sampler **out, diffuse_model *model, diffuse_model *guide,
                                                  const void *config, size_t len, diffuse_format format);

/* Pixel type of sampled images. */
typedef enum diffuse_pixel_type {
  DIFFUSE_PIXELS_UINT8 = 0,  /* clip(x * 127.5 + 128, 0, 255), truncated */
  DIFFUSE_PIXELS_FLOAT32 = 1 /* the sampler's output x itself, about [-1, 1] */
} diffuse_pixel_type;

/* Generates `count` images, one per seed: image i depends only on seeds[i] and labels[i], never on
 * `count` or the order. labels may be NULL (unconditional, or an all-zero label row for a conditional
 * model); labels[i] = -1 means the same. `images` receives count x channels x resolution x resolution
 * values of `type` (per image C, H, W order); `capacity` is its size in bytes. count 0 does nothing.
 * Blocks. Any thread, also concurrently on one sampler.
 * Returns DIFFUSE_E_INVALID_ARGUMENT (NULL, capacity too small, label out of range, type outside
 * diffuse_pixel_type). */
DIFFUSE_API diffuse_status diffuse_sampler_run(diffuse_sampler *sampler, const uint64_t *seeds, const int64_t *labels,
                                               size_t count, diffuse_pixel_type type, void *images, size_t capacity);

/* Like diffuse_sampler_run, into a buffer the library allocates: *out receives the values
 * (library-owned: diffuse_buffer_free it). Returns DIFFUSE_E_INVALID_ARGUMENT also for count 0. */
DIFFUSE_API diffuse_status diffuse_sampler_run_to_buffer(diffuse_sampler *sampler, const uint64_t *seeds,
                                                         const int64_t *labels, size_t count, diffuse_pixel_type type,
                                                         diffuse_buffer *out);

/* Like diffuse_sampler_run, then writes the uint8 images as one PNG grid to `path` (atomically);
 * `columns` 0 = ceil(sqrt(count)); more columns than images make one row. Blocks. Any thread. Returns the statuses of diffuse_sampler_run
 * (count 0 or columns < 0: DIFFUSE_E_INVALID_ARGUMENT) and DIFFUSE_E_IO. */
DIFFUSE_API diffuse_status diffuse_sampler_write_png_grid(diffuse_sampler *sampler, const uint64_t *seeds,
                                                          const int64_t *labels, size_t count, int columns,
                                                          const char *path);

/* Releases the sampler (NULL is allowed); its models stay open. No other thread may be using it. */
DIFFUSE_API void diffuse_sampler_free(diffuse_sampler *sampler);

/* ---------------------------------------------------------------------------------------------- */
/* Post-hoc EMA                                                                                    */
/* ---------------------------------------------------------------------------------------------- */

/* Reconstructs the EMA of each sigma_rels[i] (0 < sigma_rel < 0.2886; 1 <= count <= 1024) at training
 * time `nimg` (a time at which the run wrote snapshots; -1 = the latest) from the ema-* snapshots in
 * `run_dir`, and writes <out_dir>/phema-<sigma_rel>-<kimg>.safetensors (fp16 if `fp16`). residuals[i] (may be NULL)
 * receives the relative L2 error of each fitted EMA profile. Targets whose residual exceeds
 * `max_residual` (<= 0: the default 0.05) are refused with DIFFUSE_E_INVALID_ARGUMENT naming them and
 * saying how many snapshot times would fit them (a fit needs snapshots of the tracked sigma_rels at
 * several times), unless `force` != 0; nothing is written then. Blocks. Any thread.
 * Returns DIFFUSE_E_NOT_FOUND (no snapshots), DIFFUSE_E_INVALID_ARGUMENT, DIFFUSE_E_IO,
 * DIFFUSE_E_CORRUPT_FILE. */
DIFFUSE_API diffuse_status diffuse_phema_reconstruct(const char *run_dir, const double *sigma_rels, size_t count,
                                                     int64_t nimg, double max_residual, int force,
                                                     const char *out_dir, int fp16, double *residuals);

/* ---------------------------------------------------------------------------------------------- */
/* Metrics                                                                                         */
/* ---------------------------------------------------------------------------------------------- */

/* Number of noise levels of diffuse_validation_loss: sigma_i = 0.002 * (80 / 0.002)^(i / 9). */
#define DIFFUSE_VALIDATION_SIGMAS 10

/* Validation loss of `model` on held-out `images` at DIFFUSE_VALIDATION_SIGMAS fixed noise levels, the
 * measure a run writes to stats.jsonl: per sigma, lambda(sigma) * mean((D(x + sigma n) - x)^2) with
 * EDM's lambda whatever the training weighting, and noise n fixed by `seed` (the same seed gives the
 * same noise, so losses of different models compare). Images must have the model's channels and
 * resolution; labels are required for a class-conditional model. sigmas and losses (either may be
 * NULL) receive DIFFUSE_VALIDATION_SIGMAS values each; *mean (may be NULL) the mean over sigma.
 * Blocks. Any thread; concurrent calls on one model are allowed.
 * Returns DIFFUSE_E_INVALID_ARGUMENT (NULL model or images, shape or label mismatch, named). */
DIFFUSE_API diffuse_status diffuse_validation_loss(diffuse_model *model, const diffuse_images *images, uint64_t seed,
                                                   double *sigmas, double *losses, double *mean);

/* The consistency measure between two models: the sampler's model and `other` sample the given seeds
 * (and labels, as in diffuse_sampler_run) from the same noise with the sampler's config, and their
 * final images are compared pairwise. The sampler must have no guide (guidance 1); `other` must have
 * its model's image shape. *relative_msd (may be NULL) receives mean((a - b)^2) / var(a and b
 * together) (0 = identical, about 2 for independent sets); *cosine (may be NULL) the mean cosine
 * similarity of the image pairs. Blocks. Any thread.
 * Returns DIFFUSE_E_INVALID_ARGUMENT (NULL, count 0, models of different image shape, a guided
 * sampler). */
DIFFUSE_API diffuse_status diffuse_consistency(diffuse_sampler *sampler, diffuse_model *other, const uint64_t *seeds,
                                               const int64_t *labels, size_t count, double *relative_msd,
                                               double *cosine);

/* Sample quality of a model (filled by diffuse_evaluate). Set `size` to sizeof(diffuse_eval_result)
 * before the call: the library fills only the fields that fit. */
typedef struct diffuse_eval_result {
  size_t size;
  int64_t num_images;     /* generated and real images compared */
  double fd_cls;          /* Frechet distance in the classifier's features (lower is better) */
  double kid_cls;         /* kernel distance in the same features: the unbiased MMD^2 itself, not x1e3 (~0 at best) */
  double precision;       /* fraction of generated images on the real-image manifold */
  double recall;          /* fraction of real images on the generated-image manifold */
  double swd;             /* sliced Wasserstein distance of 7x7 patches, x1000 (lower is better) */
  double validation_loss; /* fixed-sigma validation loss on the real images (as diffuse_validation_loss) */
} diffuse_eval_result;

/* Samples EvalConfig.num_images images from `model` and measures them against the real images of an
 * EvalConfig (`config`, `len` bytes in `format`; schemas/diffuse/v1/diffuse.proto): FD_cls, KID_cls,
 * precision/recall (k-NN in the features of a small classifier trained on the same dataset) and SWD,
 * plus the validation loss on the real images. Deterministic for a given config. Relative paths
 * resolve against EvalConfig.base_dir (default the working directory); a relative classifier is also
 * looked for in $DIFFUSE_DATA_DIR and the installed share/diffuse. EvalConfig.resize defaults to the
 * training run's when the model file's run was found. Logs its progress at info. Blocks (it samples).
 * Any thread. Returns DIFFUSE_E_INVALID_ARGUMENT (NULL, result->size too small, classifier channels
 * that do not fit the model), DIFFUSE_E_INVALID_CONFIG (a field, named), DIFFUSE_E_NOT_FOUND (a
 * classifier found nowhere: every place looked in named), DIFFUSE_E_IO / DIFFUSE_E_CORRUPT_FILE
 * (reference data, classifier file). */
DIFFUSE_API diffuse_status diffuse_evaluate(diffuse_model *model, const void *config, size_t len, diffuse_format format,
                                            diffuse_eval_result *result);

#ifdef __cplusplus
}
#endif

#endif /* DIFFUSE_H */
