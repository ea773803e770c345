// thesisctl: command line for the thesis metadata service, built on the
// client library.
//
//   thesisctl [global flags] COMMAND ...
//     import FILE...                      load CNKI exports (page format, RefWorks,
//                                         EndNote, NoteExpress, JSON Lines; UTF-8 or GB18030)
//     export [--filter F] [--order_by O] [--format jsonl|refworks] [--output FILE]
//     get NAME
//     list [--filter F] [--order_by O] [--page_size N] [--all]
//     search QUERY [--filter F] [--order_by relevance|degree_year|downloads [desc]]
//            [--page_size N] [--page_token T] [--facet_size N] [--skip_facets]
//                                         full-text search: hits with snippets, then the
//                                         match count and the facets
//     create --file record.json [--id ID]
//     update NAME --file patch.json --mask title_zh,degree_year [--etag E]
//     delete NAME [--etag E]
//     health [--service readiness] [--wait_s N]
//     downloads record NAME --kind request|investigation [--status 200] [--user ID]
//                      [--user_cookie C] [--session S] [--ip IP] [--user_agent UA]
//                      [--time RFC3339] [--request_id ID]
//     downloads record --file events.jsonl  DownloadEvents as JSON Lines (--file=- for stdin),
//                                         sent 10,000 at a time
//     downloads stats NAME [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--granularity daily|monthly]
//     downloads top --metric M [--from D] [--to D] [--filter F] [--limit N]
//     downloads report --begin YYYY-MM --end YYYY-MM [--filter F] [--metric M ...]
//                      [--format table|tsv]
//     classes schemes                     CLC and discipline schemes with their counts
//     classes get NAME [--scheme S]       a class: path, children, flags, counts
//     classes children [NAME] [--scheme S] [--page_size N [--all]]
//     classes tree [NAME] [--scheme S] [--depth N] [--max_nodes N] [--skip_empty]
//     classes resolve CODE...             raw code fields -> normalized codes, resolution
//     classes theses NAME [--order_by downloads|degree_year|title] [--page_size N] [--all]
//     classes suggest --scheme S --title T [--abstract A] [--keywords k1,k2] [--top_k N]
//                     [--level L]
//     classes rebuild --scheme S [--level L]
//     classes import FILE... --scheme clc|discipline --version V
//                                         load a class table (CLC JSON tree or TSV,
//                                         discipline TSVs; UTF-8 or GB18030)
//
// QUERY is the search query language (words, "phrases", -exclusions, OR,
// title: author: advisor: keyword: institution: class:; see thesis.proto);
// several arguments are one query, joined by spaces, and a word of it that
// starts with `-` is an exclusion, not a flag (or put the query after `--`).
//
// NAME is theses/ID or just ID; for classes, schemes/clc/classes/D630 or just
// the code (D630) of the --scheme (default clc). A metric M is total_item_requests,
// unique_item_requests, total_item_investigations or unique_item_investigations
// (or its COUNTER name, e.g. Unique_Item_Requests); --metric may be repeated or
// comma-separated.
//
// Global: --server (THESIS_SERVER), --tls (THESIS_TLS) with --ca_cert
// (THESIS_CA_CERT) and for mutual TLS --client_cert/--client_key, --token
// (THESIS_TOKEN), --json, --timeout_s.
//
// Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 already exists,
// 5 invalid argument, 6 unavailable, 7 aborted (stale etag), 8 import or
// export finished but some records failed or were malformed (for `downloads
// record --file`: some lines were malformed or rejected, or named unknown theses;
// for `classes import`: some lines were malformed or rows rejected).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "thesis/client/thesis_client.h"
#include "thesis/formats/class_tables.h"
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
ABSL_FLAG(std::string, client_cert, EnvOr("THESIS_CLIENT_CERT", ""),
          "PEM certificate chain to present to a server that wants mutual TLS (with "
          "--client_key; env THESIS_CLIENT_CERT).");
ABSL_FLAG(std::string, client_key, EnvOr("THESIS_CLIENT_KEY", ""),
          "PEM private key of --client_cert (env THESIS_CLIENT_KEY).");
ABSL_FLAG(std::string, token, EnvOr("THESIS_TOKEN", ""),
          "Bearer token sent with every call (env THESIS_TOKEN).");
ABSL_FLAG(bool, json, false, "Print Protobuf JSON instead of tables.");
ABSL_FLAG(int, timeout_s, 30, "Deadline of each unary call, seconds.");
ABSL_FLAG(std::string, file, "",
          "create/update: the record as Protobuf JSON; downloads record: DownloadEvents as JSON "
          "Lines (--file=- for stdin).");
ABSL_FLAG(std::string, id, "", "create: the id to give the record.");
ABSL_FLAG(std::string, mask, "", "update: comma-separated field paths to change.");
ABSL_FLAG(std::string, filter, "",
          "list/export/search/downloads top/downloads report: filter expression.");
ABSL_FLAG(std::string, order_by, "",
          "list/export: order_by; search: relevance (default), degree_year or downloads, the "
          "last two optionally followed by desc; classes theses: downloads (default), "
          "degree_year or title, optionally followed by asc or desc.");
ABSL_FLAG(int, page_size, 0,
          "list/search/downloads report/classes children/classes theses: page size.");
ABSL_FLAG(std::string, page_token, "",
          "search: continue from a previous page (the query, --filter and --order_by must be "
          "the same).");
ABSL_FLAG(int, facet_size, 0, "search: values per facet (0 means 10; at most 100).");
ABSL_FLAG(bool, skip_facets, false, "search: leave out the match count and the facets.");
ABSL_FLAG(bool, all, false, "list/classes children/classes theses: follow page tokens to the end.");
ABSL_FLAG(std::string, etag, "", "update/delete: only if the etag matches.");
ABSL_FLAG(std::string, format, "",
          "export: jsonl (default) or refworks; downloads report: table (default) or tsv.");
ABSL_FLAG(std::string, output, "", "export: file to write (default stdout).");
ABSL_FLAG(bool, progress, true, "import/export: show progress when stderr is a terminal.");
ABSL_FLAG(std::string, service, "readiness", "health: service name to check.");
ABSL_FLAG(int, wait_s, 0, "health: keep trying for this many seconds until SERVING.");
ABSL_FLAG(std::string, kind, "", "downloads record: request (full text) or investigation.");
ABSL_FLAG(int, status, 200, "downloads record: the HTTP status the gateway answered with.");
ABSL_FLAG(std::string, user, "", "downloads record: the logged-in user's id.");
ABSL_FLAG(std::string, user_cookie, "", "downloads record: the long-lived browser cookie.");
ABSL_FLAG(std::string, session, "", "downloads record: the session cookie.");
ABSL_FLAG(std::string, ip, "", "downloads record: the client's IP address.");
ABSL_FLAG(std::string, user_agent, "", "downloads record: the HTTP User-Agent.");
ABSL_FLAG(std::string, time, "",
          "downloads record: when, RFC 3339 (e.g. 2024-05-01T08:00:00+08:00); default: the "
          "server's clock.");
ABSL_FLAG(std::string, request_id, "",
          "downloads record: idempotency key; default: a fresh one per event.");
ABSL_FLAG(std::string, from, "",
          "downloads stats/top: first day, YYYY-MM-DD (or YYYY-MM); empty with --to: all time.");
ABSL_FLAG(std::string, to, "", "downloads stats/top: last day, inclusive.");
ABSL_FLAG(std::string, granularity, "", "downloads stats: also print a daily or monthly series.");
ABSL_FLAG(std::vector<std::string>, metric, {},
          "downloads top: the metric to rank by; downloads report: the metrics (all four when "
          "empty). total_item_requests, unique_item_requests, total_item_investigations or "
          "unique_item_investigations; repeated or comma-separated.");
ABSL_FLAG(int, limit, 0, "downloads top: how many theses (1-1000; default 20).");
ABSL_FLAG(std::string, begin, "", "downloads report: first month, YYYY-MM.");
ABSL_FLAG(std::string, end, "", "downloads report: last month, YYYY-MM (at most 36 months).");
ABSL_FLAG(std::string, scheme, "",
          "classes: the scheme, clc or discipline (or schemes/clc); default clc, except that "
          "classes import requires it.");
