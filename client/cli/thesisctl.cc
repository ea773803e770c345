// thesisctl: command line for the thesis metadata service, built on the
// client library.
//
//   thesisctl [--server host:port] [--json] COMMAND ...
//     create --file record.json [--id ID]   create from Protobuf JSON
//     get NAME                              print one record
//     list [--filter F] [--order_by O] [--page_size N] [--all]
//     delete NAME [--etag E]
//     health [--service readiness] [--wait_s N]
//
// Exit codes: 0 ok, 2 usage, 3 not found, 4 already exists, 5 invalid
// argument, 6 unavailable, 7 aborted (stale etag), 1 any other error.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "thesis/client/thesis_client.h"

namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

ABSL_FLAG(std::string, server, EnvOr("THESIS_SERVER", "localhost:50051"),
          "Server address (env THESIS_SERVER).");
ABSL_FLAG(bool, json, false, "Print Protobuf JSON instead of tables.");
ABSL_FLAG(std::string, file, "", "create: the record as Protobuf JSON.");
ABSL_FLAG(std::string, id, "", "create: the id to give the record.");
ABSL_FLAG(std::string, filter, "", "list: filter expression.");
ABSL_FLAG(std::string, order_by, "", "list: order_by.");
ABSL_FLAG(int, page_size, 0, "list: page size.");
ABSL_FLAG(bool, all, false, "list: follow page tokens to the end.");
ABSL_FLAG(std::string, etag, "", "delete: only if the etag matches.");
ABSL_FLAG(std::string, service, "readiness", "health: service name to check.");
ABSL_FLAG(int, wait_s, 0, "health: keep trying for this many seconds until SERVING.");
ABSL_FLAG(int, timeout_s, 30, "Deadline of each call, seconds.");

namespace {

using thesis::v1::Thesis;

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kNotFound:
      return 3;
    case absl::StatusCode::kAlreadyExists:
      return 4;
    case absl::StatusCode::kInvalidArgument:
      return 5;
    case absl::StatusCode::kUnavailable:
      return 6;
    case absl::StatusCode::kAborted:
      return 7;
    default:
      return 1;
  }
}

int Fail(const absl::Status& status) {
  std::cerr << "thesisctl: " << absl::StatusCodeToString(status.code()) << ": " << status.message();
  std::vector<std::string> fields = thesis::client::ViolatedFields(status);
  if (!fields.empty()) std::cerr << " [fields: " << absl::StrJoin(fields, ", ") << "]";
  std::cerr << "\n";
  return ExitCodeFor(status);
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

void PrintRow(const Thesis& t) {
  std::cout << t.name() << "\t" << t.degree_year() << "\t" << absl::StrJoin(t.authors(), ";")
            << "\t" << t.institution() << "\t"
            << (t.title_zh().empty() ? t.title_en() : t.title_zh()) << "\n";
}

void Print(const Thesis& t) {
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(t) << "\n";
    return;
  }
  std::cout << "name:        " << t.name() << "\n"
            << "title:       " << t.title_zh() << "\n"
            << "title (en):  " << t.title_en() << "\n"
            << "authors:     " << absl::StrJoin(t.authors(), "; ") << "\n"
            << "advisors:    " << absl::StrJoin(t.advisors(), "; ") << "\n"
            << "institution: " << t.institution() << "\n"
            << "discipline:  " << t.discipline() << "\n"
            << "degree:      " << thesis::v1::DegreeLevel_Name(t.degree_level()) << ", "
            << t.degree_year() << "\n"
            << "class codes: " << absl::StrJoin(t.classification_codes(), ";") << "\n"
            << "etag:        " << t.etag() << "\n";
}

int Create(thesis::client::ThesisClient& client) {
  const std::string path = absl::GetFlag(FLAGS_file);
  if (path.empty()) {
    std::cerr << "thesisctl create: --file is required\n";
    return 2;
  }
  std::ifstream in(path);
  if (!in) {
    std::cerr << "thesisctl create: cannot read " << path << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  Thesis thesis;
  auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &thesis);
  if (!parsed.ok()) {
    std::cerr << "thesisctl create: " << path << ": " << parsed.message() << "\n";
    return 5;
  }
  absl::StatusOr<Thesis> created = client.CreateThesis(thesis, absl::GetFlag(FLAGS_id));
  if (!created.ok()) return Fail(created.status());
  Print(*created);
  return 0;
}

int List(thesis::client::ThesisClient& client) {
  thesis::v1::ListThesesRequest request;
  request.set_filter(absl::GetFlag(FLAGS_filter));
  request.set_order_by(absl::GetFlag(FLAGS_order_by));
  request.set_page_size(absl::GetFlag(FLAGS_page_size));
  do {
    absl::StatusOr<thesis::v1::ListThesesResponse> page = client.ListTheses(request);
    if (!page.ok()) return Fail(page.status());
    for (const Thesis& t : page->theses()) {
      if (absl::GetFlag(FLAGS_json)) {
        std::cout << ToJson(t) << "\n";
      } else {
        PrintRow(t);
      }
    }
    request.set_page_token(page->next_page_token());
  } while (absl::GetFlag(FLAGS_all) && !request.page_token().empty());
  if (!request.page_token().empty() && !absl::GetFlag(FLAGS_json)) {
    std::cerr << "(more: use --all)\n";
  }
  return 0;
}

int Health(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  const absl::Time give_up = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_wait_s));
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(absl::GetFlag(FLAGS_service));
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      std::cout << "SERVING\n";
      return 0;
    }
    if (absl::Now() >= give_up) {
      std::cout << (status.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                                      response.status())
                                : absl::StrCat("error: ", status.error_message()))
                << "\n";
      return status.ok() ? 1 : 6;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "thesisctl [--server host:port] [--json] create|get|list|delete|health ...");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) {
    std::cerr << "usage: thesisctl create|get|list|delete|health (see --help)\n";
    return 2;
  }
  const std::string command = args[1];
  thesis::client::ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  options.default_timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout_s));
  auto channel = thesis::client::CreateChannel(options);
  thesis::client::ThesisClient client(channel, options);

  if (command == "create") return Create(client);
  if (command == "list") return List(client);
  if (command == "health") return Health(channel);
  if (command == "get" || command == "delete") {
    if (args.size() != 3) {
      std::cerr << "usage: thesisctl " << command << " theses/ID\n";
      return 2;
    }
    std::string name = args[2];
    if (name.rfind("theses/", 0) != 0) name = absl::StrCat("theses/", name);
    if (command == "get") {
      absl::StatusOr<Thesis> thesis = client.GetThesis(name);
      if (!thesis.ok()) return Fail(thesis.status());
      Print(*thesis);
      return 0;
    }
    absl::Status deleted = client.DeleteThesis(name, absl::GetFlag(FLAGS_etag));
    if (!deleted.ok()) return Fail(deleted);
    std::cout << "deleted " << name << "\n";
    return 0;
  }
  std::cerr << "thesisctl: unknown command " << command << "\n";
  return 2;
}
