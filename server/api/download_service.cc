#include "server/api/download_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/api/access.h"
#include "server/api/db_call.h"
#include "server/api/grpc_status.h"
#include "server/common/errors.h"
#include "server/domain/download_validation.h"
#include "server/domain/list_query.h"
#include "server/domain/thesis_validation.h"
#include "server/storage/storage_errors.h"

namespace thesis::api {
namespace {

namespace v1 = thesis::v1;
using domain::counter::Counts;
using domain::counter::Outcome;

constexpr int kMaxBatchCounts = 1000;
constexpr int kDefaultTop = 20;
constexpr int kMaxTop = 1000;
constexpr int kDefaultReportItems = 100;
constexpr int kMaxReportItems = 1000;
constexpr int kMaxReportMonths = 36;
constexpr int kMaxSeriesPoints = 3700;

v1::DownloadOutcome ToProto(Outcome o) {
  switch (o) {
    case Outcome::kCounted:
      return v1::COUNTED;
    case Outcome::kDoubleClick:
      return v1::DOUBLE_CLICK;
    case Outcome::kRobot:
      return v1::ROBOT;
    case Outcome::kNotSuccessful:
      return v1::NOT_SUCCESSFUL;
    case Outcome::kDuplicateRequest:
      return v1::DUPLICATE_REQUEST;
  }
  return v1::DOWNLOAD_OUTCOME_UNSPECIFIED;
}

void ToProto(const storage::RecordedEvent& r, v1::RecordDownloadResponse* out) {
  if (!r.thesis_found) {
    out->set_outcome(v1::UNKNOWN_THESIS);
    return;
  }
  out->set_outcome(ToProto(r.outcome));
  if (r.outcome == Outcome::kDuplicateRequest) out->set_first_outcome(ToProto(r.first_outcome));
}

void ToProto(const Counts& c, v1::CounterMetrics* out) {
  out->set_total_item_investigations(c.total_investigations);
  out->set_unique_item_investigations(c.unique_investigations);
  out->set_total_item_requests(c.total_requests);
  out->set_unique_item_requests(c.unique_requests);
}

absl::StatusOr<storage::Metric> ToMetric(v1::CounterMetric m, absl::string_view field) {
  switch (m) {
    case v1::TOTAL_ITEM_INVESTIGATIONS:
      return storage::Metric::kTotalInvestigations;
    case v1::UNIQUE_ITEM_INVESTIGATIONS:
      return storage::Metric::kUniqueInvestigations;
    case v1::TOTAL_ITEM_REQUESTS:
      return storage::Metric::kTotalRequests;
    case v1::UNIQUE_ITEM_REQUESTS:
      return storage::Metric::kUniqueRequests;
    default:
      return InvalidFieldError(field, "must be one of the four COUNTER item metrics");
  }
}

absl::StatusOr<int> PageSize(int value, int default_size, int max, absl::string_view field) {
  if (value < 0 || value > max) {
    return InvalidFieldError(field, absl::StrCat("must be between 0 and ", max));
  }
  return value == 0 ? default_size : value;
}

// Finishes `reactor` from the recorder's answer.
template <typename Fill>
DownloadRecorder::Done FinishWith(grpc::ServerUnaryReactor* reactor, Fill fill) {
  return [reactor, fill = std::move(fill)](
             absl::StatusOr<std::vector<storage::RecordedEvent>> results) mutable {
    if (!results.ok()) {
      reactor->Finish(ToGrpcStatus(results.status()));
      return;
    }
    reactor->Finish(ToGrpcStatus(fill(*results)));
  };
}

std::string ReportQueryText(const v1::GetItemReportRequest& r) {
  std::vector<int> metrics(r.metrics().begin(), r.metrics().end());
  return absl::StrCat("report\n", r.begin_month(), "\n", r.end_month(), "\n", r.filter(), "\n",
                      absl::StrJoin(metrics, ","));
}

}  // namespace

grpc::ServerUnaryReactor* DownloadServiceImpl::RecordDownload(
    grpc::CallbackServerContext* context, const v1::RecordDownloadRequest* request,
    v1::RecordDownloadResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kRecorder); !denied.ok()) {
    return FinishNow(context, denied);
  }
  std::vector<FieldViolation> violations;
  domain::counter::Event event;
  if (!request->has_event()) {
    violations.push_back({"event", "is required"});
  } else {
    domain::ToCounterEvent(request->event(), "event.", absl::Now(), &event, &violations);
  }
  if (!violations.empty()) return FinishNow(context, InvalidArgumentError(violations));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string id = event.item;
  std::vector<domain::counter::Event> events;
  events.push_back(std::move(event));
  const bool queued = recorder_.TrySubmit(
      std::move(events), DeadlineOf(context),
      FinishWith(reactor, [response, id](const std::vector<storage::RecordedEvent>& results) {
        if (!results[0].thesis_found) return storage::ThesisNotFound(id);
        ToProto(results[0], response);
        return absl::OkStatus();
      }));
  if (!queued) reactor->Finish(ToGrpcStatus(OverloadedError()));
  return reactor;
}

