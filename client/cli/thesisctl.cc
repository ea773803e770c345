// thesisctl: command line for the thesis metadata service, built on the
// client library.
//
//   thesisctl [global flags] COMMAND ...
//     import FILE...                      load CNKI exports (page format, RefWorks,
//                                         EndNote, NoteExpress, JSON Lines; UTF-8 or GB18030)
//     export [--filter F] [--order_by O] [--format jsonl|refworks] [--output FILE]
//     get NAME
//     list [--filter F] [--order_by O] [--page_size N] [--all]
//     create --file record.json [--id ID]
//     update NAME --file patch.json --mask title_zh,degree_year [--etag E]
//     delete NAME [--etag E]
//     health [--service readiness] [--wait_s N]
//
// Global: --server (THESIS_SERVER), --tls (THESIS_TLS) with --ca_cert
// (THESIS_CA_CERT), --token (THESIS_TOKEN), --json, --timeout_s.
//
// Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 already exists,
// 5 invalid argument, 6 unavailable, 7 aborted (stale etag), 8 import or
// export finished but some records failed or were malformed.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "thesis/client/thesis_client.h"
#include "thesis/formats/cnki_formats.h"

namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

ABSL_FLAG(std::string, server, EnvOr("THESIS_SERVER", "localhost:50051"),
          "Server address, host:port or dns:///host:port (env THESIS_SERVER).");
ABSL_FLAG(bool, tls, EnvOr("THESIS_TLS", "") == "1" || EnvOr("THESIS_TLS", "") == "true",
          "Use TLS (env THESIS_TLS=1).");
ABSL_FLAG(std::string, ca_cert, EnvOr("THESIS_CA_CERT", ""),
          "PEM file of the CA that signed the server's certificate; system roots when empty "
          "(env THESIS_CA_CERT).");
ABSL_FLAG(std::string, token, EnvOr("THESIS_TOKEN", ""),
          "Bearer token sent with every call (env THESIS_TOKEN).");
ABSL_FLAG(bool, json, false, "Print Protobuf JSON instead of tables.");
ABSL_FLAG(int, timeout_s, 30, "Deadline of each unary call, seconds.");
ABSL_FLAG(std::string, file, "", "create/update: the record as Protobuf JSON.");
ABSL_FLAG(std::string, id, "", "create: the id to give the record.");
ABSL_FLAG(std::string, mask, "", "update: comma-separated field paths to change.");
ABSL_FLAG(std::string, filter, "", "list/export: filter expression.");
ABSL_FLAG(std::string, order_by, "", "list/export: order_by.");
ABSL_FLAG(int, page_size, 0, "list: page size.");
ABSL_FLAG(bool, all, false, "list: follow page tokens to the end.");
ABSL_FLAG(std::string, etag, "", "update/delete: only if the etag matches.");
ABSL_FLAG(std::string, format, "jsonl", "export: jsonl or refworks.");
ABSL_FLAG(std::string, output, "", "export: file to write (default stdout).");
ABSL_FLAG(bool, progress, true, "import/export: show progress when stderr is a terminal.");
ABSL_FLAG(std::string, service, "readiness", "health: service name to check.");
ABSL_FLAG(int, wait_s, 0, "health: keep trying for this many seconds until SERVING.");

namespace {

using thesis::v1::Thesis;

constexpr int kExitPartial = 8;

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

int Usage(const std::string& message) {
  std::cerr << "thesisctl: " << message << "\n";
  return 2;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<Thesis> ReadJsonRecord(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("--file is required");
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  Thesis thesis;
  auto parsed = google::protobuf::util::JsonStringToMessage(*text, &thesis);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", parsed.message().as_string()));
  }
  return thesis;
}

// A line on stderr that does not run into a progress display.
void Note(const std::string& line) {
  const bool progress = absl::GetFlag(FLAGS_progress) && isatty(STDERR_FILENO);
  std::cerr << (progress ? "\r\033[K" : "") << line << "\n";
}

// A one-line progress display on stderr, redrawn at most 10 times a second;
// silent unless stderr is a terminal. `fraction` (0-1, when known) drives
// the bar and the ETA.
class Progress {
 public:
  explicit Progress(std::string verb)
      : verb_(std::move(verb)),
        enabled_(absl::GetFlag(FLAGS_progress) && isatty(STDERR_FILENO)),
        start_(absl::Now()) {}

