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
    "revision, search_doc, search_head, search_codes, search_version) VALUES ($1, $2, $3, "
    "$4::text[], $5::text[], $6, $7, $8, $9, $10, $11, $12::text[], $13::text[], $14, $15, $16, "
    "$17::text[], $18, $19, $20, $21, $22, clock_timestamp(), clock_timestamp(), 1, "
    "$23::tsvector, $24::tsvector, $25::text[], $26) "
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
    "search_doc = $23::tsvector, search_head = $24::tsvector, search_codes = $25::text[], "
    "search_version = $26, update_time = greatest(clock_timestamp(), update_time + interval '1 "
    "microsecond'), "
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

// Imports: matched in one query that locks the rows a batch may change,
// then written with one COPY (new records) and one UPDATE (changed ones, the
// rows travelling as one JSON array) per batch.
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
  "source_url text, language text, legacy_download_count bigint, search_doc tsvector, "         \
  "search_head tsvector, search_codes text[], search_version smallint)"

// New records: one COPY of these columns (kInsertThesis's parameters plus
// import_key); revision, create_time and update_time take their defaults.
inline constexpr const char* kImportCopyColumns[] = {"id",
                                                     "import_key",
                                                     "title_zh",
                                                     "title_en",
                                                     "authors",
                                                     "advisors",
                                                     "institution",
                                                     "discipline",
                                                     "degree_level",
                                                     "degree_year",
                                                     "abstract_zh",
                                                     "abstract_en",
                                                     "keywords_zh",
                                                     "keywords_en",
                                                     "online_contributor",
                                                     "online_year",
                                                     "online_issue",
                                                     "classification_codes",
                                                     "source_database",
                                                     "source_record_id",
                                                     "source_url",
                                                     "language",
                                                     "legacy_download_count",
                                                     "search_doc",
                                                     "search_head",
                                                     "search_codes",
                                                     "search_version"};

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
    "legacy_download_count = x.legacy_download_count, search_doc = x.search_doc, "
    "search_head = x.search_head, search_codes = x.search_codes, "
    "search_version = x.search_version, update_time = greatest(clock_timestamp(), t.update_time + "
    "interval '1 microsecond'), "
    "revision = t.revision + 1 FROM " THESIS_PG_JSON_RECORD " WHERE t.id = x.id"};

// The search-index backfill (`thesis-server migrate`): records indexed by an
// older version, in batches, each written back only if nobody changed it in
// between (a writer indexes it itself).
inline constexpr Statement kIndexStaleRead{
    "index_stale_read",
    "SELECT " THESIS_PG_COLUMNS " FROM theses WHERE search_version < $1::smallint LIMIT $2::int"};
inline constexpr Statement kIndexStaleWrite{
    "index_stale_write",
    "UPDATE theses t SET search_doc = x.search_doc, search_head = x.search_head, "
    "search_codes = x.search_codes, search_version = x.search_version FROM "
    "jsonb_to_recordset($1::jsonb) AS x(id text, revision bigint, search_doc tsvector, "
    "search_head tsvector, search_codes text[], search_version smallint) "
    "WHERE t.id = x.id AND t.revision = x.revision"};

inline constexpr Statement kPruneRequestLog{
    "prune_request_log",
    "DELETE FROM request_log WHERE create_time < now() - $1::bigint * interval '1 second'"};

inline constexpr Statement kSchemaVersion{
    "schema_version", "SELECT coalesce(max(version), 0) FROM schema_migrations"};

// ---- Downloads (pg_downloads.cc) ---------------------------------------------
// Times travel as microseconds since the epoch, days as days since
// 1970-01-01, so that no text parsing of dates happens on either side.
#define THESIS_PG_MICROS(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
#define THESIS_PG_TIME(micros) "('epoch'::timestamptz + " micros " * interval '1 microsecond')"
#define THESIS_PG_DAY(days) "(date '1970-01-01' + " days ")"

// Batches of download events from every session and replica take turns:
// without it, two batches creating the same state rows collide, and one of
// them must run again (or, with rows taken in different orders, deadlock).
// Each batch carries every event queued while the previous one ran, so
// taking turns costs little. (Tried on 2026-12-08: the lock taken only for
// the rollups, after the per-event rows, so that batches overlap; with four
// sessions recording the same events, batches kept colliding and some gave
// up after five attempts: ABORTED. docs/benchmarks.md.)
//
// A batch also holds the class lock exclusively (see
// migrations/0005_classification.up.sql): it adds its full-text downloads
// to the classes of its theses, which must not move meanwhile.
inline constexpr Statement kDlBatchLock{"dl_batch_lock",
                                        "SELECT pg_advisory_xact_lock(7513447203410117002), "
                                        "pg_advisory_xact_lock(7513447203410117003)"};