grpc::ServerUnaryReactor* DownloadServiceImpl::BatchRecordDownloads(
    grpc::CallbackServerContext* context, const v1::BatchRecordDownloadsRequest* request,
    v1::BatchRecordDownloadsResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kRecorder); !denied.ok()) {
    return FinishNow(context, denied);
  }
  if (request->events_size() == 0 || request->events_size() > domain::kMaxEventsPerBatch) {
    return FinishNow(
        context, InvalidFieldError("events", absl::StrCat("must hold 1 to ",
                                                          domain::kMaxEventsPerBatch, " events")));
  }
  std::vector<FieldViolation> violations;
  std::vector<domain::counter::Event> events(request->events_size());
  const absl::Time now = absl::Now();
  for (int i = 0; i < request->events_size(); ++i) {
    domain::ToCounterEvent(request->events(i), absl::StrCat("events[", i, "]."), now, &events[i],
                           &violations);
  }
  if (!violations.empty()) return FinishNow(context, InvalidArgumentError(violations));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool queued = recorder_.TrySubmit(
      std::move(events), DeadlineOf(context),
      FinishWith(reactor, [response](const std::vector<storage::RecordedEvent>& results) {
        for (const storage::RecordedEvent& r : results) ToProto(r, response->add_results());
        return absl::OkStatus();
      }));
  if (!queued) reactor->Finish(ToGrpcStatus(OverloadedError()));
  return reactor;
}

