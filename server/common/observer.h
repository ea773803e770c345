// What the server reports about itself, for metrics. The default does
// nothing; server/common/metrics.h implements it for Prometheus. Kept apart
// so that the core library (also linked by consumers' in-process test
// servers) needs no metrics library. Every method is called from many
// threads at once.
#ifndef THESIS_SERVER_COMMON_OBSERVER_H_
#define THESIS_SERVER_COMMON_OBSERVER_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace thesis {

class ServerObserver {
 public:
  virtual ~ServerObserver() = default;

  // One finished RPC: full method name (/pkg.Service/Method) and status code name.
  virtual void RpcDone(absl::string_view /*method*/, absl::string_view /*code*/,
                       absl::Duration /*latency*/) {}
  virtual void AuthFailure(absl::string_view /*reason*/) {}
  // A storage call failed for a database reason (code name: UNAVAILABLE, ...).
  virtual void StorageError(absl::string_view /*code*/) {}
  // Worker pool: calls waiting now, and how long one waited for a worker.
  virtual void SetQueueDepth(int64_t /*depth*/) {}
  virtual void QueueWait(absl::Duration /*wait*/) {}
  // A download group commit: events in it and how long its transaction took.
  virtual void DownloadBatch(int64_t /*events*/, absl::Duration /*commit*/, bool /*ok*/) {}
};

}  // namespace thesis

#endif  // THESIS_SERVER_COMMON_OBSERVER_H_