  void Update(int64_t done, double fraction = -1, bool final = false) {
    if (!enabled_) return;
    const absl::Time now = absl::Now();
    if (!final && now - last_draw_ < absl::Milliseconds(100)) return;
    last_draw_ = now;
    const double seconds = std::max(1e-3, absl::ToDoubleSeconds(now - start_));
    std::string line =
        absl::StrFormat("\r%s %d records, %.0f records/s", verb_, done, done / seconds);
    if (fraction >= 0) {
      fraction = std::min(1.0, fraction);
      const int width = 30;
      const int filled = static_cast<int>(width * fraction);
      absl::StrAppend(&line, absl::StrFormat(" [%s%s] %3.0f%%", std::string(filled, '#'),
                                             std::string(width - filled, '.'), 100 * fraction));
      if (fraction > 0.01 && fraction < 1) {
        absl::StrAppend(&line, absl::StrFormat(" ETA %.0fs", seconds * (1 / fraction - 1)));
      }
    }
    std::cerr << line << "\033[K" << (final ? "\n" : "") << std::flush;
  }

 private:
  std::string verb_;
  bool enabled_;
  absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
};

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
            << "keywords:    " << absl::StrJoin(t.keywords_zh(), "; ") << "\n"
            << "class codes: " << absl::StrJoin(t.classification_codes(), ";") << "\n";
  if (t.has_legacy_download_count()) {
    std::cout << "downloads:   " << t.legacy_download_count() << " (CNKI)\n";
  }
  std::cout << "etag:        " << t.etag() << "\n";
}

int Create(thesis::client::ThesisClient& client) {
  absl::StatusOr<Thesis> thesis = ReadJsonRecord(absl::GetFlag(FLAGS_file));
  if (!thesis.ok()) return Usage(std::string(thesis.status().message()));
  absl::StatusOr<Thesis> created = client.CreateThesis(*thesis, absl::GetFlag(FLAGS_id));
  if (!created.ok()) return Fail(created.status());
  Print(*created);
  return 0;
}