grpc::ServerUnaryReactor* DownloadServiceImpl::GetDownloadStats(
    grpc::CallbackServerContext* context, const v1::GetDownloadStatsRequest* request,
    v1::GetDownloadStatsResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  absl::StatusOr<std::string> id = domain::ParseThesisName(request->thesis(), "thesis");
  if (!id.ok()) return FinishNow(context, id.status());
  absl::StatusOr<domain::DateRange> range =
      domain::ParseDateRange(request->start_date(), request->end_date(), "start_date", "end_date");
  if (!range.ok()) return FinishNow(context, range.status());
  const v1::Granularity granularity = request->granularity();
  if (granularity == v1::DAILY && !request->start_date().empty() && !request->end_date().empty() &&
      range->last - range->first >= kMaxSeriesPoints) {
    return FinishNow(context,
                     InvalidFieldError("end_date", absl::StrCat("a daily series has at most ",
                                                                kMaxSeriesPoints, " days")));
  }
  response->set_thesis(request->thesis());
  return StartDbCall(
      context, pool_,
      [id = *id, range = *range, granularity, response](storage::Session& session,
                                                        const storage::CallContext& call) {
        absl::StatusOr<storage::DownloadStats> stats =
            session.downloads().Stats(call, id, storage::DayRange{range.first, range.last});
        if (!stats.ok()) return stats.status();
        if (!stats->thesis_found && stats->days.empty()) return storage::ThesisNotFound(id);
        if (stats->legacy_download_count) {
          response->set_legacy_download_count(*stats->legacy_download_count);
        }
        Counts total;
        for (const storage::DayCounts& d : stats->days) total += d.counts;
        ToProto(total, response->mutable_metrics());
        if (granularity == v1::GRANULARITY_UNSPECIFIED || stats->days.empty()) {
          return absl::OkStatus();
        }
        // Every period of the range, zeros included; an open end stops at
        // the first or last day with counts.
        const absl::CivilDay first =
            range.first == domain::DateRange().first ? stats->days.front().day : range.first;
        const absl::CivilDay last =
            range.last == domain::DateRange().last ? stats->days.back().day : range.last;
        size_t next = 0;
        if (granularity == v1::DAILY) {
          if (last - first >= kMaxSeriesPoints) {
            return InvalidFieldError("start_date", absl::StrCat("a daily series has at most ",
                                                                kMaxSeriesPoints, " days"));
          }
          for (absl::CivilDay day = first; day <= last; ++day) {
            Counts c;
            while (next < stats->days.size() && stats->days[next].day == day) {
              c += stats->days[next++].counts;
            }
            v1::DownloadStatsPoint* point = response->add_series();
            point->set_period(absl::FormatCivilTime(day));
            ToProto(c, point->mutable_metrics());
          }
        } else {
          for (absl::CivilMonth month(first); month <= absl::CivilMonth(last); ++month) {
            Counts c;
            while (next < stats->days.size() && absl::CivilMonth(stats->days[next].day) == month) {
              c += stats->days[next++].counts;
            }
            v1::DownloadStatsPoint* point = response->add_series();
            point->set_period(absl::FormatCivilTime(month));
            ToProto(c, point->mutable_metrics());
          }
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DownloadServiceImpl::BatchGetDownloadCounts(
    grpc::CallbackServerContext* context, const v1::BatchGetDownloadCountsRequest* request,
    v1::BatchGetDownloadCountsResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  if (request->theses_size() == 0 || request->theses_size() > kMaxBatchCounts) {
    return FinishNow(context, InvalidFieldError("theses", absl::StrCat("must hold 1 to ",
                                                                       kMaxBatchCounts, " names")));
  }
  std::vector<std::string> ids;
  std::vector<FieldViolation> violations;
  for (int i = 0; i < request->theses_size(); ++i) {
    absl::StatusOr<std::string> id =
        domain::ParseThesisName(request->theses(i), absl::StrCat("theses[", i, "]"));
    if (id.ok()) {
      ids.push_back(std::move(*id));
    } else {
      for (FieldViolation& v : FieldViolations(id.status())) violations.push_back(std::move(v));
    }
  }
  if (!violations.empty()) return FinishNow(context, InvalidArgumentError(violations));
  return StartDbCall(context, pool_,
                     [ids = std::move(ids), response](storage::Session& session,
                                                      const storage::CallContext& call) {
                       absl::StatusOr<std::vector<storage::ThesisCounts>> totals =
                           session.downloads().Totals(call, ids);
                       if (!totals.ok()) return totals.status();
                       for (const storage::ThesisCounts& t : *totals) {
                         // All or nothing: a thesis that never existed is an error; a
                         // deleted one with counted history is reported.
                         if (!t.thesis_found && t.counts == Counts()) {
                           response->Clear();
                           return storage::ThesisNotFound(t.id);
                         }
                         v1::DownloadCounts* out = response->add_counts();
                         out->set_thesis(domain::ThesisName(t.id));
                         ToProto(t.counts, out->mutable_metrics());
                         if (t.legacy_download_count) {
                           out->set_legacy_download_count(*t.legacy_download_count);
                         }
                       }
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* DownloadServiceImpl::ListTopTheses(
    grpc::CallbackServerContext* context, const v1::ListTopThesesRequest* request,
    v1::ListTopThesesResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  storage::TopQuery query;
  absl::StatusOr<storage::Metric> metric = ToMetric(request->metric(), "metric");
  if (!metric.ok()) return FinishNow(context, metric.status());
  query.metric = *metric;
  absl::StatusOr<domain::DateRange> range =
      domain::ParseDateRange(request->start_date(), request->end_date(), "start_date", "end_date");
  if (!range.ok()) return FinishNow(context, range.status());
  query.range = {range->first, range->last};
  absl::StatusOr<domain::ThesisFilter> filter = domain::ParseThesisFilter(request->filter());
  if (!filter.ok()) return FinishNow(context, filter.status());
  query.filter = std::move(*filter);
  query.has_filter = !request->filter().empty();
  absl::StatusOr<int> limit = PageSize(request->page_size(), kDefaultTop, kMaxTop, "page_size");
  if (!limit.ok()) return FinishNow(context, limit.status());
  query.limit = *limit;
  return StartDbCall(context, pool_,
                     [query = std::move(query), response](storage::Session& session,
                                                          const storage::CallContext& call) {
                       absl::StatusOr<std::vector<storage::TopRow>> rows =
                           session.downloads().Top(call, query);
                       if (!rows.ok()) return rows.status();
                       for (const storage::TopRow& row : *rows) {
                         v1::TopThesis* out = response->add_theses();
                         out->set_thesis(domain::ThesisName(row.id));
                         out->set_title(row.title);
                         out->set_value(storage::MetricOf(row.counts, query.metric));
                         ToProto(row.counts, out->mutable_metrics());
                       }
                       return absl::OkStatus();
                     });
}

grpc::ServerUnaryReactor* DownloadServiceImpl::GetItemReport(
    grpc::CallbackServerContext* context, const v1::GetItemReportRequest* request,
    v1::GetItemReportResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  storage::ReportQuery query;
  absl::StatusOr<absl::CivilMonth> first =
      domain::ParseMonth(request->begin_month(), "begin_month");
  if (!first.ok()) return FinishNow(context, first.status());
  absl::StatusOr<absl::CivilMonth> last = domain::ParseMonth(request->end_month(), "end_month");
  if (!last.ok()) return FinishNow(context, last.status());
  if (*last < *first || *last - *first >= kMaxReportMonths) {
    return FinishNow(context,
                     InvalidFieldError("end_month", absl::StrCat("must be from begin_month up to ",
                                                                 kMaxReportMonths, " months on")));
  }
  query.first = *first;
  query.last = *last;
  absl::StatusOr<domain::ThesisFilter> filter = domain::ParseThesisFilter(request->filter());
  if (!filter.ok()) return FinishNow(context, filter.status());
  query.filter = std::move(*filter);
  query.has_filter = !request->filter().empty();
  std::vector<storage::Metric> metrics;
  std::vector<v1::CounterMetric> metric_names;
  for (int i = 0; i < request->metrics_size(); ++i) {
    absl::StatusOr<storage::Metric> m =
        ToMetric(request->metrics(i), absl::StrCat("metrics[", i, "]"));
    if (!m.ok()) return FinishNow(context, m.status());
    metrics.push_back(*m);
    metric_names.push_back(request->metrics(i));
  }
  if (metrics.empty()) {
    metrics = {storage::Metric::kTotalInvestigations, storage::Metric::kUniqueInvestigations,
               storage::Metric::kTotalRequests, storage::Metric::kUniqueRequests};
    metric_names = {v1::TOTAL_ITEM_INVESTIGATIONS, v1::UNIQUE_ITEM_INVESTIGATIONS,
                    v1::TOTAL_ITEM_REQUESTS, v1::UNIQUE_ITEM_REQUESTS};
  }
  absl::StatusOr<int> limit =
      PageSize(request->page_size(), kDefaultReportItems, kMaxReportItems, "page_size");
  if (!limit.ok()) return FinishNow(context, limit.status());
  query.limit = *limit;
  const std::string query_text = ReportQueryText(*request);
  if (!request->page_token().empty()) {
    absl::StatusOr<domain::SortPosition> after =
        page_tokens_.Decode(query_text, request->page_token());
    if (!after.ok()) return FinishNow(context, after.status());
    query.after = after->id;
  }
  for (absl::CivilMonth m = query.first; m <= query.last; ++m) {
    response->add_months(absl::FormatCivilTime(m));
  }
  const domain::PageTokenCodec& tokens = page_tokens_;
  return StartDbCall(
      context, pool_,
      [query = std::move(query), metrics = std::move(metrics),
       metric_names = std::move(metric_names), query_text, &tokens,
       response](storage::Session& session, const storage::CallContext& call) {
        absl::StatusOr<storage::ReportPage> page = session.downloads().Report(call, query);
        if (!page.ok()) return page.status();
        for (const storage::ReportItem& item : page->items) {
          for (size_t k = 0; k < metrics.size(); ++k) {
            v1::ItemReportRow* row = response->add_rows();
            row->set_thesis(domain::ThesisName(item.id));
            row->set_title(item.title);
            row->set_institution(item.institution);
            row->set_metric(metric_names[k]);
            int64_t total = 0;
            for (const Counts& c : item.months) {
              const int64_t v = storage::MetricOf(c, metrics[k]);
              row->add_month_counts(v);
              total += v;
            }
            row->set_reporting_period_total(total);
          }
        }
        if (page->more && !page->items.empty()) {
          response->set_next_page_token(tokens.Encode(
              query_text, domain::SortPosition{std::string(), page->items.back().id}));
        }
        return absl::OkStatus();
      });
}

}  // namespace thesis::api