ABSL_FLAG(int, depth, 0, "classes tree: levels below the start (0 means 1; at most 5).");
ABSL_FLAG(int, max_nodes, 0, "classes tree: nodes at most (0 means 2000; at most 20000).");
ABSL_FLAG(bool, skip_empty, false, "classes tree: leave out classes without theses.");
ABSL_FLAG(std::string, title, "", "classes suggest: the title of the thesis to classify.");
ABSL_FLAG(std::string, abstract, "", "classes suggest: its abstract.");
ABSL_FLAG(std::vector<std::string>, keywords, {},
          "classes suggest: its keywords, comma-separated.");
ABSL_FLAG(int, top_k, 0, "classes suggest: how many suggestions (0 means 5; at most 50).");
ABSL_FLAG(int, level, 0,
          "classes suggest/rebuild: level of the classes to suggest (0 means 2; 1: the roots).");
ABSL_FLAG(std::string, table_version, "",
          "classes import: the version of the table being loaded (also accepted as --version V "
          "after the classes command).");

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
  std::string format = absl::GetFlag(FLAGS_format);
  if (format.empty()) format = "jsonl";
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

// ---- downloads: COUNTER download counting (thesis.v1.DownloadService) ----

constexpr char kDownloadsUsage[] =
    "usage: thesisctl downloads record NAME --kind request|investigation [--status 200] "
    "[--user ID] [--user_cookie C] [--session S] [--ip IP] [--user_agent UA] [--time RFC3339] "
    "[--request_id ID]\n"
    "       thesisctl downloads record --file events.jsonl\n"
    "       thesisctl downloads stats NAME [--from YYYY-MM-DD] [--to YYYY-MM-DD] "
    "[--granularity daily|monthly]\n"
    "       thesisctl downloads top --metric M [--from D] [--to D] [--filter F] [--limit N]\n"
    "       thesisctl downloads report --begin YYYY-MM --end YYYY-MM [--filter F] [--metric M ...] "
    "[--format table|tsv]\n"
    "  M: total_item_requests, unique_item_requests, total_item_investigations, "
    "unique_item_investigations";

// Events per BatchRecordDownloads call (the most the service takes).
constexpr size_t kEventsPerBatch = 10000;

constexpr thesis::v1::CounterMetric kAllMetrics[] = {
    thesis::v1::TOTAL_ITEM_INVESTIGATIONS, thesis::v1::UNIQUE_ITEM_INVESTIGATIONS,
    thesis::v1::TOTAL_ITEM_REQUESTS, thesis::v1::UNIQUE_ITEM_REQUESTS};

// The COUNTER Metric_Type name.
std::string CounterName(thesis::v1::CounterMetric metric) {
  switch (metric) {
    case thesis::v1::TOTAL_ITEM_INVESTIGATIONS:
      return "Total_Item_Investigations";
    case thesis::v1::UNIQUE_ITEM_INVESTIGATIONS:
      return "Unique_Item_Investigations";
    case thesis::v1::TOTAL_ITEM_REQUESTS:
      return "Total_Item_Requests";
    case thesis::v1::UNIQUE_ITEM_REQUESTS:
      return "Unique_Item_Requests";
    default:
      return thesis::v1::CounterMetric_Name(metric);
  }
}

int64_t MetricValue(const thesis::v1::CounterMetrics& m, thesis::v1::CounterMetric metric) {
  switch (metric) {
    case thesis::v1::TOTAL_ITEM_INVESTIGATIONS:
      return m.total_item_investigations();
    case thesis::v1::UNIQUE_ITEM_INVESTIGATIONS:
      return m.unique_item_investigations();
    case thesis::v1::TOTAL_ITEM_REQUESTS:
      return m.total_item_requests();
    case thesis::v1::UNIQUE_ITEM_REQUESTS:
      return m.unique_item_requests();
    default:
      return 0;
  }
}

// total_item_requests, TOTAL_ITEM_REQUESTS or Total_Item_Requests.
absl::StatusOr<thesis::v1::CounterMetric> ParseMetric(absl::string_view text) {
  thesis::v1::CounterMetric metric;
  if (thesis::v1::CounterMetric_Parse(absl::AsciiStrToUpper(text), &metric) &&
      metric != thesis::v1::COUNTER_METRIC_UNSPECIFIED) {
    return metric;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown metric \"", text,
                   "\": use total_item_requests, unique_item_requests, "
                   "total_item_investigations or unique_item_investigations"));
}

absl::StatusOr<std::vector<thesis::v1::CounterMetric>> MetricFlags() {
  std::vector<thesis::v1::CounterMetric> metrics;
  for (const std::string& text : absl::GetFlag(FLAGS_metric)) {
    if (text.empty()) continue;
    absl::StatusOr<thesis::v1::CounterMetric> metric = ParseMetric(text);
    if (!metric.ok()) return metric.status();
    metrics.push_back(*metric);
  }
  return metrics;
}

// `text` with tabs and line breaks turned into spaces: a table cell, a TSV
// field or a message on one line.
std::string OneLine(absl::string_view text) {
  std::string line(text);
  std::replace_if(
      line.begin(), line.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
  return line;
}

// East Asian wide and fullwidth characters take two terminal columns.
bool IsWide(uint32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF && cp != 0x303F) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
         (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

// Terminal columns `text` (UTF-8) takes.
size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t length = 1;
    uint32_t cp = lead;
    if (lead >= 0xF0) {
      length = 4;
      cp = lead & 0x07;
    } else if (lead >= 0xE0) {
      length = 3;
      cp = lead & 0x0F;
    } else if (lead >= 0xC0) {
      length = 2;
      cp = lead & 0x1F;
    }
    if (i + length > text.size()) length = 1;
    for (size_t k = 1; k < length; ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    i += length;
    width += length > 1 && IsWide(cp) ? 2 : 1;
  }
  return width;
}

// A table for people: columns padded to their widest cell, numbers
// right-aligned, two spaces apart.
class Table {
 public:
  // `numeric[i]`: column i holds numbers (right-aligned).
  Table(std::vector<std::string> header, std::vector<bool> numeric) : numeric_(std::move(numeric)) {
    rows_.push_back(std::move(header));
  }
  void Add(std::vector<std::string> row) {
    for (std::string& cell : row) cell = OneLine(cell);
    rows_.push_back(std::move(row));
  }
  void Print(std::ostream& out) const {
    std::vector<size_t> widths;
    for (const auto& row : rows_) {
      if (widths.size() < row.size()) widths.resize(row.size(), 0);
      for (size_t i = 0; i < row.size(); ++i) {
        widths[i] = std::max(widths[i], DisplayWidth(row[i]));
      }
    }
    for (const auto& row : rows_) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        const std::string pad(widths[i] - DisplayWidth(row[i]), ' ');
        const bool right = i < numeric_.size() && numeric_[i];
        if (i > 0) line += "  ";
        if (right) line += pad;
        line += row[i];
        if (!right && i + 1 < row.size()) line += pad;
      }
      out << line << "\n";
    }
  }

 private:
  std::vector<bool> numeric_;
  std::vector<std::vector<std::string>> rows_;
};

// "all time" when both ends are open, else "FROM to TO".
std::string PeriodText(const std::string& from, const std::string& to) {
  if (from.empty() && to.empty()) return "all time";
  return absl::StrCat(from.empty() ? "(start)" : from, " to ", to.empty() ? "(end)" : to);
}

