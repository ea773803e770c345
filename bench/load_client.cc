// thesis-load: closed-loop load generator for the thesis service.
//
//   thesis-load --target 127.0.0.1:50051 --rpc get --names_file names.txt
//               --concurrency 64 --channels 4 --warmup_s 5 --duration_s 20 [--json]
//
// Exactly --concurrency calls are in flight at all times: every completion
// immediately issues the next call on the same slot (gRPC callback API, so no
// thread waits for a reply). Slots are spread round robin over --channels
// separate channels, each its own TCP connection. Calls that complete during
// the warm-up are not counted; after the measurement window no new calls
// start and the ones in flight are drained.
//
//   --rpc get    thesis.v1.ThesisService/GetThesis on names from --names_file
//   --rpc class  thesis.v1.ClassificationService/GetClass (with its rolled-up
//                counts) on class names from --names_file
//   --rpc search thesis.v1.ThesisService/SearchTheses, page of 20 with facets,
//                on lines `QUERY` or `QUERY<TAB>FILTER` of --names_file
//   --rpc empty  grpc.health.v1.Health/Check("liveness"): the same server and
//                the same gRPC path, but no database
//   --rpc record thesis.v1.DownloadService/RecordDownload: one event per call
//                on the hot thesis --thesis (see "Download events" below)
//   --rpc batch  DownloadService/BatchRecordDownloads: --batch_size events per
//                call, each on a random name of --theses_file (or on --thesis)
//   --rpc stats  DownloadService/GetDownloadStats of --thesis, today (UTC),
//                DAILY: the read a dashboard makes while the thesis is written
//
// For get and empty, responses are by default received as bytes and only one
// in 100 per slot is parsed and checked (the right record, SERVING), so that
// the load client spends as little as it can of the CPUs it shares with the
// server; with --parse every response is parsed into its message by the
// generated stub, as a real client would. The download modes build a new
// request for every call (the time, the request id) and always parse and
// check every (small) response: record and batch count the outcomes, and any
// outcome other than COUNTED or DOUBLE_CLICK is a bad response; stats wants
// the thesis asked for and a series of exactly today.
//
// Download events: kind REQUEST with probability --request_fraction, else
// INVESTIGATION; time now; HTTP status 200; a browser identity (user id,
// user and session cookies, an IP, one of a few browser User-Agents) drawn
// uniformly from --users users, so that an event is a DOUBLE_CLICK when the
// same user did the same thing to the same thesis less than 30 s before
// (with one hot thesis at rate R, about 1 - exp(-30 R f / users) of the
// events of a kind of share f); a request id unique to this process and call.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "thesis/v1/classification.pb.h"
#include "thesis/v1/download.grpc.pb.h"
#include "thesis/v1/thesis.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Server address, host:port.");
ABSL_FLAG(std::string, rpc, "get",
          "get (GetThesis), empty (Health/Check \"liveness\"), record (RecordDownload), batch "
          "(BatchRecordDownloads) or stats (GetDownloadStats).");
ABSL_FLAG(int, concurrency, 64, "Calls kept in flight.");
ABSL_FLAG(int, channels, 4, "Separate gRPC channels (TCP connections) to spread calls over.");
ABSL_FLAG(double, duration_s, 20, "Measurement window, seconds.");
ABSL_FLAG(double, warmup_s, 5, "Warm-up before the window, seconds (not counted).");
ABSL_FLAG(std::string, names_file, "", "get: resource names (theses/x), one a line.");
ABSL_FLAG(std::string, order, "random", "get: pick names in random or rr (round-robin) order.");
ABSL_FLAG(std::string, thesis, "",
          "record, stats: the hot thesis (theses/x); batch: the thesis of every event when "
          "--theses_file is not given.");
ABSL_FLAG(std::string, theses_file, "",
          "batch: thesis names (theses/x), one a line; each event picks one at random.");
ABSL_FLAG(int, batch_size, 5000, "batch: events per BatchRecordDownloads call (1 to 10,000).");
ABSL_FLAG(int, users, 100000, "record, batch: distinct users the events come from.");
ABSL_FLAG(double, request_fraction, 0.5,
          "record, batch: share of REQUEST (full text) events; the rest are INVESTIGATION.");
