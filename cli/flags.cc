#include "cli/flags.h"

#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <cctype>
#include <fstream>
#include <sstream>

namespace pigtail::cli {
namespace {

// --help and --version come from the command line only.
bool FromEnvironmentToo(const std::string& flag) { return flag != "help" && flag != "version"; }

// A switch (a flag without a value) set from the environment: on or off.
Result<bool> SwitchValue(const std::string& name, const std::string& text) {
  for (const char* on : {"1", "true", "yes", "on"}) {
    if (text == on) return true;
  }
  for (const char* off : {"", "0", "false", "no", "off"}) {
    if (text == off) return false;
  }
  return Status::InvalidArgument(name + ": expected 1/true/yes/on or 0/false/no/off, got \"" +
                                 text + "\"");
}

// Runs one step of parsing, turning Program_options' exceptions into
// InvalidArgument with `where` in front ("" for the command line).
template <typename F>
Status Guard(const std::string& where, F&& f) {
  try {
    f();
    return Status::Ok();
  } catch (const po::error& e) {
    return Status::InvalidArgument((where.empty() ? "" : where + ": ") + e.what());
  }
}

// Program_options reads "-1" for an unsigned flag as 2^64-1 (through
// lexical_cast); a sign is refused instead.
template <typename T>
bool Holds(const po::value_semantic* semantic) {
  return dynamic_cast<const po::typed_value<T>*>(semantic) != nullptr;
}

// Stores `parsed` (from `where`, "" for the command line) into *vm.
Status Store(const po::parsed_options& parsed, const std::string& where, po::variables_map* vm) {
  for (const po::option& o : parsed.options) {
    const po::option_description* d = parsed.description->find_nothrow(o.string_key, false);
    if (d == nullptr) continue;
    const po::value_semantic* semantic = d->semantic().get();
    if (!Holds<unsigned short>(semantic) && !Holds<unsigned int>(semantic) &&
        !Holds<unsigned long>(semantic) && !Holds<unsigned long long>(semantic)) {
      continue;
    }
    for (const std::string& value : o.value) {
      if (value.find('-') == std::string::npos) continue;
      return Status::InvalidArgument((where.empty() ? "" : where + ": ") + "the argument ('" +
                                     value + "') for option '" + (where.empty() ? "--" : "") +
                                     o.string_key + "' is invalid");
    }
  }
  return Guard(where, [&] { po::store(parsed, *vm); });
}

// Stores the flags set in the environment, as if parsed; an error names
// the variable.
Status StoreEnvironment(const po::options_description& desc, const FlagSources& sources,
                        po::variables_map* vm) {
  if (!sources.env) return Status::Ok();
  for (const auto& d : desc.options()) {
    if (!FromEnvironmentToo(d->long_name())) continue;
    std::string name = EnvName(sources.env_prefix, d->long_name());
    const char* value = sources.env(name.c_str());
    if (value == nullptr) continue;
    po::option o;
    o.string_key = d->long_name();
    o.original_tokens = {name};
    if (d->semantic()->max_tokens() == 0) {
      PIGTAIL_ASSIGN_OR_RETURN(bool on, SwitchValue(name, value));
      if (!on) continue;
    } else {
      o.value = {value};
    }
    po::parsed_options parsed(&desc);
    parsed.options.push_back(std::move(o));
    PIGTAIL_RETURN_IF_ERROR(Store(parsed, name, vm));
  }
  return Status::Ok();
}

// `text` in lines of at most `width` columns (longer words stay whole),
// each starting with `indent`.
std::string Wrapped(const std::string& text, const std::string& indent, size_t width) {
  std::string out;
  std::string line = indent;
  std::istringstream words(text);
  for (std::string word; words >> word;) {
    if (line.size() > indent.size() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = indent;
    }
    if (line.size() > indent.size()) line += " ";
    line += word;
  }
  return out + line + "\n";
}

}  // namespace

std::string EnvName(std::string_view prefix, std::string_view flag) {
  std::string out(prefix);
  for (char c : flag) {
    out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

Status ParseFlags(const std::vector<std::string>& args, const po::options_description& desc,
                  const po::positional_options_description* positional, const FlagSources& sources,
                  po::variables_map* vm) {
  // Values stored first win: the command line, then the environment, then
  // the file.
  po::positional_options_description none;
  const int style = po::command_line_style::unix_style ^ po::command_line_style::allow_guessing;
  po::parsed_options command_line(&desc);
  try {
    command_line = po::command_line_parser(args)
                       .options(desc)
                       .positional(positional != nullptr ? *positional : none)
                       .style(style)
                       .run();
  } catch (const po::too_many_positional_options_error&) {
    // Name the argument: parse again, keeping what is not a flag.
    std::vector<std::string> extra = po::collect_unrecognized(
        po::command_line_parser(args).options(desc).style(style).allow_unregistered().run().options,
        po::include_positional);
    size_t expected = positional != nullptr ? positional->max_total_count() : 0;
    return Status::InvalidArgument("unexpected argument \"" +
                                   (extra.size() > expected ? extra[expected] : std::string()) +
                                   "\"");
  } catch (const po::unknown_option& e) {
    // Program_options quotes the whole token, "--bogus=1"; name the flag.
    std::string flag = e.get_option_name();
    return Status::InvalidArgument("unrecognised option '" + flag.substr(0, flag.find('=')) + "'");
  } catch (const po::error& e) {
    return Status::InvalidArgument(e.what());
  }
  PIGTAIL_RETURN_IF_ERROR(Store(command_line, "", vm));
  PIGTAIL_RETURN_IF_ERROR(StoreEnvironment(desc, sources, vm));
  if (desc.find_nothrow("config", false) != nullptr && vm->count("config") > 0) {
    const std::string path = (*vm)["config"].as<std::string>();
    if (!path.empty()) {
      std::ifstream in(path);
      if (!in) return Status::InvalidArgument("cannot read config file " + path);
      const std::string where = "config file " + path;
      po::parsed_options file(&desc);
      PIGTAIL_RETURN_IF_ERROR(Guard(where, [&] { file = po::parse_config_file(in, desc); }));
      PIGTAIL_RETURN_IF_ERROR(Store(file, where, vm));
    }
  }
  return Guard("", [&] { po::notify(*vm); });
}

std::string FlagsHelp(std::string_view usage, const po::options_description& desc,
                      std::string_view env_prefix) {
  std::ostringstream out;
  out << usage << "\n";
  for (const auto& d : desc.options()) {
    out << "  --" << d->long_name();
    std::string parameter = d->format_parameter();
    if (!parameter.empty()) out << " " << parameter;
    if (!env_prefix.empty() && FromEnvironmentToo(d->long_name()))
      out << "   [" << EnvName(env_prefix, d->long_name()) << "]";
    out << "\n" << Wrapped(d->description(), "      ", 80);
  }
  if (!env_prefix.empty()) {
    out << "\nEvery flag can also be set by the environment variable in brackets, or by a\n"
           "line `flag = value` (# starts a comment) in the file named by --config.\n"
           "The command line wins over the environment, the environment over the file,\n"
           "and the file over the defaults shown as (=...).\n";
  }
  return out.str();
}

}  // namespace pigtail::cli
