// Metrics and request ids: /metrics is scraped over HTTP after some RPCs and
// its counters match what was sent; x-request-id comes back to the caller.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/metrics.h"
#include "server/storage/memory_backend.h"
#include "tests/support/in_process_server.h"

namespace thesis {
namespace {

// GET http://127.0.0.1:port/path, the body.
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return "";
  }
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) response.append(buf, n);
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The value of the sample whose line starts with `series` (name{labels}), or -1.
double Sample(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      return std::stod(std::string(line.substr(series.size() + 1)));
    }
  }
  return -1;
}

TEST(ObservabilityTest, MetricsCountWhatWasSent) {
  auto metrics = std::make_shared<Metrics>();
  absl::StatusOr<int> port = metrics->Serve("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  ServerConfig config;
  config.observer = metrics;
  auto server = testing::InProcessServer::Start(std::make_unique<storage::MemoryBackend>(), config);
  ASSERT_TRUE(server.ok()) << server.status();
  client::ThesisClient& client = (*server)->client();

  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(client.GetThesis(absl::StrCat("theses/missing-", i)).status().code(),
              absl::StatusCode::kNotFound);
  }
  thesis::v1::CreateThesisRequest create;
  create.mutable_thesis()->set_title_zh("甘肃省电子政务建设研究");
  create.mutable_thesis()->add_authors("郑忠锋");
  create.mutable_thesis()->set_institution("兰州大学");
  create.mutable_thesis()->set_degree_year(2009);
  create.mutable_thesis()->set_degree_level(thesis::v1::DEGREE_LEVEL_MASTER);
  auto created = client.CreateThesis(create);
  ASSERT_TRUE(created.ok()) << created.status();
  thesis::v1::DownloadEvent event;
  event.set_thesis(created->name());
  event.set_kind(thesis::v1::REQUEST);
  event.set_http_status(200);
  event.mutable_client()->set_user_id("u1");
  event.mutable_client()->set_user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0");
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(client.RecordDownload(event).ok());

  const std::string text = HttpGet(*port, "/metrics");
  ASSERT_FALSE(text.empty()) << "no answer from /metrics";
  EXPECT_EQ(Sample(text,
                   "thesis_rpcs_total{code=\"NOT_FOUND\",method=\"/thesis.v1.ThesisService/"
                   "GetThesis\"}"),
            3)
      << text;
  EXPECT_EQ(
      Sample(text,
             "thesis_rpcs_total{code=\"OK\",method=\"/thesis.v1.ThesisService/CreateThesis\"}"),
      1);
  EXPECT_EQ(Sample(text,
                   "thesis_rpcs_total{code=\"OK\",method=\"/thesis.v1.DownloadService/"
                   "RecordDownload\"}"),
            2);
  EXPECT_EQ(Sample(text,
                   "thesis_rpc_latency_seconds_count{method=\"/thesis.v1.ThesisService/"
                   "GetThesis\"}"),
            3);
  // Two RecordDownload calls one after the other: two group commits of one event.
  EXPECT_EQ(Sample(text, "thesis_download_batch_events_count"), 2);
  EXPECT_EQ(Sample(text, "thesis_download_batch_events_sum"), 2);
  EXPECT_GE(Sample(text, "thesis_worker_queue_wait_seconds_count"), 4);
}

TEST(ObservabilityTest, RequestIdsComeBackToTheCaller) {
  auto server = testing::InProcessServer::Start(std::make_unique<storage::MemoryBackend>());
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = thesis::v1::ThesisService::NewStub((*server)->channel());
  auto id_of = [](const grpc::ClientContext& context) {
    auto it = context.GetServerInitialMetadata().find("x-request-id");
    return it == context.GetServerInitialMetadata().end()
               ? std::string()
               : std::string(it->second.data(), it->second.size());
  };
  {
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "trace-abc-123");
    thesis::v1::GetThesisRequest request;
    request.set_name("theses/missing");
    thesis::v1::Thesis response;
    EXPECT_EQ(stub->GetThesis(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(id_of(context), "trace-abc-123");
  }
  {
    grpc::ClientContext context;
    thesis::v1::GetThesisRequest request;
    request.set_name("not a name");
    thesis::v1::Thesis response;
    EXPECT_EQ(stub->GetThesis(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(id_of(context).size(), 32u) << "a generated id";
  }
}

}  // namespace
}  // namespace thesis
