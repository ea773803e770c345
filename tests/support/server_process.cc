#include "tests/support/server_process.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/server.h"
#include "thesis/client/thesis_client.h"

namespace thesis::testing {

std::unique_ptr<Subprocess> SpawnServer(const std::string& binary,
                                        const std::vector<std::string>& args,
                                        const std::string& log) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>>\"$THESIS_SERVER_LOG\"",
                                   binary};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<Subprocess>(argv, std::vector<std::string>{"THESIS_SERVER_LOG=" + log});
}

bool WaitForReadiness(const std::string& address, absl::Duration timeout) {
  client::ClientOptions options;
  options.target = address;
  auto health = grpc::health::v1::Health::NewStub(client::CreateChannel(options));
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(kReadinessService);
    grpc::health::v1::HealthCheckResponse response;
    if (health->Check(&context, request, &response).ok() &&
        response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

absl::StatusOr<ServerProcess> StartServer(const std::string& binary,
                                          const std::vector<std::string>& args,
                                          const std::string& log, absl::Duration ready_timeout) {
  ServerProcess s;
  s.log = log;
  s.process = SpawnServer(binary, args, log);
  if (!s.process->started()) return absl::InternalError("cannot start thesis-server");
  std::string line;
  // Other lines (e.g. "metrics on port N") may come first.
  while (s.process->ReadLine(&line) && line.rfind("listening on port ", 0) != 0) {
  }
  int port = 0;
  if (line.rfind("listening on port ", 0) != 0 || !absl::SimpleAtoi(line.substr(18), &port)) {
    return absl::InternalError(
        absl::StrCat("thesis-server did not start: '", line, "', see ", log));
  }
  s.address = absl::StrCat("127.0.0.1:", port);
  if (!WaitForReadiness(s.address, ready_timeout)) {
    return absl::DeadlineExceededError(absl::StrCat("server ", s.address, " never became ready"));
  }
  return s;
}

}  // namespace thesis::testing
