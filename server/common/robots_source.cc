#include "server/common/robots_source.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"

namespace thesis {

RobotsSource::RobotsSource(std::string path)
    : path_(std::move(path)), current_(domain::counter::RobotFilter::BuiltIn()) {}

absl::Status RobotsSource::Reload() {
  if (path_.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(path_.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("robots list ", path_, ": cannot read it"));
  }
  const std::string stamp = absl::StrCat(st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, "/",
                                         static_cast<int64_t>(st.st_size), "/", st.st_ino);
  {
    absl::MutexLock lock(&mu_);
    if (stamp == loaded_stamp_) return absl::OkStatus();
  }
  std::ifstream in(path_, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return absl::NotFoundError(absl::StrCat("robots list ", path_, ": cannot read it"));
  }
  std::vector<std::string> rejected;
  auto filter = domain::counter::RobotFilter::WithCounterList(text.str(), &rejected);
  if (!filter.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("robots list ", path_, ": ", filter.status().message()));
  }
  for (const std::string& p : rejected) {
    LogWarning(absl::StrCat("robots list ", path_, ": pattern left out (not RE2): ", p));
  }
  LogInfo(absl::StrCat("robots list ", path_, ": ", (*filter)->pattern_count(), " patterns"));
  absl::MutexLock lock(&mu_);
  current_ = std::move(*filter);
  loaded_stamp_ = stamp;
  return absl::OkStatus();
}

std::shared_ptr<const domain::counter::RobotFilter> RobotsSource::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

}  // namespace thesis
