#include "server/common/watched_file.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace thesis {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read it"));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat(path, ": cannot read it"));
  return text.str();
}

absl::StatusOr<std::optional<std::string>> WatchedFile::ReadIfChanged() {
  struct stat st;
  if (stat(path_.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(path_, ": cannot read it"));
  }
  const std::string stamp = absl::StrCat(st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, "/",
                                         static_cast<int64_t>(st.st_size), "/", st.st_ino);
  {
    absl::MutexLock lock(&mu_);
    if (stamp == accepted_) return std::nullopt;
  }
  absl::StatusOr<std::string> contents = ReadWholeFile(path_);
  if (!contents.ok()) return contents.status();
  absl::MutexLock lock(&mu_);
  read_ = stamp;
  return std::optional<std::string>(std::move(*contents));
}

void WatchedFile::Accept() {
  absl::MutexLock lock(&mu_);
  accepted_ = read_;
}

}  // namespace thesis