int Update(thesis::client::ThesisClient& client, const std::string& name) {
  absl::StatusOr<Thesis> patch = ReadJsonRecord(absl::GetFlag(FLAGS_file));
  if (!patch.ok()) return Usage(std::string(patch.status().message()));
  if (absl::GetFlag(FLAGS_mask).empty()) return Usage("update: --mask is required");
  patch->set_name(name);
  google::protobuf::FieldMask mask;
  for (absl::string_view path : absl::StrSplit(absl::GetFlag(FLAGS_mask), ',', absl::SkipEmpty())) {
    mask.add_paths(std::string(path));
  }
  absl::StatusOr<Thesis> updated = client.UpdateThesis(*patch, mask, absl::GetFlag(FLAGS_etag));
  if (!updated.ok()) return Fail(updated.status());
  Print(*updated);
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

// Where record i of the import stream came from.
struct Origin {
  std::string file;
  int line;
};

// Parsed records on their way from the parsing thread to the sender.
struct Chunk {
  std::vector<Thesis> theses;
  std::vector<Origin> origins;
};

// Reads and parses the files on its own thread, handing chunks of records
// over a small bounded queue, so that parsing overlaps sending and the
// server's writing. JSON Lines files are parsed in slices of whole lines;
// other formats (CNKI exports are small) a file at a time.
class ParsingThread {
 public:
  explicit ParsingThread(std::vector<std::string> files)
      : files_(std::move(files)), total_bytes_(TotalSize(files_)), thread_([this] { Run(); }) {}
  ~ParsingThread() {
    {
      absl::MutexLock lock(&mu_);
      stopped_ = true;
    }
    thread_.join();
  }

  // Next chunk; false once every file is done.
  bool Next(Chunk* chunk) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](ParsingThread* p)
             ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) { return !p->queue_.empty() || p->done_; },
        this));
    if (queue_.empty()) return false;
    *chunk = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }

  int64_t skipped() {
    absl::MutexLock lock(&mu_);
    return skipped_;
  }
  // Estimated share of the work done once `sent` records have been sent:
  // the share of the input parsed, scaled by how much of it was sent.
  double fraction(int64_t sent) {
    absl::MutexLock lock(&mu_);
    const double parsed = total_bytes_ == 0 ? 1.0 : 1.0 * parsed_bytes_ / total_bytes_;
    return delivered_ == 0 ? 0.0 : parsed * std::min(1.0, 1.0 * sent / delivered_);
  }
  int64_t malformed() {
    absl::MutexLock lock(&mu_);
    return malformed_;
  }

 private:
  static constexpr size_t kSliceBytes = 4 << 20;

  static int64_t TotalSize(const std::vector<std::string>& files) {
    int64_t total = 0;
    for (const std::string& f : files) {
      std::error_code error;
      const auto size = std::filesystem::file_size(f, error);
      if (!error) total += static_cast<int64_t>(size);
    }
    return total;
  }

  void Parsed(int64_t bytes) {
    absl::MutexLock lock(&mu_);
    parsed_bytes_ += bytes;
  }
  static constexpr size_t kMaxQueued = 4;

  void Run() {
    for (const std::string& file : files_) {
      absl::StatusOr<std::string> bytes = ReadWholeFile(file);
      if (!bytes.ok()) {
        Report({file, 0, std::string(bytes.status().message()), false});
        continue;
      }
      // JSON Lines is UTF-8 by definition and can be any size: parse it in
      // slices as it is. Everything else goes through the general reader.
      absl::string_view text = *bytes;
      if (absl::StartsWith(text, "\xEF\xBB\xBF")) text.remove_prefix(3);
      const size_t first = text.find_first_not_of(" \t\r\n");
      if (first != absl::string_view::npos && text[first] == '{') {
        ParseJsonLinesInSlices(file, text);
      } else {
        Deliver(file, 0, thesis::formats::ParseFile(*bytes, file));
        Parsed(static_cast<int64_t>(bytes->size()));
      }
      if (Stopped()) break;
    }
    absl::MutexLock lock(&mu_);
    done_ = true;
  }

  // Parses pairs of slices on two threads (protobuf's JSON parser is the
  // slowest part of an import) and delivers them in file order.
  void ParseJsonLinesInSlices(const std::string& file, absl::string_view text) {
    std::vector<absl::string_view> slices;
    for (size_t start = 0; start < text.size();) {
      size_t end = std::min(text.size(), start + kSliceBytes);
      if (end < text.size()) {
        const size_t newline = text.find('\n', end);
        end = newline == absl::string_view::npos ? text.size() : newline + 1;
      }
      slices.push_back(text.substr(start, end - start));
      start = end;
    }
    int first_line = 0;
    int64_t records = 0;
    for (size_t i = 0; i < slices.size() && !Stopped(); i += 2) {
      thesis::formats::ParseResult second;
      std::thread helper;
      if (i + 1 < slices.size()) {
        helper =
            std::thread([&] { second = thesis::formats::ParseJsonLines(slices[i + 1], file); });
      }
      thesis::formats::ParseResult first = thesis::formats::ParseJsonLines(slices[i], file);
      if (helper.joinable()) helper.join();
      for (size_t k = i; k < std::min(i + 2, slices.size()); ++k) {
        thesis::formats::ParseResult& parsed = k == i ? first : second;
        records += static_cast<int64_t>(parsed.records.size());
        Deliver(file, first_line, std::move(parsed), /*announce=*/false);
        Parsed(static_cast<int64_t>(slices[k].size()));
        first_line += static_cast<int>(std::count(slices[k].begin(), slices[k].end(), '\n'));
      }
    }
    if (!absl::GetFlag(FLAGS_json)) {
      Note(absl::StrCat(file, ": JSON Lines, ", records, " thesis record(s)"));
    }
  }

  void Report(const thesis::formats::Problem& p) {
    {
      absl::MutexLock lock(&mu_);
      (p.skipped ? skipped_ : malformed_)++;
    }
    Note(absl::StrCat(p.file, ":", p.line, ": ", p.skipped ? "skipped: " : "error: ", p.reason));
  }

  // Hands `parsed` (whose line numbers start after `line_offset` lines) on.
  void Deliver(const std::string& file, int line_offset, thesis::formats::ParseResult parsed,
               bool announce = true) {
    for (thesis::formats::Problem& p : parsed.problems) {
      p.line += line_offset;
      Report(p);
    }
    if (announce && !absl::GetFlag(FLAGS_json)) {
      Note(absl::StrCat(file, ": ", thesis::formats::FormatName(parsed.format), ", ",
                        parsed.records.size(), " thesis record(s)"));
    }
    Chunk chunk;
    chunk.theses.reserve(parsed.records.size());
    for (thesis::formats::Record& r : parsed.records) {
      chunk.theses.push_back(std::move(r.thesis));
      chunk.origins.push_back({file, r.line + line_offset});
    }
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](ParsingThread* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
          return p->queue_.size() < kMaxQueued || p->stopped_;
        },
        this));
    delivered_ += static_cast<int64_t>(chunk.theses.size());
    if (!stopped_) queue_.push_back(std::move(chunk));
  }

  bool Stopped() {
    absl::MutexLock lock(&mu_);
    return stopped_;
  }

  const std::vector<std::string> files_;
  absl::Mutex mu_;
  std::deque<Chunk> queue_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int64_t skipped_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t malformed_ ABSL_GUARDED_BY(mu_) = 0;
  const int64_t total_bytes_;
  int64_t parsed_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;  // last: starts after the members above exist
};

