// SQL text of the PostgreSQL backend, kept apart from the code that runs it.
// Every statement here is prepared once per connection under its name.
#ifndef THESIS_SERVER_STORAGE_PG_SQL_H_
#define THESIS_SERVER_STORAGE_PG_SQL_H_

namespace thesis::storage::sql {

// Column list of a thesis row; ReadThesis() in pg_backend.cc reads this order.
#define THESIS_PG_COLUMNS                                                                 \
  "id, title_zh, title_en, authors, advisors, institution, discipline, degree_level, "    \
  "degree_year, abstract_zh, abstract_en, keywords_zh, keywords_en, online_contributor, " \
  "online_year, online_issue, classification_codes, source_database, source_record_id, "  \
  "source_url, language, legacy_download_count, "                                         \
  "(extract(epoch FROM create_time) * 1000000)::bigint, "                                 \
  "(extract(epoch FROM update_time) * 1000000)::bigint, revision"

struct Statement {
  const char* name;
  const char* text;
};

inline constexpr Statement kGetThesis{"get_thesis",
                                      "SELECT " THESIS_PG_COLUMNS " FROM theses WHERE id = $1"};

inline constexpr Statement kGetThesisForUpdate{
    "get_thesis_for_update", "SELECT " THESIS_PG_COLUMNS " FROM theses WHERE id = $1 FOR UPDATE"};

inline constexpr Statement kBatchGetTheses{
    "batch_get_theses", "SELECT " THESIS_PG_COLUMNS " FROM theses WHERE id = ANY($1::text[])"};

// $2..$22: the writable fields in THESIS_PG_COLUMNS order.
inline constexpr Statement kInsertThesis{
    "insert_thesis",
    "INSERT INTO theses (id, title_zh, title_en, authors, advisors, institution, discipline, "
    "degree_level, degree_year, abstract_zh, abstract_en, keywords_zh, keywords_en, "
    "online_contributor, online_year, online_issue, classification_codes, source_database, "
    "source_record_id, source_url, language, legacy_download_count, create_time, update_time, "
    "revision) VALUES ($1, $2, $3, $4::text[], $5::text[], $6, $7, $8, $9, $10, $11, "
    "$12::text[], $13::text[], $14, $15, $16, $17::text[], $18, $19, $20, $21, $22, "
    "clock_timestamp(), clock_timestamp(), 1) "
    "RETURNING (extract(epoch FROM create_time) * 1000000)::bigint, "
    "(extract(epoch FROM update_time) * 1000000)::bigint, revision"};

inline constexpr Statement kUpdateThesis{
    "update_thesis",
    "UPDATE theses SET title_zh = $2, title_en = $3, authors = $4::text[], advisors = $5::text[], "
    "institution = $6, discipline = $7, degree_level = $8, degree_year = $9, abstract_zh = $10, "
    "abstract_en = $11, keywords_zh = $12::text[], keywords_en = $13::text[], "
    "online_contributor = $14, online_year = $15, online_issue = $16, "
    "classification_codes = $17::text[], source_database = $18, source_record_id = $19, "
    "source_url = $20, language = $21, legacy_download_count = $22, "
    "update_time = greatest(clock_timestamp(), update_time + interval '1 microsecond'), "
    "revision = revision + 1 WHERE id = $1 "
    "RETURNING (extract(epoch FROM update_time) * 1000000)::bigint, revision"};

inline constexpr Statement kDeleteThesis{"delete_thesis", "DELETE FROM theses WHERE id = $1"};

// At-most-once mutations: claim the request id inside the transaction. A
// concurrent claim of the same id waits here until the first commits.
inline constexpr Statement kClaimRequest{
    "claim_request",
    "INSERT INTO request_log (request_id, request_hash) VALUES ($1, $2) "
    "ON CONFLICT (request_id) DO NOTHING RETURNING 1"};
inline constexpr Statement kGetRequest{
    "get_request", "SELECT request_hash, response FROM request_log WHERE request_id = $1"};
inline constexpr Statement kStoreResponse{
    "store_response", "UPDATE request_log SET response = $2 WHERE request_id = $1"};

// Imports: serialized by a transaction-level advisory lock, matched in one
// query, then written with one INSERT and one UPDATE per batch, the rows
// travelling as one JSON array.
inline constexpr Statement kImportLock{"import_lock",
                                       "SELECT pg_advisory_xact_lock(7513447203410117001)"};
inline constexpr Statement kImportExisting{"import_existing",
                                           "SELECT " THESIS_PG_COLUMNS
                                           ", import_key FROM theses WHERE id = ANY($1::text[]) OR "
                                           "import_key = ANY($2::text[]) FOR UPDATE"};

#define THESIS_PG_JSON_RECORD                                                                   \
  "jsonb_to_recordset($1::jsonb) AS x(id text, import_key text, title_zh text, title_en text, " \
  "authors text[], advisors text[], institution text, discipline text, degree_level smallint, " \
  "degree_year int, abstract_zh text, abstract_en text, keywords_zh text[], "                   \
  "keywords_en text[], online_contributor text, online_year int, online_issue text, "           \
  "classification_codes text[], source_database text, source_record_id text, "                  \
  "source_url text, language text, legacy_download_count bigint)"

inline constexpr Statement kImportInsert{
    "import_insert",
    "INSERT INTO theses (id, import_key, title_zh, title_en, authors, advisors, institution, "
    "discipline, degree_level, degree_year, abstract_zh, abstract_en, keywords_zh, keywords_en, "
    "online_contributor, online_year, online_issue, classification_codes, source_database, "
    "source_record_id, source_url, language, legacy_download_count, create_time, update_time, "
    "revision) SELECT x.*, clock_timestamp(), clock_timestamp(), 1 FROM " THESIS_PG_JSON_RECORD};

inline constexpr Statement kImportUpdate{
    "import_update",
    "UPDATE theses t SET title_zh = x.title_zh, title_en = x.title_en, authors = x.authors, "
    "advisors = x.advisors, institution = x.institution, discipline = x.discipline, "
    "degree_level = x.degree_level, degree_year = x.degree_year, abstract_zh = x.abstract_zh, "
    "abstract_en = x.abstract_en, keywords_zh = x.keywords_zh, keywords_en = x.keywords_en, "
    "online_contributor = x.online_contributor, online_year = x.online_year, "
    "online_issue = x.online_issue, classification_codes = x.classification_codes, "
    "source_database = x.source_database, source_record_id = x.source_record_id, "
    "source_url = x.source_url, language = x.language, "
    "legacy_download_count = x.legacy_download_count, "
    "update_time = greatest(clock_timestamp(), t.update_time + interval '1 microsecond'), "
    "revision = t.revision + 1 FROM " THESIS_PG_JSON_RECORD " WHERE t.id = x.id"};

inline constexpr Statement kPruneRequestLog{
    "prune_request_log",
    "DELETE FROM request_log WHERE create_time < now() - $1::bigint * interval '1 second'"};

inline constexpr Statement kSchemaVersion{
    "schema_version", "SELECT coalesce(max(version), 0) FROM schema_migrations"};

inline constexpr Statement kAllStatements[] = {
    kGetThesis,     kGetThesisForUpdate, kBatchGetTheses,  kInsertThesis,
    kUpdateThesis,  kDeleteThesis,       kClaimRequest,    kGetRequest,
    kStoreResponse, kSchemaVersion,      kPruneRequestLog,
};

}  // namespace thesis::storage::sql

#endif  // THESIS_SERVER_STORAGE_PG_SQL_H_
