// Runs the database part of a unary callback RPC on the worker pool.
//
// The gRPC thread validates the request and calls DbCall::Start; a worker
// runs `work` on its own session and finishes the reactor. A full queue
// answers RESOURCE_EXHAUSTED at once. The deadline is checked before the
// work starts and handed to storage (statement_timeout); a cancelled RPC
// cancels the statement that runs for it.
#ifndef THESIS_SERVER_API_DB_CALL_H_
#define THESIS_SERVER_API_DB_CALL_H_

#include <grpcpp/grpcpp.h>

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/common/worker_pool.h"
#include "server/storage/session.h"

namespace thesis::api {

using DbWork = std::function<absl::Status(storage::Session&, const storage::CallContext&)>;

grpc::ServerUnaryReactor* StartDbCall(grpc::CallbackServerContext* context, WorkerPool& pool,
                                      DbWork work);

// The call's deadline; InfiniteFuture when it has none.
absl::Time DeadlineOf(grpc::CallbackServerContext* context);

// Whether a storage call failed for a database reason (connection,
// timeout, internal error, conflict), as opposed to an answer about the data.
bool IsDatabaseFailure(const absl::Status& status);

// RESOURCE_EXHAUSTED (SERVER_OVERLOADED): the worker queue is full.
absl::Status OverloadedError();

// A reactor finished at once with `status` (for requests that fail validation).
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status);

}  // namespace thesis::api

#endif  // THESIS_SERVER_API_DB_CALL_H_
