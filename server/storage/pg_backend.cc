#include "server/storage/pg_backend.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "server/common/errors.h"
#include "server/common/log.h"
#include "server/domain/etag.h"
#include "server/domain/import_key.h"
#include "server/domain/search_index.h"
#include "server/domain/thesis_validation.h"
#include "server/storage/pg_errors.h"
#include "server/storage/pg_session.h"
#include "server/storage/pg_sql.h"
#include "server/storage/storage_errors.h"

namespace thesis::storage {
namespace {

namespace search = domain::search;
using google::protobuf::util::TimeUtil;

// ---- Values between Thesis and SQL parameters ------------------------------

void ReadTextArray(const pqxx::field& field, google::protobuf::RepeatedPtrField<std::string>* out) {
  out->Clear();
  pqxx::array_parser parser = field.as_array();
  for (auto [juncture, value] = parser.get_next(); juncture != pqxx::array_parser::juncture::done;
       std::tie(juncture, value) = parser.get_next()) {
    if (juncture == pqxx::array_parser::juncture::string_value) *out->Add() = std::move(value);
  }
}

// Parameters $1..$26 of kInsertThesis / kUpdateThesis: the record's columns,
// then its search index (docs/search.md).
struct ThesisParams {
  std::vector<std::string> storage;
  std::vector<const char*> pointers;  // nullptr is SQL NULL
};

ThesisParams MakeThesisParams(const std::string& id, const Thesis& t) {
  ThesisParams p;
  p.storage = {
      id,
      t.title_zh(),
      t.title_en(),
      TextArray(t.authors()),
      TextArray(t.advisors()),
      t.institution(),
      t.discipline(),
      std::to_string(static_cast<int>(t.degree_level())),
      std::to_string(t.degree_year()),
      t.abstract_zh(),
      t.abstract_en(),
      TextArray(t.keywords_zh()),
      TextArray(t.keywords_en()),
      t.online_publication().contributor(),
      std::to_string(t.online_publication().year()),
      t.online_publication().issue(),
      TextArray(t.classification_codes()),
      t.source().database(),
      t.source().record_id(),
      t.source().url(),
      t.language(),
      t.has_legacy_download_count() ? std::to_string(t.legacy_download_count()) : "",
  };
  search::IndexedRecord index = search::IndexRecord(t);
  p.storage.push_back(std::move(index.doc));
  p.storage.push_back(std::move(index.head));
  p.storage.push_back(TextArray(index.codes));
  p.storage.push_back(std::to_string(search::kSearchIndexVersion));
  for (const std::string& s : p.storage) p.pointers.push_back(s.c_str());
  constexpr size_t kLegacyCount = 21;  // $22
  if (!t.has_legacy_download_count()) p.pointers[kLegacyCount] = nullptr;
  return p;
}

void SetTimes(Thesis* t, int64_t create_micros, int64_t update_micros, int64_t revision) {
  if (create_micros >= 0) {
    *t->mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(create_micros);
  }
  *t->mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(update_micros);
  t->set_etag(domain::MakeEtag(revision, update_micros));
}

// Reads a row in THESIS_PG_COLUMNS order.
Thesis ReadThesis(const pqxx::row& r) {
  Thesis t;
  t.set_name(domain::ThesisName(r[0].c_str()));
  t.set_title_zh(r[1].c_str());
  t.set_title_en(r[2].c_str());
  ReadTextArray(r[3], t.mutable_authors());
  ReadTextArray(r[4], t.mutable_advisors());
  t.set_institution(r[5].c_str());
  t.set_discipline(r[6].c_str());
  t.set_degree_level(static_cast<thesis::v1::DegreeLevel>(r[7].as<int>()));
  t.set_degree_year(r[8].as<int>());
  t.set_abstract_zh(r[9].c_str());
  t.set_abstract_en(r[10].c_str());
  ReadTextArray(r[11], t.mutable_keywords_zh());
  ReadTextArray(r[12], t.mutable_keywords_en());
  if (!r[13].is_null() && r[13].size() > 0) {
    t.mutable_online_publication()->set_contributor(r[13].c_str());
  }
  if (r[14].as<int>() != 0) t.mutable_online_publication()->set_year(r[14].as<int>());
  if (r[15].size() > 0) t.mutable_online_publication()->set_issue(r[15].c_str());
  ReadTextArray(r[16], t.mutable_classification_codes());
  if (r[17].size() > 0) t.mutable_source()->set_database(r[17].c_str());
  if (r[18].size() > 0) t.mutable_source()->set_record_id(r[18].c_str());
  if (r[19].size() > 0) t.mutable_source()->set_url(r[19].c_str());
  t.set_language(r[20].c_str());
  if (!r[21].is_null()) t.set_legacy_download_count(r[21].as<int64_t>());
  SetTimes(&t, r[22].as<int64_t>(), r[23].as<int64_t>(), r[24].as<int64_t>());
  return t;
}

// ---- Import rows as JSON for jsonb_to_recordset ---------------------------

}  // namespace

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      absl::StrAppend(out, absl::StrFormat("\\u%04x", c));
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

template <typename Strings>
void AppendJsonArray(std::string* out, const Strings& v) {
  out->push_back('[');
  bool first = true;
  for (const auto& value : v) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, value);
  }
  out->push_back(']');
}

