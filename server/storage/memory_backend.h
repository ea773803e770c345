// In-memory storage: for tests and for consumers' in-process test servers.
// Same contract as the PostgreSQL backend (tests/storage/contract_test.cc).
#ifndef THESIS_SERVER_STORAGE_MEMORY_BACKEND_H_
#define THESIS_SERVER_STORAGE_MEMORY_BACKEND_H_

#include <functional>
#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/storage/session.h"

namespace thesis::storage {

using Clock = std::function<absl::Time()>;

class MemoryBackend : public Backend {
 public:
  // All sessions share one store. `clock` stamps create and update times.
  explicit MemoryBackend(Clock clock = &absl::Now);
  ~MemoryBackend() override;

  std::unique_ptr<Session> NewSession() override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace thesis::storage

#endif  // THESIS_SERVER_STORAGE_MEMORY_BACKEND_H_
