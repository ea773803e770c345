// SearchTheses on PostgreSQL (docs/search.md): one statement finds the
// matches through the GIN index on search_doc, ranks them, cuts the page and
// counts the facets over the same match set; and the backfill of the search
// columns that `thesis-server migrate` runs.
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/domain/search_index.h"
#include "server/storage/pg_session.h"
#include "server/storage/pg_sql.h"

namespace thesis::storage {
namespace {

namespace search = domain::search;

// Placeholders: one per value, in order.
class Params {
 public:
  std::string Add(std::string value) {
    values_.push_back(std::move(value));
    return absl::StrCat("$", values_.size());
  }
  const std::vector<std::string>& values() const { return values_; }

 private:
  std::vector<std::string> values_;
};

std::string PrefixCondition(const std::vector<std::string>& prefixes, Params& params) {
  std::vector<std::string> any;
  for (const std::string& prefix : prefixes) {
    any.push_back(absl::StrCat("starts_with(c, ", params.Add(prefix), "::text)"));
  }
  return absl::StrCat("EXISTS (SELECT 1 FROM unnest(t.search_codes) AS c WHERE ",
                      absl::StrJoin(any, " OR "), ")");
}

// GROUPING(year, level, institution, discipline) of each grouping set, and
// the code of the top-level class rows.
constexpr int kGroupYear = 7, kGroupLevel = 11, kGroupInstitution = 13, kGroupDiscipline = 14,
              kGroupTotal = 15, kGroupClc = 16;

struct SearchSql {
  std::string text;
  Params params;
};

absl::StatusOr<SearchSql> BuildSearchSql(const SearchQuery& q) {
  absl::StatusOr<search::CompiledQuery> compiled = search::CompileTsQuery(q.query);
  if (!compiled.ok()) return compiled.status();
  SearchSql out;
  Params& params = out.params;

  std::string where = "TRUE";
  if (!compiled->tsquery.empty()) {
    absl::StrAppend(&where, " AND t.search_doc @@ ", params.Add(compiled->tsquery), "::tsquery");
  }
  for (const search::ClassFilter& f : compiled->class_filters) {
    std::string any = PrefixCondition(f.class_prefixes, params);
    if (!f.tsquery.empty()) {
      absl::StrAppend(&any, " OR t.search_doc @@ ", params.Add(f.tsquery), "::tsquery");
    }
    absl::StrAppend(&where, " AND (", any, ")");
  }
  for (const std::string& prefix : compiled->excluded_class_prefixes) {
    absl::StrAppend(&where, " AND NOT ", PrefixCondition({prefix}, params));
  }
  AppendFilterSql(
      q.filter, "t.", [&params](std::string v) { return params.Add(std::move(v)); }, &where);

  // The score (search_index.h): the title and keyword conditions read the
  // small head vector, only the phrase condition the whole document.
  const search::RankQueries rank = search::CompileRankQueries(q.query);
  std::vector<std::string> score_parts;
  auto score_part = [&](const std::string& tsquery, const char* column, int points) {
    if (tsquery.empty()) return;
    score_parts.push_back(absl::StrCat("CASE WHEN t.", column, " @@ ", params.Add(tsquery),
                                       "::tsquery THEN ", points, " ELSE 0 END"));
  };
  score_part(rank.title, "search_head", search::kTitleScore);
  score_part(rank.keywords, "search_head", search::kKeywordScore);
  score_part(rank.phrase, "search_doc", search::kPhraseScore);
  const std::string score =
      score_parts.empty() ? "0" : absl::StrCat("(", absl::StrJoin(score_parts, " + "), ")");

  std::string from = "theses t";
  // For relevance the key is the score itself: m computes it once and the
  // page reads it as the key.
  std::string key = "NULL";
  if (q.order == SearchOrder::kDegreeYear) {
    key = "t.degree_year";
  } else if (q.order == SearchOrder::kDownloads) {
    from +=
        " LEFT JOIN LATERAL (SELECT sum(d.total_requests)::bigint AS n FROM download_monthly d "
        "WHERE d.thesis_id = t.id) dn ON true";
    key = "coalesce(dn.n, 0)";
  }
  const bool facets = q.facet_limit > 0;
  // Relevance is best first, ties by id ascending; the other orders break
  // ties by id in their own direction, as ListTheses does.
  const bool relevance = q.order == SearchOrder::kRelevance;
  const bool descending = relevance || q.descending;
  const char* dir = descending ? " DESC" : "";
  const char* id_dir = relevance ? "" : dir;

  std::string m = absl::StrCat("m AS ", facets ? "MATERIALIZED " : "", "(SELECT t.id, ", score,
                               "::int AS score, ", key, "::bigint AS k",
                               facets ? ", nullif(t.degree_year, 0) AS y, "
                                        "nullif(t.degree_level, 0) AS l, nullif(t.institution, '') "
                                        "AS i, nullif(t.discipline, '') AS d, t.search_codes"
                                      : "",
                               " FROM ", from, " WHERE ", where, ")");
  const char* mk = relevance ? "m.score::bigint" : "m.k";
  std::string after = "TRUE";
  if (q.after) {
    const int64_t* k = std::get_if<int64_t>(&q.after->key);
    if (k == nullptr) return absl::InvalidArgumentError("page_token: not a search token");
    const std::string kp = absl::StrCat(params.Add(std::to_string(*k)), "::bigint");
    const std::string ip = absl::StrCat(params.Add(q.after->id), "::text");
    if (relevance) {
      after = absl::StrCat("(", mk, " < ", kp, " OR (", mk, " = ", kp, " AND m.id > ", ip, "))");
    } else {
      after = absl::StrCat("(", mk, ", m.id) ", descending ? "<" : ">", " (", kp, ", ", ip, ")");
    }
  }
  const std::string order = absl::StrCat("sort_key", dir, ", id", id_dir);
  std::string text = absl::StrCat("WITH ", m, ", p AS (SELECT m.id, m.score, ", mk,
                                  " AS sort_key FROM m WHERE ", after, " ORDER BY ", order,
                                  " LIMIT ", params.Add(std::to_string(q.limit + 1)), "::int)");
  // The page's records, then (kind 1) the facet rows.
  std::string select = absl::StrCat("SELECT " THESIS_PG_COLUMNS
                                    ", 0 AS kind, p.score, p.sort_key, NULL::int AS gid, "
                                    "NULL::text AS value, NULL::bigint AS n, NULL::bigint AS "
                                    "distinct_n FROM p JOIN theses USING (id)");
  if (facets) {
    absl::StrAppend(
        &text,
        ", g AS (SELECT GROUPING(y, l, i, d) AS gid, coalesce(y::text, l::text, i, d) AS value, "
        "count(*) AS n FROM m GROUP BY GROUPING SETS ((y), (l), (i), (d), ()) "
        "UNION ALL SELECT ",
        kGroupClc,
        ", x.top, count(*) FROM m, LATERAL (SELECT DISTINCT left(c, 1) AS top FROM "
        "unnest(m.search_codes) AS c) x GROUP BY x.top), "
        "f AS (SELECT gid, value, n, count(*) OVER (PARTITION BY gid) AS distinct_n, "
        "row_number() OVER (PARTITION BY gid ORDER BY n DESC, value COLLATE \"C\") AS rn FROM g "
        "WHERE value IS NOT NULL OR gid = ",
        kGroupTotal, ")");
    std::vector<std::string> nulls(25, "NULL");
    absl::StrAppend(&select, " UNION ALL SELECT ", absl::StrJoin(nulls, ", "),
                    ", 1, NULL, NULL, gid, value, n, distinct_n FROM f WHERE rn <= ",
                    params.Add(std::to_string(q.facet_limit)), "::int");
  }
  absl::StrAppend(&text, " ", select, " ORDER BY kind, ", order);
  out.text = std::move(text);
  return out;
}

FacetField FieldOfGroup(int gid) {
  switch (gid) {
    case kGroupYear:
      return FacetField::kDegreeYear;
    case kGroupLevel:
      return FacetField::kDegreeLevel;
    case kGroupInstitution:
      return FacetField::kInstitution;
    case kGroupDiscipline:
      return FacetField::kDiscipline;
    default:
      return FacetField::kClcTop;
  }
}

}  // namespace

absl::StatusOr<SearchPage> PgSearch(PgSession& session, const CallContext& ctx,
                                    const SearchQuery& q) {
  absl::StatusOr<SearchSql> sql = BuildSearchSql(q);
  if (!sql.ok()) return sql.status();
  return session.Run<SearchPage>(
      ctx, "search",
      [&](pqxx::connection& c) -> absl::StatusOr<SearchPage> {
        const std::string name = session.PrepareDynamic(sql->text);
        pqxx::nontransaction n(c);
        pqxx::result r =
            n.exec_prepared(name, pqxx::prepare::make_dynamic_params(sql->params.values()));
        SearchPage page;
        if (q.facet_limit > 0) {
          for (FacetField field : kFacetFields) page.facets.push_back({field, {}, 0});
        }
        const size_t want = static_cast<size_t>(q.limit);
        constexpr int kKind = 25;
        for (const pqxx::row& row : r) {
          if (row[kKind].as<int>() == 0) {
            if (page.hits.size() == want) {
              domain::SortPosition pos;
              pos.id = r[want - 1][0].c_str();
              pos.key = r[want - 1][kKind + 2].as<int64_t>();
              page.next = std::move(pos);
              continue;
            }
            SearchHit hit;
            hit.thesis = ReadThesisRow(row);
            hit.score = row[kKind + 1].as<int64_t>();
            if (q.order == SearchOrder::kDownloads) hit.downloads = row[kKind + 2].as<int64_t>();
            page.hits.push_back(std::move(hit));
            continue;
          }
          const int gid = row[kKind + 3].as<int>();
          if (gid == kGroupTotal) {
            page.total_size = row[kKind + 5].as<int64_t>();
            continue;
          }
          SearchFacet& facet = page.facets[static_cast<size_t>(FieldOfGroup(gid))];
          facet.values.push_back({row[kKind + 4].c_str(), row[kKind + 5].as<int64_t>()});
          facet.distinct_values = row[kKind + 6].as<int64_t>();
        }
        return page;
      },
      /*retry_once=*/true);
}

absl::StatusOr<int64_t> PgIndexStale(PgSession& session, const CallContext& ctx) {
  constexpr int kBatch = 2000;
  int64_t indexed = 0;
  for (;;) {
    absl::StatusOr<int64_t> batch = session.Run<int64_t>(
        ctx, "index_stale", [&](pqxx::connection& c) -> absl::StatusOr<int64_t> {
          pqxx::work txn(c);
          pqxx::result rows = txn.exec_prepared(session.Prepare(sql::kIndexStaleRead),
                                                search::kSearchIndexVersion, kBatch);
          if (rows.empty()) return 0;
          std::string json = "[";
          for (const pqxx::row& row : rows) {
            if (json.size() > 1) json.push_back(',');
            json.append("{\"id\":");
            AppendJsonString(&json, row[0].c_str());
            absl::StrAppend(&json, ",\"revision\":", row[24].as<int64_t>(), ",");
            AppendSearchColumns(&json, ReadThesisRow(row));
            json.push_back('}');
          }
          json.push_back(']');
          txn.exec_prepared(session.Prepare(sql::kIndexStaleWrite), json);
          txn.commit();
          return static_cast<int64_t>(rows.size());
        });
    if (!batch.ok()) return batch.status();
    if (*batch == 0) return indexed;
    indexed += *batch;
  }
}

}  // namespace thesis::storage
