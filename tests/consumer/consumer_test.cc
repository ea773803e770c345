// A consumer's own tests: one against the generated gMock stub, one against
// the in-process server. Needs no database.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "thesis/client/testing/in_process_server.h"
#include "thesis/client/thesis_client.h"
#include "thesis/v1/thesis_mock.grpc.pb.h"

namespace {

using ::testing::_;
using ::testing::Return;

TEST(ConsumerTest, MockStubDrivesTheClient) {
  auto stub = std::make_unique<thesis::v1::MockThesisServiceStub>();
  EXPECT_CALL(*stub, GetThesis(_, _, _))
      .WillOnce(Return(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such thesis")));
  thesis::client::ThesisClient client(std::move(stub));
  absl::StatusOr<thesis::v1::Thesis> got = client.GetThesis("theses/x");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
}

TEST(ConsumerTest, InProcessServerStoresAndReturnsRecords) {
  auto server = thesis::client::testing::InProcessThesisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  std::unique_ptr<thesis::client::ThesisClient> client = (*server)->NewClient();
  thesis::v1::Thesis thesis;
  thesis.set_title_zh("消费者的测试");
  thesis.add_authors("某人");
  absl::StatusOr<thesis::v1::Thesis> created = client->CreateThesis(thesis, "consumer-1");
  ASSERT_TRUE(created.ok()) << created.status();
  absl::StatusOr<thesis::v1::Thesis> got = client->GetThesis("theses/consumer-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->title_zh(), "消费者的测试");
  // Validation is the real server's.
  thesis.set_degree_year(1);
  EXPECT_EQ(client->CreateThesis(thesis).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
