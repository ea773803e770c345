#include "server/common/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <exception>

#include "absl/strings/str_cat.h"

namespace thesis {

namespace {

// Seconds, from 0.5 ms to 10 s.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

}  // namespace

struct Metrics::Families {
  explicit Families(prometheus::Registry& r)
      : rpcs(prometheus::BuildCounter()
                 .Name("thesis_rpcs_total")
                 .Help("Finished RPCs by full method name and status code.")
                 .Register(r)),
        rpc_latency(prometheus::BuildHistogram()
                        .Name("thesis_rpc_latency_seconds")
                        .Help("Time from receiving an RPC to sending its status, by method.")
                        .Register(r)),
        auth_failures(prometheus::BuildCounter()
                          .Name("thesis_auth_failures_total")
                          .Help("Calls refused by authentication or authorization, by reason.")
                          .Register(r)),
        storage_errors(prometheus::BuildCounter()
                           .Name("thesis_storage_errors_total")
                           .Help("Storage calls failed for database reasons, by status code.")
                           .Register(r)),
        queue_depth(prometheus::BuildGauge()
                        .Name("thesis_worker_queue_depth")
                        .Help("Calls waiting for a database worker.")
                        .Register(r)
                        .Add({})),
        queue_wait(prometheus::BuildHistogram()
                       .Name("thesis_worker_queue_wait_seconds")
                       .Help("Time a call waited for a database worker.")
                       .Register(r)
                       .Add({}, LatencyBuckets())),
        batch_events(
            prometheus::BuildHistogram()
                .Name("thesis_download_batch_events")
                .Help("Download events per group commit.")
                .Register(r)
                .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200, 500,
                                                                 1000, 2000, 5000, 10000})),
        batch_commit(prometheus::BuildHistogram()
                         .Name("thesis_download_commit_seconds")
                         .Help("Duration of a download group-commit transaction.")
                         .Register(r)
                         .Add({}, LatencyBuckets())),
        batch_failures(prometheus::BuildCounter()
                           .Name("thesis_download_batch_failures_total")
                           .Help("Download group commits that failed (every caller got the error).")
                           .Register(r)
                           .Add({})) {}

  prometheus::Family<prometheus::Counter>& rpcs;
  prometheus::Family<prometheus::Histogram>& rpc_latency;
  prometheus::Family<prometheus::Counter>& auth_failures;
  prometheus::Family<prometheus::Counter>& storage_errors;
  prometheus::Gauge& queue_depth;
  prometheus::Histogram& queue_wait;
  prometheus::Histogram& batch_events;
  prometheus::Histogram& batch_commit;
  prometheus::Counter& batch_failures;
};

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      families_(std::make_unique<Families>(*registry_)) {}

Metrics::~Metrics() = default;

absl::StatusOr<int> Metrics::Serve(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  const std::vector<int> ports = exposer_->GetListeningPorts();
  if (ports.empty()) return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  return ports.front();
}

void Metrics::RpcDone(absl::string_view method, absl::string_view code, absl::Duration latency) {
  families_->rpcs.Add({{"method", std::string(method)}, {"code", std::string(code)}}).Increment();
  families_->rpc_latency.Add({{"method", std::string(method)}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::AuthFailure(absl::string_view reason) {
  families_->auth_failures.Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::StorageError(absl::string_view code) {
  families_->storage_errors.Add({{"code", std::string(code)}}).Increment();
}

void Metrics::SetQueueDepth(int64_t depth) {
  families_->queue_depth.Set(static_cast<double>(depth));
}

void Metrics::QueueWait(absl::Duration wait) {
  families_->queue_wait.Observe(absl::ToDoubleSeconds(wait));
}

void Metrics::DownloadBatch(int64_t events, absl::Duration commit, bool ok) {
  families_->batch_events.Observe(static_cast<double>(events));
  families_->batch_commit.Observe(absl::ToDoubleSeconds(commit));
  if (!ok) families_->batch_failures.Increment();
}

std::string Metrics::Text() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace thesis