int RecordOne(thesis::client::ThesisClient& client, const std::string& name) {
  thesis::v1::DownloadEvent event;
  event.set_thesis(name);
  const std::string kind = absl::AsciiStrToLower(absl::GetFlag(FLAGS_kind));
  if (kind == "request") {
    event.set_kind(thesis::v1::REQUEST);
  } else if (kind == "investigation") {
    event.set_kind(thesis::v1::INVESTIGATION);
  } else {
    return Usage("downloads record: --kind must be request or investigation");
  }
  event.set_http_status(absl::GetFlag(FLAGS_status));
  thesis::v1::ClientIdentity* who = event.mutable_client();
  who->set_user_id(absl::GetFlag(FLAGS_user));
  who->set_user_cookie(absl::GetFlag(FLAGS_user_cookie));
  who->set_session_cookie(absl::GetFlag(FLAGS_session));
  who->set_ip(absl::GetFlag(FLAGS_ip));
  who->set_user_agent(absl::GetFlag(FLAGS_user_agent));
  if (const std::string text = absl::GetFlag(FLAGS_time); !text.empty()) {
    absl::Time time;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
      return Usage(absl::StrCat("downloads record: --time is not RFC 3339 (", error, ")"));
    }
    const int64_t seconds = absl::ToUnixSeconds(time);
    event.mutable_time()->set_seconds(seconds);
    event.mutable_time()->set_nanos(
        static_cast<int32_t>((time - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  }
  event.set_request_id(absl::GetFlag(FLAGS_request_id));
  absl::StatusOr<thesis::v1::RecordDownloadResponse> recorded =
      client.RecordDownload(std::move(event));
  if (!recorded.ok()) return Fail(recorded.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(*recorded) << "\n";
    return 0;
  }
  std::cout << thesis::v1::DownloadOutcome_Name(recorded->outcome());
  if (recorded->outcome() == thesis::v1::DUPLICATE_REQUEST) {
    std::cout << " (first: " << thesis::v1::DownloadOutcome_Name(recorded->first_outcome()) << ")";
  }
  std::cout << "\n";
  return 0;
}

// The BadRequest field violations of an INVALID_ARGUMENT that name an event
// (`events[i]...`), by index: "field: description".
std::map<size_t, std::string> InvalidEvents(const absl::Status& status, size_t count) {
  std::map<size_t, std::string> invalid;
  auto payload = status.GetPayload("type.googleapis.com/google.rpc.BadRequest");
  google::rpc::BadRequest bad_request;
  if (!payload || !bad_request.ParseFromString(std::string(*payload))) return invalid;
  for (const auto& v : bad_request.field_violations()) {
    absl::string_view field = v.field();
    size_t index = 0;
    if (!absl::ConsumePrefix(&field, "events[") || field.find(']') == absl::string_view::npos ||
        !absl::SimpleAtoi(field.substr(0, field.find(']')), &index) || index >= count) {
      continue;
    }
    std::string& why = invalid[index];
    absl::StrAppend(&why, why.empty() ? "" : "; ", v.field(), ": ", v.description());
  }
  return invalid;
}

// `downloads record --file`: JSON Lines of DownloadEvent, sent in batches.
// A line that is not an event, or that the service rejects, is reported
// with its file and line and the rest go on.
int RecordFile(thesis::client::ThesisClient& client, const std::string& path) {
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return Usage(absl::StrCat("downloads record: cannot read ", path));
  }
  std::istream& in = path == "-" ? std::cin : file;
  const std::string label = path == "-" ? "(stdin)" : path;

  std::map<thesis::v1::DownloadOutcome, int64_t> outcomes;
  int64_t malformed = 0, rejected = 0, recorded = 0;
  std::vector<thesis::v1::DownloadEvent> events;
  std::vector<int> lines;  // of `events`
  Progress progress("recorded");
  auto report = [&](int line, absl::string_view what, absl::string_view reason) {
    Note(absl::StrCat(label, ":", line, ": ", what, ": ", reason));
  };

  // Sends `events`. When the service rejects the batch naming invalid events,
  // those are reported and the others sent again (their request ids make
  // that safe).
  auto send = [&]() -> absl::Status {
    while (!events.empty()) {
      absl::StatusOr<std::vector<thesis::v1::RecordDownloadResponse>> results =
          client.BatchRecordDownloads(events);
      if (results.ok()) {
        if (results->size() != events.size()) {
          return absl::InternalError(absl::StrCat("the server answered ", results->size(),
                                                  " results for ", events.size(), " events"));
        }
        for (size_t i = 0; i < events.size(); ++i) {
          const thesis::v1::DownloadOutcome outcome = (*results)[i].outcome();
          ++outcomes[outcome];
          if (outcome == thesis::v1::UNKNOWN_THESIS) {
            report(lines[i], "rejected", absl::StrCat("unknown thesis ", events[i].thesis()));
          }
        }
        recorded += static_cast<int64_t>(events.size());
        progress.Update(recorded);
        break;
      }
      if (results.status().code() != absl::StatusCode::kInvalidArgument) return results.status();
      const std::map<size_t, std::string> invalid = InvalidEvents(results.status(), events.size());
      if (invalid.empty()) return results.status();
      std::vector<thesis::v1::DownloadEvent> kept;
      std::vector<int> kept_lines;
      for (size_t i = 0; i < events.size(); ++i) {
        auto it = invalid.find(i);
        if (it == invalid.end()) {
          kept.push_back(std::move(events[i]));
          kept_lines.push_back(lines[i]);
        } else {
          report(lines[i], "rejected", it->second);
          ++rejected;
        }
      }
      events = std::move(kept);
      lines = std::move(kept_lines);
    }
    events.clear();
    lines.clear();
    return absl::OkStatus();
  };

  std::string line;
  int number = 0;
  // A failed batch ends the run: what came before it stays recorded.
  auto stop = [&](const absl::Status& status) {
    progress.Update(recorded, -1, /*final=*/true);
    Note(absl::StrCat("thesisctl: stopped at ", label, ":", lines.empty() ? number : lines.front(),
                      "; ", recorded, " event(s) recorded before"));
    return Fail(status);
  };

  while (std::getline(in, line)) {
    ++number;
    absl::string_view text = line;
    if (number == 1) absl::ConsumePrefix(&text, "\xEF\xBB\xBF");
    text = absl::StripAsciiWhitespace(text);
    if (text.empty()) continue;
    thesis::v1::DownloadEvent event;
    const auto parsed = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(text.data(), text.size()), &event);
    std::string problem;
    if (!parsed.ok()) {
      std::string why = OneLine(parsed.message().as_string());
      if (why.size() > 200) why = absl::StrCat(why.substr(0, 200), "...");
      problem = absl::StrCat("not a DownloadEvent in the Protobuf JSON mapping: ", why);
    } else if (event.thesis().empty()) {
      problem = "thesis: required";
    } else if (event.kind() == thesis::v1::DOWNLOAD_KIND_UNSPECIFIED) {
      problem = "kind: required (REQUEST or INVESTIGATION)";
    } else if (event.http_status() == 0) {
      problem = "http_status: required";
    } else if (event.client().user_id().empty() && event.client().user_cookie().empty() &&
               event.client().session_cookie().empty() && event.client().ip().empty()) {
      problem = "client: a user_id, a cookie or an ip is required";
    }
    if (!problem.empty()) {
      report(number, "error", problem);
      ++malformed;
      continue;
    }
    // Made here, not by the library, so that a batch sent again after a
    // rejection keeps its ids.
    if (event.request_id().empty()) event.set_request_id(thesis::client::NewRequestId());
    events.push_back(std::move(event));
    lines.push_back(number);
    if (events.size() == kEventsPerBatch) {
      if (absl::Status sent = send(); !sent.ok()) return stop(sent);
    }
  }
  if (in.bad()) return stop(absl::DataLossError(absl::StrCat("cannot read ", label)));
  if (absl::Status sent = send(); !sent.ok()) return stop(sent);
  progress.Update(recorded, -1, /*final=*/true);

  const int64_t unknown = outcomes[thesis::v1::UNKNOWN_THESIS];
  if (absl::GetFlag(FLAGS_json)) {
    std::string out = "{";
    for (int o = thesis::v1::DownloadOutcome_MIN + 1; o <= thesis::v1::DownloadOutcome_MAX; ++o) {
      const auto outcome = static_cast<thesis::v1::DownloadOutcome>(o);
      if (!thesis::v1::DownloadOutcome_IsValid(o)) continue;
      absl::StrAppend(&out, "\"", thesis::v1::DownloadOutcome_Name(outcome),
                      "\":", outcomes[outcome], ",");
    }
    absl::StrAppend(&out, "\"rejected\":", rejected, ",\"malformed\":", malformed, "}");
    std::cout << out << "\n";
  } else {
    Table table({"Outcome", "Events"}, {false, true});
    for (int o = thesis::v1::DownloadOutcome_MIN + 1; o <= thesis::v1::DownloadOutcome_MAX; ++o) {
      const auto outcome = static_cast<thesis::v1::DownloadOutcome>(o);
      if (!thesis::v1::DownloadOutcome_IsValid(o)) continue;
      table.Add({thesis::v1::DownloadOutcome_Name(outcome), absl::StrCat(outcomes[outcome])});
    }
    table.Add({"rejected (invalid)", absl::StrCat(rejected)});
    table.Add({"malformed lines", absl::StrCat(malformed)});
    table.Print(std::cout);
  }
  return malformed > 0 || rejected > 0 || unknown > 0 ? kExitPartial : 0;
}

