// Files the server re-reads while it runs (the robots list, the API keys):
// read again only when they changed, by modification time, size or inode,
// which is what a Kubernetes ConfigMap or Secret update changes (it swaps a
// symlink), and taken into use only when their new contents were accepted.
#ifndef THESIS_SERVER_COMMON_WATCHED_FILE_H_
#define THESIS_SERVER_COMMON_WATCHED_FILE_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace thesis {

// The whole file; NOT_FOUND naming it when it cannot be read.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

class WatchedFile {
 public:
  explicit WatchedFile(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  // The contents when the file differs from the version last accepted;
  // nullopt when it does not; NOT_FOUND when it cannot be read.
  absl::StatusOr<std::optional<std::string>> ReadIfChanged();
  // The version ReadIfChanged last returned is in force now. A version that
  // is never accepted (it did not parse) is read again at the next call.
  void Accept();

 private:
  const std::string path_;
  absl::Mutex mu_;
  std::string accepted_ ABSL_GUARDED_BY(mu_);  // mtime/size/inode in force
  std::string read_ ABSL_GUARDED_BY(mu_);      // ... of the last read
};

}  // namespace thesis

#endif  // THESIS_SERVER_COMMON_WATCHED_FILE_H_
