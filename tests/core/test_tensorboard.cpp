// TensorBoard event files: CRC-32C against RFC 3720's vectors, TFRecord framing read back byte by byte,
// events parsed back through our own schema, the tags of a stats line. (tests/tensorboard_readback.sh
// reads a training run's files with TensorBoard's own reader.)
#include <cmath>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "fixtures.h"
#include "io/atomic_file.h"
#include "io/crc32c.h"
#include "io/png.h"
#include "store/event_file.h"
#include "store/run_directory.h"
#include "store/stats_line.h"
#include "store/tf_record.h"
#include "test_util.h"
#include "train/tensorboard_scalars.h"
#include "util/error.h"

namespace diffuse::tensorboard_test {
namespace {

namespace fs = std::filesystem;
using test::throws_error;

uint64_t le(const std::string& bytes, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
  return v;
}

uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }

TEST(Crc32c, MatchesKnownVectors) {
  const std::string digits = "123456789";
  EXPECT_EQ(crc32c(digits.data(), digits.size()), 0xE3069283u);
  EXPECT_EQ(crc32c(nullptr, 0), 0u);
  // RFC 3720 §B.4: 32 bytes of zeros, of ones, incrementing, decrementing.
  std::string zeros(32, '\0'), ones(32, '\xff'), up(32, '\0'), down(32, '\0');
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<char>(i);
    down[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), 32), 0x113FDB5Cu);
}

TEST(Crc32c, ExtendsAcrossPieces) {
  const std::string text = "the quick brown fox jumps over the lazy dog";
  for (size_t cut : {size_t{0}, size_t{1}, size_t{17}, text.size()}) {
    EXPECT_EQ(crc32c_extend(crc32c(text.data(), cut), text.data() + cut, text.size() - cut), crc32c(text.data(), text.size()))
        << cut;
  }
}