// The search columns of a record as JSON members (no braces):
// `"search_doc":...,"search_head":...,"search_codes":[...],"search_version":N`.
void AppendSearchColumns(std::string* out, const Thesis& t) {
  AppendSearchColumns(out, search::IndexRecord(t));
}

void AppendSearchColumns(std::string* out, const search::IndexedRecord& index) {
  out->append("\"search_doc\":");
  AppendJsonString(out, index.doc);
  out->append(",\"search_head\":");
  AppendJsonString(out, index.head);
  out->append(",\"search_codes\":");
  AppendJsonArray(out, index.codes);
  absl::StrAppend(out, ",\"search_version\":", search::kSearchIndexVersion);
}

namespace {

// One object with the columns of THESIS_PG_JSON_RECORD.
void AppendImportRow(std::string* out, const std::string& id, const std::string* import_key,
                     const Thesis& t, const search::IndexedRecord& index) {
  auto field = [out](const char* name) { absl::StrAppend(out, "\"", name, "\":"); };
  auto text = [&](const char* name, absl::string_view value) {
    field(name);
    AppendJsonString(out, value);
    out->push_back(',');
  };
  auto list = [&](const char* name, const google::protobuf::RepeatedPtrField<std::string>& v) {
    field(name);
    AppendJsonArray(out, v);
    out->push_back(',');
  };
  auto number = [&](const char* name, int64_t value) {
    field(name);
    absl::StrAppend(out, value, ",");
  };
  out->push_back('{');
  text("id", id);
  field("import_key");
  if (import_key != nullptr) {
    AppendJsonString(out, *import_key);
  } else {
    out->append("null");
  }
  out->push_back(',');
  text("title_zh", t.title_zh());
  text("title_en", t.title_en());
  list("authors", t.authors());
  list("advisors", t.advisors());
  text("institution", t.institution());
  text("discipline", t.discipline());
  number("degree_level", t.degree_level());
  number("degree_year", t.degree_year());
  text("abstract_zh", t.abstract_zh());
  text("abstract_en", t.abstract_en());
  list("keywords_zh", t.keywords_zh());
  list("keywords_en", t.keywords_en());
  text("online_contributor", t.online_publication().contributor());
  number("online_year", t.online_publication().year());
  text("online_issue", t.online_publication().issue());
  list("classification_codes", t.classification_codes());
  text("source_database", t.source().database());
  text("source_record_id", t.source().record_id());
  text("source_url", t.source().url());
  text("language", t.language());
  field("legacy_download_count");
  if (t.has_legacy_download_count()) {
    absl::StrAppend(out, t.legacy_download_count());
  } else {
    out->append("null");
  }
  out->push_back(',');
  AppendSearchColumns(out, index);
  out->push_back('}');
}

// ---- Keyset List SQL -------------------------------------------------------

struct ListSql {
  std::string text;
  std::vector<std::string> params;
};

ListSql BuildListSql(const domain::ListQuery& q) {
  ListSql out;
  auto param = [&out](std::string value) {
    out.params.push_back(std::move(value));
    return absl::StrCat("$", out.params.size());
  };
  std::string where = "TRUE";
  AppendFilterSql(q.filter, "", param, &where);
  const char* key = q.order_key == domain::OrderKey::kCreateTime   ? "create_time"
                    : q.order_key == domain::OrderKey::kDegreeYear ? "degree_year"
                                                                   : "sort_title";
  if (q.after) {
    std::string key_param;
    if (const int64_t* k = std::get_if<int64_t>(&q.after->key)) {
      key_param = q.order_key == domain::OrderKey::kCreateTime
                      ? absl::StrCat("('epoch'::timestamptz + ", param(std::to_string(*k)),
                                     "::bigint * interval '1 microsecond')")
                      : absl::StrCat(param(std::to_string(*k)), "::int");
    } else {
      key_param = absl::StrCat(param(std::get<std::string>(q.after->key)), "::text");
    }
    absl::StrAppend(&where, " AND (", key, ", id) ", q.descending ? "<" : ">", " (", key_param,
                    ", ", param(q.after->id), "::text)");
  }
  const char* dir = q.descending ? " DESC" : "";
  out.text =
      absl::StrCat("SELECT " THESIS_PG_COLUMNS " FROM theses WHERE ", where, " ORDER BY ", key, dir,
                   ", id", dir, " LIMIT ", param(std::to_string(q.page_size + 1)), "::int");
  return out;
}

// ---- Session ---------------------------------------------------------------

class PgThesisRepository : public ThesisRepository {
 public:
  explicit PgThesisRepository(PgSession& session) : session_(session) {}