int Stats(thesis::client::ThesisClient& client, const std::string& name) {
  const std::string granularity_text = absl::AsciiStrToLower(absl::GetFlag(FLAGS_granularity));
  thesis::v1::Granularity granularity = thesis::v1::GRANULARITY_UNSPECIFIED;
  if (granularity_text == "daily") {
    granularity = thesis::v1::DAILY;
  } else if (granularity_text == "monthly") {
    granularity = thesis::v1::MONTHLY;
  } else if (!granularity_text.empty()) {
    return Usage("downloads stats: --granularity must be daily or monthly");
  }
  const std::string from = absl::GetFlag(FLAGS_from), to = absl::GetFlag(FLAGS_to);
  absl::StatusOr<thesis::v1::GetDownloadStatsResponse> stats =
      client.GetDownloadStats(name, from, to, granularity);
  if (!stats.ok()) return Fail(stats.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(*stats) << "\n";
    return 0;
  }
  std::cout << "thesis:  " << (stats->thesis().empty() ? name : stats->thesis()) << "\n"
            << "period:  " << PeriodText(from, to) << "\n\n";
  Table totals({"Metric_Type", "Count"}, {false, true});
  for (thesis::v1::CounterMetric metric : kAllMetrics) {
    totals.Add({CounterName(metric), absl::StrCat(MetricValue(stats->metrics(), metric))});
  }
  totals.Print(std::cout);
  if (stats->has_legacy_download_count()) {
    std::cout << "\nimported from CNKI (下载频次, not counted above): "
              << stats->legacy_download_count() << "\n";
  }
  if (stats->series_size() > 0) {
    std::vector<std::string> header = {"Period"};
    for (thesis::v1::CounterMetric metric : kAllMetrics) header.push_back(CounterName(metric));
    Table series(std::move(header), {false, true, true, true, true});
    for (const thesis::v1::DownloadStatsPoint& point : stats->series()) {
      std::vector<std::string> row = {point.period()};
      for (thesis::v1::CounterMetric metric : kAllMetrics) {
        row.push_back(absl::StrCat(MetricValue(point.metrics(), metric)));
      }
      series.Add(std::move(row));
    }
    std::cout << "\n";
    series.Print(std::cout);
  }
  return 0;
}

int Top(thesis::client::ThesisClient& client) {
  absl::StatusOr<std::vector<thesis::v1::CounterMetric>> metrics = MetricFlags();
  if (!metrics.ok()) return Usage(absl::StrCat("downloads top: ", metrics.status().message()));
  if (metrics->size() != 1) {
    return Usage(
        "downloads top: give one --metric: total_item_requests, unique_item_requests, "
        "total_item_investigations or unique_item_investigations");
  }
  thesis::v1::ListTopThesesRequest request;
  request.set_metric(metrics->front());
  request.set_start_date(absl::GetFlag(FLAGS_from));
  request.set_end_date(absl::GetFlag(FLAGS_to));
  request.set_filter(absl::GetFlag(FLAGS_filter));
  request.set_page_size(absl::GetFlag(FLAGS_limit));
  absl::StatusOr<thesis::v1::ListTopThesesResponse> top = client.ListTopTheses(request);
  if (!top.ok()) return Fail(top.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(*top) << "\n";
    return 0;
  }
  Table table({"Rank", "Thesis", CounterName(request.metric()), "Title"},
              {true, false, true, false});
  int rank = 0;
  for (const thesis::v1::TopThesis& t : top->theses()) {
    table.Add({absl::StrCat(++rank), t.thesis(), absl::StrCat(t.value()), t.title()});
  }
  table.Print(std::cout);
  return 0;
}

int Report(thesis::client::ThesisClient& client) {
  std::string format = absl::GetFlag(FLAGS_format);
  if (format.empty()) format = "table";
  if (format != "table" && format != "tsv") {
    return Usage("downloads report: --format must be table or tsv");
  }
  if (absl::GetFlag(FLAGS_begin).empty() || absl::GetFlag(FLAGS_end).empty()) {
    return Usage("downloads report: --begin YYYY-MM and --end YYYY-MM are required");
  }
  absl::StatusOr<std::vector<thesis::v1::CounterMetric>> metrics = MetricFlags();
  if (!metrics.ok()) return Usage(absl::StrCat("downloads report: ", metrics.status().message()));
  thesis::v1::GetItemReportRequest request;
  request.set_begin_month(absl::GetFlag(FLAGS_begin));
  request.set_end_month(absl::GetFlag(FLAGS_end));
  request.set_filter(absl::GetFlag(FLAGS_filter));
  for (thesis::v1::CounterMetric metric : *metrics) request.add_metrics(metric);
  request.set_page_size(absl::GetFlag(FLAGS_page_size));

  // Every page, as one response.
  thesis::v1::GetItemReportResponse report;
  bool first = true;
  do {
    absl::StatusOr<thesis::v1::GetItemReportResponse> page = client.GetItemReport(request);
    if (!page.ok()) return Fail(page.status());
    if (first) {
      *report.mutable_months() = page->months();
      first = false;
    } else if (!std::equal(page->months().begin(), page->months().end(), report.months().begin(),
                           report.months().end())) {
      return Fail(absl::InternalError("the report's months changed from one page to the next"));
    }
    for (thesis::v1::ItemReportRow& row : *page->mutable_rows()) {
      *report.add_rows() = std::move(row);
    }
    if (!page->next_page_token().empty() && page->next_page_token() == request.page_token()) {
      return Fail(absl::InternalError("the server answered the same page token again"));
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());

  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(report) << "\n";
    return 0;
  }
  std::vector<std::string> header = {"Item", "Institution", "Metric_Type",
                                     "Reporting_Period_Total"};
  header.insert(header.end(), report.months().begin(), report.months().end());
  std::vector<std::vector<std::string>> rows;
  for (const thesis::v1::ItemReportRow& r : report.rows()) {
    std::vector<std::string> row = {r.title().empty() ? r.thesis() : r.title(), r.institution(),
                                    CounterName(r.metric()),
                                    absl::StrCat(r.reporting_period_total())};
    for (int i = 0; i < report.months_size(); ++i) {
      row.push_back(i < r.month_counts_size() ? absl::StrCat(r.month_counts(i)) : "");
    }
    rows.push_back(std::move(row));
  }
  if (format == "tsv") {
    auto print = [](const std::vector<std::string>& row) {
      std::vector<std::string> cells;
      for (const std::string& cell : row) cells.push_back(OneLine(cell));
      std::cout << absl::StrJoin(cells, "\t") << "\n";
    };
    print(header);
    for (const auto& row : rows) print(row);
    return 0;
  }
  std::vector<bool> numeric(header.size(), true);
  numeric[0] = numeric[1] = numeric[2] = false;
  Table table(std::move(header), std::move(numeric));
  for (auto& row : rows) table.Add(std::move(row));
  table.Print(std::cout);
  return 0;
}

int Downloads(thesis::client::ThesisClient& client, const std::vector<std::string>& rest) {
  if (rest.empty()) return Usage(kDownloadsUsage);
  const std::string& sub = rest[0];
  const std::vector<std::string> args(rest.begin() + 1, rest.end());
  if (sub == "record") {
    const std::string file = absl::GetFlag(FLAGS_file);
    if (!file.empty()) {
      if (!args.empty()) return Usage("downloads record: give a thesis or --file, not both");
      return RecordFile(client, file);
    }
    if (args.size() != 1) return Usage(kDownloadsUsage);
    return RecordOne(client, ThesisNameArg(args[0]));
  }
  if (sub == "stats") {
    if (args.size() != 1) return Usage(kDownloadsUsage);
    return Stats(client, ThesisNameArg(args[0]));
  }
  if (sub == "top" || sub == "report") {
    if (!args.empty()) return Usage(kDownloadsUsage);
    return sub == "top" ? Top(client) : Report(client);
  }
  return Usage(absl::StrCat("unknown downloads command ", sub, "\n", kDownloadsUsage));
}

