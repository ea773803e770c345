// C++ client of the thesis metadata service: a typed facade over the
// generated stubs.
//
// Every call has a deadline (ClientOptions::default_timeout unless the call
// says otherwise). UNAVAILABLE is retried by gRPC's own retry policy (set in
// the channel's service config). Every mutating call carries a request_id
// made once per call, so a retried write is applied at most once.
//
// One channel serves the three services: thesis.v1.ThesisService (the
// records), thesis.v1.DownloadService (COUNTER download counting) and
// thesis.v1.ClassificationService (CLC and discipline trees).
#ifndef THESIS_CLIENT_THESIS_CLIENT_H_
#define THESIS_CLIENT_THESIS_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/field_mask.pb.h"
#include "thesis/v1/classification.grpc.pb.h"
#include "thesis/v1/download.grpc.pb.h"
#include "thesis/v1/thesis.grpc.pb.h"

namespace thesis::client {

// Largest ImportThesesRequest the client sends (bytes of records; a single
// larger record still goes alone).
inline constexpr size_t kImportMessageBytes = size_t{4} << 20;

struct ClientOptions {
  // gRPC target: host:port, or dns:///host:port to spread calls over every
  // address the name resolves to (round robin), e.g. a headless Service.
  std::string target = "localhost:50051";
  // Insecure when null.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // When set, every call carries `authorization: Bearer <token>`.
  std::string bearer_token;
  absl::Duration default_timeout = absl::Seconds(10);
  // Deadline of ImportTheses and ExportTheses, which may move millions of rows.
  absl::Duration bulk_timeout = absl::Hours(2);
  // Attempts per call for UNAVAILABLE, including the first (2-5).
  int max_attempts = 4;
  absl::Duration keepalive_time = absl::Seconds(30);
  // Client-side health checking: with round robin over several servers,
  // calls go only to servers whose health service reports this name
  // SERVING. The server's `readiness` turns NOT_SERVING while it drains
  // before shutdown and while its database is unreachable, so a rolling
  // restart fails no call. Empty: send to every connected server.
  std::string health_check_service = "readiness";
  // Largest message the client accepts. gRPC's default, 4 MiB, is less than
  // a BatchGetTheses answer of 1,000 records with long abstracts; the server
  // keeps List and Export messages under 1 MiB of records.
  int max_receive_message_bytes = 64 << 20;
};

// A channel with the retry policy, round-robin load balancing and keepalive.
std::shared_ptr<grpc::Channel> CreateChannel(const ClientOptions& options);

// The service config CreateChannel uses (JSON), for callers that build their
// own channel.
std::string ServiceConfigJson(const ClientOptions& options);

// grpc::Status -> absl::Status. The google.rpc.Status details of the
// grpc-status-details-bin trailer become payloads keyed by type URL.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The ErrorInfo.reason of an error from the service, or "".
std::string ErrorReason(const absl::Status& status);
// The BadRequest field names of an INVALID_ARGUMENT from the service.
std::vector<std::string> ViolatedFields(const absl::Status& status);

// A fresh random request id (32 hex digits).
std::string NewRequestId();

class ThesisClient {
 public:
  explicit ThesisClient(const ClientOptions& options);
  ThesisClient(std::shared_ptr<grpc::Channel> channel, const ClientOptions& options = {});
  // For tests: any stub, e.g. thesis::v1::MockThesisServiceStub. The
  // download methods of a client made this way fail with FAILED_PRECONDITION.
  ThesisClient(std::unique_ptr<thesis::v1::ThesisService::StubInterface> stub,
               const ClientOptions& options = {});
  // For tests: a stub per service, e.g. thesis::v1::MockDownloadServiceStub.
  ThesisClient(std::unique_ptr<thesis::v1::ThesisService::StubInterface> stub,
               std::unique_ptr<thesis::v1::DownloadService::StubInterface> download_stub,
               const ClientOptions& options);