  absl::StatusOr<Thesis> Create(const CallContext& ctx, const Thesis& thesis,
                                const std::optional<Idempotency>& idem) override;
  absl::StatusOr<Thesis> Get(const CallContext& ctx, const std::string& id) override;
  absl::StatusOr<std::vector<Thesis>> BatchGet(const CallContext& ctx,
                                               const std::vector<std::string>& ids) override;
  absl::StatusOr<Thesis> Update(const CallContext& ctx, const std::string& id,
                                const std::string& etag, const ThesisMutator& mutate,
                                const std::optional<Idempotency>& idem) override;
  absl::Status Delete(const CallContext& ctx, const std::string& id, const std::string& etag,
                      const std::optional<Idempotency>& idem) override;
  absl::StatusOr<ListPage> List(const CallContext& ctx, const domain::ListQuery& query) override;
  absl::StatusOr<std::vector<ImportOutcome>> Import(const CallContext& ctx,
                                                    const std::vector<ImportItem>& items) override;
  absl::StatusOr<SearchPage> Search(const CallContext& ctx, const SearchQuery& query) override {
    return PgSearch(session_, ctx, query);
  }
  absl::StatusOr<int64_t> IndexStale(const CallContext& ctx) override {
    return PgIndexStale(session_, ctx);
  }

