// The INI file of `troupe node --config FILE`. Boost.Program_options parses
// it; this class adds what that parser does not report: where each option
// stands in the file, so that a fault in a value names the file and the
// line, and the directory that relative paths in the file start from.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

namespace troupe::cli {

class config_file {
public:
  /// Reads PATH. Throws usage_error "--config: cannot read 'PATH'".
  explicit config_file(std::string path);

  /// Parses the file by DESC and stores its options in VM, below what VM
  /// already holds (Program_options keeps a value stored first). The values
  /// of PATH_OPTIONS become relative to the file's directory (see
  /// resolve). Throws usage_error naming the file, the line and the fault,
  /// e.g. "config file /x/node.ini:7: unrecognised option 'colour'".
  void store(const boost::program_options::options_description& desc,
             const std::vector<std::string>& path_options,
             boost::program_options::variables_map& vm) const;

  /// "config file PATH:LINE", the line of OPTION's OCCURRENCE-th setting
  /// (from 0); "config file PATH" when the file has no such line.
  std::string where(std::string_view option, std::size_t occurrence = 0) const;

  /// A relative VALUE as a path from the file's directory; an absolute or
  /// empty one unchanged.
  std::string resolve(const std::string& value) const;

  const std::string& path() const noexcept { return path_; }

private:
  // Where Program_options' config file parser finds each option: the same
  // reading of a line (comments, blanks, [section] prefixes), but only to
  // number lines, never to take values.
  void index_lines();
  std::string where_line(int line) const;

  std::string path_;
  std::string text_;
  std::map<std::string, std::vector<int>, std::less<>> lines_;  // option -> lines
  std::map<std::string, int> malformed_;  // a line without '=' -> its number
};

} // namespace troupe::cli