// Set first in every download batch (see RecordOnce).
inline constexpr const char* kDlIndexLookups =
    "SET LOCAL enable_seqscan = off; SET LOCAL plan_cache_mode = force_generic_plan";

// A batch of download events is one read and one write (and the commit):
// round trips are most of a small batch's cost.
//
// The read: which theses exist (kind 1), which request ids were recorded
// and their outcome (2), the double-click chains, locked in key order so
// that concurrent batches cannot deadlock on them (3), and which unique
// sessions were counted (4).
inline constexpr Statement kDlReadState{
    "dl_read_state",
    "WITH chains AS (SELECT chain_key, " THESIS_PG_MICROS(
        "last_time") " AS t, attributed_day - date '1970-01-01' AS d FROM download_chains "
                     "WHERE chain_key = ANY($3::text[]) ORDER BY chain_key FOR UPDATE) "
                     "SELECT 1, id, 0::bigint, 0 FROM theses WHERE id = ANY($1::text[]) "
                     "UNION ALL SELECT 2, request_id, outcome, 0 FROM download_requests "
                     "WHERE request_id = ANY($2::text[]) "
                     "UNION ALL SELECT 3, chain_key, t, d FROM chains "
                     "UNION ALL SELECT 4, unique_key, 0, 0 FROM download_unique_sessions "
                     "WHERE unique_key = ANY($4::text[])"};

// Adds counts to a rollup; $id ... $ur are the parameters holding the six arrays.
#define THESIS_PG_ADD_COUNTS(table, period, period_expr, id, p, ti, ui, tr, ur)           \
  "INSERT INTO " table " AS r (thesis_id, " period                                        \
  ", total_investigations, unique_investigations, total_requests, unique_requests) "      \
  "SELECT u.id, " period_expr ", u.ti, u.ui, u.tr, u.ur FROM unnest($" id "::text[], $" p \
  "::int[], $" ti "::bigint[], $" ui "::bigint[], $" tr "::bigint[], $" ur                \
  "::bigint[]) AS u(id, p, ti, ui, tr, ur) ON CONFLICT (thesis_id, " period               \
  ") DO UPDATE SET total_investigations = r.total_investigations + "                      \
  "EXCLUDED.total_investigations, unique_investigations = r.unique_investigations + "     \
  "EXCLUDED.unique_investigations, total_requests = r.total_requests + "                  \
  "EXCLUDED.total_requests, unique_requests = r.unique_requests + EXCLUDED.unique_requests"

// The write: every table of the batch in one statement. New chains, unique
// sessions and request ids are inserted with ON CONFLICT DO NOTHING and
// counted: a row another transaction created since the read makes a count
// short, and the batch runs again.
//   $1-$11 events, $12-$14 chains to update, $15-$17 new chains,
//   $18 new unique sessions, $19-$20 new request ids, $21-$26 daily counts
//   (days since 1970-01-01), $27-$32 monthly counts (months since 1970-01);
//   the monthly full-text downloads ($27, $31) also go to the theses' classes.
inline constexpr Statement kDlWrite{
    "dl_write",
    "WITH ev AS (INSERT INTO download_events (event_time, thesis_id, kind, http_status, user_id, "
    "user_cookie, session_cookie, ip, user_agent, request_id, outcome) "
    "SELECT " THESIS_PG_TIME("u.t") ", u.thesis_id, u.kind, u.status, u.user_id, u.user_cookie, "
    "u.session_cookie, u.ip, u.user_agent, u.request_id, u.outcome "
    "FROM unnest($1::bigint[], $2::text[], $3::smallint[], $4::smallint[], $5::text[], "
    "$6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::smallint[]) "
    "AS u(t, thesis_id, kind, status, user_id, user_cookie, session_cookie, ip, user_agent, "
    "request_id, outcome)), "
    "cu AS (UPDATE download_chains c SET last_time = " THESIS_PG_TIME(
        "u.t") ", attributed_day = " THESIS_PG_DAY("u.d") " FROM unnest($12::text[], "
                                                          "$13::bigint[], $14::int[]) AS "
                                                          "u(k, t, d) WHERE c.chain_key = u.k), "
    "ci AS (INSERT INTO download_chains (chain_key, last_time, attributed_day) "
    "SELECT u.k, " THESIS_PG_TIME("u.t") ", " THESIS_PG_DAY(
        "u.d") " FROM unnest($15::text[], $16::bigint[], $17::int[]) AS u(k, t, d) "
               "ON CONFLICT (chain_key) DO NOTHING RETURNING 1), "
    "ui AS (INSERT INTO download_unique_sessions (unique_key) SELECT unnest($18::text[]) "
    "ON CONFLICT (unique_key) DO NOTHING RETURNING 1), "
    "ri AS (INSERT INTO download_requests (request_id, outcome) "
    "SELECT * FROM unnest($19::text[], $20::smallint[]) ON CONFLICT (request_id) DO NOTHING "
    "RETURNING 1), "
    "dd AS (" THESIS_PG_ADD_COUNTS("download_daily", "day", THESIS_PG_DAY("u.p"), "21", "22",
                                   "23", "24", "25", "26") "), "
    "dm AS (" THESIS_PG_ADD_COUNTS("download_monthly", "month",
                                   "(date '1970-01-01' + u.p * interval '1 month')::date", "27",
                                   "28", "29", "30", "31", "32") "), "
    "cc AS (UPDATE class_counts c SET subtree_downloads = c.subtree_downloads + x.n "
    "FROM (SELECT tc.scheme, tc.code, sum(u.tr)::bigint AS n "
    "FROM unnest($27::text[], $31::bigint[]) AS u(id, tr) "
    "JOIN thesis_classes tc ON tc.thesis_id = u.id GROUP BY tc.scheme, tc.code "
    "HAVING sum(u.tr) <> 0) x WHERE c.scheme = x.scheme AND c.code = x.code) "
    "SELECT (SELECT count(*) FROM ci), (SELECT count(*) FROM ui), (SELECT count(*) FROM ri)"};

