// A fixed set of worker threads, each owning one storage session (one
// database connection), fed by a bounded queue. TrySubmit never blocks: a
// full queue is the caller's signal to answer RESOURCE_EXHAUSTED.
#ifndef THESIS_SERVER_COMMON_WORKER_POOL_H_
#define THESIS_SERVER_COMMON_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/observer.h"
#include "server/storage/session.h"

namespace thesis {

class WorkerPool {
 public:
  using Task = std::function<void(storage::Session&)>;

  // `observer` (not owned, may be null) hears queue depth and waits.
  WorkerPool(storage::Backend& backend, int threads, int queue_capacity,
             ServerObserver* observer = nullptr);
  ~WorkerPool();  // Shutdown()

  // False when the queue is full or the pool is shutting down.
  bool TrySubmit(Task task);
  // Runs what is queued, then joins the workers. Idempotent.
  void Shutdown();

  int queue_capacity() const { return queue_capacity_; }
  // Never null: a do-nothing observer when none was given.
  ServerObserver& observer() { return *observer_; }

 private:
  struct Queued {
    Task task;
    absl::Time since;
  };
  void WorkerLoop(std::unique_ptr<storage::Session> session);

  const int queue_capacity_;
  ServerObserver default_observer_;
  ServerObserver* const observer_;
  absl::Mutex mu_;
  std::deque<Queued> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace thesis

#endif  // THESIS_SERVER_COMMON_WORKER_POOL_H_
