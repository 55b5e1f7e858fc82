#include "config_file.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>

#include "options.hpp"

namespace po = boost::program_options;

namespace troupe::cli {

namespace {

// Blanks as Program_options' config file parser trims them.
std::string trimmed(std::string_view text) {
  constexpr std::string_view blanks = " \t\r\n";
  const auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos)
    return {};
  return std::string(text.substr(first, text.find_last_not_of(blanks) - first + 1));
}

// An option's name as an error reports it: "--name", "name" or "-n".
std::string bare_name(std::string name) {
  name.erase(0, name.find_first_not_of('-'));
  return name;
}

} // namespace

config_file::config_file(std::string path) : path_(std::move(path)) {
  std::ifstream in{path_, std::ios::binary};
  std::ostringstream text;
  if (!in || !(text << in.rdbuf()))
    throw usage_error("--config: cannot read '" + path_ + "'");
  text_ = std::move(text).str();
  index_lines();
}

void config_file::index_lines() {
  std::istringstream in{text_};
  std::string prefix;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (const auto hash = line.find('#'); hash != std::string::npos)
      line.resize(hash);
    line = trimmed(line);
    if (line.empty())
      continue;
    if (line.front() == '[' && line.back() == ']') {
      prefix = line.substr(1, line.size() - 2);
      if (!prefix.empty() && prefix.back() != '.')
        prefix += '.';
    } else if (const auto equals = line.find('='); equals != std::string::npos) {
      lines_[prefix + trimmed(line.substr(0, equals))].push_back(number);
    } else {
      malformed_.emplace(line, number);
    }
  }
}

std::string config_file::where_line(int line) const {
  return "config file " + path_ + (line > 0 ? ":" + std::to_string(line) : std::string{});
}

std::string config_file::where(std::string_view option, std::size_t occurrence) const {
  const auto found = lines_.find(option);
  if (found == lines_.end() || found->second.empty())
    return where_line(0);
  return where_line(found->second[std::min(occurrence, found->second.size() - 1)]);
}

std::string config_file::resolve(const std::string& value) const {
  const std::filesystem::path path{value};
  if (value.empty() || path.is_absolute())
    return value;
  return (std::filesystem::path{path_}.parent_path() / path).string();
}

void config_file::store(const po::options_description& desc,
                        const std::vector<std::string>& path_options,
                        po::variables_map& vm) const {
  std::istringstream in{text_};
  po::parsed_options parsed{&desc};
  try {
    parsed = po::parse_config_file(in, desc, false);
  } catch (const po::invalid_config_file_syntax& e) {
    const auto line = malformed_.find(e.tokens());
    throw usage_error(where_line(line == malformed_.end() ? 0 : line->second) + ": " + e.what());
  } catch (const po::error_with_option_name& e) {
    throw usage_error(where(bare_name(e.get_option_name())) + ": " + e.what());
  } catch (const po::error& e) {
    throw usage_error(where_line(0) + ": " + e.what());
  }
  for (auto& option : parsed.options)
    if (std::find(path_options.begin(), path_options.end(), option.string_key)
        != path_options.end())
      for (auto& value : option.value)
        value = resolve(value);
  try {
    po::store(parsed, vm);
  } catch (const po::multiple_occurrences& e) {
    // Program_options refuses the second setting of the option.
    throw usage_error(where(bare_name(e.get_option_name()), 1) + ": " + e.what());
  } catch (const po::error_with_option_name& e) {
    throw usage_error(where(bare_name(e.get_option_name())) + ": " + e.what());
  } catch (const po::error& e) {
    throw usage_error(where_line(0) + ": " + e.what());
  }
}

} // namespace troupe::cli