ABSL_FLAG(int, deadline_ms, 0, "Deadline of each call, milliseconds; 0: none.");
ABSL_FLAG(bool, parse, false,
          "Parse every response (generated stubs); default: bytes, one in 100 checked.");
ABSL_FLAG(bool, json, false, "Print the result as one JSON object.");

namespace {

using Clock = std::chrono::steady_clock;

// Log-linear histogram of nanoseconds (HdrHistogram-like): values below 2^7
// exactly, above that 64 sub-buckets per power of two, so a bucket is at
// most 1/64 (1.6 %) wide relative to its value.
class Histogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits) * kSub + kSub;

  Histogram() : counts_(kBuckets, 0) {}

  void Record(int64_t ns) {
    if (ns < 0) ns = 0;
    ++counts_[IndexOf(static_cast<uint64_t>(ns))];
    ++total_;
    sum_ += static_cast<double>(ns);
    max_ = std::max(max_, ns);
  }

  void Merge(const Histogram& other) {
    for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
  }

  uint64_t total() const { return total_; }
  int64_t max() const { return max_; }
  double mean() const { return total_ == 0 ? 0 : sum_ / static_cast<double>(total_); }

  // The smallest recorded value v such that at least q of the values are <= v
  // (reported as the upper edge of its bucket, capped at the maximum).
  int64_t Quantile(double q) const {
    if (total_ == 0) return 0;
    const uint64_t rank =
        std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_))));
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min<int64_t>(UpperEdge(i), max_);
    }
    return max_;
  }

 private:
  static int IndexOf(uint64_t v) {
    if (v < static_cast<uint64_t>(2 * kSub)) return static_cast<int>(v);
    const int msb = 63 - __builtin_clzll(v);  // >= kSubBits + 1
    const int shift = msb - kSubBits;
    const int sub = static_cast<int>((v >> shift) & (kSub - 1));
    return (shift + 1) * kSub + sub;
  }
  static int64_t UpperEdge(int index) {
    if (index < 2 * kSub) return index;
    const int shift = index / kSub - 1;
    const int64_t sub = index % kSub;
    return static_cast<int64_t>(((kSub + sub + 1) << shift) - 1);
  }

  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  double sum_ = 0;
  int64_t max_ = 0;
};

constexpr int kCodes = 17;  // grpc::StatusCode 0..16

const char* CodeName(int code) {
  static const char* const kNames[kCodes] = {"OK",
                                             "CANCELLED",
                                             "UNKNOWN",
                                             "INVALID_ARGUMENT",
                                             "DEADLINE_EXCEEDED",
                                             "NOT_FOUND",
                                             "ALREADY_EXISTS",
                                             "PERMISSION_DENIED",
                                             "RESOURCE_EXHAUSTED",
                                             "FAILED_PRECONDITION",
                                             "ABORTED",
                                             "OUT_OF_RANGE",
                                             "UNIMPLEMENTED",
                                             "INTERNAL",
                                             "UNAVAILABLE",
                                             "DATA_LOSS",
                                             "UNAUTHENTICATED"};
  return code >= 0 && code < kCodes ? kNames[code] : "?";
}

enum class Rpc { kGet, kClass, kSearch, kEmpty, kRecord, kBatch, kStats };

bool IsDownload(Rpc rpc) { return rpc == Rpc::kRecord || rpc == Rpc::kBatch || rpc == Rpc::kStats; }

constexpr int kOutcomes = 7;  // thesis.v1.DownloadOutcome 0..6

const char* OutcomeName(int outcome) {
  return outcome >= 0 && outcome < kOutcomes
             ? thesis::v1::DownloadOutcome_Name(static_cast<thesis::v1::DownloadOutcome>(outcome))
                   .c_str()
             : "?";
}

// A few ordinary browsers (no robot pattern matches them).
const char* const kUserAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
};

constexpr uint64_t kCheckEvery = 100;  // without --parse

