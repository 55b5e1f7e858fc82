// A fresh directory under /tmp for one test, removed with everything in it
// when the object goes: data directories, config files, scratch space.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace troupe::test {

class temp_dir {
public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "troupe-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const noexcept {
    return path_;
  }

  /// Writes `content` to the file `name` in this directory; returns its path.
  std::string write_file(const std::string& name, const std::string& content) const {
    auto file = path_ + "/" + name;
    std::ofstream out{file, std::ios::binary};
    out << content;
    if (!out)
      throw std::runtime_error("cannot write " + file);
    return file;
  }

private:
  std::string path_;
};

} // namespace troupe::test
