// TensorBoard event files (README "TensorBoard"): events.out.tfevents.<seconds>.<host>.<pid>.<n> in
// the run directory, one per session of a run (a new run, each resume), TFRecord-framed
// (store/tf_record.h) diffuse.tensorboard.Event messages (schemas/diffuse/tensorboard/tensorboard.proto).
// A file begins with file_version "brain.Event:2" and a SessionLog START; then come summaries. Writer
// and reader side by side.
//
// An event file is a log, not a document: it is appended to in place (never written atomically), each
// event with one write(2) as soon as it is made, so a reader that follows the file (TensorBoard does)
// sees it at once. A kill can leave its last record cut short; readers, ours and TensorBoard's, stop
// there, and the next session writes a new file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensorboard.pb.h"

namespace diffuse {

// A value of a scalar chart.
struct ScalarValue {
  std::string tag;
  double value = 0;
};

class EventFile {
 public:
  // Creates a new event file in `dir` (an existing directory) and writes its first two events: the
  // file version, and a SessionLog START at `start_step`, after which TensorBoard drops what earlier
  // files hold at steps >= start_step. <seconds> in its name is the time now, or one more than the
  // newest event file's in `dir` when that is not earlier: names sort in the order of sessions, the
  // order TensorBoard reads files in. Throws Error(kIo) naming the file.
  EventFile(const std::string& dir, int64_t start_step);
  ~EventFile();
  EventFile(const EventFile&) = delete;
  EventFile& operator=(const EventFile&) = delete;

  const std::string& path() const { return path_; }

  // One event at `step` with a scalar summary per value, stored as float32 (TensorBoard's
  // simple_value). Values that are not finite (stats.jsonl's null: no measurement, e.g. an empty σ bin)
  // are left out; with none left, nothing is written. Throws Error(kIo) naming the file.
  void write_scalars(int64_t step, const std::vector<ScalarValue>& values);
  // One event at `step` with an image summary: `png` is the encoded image, `channels` its colour
  // model (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA: TensorBoard's colorspace). Throws Error(kIo).
  void write_image(int64_t step, const std::string& tag, const std::string& png, int64_t height, int64_t width,
                   int channels);

 private:
  void append(int64_t step, tensorboard::Event& event);

  std::string path_;
  int fd_ = -1;
};

// Whether `name` (a file name, no directory) is an event file's: TensorBoard's rule, "tfevents" in it.
bool is_event_file_name(const std::string& name);

// The event files in `dir`, in the order TensorBoard reads them (by name). Empty when there are none or
// `dir` does not exist.
std::vector<std::string> list_event_files(const std::string& dir);

// Every complete event of a file, in order. Throws Error(kIo) if it cannot be read,
// Error(kCorruptFile) naming the file for a bad checksum or a record that is no Event.
std::vector<tensorboard::Event> read_event_file(const std::string& path);

}  // namespace diffuse
