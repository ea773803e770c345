#include "server/api/thesis_service.h"

#include <openssl/sha.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "server/api/access.h"
#include "server/api/db_call.h"
#include "server/api/grpc_status.h"
#include "server/api/ids.h"
#include "server/api/response_budget.h"
#include "server/api/thesis_bulk.h"
#include "server/common/errors.h"
#include "server/domain/list_query.h"
#include "server/domain/thesis_update.h"
#include "server/domain/thesis_validation.h"

namespace thesis::api {
namespace {

using thesis::v1::Thesis;

constexpr int kMaxBatchGet = 1000;

// Hex SHA-256 of the method and the deterministic serialization of the
// request with its request_id cleared: what makes two requests "the same".
template <typename Request>
std::string RequestHash(absl::string_view method, Request request) {
  request.clear_request_id();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&out);
  }
  std::string input = absl::StrCat(method, "\n", bytes);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

template <typename Request>
std::optional<storage::Idempotency> IdempotencyOf(absl::string_view method,
                                                  const Request& request) {
  if (request.request_id().empty()) return std::nullopt;
  return storage::Idempotency{request.request_id(), RequestHash(method, request)};
}

std::string QueryText(const thesis::v1::ListThesesRequest& request) {
  return absl::StrCat(request.filter(), "\n", request.order_by());
}

}  // namespace

