#include "server/api/db_call.h"

#include <chrono>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/api/grpc_status.h"
#include "server/common/errors.h"

namespace thesis::api {
namespace {

// Shared by the reactor (OnCancel) and the worker running the call.
struct CallState {
  absl::Mutex mu;
  bool cancelled ABSL_GUARDED_BY(mu) = false;
  storage::Session* running_on ABSL_GUARDED_BY(mu) = nullptr;
};

class DbCallReactor : public grpc::ServerUnaryReactor {
 public:
  DbCallReactor() : state_(std::make_shared<CallState>()) {}

  std::shared_ptr<CallState> state() { return state_; }

  void OnCancel() override {
    absl::MutexLock lock(&state_->mu);
    state_->cancelled = true;
    if (state_->running_on != nullptr) state_->running_on->CancelCurrentStatement();
  }

  void OnDone() override { delete this; }

 private:
  std::shared_ptr<CallState> state_;
};

}  // namespace

absl::Time DeadlineOf(grpc::CallbackServerContext* context) {
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

absl::Status OverloadedError() {
  return WithReason(absl::ResourceExhaustedError("the server is overloaded; retry with backoff"),
                    "SERVER_OVERLOADED");
}

bool IsDatabaseFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
      return true;
    case absl::StatusCode::kAborted:
      return ErrorReason(status) != "ETAG_MISMATCH";
    default:
      return false;
  }
}

grpc::ServerUnaryReactor* StartDbCall(grpc::CallbackServerContext* context, WorkerPool& pool,
                                      DbWork work) {
  auto* reactor = new DbCallReactor();
  std::shared_ptr<CallState> state = reactor->state();
  const absl::Time deadline = DeadlineOf(context);
  const bool queued = pool.TrySubmit(
      [reactor, state, deadline, &pool, work = std::move(work)](storage::Session& session) {
        bool cancelled;
        {
          absl::MutexLock lock(&state->mu);
          cancelled = state->cancelled;
          if (!cancelled) state->running_on = &session;
        }
        if (cancelled) {
          reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
          return;
        }
        absl::Status status;
        if (absl::Now() >= deadline) {
          status = WithReason(absl::DeadlineExceededError("the deadline expired while queued"),
                              "DEADLINE_EXPIRED");
        } else {
          storage::CallContext call;
          call.deadline = deadline;
          status = work(session, call);
          if (IsDatabaseFailure(status))
            pool.observer().StorageError(absl::StatusCodeToString(status.code()));
        }
        {
          absl::MutexLock lock(&state->mu);
          state->running_on = nullptr;
        }
        reactor->Finish(ToGrpcStatus(status));
      });
  if (!queued) {
    reactor->Finish(ToGrpcStatus(OverloadedError()));
  }
  return reactor;
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace thesis::api