  // `thesis_id` empty: the server picks one.
  absl::StatusOr<thesis::v1::Thesis> CreateThesis(const thesis::v1::Thesis& thesis,
                                                  absl::string_view thesis_id = "");
  absl::StatusOr<thesis::v1::Thesis> GetThesis(absl::string_view name);
  absl::StatusOr<std::vector<thesis::v1::Thesis>> BatchGetTheses(
      const std::vector<std::string>& names);
  // `etag` empty: unconditional.
  absl::StatusOr<thesis::v1::Thesis> UpdateThesis(const thesis::v1::Thesis& thesis,
                                                  const google::protobuf::FieldMask& update_mask,
                                                  absl::string_view etag = "");
  absl::Status DeleteThesis(absl::string_view name, absl::string_view etag = "");
  absl::StatusOr<thesis::v1::ListThesesResponse> ListTheses(
      const thesis::v1::ListThesesRequest& request);
  // One page of full-text search results (see SearchTheses in thesis.proto);
  // follow next_page_token for the rest. A malformed query is
  // INVALID_ARGUMENT naming `query`, with the character position.
  absl::StatusOr<thesis::v1::SearchThesesResponse> SearchTheses(
      const thesis::v1::SearchThesesRequest& request);

  // Streams `theses` to the server in messages of `per_message` records and
  // at most kImportMessageBytes (a record with two abstracts may be up to
  // ~270 KB; the server takes messages of up to 16 MiB by default).
  // `progress`, when set, is called with the number of records sent so far.
  // Records are matched to stored ones (see ImportTheses in thesis.proto),
  // so running the same import again is safe.
  absl::StatusOr<thesis::v1::ImportThesesResponse> ImportTheses(
      const std::vector<thesis::v1::Thesis>& theses,
      const std::function<void(int64_t)>& progress = nullptr, int per_message = 500);
  // The same, for records produced while the import runs: `next` fills its
  // argument with the next records and returns false when there are no more.
  absl::StatusOr<thesis::v1::ImportThesesResponse> ImportThesesFrom(
      const std::function<bool(std::vector<thesis::v1::Thesis>*)>& next,
      const std::function<void(int64_t)>& progress = nullptr, int per_message = 500);
  // Calls `sink` for every exported record, in order; an error from `sink`
  // stops the export and is returned.
  absl::Status ExportTheses(const thesis::v1::ExportThesesRequest& request,
                            const std::function<absl::Status(const thesis::v1::Thesis&)>& sink);

  // Raw requests, for callers that set every field themselves (a request
  // without request_id gets one).
  absl::StatusOr<thesis::v1::Thesis> CreateThesis(thesis::v1::CreateThesisRequest request);

  // Download counting (thesis.v1.DownloadService, COUNTER Release 5.1; see
  // download.proto). Thesis names are `theses/{thesis}`; dates `YYYY-MM-DD`
  // or `YYYY-MM` as the proto says.
  //
  // Records one event. `event.request_id` empty: the call makes one, so a
  // retried call counts once. An unknown thesis is NOT_FOUND.
  absl::StatusOr<thesis::v1::RecordDownloadResponse> RecordDownload(
      thesis::v1::DownloadEvent event);
  // Records 1 to 10,000 events, in order, with one result per event (an
  // unknown thesis is the outcome UNKNOWN_THESIS of its event only). Every
  // event without a request_id gets one of its own.
  absl::StatusOr<std::vector<thesis::v1::RecordDownloadResponse>> BatchRecordDownloads(
      std::vector<thesis::v1::DownloadEvent> events);
  // The four COUNTER metrics of `thesis` from `start_date` to `end_date`
  // (inclusive; both empty: all time), with a series when `granularity` is set.
  absl::StatusOr<thesis::v1::GetDownloadStatsResponse> GetDownloadStats(
      absl::string_view thesis, absl::string_view start_date = "", absl::string_view end_date = "",
      thesis::v1::Granularity granularity = thesis::v1::GRANULARITY_UNSPECIFIED);
  // All-time counts of 1 to 1,000 theses, in request order; all or nothing.
  absl::StatusOr<std::vector<thesis::v1::DownloadCounts>> BatchGetDownloadCounts(
      const std::vector<std::string>& theses);
  absl::StatusOr<thesis::v1::ListTopThesesResponse> ListTopTheses(
      const thesis::v1::ListTopThesesRequest& request);
  // One page of a COUNTER item report (IR); follow next_page_token for the rest.
  absl::StatusOr<thesis::v1::GetItemReportResponse> GetItemReport(
      const thesis::v1::GetItemReportRequest& request);