 private:
  PgSession& session_;
};

absl::StatusOr<Thesis> PgThesisRepository::Create(const CallContext& ctx, const Thesis& thesis,
                                                  const std::optional<Idempotency>& idem) {
  const std::string id = thesis.name().substr(sizeof(domain::kThesisCollection) - 1);
  return session_.Run<Thesis>(ctx, "create", [&](pqxx::connection& c) -> absl::StatusOr<Thesis> {
    pqxx::work txn(c);
    absl::StatusOr<Replay> replay = session_.ClaimRequest(txn, idem);
    if (!replay.ok()) return replay.status();
    if (replay->found) return replay->EarlierAnswer();
    ThesisParams p = MakeThesisParams(id, thesis);
    pqxx::result r;
    try {
      r = txn.exec_prepared(session_.Prepare(sql::kInsertThesis),
                            pqxx::prepare::make_dynamic_params(p.pointers));
    } catch (const pqxx::unique_violation&) {
      return ThesisExists(thesis.name());
    }
    Thesis out = thesis;
    SetTimes(&out, r[0][0].as<int64_t>(), r[0][1].as<int64_t>(), r[0][2].as<int64_t>());
    session_.StoreResponse(txn, idem, &out);
    if (absl::Status placed = PlaceTheses(session_, txn, {{id, &out}}); !placed.ok()) {
      return placed;
    }
    txn.commit();
    return out;
  });
}

absl::StatusOr<Thesis> PgThesisRepository::Get(const CallContext& ctx, const std::string& id) {
  return session_.Run<Thesis>(
      ctx, "get",
      [&](pqxx::connection& c) -> absl::StatusOr<Thesis> {
        pqxx::nontransaction n(c);
        pqxx::result r = n.exec_prepared(session_.Prepare(sql::kGetThesis), id);
        if (r.empty()) return ThesisNotFound(id);
        return ReadThesis(r[0]);
      },
      /*retry_once=*/true);
}

absl::StatusOr<std::vector<Thesis>> PgThesisRepository::BatchGet(
    const CallContext& ctx, const std::vector<std::string>& ids) {
  google::protobuf::RepeatedPtrField<std::string> id_list(ids.begin(), ids.end());
  return session_.Run<std::vector<Thesis>>(
      ctx, "batch_get",
      [&](pqxx::connection& c) -> absl::StatusOr<std::vector<Thesis>> {
        pqxx::nontransaction n(c);
        pqxx::result r =
            n.exec_prepared(session_.Prepare(sql::kBatchGetTheses), TextArray(id_list));
        absl::flat_hash_map<std::string, Thesis> by_id;
        for (const pqxx::row& row : r) by_id.emplace(row[0].c_str(), ReadThesis(row));
        std::vector<Thesis> out;
        out.reserve(ids.size());
        for (const std::string& id : ids) {
          auto it = by_id.find(id);
          if (it == by_id.end()) return ThesisNotFound(id);
          out.push_back(it->second);
        }
        return out;
      },
      /*retry_once=*/true);
}

absl::StatusOr<Thesis> PgThesisRepository::Update(const CallContext& ctx, const std::string& id,
                                                  const std::string& etag,
                                                  const ThesisMutator& mutate,
                                                  const std::optional<Idempotency>& idem) {
  return session_.Run<Thesis>(ctx, "update", [&](pqxx::connection& c) -> absl::StatusOr<Thesis> {
    pqxx::work txn(c);
    absl::StatusOr<Replay> replay = session_.ClaimRequest(txn, idem);
    if (!replay.ok()) return replay.status();
    if (replay->found) return replay->EarlierAnswer();
    pqxx::result current = txn.exec_prepared(session_.Prepare(sql::kGetThesisForUpdate), id);
    if (current.empty()) return ThesisNotFound(id);
    Thesis thesis = ReadThesis(current[0]);
    if (!etag.empty() && etag != thesis.etag()) return EtagMismatch();
    const Thesis before = thesis;
    absl::Status mutated = mutate(thesis);
    if (!mutated.ok()) return mutated;
    ThesisParams p = MakeThesisParams(id, thesis);
    pqxx::result r = txn.exec_prepared(session_.Prepare(sql::kUpdateThesis),
                                       pqxx::prepare::make_dynamic_params(p.pointers));
    SetTimes(&thesis, -1, r[0][0].as<int64_t>(), r[0][1].as<int64_t>());
    session_.StoreResponse(txn, idem, &thesis);
    if (PlacementInputsDiffer(before, thesis)) {
      if (absl::Status placed = PlaceTheses(session_, txn, {{id, &thesis}}); !placed.ok()) {
        return placed;
      }
    }
    txn.commit();
    return thesis;
  });
}

absl::Status PgThesisRepository::Delete(const CallContext& ctx, const std::string& id,
                                        const std::string& etag,
                                        const std::optional<Idempotency>& idem) {
  return session_
      .Run<bool>(ctx, "delete",
                 [&](pqxx::connection& c) -> absl::StatusOr<bool> {
                   pqxx::work txn(c);
                   absl::StatusOr<Replay> replay = session_.ClaimRequest(txn, idem);
                   if (!replay.ok()) return replay.status();
                   if (replay->found) return true;
                   pqxx::result current =
                       txn.exec_prepared(session_.Prepare(sql::kGetThesisForUpdate), id);
                   if (current.empty()) return ThesisNotFound(id);
                   if (!etag.empty() && etag != ReadThesis(current[0]).etag()) {
                     return EtagMismatch();
                   }
                   txn.exec_prepared(session_.Prepare(sql::kDeleteThesis), id);
                   absl::Status unplaced = PlaceTheses(session_, txn, {{id, nullptr}});
                   if (!unplaced.ok()) return unplaced;
                   txn.commit();
                   return true;
                 })
      .status();
}

absl::StatusOr<ListPage> PgThesisRepository::List(const CallContext& ctx,
                                                  const domain::ListQuery& query) {
  ListSql list = BuildListSql(query);
  return session_.Run<ListPage>(
      ctx, "list",
      [&](pqxx::connection& c) -> absl::StatusOr<ListPage> {
        const std::string name = session_.PrepareDynamic(list.text);
        pqxx::nontransaction n(c);
        pqxx::result r = n.exec_prepared(name, pqxx::prepare::make_dynamic_params(list.params));
        ListPage page;
        const size_t want = static_cast<size_t>(query.page_size);
        for (size_t i = 0; i < r.size() && i < want; ++i) page.theses.push_back(ReadThesis(r[i]));
        if (r.size() > want) {
          const Thesis& last = page.theses.back();
          page.next = domain::PositionOf(last, r[want - 1][0].c_str(), query.order_key);
        }
        return page;
      },
      /*retry_once=*/true);
}

// ---- COPY ... (FORMAT binary) of new import rows ----------------------------

// The libpq connection under a libpqxx transaction: libpqxx 6 gives it to
// large objects only (a protected static of pqxx::largeobject), and its own
// COPY support is text-only.
struct RawConnection : pqxx::largeobject {
  static PGconn* Of(const pqxx::dbtransaction& txn) { return raw_connection(txn); }
};

// PostgreSQL's binary COPY format: a header, then per row an int16 field
// count and per field an int32 length (-1: NULL) and the value in the type's
// binary send format, all big-endian; an int16 -1 ends the data.
class BinaryCopyWriter {
 public:
  void BeginRow(int fields) { Int(static_cast<uint32_t>(fields), 2); }
  void Null() { Int(0xFFFFFFFFu, 4); }
  void Bytes(absl::string_view value) {
    Int(static_cast<uint32_t>(value.size()), 4);
    buffer_.append(value.data(), value.size());
  }
  void Int16(int value) { Field(static_cast<uint32_t>(value), 2); }
  void Int32(int64_t value) { Field(static_cast<uint32_t>(value), 4); }
  void Int64(int64_t value) {
    Int(8, 4);
    Int(static_cast<uint32_t>(static_cast<uint64_t>(value) >> 32), 4);
    Int(static_cast<uint32_t>(value), 4);
  }
  // A one-dimensional text[] (array_send): ndim, has-null flag, element
  // type (text), length and lower bound, then each element as a field.
  template <typename Strings>
  void TextArray(const Strings& values) {
    constexpr uint32_t kTextOid = 25;
    const size_t length_at = buffer_.size();
    Int(0, 4);  // the array's length in bytes, filled in below
    const size_t start = buffer_.size();
    const bool empty = values.empty();
    Int(empty ? 0 : 1, 4);
    Int(0, 4);
    Int(kTextOid, 4);
    if (!empty) {
      Int(static_cast<uint32_t>(values.size()), 4);
      Int(1, 4);
      for (const auto& v : values) Bytes(v);
    }
    PutAt(length_at, static_cast<uint32_t>(buffer_.size() - start));
  }

