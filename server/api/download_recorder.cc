#include "server/api/download_recorder.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "server/common/errors.h"

namespace thesis::api {

DownloadRecorder::DownloadRecorder(storage::Backend& backend, RobotsSource& robots, Options options,
                                   ServerObserver* observer)
    : options_(options),
      robots_(robots),
      observer_(observer != nullptr ? observer : &default_observer_) {
  for (int i = 0; i < std::max(1, options.writers); ++i) {
    writers_.emplace_back(&DownloadRecorder::WriterLoop, this, backend.NewSession());
  }
}

DownloadRecorder::~DownloadRecorder() { Shutdown(); }

bool DownloadRecorder::TrySubmit(std::vector<domain::counter::Event> events, absl::Time deadline,
                                 Done done) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queued_events_ + events.size() > options_.queue_capacity_events) return false;
  queued_events_ += events.size();
  queue_.push_back(Pending{std::move(events), deadline, std::move(done)});
  return true;
}

void DownloadRecorder::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  for (std::thread& t : writers_) {
    if (t.joinable()) t.join();
  }
}

void DownloadRecorder::WriterLoop(std::unique_ptr<storage::Session> session) {
  for (;;) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](DownloadRecorder* r)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) { return r->stopping_ || !r->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping, and all recorded
      size_t events = 0;
      while (!queue_.empty() && (batch.empty() || events + queue_.front().events.size() <=
                                                      options_.max_batch_events)) {
        events += queue_.front().events.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_events_ -= events;
    }

    // Callers whose deadline passed while queued are answered now; the
    // transaction may run until the latest deadline of the others.
    const absl::Time now = absl::Now();
    std::vector<domain::counter::Event> events;
    std::vector<Pending*> included;
    storage::CallContext ctx;
    ctx.deadline = absl::InfinitePast();
    for (Pending& p : batch) {
      if (p.deadline <= now) {
        p.done(WithReason(absl::DeadlineExceededError("the deadline expired while queued"),
                          "DEADLINE_EXPIRED"));
        continue;
      }
      included.push_back(&p);
      ctx.deadline = std::max(ctx.deadline, p.deadline);
      for (domain::counter::Event& e : p.events) events.push_back(std::move(e));
    }
    if (included.empty()) continue;

    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<storage::RecordedEvent>> results =
        session->downloads().Record(ctx, events, robots_.Current());
    observer_->DownloadBatch(static_cast<int64_t>(events.size()), absl::Now() - start,
                             results.ok());
    if (!results.ok()) observer_->StorageError(absl::StatusCodeToString(results.status().code()));
    size_t offset = 0;
    for (Pending* p : included) {
      const size_t n = p->events.size();
      if (!results.ok()) {
        p->done(results.status());
      } else {
        p->done(std::vector<storage::RecordedEvent>(results->begin() + offset,
                                                    results->begin() + offset + n));
      }
      offset += n;
    }
  }
}

}  // namespace thesis::api
