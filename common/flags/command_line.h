#pragma once

// Command-line parsing shared by the binaries that take daprd-style flags. Header-only, so that a
// binary linking Boost.Program_options statically (the injector) needs no extra library.

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace outrigger::flags {

// The arguments after the program name, with Go's single-dash form (-app-id) as --app-id.
inline std::vector<std::string> longForms(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a[0] == '-' && a[1] != '-') a = "-" + a;
    args.push_back(a);
  }
  return args;
}

// Stores args into vm. No guessing: a prefix of a flag ("--app-i") is an unknown flag, not that
// flag. Throws boost::program_options::error, like po::store.
inline void store(
    const std::vector<std::string>& args, const boost::program_options::options_description& desc,
    boost::program_options::variables_map& vm,
    const boost::program_options::positional_options_description* positional = nullptr) {
  namespace po = boost::program_options;
  po::command_line_parser parser(args);
  parser.options(desc).style(po::command_line_style::default_style &
                             ~po::command_line_style::allow_guessing);
  if (positional) parser.positional(*positional);
  po::store(parser.run(), vm);
  po::notify(vm);
}

}  // namespace outrigger::flags
