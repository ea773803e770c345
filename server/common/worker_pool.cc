#include "server/common/worker_pool.h"

#include "absl/time/clock.h"

namespace thesis {

WorkerPool::WorkerPool(storage::Backend& backend, int threads, int queue_capacity,
                       ServerObserver* observer)
    : queue_capacity_(queue_capacity),
      observer_(observer != nullptr ? observer : &default_observer_) {
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back(&WorkerPool::WorkerLoop, this, backend.NewSession());
  }
}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::TrySubmit(Task task) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || static_cast<int>(queue_.size()) >= queue_capacity_) return false;
  queue_.push_back(Queued{std::move(task), absl::Now()});
  observer_->SetQueueDepth(static_cast<int64_t>(queue_.size()));
  return true;
}

void WorkerPool::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WorkerPool::WorkerLoop(std::unique_ptr<storage::Session> session) {
  while (true) {
    Queued next;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WorkerPool* p)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return p->stopping_ || !p->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping and drained
      next = std::move(queue_.front());
      queue_.pop_front();
      observer_->SetQueueDepth(static_cast<int64_t>(queue_.size()));
    }
    observer_->QueueWait(absl::Now() - next.since);
    next.task(*session);
  }
}

}  // namespace thesis