// Shared, read-only while running (except the atomics).
struct Run {
  Rpc rpc;
  bool parse = false;
  // --parse: generated stubs.
  std::vector<std::unique_ptr<thesis::v1::ThesisService::Stub>> thesis_stubs;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health_stubs;
  // record, batch, stats: generated stubs, a new request per call.
  std::vector<std::unique_ptr<thesis::v1::DownloadService::Stub>> download_stubs;
  std::string hot_thesis;           // record, stats; batch without theses
  std::vector<std::string> theses;  // batch
  int batch_size = 1;
  int users = 1;
  double request_fraction = 0.5;
  std::string request_prefix;  // unique to this process
  // Otherwise: a generic stub, requests serialized in advance (one per name
  // for get, a single one for empty).
  std::vector<std::unique_ptr<grpc::GenericStub>> generic_stubs;
  std::string method;
  std::vector<std::string> requests;
  std::vector<std::string> names;
  bool random_order = true;
  std::atomic<uint64_t> next_name{0};
  int deadline_ms = 0;
  Clock::time_point window_start;
  Clock::time_point window_end;
  std::atomic<bool> stop{false};

  std::mutex mu;
  std::condition_variable drained;
  int active = 0;  // slots with a call in flight
};

// One in-flight call at a time. Its completion issues the next, so the
// slot's statistics are only ever touched by one thread at a time.
class Slot {
 public:
  Slot(Run* run, int index, int channel)
      : run_(run),
        index_(index),
        channel_(channel),
        rng_(0x5eed + static_cast<uint64_t>(index) + (static_cast<uint64_t>(getpid()) << 20)) {}

  void Issue() {
    // The finished call's context is released only at the next completion,
    // well after its own callback has returned.
    previous_context_ = std::move(context_);
    context_ = std::make_unique<grpc::ClientContext>();
    if (run_->deadline_ms > 0) {
      context_->set_deadline(std::chrono::system_clock::now() +
                             std::chrono::milliseconds(run_->deadline_ms));
    }
    start_ = Clock::now();
    if (IsDownload(run_->rpc)) {
      IssueDownload();
    } else if (!run_->parse) {
      request_index_ = run_->rpc == Rpc::kEmpty ? 0 : PickIndex();
      grpc::Slice slice(run_->requests[request_index_]);
      raw_request_ = grpc::ByteBuffer(&slice, 1);
      raw_response_.Clear();
      run_->generic_stubs[channel_]->UnaryCall(context_.get(), run_->method, grpc::StubOptions(),
                                               &raw_request_, &raw_response_,
                                               [this](grpc::Status status) { Done(status); });
    } else if (run_->rpc == Rpc::kGet) {
      get_request_.set_name(run_->names[PickIndex()]);
      get_response_.Clear();
      run_->thesis_stubs[channel_]->async()->GetThesis(
          context_.get(), &get_request_, &get_response_,
          [this](grpc::Status status) { Done(status); });
    } else {
      health_request_.set_service("liveness");
      health_response_.Clear();
      run_->health_stubs[channel_]->async()->Check(context_.get(), &health_request_,
                                                   &health_response_,
                                                   [this](grpc::Status status) { Done(status); });
    }
  }

  const Histogram& histogram() const { return histogram_; }
  const std::array<uint64_t, kCodes>& codes() const { return codes_; }
  const std::array<uint64_t, kOutcomes>& outcomes() const { return outcomes_; }
  uint64_t bad_responses() const { return bad_responses_; }
  const std::string& first_error() const { return first_error_; }
  uint64_t response_bytes() const { return response_bytes_; }

