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
//   --rpc empty  grpc.health.v1.Health/Check("liveness"): the same server and
//                the same gRPC path, but no database
//
// By default responses are received as bytes and only one in 100 per slot is
// parsed and checked (the right record, SERVING), so that the load client
// spends as little as it can of the CPUs it shares with the server; with
// --parse every response is parsed into its message by the generated stub,
// as a real client would.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

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
#include "grpc/health/v1/health.grpc.pb.h"
#include "thesis/v1/thesis.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Server address, host:port.");
ABSL_FLAG(std::string, rpc, "get", "get (GetThesis) or empty (Health/Check \"liveness\").");
ABSL_FLAG(int, concurrency, 64, "Calls kept in flight.");
ABSL_FLAG(int, channels, 4, "Separate gRPC channels (TCP connections) to spread calls over.");
ABSL_FLAG(double, duration_s, 20, "Measurement window, seconds.");
ABSL_FLAG(double, warmup_s, 5, "Warm-up before the window, seconds (not counted).");
ABSL_FLAG(std::string, names_file, "", "get: resource names (theses/x), one a line.");
ABSL_FLAG(std::string, order, "random", "get: pick names in random or rr (round-robin) order.");
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

enum class Rpc { kGet, kEmpty };

constexpr uint64_t kCheckEvery = 100;  // without --parse

// Shared, read-only while running (except the atomics).
struct Run {
  Rpc rpc;
  bool parse = false;
  // --parse: generated stubs.
  std::vector<std::unique_ptr<thesis::v1::ThesisService::Stub>> thesis_stubs;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health_stubs;
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
      : run_(run), channel_(channel), rng_(0x5eed + static_cast<uint64_t>(index)) {}

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
    if (!run_->parse) {
      request_index_ = run_->rpc == Rpc::kGet ? PickIndex() : 0;
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
  uint64_t bad_responses() const { return bad_responses_; }
  uint64_t response_bytes() const { return response_bytes_; }

 private:
  uint64_t PickIndex() {
    const uint64_t n = run_->names.size();
    return run_->random_order ? std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_)
                              : run_->next_name.fetch_add(1, std::memory_order_relaxed) % n;
  }

  // Whether the response is the one asked for.
  bool Good() {
    if (run_->parse) {
      response_bytes_ +=
          run_->rpc == Rpc::kGet ? get_response_.ByteSizeLong() : health_response_.ByteSizeLong();
      return run_->rpc == Rpc::kGet
                 ? get_response_.name() == get_request_.name()
                 : health_response_.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    }
    response_bytes_ += raw_response_.Length();
    if (++received_ % kCheckEvery != 1) return true;
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
  thesis::v1::GetThesisRequest get_request_;
  thesis::v1::Thesis get_response_;
  grpc::health::v1::HealthCheckRequest health_request_;
  grpc::health::v1::HealthCheckResponse health_response_;
  Histogram histogram_;
  std::array<uint64_t, kCodes> codes_{};
  uint64_t bad_responses_ = 0;
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

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "thesis-load --target host:port --rpc get|empty [--names_file F] [--concurrency N]\n"
      "            [--channels K] [--warmup_s S] [--duration_s S] [--json]");
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
  } else if (rpc == "empty") {
    run.rpc = Rpc::kEmpty;
  } else {
    std::cerr << "--rpc must be get or empty\n";
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
  if (run.rpc == Rpc::kGet) {
    const std::string path = absl::GetFlag(FLAGS_names_file);
    if (path.empty() || !ReadNames(path, &run.names)) {
      std::cerr << "--rpc get needs a readable --names_file\n";
      return 2;
    }
    if (run.names.empty()) {
      std::cerr << path << ": no names\n";
      return 2;
    }
  }

  if (run.rpc == Rpc::kGet) {
    run.method = "/thesis.v1.ThesisService/GetThesis";
    for (const std::string& name : run.names) {
      thesis::v1::GetThesisRequest request;
      request.set_name(name);
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
    if (!run.parse) {
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
  for (const auto& slot : slots) {
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
  const double p99 = Ms(histogram.Quantile(0.99));
  const double p999 = Ms(histogram.Quantile(0.999));
  const double max = Ms(histogram.max());
  const double mean = histogram.mean() / 1e6;

  if (absl::GetFlag(FLAGS_json)) {
    std::cout << absl::StrFormat(
        "{\"rpc\":\"%s\",\"target\":\"%s\",\"concurrency\":%d,\"channels\":%d,"
        "\"warmup_s\":%g,\"duration_s\":%g,\"count\":%d,\"ok\":%d,\"errors\":%d,"
        "\"errors_by_code\":{%s},\"bad_responses\":%d,\"parse\":%s,"
        "\"response_bytes_mean\":%.0f,\"qps\":%.1f,"
        "\"latency_ms\":{\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
        "\"p999\":%.3f,\"max\":%.3f},\"client_cpu_s\":{\"user\":%.2f,\"sys\":%.2f}}\n",
        rpc, target, concurrency, channels, warmup_s, duration_s, count, histogram.total(), errors,
        absl::StrJoin(error_json, ","), bad_responses, run.parse ? "true" : "false",
        mean_response_bytes, qps, mean, p50, p90, p99, p999, max, cpu_user, cpu_sys);
  } else {
    std::cout << absl::StrFormat(
        "rpc %s  target %s  concurrency %d  channels %d  window %gs (warm-up %gs)\n"
        "calls %d  ok %d  errors %d%s%s  bad responses %d  mean response %.0f bytes%s\n"
        "QPS %.1f\n"
        "latency ms: mean %.3f  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n"
        "client CPU in window: user %.2fs  sys %.2fs\n",
        rpc, target, concurrency, channels, duration_s, warmup_s, count, histogram.total(), errors,
        error_parts.empty() ? "" : " ", absl::StrJoin(error_parts, " "), bad_responses,
        mean_response_bytes, run.parse ? " (all parsed)" : "", qps, mean, p50, p90, p99, p999, max,
        cpu_user, cpu_sys);
  }
  const int exit_code = errors == 0 && bad_responses == 0 && drained ? 0 : 1;
  if (!drained) {
    // Slots and channels cannot be destroyed under calls in flight.
    std::cout.flush();
    std::_Exit(exit_code);
  }
  return exit_code;
}
