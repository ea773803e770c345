// Access control and transport security, end to end through the client:
// the role matrix (every RPC x every role x no token), denied calls change
// nothing, per-key rate limits with RetryInfo, key reload, and TLS / mutual
// TLS with certificates made by openssl at test time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/common/auth.h"
#include "server/storage/memory_backend.h"
#include "tests/support/in_process_server.h"

namespace thesis {
namespace {

namespace v1 = thesis::v1;
using Code = absl::StatusCode;

const std::vector<std::pair<Role, std::string>> kRoles = {{Role::kReader, "tok-reader"},
                                                          {Role::kRecorder, "tok-recorder"},
                                                          {Role::kWriter, "tok-writer"},
                                                          {Role::kAdmin, "tok-admin"}};

std::string TempDir() {
  std::string dir = ::testing::TempDir() + "/access-" + std::to_string(getpid());
  std::system(("mkdir -p '" + dir + "'").c_str());
  return dir;
}

void WriteFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string KeyLine(const std::string& name, Role role, const std::string& token,
                    const std::string& rate = "") {
  return absl::StrCat(name, " ", RoleName(role), " sha256:", TokenHash(token), " ", rate, "\n");
}

v1::DownloadEvent Event(const std::string& thesis) {
  v1::DownloadEvent e;
  e.set_thesis(thesis);
  e.set_kind(v1::REQUEST);
  e.set_http_status(200);
  e.mutable_client()->set_user_id("u1");
  e.mutable_client()->set_user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0");
  return e;
}

v1::CreateThesisRequest NewThesis(const std::string& id) {
  v1::CreateThesisRequest r;
  r.set_thesis_id(id);
  r.mutable_thesis()->set_title_zh("甘肃省电子政务建设研究");
  r.mutable_thesis()->add_authors("郑忠锋");
  r.mutable_thesis()->set_institution("兰州大学");
  r.mutable_thesis()->set_degree_year(2009);
  r.mutable_thesis()->set_degree_level(v1::DEGREE_LEVEL_MASTER);
  return r;
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    keys_file_ = dir_ + "/keys";
    std::string keys = "# name role hash [calls/s]\n";
    for (const auto& [role, token] : kRoles)
      keys += KeyLine(std::string(RoleName(role)), role, token);
    keys += KeyLine("slow", Role::kReader, "tok-slow", "2");
    WriteFile(keys_file_, keys);
    ServerConfig config;
    config.api_keys_file = keys_file_;
    config.readiness_interval = absl::Milliseconds(50);
    auto server =
        testing::InProcessServer::Start(std::make_unique<storage::MemoryBackend>(), config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto existing = Client("tok-admin").CreateThesis(NewThesis("existing"));
    ASSERT_TRUE(existing.ok()) << existing.status();
  }

  client::ThesisClient Client(const std::string& token) {
    client::ClientOptions options;
    options.target = server_->address();
    options.bearer_token = token;
    options.max_attempts = 2;
    return client::ThesisClient(options);
  }

  std::string dir_;
  std::string keys_file_;
  std::unique_ptr<testing::InProcessServer> server_;
};

struct Rpc {
  const char* name;
  Role needs;
  std::function<Code(client::ThesisClient&, int)> call;  // int: a fresh suffix
  // An answer about the data, besides OK and NOT_FOUND, that an allowed
  // call may get (SuggestClasses with nothing to learn from).
  Code also_allowed = Code::kOk;
};

std::vector<Rpc> AllRpcs() {
  auto code = [](const absl::Status& s) { return s.code(); };
  return {
      {"CreateThesis", Role::kWriter,
       [=](client::ThesisClient& c, int n) {
         return code(c.CreateThesis(NewThesis(absl::StrCat("new-", n))).status());
       }},
      {"GetThesis", Role::kReader,
       [=](client::ThesisClient& c, int) { return code(c.GetThesis("theses/existing").status()); }},
      {"BatchGetTheses", Role::kReader,
       [=](client::ThesisClient& c, int) {
         return code(c.BatchGetTheses({"theses/existing"}).status());
       }},
      {"UpdateThesis", Role::kWriter,
       [=](client::ThesisClient& c, int n) {
         v1::Thesis t;
         t.set_name("theses/existing");
         t.set_title_en(absl::StrCat("Title ", n));
         google::protobuf::FieldMask mask;
         mask.add_paths("title_en");
         return code(c.UpdateThesis(t, mask).status());
       }},
      {"DeleteThesis", Role::kAdmin,
       [=](client::ThesisClient& c, int) {
         // Deleting a record that is not there: NOT_FOUND when allowed.
         return code(c.DeleteThesis("theses/not-there"));
       }},
      {"ListTheses", Role::kReader,
       [=](client::ThesisClient& c, int) { return code(c.ListTheses({}).status()); }},
      {"SearchTheses", Role::kReader,
       [=](client::ThesisClient& c, int) {
         v1::SearchThesesRequest r;
         r.set_query("电子政务");
         return code(c.SearchTheses(r).status());
       }},
      {"ImportTheses", Role::kAdmin,
       [=](client::ThesisClient& c, int) {
         std::vector<v1::Thesis> none;
         return code(c.ImportTheses(none).status());
       }},
      {"ExportTheses", Role::kReader,
       [=](client::ThesisClient& c, int) {
         return code(c.ExportTheses({}, [](const v1::Thesis&) { return absl::OkStatus(); }));
       }},
      {"RecordDownload", Role::kRecorder,
       [=](client::ThesisClient& c, int) {
         return code(c.RecordDownload(Event("theses/existing")).status());
       }},
      {"BatchRecordDownloads", Role::kRecorder,
       [=](client::ThesisClient& c, int) {
         return code(c.BatchRecordDownloads({Event("theses/existing")}).status());
       }},
      {"GetDownloadStats", Role::kReader,
       [=](client::ThesisClient& c, int) {
         return code(c.GetDownloadStats("theses/existing").status());
       }},
      {"BatchGetDownloadCounts", Role::kReader,
       [=](client::ThesisClient& c, int) {
         return code(c.BatchGetDownloadCounts({"theses/existing"}).status());
       }},
      {"ListTopTheses", Role::kReader,
       [=](client::ThesisClient& c, int) {
         v1::ListTopThesesRequest r;
         r.set_metric(v1::TOTAL_ITEM_REQUESTS);
         return code(c.ListTopTheses(r).status());
       }},
      {"GetItemReport", Role::kReader,
       [=](client::ThesisClient& c, int) {
         v1::GetItemReportRequest r;
         r.set_begin_month("2026-01");
         r.set_end_month("2026-12");
         return code(c.GetItemReport(r).status());
       }},
      {"ListSchemes", Role::kReader,
       [=](client::ThesisClient& c, int) { return code(c.ListSchemes().status()); }},
      {"GetScheme", Role::kReader,
       [=](client::ThesisClient& c, int) { return code(c.GetScheme("schemes/clc").status()); }},
      {"GetClass", Role::kReader,
       [=](client::ThesisClient& c, int) {
         return code(c.GetClass("schemes/clc/classes/D6").status());
       }},
      {"ListChildren", Role::kReader,
       [=](client::ThesisClient& c, int) {
         v1::ListChildrenRequest r;
         r.set_parent("schemes/clc");
         return code(c.ListChildren(r).status());
       }},
      {"GetClassTree", Role::kReader,
       [=](client::ThesisClient& c, int) {
         v1::GetClassTreeRequest r;
         r.set_name("schemes/discipline");
         return code(c.GetClassTree(r).status());
       }},
      {"ResolveCodes", Role::kReader,
       [=](client::ThesisClient& c, int) {
         return code(c.ResolveCodes("schemes/clc", {"D630"}).status());
       }},
      {"ListThesesInClass", Role::kReader,
       [=](client::ThesisClient& c, int) {
         v1::ListThesesInClassRequest r;
         r.set_name("schemes/clc/classes/D6");
         return code(c.ListThesesInClass(r).status());
       }},
      {"SuggestClasses", Role::kReader,
       [=](client::ThesisClient& c, int) {
         v1::SuggestClassesRequest r;
         r.set_scheme("schemes/clc");
         r.set_title("电子政务");
         return code(c.SuggestClasses(r).status());
       },
       Code::kFailedPrecondition},
      {"RebuildSuggestionModel", Role::kWriter,
       [=](client::ThesisClient& c, int) {
         return code(c.RebuildSuggestionModel("schemes/clc").status());
       }},
      {"ImportClasses", Role::kAdmin,
       [=](client::ThesisClient& c, int) {
         v1::ClassRow row;
         row.set_code("D63");
         row.set_parent("D6");
         row.set_display_name("国家行政管理");
         return code(c.ImportClasses("schemes/clc", "access-test", {row}).status());
       }},
  };
}

TEST_F(AccessTest, RoleMatrix) {
  int n = 0;
  for (const Rpc& rpc : AllRpcs()) {
    {
      client::ThesisClient anonymous = Client("");
      EXPECT_EQ(rpc.call(anonymous, ++n), Code::kUnauthenticated) << rpc.name << " without token";
      client::ThesisClient forged = Client("tok-guessed");
      EXPECT_EQ(rpc.call(forged, ++n), Code::kUnauthenticated) << rpc.name << " with a bad token";
    }
    for (const auto& [role, token] : kRoles) {
      client::ThesisClient c = Client(token);
      const Code got = rpc.call(c, ++n);
      if (role < rpc.needs) {
        EXPECT_EQ(got, Code::kPermissionDenied) << rpc.name << " as " << RoleName(role);
      } else {
        EXPECT_NE(got, Code::kPermissionDenied) << rpc.name << " as " << RoleName(role);
        EXPECT_NE(got, Code::kUnauthenticated) << rpc.name << " as " << RoleName(role);
        EXPECT_TRUE(got == Code::kOk || got == Code::kNotFound || got == rpc.also_allowed)
            << rpc.name << " as " << RoleName(role) << ": " << absl::StatusCodeToString(got);
      }
    }
  }
}

TEST_F(AccessTest, DeniedCallsChangeNothing) {
  client::ThesisClient reader = Client("tok-reader");
  client::ThesisClient admin = Client("tok-admin");
  EXPECT_EQ(reader.CreateThesis(NewThesis("sneaky")).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(reader.DeleteThesis("theses/existing").code(), Code::kPermissionDenied);
  EXPECT_EQ(reader.RecordDownload(Event("theses/existing")).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(Client("").RecordDownload(Event("theses/existing")).status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(admin.GetThesis("theses/sneaky").status().code(), Code::kNotFound);
  EXPECT_TRUE(admin.GetThesis("theses/existing").ok());
  auto counts = admin.BatchGetDownloadCounts({"theses/existing"});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)[0].metrics().total_item_requests(), 0);
}

TEST_F(AccessTest, HealthStaysOpenWithoutToken) {
  auto stub = grpc::health::v1::Health::NewStub(server_->channel());
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("liveness");
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_TRUE(stub->Check(&context, request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(AccessTest, RateLimitAnswersResourceExhaustedWithRetryInfo) {
  client::ThesisClient slow = Client("tok-slow");
  absl::Status refused;
  for (int i = 0; i < 10 && refused.ok(); ++i) refused = slow.GetThesis("theses/existing").status();
  ASSERT_EQ(refused.code(), Code::kResourceExhausted) << refused;
  EXPECT_EQ(client::ErrorReason(refused), "RATE_LIMITED");
  EXPECT_TRUE(refused.GetPayload("type.googleapis.com/google.rpc.RetryInfo").has_value());
  // Other keys are not limited by it.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(Client("tok-reader").GetThesis("theses/existing").ok());
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(slow.GetThesis("theses/existing").ok());
}

TEST_F(AccessTest, KeysReloadWithoutRestart) {
  client::ThesisClient reader = Client("tok-reader");
  ASSERT_TRUE(reader.GetThesis("theses/existing").ok());
  // Revoke the reader, add a new key.
  WriteFile(keys_file_, KeyLine("admin", Role::kAdmin, "tok-admin") +
                            KeyLine("fresh", Role::kReader, "tok-fresh"));
  bool revoked = false;
  for (int i = 0; i < 100 && !revoked; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    revoked = reader.GetThesis("theses/existing").status().code() == Code::kUnauthenticated;
  }
  EXPECT_TRUE(revoked);
  EXPECT_TRUE(Client("tok-fresh").GetThesis("theses/existing").ok());
  // A broken file keeps the keys in force.
  WriteFile(keys_file_, "fresh nobody sha256:zz\n");
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(Client("tok-fresh").GetThesis("theses/existing").ok());
}

TEST(ApiKeysTest, ParseErrorsNameTheLine) {
  EXPECT_TRUE(ParseApiKeys("# only a comment\n\n").ok());
  auto bad_role = ParseApiKeys(
      absl::StrCat("a reader sha256:", TokenHash("x"), "\nb boss sha256:", TokenHash("y"), "\n"));
  EXPECT_THAT(std::string(bad_role.status().message()), ::testing::HasSubstr("line 2"));
  EXPECT_FALSE(ParseApiKeys("a reader 1234\n").ok());
  EXPECT_FALSE(ParseApiKeys(absl::StrCat("a reader sha256:", TokenHash("x"), " -1\n")).ok());
  EXPECT_FALSE(ParseApiKeys(absl::StrCat("a reader sha256:", TokenHash("x"),
                                         "\nb admin sha256:", TokenHash("x"), "\n"))
                   .ok());
}

// ---- TLS -------------------------------------------------------------------

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TempDir() + "/tls");
    const std::string d = *dir_;
    const std::string script = absl::StrCat(
        "set -e; mkdir -p '", d, "'; cd '", d, "';",
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key "
        "-out ca.pem 2>/dev/null;",
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rogue-ca -keyout rogue.key "
        "-out rogue.pem 2>/dev/null;",
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext;",
        "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out "
        "server.csr 2>/dev/null;",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile san.ext -out server.pem 2>/dev/null;",
        "openssl req -newkey rsa:2048 -nodes -subj /CN=gateway -keyout client.key -out "
        "client.csr 2>/dev/null;",
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out "
        "client.pem 2>/dev/null;",
        "openssl req -newkey rsa:2048 -nodes -subj /CN=intruder -keyout intruder.key -out "
        "intruder.csr 2>/dev/null;",
        "openssl x509 -req -in intruder.csr -CA rogue.pem -CAkey rogue.key -CAcreateserial -days "
        "2 -out intruder.pem 2>/dev/null");
    ok_ = std::system(script.c_str()) == 0;
  }

  void SetUp() override {
    if (!ok_) GTEST_SKIP() << "openssl could not make test certificates";
  }

  std::unique_ptr<testing::InProcessServer> Start(bool mutual) {
    ServerConfig config;
    config.tls_cert_file = *dir_ + "/server.pem";
    config.tls_key_file = *dir_ + "/server.key";
    if (mutual) config.tls_client_ca_file = *dir_ + "/ca.pem";
    auto server =
        testing::InProcessServer::Start(std::make_unique<storage::MemoryBackend>(), config);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  // A ListTheses through a client with these credentials.
  static absl::StatusCode Call(const testing::InProcessServer& server,
                               std::shared_ptr<grpc::ChannelCredentials> credentials) {
    client::ClientOptions options;
    options.target = absl::StrCat("localhost:", server.address().substr(10));
    options.credentials = std::move(credentials);
    options.default_timeout = absl::Seconds(5);
    options.max_attempts = 2;
    client::ThesisClient c(options);
    return c.ListTheses({}).status().code();
  }

  static std::shared_ptr<grpc::ChannelCredentials> Ssl(const std::string& cert_name) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(*dir_ + "/ca.pem");
    if (!cert_name.empty()) {
      ssl.pem_cert_chain = ReadFile(*dir_ + "/" + cert_name + ".pem");
      ssl.pem_private_key = ReadFile(*dir_ + "/" + cert_name + ".key");
    }
    return grpc::SslCredentials(ssl);
  }

  static std::string* dir_;
  static bool ok_;
};

std::string* TlsTest::dir_ = nullptr;
bool TlsTest::ok_ = false;

TEST_F(TlsTest, ServerTls) {
  auto server = Start(/*mutual=*/false);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Call(*server, Ssl("")), Code::kOk);
  EXPECT_EQ(Call(*server, grpc::InsecureChannelCredentials()), Code::kUnavailable);
  grpc::SslCredentialsOptions wrong_ca;
  wrong_ca.pem_root_certs = ReadFile(*dir_ + "/rogue.pem");
  EXPECT_EQ(Call(*server, grpc::SslCredentials(wrong_ca)), Code::kUnavailable);
}

TEST_F(TlsTest, MutualTlsRefusesClientsWithoutTheRightCertificate) {
  auto server = Start(/*mutual=*/true);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Call(*server, Ssl("client")), Code::kOk);
  EXPECT_EQ(Call(*server, Ssl("")), Code::kUnavailable) << "no client certificate";
  EXPECT_EQ(Call(*server, Ssl("intruder")), Code::kUnavailable) << "signed by another CA";
}

TEST_F(TlsTest, BadCertificateFilesStopTheStart) {
  ServerConfig config;
  config.tls_cert_file = *dir_ + "/missing.pem";
  config.tls_key_file = *dir_ + "/server.key";
  auto server = testing::InProcessServer::Start(std::make_unique<storage::MemoryBackend>(), config);
  EXPECT_FALSE(server.ok());
  config.tls_cert_file.clear();
  config.tls_key_file.clear();
  config.tls_client_ca_file = *dir_ + "/ca.pem";
  server = testing::InProcessServer::Start(std::make_unique<storage::MemoryBackend>(), config);
  EXPECT_FALSE(server.ok());
}

}  // namespace
}  // namespace thesis