// ---- classes: CLC and discipline trees (thesis.v1.ClassificationService) ----

constexpr char kClassesUsage[] =
    "usage: thesisctl classes schemes\n"
    "       thesisctl classes get NAME [--scheme clc|discipline]\n"
    "       thesisctl classes children [NAME] [--scheme S] [--page_size N [--all]]\n"
    "       thesisctl classes tree [NAME] [--scheme S] [--depth N] [--max_nodes N] "
    "[--skip_empty]\n"
    "       thesisctl classes resolve CODE...\n"
    "       thesisctl classes theses NAME [--order_by downloads|degree_year|title] "
    "[--page_size N] [--all]\n"
    "       thesisctl classes suggest --scheme S --title T [--abstract A] [--keywords k1,k2] "
    "[--top_k N] [--level L]\n"
    "       thesisctl classes rebuild --scheme S [--level L]\n"
    "       thesisctl classes import FILE... --scheme clc|discipline --version V\n"
    "  NAME: schemes/clc/classes/D630, or the code alone (D630) with --scheme (default clc)";

// `clc` -> `schemes/clc`; a full scheme name stays.
std::string SchemeArg(std::string scheme) {
  if (scheme.empty()) scheme = "clc";
  return absl::StartsWith(scheme, "schemes/") ? scheme : absl::StrCat("schemes/", scheme);
}

// `D630` -> `schemes/{--scheme}/classes/D630`; a full name (of a class, or
// of a scheme where one is allowed) stays. Codes may hold `/` (B31/39), so
// only a leading `schemes/` marks a full name.
std::string ClassArg(const std::string& arg) {
  if (absl::StartsWith(arg, "schemes/")) return arg;
  return absl::StrCat(SchemeArg(absl::GetFlag(FLAGS_scheme)), "/classes/", arg);
}

