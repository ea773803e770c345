#include "server/api/thesis_bulk.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "server/api/db_call.h"
#include "server/api/grpc_status.h"
#include "server/api/ids.h"
#include "server/api/response_budget.h"
#include "server/common/errors.h"
#include "server/domain/import_key.h"
#include "server/domain/search_index.h"
#include "server/domain/thesis_validation.h"

namespace thesis::api {
namespace {

using thesis::v1::Thesis;

// Reading and writing overlap: while batches are written on workers (up to
// kMaxWriters at once, never two that share a record, so that a record's
// later version is written after its earlier one), the next messages are
// read and validated, up to kMaxSealedBatches waiting. Callbacks of both
// sides meet under mu_.
class ImportReactor : public grpc::ServerReadReactor<thesis::v1::ImportThesesRequest> {
 public:
  ImportReactor(grpc::CallbackServerContext* context, WorkerPool& pool,
                thesis::v1::ImportThesesResponse* response)
      : pool_(pool), deadline_(DeadlineOf(context)), response_(response) {
    reading_ = true;
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    // Validation and indexing run outside mu_ (only one read is ever pending,
    // so request_ is this callback's alone): a batch being written is never
    // held up by them, and the index is computed while the database works.
    std::vector<Prepared> prepared;
    if (ok) {
      prepared.reserve(request_.theses_size());
      for (Thesis& thesis : *request_.mutable_theses()) {
        prepared.push_back(Prepare(std::move(thesis)));
      }
      request_.Clear();
    }
    Action action;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      if (!ok) {
        // The client finished sending (or went away: then Finish is moot).
        reading_done_ = true;
        Seal();
      } else {
        for (Prepared& p : prepared) Add(std::move(p));
      }
      action = NextAction();
    }
    Do(std::move(action));
  }

  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&mu_);
      if (error_.ok()) error_ = absl::CancelledError("the import was cancelled");
      action = NextAction();
    }
    Do(std::move(action));
  }

  void OnDone() override { delete this; }

 private:
  static constexpr size_t kMaxSealedBatches = 2;
  // Two writers keep both cores busy: one batch's COPY runs while the other
  // places its theses in the classes or commits (docs/benchmarks.md).
  static constexpr size_t kMaxWriters = 2;

  struct Batch {
    std::vector<storage::ImportItem> items;
    size_t bytes = 0;  // of the records, as messages
    // What each record matches by: its id when given, else its key.
    absl::flat_hash_set<std::string> identities;
    // Every record's key: a record given by id can still match a stored
    // record by key (and one by key the record another holds by id).
    absl::flat_hash_set<std::string> keys;

    // Whether this batch and `other` may hold the same record.
    bool Overlaps(const Batch& other) const {
      for (const std::string& i : identities) {
        if (other.identities.contains(i)) return true;
      }
      for (const std::string& k : keys) {
        if (other.keys.contains(k)) return true;
      }
      return false;
    }
  };

  struct Action {
    std::vector<std::shared_ptr<Batch>> write;
    bool read = false;
    std::optional<absl::Status> finish;
  };

  void Fail(int64_t index, const std::string& field, const std::string& reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    response_->set_failed(response_->failed() + 1);
    if (response_->failures_size() < kMaxReportedFailures) {
      auto* failure = response_->add_failures();
      failure->set_index(index);
      failure->set_field(field);
      failure->set_reason(reason);
    }
  }

  // A record of the stream, checked and made ready to write, or the first
  // reason it cannot be.
  struct Prepared {
    std::optional<storage::ImportItem> item;
    std::string field, reason;
  };

  static Prepared Prepare(Thesis thesis) {
    Prepared prepared;
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
      prepared.field = violations.front().field;
      prepared.reason = violations.front().description;
      return prepared;
    }
    item.thesis = std::move(thesis);
    domain::ClearOutputOnlyFields(&item.thesis);
    if (!item.id_given) item.id = NewThesisId();
    item.import_key = domain::ImportKey(item.thesis);
    item.index = domain::search::IndexRecord(item.thesis, /*binary=*/true);
    prepared.item = std::move(item);
    return prepared;
  }

  void Add(Prepared prepared) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const int64_t index = next_index_++;
    if (!prepared.item) {
      Fail(index, prepared.field, prepared.reason);
      return;
    }
    storage::ImportItem& item = *prepared.item;
    // A record that matches one already in this batch goes to the next one,
    // so each batch sees every identity once, in stream order.
    std::string identity = item.id_given ? absl::StrCat("id:", item.id) : item.import_key;
    if (current_.identities.count(identity)) Seal();
    current_.identities.insert(std::move(identity));
    current_.keys.insert(item.import_key);
    current_.bytes += item.thesis.ByteSizeLong();
    current_.items.push_back(std::move(item));
    if (current_.items.size() >= kImportBatchSize || current_.bytes >= kImportBatchBytes) Seal();
  }

  void Seal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (current_.items.empty()) return;
    sealed_.push_back(std::make_shared<Batch>(std::move(current_)));
    current_ = Batch();
  }

  // What to start next, decided under mu_ and done outside it.
  Action NextAction() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Action action;
    if (finished_) return action;
    if (!error_.ok()) {
      // What committed before stays; running the import again completes it.
      if (writing_.empty()) {
        finished_ = true;
        action.finish = error_;
      }
      return action;
    }
    // Batches start in stream order: the first waiting one, once it shares
    // no record with a batch being written.
    while (writing_.size() < kMaxWriters && !sealed_.empty() &&
           std::none_of(writing_.begin(), writing_.end(),
                        [&](const auto& w) { return w->Overlaps(*sealed_.front()); })) {
      writing_.push_back(sealed_.front());
      action.write.push_back(std::move(sealed_.front()));
      sealed_.pop_front();
    }
    if (!reading_ && !reading_done_ && sealed_.size() < kMaxSealedBatches) {
      reading_ = true;
      action.read = true;
    }
    if (writing_.empty() && !reading_ && reading_done_ && sealed_.empty()) {
      finished_ = true;
      action.finish = absl::OkStatus();
    }
    return action;
  }

  void Do(Action action) {
    for (std::shared_ptr<Batch>& batch : action.write) Write(std::move(batch));
    if (action.read) StartRead(&request_);
    if (action.finish) Finish(ToGrpcStatus(*action.finish));
  }

  void Write(std::shared_ptr<Batch> batch) {
    const bool queued = pool_.TrySubmit([this, batch](storage::Session& session) {
      absl::StatusOr<std::vector<storage::ImportOutcome>> outcomes;
      if (absl::Now() >= deadline_) {
        outcomes = absl::DeadlineExceededError("the deadline expired during the import");
      } else {
        storage::CallContext call;
        call.deadline = deadline_;
        outcomes = session.theses().Import(call, batch->items);
      }
      Action action;
      {
        absl::MutexLock lock(&mu_);
        Written(*batch);
        if (!outcomes.ok()) {
          if (error_.ok()) error_ = outcomes.status();
        } else {
          for (storage::ImportOutcome outcome : *outcomes) Count(outcome);
        }
        action = NextAction();
      }
      Do(std::move(action));
    });
    if (!queued) {
      Action action;
      {
        absl::MutexLock lock(&mu_);
        Written(*batch);
        if (error_.ok()) error_ = OverloadedError();
        action = NextAction();
      }
      Do(std::move(action));
    }
  }

  void Written(const Batch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_.erase(std::find_if(writing_.begin(), writing_.end(),
                                [&](const auto& w) { return w.get() == &batch; }));
  }

  void Count(storage::ImportOutcome outcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
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

  WorkerPool& pool_;
  const absl::Time deadline_;
  absl::Mutex mu_;
  thesis::v1::ImportThesesResponse* response_ ABSL_GUARDED_BY(mu_);
  thesis::v1::ImportThesesRequest request_;  // owned by the pending read
  int64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  Batch current_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<Batch>> sealed_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_done_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::shared_ptr<Batch>> writing_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
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
    } else if (next_ < page_.theses_size()) {
      WriteNext();
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
      page_.Clear();
      for (Thesis& t : page->theses) *page_.add_theses() = std::move(t);
      next_ = 0;
      more_ = page->next.has_value();
      query_.after = page->next;
      if (page_.theses_size() == 0) {
        Finish(grpc::Status::OK);
      } else {
        WriteNext();
      }
    });
    if (!queued) Finish(ToGrpcStatus(OverloadedError()));
  }

  // The next records of the page that fit one message (response_budget.h).
  void WriteNext() {
    const int n = RecordsWithinBudget(page_.theses(), next_);
    response_.Clear();
    for (int i = next_; i < next_ + n; ++i) response_.add_theses()->Swap(page_.mutable_theses(i));
    next_ += n;
    StartWrite(&response_);
  }

  WorkerPool& pool_;
  domain::ListQuery query_;
  const absl::Time deadline_;
  thesis::v1::ExportThesesResponse page_;  // the fetched page; next_ is its first unsent record
  int next_ = 0;
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