  // Classification (thesis.v1.ClassificationService; see
  // classification.proto). Names are `schemes/{scheme}` and
  // `schemes/{scheme}/classes/{code}`.
  absl::StatusOr<std::vector<thesis::v1::Scheme>> ListSchemes();
  absl::StatusOr<thesis::v1::Scheme> GetScheme(absl::string_view name);
  // A class with its path, child count and rolled-up counts.
  absl::StatusOr<thesis::v1::Class> GetClass(absl::string_view name);
  absl::StatusOr<thesis::v1::ListChildrenResponse> ListChildren(
      const thesis::v1::ListChildrenRequest& request);
  absl::StatusOr<thesis::v1::GetClassTreeResponse> GetClassTree(
      const thesis::v1::GetClassTreeRequest& request);
  // Raw code fields (`TP311.13;TP391`) -> normalized codes and where they
  // resolve, one field per input, in order.
  absl::StatusOr<std::vector<thesis::v1::ResolvedField>> ResolveCodes(
      absl::string_view scheme, const std::vector<std::string>& codes);
  absl::StatusOr<thesis::v1::ListThesesInClassResponse> ListThesesInClass(
      const thesis::v1::ListThesesInClassRequest& request);
  absl::StatusOr<thesis::v1::SuggestClassesResponse> SuggestClasses(
      const thesis::v1::SuggestClassesRequest& request);
  absl::StatusOr<thesis::v1::RebuildSuggestionModelResponse> RebuildSuggestionModel(
      absl::string_view scheme, int level = 0);
  // Loads a table (admin): `rows` in table order, sent in messages of
  // `per_message`; the bulk deadline applies. Importing the same rows again
  // changes nothing.
  absl::StatusOr<thesis::v1::ImportClassesResponse> ImportClasses(
      absl::string_view scheme, absl::string_view version,
      const std::vector<thesis::v1::ClassRow>& rows,
      const std::function<void(int64_t)>& progress = nullptr, int per_message = 2000);

  thesis::v1::ThesisService::StubInterface& stub() { return *stub_; }
  // Null for a client made from a ThesisService stub alone.
  thesis::v1::DownloadService::StubInterface* download_stub() { return download_stub_.get(); }
  // Null for a client made from stubs; set by SetClassificationStub.
  thesis::v1::ClassificationService::StubInterface* class_stub() { return class_stub_.get(); }
  // For tests: e.g. thesis::v1::MockClassificationServiceStub.
  void SetClassificationStub(
      std::unique_ptr<thesis::v1::ClassificationService::StubInterface> stub) {
    class_stub_ = std::move(stub);
  }

 private:
  void Prepare(grpc::ClientContext* context, absl::Duration timeout) const;
  absl::Status CheckDownloadStub() const;
  absl::Status CheckClassStub() const;
  template <typename Request, typename Response>
  absl::StatusOr<Response> CallClasses(
      grpc::Status (thesis::v1::ClassificationService::StubInterface::*method)(grpc::ClientContext*,
                                                                               const Request&,
                                                                               Response*),
      const Request& request);

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<thesis::v1::ThesisService::StubInterface> stub_;
  std::unique_ptr<thesis::v1::DownloadService::StubInterface> download_stub_;
  std::unique_ptr<thesis::v1::ClassificationService::StubInterface> class_stub_;
};

}  // namespace thesis::client

#endif  // THESIS_CLIENT_THESIS_CLIENT_H_
