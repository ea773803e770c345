#include "thesis/client/thesis_client.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace thesis::client {

using thesis::v1::Thesis;

namespace {

constexpr char kErrorInfoType[] = "type.googleapis.com/google.rpc.ErrorInfo";
constexpr char kBadRequestType[] = "type.googleapis.com/google.rpc.BadRequest";

}  // namespace

std::string ServiceConfigJson(const ClientOptions& options) {
  const int attempts = std::max(2, std::min(5, options.max_attempts));
  std::string health;
  if (!options.health_check_service.empty()) {
    health = absl::StrFormat(R"("healthCheckConfig": {"serviceName": "%s"},
  )",
                             options.health_check_service);
  }
  return absl::StrFormat(
      R"({"loadBalancingConfig": [{"round_robin": {}}],
  %s)"
      R"("methodConfig": [{
    "name": [{"service": "thesis.v1.ThesisService"}, {"service": "thesis.v1.DownloadService"},
             {"service": "thesis.v1.ClassificationService"}],
    "retryPolicy": {
      "maxAttempts": %d,
      "initialBackoff": "0.1s",
      "maxBackoff": "2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]})",
      health, attempts);
}

std::shared_ptr<grpc::Channel> CreateChannel(const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(ServiceConfigJson(options));
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  auto credentials =
      options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(options.target, credentials, args);
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      out.SetPayload(any.type_url(), absl::Cord(any.value()));
    }
  }
  return out;
}

std::string ErrorReason(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorInfoType);
  google::rpc::ErrorInfo info;
  if (!payload || !info.ParseFromString(std::string(*payload))) return "";
  return info.reason();
}

std::vector<std::string> ViolatedFields(const absl::Status& status) {
  std::vector<std::string> fields;
  auto payload = status.GetPayload(kBadRequestType);
  google::rpc::BadRequest bad_request;
  if (!payload || !bad_request.ParseFromString(std::string(*payload))) return fields;
  for (const auto& v : bad_request.field_violations()) fields.push_back(v.field());
  return fields;
}

std::string NewRequestId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("%016x%016x", rng(), rng());
}

ThesisClient::ThesisClient(const ClientOptions& options)
    : ThesisClient(CreateChannel(options), options) {}

ThesisClient::ThesisClient(std::shared_ptr<grpc::Channel> channel, const ClientOptions& options)
    : options_(options),
      channel_(channel),
      stub_(thesis::v1::ThesisService::NewStub(channel)),
      download_stub_(thesis::v1::DownloadService::NewStub(channel)),
      class_stub_(thesis::v1::ClassificationService::NewStub(channel)) {}

ThesisClient::ThesisClient(std::unique_ptr<thesis::v1::ThesisService::StubInterface> stub,
                           const ClientOptions& options)
    : options_(options), stub_(std::move(stub)) {}

ThesisClient::ThesisClient(
    std::unique_ptr<thesis::v1::ThesisService::StubInterface> stub,
    std::unique_ptr<thesis::v1::DownloadService::StubInterface> download_stub,
    const ClientOptions& options)
    : options_(options), stub_(std::move(stub)), download_stub_(std::move(download_stub)) {}

void ThesisClient::Prepare(grpc::ClientContext* context, absl::Duration timeout) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!options_.bearer_token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.bearer_token));
  }
}

