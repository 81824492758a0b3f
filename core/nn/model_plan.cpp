#include "nn/model_plan.h"

#include <algorithm>
#include <string>

namespace diffuse {
namespace {

std::string level_name(int resolution, const std::string& suffix) {
  return std::to_string(resolution) + "x" + std::to_string(resolution) + "_" + suffix;
}

bool has_attention_at(const ModelOptions& o, int resolution) {
  return std::find(o.attn_resolutions.begin(), o.attn_resolutions.end(), resolution) != o.attn_resolutions.end();
}

}  // namespace

UNetPlan plan_unet(const ModelOptions& o) {
  UNetPlan plan;
  std::vector<int> cblock;
  for (int mult : o.channel_mult) cblock.push_back(o.model_channels * mult);
  const int levels = static_cast<int>(cblock.size());
  plan.noise_channels = cblock.front();
  plan.embedding_channels = *std::max_element(cblock.begin(), cblock.end());

  // Encoder (§3): every entry's output is pushed onto the skip stack.
  std::vector<int> skips;
  int cout = o.img_channels + 1;  // + the constant ones channel
  for (int level = 0; level < levels; ++level) {
    const int res = o.img_resolution >> level;
    if (level == 0) {
      BlockPlan stem{level_name(res, "conv"), true, cout, cblock[0]};
      cout = cblock[0];
      plan.encoder.push_back(stem);
    } else {
      BlockPlan down{level_name(res, "down"), false, cout, cout, BlockFlavor::kEnc, Resample::kDown};
      plan.encoder.push_back(down);
    }
    skips.push_back(cout);
    for (int i = 0; i < o.num_blocks; ++i) {
      BlockPlan block{level_name(res, "block" + std::to_string(i)), false, cout, cblock[level], BlockFlavor::kEnc,
                      Resample::kKeep, has_attention_at(o, res)};
      cout = cblock[level];
      plan.encoder.push_back(block);
      skips.push_back(cout);
    }
  }

  // Decoder (§3): the lowest level starts with in0 (always attention) and in1; the others with an up block.
  for (int level = levels - 1; level >= 0; --level) {
    const int res = o.img_resolution >> level;
    if (level == levels - 1) {
      plan.decoder.push_back({level_name(res, "in0"), false, cout, cout, BlockFlavor::kDec, Resample::kKeep, true});
      plan.decoder.push_back({level_name(res, "in1"), false, cout, cout, BlockFlavor::kDec, Resample::kKeep, false});
    } else {
      plan.decoder.push_back({level_name(res, "up"), false, cout, cout, BlockFlavor::kDec, Resample::kUp, false});
    }
    for (int i = 0; i <= o.num_blocks; ++i) {
      const int cin = cout + skips.back();
      skips.pop_back();
      BlockPlan block{level_name(res, "block" + std::to_string(i)), false, cin, cblock[level], BlockFlavor::kDec,
                      Resample::kKeep, has_attention_at(o, res), true};
      cout = cblock[level];
      plan.decoder.push_back(block);
    }
  }
  plan.out_in_channels = cout;
  return plan;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> parameter_shapes(const ModelOptions& o) {
  const UNetPlan plan = plan_unet(o);
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) { shapes.emplace_back(name, std::move(shape)); };
  const int64_t cemb = plan.embedding_channels;

  add("unet.emb_noise.weight", {cemb, plan.noise_channels});
  if (o.label_dim > 0) add("unet.emb_label.weight", {cemb, o.label_dim});
  auto add_block = [&](const std::string& prefix, const BlockPlan& b) {
    const std::string p = prefix + b.name + ".";
    if (b.stem) {
      add(p + "weight", {b.out_channels, b.in_channels, 3, 3});
      return;
    }
    const int64_t cin = b.in_channels, cout = b.out_channels;
    add(p + "emb_gain", {});
    add(p + "conv_res0.weight", {cout, b.flavor == BlockFlavor::kEnc ? cout : cin, 3, 3});
    add(p + "emb_linear.weight", {cout, cemb});
    add(p + "conv_res1.weight", {cout, cout, 3, 3});
    if (b.has_conv_skip()) add(p + "conv_skip.weight", {cout, cin, 1, 1});
    if (b.attention) {
      add(p + "attn_qkv.weight", {cout * 3, cout, 1, 1});
      add(p + "attn_proj.weight", {cout, cout, 1, 1});
    }
  };
  for (const auto& b : plan.encoder) add_block("unet.enc.", b);
  for (const auto& b : plan.decoder) add_block("unet.dec.", b);
  add("unet.out_gain", {});
  add("unet.out_conv.weight", {o.img_channels, plan.out_in_channels, 3, 3});
  add("logvar_linear.weight", {1, o.logvar_channels});
  return shapes;
}

int64_t count_parameters(const ModelOptions& o) {
  int64_t total = 0;
  for (const auto& [name, shape] : parameter_shapes(o)) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    total += n;
  }
  return total;
}

}  // namespace diffuse