 private:
  uint64_t PickIndex() {
    const uint64_t n = run_->names.size();
    return run_->random_order ? std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_)
                              : run_->next_name.fetch_add(1, std::memory_order_relaxed) % n;
  }

  void IssueDownload() {
    const absl::Time now = absl::Now();
    if (run_->rpc == Rpc::kStats) {
      const std::string today = absl::FormatTime("%Y-%m-%d", now, absl::UTCTimeZone());
      stats_request_.set_thesis(run_->hot_thesis);
      stats_request_.set_start_date(today);
      stats_request_.set_end_date(today);
      stats_request_.set_granularity(thesis::v1::DAILY);
      stats_response_.Clear();
      run_->download_stubs[channel_]->async()->GetDownloadStats(
          context_.get(), &stats_request_, &stats_response_,
          [this](grpc::Status status) { Done(status); });
      return;
    }
    const int64_t seconds = absl::ToUnixSeconds(now);
    const int32_t nanos =
        static_cast<int32_t>((now - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1));
    if (run_->rpc == Rpc::kRecord) {
      FillEvent(record_request_.mutable_event(), run_->hot_thesis, seconds, nanos);
      record_response_.Clear();
      run_->download_stubs[channel_]->async()->RecordDownload(
          context_.get(), &record_request_, &record_response_,
          [this](grpc::Status status) { Done(status); });
      return;
    }
    // Clear() keeps the event objects for reuse.
    batch_request_.clear_events();
    for (int i = 0; i < run_->batch_size; ++i) {
      const std::string& thesis = run_->theses.empty()
                                      ? run_->hot_thesis
                                      : run_->theses[std::uniform_int_distribution<size_t>(
                                            0, run_->theses.size() - 1)(rng_)];
      FillEvent(batch_request_.add_events(), thesis, seconds, nanos);
    }
    batch_response_.Clear();
    run_->download_stubs[channel_]->async()->BatchRecordDownloads(
        context_.get(), &batch_request_, &batch_response_,
        [this](grpc::Status status) { Done(status); });
  }

  // One event of `thesis` at the given time, from a random user.
  void FillEvent(thesis::v1::DownloadEvent* event, const std::string& thesis, int64_t seconds,
                 int32_t nanos) {
    event->set_thesis(thesis);
    event->mutable_time()->set_seconds(seconds);
    event->mutable_time()->set_nanos(nanos);
    event->set_kind(std::uniform_real_distribution<double>(0, 1)(rng_) < run_->request_fraction
                        ? thesis::v1::REQUEST
                        : thesis::v1::INVESTIGATION);
    event->set_http_status(200);
    const uint32_t user =
        std::uniform_int_distribution<uint32_t>(0, static_cast<uint32_t>(run_->users - 1))(rng_);
    thesis::v1::ClientIdentity* client = event->mutable_client();
    client->set_user_id(absl::StrCat("bench-user-", user));
    client->set_user_cookie(absl::StrFormat("uc-%08x", user * 2654435761u));
    client->set_session_cookie(absl::StrFormat("sess-%08x", user * 40503u + 17u));
    client->set_ip(
        absl::StrCat("10.", (user >> 16) & 255, ".", (user >> 8) & 255, ".", user & 255));
    client->set_user_agent(kUserAgents[user % (sizeof(kUserAgents) / sizeof(kUserAgents[0]))]);
    event->set_request_id(absl::StrCat(run_->request_prefix, "-", index_, "-", ++sequence_));
  }

  // Counts an outcome; only COUNTED and DOUBLE_CLICK are right for the
  // events made here.
  bool CountOutcome(const thesis::v1::RecordDownloadResponse& r) {
    const int outcome = static_cast<int>(r.outcome());
    ++outcomes_[outcome >= 0 && outcome < kOutcomes ? outcome : 0];
    return r.outcome() == thesis::v1::COUNTED || r.outcome() == thesis::v1::DOUBLE_CLICK;
  }

  bool GoodDownload() {
    switch (run_->rpc) {
      case Rpc::kRecord:
        response_bytes_ += record_response_.ByteSizeLong();
        return CountOutcome(record_response_);
      case Rpc::kBatch: {
        response_bytes_ += batch_response_.ByteSizeLong();
        bool good = batch_response_.results_size() == batch_request_.events_size();
        for (const thesis::v1::RecordDownloadResponse& r : batch_response_.results()) {
          good = CountOutcome(r) && good;
        }
        return good;
      }
      default:
        response_bytes_ += stats_response_.ByteSizeLong();
        return stats_response_.thesis() == stats_request_.thesis() &&
               stats_response_.series_size() == 1 &&
               stats_response_.series(0).period() == stats_request_.start_date();
    }
  }

  // Whether the response is the one asked for.
  bool Good() {
    if (IsDownload(run_->rpc)) return GoodDownload();
    if (run_->parse) {
      response_bytes_ +=
          run_->rpc == Rpc::kGet ? get_response_.ByteSizeLong() : health_response_.ByteSizeLong();
      return run_->rpc == Rpc::kGet
                 ? get_response_.name() == get_request_.name()
                 : health_response_.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    }
    response_bytes_ += raw_response_.Length();
    if (++received_ % kCheckEvery != 1) return true;
    if (run_->rpc == Rpc::kSearch) {
      thesis::v1::SearchThesesResponse r;
      return grpc::SerializationTraits<thesis::v1::SearchThesesResponse>::Deserialize(
                 &raw_response_, &r)
                 .ok() &&
             r.facets_size() == 5;
    }
    if (run_->rpc == Rpc::kClass) {
      thesis::v1::Class c;
      return grpc::SerializationTraits<thesis::v1::Class>::Deserialize(&raw_response_, &c).ok() &&
             c.name() == run_->names[request_index_] && c.has_counts();
    }
    if (run_->rpc == Rpc::kGet) {
      thesis::v1::Thesis thesis;
      return grpc::SerializationTraits<thesis::v1::Thesis>::Deserialize(&raw_response_, &thesis)
                 .ok() &&
             thesis.name() == run_->names[request_index_];
    }
    grpc::health::v1::HealthCheckResponse health;
    return grpc::SerializationTraits<grpc::health::v1::HealthCheckResponse>::Deserialize(
               &raw_response_, &health)
               .ok() &&
           health.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  }

  void Done(const grpc::Status& status) {
    const Clock::time_point end = Clock::now();
    // Throughput counts the calls that complete inside the window.
    if (end >= run_->window_start && end < run_->window_end) {
      const int code = static_cast<int>(status.error_code());
      ++codes_[code >= 0 && code < kCodes ? code : static_cast<int>(grpc::StatusCode::UNKNOWN)];
      if (status.ok()) {
        histogram_.Record(
            std::chrono::duration_cast<std::chrono::nanoseconds>(end - start_).count());
        if (!Good()) ++bad_responses_;
      } else if (first_error_.empty()) {
        first_error_ = absl::StrCat(CodeName(code), ": ", status.error_message());
      }
    }
    if (end >= run_->window_end) run_->stop.store(true, std::memory_order_relaxed);
    if (run_->stop.load(std::memory_order_relaxed)) {
      std::lock_guard<std::mutex> lock(run_->mu);
      if (--run_->active == 0) run_->drained.notify_all();
      return;
    }
    Issue();
  }

  Run* run_;
  int index_;
  int channel_;
  std::mt19937_64 rng_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientContext> previous_context_;
  Clock::time_point start_;
  uint64_t request_index_ = 0;
  grpc::ByteBuffer raw_request_;
  grpc::ByteBuffer raw_response_;
  uint64_t received_ = 0;
  uint64_t response_bytes_ = 0;
  uint64_t sequence_ = 0;
  thesis::v1::RecordDownloadRequest record_request_;
  thesis::v1::RecordDownloadResponse record_response_;
  thesis::v1::BatchRecordDownloadsRequest batch_request_;
  thesis::v1::BatchRecordDownloadsResponse batch_response_;
  thesis::v1::GetDownloadStatsRequest stats_request_;
  thesis::v1::GetDownloadStatsResponse stats_response_;
  std::array<uint64_t, kOutcomes> outcomes_{};
  thesis::v1::GetThesisRequest get_request_;
  thesis::v1::Thesis get_response_;
  grpc::health::v1::HealthCheckRequest health_request_;
  grpc::health::v1::HealthCheckResponse health_response_;
  Histogram histogram_;
  std::array<uint64_t, kCodes> codes_{};
  uint64_t bad_responses_ = 0;
  std::string first_error_;  // of the window: "CODE: message"
};

