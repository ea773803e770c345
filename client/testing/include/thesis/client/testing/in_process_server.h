// An in-process thesis server for consumers' tests: the real service code
// on in-memory storage, listening on 127.0.0.1 on a free port. No database,
// no files; each instance starts empty.
//
//   auto server = thesis::client::testing::InProcessThesisServer::Start();
//   thesis::client::ThesisClient client = server->NewClient();
#ifndef THESIS_CLIENT_TESTING_IN_PROCESS_SERVER_H_
#define THESIS_CLIENT_TESTING_IN_PROCESS_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "thesis/client/thesis_client.h"

namespace thesis::client::testing {

class InProcessThesisServer {
 public:
  static absl::StatusOr<std::unique_ptr<InProcessThesisServer>> Start();
  ~InProcessThesisServer();

  // host:port to dial.
  std::string address() const;
  // A client with the usual options, aimed at this server.
  std::unique_ptr<ThesisClient> NewClient() const;

 private:
  struct Impl;
  explicit InProcessThesisServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace thesis::client::testing

#endif  // THESIS_CLIENT_TESTING_IN_PROCESS_SERVER_H_