int Import(thesis::client::ThesisClient& client, const std::vector<std::string>& files) {
  if (files.empty()) return Usage("import: name at least one file");
  ParsingThread parser(files);
  std::vector<Origin> origins;
  Progress progress("imported");
  absl::StatusOr<thesis::v1::ImportThesesResponse> result = client.ImportThesesFrom(
      [&](std::vector<Thesis>* next) {
        Chunk chunk;
        if (!parser.Next(&chunk)) return false;
        *next = std::move(chunk.theses);
        origins.insert(origins.end(), chunk.origins.begin(), chunk.origins.end());
        return true;
      },
      [&](int64_t sent) { progress.Update(sent, parser.fraction(sent)); });
  progress.Update(static_cast<int64_t>(origins.size()), 1.0, /*final=*/true);
  if (!result.ok()) return Fail(result.status());
  for (const thesis::v1::ImportFailure& f : result->failures()) {
    const Origin& o = origins[static_cast<size_t>(f.index())];
    std::cerr << o.file << ":" << o.line << ": rejected: " << f.field()
              << (f.field().empty() ? "" : ": ") << f.reason() << "\n";
  }
  const int64_t skipped = parser.skipped(), malformed = parser.malformed();
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << absl::StrFormat(
        "{\"created\":%d,\"updated\":%d,\"unchanged\":%d,\"failed\":%d,\"skipped\":%d,"
        "\"malformed\":%d}\n",
        result->created(), result->updated(), result->unchanged(), result->failed(), skipped,
        malformed);
  } else {
    std::cout << absl::StrFormat(
        "created %d, updated %d, unchanged %d, failed %d; skipped %d non-thesis record(s), %d "
        "malformed\n",
        result->created(), result->updated(), result->unchanged(), result->failed(), skipped,
        malformed);
  }
  return result->failed() > 0 || malformed > 0 ? kExitPartial : 0;
}

int Export(thesis::client::ThesisClient& client) {
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "jsonl" && format != "refworks") {
    return Usage("export: --format must be jsonl or refworks");
  }
  std::ofstream file;
  const std::string path = absl::GetFlag(FLAGS_output);
  if (!path.empty()) {
    file.open(path, std::ios::binary | std::ios::trunc);
    if (!file) return Usage(absl::StrCat("export: cannot write ", path));
  }
  std::ostream& out = path.empty() ? std::cout : file;
  thesis::v1::ExportThesesRequest request;
  request.set_filter(absl::GetFlag(FLAGS_filter));
  request.set_order_by(absl::GetFlag(FLAGS_order_by));
  Progress progress("exported");
  int64_t count = 0;
  absl::Status status = client.ExportTheses(request, [&](const Thesis& t) {
    out << (format == "jsonl" ? thesis::formats::WriteJsonLines({t})
                              : thesis::formats::WriteRefWorks({t}));
    if (!out) return absl::DataLossError("cannot write the output");
    progress.Update(++count);
    return absl::OkStatus();
  });
  out.flush();
  progress.Update(count, -1, /*final=*/true);
  if (!status.ok()) return Fail(status);
  if (!path.empty()) std::cerr << "exported " << count << " record(s) to " << path << "\n";
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

std::string ThesisNameArg(const std::string& arg) {
  return arg.rfind("theses/", 0) == 0 ? arg : absl::StrCat("theses/", arg);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "thesisctl [--server host:port] [--json] "
      "import|export|get|list|create|update|delete|health ...");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) return Usage("usage: thesisctl COMMAND ... (see --help)");
  const std::string command = args[1];
  std::vector<std::string> rest(args.begin() + 2, args.end());

  thesis::client::ClientOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  options.default_timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout_s));
  options.bearer_token = absl::GetFlag(FLAGS_token);
  if (absl::GetFlag(FLAGS_tls)) {
    grpc::SslCredentialsOptions ssl;
    if (!absl::GetFlag(FLAGS_ca_cert).empty()) {
      absl::StatusOr<std::string> pem = ReadWholeFile(absl::GetFlag(FLAGS_ca_cert));
      if (!pem.ok()) return Usage(std::string(pem.status().message()));
      ssl.pem_root_certs = *pem;
    }
    options.credentials = grpc::SslCredentials(ssl);
  }
  auto channel = thesis::client::CreateChannel(options);
  thesis::client::ThesisClient client(channel, options);

  if (command == "import") return Import(client, rest);
  if (command == "export") return Export(client);
  if (command == "create") return Create(client);
  if (command == "list") return List(client);
  if (command == "health") return Health(channel);
  if (command == "get" || command == "delete" || command == "update") {
    if (rest.size() != 1) return Usage(absl::StrCat("usage: thesisctl ", command, " theses/ID"));
    const std::string name = ThesisNameArg(rest[0]);
    if (command == "update") return Update(client, name);
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
  return Usage(absl::StrCat("unknown command ", command));
}