bool ReadNames(const std::string& path, std::vector<std::string>* names) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view name = absl::StripAsciiWhitespace(line);
    if (!name.empty()) names->emplace_back(name);
  }
  return true;
}

double CpuSeconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

// A JSON string literal.
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", c));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "thesis-load --target host:port --rpc get|class|empty|record|batch|stats [--names_file F]\n"
      "            [--thesis theses/x] [--theses_file F] [--batch_size N] [--users N]\n"
      "            [--concurrency N] [--channels K] [--warmup_s S] [--duration_s S] [--json]");
  absl::ParseCommandLine(argc, argv);

  Run run;
  const std::string rpc = absl::GetFlag(FLAGS_rpc);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int channels = absl::GetFlag(FLAGS_channels);
  const double duration_s = absl::GetFlag(FLAGS_duration_s);
  const double warmup_s = absl::GetFlag(FLAGS_warmup_s);
  const std::string order = absl::GetFlag(FLAGS_order);
  if (rpc == "get") {
    run.rpc = Rpc::kGet;
  } else if (rpc == "class") {
    run.rpc = Rpc::kClass;
  } else if (rpc == "search") {
    run.rpc = Rpc::kSearch;
  } else if (rpc == "empty") {
    run.rpc = Rpc::kEmpty;
  } else if (rpc == "record") {
    run.rpc = Rpc::kRecord;
  } else if (rpc == "batch") {
    run.rpc = Rpc::kBatch;
  } else if (rpc == "stats") {
    run.rpc = Rpc::kStats;
  } else {
    std::cerr << "--rpc must be get, class, search, empty, record, batch or stats\n";
    return 2;
  }
  if (concurrency < 1 || channels < 1 || duration_s <= 0 || warmup_s < 0) {
    std::cerr << "--concurrency and --channels must be >= 1, --duration_s > 0, --warmup_s >= 0\n";
    return 2;
  }
  if (order != "random" && order != "rr") {
    std::cerr << "--order must be random or rr\n";
    return 2;
  }
  run.random_order = order == "random";
  run.deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  run.parse = absl::GetFlag(FLAGS_parse);
  if ((run.rpc == Rpc::kClass || run.rpc == Rpc::kSearch) && run.parse) {
    std::cerr << "--rpc " << rpc << " does not support --parse\n";
    return 2;
  }
  if (run.rpc == Rpc::kGet || run.rpc == Rpc::kClass || run.rpc == Rpc::kSearch) {
    const std::string path = absl::GetFlag(FLAGS_names_file);
    if (path.empty() || !ReadNames(path, &run.names)) {
      std::cerr << "--rpc " << rpc << " needs a readable --names_file\n";
      return 2;
    }
    if (run.names.empty()) {
      std::cerr << path << ": no names\n";
      return 2;
    }
  }

  if (IsDownload(run.rpc)) {
    run.hot_thesis = absl::GetFlag(FLAGS_thesis);
    run.batch_size = run.rpc == Rpc::kBatch ? absl::GetFlag(FLAGS_batch_size) : 1;
    run.users = absl::GetFlag(FLAGS_users);
    run.request_fraction = absl::GetFlag(FLAGS_request_fraction);
    const std::string theses_path = absl::GetFlag(FLAGS_theses_file);
    if (run.rpc == Rpc::kBatch && !theses_path.empty()) {
      if (!ReadNames(theses_path, &run.theses) || run.theses.empty()) {
        std::cerr << "--theses_file " << theses_path << ": unreadable or no names\n";
        return 2;
      }
    } else if (run.hot_thesis.empty()) {
      std::cerr << "--rpc " << rpc << " needs --thesis theses/x"
                << (run.rpc == Rpc::kBatch ? " or --theses_file" : "") << "\n";
      return 2;
    }
    if (run.batch_size < 1 || run.batch_size > 10000 || run.users < 1 || run.request_fraction < 0 ||
        run.request_fraction > 1) {
      std::cerr << "--batch_size must be 1 to 10000, --users >= 1, --request_fraction 0 to 1\n";
      return 2;
    }
    // Request ids must not repeat across runs on the same database.
    run.request_prefix = absl::StrFormat("bench-%x-%x-%x", absl::ToUnixMicros(absl::Now()),
                                         getpid(), std::random_device()());
  } else if (run.rpc == Rpc::kGet) {
    run.method = "/thesis.v1.ThesisService/GetThesis";
    for (const std::string& name : run.names) {
      thesis::v1::GetThesisRequest request;
      request.set_name(name);
      run.requests.push_back(request.SerializeAsString());
    }
  } else if (run.rpc == Rpc::kClass) {
    run.method = "/thesis.v1.ClassificationService/GetClass";
    for (const std::string& name : run.names) {
      thesis::v1::GetClassRequest request;
      request.set_name(name);
      run.requests.push_back(request.SerializeAsString());
    }
  } else if (run.rpc == Rpc::kSearch) {
    run.method = "/thesis.v1.ThesisService/SearchTheses";
    for (const std::string& line : run.names) {
      thesis::v1::SearchThesesRequest request;
      const size_t tab = line.find('\t');
      request.set_query(line.substr(0, tab));
      if (tab != std::string::npos) request.set_filter(line.substr(tab + 1));
      request.set_page_size(20);
      run.requests.push_back(request.SerializeAsString());
    }
  } else {
    run.method = "/grpc.health.v1.Health/Check";
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("liveness");
    run.requests.push_back(request.SerializeAsString());
  }

  // Distinct channel arguments and a local subchannel pool: each channel gets
  // its own subchannel, hence its own TCP connection.
  const std::string target = absl::GetFlag(FLAGS_target);
  std::vector<std::shared_ptr<grpc::Channel>> channel_list;
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("thesis.bench.channel_index", i);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      std::cerr << "cannot connect to " << target << "\n";
      return 1;
    }
    channel_list.push_back(channel);
    if (IsDownload(run.rpc)) {
      run.download_stubs.push_back(thesis::v1::DownloadService::NewStub(channel));
    } else if (!run.parse) {
      run.generic_stubs.push_back(std::make_unique<grpc::GenericStub>(channel));
    } else if (run.rpc == Rpc::kGet) {
      run.thesis_stubs.push_back(thesis::v1::ThesisService::NewStub(channel));
    } else {
      run.health_stubs.push_back(grpc::health::v1::Health::NewStub(channel));
    }
  }

  std::vector<std::unique_ptr<Slot>> slots;
  slots.reserve(concurrency);
  for (int i = 0; i < concurrency; ++i) {
    slots.push_back(std::make_unique<Slot>(&run, i, i % channels));
  }

  rusage usage_before{};
  const Clock::time_point now = Clock::now();
  run.window_start =
      now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup_s));
  run.window_end = run.window_start + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(duration_s));
  run.active = concurrency;
  for (auto& slot : slots) slot->Issue();

  // Client CPU over the measurement window only.
  std::this_thread::sleep_until(run.window_start);
  getrusage(RUSAGE_SELF, &usage_before);
  std::this_thread::sleep_until(run.window_end);
  rusage usage_after{};
  getrusage(RUSAGE_SELF, &usage_after);
  // Calls still in flight get 30 s (there may be no deadline) to finish.
  bool drained;
  {
    std::unique_lock<std::mutex> lock(run.mu);
    run.stop.store(true);
    drained =
        run.drained.wait_for(lock, std::chrono::seconds(30), [&run] { return run.active == 0; });
  }
  if (!drained) std::cerr << "warning: calls still in flight 30 s after the window\n";

  Histogram histogram;
  std::array<uint64_t, kCodes> codes{};
  uint64_t bad_responses = 0;
  uint64_t response_bytes = 0;
  std::array<uint64_t, kOutcomes> outcomes{};
  std::string first_error;
  for (const auto& slot : slots) {
    if (first_error.empty()) first_error = slot->first_error();
    for (int o = 0; o < kOutcomes; ++o) outcomes[o] += slot->outcomes()[o];
    response_bytes += slot->response_bytes();
    histogram.Merge(slot->histogram());
    for (int c = 0; c < kCodes; ++c) codes[c] += slot->codes()[c];
    bad_responses += slot->bad_responses();
  }
  const double mean_response_bytes =
      histogram.total() == 0
          ? 0
          : static_cast<double>(response_bytes) / static_cast<double>(histogram.total());
  uint64_t count = 0;
  uint64_t errors = 0;
  std::vector<std::string> error_parts;
  std::vector<std::string> error_json;
  for (int c = 0; c < kCodes; ++c) {
    count += codes[c];
    if (c != 0 && codes[c] > 0) {
      errors += codes[c];
      error_parts.push_back(absl::StrCat(CodeName(c), "=", codes[c]));
      error_json.push_back(absl::StrCat("\"", CodeName(c), "\":", codes[c]));
    }
  }
  const double qps = static_cast<double>(histogram.total()) / duration_s;
  const double cpu_user = CpuSeconds(usage_after.ru_utime) - CpuSeconds(usage_before.ru_utime);
  const double cpu_sys = CpuSeconds(usage_after.ru_stime) - CpuSeconds(usage_before.ru_stime);
  const double p50 = Ms(histogram.Quantile(0.50));
  const double p90 = Ms(histogram.Quantile(0.90));
  const double p95 = Ms(histogram.Quantile(0.95));
  const double p99 = Ms(histogram.Quantile(0.99));
  const double p999 = Ms(histogram.Quantile(0.999));
  const double max = Ms(histogram.max());
  const double mean = histogram.mean() / 1e6;
  // Download modes: events recorded (ok calls x batch size) and outcomes.
  std::string download_json;
  std::string download_text;
  if (IsDownload(run.rpc)) {
    const uint64_t events = histogram.total() * static_cast<uint64_t>(run.batch_size);
    std::vector<std::string> outcome_parts;
    std::vector<std::string> outcome_json;
    for (int o = 0; o < kOutcomes; ++o) {
      if (outcomes[o] == 0) continue;
      outcome_parts.push_back(absl::StrCat(OutcomeName(o), "=", outcomes[o]));
      outcome_json.push_back(absl::StrCat("\"", OutcomeName(o), "\":", outcomes[o]));
    }
    const std::string thesis_arg =
        run.theses.empty() ? run.hot_thesis : absl::StrCat(run.theses.size(), " theses");
    if (run.rpc == Rpc::kStats) {
      download_json = absl::StrFormat(",\"thesis\":\"%s\"", thesis_arg);
      download_text = absl::StrFormat("thesis %s\n", thesis_arg);
    } else {
      const double events_per_s = static_cast<double>(events) / duration_s;
      download_json = absl::StrFormat(
          ",\"thesis\":\"%s\",\"batch_size\":%d,\"users\":%d,\"request_fraction\":%g,"
          "\"events\":%d,\"events_per_s\":%.1f,\"outcomes\":{%s}",
          thesis_arg, run.batch_size, run.users, run.request_fraction, events, events_per_s,
          absl::StrJoin(outcome_json, ","));
      download_text = absl::StrFormat(
          "thesis %s  batch size %d  users %d  request share %g\n"
          "events %d  events/s %.1f  outcomes: %s\n",
          thesis_arg, run.batch_size, run.users, run.request_fraction, events, events_per_s,
          outcome_parts.empty() ? "-" : absl::StrJoin(outcome_parts, " "));
    }
  }

  if (absl::GetFlag(FLAGS_json)) {
    std::cout << absl::StrFormat(
        "{\"rpc\":\"%s\",\"target\":\"%s\",\"concurrency\":%d,\"channels\":%d,"
        "\"warmup_s\":%g,\"duration_s\":%g,\"count\":%d,\"ok\":%d,\"errors\":%d,"
        "\"errors_by_code\":{%s},\"bad_responses\":%d,\"parse\":%s,"
        "\"response_bytes_mean\":%.0f,\"qps\":%.1f,"
        "\"latency_ms\":{\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p95\":%.3f,\"p99\":%.3f,"
        "\"p999\":%.3f,\"max\":%.3f},\"client_cpu_s\":{\"user\":%.2f,\"sys\":%.2f}%s%s}\n",
        rpc, target, concurrency, channels, warmup_s, duration_s, count, histogram.total(), errors,
        absl::StrJoin(error_json, ","), bad_responses,
        run.parse || IsDownload(run.rpc) ? "true" : "false", mean_response_bytes, qps, mean, p50,
        p90, p95, p99, p999, max, cpu_user, cpu_sys, download_json,
        first_error.empty() ? "" : absl::StrCat(",\"first_error\":", JsonString(first_error)));
  } else {
    std::cout << absl::StrFormat(
        "rpc %s  target %s  concurrency %d  channels %d  window %gs (warm-up %gs)\n"
        "calls %d  ok %d  errors %d%s%s  bad responses %d  mean response %.0f bytes%s\n"
        "%sQPS %.1f\n"
        "latency ms: mean %.3f  p50 %.3f  p90 %.3f  p95 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n"
        "client CPU in window: user %.2fs  sys %.2fs\n",
        rpc, target, concurrency, channels, duration_s, warmup_s, count, histogram.total(), errors,
        error_parts.empty() ? "" : " ", absl::StrJoin(error_parts, " "), bad_responses,
        mean_response_bytes, run.parse || IsDownload(run.rpc) ? " (all parsed)" : "", download_text,
        qps, mean, p50, p90, p95, p99, p999, max, cpu_user, cpu_sys);
    if (!first_error.empty()) std::cout << "first error: " << first_error << "\n";
  }
  const int exit_code = errors == 0 && bad_responses == 0 && drained ? 0 : 1;
  if (!drained) {
    // Slots and channels cannot be destroyed under calls in flight.
    std::cout.flush();
    std::_Exit(exit_code);
  }
  return exit_code;
}