  std::string& buffer() { return buffer_; }
  static std::string Header() { return std::string("PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19); }

 private:
  void Field(uint32_t value, int bytes) {
    Int(static_cast<uint32_t>(bytes), 4);
    Int(value, bytes);
  }
  void Int(uint32_t value, int bytes) {
    for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
      buffer_.push_back(static_cast<char>((value >> shift) & 0xFF));
    }
  }
  void PutAt(size_t at, uint32_t value) {
    for (int k = 0; k < 4; ++k) buffer_[at + k] = static_cast<char>((value >> (24 - 8 * k)) & 0xFF);
  }
  std::string buffer_;
};

// Throws what libpqxx would have thrown for this failed result (so that
// pg_errors.cc maps it by SQLSTATE like every other statement's).
[[noreturn]] void ThrowCopyError(PGconn* conn, const PGresult* result, const std::string& query) {
  if (PQstatus(conn) == CONNECTION_BAD) throw pqxx::broken_connection(PQerrorMessage(conn));
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string message =
      result != nullptr ? PQresultErrorMessage(result) : std::string(PQerrorMessage(conn));
  const std::string code = state != nullptr ? state : "";
  if (code == "40001") throw pqxx::serialization_failure(message);
  if (code == "40P01") throw pqxx::deadlock_detected(message);
  if (code.rfind("40", 0) == 0) throw pqxx::transaction_rollback(message);
  throw pqxx::sql_error(message, query, state);
}

// Appends one new import row: the columns of kImportCopyColumns, as
// MakeThesisParams gives them to kInsertThesis plus import_key.
void AppendCopyRow(const ImportItem& item, bool key_free, BinaryCopyWriter* w) {
  const Thesis& t = item.thesis;
  search::IndexedRecord computed;
  const search::IndexedRecord* index = item.index ? &*item.index : nullptr;
  if (index == nullptr || index->doc_binary.empty()) {
    computed = search::IndexRecord(t, /*binary=*/true);
    index = &computed;
  }
  w->BeginRow(static_cast<int>(std::size(sql::kImportCopyColumns)));
  w->Bytes(item.id);
  if (key_free) {
    w->Bytes(item.import_key);
  } else {
    w->Null();
  }
  w->Bytes(t.title_zh());
  w->Bytes(t.title_en());
  w->TextArray(t.authors());
  w->TextArray(t.advisors());
  w->Bytes(t.institution());
  w->Bytes(t.discipline());
  w->Int16(static_cast<int>(t.degree_level()));
  w->Int32(t.degree_year());
  w->Bytes(t.abstract_zh());
  w->Bytes(t.abstract_en());
  w->TextArray(t.keywords_zh());
  w->TextArray(t.keywords_en());
  w->Bytes(t.online_publication().contributor());
  w->Int32(t.online_publication().year());
  w->Bytes(t.online_publication().issue());
  w->TextArray(t.classification_codes());
  w->Bytes(t.source().database());
  w->Bytes(t.source().record_id());
  w->Bytes(t.source().url());
  w->Bytes(t.language());
  if (t.has_legacy_download_count()) {
    w->Int64(t.legacy_download_count());
  } else {
    w->Null();
  }
  w->Bytes(index->doc_binary);
  w->Bytes(index->head_binary);
  w->TextArray(index->codes);
  w->Int16(search::kSearchIndexVersion);
}

// New records of an import batch, written with one binary COPY: the
// columns of MakeThesisParams plus import_key; revision and the times take
// their column defaults (migration 0008). COPY is the fastest way into a
// table, and its binary form spares PostgreSQL parsing each row's text, the
// search documents above all (docs/benchmarks.md, "Import benchmark").
void CopyNewRows(pqxx::work& txn, const std::vector<std::pair<const ImportItem*, bool>>& rows) {
  const std::string query =
      absl::StrCat("COPY theses (", absl::StrJoin(sql::kImportCopyColumns, ", "),
                   ") FROM STDIN (FORMAT binary)");
  PGconn* conn = RawConnection::Of(txn);
  {
    PGresult* started = PQexec(conn, query.c_str());
    const bool ok = PQresultStatus(started) == PGRES_COPY_IN;
    if (!ok) {
      std::unique_ptr<PGresult, void (*)(PGresult*)> guard(started, PQclear);
      ThrowCopyError(conn, started, query);
    }
    PQclear(started);
  }
  constexpr size_t kFlushBytes = 1 << 20;
  BinaryCopyWriter w;
  w.buffer() = BinaryCopyWriter::Header();
  bool sent = true;
  auto flush = [&] {
    if (sent && !w.buffer().empty()) {
      sent = PQputCopyData(conn, w.buffer().data(), static_cast<int>(w.buffer().size())) == 1;
    }
    w.buffer().clear();
  };
  for (const auto& [item, key_free] : rows) {
    AppendCopyRow(*item, key_free, &w);
    if (w.buffer().size() >= kFlushBytes) flush();
  }
  w.buffer().append("\xff\xff", 2);
  flush();
  // Ends the COPY even after a failed send, so that the connection leaves
  // the copy state and the error below is the server's.
  PQputCopyEnd(conn, sent ? nullptr : "the client failed to send the rows");
  PGresult* failed = nullptr;
  while (PGresult* r = PQgetResult(conn)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && failed == nullptr) {
      failed = r;
    } else {
      PQclear(r);
    }
  }
  if (failed != nullptr || !sent) {
    std::unique_ptr<PGresult, void (*)(PGresult*)> guard(failed, PQclear);
    ThrowCopyError(conn, failed, query);
  }
}

// Attempts of one import batch that collided with a concurrent one.
constexpr int kMaxImportAttempts = 4;

absl::StatusOr<std::vector<ImportOutcome>> PgThesisRepository::Import(
    const CallContext& ctx, const std::vector<ImportItem>& items) {
  google::protobuf::RepeatedPtrField<std::string> ids, keys;
  for (const ImportItem& item : items) {
    if (item.id_given) *ids.Add() = item.id;
    // Every key, so that a new record never takes a key another one holds.
    *keys.Add() = item.import_key;
  }
  // No import-wide lock, so that batches (of one stream or of several) are
  // written in parallel: the lookup locks the existing rows a batch may
  // change, and two batches creating the same record (or taking the same
  // key) collide on the unique indexes; the loser is run again and its
  // lookup then finds the winner's rows. A stream never writes two batches
  // that share a record at once (server/api/thesis_bulk.cc).
  auto write = [&](pqxx::connection& c) -> absl::StatusOr<std::vector<ImportOutcome>> {
    pqxx::work txn(c);
    pqxx::result found =
        txn.exec_prepared(session_.Prepare(sql::kImportExisting), TextArray(ids), TextArray(keys));
    absl::flat_hash_map<std::string, Thesis> by_id;
    absl::flat_hash_map<std::string, std::string> id_by_key;
    for (const pqxx::row& row : found) {
      Thesis t = ReadThesis(row);
      const std::string id = row[0].c_str();
      if (!row[25].is_null()) id_by_key.emplace(row[25].c_str(), id);
      by_id.emplace(id, std::move(t));
    }
    std::vector<ImportOutcome> outcomes;
    outcomes.reserve(items.size());
    std::string updates = "[";
    std::vector<std::pair<const ImportItem*, bool>> inserts;  // item, key free
    std::vector<std::pair<std::string, const Thesis*>> to_place;
    for (const ImportItem& item : items) {
      const Thesis* existing = nullptr;
      std::string existing_id;
      if (item.id_given) {
        existing_id = item.id;
      } else if (auto key = id_by_key.find(item.import_key); key != id_by_key.end()) {
        existing_id = key->second;
      }
      if (auto it = by_id.find(existing_id); it != by_id.end()) existing = &it->second;
      if (existing != nullptr) {
        if (domain::SameContent(*existing, item.thesis)) {
          outcomes.push_back(ImportOutcome::kUnchanged);
          continue;
        }
        if (updates.size() > 1) updates.push_back(',');
        if (item.index) {
          AppendImportRow(&updates, existing_id, nullptr, item.thesis, *item.index);
        } else {
          AppendImportRow(&updates, existing_id, nullptr, item.thesis,
                          search::IndexRecord(item.thesis));
        }
        outcomes.push_back(ImportOutcome::kUpdated);
        if (PlacementInputsDiffer(*existing, item.thesis)) {
          to_place.emplace_back(existing_id, &item.thesis);
        }
        continue;
      }
      // A key another record holds stays with that record.
      const bool key_free = id_by_key.emplace(item.import_key, item.id).second;
      inserts.emplace_back(&item, key_free);
      outcomes.push_back(ImportOutcome::kCreated);
      to_place.emplace_back(item.id, &item.thesis);
    }
    if (!inserts.empty()) CopyNewRows(txn, inserts);
    if (updates.size() > 1) {
      updates.push_back(']');
      txn.exec_prepared(session_.Prepare(sql::kImportUpdate), updates);
    }
    if (absl::Status placed = PlaceTheses(session_, txn, to_place); !placed.ok()) {
      return placed;
    }
    txn.commit();
    return outcomes;
  };
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<std::vector<ImportOutcome>> outcomes =
        session_.Run<std::vector<ImportOutcome>>(ctx, "import", write);
    const bool conflict = !outcomes.ok() && (absl::IsAlreadyExists(outcomes.status()) ||
                                             absl::IsAborted(outcomes.status()));
    if (!conflict || attempt == kMaxImportAttempts) return outcomes;
  }
}

}  // namespace

Thesis ReadThesisRow(const pqxx::row& row) { return ReadThesis(row); }
void ReadTextArrayField(const pqxx::field& field,
                        google::protobuf::RepeatedPtrField<std::string>* out) {
  ReadTextArray(field, out);
}

std::unique_ptr<ThesisRepository> NewPgThesisRepository(PgSession& session) {
  return std::make_unique<PgThesisRepository>(session);
}

PgSession::PgSession(const PgOptions& options)
    : options_(options),
      theses_(NewPgThesisRepository(*this)),
      downloads_(NewPgDownloadRepository(*this)),
      classes_(NewPgClassRepository(*this)) {}
PgSession::~PgSession() = default;

PgBackend::PgBackend(PgOptions options) : options_(std::move(options)) {
  if (options_.class_trees == nullptr) options_.class_trees = std::make_shared<ClassTreeCache>();
}

std::unique_ptr<Session> PgBackend::NewSession() { return std::make_unique<PgSession>(options_); }

}  // namespace thesis::storage