std::string TimeText(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

std::string ClassFlags(const thesis::v1::Class& c) {
  std::vector<std::string> flags;
  if (c.alternative()) flags.push_back("alternative");
  if (c.discontinued()) flags.push_back("discontinued");
  return absl::StrJoin(flags, ", ");
}

std::string RefText(const thesis::v1::ClassRef& ref) {
  return ref.display_name().empty() ? ref.code()
                                    : absl::StrCat(ref.code(), " ", ref.display_name());
}

int ClassSchemes(thesis::client::ThesisClient& client) {
  absl::StatusOr<std::vector<thesis::v1::Scheme>> schemes = client.ListSchemes();
  if (!schemes.ok()) return Fail(schemes.status());
  if (absl::GetFlag(FLAGS_json)) {
    thesis::v1::ListSchemesResponse response;
    for (const thesis::v1::Scheme& s : *schemes) *response.add_schemes() = s;
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  Table table({"Scheme", "Title", "Version", "Classes", "Classified", "Unresolved", "Unclassified",
               "Updated"},
              {false, false, false, true, true, true, true, false});
  for (const thesis::v1::Scheme& s : *schemes) {
    table.Add({s.name(), s.title(), s.version(), absl::StrCat(s.class_count()),
               absl::StrCat(s.classified_theses()), absl::StrCat(s.unresolved_theses()),
               absl::StrCat(s.unclassified_theses()), TimeText(s.update_time())});
  }
  table.Print(std::cout);
  return 0;
}

int ClassGet(thesis::client::ThesisClient& client, const std::string& name) {
  absl::StatusOr<thesis::v1::Class> c = client.GetClass(name);
  if (!c.ok()) return Fail(c.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(*c) << "\n";
    return 0;
  }
  std::vector<std::string> path;
  for (const thesis::v1::ClassRef& ref : c->path()) path.push_back(RefText(ref));
  const thesis::v1::ClassCounts& n = c->counts();
  const std::string flags = ClassFlags(*c);
  std::cout << "class:      " << c->name() << "\n"
            << "code:       " << c->code() << "\n"
            << "title:      " << c->display_name() << "\n"
            << "level:      " << c->level() << "\n"
            << "path:       " << (path.empty() ? "(root)" : absl::StrJoin(path, " > ")) << "\n"
            << "children:   " << c->child_count() << "\n"
            << "flags:      " << (flags.empty() ? "-" : flags) << "\n"
            << "theses:     " << n.direct_theses() << " direct, " << n.subtree_theses()
            << " in the subtree\n"
            << "downloads:  " << n.subtree_downloads()
            << " in the subtree (COUNTER Total_Item_Requests)\n"
            << "legacy:     " << n.subtree_legacy_downloads()
            << " in the subtree (下载频次 as imported)\n";
  return 0;
}

int ClassChildren(thesis::client::ThesisClient& client, const std::vector<std::string>& args) {
  if (args.size() > 1) return Usage(kClassesUsage);
  thesis::v1::ListChildrenRequest request;
  request.set_parent(args.empty() ? SchemeArg(absl::GetFlag(FLAGS_scheme)) : ClassArg(args[0]));
  request.set_page_size(absl::GetFlag(FLAGS_page_size));
  // Without --page_size every page is fetched: a level of a class table is
  // what people ask for, and it is at most a few hundred rows.
  const bool all = absl::GetFlag(FLAGS_all) || absl::GetFlag(FLAGS_page_size) == 0;
  Table table({"Code", "Name", "Children", "Direct", "Theses", "Downloads", "Legacy", "Flags"},
              {false, false, true, true, true, true, true, false});
  do {
    absl::StatusOr<thesis::v1::ListChildrenResponse> page = client.ListChildren(request);
    if (!page.ok()) return Fail(page.status());
    for (const thesis::v1::Class& c : page->classes()) {
      if (absl::GetFlag(FLAGS_json)) {
        std::cout << ToJson(c) << "\n";
        continue;
      }
      const thesis::v1::ClassCounts& n = c.counts();
      table.Add({c.code(), c.display_name(), absl::StrCat(c.child_count()),
                 absl::StrCat(n.direct_theses()), absl::StrCat(n.subtree_theses()),
                 absl::StrCat(n.subtree_downloads()), absl::StrCat(n.subtree_legacy_downloads()),
                 ClassFlags(c)});
    }
    if (!page->next_page_token().empty() && page->next_page_token() == request.page_token()) {
      return Fail(absl::InternalError("the server answered the same page token again"));
    }
    request.set_page_token(page->next_page_token());
  } while (all && !request.page_token().empty());
  if (!absl::GetFlag(FLAGS_json)) table.Print(std::cout);
  if (!request.page_token().empty() && !absl::GetFlag(FLAGS_json)) {
    std::cerr << "(more: use --all)\n";
  }
  return 0;
}

void AddTreeRows(const thesis::v1::ClassTreeNode& node, int depth, Table* table) {
  const thesis::v1::Class& c = node.class_();
  const std::string flags = ClassFlags(c);
  const thesis::v1::ClassCounts& n = c.counts();
  table->Add({absl::StrCat(std::string(2 * depth, ' '), c.code(), "  ", c.display_name(),
                           flags.empty() ? "" : absl::StrCat(" (", flags, ")")),
              absl::StrCat(n.subtree_theses()), absl::StrCat(n.direct_theses()),
              absl::StrCat(n.subtree_downloads()), absl::StrCat(n.subtree_legacy_downloads())});
  for (const thesis::v1::ClassTreeNode& child : node.children()) {
    AddTreeRows(child, depth + 1, table);
  }
}

int ClassTree(thesis::client::ThesisClient& client, const std::vector<std::string>& args) {
  if (args.size() > 1) return Usage(kClassesUsage);
  thesis::v1::GetClassTreeRequest request;
  request.set_name(args.empty() ? SchemeArg(absl::GetFlag(FLAGS_scheme)) : ClassArg(args[0]));
  request.set_depth(absl::GetFlag(FLAGS_depth));
  request.set_max_nodes(absl::GetFlag(FLAGS_max_nodes));
  request.set_skip_empty(absl::GetFlag(FLAGS_skip_empty));
  absl::StatusOr<thesis::v1::GetClassTreeResponse> tree = client.GetClassTree(request);
  if (!tree.ok()) return Fail(tree.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(*tree) << "\n";
    return 0;
  }
  Table table({"Class", "Theses", "Direct", "Downloads", "Legacy"},
              {false, true, true, true, true});
  for (const thesis::v1::ClassTreeNode& root : tree->roots()) AddTreeRows(root, 0, &table);
  table.Print(std::cout);
  if (tree->truncated()) {
    std::cerr << "(truncated: deeper levels were cut; raise --max_nodes or lower --depth)\n";
  }
  return 0;
}

std::string ResolutionText(thesis::v1::Resolution r) {
  return r == thesis::v1::RESOLUTION_UNSPECIFIED ? "-" : thesis::v1::Resolution_Name(r);
}

int ClassResolve(thesis::client::ThesisClient& client, const std::vector<std::string>& codes) {
  if (codes.empty()) return Usage(kClassesUsage);
  absl::StatusOr<std::vector<thesis::v1::ResolvedField>> fields =
      client.ResolveCodes(SchemeArg(absl::GetFlag(FLAGS_scheme)), codes);
  if (!fields.ok()) return Fail(fields.status());
  if (absl::GetFlag(FLAGS_json)) {
    thesis::v1::ResolveCodesResponse response;
    for (const thesis::v1::ResolvedField& f : *fields) *response.add_fields() = f;
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  Table table({"Field", "Normalized", "Code", "Resolution", "Class", "Path", "Notes"},
              {false, false, false, false, false, false, false});
  for (const thesis::v1::ResolvedField& f : *fields) {
    if (f.codes_size() == 0) table.Add({f.raw(), "-", "-", "-", "-", "-", "no code"});
    bool first = true;
    for (const thesis::v1::ResolvedCode& c : f.codes()) {
      // Ancestors run from the resolved class up; people read paths down.
      std::vector<std::string> path;
      for (auto it = c.ancestors().rbegin(); it != c.ancestors().rend(); ++it) {
        path.push_back(it->code());
      }
      std::vector<std::string> notes;
      if (c.alternative()) notes.push_back("alternative");
      if (c.discontinued()) notes.push_back("discontinued");
      if (c.range()) notes.push_back("range");
      notes.insert(notes.end(), c.problems().begin(), c.problems().end());
      // The field once, on its first code's row: the rows below are its parts.
      table.Add({first ? f.raw() : "", c.normalized(), c.code(), ResolutionText(c.resolution()),
                 c.resolved().code().empty() ? "-" : RefText(c.resolved()),
                 path.empty() ? "-" : absl::StrJoin(path, " > "), absl::StrJoin(notes, "; ")});
      first = false;
    }
  }
  table.Print(std::cout);
  return 0;
}

int ClassTheses(thesis::client::ThesisClient& client, const std::string& name) {
  thesis::v1::ListThesesInClassRequest request;
  request.set_name(name);
  request.set_order_by(absl::GetFlag(FLAGS_order_by));
  request.set_page_size(absl::GetFlag(FLAGS_page_size));
  Table table({"Thesis", "Downloads", "Year", "Authors", "Institution", "Title"},
              {false, true, true, false, false, false});
  do {
    absl::StatusOr<thesis::v1::ListThesesInClassResponse> page = client.ListThesesInClass(request);
    if (!page.ok()) return Fail(page.status());
    for (const thesis::v1::ThesisInClass& t : page->theses()) {
      if (absl::GetFlag(FLAGS_json)) {
        std::cout << ToJson(t) << "\n";
        continue;
      }
      const Thesis& th = t.thesis();
      table.Add({th.name(), absl::StrCat(t.downloads()), absl::StrCat(th.degree_year()),
                 absl::StrJoin(th.authors(), "; "), th.institution(),
                 th.title_zh().empty() ? th.title_en() : th.title_zh()});
    }
    if (!page->next_page_token().empty() && page->next_page_token() == request.page_token()) {
      return Fail(absl::InternalError("the server answered the same page token again"));
    }
    request.set_page_token(page->next_page_token());
  } while (absl::GetFlag(FLAGS_all) && !request.page_token().empty());
  if (!absl::GetFlag(FLAGS_json)) table.Print(std::cout);
  if (!request.page_token().empty() && !absl::GetFlag(FLAGS_json)) {
    std::cerr << "(more: use --all)\n";
  }
  return 0;
}

int ClassSuggest(thesis::client::ThesisClient& client) {
  thesis::v1::SuggestClassesRequest request;
  request.set_scheme(SchemeArg(absl::GetFlag(FLAGS_scheme)));
  request.set_title(absl::GetFlag(FLAGS_title));
  request.set_abstract(absl::GetFlag(FLAGS_abstract));
  for (const std::string& k : absl::GetFlag(FLAGS_keywords)) {
    if (!absl::StripAsciiWhitespace(k).empty()) {
      request.add_keywords(std::string(absl::StripAsciiWhitespace(k)));
    }
  }
  if (request.title().empty() && request.abstract().empty() && request.keywords().empty()) {
    return Usage("classes suggest: give --title, --abstract or --keywords");
  }
  request.set_top_k(absl::GetFlag(FLAGS_top_k));
  request.set_level(absl::GetFlag(FLAGS_level));
  absl::StatusOr<thesis::v1::SuggestClassesResponse> answer = client.SuggestClasses(request);
  if (!answer.ok()) return Fail(answer.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(*answer) << "\n";
    return 0;
  }
  Table table({"Rank", "Class", "Name", "Score"}, {true, false, false, true});
  int rank = 0;
  for (const thesis::v1::ClassSuggestion& s : answer->suggestions()) {
    table.Add({absl::StrCat(++rank), s.class_().code(), s.class_().display_name(),
               absl::StrFormat("%.3f", s.score())});
  }
  table.Print(std::cout);
  const std::string when = TimeText(answer->model_time());
  std::cout << "\nmodel: trained on " << answer->training_theses() << " classified thes"
            << (answer->training_theses() == 1 ? "is" : "es")
            << (when.empty() ? "" : absl::StrCat(", built ", when)) << "\n";
  return 0;
}

int ClassRebuild(thesis::client::ThesisClient& client) {
  const std::string scheme = SchemeArg(absl::GetFlag(FLAGS_scheme));
  absl::StatusOr<thesis::v1::RebuildSuggestionModelResponse> built =
      client.RebuildSuggestionModel(scheme, absl::GetFlag(FLAGS_level));
  if (!built.ok()) return Fail(built.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(*built) << "\n";
    return 0;
  }
  const std::string when = TimeText(built->model_time());
  std::cout << "rebuilt the suggestion model of " << scheme << ": " << built->training_theses()
            << " training thes" << (built->training_theses() == 1 ? "is" : "es") << ", "
            << built->labels() << " label(s)" << (when.empty() ? "" : absl::StrCat(", ", when))
            << "\n";
  return 0;
}

// `classes import`: every file read with the class-table reader, all rows
// sent in one stream (so that a categories file and a disciplines file, or
// several parts of a table, load as one table), every problem named by the
// file and line it came from.
int ClassImport(thesis::client::ThesisClient& client, const std::vector<std::string>& files) {
  if (files.empty())
    return Usage(absl::StrCat("classes import: name at least one file\n", kClassesUsage));
  const std::string scheme_flag = absl::GetFlag(FLAGS_scheme);
  const std::string version = absl::GetFlag(FLAGS_table_version);
  // No default scheme here: loading a table into the wrong scheme would turn
  // every row into an invalid code.
  if (scheme_flag.empty() || version.empty()) {
    return Usage("classes import: --scheme clc|discipline and --version V are required");
  }
  std::vector<thesis::v1::ClassRow> rows;
  int64_t malformed = 0;
  for (const std::string& file : files) {
    absl::StatusOr<std::string> bytes = ReadWholeFile(file);
    if (!bytes.ok()) {
      Note(absl::StrCat(file, ": error: ", bytes.status().message()));
      ++malformed;
      continue;
    }
    thesis::formats::ClassTable table = thesis::formats::ParseClassTable(*bytes, file);
    for (const thesis::formats::ClassTableProblem& p : table.problems) {
      Note(absl::StrCat(p.origin, ": error: ", p.reason));
    }
    malformed += static_cast<int64_t>(table.problems.size());
    if (!absl::GetFlag(FLAGS_json)) {
      Note(absl::StrCat(file, ": ", thesis::formats::ClassTableFormatName(table.format), ", ",
                        table.rows.size(), " class row(s)"));
    }
    rows.insert(rows.end(), std::make_move_iterator(table.rows.begin()),
                std::make_move_iterator(table.rows.end()));
  }
  thesis::v1::ImportClassesResponse result;
  if (!rows.empty()) {
    Progress progress("imported");
    const double total = static_cast<double>(rows.size());
    absl::StatusOr<thesis::v1::ImportClassesResponse> imported = client.ImportClasses(
        SchemeArg(scheme_flag), version, rows,
        [&](int64_t sent) { progress.Update(sent, static_cast<double>(sent) / total); });
    progress.Update(static_cast<int64_t>(rows.size()), 1.0, /*final=*/true);
    if (!imported.ok()) return Fail(imported.status());
    result = std::move(*imported);
  } else {
    // Nothing to send: an empty import would only re-place every thesis.
    Note("classes import: no rows to import");
  }
  for (const thesis::v1::ClassImportProblem& p : result.problems()) {
    // The server names the row by its index in the stream; the origin it
    // echoes is the one sent, but the index is what it must answer.
    std::string origin = p.origin();
    if (origin.empty() && p.index() >= 0 && static_cast<size_t>(p.index()) < rows.size()) {
      origin = rows[static_cast<size_t>(p.index())].origin();
    }
    if (origin.empty()) origin = absl::StrCat("row ", p.index() + 1);
    std::cerr << origin << ": " << (p.loaded() ? "warning: " : "rejected: ") << p.code()
              << (p.code().empty() ? "" : ": ") << p.reason() << "\n";
  }
  if (result.failed() > result.problems_size()) {
    std::cerr << "(" << result.failed() - result.problems_size()
              << " more rejected row(s) not listed by the server)\n";
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << absl::StrFormat(
        "{\"created\":%d,\"updated\":%d,\"unchanged\":%d,\"failed\":%d,\"malformed\":%d,"
        "\"problems\":%d,\"class_count\":%d,\"theses_placed\":%d}\n",
        result.created(), result.updated(), result.unchanged(), result.failed(), malformed,
        result.problems_size(), result.class_count(), result.theses_placed());
  } else {
    std::cout << absl::StrFormat(
        "created %d, updated %d, unchanged %d, failed %d; %d malformed line(s); %d problem(s) "
        "reported; %s now has %d classes, %d theses placed\n",
        result.created(), result.updated(), result.unchanged(), result.failed(), malformed,
        result.problems_size(), SchemeArg(scheme_flag), result.class_count(),
        result.theses_placed());
  }
  return result.failed() > 0 || malformed > 0 ? kExitPartial : 0;
}

int Classes(thesis::client::ThesisClient& client, const std::vector<std::string>& rest) {
  if (rest.empty()) return Usage(kClassesUsage);
  const std::string& sub = rest[0];
  const std::vector<std::string> args(rest.begin() + 1, rest.end());
  auto one = [&](int (*run)(thesis::client::ThesisClient&, const std::string&)) {
    if (args.size() != 1) return Usage(kClassesUsage);
    return run(client, ClassArg(args[0]));
  };
  auto none = [&](int (*run)(thesis::client::ThesisClient&)) {
    if (!args.empty()) return Usage(kClassesUsage);
    return run(client);
  };
  if (sub == "schemes") return none(ClassSchemes);
  if (sub == "get") return one(ClassGet);
  if (sub == "children") return ClassChildren(client, args);
  if (sub == "tree") return ClassTree(client, args);
  if (sub == "resolve") return ClassResolve(client, args);
  if (sub == "theses") return one(ClassTheses);
  if (sub == "suggest") return none(ClassSuggest);
  if (sub == "rebuild") return none(ClassRebuild);
  if (sub == "import") return ClassImport(client, args);
  return Usage(absl::StrCat("unknown classes command ", sub, "\n", kClassesUsage));
}

// ---- search: full-text search (ThesisService.SearchTheses) ----

constexpr char kSearchUsage[] =
    "usage: thesisctl search QUERY [--filter F] [--order_by relevance|degree_year|downloads "
    "[desc]] [--page_size N] [--page_token T] [--facet_size N] [--skip_facets] [--json]\n"
    "  QUERY: words (all must match), \"a phrase\", -excluded, a OR b, title: author: advisor: "
    "keyword: institution: (on the next word or phrase), class:TP3";

// A snippet as the server sends it (HTML-escaped, matches in <em>...</em>)
// as text for a terminal: matches in 【】, or bold when `bold`.
std::string SnippetText(absl::string_view html, bool bold) {
  static constexpr std::pair<absl::string_view, absl::string_view> kEntities[] = {
      {"&lt;", "<"},    {"&gt;", ">"},  {"&amp;", "&"},
      {"&quot;", "\""}, {"&#39;", "'"}, {"&apos;", "'"}};
  std::string out;
  while (!html.empty()) {
    if (absl::ConsumePrefix(&html, "<em>")) {
      out += bold ? "\033[1m" : "【";
      continue;
    }
    if (absl::ConsumePrefix(&html, "</em>")) {
      out += bold ? "\033[0m" : "】";
      continue;
    }
    if (html.front() == '&') {
      bool decoded = false;
      for (const auto& [entity, text] : kEntities) {
        if (absl::ConsumePrefix(&html, entity)) {
          absl::StrAppend(&out, text);
          decoded = true;
          break;
        }
      }
      if (decoded) continue;
    }
    out.push_back(html.front());
    html.remove_prefix(1);
  }
  return OneLine(out);
}

// FACET_FIELD_DEGREE_YEAR -> degree_year.
std::string FacetFieldText(thesis::v1::FacetField field) {
  std::string name = thesis::v1::FacetField_Name(field);
  absl::string_view text = name;
  absl::ConsumePrefix(&text, "FACET_FIELD_");
  return absl::AsciiStrToLower(text);
}

// SNIPPET_FIELD_ABSTRACT -> abstract.
std::string SnippetFieldText(thesis::v1::SnippetField field) {
  std::string name = thesis::v1::SnippetField_Name(field);
  absl::string_view text = name;
  absl::ConsumePrefix(&text, "SNIPPET_FIELD_");
  return absl::AsciiStrToLower(text);
}

// `degree_level: 博士 DOCTOR (3), 硕士 MASTER (2)`: the label where it is
// not the value, `…` and the number of values when the facet was cut.
std::string FacetLine(const thesis::v1::Facet& facet) {
  std::vector<std::string> values;
  for (const thesis::v1::FacetValue& v : facet.values()) {
    const bool labelled = !v.label().empty() && v.label() != v.value();
    values.push_back(absl::StrCat(labelled ? absl::StrCat(v.label(), " ") : "",
                                  v.value().empty() ? "(none)" : v.value(), " (", v.count(), ")"));
  }
  if (facet.distinct_values() > facet.values_size()) {
    values.push_back(absl::StrCat("… (", facet.distinct_values(), " values)"));
  }
  return OneLine(absl::StrCat(FacetFieldText(facet.field()), ": ", absl::StrJoin(values, ", ")));
}

int Search(thesis::client::ThesisClient& client, const std::vector<std::string>& words) {
  const std::string query = absl::StrJoin(words, " ");
  if (absl::StripAsciiWhitespace(query).empty()) return Usage(kSearchUsage);
  thesis::v1::SearchThesesRequest request;
  request.set_query(query);
  request.set_filter(absl::GetFlag(FLAGS_filter));
  request.set_order_by(absl::GetFlag(FLAGS_order_by));
  request.set_page_size(absl::GetFlag(FLAGS_page_size));
  request.set_page_token(absl::GetFlag(FLAGS_page_token));
  request.set_facet_size(absl::GetFlag(FLAGS_facet_size));
  request.set_skip_facets(absl::GetFlag(FLAGS_skip_facets));
  absl::StatusOr<thesis::v1::SearchThesesResponse> found = client.SearchTheses(request);
  if (!found.ok()) return Fail(found.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ToJson(*found) << "\n";
    return 0;
  }
  const bool downloads = absl::StartsWith(
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(request.order_by())), "downloads");
  std::vector<std::string> header = {"Rank", "Thesis", "Year", "Institution", "Title", "Score"};
  std::vector<bool> numeric = {true, false, true, false, false, true};
  if (downloads) {
    header.push_back("Downloads");
    numeric.push_back(true);
  }
  Table table(std::move(header), std::move(numeric));
  int rank = 0;
  for (const thesis::v1::SearchHit& hit : found->hits()) {
    const Thesis& t = hit.thesis();
    std::vector<std::string> row = {absl::StrCat(++rank),
                                    t.name(),
                                    absl::StrCat(t.degree_year()),
                                    t.institution(),
                                    t.title_zh().empty() ? t.title_en() : t.title_zh(),
                                    absl::StrCat(hit.score())};
    if (downloads) row.push_back(absl::StrCat(hit.downloads()));
    table.Add(std::move(row));
  }
  if (found->hits_size() > 0) {
    // The table's rows, each hit followed by its snippet, indented to the
    // Thesis column.
    std::ostringstream rendered;
    table.Print(rendered);
    const std::vector<std::string> lines = absl::StrSplit(rendered.str(), '\n');
    const std::string indent(DisplayWidth(absl::StrCat(rank)) + 2, ' ');
    const bool bold = isatty(STDOUT_FILENO);
    for (size_t i = 0; i < lines.size() && i <= static_cast<size_t>(found->hits_size()); ++i) {
      std::cout << lines[i] << "\n";
      if (i == 0) continue;
      const thesis::v1::SearchHit& hit = found->hits(static_cast<int>(i - 1));
      if (hit.snippet().empty()) continue;
      std::cout << indent << SnippetFieldText(hit.snippet_field()) << ": "
                << SnippetText(hit.snippet(), bold) << "\n";
    }
    std::cout << "\n";
  }
  if (request.skip_facets()) {
    std::cout << found->hits_size() << " shown (no total with --skip_facets)\n";
  } else {
    std::cout << found->total_size() << (found->total_size() == 1 ? " match" : " matches") << "\n";
    for (const thesis::v1::Facet& facet : found->facets()) {
      if (facet.values_size() > 0) std::cout << FacetLine(facet) << "\n";
    }
  }
  if (!found->next_page_token().empty()) {
    std::cout << "next page: --page_token=" << found->next_page_token()
              << " (with the same query, --filter and --order_by)\n";
  }
  return 0;
}

// `thesisctl search` takes a query whose words may start with `-` (the
// exclusions -survey, -政府), which absl would take for flags. For the
// search command, an argument with a single leading `-` that names no flag
// is kept as a word of the query: the flags are put first and every
// positional argument, in its order, after a `--`.
void ProtectSearchExclusions(std::vector<std::string>* argv) {
  std::vector<std::string> flags, positional;
  size_t i = 1;
  for (; i < argv->size(); ++i) {
    const std::string& arg = (*argv)[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    absl::string_view name = arg;
    const bool single = !absl::StartsWith(name, "--");
    name.remove_prefix(single ? 1 : 2);
    const size_t eq = name.find('=');
    const bool has_value = eq != absl::string_view::npos;
    name = name.substr(0, eq);
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && absl::ConsumePrefix(&name, "no")) {
      // --noskip_facets: a boolean flag, negated.
      flag = absl::FindCommandLineFlag(name);
      if (flag != nullptr && !flag->IsOfType<bool>()) flag = nullptr;
      if (flag != nullptr) {
        flags.push_back(arg);
        continue;
      }
    }
    if (flag == nullptr && single && !positional.empty() && positional[0] == "search") {
      positional.push_back(arg);
      continue;
    }
    flags.push_back(arg);
    if (flag != nullptr && !has_value && !flag->IsOfType<bool>() && i + 1 < argv->size()) {
      flags.push_back((*argv)[++i]);
    }
  }
  positional.insert(positional.end(), argv->begin() + static_cast<std::ptrdiff_t>(i), argv->end());
  if (positional.empty() || positional[0] != "search") return;
  std::vector<std::string> out = {(*argv)[0]};
  out.insert(out.end(), flags.begin(), flags.end());
  out.push_back("--");
  out.insert(out.end(), positional.begin(), positional.end());
  *argv = std::move(out);
}

// absl owns `--version` (it prints the build's version and exits), but
// `classes import` takes the table's version under that name: for the
// classes command, `--version V` and `--version=V` are rewritten to
// `--table_version=V` before absl sees them.
void RewriteVersionFlag(std::vector<std::string>* argv) {
  if (std::find(argv->begin(), argv->end(), "classes") == argv->end()) return;
  for (size_t i = 1; i < argv->size(); ++i) {
    absl::string_view arg = (*argv)[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) continue;
    if (!absl::ConsumePrefix(&arg, "version")) continue;
    if (absl::ConsumePrefix(&arg, "=")) {
      (*argv)[i] = absl::StrCat("--table_version=", arg);
    } else if (arg.empty() && i + 1 < argv->size()) {
      (*argv)[i] = absl::StrCat("--table_version=", (*argv)[i + 1]);
      argv->erase(argv->begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
  }
}

// absl keeps only the last value of a repeated flag; `--metric` may be given
// more than once, so its values are collected from argv first.
std::vector<std::string> RepeatedFlagValues(int argc, char** argv, absl::string_view name) {
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) continue;
    if (!absl::ConsumePrefix(&arg, name)) continue;
    if (arg.empty() && i + 1 < argc) {
      values.push_back(argv[++i]);
    } else if (absl::ConsumePrefix(&arg, "=")) {
      values.push_back(std::string(arg));
    }
  }
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "thesisctl [--server host:port] [--json] "
      "import|export|get|list|search|create|update|delete|health|downloads|classes ...\n"
      "  search QUERY [--filter F] [--order_by O] [--page_size N] [--page_token T] "
      "[--facet_size N] [--skip_facets] (thesisctl search: usage)\n"
      "  downloads record|stats|top|report ... (thesisctl downloads: usage)\n"
      "  classes schemes|get|children|tree|resolve|theses|suggest|rebuild|import ... "
      "(thesisctl classes: usage)");
  std::vector<std::string> argv_strings(argv, argv + argc);
  RewriteVersionFlag(&argv_strings);
  ProtectSearchExclusions(&argv_strings);
  std::vector<char*> argv_rewritten;
  for (std::string& a : argv_strings) argv_rewritten.push_back(a.data());
  argv_rewritten.push_back(nullptr);
  argc = static_cast<int>(argv_strings.size());
  argv = argv_rewritten.data();
  const std::vector<std::string> metric_values = RepeatedFlagValues(argc, argv, "metric");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (metric_values.size() > 1) {
    std::vector<std::string> metrics;
    for (const std::string& value : metric_values) {
      for (absl::string_view m : absl::StrSplit(value, ',', absl::SkipEmpty())) {
        metrics.emplace_back(m);
      }
    }
    absl::SetFlag(&FLAGS_metric, metrics);
  }
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
    if (absl::GetFlag(FLAGS_client_cert).empty() != absl::GetFlag(FLAGS_client_key).empty()) {
      return Usage("--client_cert and --client_key go together");
    }
    if (!absl::GetFlag(FLAGS_client_cert).empty()) {
      absl::StatusOr<std::string> cert = ReadWholeFile(absl::GetFlag(FLAGS_client_cert));
      if (!cert.ok()) return Usage(std::string(cert.status().message()));
      absl::StatusOr<std::string> key = ReadWholeFile(absl::GetFlag(FLAGS_client_key));
      if (!key.ok()) return Usage(std::string(key.status().message()));
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    options.credentials = grpc::SslCredentials(ssl);
  }
  auto channel = thesis::client::CreateChannel(options);
  thesis::client::ThesisClient client(channel, options);

  if (command == "import") return Import(client, rest);
  if (command == "export") return Export(client);
  if (command == "create") return Create(client);
  if (command == "list") return List(client);
  if (command == "search") return Search(client, rest);
  if (command == "health") return Health(channel);
  if (command == "downloads") return Downloads(client, rest);
  if (command == "classes") return Classes(client, rest);
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
