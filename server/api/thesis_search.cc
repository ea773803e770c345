// ThesisService.SearchTheses: request validation, the storage search, and
// snippets and facet labels for the page (docs/search.md).
#include <algorithm>
#include <string>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/api/db_call.h"
#include "server/api/thesis_service.h"
#include "server/common/errors.h"
#include "server/domain/class_tree.h"
#include "server/domain/search_index.h"
#include "server/domain/search_query.h"
#include "server/domain/thesis_validation.h"

namespace thesis::api {
namespace {

namespace search = domain::search;

constexpr int kDefaultSearchPageSize = 20;
constexpr int kMaxSearchPageSize = 100;
constexpr int kDefaultFacetSize = 10;
constexpr int kMaxFacetSize = 100;

absl::StatusOr<int> SizeOr(int value, int default_value, int max_value, absl::string_view field) {
  if (value < 0) return InvalidFieldError(field, "must not be negative");
  if (value == 0) return default_value;
  return std::min(value, max_value);
}

absl::Status ParseSearchOrder(absl::string_view order_by, storage::SearchQuery* q) {
  std::string text = absl::AsciiStrToLower(absl::StripAsciiWhitespace(order_by));
  q->descending = false;
  if (absl::EndsWith(text, " desc")) {
    q->descending = true;
    text = std::string(absl::StripAsciiWhitespace(text.substr(0, text.size() - 5)));
  } else if (absl::EndsWith(text, " asc")) {
    text = std::string(absl::StripAsciiWhitespace(text.substr(0, text.size() - 4)));
  }
  if (text.empty() || text == "relevance") {
    if (q->descending) return InvalidFieldError("order_by", "relevance is always best first");
    q->order = storage::SearchOrder::kRelevance;
  } else if (text == "degree_year") {
    q->order = storage::SearchOrder::kDegreeYear;
  } else if (text == "downloads") {
    q->order = storage::SearchOrder::kDownloads;
  } else {
    return InvalidFieldError("order_by",
                             absl::StrCat("unknown order `", order_by,
                                          "`: use relevance, degree_year or downloads, the last "
                                          "two optionally followed by desc"));
  }
  return absl::OkStatus();
}

std::string QueryText(const thesis::v1::SearchThesesRequest& request) {
  return absl::StrCat("search\n", request.query(), "\n", request.filter(), "\n",
                      request.order_by());
}

thesis::v1::FacetField ProtoField(storage::FacetField field) {
  switch (field) {
    case storage::FacetField::kDegreeYear:
      return thesis::v1::FACET_FIELD_DEGREE_YEAR;
    case storage::FacetField::kDegreeLevel:
      return thesis::v1::FACET_FIELD_DEGREE_LEVEL;
    case storage::FacetField::kInstitution:
      return thesis::v1::FACET_FIELD_INSTITUTION;
    case storage::FacetField::kDiscipline:
      return thesis::v1::FACET_FIELD_DISCIPLINE;
    case storage::FacetField::kClcTop:
      return thesis::v1::FACET_FIELD_CLC_CLASS;
  }
  return thesis::v1::FACET_FIELD_UNSPECIFIED;
}

// Names of the top-level CLC classes (A 马克思主义、列宁主义..., T 工业技术):
// the built-in table's, which every edition shares.
const absl::flat_hash_map<std::string, std::string>& ClcTopNames() {
  static const auto* names = [] {
    auto* out = new absl::flat_hash_map<std::string, std::string>();
    for (const domain::classes::ClassRow& row :
         domain::classes::BuiltinRows(domain::classes::kClc)) {
      if (row.parent.empty()) out->emplace(row.code, row.name);
    }
    return out;
  }();
  return *names;
}

void FillFacetValue(storage::FacetField field, const storage::FacetCount& in,
                    thesis::v1::FacetValue* out) {
  out->set_count(in.count);
  out->set_value(in.value);
  out->set_label(in.value);
  if (field == storage::FacetField::kDegreeLevel) {
    int level = 0;
    if (absl::SimpleAtoi(in.value, &level)) {
      const std::string& name = thesis::v1::DegreeLevel_Name(level);
      out->set_value(absl::StartsWith(name, "DEGREE_LEVEL_") ? name.substr(13) : name);
      out->set_label(
          std::string(domain::DegreeLevelName(static_cast<thesis::v1::DegreeLevel>(level))));
    }
  } else if (field == storage::FacetField::kClcTop) {
    if (auto it = ClcTopNames().find(in.value); it != ClcTopNames().end()) {
      out->set_label(it->second);
    }
  }
}

thesis::v1::SnippetField ProtoSnippetField(search::SnippetField field) {
  switch (field) {
    case search::SnippetField::kTitle:
      return thesis::v1::SNIPPET_FIELD_TITLE;
    case search::SnippetField::kKeywords:
      return thesis::v1::SNIPPET_FIELD_KEYWORDS;
    case search::SnippetField::kAbstract:
      return thesis::v1::SNIPPET_FIELD_ABSTRACT;
    case search::SnippetField::kNone:
      break;
  }
  return thesis::v1::SNIPPET_FIELD_UNSPECIFIED;
}

}  // namespace

grpc::ServerUnaryReactor* ThesisServiceImpl::SearchTheses(
    grpc::CallbackServerContext* context, const thesis::v1::SearchThesesRequest* request,
    thesis::v1::SearchThesesResponse* response) {
  if (absl::Status denied = access_.Check(context, Role::kReader); !denied.ok()) {
    return FinishNow(context, denied);
  }
  storage::SearchQuery q;
  if (absl::StripAsciiWhitespace(request->query()).empty()) {
    return FinishNow(context, InvalidFieldError("query", "required"));
  }
  absl::StatusOr<search::Query> parsed = search::ParseQuery(request->query());
  if (!parsed.ok()) {
    return FinishNow(context,
                     InvalidFieldError("query", parsed.status().message(), "INVALID_QUERY"));
  }
  q.query = *std::move(parsed);
  absl::StatusOr<int> page_size =
      SizeOr(request->page_size(), kDefaultSearchPageSize, kMaxSearchPageSize, "page_size");
  if (!page_size.ok()) return FinishNow(context, page_size.status());
  q.limit = *page_size;
  absl::StatusOr<int> facet_size =
      SizeOr(request->facet_size(), kDefaultFacetSize, kMaxFacetSize, "facet_size");
  if (!facet_size.ok()) return FinishNow(context, facet_size.status());
  q.facet_limit = request->skip_facets() ? 0 : *facet_size;
  absl::StatusOr<domain::ThesisFilter> filter = domain::ParseThesisFilter(request->filter());
  if (!filter.ok()) return FinishNow(context, filter.status());
  q.filter = *std::move(filter);
  if (absl::Status order = ParseSearchOrder(request->order_by(), &q); !order.ok()) {
    return FinishNow(context, order);
  }
  std::string query_text = QueryText(*request);
  if (!request->page_token().empty()) {
    absl::StatusOr<domain::SortPosition> after =
        page_tokens_.Decode(query_text, request->page_token());
    if (!after.ok()) return FinishNow(context, after.status());
    if (!std::holds_alternative<int64_t>(after->key)) {
      return FinishNow(context, InvalidFieldError("page_token", "not a token of this query"));
    }
    q.after = *std::move(after);
  }
  return StartDbCall(
      context, pool_,
      [this, q = std::move(q), query_text = std::move(query_text), response](
          storage::Session& session, const storage::CallContext& call) {
        absl::StatusOr<storage::SearchPage> page = session.theses().Search(call, q);
        if (!page.ok()) return page.status();
        for (storage::SearchHit& hit : page->hits) {
          thesis::v1::SearchHit* out = response->add_hits();
          search::SearchSnippet snippet = search::Snippet(q.query, hit.thesis);
          out->set_snippet_field(ProtoSnippetField(snippet.field));
          out->set_snippet(std::move(snippet.html));
          out->set_score(static_cast<int32_t>(hit.score));
          out->set_downloads(hit.downloads);
          *out->mutable_thesis() = std::move(hit.thesis);
        }
        if (page->next) {
          response->set_next_page_token(page_tokens_.Encode(query_text, *page->next));
        }
        if (q.facet_limit > 0) {
          response->set_total_size(page->total_size);
          for (const storage::SearchFacet& facet : page->facets) {
            thesis::v1::Facet* out = response->add_facets();
            out->set_field(ProtoField(facet.field));
            out->set_distinct_values(facet.distinct_values);
            for (const storage::FacetCount& value : facet.values) {
              FillFacetValue(facet.field, value, out->add_values());
            }
          }
        }
        return absl::OkStatus();
      });
}

}  // namespace thesis::api
