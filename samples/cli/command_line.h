// The CLI's commands and options, each declared once: its help, its parsing and its errors come from
// the declaration.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace diffuse_cli {

// Exit codes: scripts tell "done" from "stopped" from "failed".
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;   // the library reported an error (printed)
constexpr int kExitUsage = 2;    // a bad command line (the argument named)
constexpr int kExitStopped = 3;  // a run stopped before its end (Ctrl-C, SIGTERM, or another rank): resume it

struct Option {
  std::string name;   // "--seeds"
  std::string value;  // what follows it ("A-B[,C...]"); empty for a flag
  std::string help;   // what it does, with its default
};

struct Command {
  std::string name;       // "sample"
  std::string arguments;  // the positional arguments ("MODEL")
  std::string summary;    // one line
  std::vector<Option> options;
  std::vector<std::string> examples;
  std::string notes;      // printed after the examples
};

// A command line split into positional arguments and options.
struct Arguments {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // flags map to ""
  bool has(const std::string& name) const { return options.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
};

enum class Parse { kOk, kHelp, kError };

// Parses argv[first..] against `command`: every option must be declared, every value present, and
// between min_positional and max_positional other arguments given. --help / -h prints the command's
// help on stdout (kHelp); an error is printed on stderr, naming the argument (kError).
Parse parse_arguments(const Command& command, int argc, char** argv, int first, size_t min_positional,
                      size_t max_positional, Arguments* out);

// The help of one command, and of all of them (`diffuse --help`).
void print_help(const Command& command);
void print_overview(const std::vector<const Command*>& commands, const char* version);

// Prints "diffuse COMMAND: MESSAGE" and a pointer to the help on stderr; returns kExitUsage.
int usage_error(const Command& command, const std::string& message);

// A value of an option as a number in [min, max]; false after printing a named error.
bool integer_option(const Command& command, const Arguments& args, const std::string& name, long long min,
                    long long max, long long* out);
bool number_option(const Command& command, const Arguments& args, const std::string& name, double min, double max,
                   double* out);

}  // namespace diffuse_cli
