// A training run's directory (README "The run directory"): the names of its files and the run's
// config.textproto (the resolved TrainConfig), stats.jsonl (store/stats_line.h), log.txt, the
// checkpoints (store/checkpoint.h), EMA snapshots (store/ema_snapshot.h), TensorBoard event files
// (store/event_file.h) and sample grids (samples/grid-<kimg>.png). Every file but the append-only
// stats, log and event files is written atomically.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "diffuse.pb.h"

namespace diffuse {

class RunDirectory {
 public:
  // Creates the directory (and parents) if needed. Throws Error(kIo).
  explicit RunDirectory(std::string path);

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const;  // path/name
  std::string log_file() const;                      // path/log.txt

  // An exclusive lock on the directory (run.lock, flock) for as long as the returned object lives, so
  // that two trainers never write one run. Throws Error(kBusy) naming the holder's pid when another
  // trainer (in this or another process) holds it, Error(kIo) when the lock file cannot be made.
  class Lock;
  std::unique_ptr<Lock> lock() const;

  // Whether the directory holds a run that can be resumed (a checkpoint). A directory whose run ended
  // before its first checkpoint (a wrong dataset path, a kill) holds none: a new run may start there.
  bool holds_run() const;
  // Removes what such an unfinished run left besides its log: config.textproto, stats.jsonl, EMA
  // snapshots, event files, sample grids and temporaries. Returns the names removed (grids as
  // samples/<name>). Throws Error(kIo).
  std::vector<std::string> clear_unfinished_run() const;
  // Writes the resolved config as config.textproto, atomically.
  void save_config(const v1::TrainConfig& resolved) const;
  // Reads <run_dir>/config.textproto with run.output_dir set to run_dir (unresolved), without creating
  // anything. Throws Error(kIo) when it cannot be read, Error(kCorruptFile) naming the file when it
  // does not parse.
  static v1::TrainConfig load_config(const std::string& run_dir);

  static std::string checkpoint_name(int64_t nimg);  // checkpoint-<kimg, 7 digits>.safetensors
  // Checkpoint paths, oldest first (by the kimg in their names).
  std::vector<std::string> checkpoints() const;
  // Deletes all but the newest `keep` checkpoints.
  void prune_checkpoints(int keep) const;
  // Removes temporaries left by an interrupted atomic write ("*.tmp.*"), here and in samples/.
  void remove_stale_temporaries() const;

  // path/samples/grid-<kimg, 7 digits>.png, the sample grid at that time; creates samples/ if needed.
  // Throws Error(kIo).
  std::string sample_grid_file(int64_t nimg) const;

  // Appends one line (a JSON object without newline) to stats.jsonl in a single write.
  void append_stats(const std::string& line) const;
  // Keeps only the stats.jsonl lines whose "nimg" is <= max_nimg (and that parse), so a resumed run
  // does not repeat lines written after its checkpoint. Atomic.
  void truncate_stats(int64_t max_nimg) const;

 private:
  std::string path_;
};

class RunDirectory::Lock {
 public:
  explicit Lock(int fd) : fd_(fd) {}
  ~Lock();
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  int fd_;
};

}  // namespace diffuse
