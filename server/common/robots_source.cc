#include "server/common/robots_source.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/log.h"

namespace thesis {

RobotsSource::RobotsSource(std::string path)
    : file_(std::move(path)), current_(domain::counter::RobotFilter::BuiltIn()) {}

absl::Status RobotsSource::Reload() {
  if (file_.path().empty()) return absl::OkStatus();
  absl::StatusOr<std::optional<std::string>> text = file_.ReadIfChanged();
  if (!text.ok()) return absl::NotFoundError(absl::StrCat("robots list ", text.status().message()));
  if (!text->has_value()) return absl::OkStatus();
  std::vector<std::string> rejected;
  auto filter = domain::counter::RobotFilter::WithCounterList(**text, &rejected);
  if (!filter.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("robots list ", file_.path(), ": ", filter.status().message()));
  }
  for (const std::string& p : rejected) {
    LogWarning(absl::StrCat("robots list ", file_.path(), ": pattern left out (not RE2): ", p));
  }
  LogInfo(
      absl::StrCat("robots list ", file_.path(), ": ", (*filter)->pattern_count(), " patterns"));
  file_.Accept();
  absl::MutexLock lock(&mu_);
  current_ = std::move(*filter);
  return absl::OkStatus();
}

std::shared_ptr<const domain::counter::RobotFilter> RobotsSource::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

}  // namespace thesis
