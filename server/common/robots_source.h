// The robot filter in force: the built-in patterns plus, when a file is
// configured, the COUNTER robots list read from it. Reload() re-reads the
// file when it changed (a Kubernetes ConfigMap update swaps it), so the list
// is reloadable without a restart; a file that fails to load keeps the
// filter in force.
#ifndef THESIS_SERVER_COMMON_ROBOTS_SOURCE_H_
#define THESIS_SERVER_COMMON_ROBOTS_SOURCE_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/common/watched_file.h"
#include "server/domain/counter.h"

namespace thesis {

class RobotsSource {
 public:
  // `path` empty: built-in patterns only.
  explicit RobotsSource(std::string path);

  // Loads the file if it changed since the last load. OK when nothing
  // needed loading.
  absl::Status Reload();

  std::shared_ptr<const domain::counter::RobotFilter> Current() const;

 private:
  WatchedFile file_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const domain::counter::RobotFilter> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace thesis

#endif  // THESIS_SERVER_COMMON_ROBOTS_SOURCE_H_
