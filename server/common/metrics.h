// Prometheus metrics of one server, served as text on their own HTTP port
// (`/metrics`), apart from the gRPC port so that scraping needs no gRPC and
// no token.
#ifndef THESIS_SERVER_COMMON_METRICS_H_
#define THESIS_SERVER_COMMON_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/common/observer.h"

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace thesis {

class Metrics : public ServerObserver {
 public:
  Metrics();
  ~Metrics();

  // Serves /metrics on host:port (port 0: any free one); returns the port.
  absl::StatusOr<int> Serve(const std::string& address);

  void RpcDone(absl::string_view method, absl::string_view code, absl::Duration latency) override;
  void AuthFailure(absl::string_view reason) override;
  void StorageError(absl::string_view code) override;
  void SetQueueDepth(int64_t depth) override;
  void QueueWait(absl::Duration wait) override;
  void DownloadBatch(int64_t events, absl::Duration commit, bool ok) override;

  // The text exposition format, as /metrics serves it (for tests and logs).
  std::string Text() const;

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace thesis

#endif  // THESIS_SERVER_COMMON_METRICS_H_