TEST(TfRecord, FramesDataWithLengthAndMaskedChecksums) {
  EXPECT_EQ(masked_crc32c("123456789", 9), mask(0xE3069283u));
  const std::string record = frame_record("abc");
  ASSERT_EQ(record.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(le(record, 0, 8), 3u);
  EXPECT_EQ(le(record, 8, 4), mask(crc32c(record.data(), 8)));
  EXPECT_EQ(record.substr(12, 3), "abc");
  EXPECT_EQ(le(record, 15, 4), mask(crc32c("abc", 3)));
  EXPECT_EQ(parse_records(record + frame_record("") + frame_record("de"), "x"), (std::vector<std::string>{"abc", "", "de"}));
}

TEST(TfRecord, ARecordCutShortEndsTheList) {
  const std::string two = frame_record("first") + frame_record("second");
  for (size_t cut = frame_record("first").size(); cut < two.size(); ++cut) {
    EXPECT_EQ(parse_records(two.substr(0, cut), "x"), std::vector<std::string>{"first"}) << cut;
  }
}

TEST(TfRecord, RefusesABadChecksumNamingTheRecord) {
  std::string bad_length = frame_record("abc"), bad_data = bad_length;
  bad_length[8] ^= 1;
  bad_data[13] ^= 1;
  const std::string first = frame_record("ok");
  EXPECT_TRUE(throws_error([&] { parse_records(first + bad_length, "f.tfevents"); }, ErrorCode::kCorruptFile,
                           {"f.tfevents", "at byte 18", "length"}));
  EXPECT_TRUE(throws_error([&] { parse_records(bad_data, "f.tfevents"); }, ErrorCode::kCorruptFile,
                           {"f.tfevents", "at byte 0", "data"}));
}

class EventFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("events"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(EventFileTest, BeginsWithTheVersionAndASessionStart) {
  const std::string path = EventFile(dir_, 4096).path();
  EXPECT_EQ(fs::path(path).parent_path(), fs::path(dir_));
  EXPECT_EQ(fs::path(path).filename().string().rfind("events.out.tfevents.", 0), 0u);
  EXPECT_EQ(list_event_files(dir_), std::vector<std::string>{path});
  // The framing of the file itself, record by record.
  const std::string bytes = read_file(path);
  size_t at = 0;
  std::vector<tensorboard::Event> events;
  while (at < bytes.size()) {
    ASSERT_GE(bytes.size() - at, 16u);
    const uint64_t length = le(bytes, at, 8);
    EXPECT_EQ(le(bytes, at + 8, 4), mask(crc32c(bytes.data() + at, 8)));
    ASSERT_LE(at + 16 + length, bytes.size());
    EXPECT_EQ(le(bytes, at + 12 + length, 4), mask(crc32c(bytes.data() + at + 12, length)));
    ASSERT_TRUE(events.emplace_back().ParseFromString(bytes.substr(at + 12, length)));
    at += 16 + length;
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_EQ(events[1].session_log().status(), tensorboard::SessionLog::START);
  EXPECT_EQ(events[1].step(), 4096);
  const double now = static_cast<double>(std::time(nullptr));
  for (const auto& e : events) EXPECT_NEAR(e.wall_time(), now, 60);
}

TEST_F(EventFileTest, ScalarsAndImagesParseBack) {
  std::string path;
  const at::Tensor image = at::arange(2 * 3 * 5, at::kByte).reshape({3, 2, 5});
  const std::string png = encode_png(image);
  {
    EventFile file(dir_, 0);
    path = file.path();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    file.write_scalars(256, {{"loss", 0.125}, {"empty_bin", nan}, {"zero", 0.0}, {"third", 1.0 / 3}});
    file.write_scalars(512, {{"only_nan", nan}});  // nothing to write
    file.write_image(768, "samples", png, 2, 5, 3);
  }
  const std::vector<tensorboard::Event> events = read_event_file(path);
  ASSERT_EQ(events.size(), 4u);
  const tensorboard::Event& scalars = events[2];
  EXPECT_EQ(scalars.step(), 256);
  ASSERT_EQ(scalars.summary().value_size(), 3);
  EXPECT_EQ(scalars.summary().value(0).tag(), "loss");
  EXPECT_EQ(scalars.summary().value(0).simple_value(), 0.125f);
  EXPECT_EQ(scalars.summary().value(1).tag(), "zero");  // a zero is a value, on the wire too
  EXPECT_EQ(scalars.summary().value(1).value_case(), tensorboard::Summary::Value::kSimpleValue);
  EXPECT_EQ(scalars.summary().value(2).simple_value(), static_cast<float>(1.0 / 3));
  const tensorboard::Event& picture = events[3];
  EXPECT_EQ(picture.step(), 768);
  ASSERT_EQ(picture.summary().value_size(), 1);
  EXPECT_EQ(picture.summary().value(0).tag(), "samples");
  const tensorboard::Summary::Image& im = picture.summary().value(0).image();
  EXPECT_EQ(im.height(), 2);
  EXPECT_EQ(im.width(), 5);
  EXPECT_EQ(im.colorspace(), 3);
  EXPECT_EQ(im.encoded_image_string(), png);
  EXPECT_TRUE(at::equal(decode_png(im.encoded_image_string().data(), im.encoded_image_string().size(), "event"), image));
}

TEST_F(EventFileTest, NamesSortInTheOrderOfSessions) {
  // Sessions within one second, and after a file whose name is in the future (a clock set back).
  write_file_atomic(dir_ + "/events.out.tfevents.1999999998.elsewhere.1.0", "", 0);
  std::vector<std::string> paths;
  for (int i = 0; i < 3; ++i) paths.push_back(EventFile(dir_, i).path());
  const std::vector<std::string> listed = list_event_files(dir_);
  ASSERT_EQ(listed.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(listed.begin() + 1, listed.end()), paths);
}

TEST_F(EventFileTest, AnUnwritableDirectoryIsAnIoErrorNamingTheFile) {
  EXPECT_TRUE(throws_error([&] { EventFile(dir_ + "/missing", 0); }, ErrorCode::kIo, {dir_ + "/missing/events.out.tfevents."}));
}

TEST_F(EventFileTest, AnUnfinishedRunsEventsAndGridsAreClearedForANewOne) {
  const RunDirectory run(dir_);
  const std::string events = EventFile(dir_, 0).path();
  const std::string grid = run.sample_grid_file(16384);
  EXPECT_EQ(grid, dir_ + "/samples/grid-0000016.png");
  write_file_atomic(grid, "png", 3);
  write_file_atomic(dir_ + "/samples/notes.txt", "mine", 4);
  const std::vector<std::string> removed = run.clear_unfinished_run();
  EXPECT_EQ(removed, (std::vector<std::string>{fs::path(events).filename().string(), "samples/grid-0000016.png"}));
  EXPECT_FALSE(fs::exists(events));
  EXPECT_TRUE(fs::exists(dir_ + "/samples/notes.txt"));  // not ours
}

TEST(TensorboardScalars, NameTheSigmaRangesAndFollowTheStatsLine) {
  EXPECT_EQ(sigma_bin_tag(0), "loss_per_sigma_bin/0_sigma_0-0.00577");
  EXPECT_EQ(sigma_bin_tag(1), "loss_per_sigma_bin/1_sigma_0.00577-0.0167");
  EXPECT_EQ(sigma_bin_tag(9), "loss_per_sigma_bin/9_sigma_27.7-inf");
  EXPECT_EQ(validation_sigma_tag(0.002), "validation_loss/sigma_0.002");
  EXPECT_EQ(validation_sigma_tag(80), "validation_loss/sigma_80");

  StatsLine line;
  line.nimg = 2048;
  line.images_per_second = 100;
  auto& st = line.status.emplace();
  st.loss = 0.5;
  st.loss_per_sigma_bin = std::vector<double>(10, 0.25);
  st.lr = 0.01;
  st.beta1 = 0.9;
  line.validation = StatsLine::Validation{0.75, std::vector<double>(10, 0.5)};
  const std::vector<ScalarValue> values = tensorboard_scalars(line);
  ASSERT_EQ(values.size(), 1u + 10 + 3 + 1 + 10);
  EXPECT_EQ(values[0].tag, "loss");
  EXPECT_EQ(values[11].tag, "learning_rate");
  EXPECT_EQ(values[11].value, 0.01);
  EXPECT_EQ(values[12].tag, "beta1");
  EXPECT_EQ(values[13].tag, "images_per_second");
  EXPECT_EQ(values[14].tag, "validation_loss");
  EXPECT_EQ(values[14].value, 0.75);
  EXPECT_EQ(values[24].tag, "validation_loss/sigma_80");

  line.status.reset();
  EXPECT_EQ(tensorboard_scalars(line).size(), 11u);  // a validation-only line (the untrained network's)
}

}  // namespace
}  // namespace diffuse::tensorboard_test
