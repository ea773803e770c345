// The real thesis-server binary as a child process of a test, for tests of
// what only separate processes show (signals, replicas, crashes).
#ifndef THESIS_TESTS_SUPPORT_SERVER_PROCESS_H_
#define THESIS_TESTS_SUPPORT_SERVER_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/subprocess.h"

namespace thesis::testing {

// `binary args...` with its stderr (the JSON log) appended to `log`. A
// shell execs the binary, so the pid is the server's; the Subprocess
// SIGKILLs and reaps it on destruction.
std::unique_ptr<Subprocess> SpawnServer(const std::string& binary,
                                        const std::vector<std::string>& args,
                                        const std::string& log);

// Polls the health service until `readiness` is SERVING, at most `timeout`.
bool WaitForReadiness(const std::string& address, absl::Duration timeout);

struct ServerProcess {
  std::unique_ptr<Subprocess> process;
  std::string address;  // 127.0.0.1:port
  std::string log;
};

// SpawnServer with `args` (which listen on 127.0.0.1:0), the port read from
// its "listening on port N" line, then WaitForReadiness.
absl::StatusOr<ServerProcess> StartServer(const std::string& binary,
                                          const std::vector<std::string>& args,
                                          const std::string& log,
                                          absl::Duration ready_timeout = absl::Seconds(15));

}  // namespace thesis::testing

#endif  // THESIS_TESTS_SUPPORT_SERVER_PROCESS_H_