inline constexpr Statement kDlStatsDays{
    "dl_stats_days",
    "SELECT day - date '1970-01-01', total_investigations, unique_investigations, "
    "total_requests, unique_requests FROM download_daily WHERE thesis_id = $1 "
    "AND day BETWEEN " THESIS_PG_DAY("$2::int") " AND " THESIS_PG_DAY("$3::int") " ORDER BY day"};
inline constexpr Statement kDlLegacyCount{"dl_legacy_count",
                                          "SELECT legacy_download_count FROM theses WHERE id = $1"};
inline constexpr Statement kDlTotals{
    "dl_totals",
    "SELECT u.id, t.id IS NOT NULL, t.legacy_download_count, "
    "coalesce(sum(m.total_investigations), 0)::bigint, "
    "coalesce(sum(m.unique_investigations), 0)::bigint, "
    "coalesce(sum(m.total_requests), 0)::bigint, coalesce(sum(m.unique_requests), 0)::bigint "
    "FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord) "
    "LEFT JOIN theses t ON t.id = u.id LEFT JOIN download_monthly m ON m.thesis_id = u.id "
    "GROUP BY u.id, u.ord, t.id, t.legacy_download_count ORDER BY u.ord"};
inline constexpr Statement kDlReportMonths{
    "dl_report_months",
    "SELECT thesis_id, ((extract(year FROM month) - 1970) * 12 + extract(month FROM month) - 1)"
    "::int, total_investigations, unique_investigations, total_requests, unique_requests "
    "FROM download_monthly WHERE thesis_id = ANY($1::text[]) AND month BETWEEN "
    "(date '1970-01-01' + $2::int * interval '1 month')::date AND "
    "(date '1970-01-01' + $3::int * interval '1 month')::date"};
inline constexpr Statement kDlThesisLabels{
    "dl_thesis_labels",
    "SELECT id, sort_title, institution FROM theses WHERE id = ANY($1::text[])"};

// Maintenance.
inline constexpr Statement kDlPruneChains{
    "dl_prune_chains", "DELETE FROM download_chains WHERE last_time < now() - interval '2 days'"};
inline constexpr Statement kDlPruneUniques{
    "dl_prune_uniques",
    "DELETE FROM download_unique_sessions WHERE create_time < now() - interval '3 days'"};
inline constexpr Statement kDlPruneRequests{
    "dl_prune_requests",
    "DELETE FROM download_requests WHERE create_time < now() - $1::bigint * interval '1 second'"};
inline constexpr Statement kDlEnsurePartitions{
    "dl_ensure_partitions",
    "SELECT count(*) FILTER (WHERE download_events_ensure_partition(m::date)) FROM "
    "generate_series(date_trunc('month', now()), date_trunc('month', now()) + interval "
    "'3 months', interval '1 month') AS m"};