absl::StatusOr<Thesis> ThesisClient::CreateThesis(thesis::v1::CreateThesisRequest request) {
  if (request.request_id().empty()) request.set_request_id(NewRequestId());
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  Thesis response;
  absl::Status status = FromGrpcStatus(stub_->CreateThesis(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<Thesis> ThesisClient::CreateThesis(const Thesis& thesis,
                                                  absl::string_view thesis_id) {
  thesis::v1::CreateThesisRequest request;
  *request.mutable_thesis() = thesis;
  request.set_thesis_id(std::string(thesis_id));
  return CreateThesis(std::move(request));
}

absl::StatusOr<Thesis> ThesisClient::GetThesis(absl::string_view name) {
  thesis::v1::GetThesisRequest request;
  request.set_name(std::string(name));
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  Thesis response;
  absl::Status status = FromGrpcStatus(stub_->GetThesis(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::vector<Thesis>> ThesisClient::BatchGetTheses(
    const std::vector<std::string>& names) {
  thesis::v1::BatchGetThesesRequest request;
  for (const std::string& name : names) request.add_names(name);
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  thesis::v1::BatchGetThesesResponse response;
  absl::Status status = FromGrpcStatus(stub_->BatchGetTheses(&context, request, &response));
  if (!status.ok()) return status;
  return std::vector<Thesis>(response.theses().begin(), response.theses().end());
}

absl::StatusOr<Thesis> ThesisClient::UpdateThesis(const Thesis& thesis,
                                                  const google::protobuf::FieldMask& update_mask,
                                                  absl::string_view etag) {
  thesis::v1::UpdateThesisRequest request;
  *request.mutable_thesis() = thesis;
  *request.mutable_update_mask() = update_mask;
  request.set_etag(std::string(etag));
  request.set_request_id(NewRequestId());
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  Thesis response;
  absl::Status status = FromGrpcStatus(stub_->UpdateThesis(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::Status ThesisClient::DeleteThesis(absl::string_view name, absl::string_view etag) {
  thesis::v1::DeleteThesisRequest request;
  request.set_name(std::string(name));
  request.set_etag(std::string(etag));
  request.set_request_id(NewRequestId());
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  thesis::v1::DeleteThesisResponse response;
  return FromGrpcStatus(stub_->DeleteThesis(&context, request, &response));
}

absl::StatusOr<thesis::v1::ListThesesResponse> ThesisClient::ListTheses(
    const thesis::v1::ListThesesRequest& request) {
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  thesis::v1::ListThesesResponse response;
  absl::Status status = FromGrpcStatus(stub_->ListTheses(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<thesis::v1::SearchThesesResponse> ThesisClient::SearchTheses(
    const thesis::v1::SearchThesesRequest& request) {
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  thesis::v1::SearchThesesResponse response;
  absl::Status status = FromGrpcStatus(stub_->SearchTheses(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<thesis::v1::ImportThesesResponse> ThesisClient::ImportTheses(
    const std::vector<Thesis>& theses, const std::function<void(int64_t)>& progress,
    int per_message) {
  bool given = false;
  return ImportThesesFrom(
      [&](std::vector<Thesis>* next) {
        if (given) return false;
        *next = theses;
        given = true;
        return true;
      },
      progress, per_message);
}

absl::StatusOr<thesis::v1::ImportThesesResponse> ThesisClient::ImportThesesFrom(
    const std::function<bool(std::vector<Thesis>*)>& next,
    const std::function<void(int64_t)>& progress, int per_message) {
  grpc::ClientContext context;
  Prepare(&context, options_.bulk_timeout);
  thesis::v1::ImportThesesResponse response;
  auto writer = stub_->ImportTheses(&context, &response);
  thesis::v1::ImportThesesRequest request;
  std::vector<Thesis> chunk;
  int64_t sent = 0;
  bool open = true;
  while (open && next(&chunk)) {
    for (size_t i = 0; open && i < chunk.size();) {
      request.Clear();
      size_t bytes = 0;
      for (int n = 0; n < per_message && i < chunk.size(); ++n, ++i) {
        const size_t size = chunk[i].ByteSizeLong();
        if (n > 0 && bytes + size > kImportMessageBytes) break;
        bytes += size;
        *request.add_theses() = std::move(chunk[i]);
      }
      // A failed write means the server already answered: Finish says why.
      open = writer->Write(request);
      if (open) sent += request.theses_size();
      if (open && progress) progress(sent);
    }
    chunk.clear();
  }
  writer->WritesDone();
  absl::Status status = FromGrpcStatus(writer->Finish());
  if (!status.ok()) return status;
  return response;
}

absl::Status ThesisClient::ExportTheses(const thesis::v1::ExportThesesRequest& request,
                                        const std::function<absl::Status(const Thesis&)>& sink) {
  grpc::ClientContext context;
  Prepare(&context, options_.bulk_timeout);
  auto reader = stub_->ExportTheses(&context, request);
  thesis::v1::ExportThesesResponse page;
  absl::Status sink_status;
  while (sink_status.ok() && reader->Read(&page)) {
    for (const Thesis& t : page.theses()) {
      sink_status = sink(t);
      if (!sink_status.ok()) break;
    }
  }
  if (!sink_status.ok()) context.TryCancel();
  absl::Status status = FromGrpcStatus(reader->Finish());
  return sink_status.ok() ? status : sink_status;
}

absl::Status ThesisClient::CheckDownloadStub() const {
  if (download_stub_ != nullptr) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "this ThesisClient was made from a ThesisService stub alone: no DownloadService stub");
}

absl::StatusOr<thesis::v1::RecordDownloadResponse> ThesisClient::RecordDownload(
    thesis::v1::DownloadEvent event) {
  if (absl::Status ready = CheckDownloadStub(); !ready.ok()) return ready;
  thesis::v1::RecordDownloadRequest request;
  *request.mutable_event() = std::move(event);
  if (request.event().request_id().empty()) request.mutable_event()->set_request_id(NewRequestId());
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  thesis::v1::RecordDownloadResponse response;
  absl::Status status =
      FromGrpcStatus(download_stub_->RecordDownload(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::vector<thesis::v1::RecordDownloadResponse>> ThesisClient::BatchRecordDownloads(
    std::vector<thesis::v1::DownloadEvent> events) {
  if (absl::Status ready = CheckDownloadStub(); !ready.ok()) return ready;
  thesis::v1::BatchRecordDownloadsRequest request;
  request.mutable_events()->Reserve(static_cast<int>(events.size()));
  for (thesis::v1::DownloadEvent& event : events) {
    thesis::v1::DownloadEvent* added = request.add_events();
    *added = std::move(event);
    if (added->request_id().empty()) added->set_request_id(NewRequestId());
  }
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  thesis::v1::BatchRecordDownloadsResponse response;
  absl::Status status =
      FromGrpcStatus(download_stub_->BatchRecordDownloads(&context, request, &response));
  if (!status.ok()) return status;
  return std::vector<thesis::v1::RecordDownloadResponse>(response.results().begin(),
                                                         response.results().end());
}

absl::StatusOr<thesis::v1::GetDownloadStatsResponse> ThesisClient::GetDownloadStats(
    absl::string_view thesis, absl::string_view start_date, absl::string_view end_date,
    thesis::v1::Granularity granularity) {
  if (absl::Status ready = CheckDownloadStub(); !ready.ok()) return ready;
  thesis::v1::GetDownloadStatsRequest request;
  request.set_thesis(std::string(thesis));
  request.set_start_date(std::string(start_date));
  request.set_end_date(std::string(end_date));
  request.set_granularity(granularity);
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  thesis::v1::GetDownloadStatsResponse response;
  absl::Status status =
      FromGrpcStatus(download_stub_->GetDownloadStats(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::vector<thesis::v1::DownloadCounts>> ThesisClient::BatchGetDownloadCounts(
    const std::vector<std::string>& theses) {
  if (absl::Status ready = CheckDownloadStub(); !ready.ok()) return ready;
  thesis::v1::BatchGetDownloadCountsRequest request;
  for (const std::string& name : theses) request.add_theses(name);
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  thesis::v1::BatchGetDownloadCountsResponse response;
  absl::Status status =
      FromGrpcStatus(download_stub_->BatchGetDownloadCounts(&context, request, &response));
  if (!status.ok()) return status;
  return std::vector<thesis::v1::DownloadCounts>(response.counts().begin(),
                                                 response.counts().end());
}

absl::StatusOr<thesis::v1::ListTopThesesResponse> ThesisClient::ListTopTheses(
    const thesis::v1::ListTopThesesRequest& request) {
  if (absl::Status ready = CheckDownloadStub(); !ready.ok()) return ready;
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  thesis::v1::ListTopThesesResponse response;
  absl::Status status = FromGrpcStatus(download_stub_->ListTopTheses(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<thesis::v1::GetItemReportResponse> ThesisClient::GetItemReport(
    const thesis::v1::GetItemReportRequest& request) {
  if (absl::Status ready = CheckDownloadStub(); !ready.ok()) return ready;
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  thesis::v1::GetItemReportResponse response;
  absl::Status status = FromGrpcStatus(download_stub_->GetItemReport(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

// ---- Classification ---------------------------------------------------------

absl::Status ThesisClient::CheckClassStub() const {
  if (class_stub_ != nullptr) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "this ThesisClient was made from stubs without a ClassificationService stub");
}

template <typename Request, typename Response>
absl::StatusOr<Response> ThesisClient::CallClasses(
    grpc::Status (thesis::v1::ClassificationService::StubInterface::*method)(grpc::ClientContext*,
                                                                             const Request&,
                                                                             Response*),
    const Request& request) {
  if (absl::Status ready = CheckClassStub(); !ready.ok()) return ready;
  grpc::ClientContext context;
  Prepare(&context, options_.default_timeout);
  Response response;
  absl::Status status = FromGrpcStatus((class_stub_.get()->*method)(&context, request, &response));
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::vector<thesis::v1::Scheme>> ThesisClient::ListSchemes() {
  using Stub = thesis::v1::ClassificationService::StubInterface;
  absl::StatusOr<thesis::v1::ListSchemesResponse> response =
      CallClasses(&Stub::ListSchemes, thesis::v1::ListSchemesRequest());
  if (!response.ok()) return response.status();
  return std::vector<thesis::v1::Scheme>(response->schemes().begin(), response->schemes().end());
}

absl::StatusOr<thesis::v1::Scheme> ThesisClient::GetScheme(absl::string_view name) {
  thesis::v1::GetSchemeRequest request;
  request.set_name(std::string(name));
  return CallClasses(&thesis::v1::ClassificationService::StubInterface::GetScheme, request);
}

absl::StatusOr<thesis::v1::Class> ThesisClient::GetClass(absl::string_view name) {
  thesis::v1::GetClassRequest request;
  request.set_name(std::string(name));
  return CallClasses(&thesis::v1::ClassificationService::StubInterface::GetClass, request);
}

absl::StatusOr<thesis::v1::ListChildrenResponse> ThesisClient::ListChildren(
    const thesis::v1::ListChildrenRequest& request) {
  return CallClasses(&thesis::v1::ClassificationService::StubInterface::ListChildren, request);
}

absl::StatusOr<thesis::v1::GetClassTreeResponse> ThesisClient::GetClassTree(
    const thesis::v1::GetClassTreeRequest& request) {
  return CallClasses(&thesis::v1::ClassificationService::StubInterface::GetClassTree, request);
}

absl::StatusOr<std::vector<thesis::v1::ResolvedField>> ThesisClient::ResolveCodes(
    absl::string_view scheme, const std::vector<std::string>& codes) {
  thesis::v1::ResolveCodesRequest request;
  request.set_scheme(std::string(scheme));
  for (const std::string& code : codes) request.add_codes(code);
  absl::StatusOr<thesis::v1::ResolveCodesResponse> response =
      CallClasses(&thesis::v1::ClassificationService::StubInterface::ResolveCodes, request);
  if (!response.ok()) return response.status();
  return std::vector<thesis::v1::ResolvedField>(response->fields().begin(),
                                                response->fields().end());
}

absl::StatusOr<thesis::v1::ListThesesInClassResponse> ThesisClient::ListThesesInClass(
    const thesis::v1::ListThesesInClassRequest& request) {
  return CallClasses(&thesis::v1::ClassificationService::StubInterface::ListThesesInClass, request);
}

absl::StatusOr<thesis::v1::SuggestClassesResponse> ThesisClient::SuggestClasses(
    const thesis::v1::SuggestClassesRequest& request) {
  return CallClasses(&thesis::v1::ClassificationService::StubInterface::SuggestClasses, request);
}

absl::StatusOr<thesis::v1::RebuildSuggestionModelResponse> ThesisClient::RebuildSuggestionModel(
    absl::string_view scheme, int level) {
  thesis::v1::RebuildSuggestionModelRequest request;
  request.set_scheme(std::string(scheme));
  request.set_level(level);
  return CallClasses(&thesis::v1::ClassificationService::StubInterface::RebuildSuggestionModel,
                     request);
}

absl::StatusOr<thesis::v1::ImportClassesResponse> ThesisClient::ImportClasses(
    absl::string_view scheme, absl::string_view version,
    const std::vector<thesis::v1::ClassRow>& rows, const std::function<void(int64_t)>& progress,
    int per_message) {
  if (absl::Status ready = CheckClassStub(); !ready.ok()) return ready;
  grpc::ClientContext context;
  Prepare(&context, options_.bulk_timeout);
  thesis::v1::ImportClassesResponse response;
  auto writer = class_stub_->ImportClasses(&context, &response);
  thesis::v1::ImportClassesRequest request;
  request.set_scheme(std::string(scheme));
  request.set_version(std::string(version));
  size_t i = 0;
  bool open = true;
  do {
    for (int n = 0; n < per_message && i < rows.size(); ++n, ++i) *request.add_rows() = rows[i];
    // A failed write means the server already answered: Finish says why.
    open = writer->Write(request);
    if (open && progress) progress(static_cast<int64_t>(i));
    request.Clear();
  } while (open && i < rows.size());
  writer->WritesDone();
  absl::Status status = FromGrpcStatus(writer->Finish());
  if (!status.ok()) return status;
  return response;
}

}  // namespace thesis::client
