#include "server/api/thesis_bulk.h"

#include <atomic>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/api/grpc_status.h"
#include "server/api/ids.h"
#include "server/common/errors.h"
#include "server/domain/import_key.h"
#include "server/domain/thesis_validation.h"

namespace thesis::api {
namespace {

using thesis::v1::Thesis;

absl::Time DeadlineOf(grpc::CallbackServerContext* context) {
  const auto deadline = context->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

absl::Status Overloaded() {
  return WithReason(absl::ResourceExhaustedError("the server is overloaded; retry with backoff"),
                    "SERVER_OVERLOADED");
}

class ImportReactor : public grpc::ServerReadReactor<thesis::v1::ImportThesesRequest> {
 public:
  ImportReactor(grpc::CallbackServerContext* context, WorkerPool& pool,
                thesis::v1::ImportThesesResponse* response)
      : pool_(pool), response_(response), deadline_(DeadlineOf(context)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client finished sending (or went away: then Finish is moot).
      reading_done_ = true;
      Seal();
      Continue();
      return;
    }
    for (const Thesis& thesis : request_.theses()) Add(thesis);
    request_.Clear();
    Continue();
  }

  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { delete this; }

 private:
  struct Batch {
    std::vector<storage::ImportItem> items;
    std::vector<int64_t> indexes;
    absl::flat_hash_set<std::string> identities;
  };

  void Fail(int64_t index, const std::string& field, const std::string& reason) {
    response_->set_failed(response_->failed() + 1);
    if (response_->failures_size() < kMaxReportedFailures) {
      auto* failure = response_->add_failures();
      failure->set_index(index);
      failure->set_field(field);
      failure->set_reason(reason);
    }
  }

  void Add(const Thesis& thesis) {
    const int64_t index = next_index_++;
    std::vector<FieldViolation> violations;
    storage::ImportItem item;
    if (!thesis.name().empty()) {
      absl::StatusOr<std::string> id = domain::ParseThesisName(thesis.name(), "name");
      if (!id.ok()) {
        for (FieldViolation& v : FieldViolations(id.status())) violations.push_back(std::move(v));
      } else {
        item.id = *id;
        item.id_given = true;
      }
    }
    domain::ValidateThesis(thesis, "", &violations);
    if (!violations.empty()) {
      Fail(index, violations.front().field, violations.front().description);
      return;
    }
    item.thesis = thesis;
    domain::ClearOutputOnlyFields(&item.thesis);
    if (!item.id_given) item.id = NewThesisId();
    item.import_key = domain::ImportKey(item.thesis);
    // A record that matches one already in this batch goes to the next one,
    // so each batch sees every identity once, in stream order.
    std::string identity = item.id_given ? absl::StrCat("id:", item.id) : item.import_key;
    if (current_.identities.count(identity)) Seal();
    current_.identities.insert(std::move(identity));
    current_.items.push_back(std::move(item));
    current_.indexes.push_back(index);
    if (current_.items.size() >= kImportBatchSize) Seal();
  }

  void Seal() {
    if (current_.items.empty()) return;
    ready_.push_back(std::move(current_));
    current_ = Batch();
  }

  // Next step: write a ready batch, read more, or finish.
  void Continue() {
    if (cancelled_) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the import was cancelled"));
    } else if (!ready_.empty()) {
      WriteNextBatch();
    } else if (reading_done_) {
      Finish(grpc::Status::OK);
    } else {
      StartRead(&request_);
    }
  }

  void WriteNextBatch() {
    auto batch = std::make_shared<Batch>(std::move(ready_.front()));
    ready_.pop_front();
    const bool queued = pool_.TrySubmit([this, batch](storage::Session& session) {
      absl::Status status;
      if (absl::Now() >= deadline_) {
        status = absl::DeadlineExceededError("the deadline expired during the import");
      } else {
        storage::CallContext call;
        call.deadline = deadline_;
        absl::StatusOr<std::vector<storage::ImportOutcome>> outcomes =
            session.theses().Import(call, batch->items);
        status = outcomes.status();
        if (outcomes.ok()) {
          for (storage::ImportOutcome outcome : *outcomes) {
            switch (outcome) {
              case storage::ImportOutcome::kCreated:
                response_->set_created(response_->created() + 1);
                break;
              case storage::ImportOutcome::kUpdated:
                response_->set_updated(response_->updated() + 1);
                break;
              case storage::ImportOutcome::kUnchanged:
                response_->set_unchanged(response_->unchanged() + 1);
                break;
            }
          }
        }
      }
      if (!status.ok()) {
        // What committed before stays; running the import again completes it.
        Finish(ToGrpcStatus(status));
        return;
      }
      Continue();
    });
    if (!queued) Finish(ToGrpcStatus(Overloaded()));
  }

  WorkerPool& pool_;
  thesis::v1::ImportThesesResponse* response_;
  const absl::Time deadline_;
  thesis::v1::ImportThesesRequest request_;
  int64_t next_index_ = 0;
  Batch current_;
  std::deque<Batch> ready_;
  bool reading_done_ = false;
  std::atomic<bool> cancelled_{false};
};

class ExportReactor : public grpc::ServerWriteReactor<thesis::v1::ExportThesesResponse> {
 public:
  ExportReactor(grpc::CallbackServerContext* context, WorkerPool& pool, domain::ListQuery query)
      : pool_(pool), query_(std::move(query)), deadline_(DeadlineOf(context)) {
    query_.page_size = kExportPageSize;
    query_.after.reset();
    FetchNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client stopped reading"));
    } else if (more_) {
      FetchNext();
    } else {
      Finish(grpc::Status::OK);
    }
  }

  void OnDone() override { delete this; }

 private:
  void FetchNext() {
    const bool queued = pool_.TrySubmit([this](storage::Session& session) {
      storage::CallContext call;
      call.deadline = deadline_;
      absl::StatusOr<storage::ListPage> page = session.theses().List(call, query_);
      if (!page.ok()) {
        Finish(ToGrpcStatus(page.status()));
        return;
      }
      response_.Clear();
      for (Thesis& t : page->theses) *response_.add_theses() = std::move(t);
      more_ = page->next.has_value();
      query_.after = page->next;
      if (response_.theses_size() == 0) {
        Finish(grpc::Status::OK);
      } else {
        StartWrite(&response_);
      }
    });
    if (!queued) Finish(ToGrpcStatus(Overloaded()));
  }

  WorkerPool& pool_;
  domain::ListQuery query_;
  const absl::Time deadline_;
  thesis::v1::ExportThesesResponse response_;
  bool more_ = false;
};

}  // namespace

grpc::ServerReadReactor<thesis::v1::ImportThesesRequest>* StartImport(
    grpc::CallbackServerContext* context, WorkerPool& pool,
    thesis::v1::ImportThesesResponse* response) {
  return new ImportReactor(context, pool, response);
}

grpc::ServerWriteReactor<thesis::v1::ExportThesesResponse>* StartExport(
    grpc::CallbackServerContext* context, WorkerPool& pool, domain::ListQuery query) {
  return new ExportReactor(context, pool, std::move(query));
}

}  // namespace thesis::api