grpc::ServerUnaryReactor* ThesisServiceImpl::CreateThesis(
    grpc::CallbackServerContext* context, const thesis::v1::CreateThesisRequest* request,
    Thesis* response) {
  if (absl::Status denied = access_.Check(context, Role::kWriter); !denied.ok()) {
    return FinishNow(context, denied);
  }
  std::vector<FieldViolation> violations;
  if (!request->has_thesis()) {
    violations.push_back({"thesis", "is required"});
  } else {
    domain::ValidateThesis(request->thesis(), "thesis.", &violations);
  }
  if (!request->thesis_id().empty() && !domain::IsValidThesisId(request->thesis_id())) {
    violations.push_back(
        {"thesis_id", "must be 1-63 characters of [a-z0-9-], not starting or ending with '-'"});
  }
  domain::ValidateRequestId(request->request_id(), "request_id", &violations);
  if (!violations.empty()) return FinishNow(context, InvalidArgumentError(violations));

  Thesis thesis = request->thesis();
  domain::ClearOutputOnlyFields(&thesis);
  thesis.set_name(
      domain::ThesisName(request->thesis_id().empty() ? NewThesisId() : request->thesis_id()));
  auto idem = IdempotencyOf("CreateThesis", *request);
  return StartDbCall(context, pool_,
                     [thesis = std::move(thesis), idem = std::move(idem), response](
                         storage::Session& session, const storage::CallContext& call) {
                       absl::StatusOr<Thesis> created = session.theses().Create(call, thesis, idem);
                       if (!created.ok()) return created.status();
                       *response = std::move(*created);
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* ThesisServiceImpl::GetThesis(grpc::CallbackServerContext* context,
                                                       const thesis::v1::GetThesisRequest* request,
                                                       Thesis* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<std::string> id = domain::ParseThesisName(request->name(), "name");
  if (!id.ok()) return FinishNow(context, id.status());
  return StartDbCall(
      context, pool_,
      [id = std::move(*id), response](storage::Session& session, const storage::CallContext& call) {
        absl::StatusOr<Thesis> thesis = session.theses().Get(call, id);
        if (!thesis.ok()) return thesis.status();
        *response = std::move(*thesis);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ThesisServiceImpl::BatchGetTheses(
    grpc::CallbackServerContext* context, const thesis::v1::BatchGetThesesRequest* request,
    thesis::v1::BatchGetThesesResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  if (request->names_size() > kMaxBatchGet) {
    return FinishNow(context, InvalidFieldError("names", absl::StrCat("must have at most ",
                                                                      kMaxBatchGet, " entries")));
  }
  std::vector<std::string> ids;
  std::vector<FieldViolation> violations;
  for (int i = 0; i < request->names_size(); ++i) {
    absl::StatusOr<std::string> id =
        domain::ParseThesisName(request->names(i), absl::StrCat("names[", i, "]"));
    if (id.ok()) {
      ids.push_back(std::move(*id));
    } else {
      for (FieldViolation& v : FieldViolations(id.status())) violations.push_back(std::move(v));
    }
  }
  if (!violations.empty()) return FinishNow(context, InvalidArgumentError(violations));
  if (ids.empty()) return FinishNow(context, absl::OkStatus());
  return StartDbCall(context, pool_,
                     [ids = std::move(ids), response](storage::Session& session,
                                                      const storage::CallContext& call) {
                       absl::StatusOr<std::vector<Thesis>> theses =
                           session.theses().BatchGet(call, ids);
                       if (!theses.ok()) return theses.status();
                       for (Thesis& t : *theses) *response->add_theses() = std::move(t);
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* ThesisServiceImpl::UpdateThesis(
    grpc::CallbackServerContext* context, const thesis::v1::UpdateThesisRequest* request,
    Thesis* response) {
  if (absl::Status denied = access_.Check(context, Role::kWriter); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<std::string> id = domain::ParseThesisName(request->thesis().name(), "thesis.name");
  if (!id.ok()) return FinishNow(context, id.status());
  absl::Status mask = domain::ValidateUpdateMask(request->update_mask());
  if (!mask.ok()) return FinishNow(context, mask);
  std::vector<FieldViolation> violations;
  domain::ValidateRequestId(request->request_id(), "request_id", &violations);
  if (!violations.empty()) return FinishNow(context, InvalidArgumentError(violations));

  std::string etag = request->etag().empty() ? request->thesis().etag() : request->etag();
  auto idem = IdempotencyOf("UpdateThesis", *request);
  return StartDbCall(context, pool_,
                     [id = std::move(*id), etag = std::move(etag), patch = request->thesis(),
                      mask = request->update_mask(), idem = std::move(idem),
                      response](storage::Session& session, const storage::CallContext& call) {
                       absl::StatusOr<Thesis> updated = session.theses().Update(
                           call, id, etag,
                           [&](Thesis& t) { return domain::ApplyUpdate(patch, mask, &t); }, idem);
                       if (!updated.ok()) return updated.status();
                       *response = std::move(*updated);
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* ThesisServiceImpl::DeleteThesis(
    grpc::CallbackServerContext* context, const thesis::v1::DeleteThesisRequest* request,
    thesis::v1::DeleteThesisResponse*) {
  if (absl::Status denied = access_.Check(context, Role::kAdmin); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<std::string> id = domain::ParseThesisName(request->name(), "name");
  if (!id.ok()) return FinishNow(context, id.status());
  std::vector<FieldViolation> violations;
  domain::ValidateRequestId(request->request_id(), "request_id", &violations);
  if (!violations.empty()) return FinishNow(context, InvalidArgumentError(violations));
  auto idem = IdempotencyOf("DeleteThesis", *request);
  return StartDbCall(context, pool_,
                     [id = std::move(*id), etag = request->etag(), idem = std::move(idem)](
                         storage::Session& session, const storage::CallContext& call) {
                       return session.theses().Delete(call, id, etag, idem);
                     });
}

grpc::ServerUnaryReactor* ThesisServiceImpl::ListTheses(
    grpc::CallbackServerContext* context, const thesis::v1::ListThesesRequest* request,
    thesis::v1::ListThesesResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  domain::ListQuery query;
  absl::StatusOr<int> page_size = domain::NormalizePageSize(request->page_size());
  if (!page_size.ok()) return FinishNow(context, page_size.status());
  query.page_size = *page_size;
  absl::StatusOr<domain::ThesisFilter> filter = domain::ParseThesisFilter(request->filter());
  if (!filter.ok()) return FinishNow(context, filter.status());
  query.filter = std::move(*filter);
  absl::Status order = domain::ParseOrderBy(request->order_by(), &query);
  if (!order.ok()) return FinishNow(context, order);
  std::string query_text = QueryText(*request);
  if (!request->page_token().empty()) {
    absl::StatusOr<domain::SortPosition> after =
        page_tokens_.Decode(query_text, request->page_token());
    if (!after.ok()) return FinishNow(context, after.status());
    query.after = std::move(*after);
  }
  return StartDbCall(
      context, pool_,
      [this, query = std::move(query), query_text = std::move(query_text), response](
          storage::Session& session, const storage::CallContext& call) {
        absl::StatusOr<storage::ListPage> page = session.theses().List(call, query);
        if (!page.ok()) return page.status();
        for (Thesis& t : page->theses) *response->add_theses() = std::move(t);
        // A page of long records ends early and continues after its last one.
        if (const Thesis* last = TrimToBudget(response->mutable_theses())) {
          page->next = domain::PositionOf(
              *last, absl::StripPrefix(last->name(), domain::kThesisCollection), query.order_key);
        }
        if (page->next) {
          response->set_next_page_token(page_tokens_.Encode(query_text, *page->next));
        }
        return absl::OkStatus();
      });
}

}  // namespace thesis::api

namespace thesis::api {

grpc::ServerReadReactor<thesis::v1::ImportThesesRequest>* ThesisServiceImpl::ImportTheses(
    grpc::CallbackServerContext* context, thesis::v1::ImportThesesResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kAdmin); !denied.ok()) {
    return new RefusedReader<thesis::v1::ImportThesesRequest>(ToGrpcStatus(denied));
  }
  return StartImport(context, pool_, response);
}

grpc::ServerWriteReactor<thesis::v1::ExportThesesResponse>* ThesisServiceImpl::ExportTheses(
    grpc::CallbackServerContext* context, const thesis::v1::ExportThesesRequest* request) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return new RefusedWriter<thesis::v1::ExportThesesResponse>(ToGrpcStatus(denied));
  }
  domain::ListQuery query;
  absl::StatusOr<domain::ThesisFilter> filter = domain::ParseThesisFilter(request->filter());
  absl::Status status = filter.status();
  if (status.ok()) {
    query.filter = std::move(*filter);
    status = domain::ParseOrderBy(request->order_by(), &query);
  }
  if (!status.ok()) {
    return new RefusedWriter<thesis::v1::ExportThesesResponse>(ToGrpcStatus(status));
  }
  return StartExport(context, pool_, std::move(query));
}

}  // namespace thesis::api