// ---- Classification (pg_classes.cc) -----------------------------------------
// A scheme's generation and table in one statement, so that they agree.
inline constexpr Statement kClassLoadTree{
    "class_load_tree",
    "SELECT s.generation, c.code, coalesce(c.parent, ''), c.name FROM class_schemes s "
    "LEFT JOIN classes c ON c.scheme = s.scheme WHERE s.scheme = $1 ORDER BY c.ordinal"};
inline constexpr Statement kClassPlace{
    "class_place",
    "SELECT class_place($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], "
    "$6::text[], $7::boolean[], $8::bigint[])"};
inline constexpr Statement kClassSnapshot{
    "class_snapshot",
    "SELECT s.generation, s.title, s.version, " THESIS_PG_MICROS(
        "s.update_time") ", c.code, c.direct_theses, c.subtree_theses, c.subtree_downloads, "
                         "c.subtree_legacy FROM class_schemes s LEFT JOIN class_counts c "
                         "ON c.scheme = s.scheme AND c.code = ANY($2::text[]) WHERE s.scheme = $1"};
inline constexpr Statement kClassLock{"class_lock",
                                      "SELECT pg_advisory_xact_lock(7513447203410117003)"};
inline constexpr Statement kClassUpsert{
    "class_upsert",
    "INSERT INTO classes AS c (scheme, code, parent, name, ordinal) "
    "SELECT $1, u.code, nullif(u.parent, ''), u.name, u.ord "
    "FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS u(code, parent, name, ord) "
    "ON CONFLICT (scheme, code) DO UPDATE SET parent = EXCLUDED.parent, name = EXCLUDED.name, "
    "ordinal = EXCLUDED.ordinal WHERE (c.parent, c.name, c.ordinal) IS DISTINCT FROM "
    "(EXCLUDED.parent, EXCLUDED.name, EXCLUDED.ordinal)"};
// Every class gets its counter row; new ones start at zero.
inline constexpr Statement kClassEnsureCounts{
    "class_ensure_counts",
    "INSERT INTO class_counts (scheme, code) SELECT scheme, code FROM classes WHERE scheme = $1 "
    "ON CONFLICT DO NOTHING"};
inline constexpr Statement kClassNewVersion{
    "class_new_version",
    "UPDATE class_schemes SET version = $2, generation = generation + 1, "
    "placed_generation = generation + 1, update_time = now() WHERE scheme = $1 "
    "RETURNING generation"};
inline constexpr Statement kClassMarkPlaced{
    "class_mark_placed",
    "UPDATE class_schemes SET placed_generation = generation WHERE scheme = $1"};
inline constexpr Statement kClassStale{
    "class_stale", "SELECT scheme FROM class_schemes WHERE placed_generation < generation"};
inline constexpr Statement kClassUnplace{"class_unplace",
                                         "DELETE FROM thesis_classes WHERE scheme = $1"};
inline constexpr Statement kClassPlacementInputs{
    "class_placement_inputs",
    "SELECT id, classification_codes, discipline, legacy_download_count FROM theses"};
inline constexpr Statement kClassInsertPlacements{
    "class_insert_placements",
    "INSERT INTO thesis_classes (scheme, code, thesis_id, direct, legacy) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::bigint[])"};
inline constexpr Statement kClassRecount{"class_recount", "SELECT class_recount($1)"};
inline constexpr Statement kClassDownloadTotals{
    "class_download_totals",
    "SELECT thesis_id, sum(total_requests)::bigint FROM download_monthly GROUP BY thesis_id"};
inline constexpr Statement kClassLabelled{
    "class_labelled",
    "SELECT t.title_zh, t.title_en, t.abstract_zh, t.abstract_en, t.keywords_zh, t.keywords_en, "
    "t.classification_codes, t.discipline FROM thesis_classes tc JOIN theses t "
    "ON t.id = tc.thesis_id WHERE tc.scheme = $1 AND tc.code = '~classified' "
    "ORDER BY tc.thesis_id LIMIT $2"};

inline constexpr Statement kAllStatements[] = {
    kGetThesis,     kGetThesisForUpdate, kBatchGetTheses,  kInsertThesis,
    kUpdateThesis,  kDeleteThesis,       kClaimRequest,    kGetRequest,
    kStoreResponse, kSchemaVersion,      kPruneRequestLog,
};

}  // namespace thesis::storage::sql

#endif  // THESIS_SERVER_STORAGE_PG_SQL_H_
