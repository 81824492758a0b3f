// The files a training run leaves (DESIGN "Files a run leaves"): config.textproto, stats.jsonl,
// log.txt, checkpoint-<kimg>.safetensors and ema-<sigma_rel>-<kimg>.safetensors. Every file but the
// append-only stats and log is written atomically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace diffuse {

class RunDirectory {
 public:
  // Creates the directory (and parents) if needed. Throws Error(kIo).
  explicit RunDirectory(std::string path);

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const;  // path/name

  static std::string checkpoint_name(int64_t nimg);  // checkpoint-<kimg, 7 digits>.safetensors
  // Checkpoint paths, oldest first (by the kimg in their names).
  std::vector<std::string> checkpoints() const;
  // Deletes all but the newest `keep` checkpoints.
  void prune_checkpoints(int keep) const;
  // Removes temporaries left by an interrupted atomic write ("*.tmp.*").
  void remove_stale_temporaries() const;

  // Appends one line (a JSON object without newline) to stats.jsonl in a single write.
  void append_stats(const std::string& line) const;
  // Keeps only the stats.jsonl lines whose "nimg" is <= max_nimg (and that parse), so a resumed run
  // does not repeat lines written after its checkpoint. Atomic.
  void truncate_stats(int64_t max_nimg) const;

 private:
  std::string path_;
};

}  // namespace diffuse
