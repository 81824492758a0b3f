#include "command_line.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace diffuse_cli {

std::string Arguments::get(const std::string& name, const std::string& fallback) const {
  const auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

namespace {

const Option* find_option(const Command& command, const std::string& name) {
  for (const Option& o : command.options) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

std::string synopsis(const Command& command) {
  return "diffuse " + command.name + (command.arguments.empty() ? "" : " " + command.arguments) +
         (command.options.empty() ? "" : " [options]");
}

}  // namespace

int usage_error(const Command& command, const std::string& message) {
  std::fprintf(stderr, "diffuse %s: %s\nusage: %s (diffuse %s --help explains every option)\n", command.name.c_str(),
               message.c_str(), synopsis(command).c_str(), command.name.c_str());
  return kExitUsage;
}

Parse parse_arguments(const Command& command, int argc, char** argv, int first, size_t min_positional,
                      size_t max_positional, Arguments* out) {
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_help(command);
      return Parse::kHelp;
    }
  }
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    // An option, unless it reads as a negative number (a positional argument).
    if (arg.size() > 1 && arg[0] == '-' && std::isdigit(static_cast<unsigned char>(arg[1])) == 0) {
      const Option* option = find_option(command, arg);
      if (!option) {
        usage_error(command, "unknown option '" + arg + "'");
        return Parse::kError;
      }
      if (out->has(arg)) {
        usage_error(command, arg + " given twice");
        return Parse::kError;
      }
      if (option->value.empty()) {
        out->options[arg] = "";
      } else if (i + 1 >= argc) {
        usage_error(command, arg + " needs a value (" + option->value + ")");
        return Parse::kError;
      } else {
        out->options[arg] = argv[++i];
      }
    } else {
      out->positional.push_back(arg);
    }
  }
  if (out->positional.size() < min_positional) {
    usage_error(command, "missing " + command.arguments);
    return Parse::kError;
  }
  if (out->positional.size() > max_positional) {
    usage_error(command, "unexpected argument '" + out->positional[max_positional] + "'");
    return Parse::kError;
  }
  return Parse::kOk;
}

void print_help(const Command& command) {
  std::printf("usage: %s\n\n%s\n", synopsis(command).c_str(), command.summary.c_str());
  if (!command.options.empty()) {
    std::printf("\noptions:\n");
    for (const Option& o : command.options) {
      const std::string left = o.name + (o.value.empty() ? "" : " " + o.value);
      std::printf("  %-26s %s\n", left.c_str(), o.help.c_str());
    }
    std::printf("  %-26s %s\n", "--help, -h", "this help");
  }
  if (!command.examples.empty()) {
    std::printf("\nexamples:\n");
    for (const std::string& e : command.examples) std::printf("  %s\n", e.c_str());
  }
  if (!command.notes.empty()) std::printf("\n%s\n", command.notes.c_str());
}

void print_overview(const std::vector<const Command*>& commands, const char* version) {
  std::printf("usage: diffuse COMMAND [arguments] [options]\n\n"
              "Trains and samples EDM2 diffusion models (libdiffuse %s).\n\ncommands:\n",
              version);
  for (const Command* c : commands) std::printf("  %-16s %s\n", c->name.c_str(), c->summary.c_str());
  std::printf("\n  diffuse COMMAND --help   that command's arguments, options, defaults and examples\n"
              "  diffuse --version        the library version\n\n"
              "exit status: %d done, %d failed (the error is printed), %d bad command line, %d a training run\n"
              "stopped before its end (Ctrl-C, SIGTERM): its checkpoint is written, diffuse train --resume RUN\n"
              "continues it.\n",
              kExitOk, kExitFailed, kExitUsage, kExitStopped);
}

bool integer_option(const Command& command, const Arguments& args, const std::string& name, long long min,
                    long long max, long long* out) {
  if (!args.has(name)) return true;
  const std::string text = args.get(name);
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || value < min || value > max) {
    usage_error(command, name + ": '" + text + "' is not an integer in [" + std::to_string(min) + ", " +
                             std::to_string(max) + "]");
    return false;
  }
  *out = value;
  return true;
}

bool number_option(const Command& command, const Arguments& args, const std::string& name, double min, double max,
                   double* out) {
  if (!args.has(name)) return true;
  const std::string text = args.get(name);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value) || value < min || value > max) {
    char range[96];
    std::snprintf(range, sizeof range, "[%g, %g]", min, max);
    usage_error(command, name + ": '" + text + "' is not a number in " + range);
    return false;
  }
  *out = value;
  return true;
}

}  // namespace diffuse_cli
