-- Thesis records, one row each, every field of the API in its own column.
CREATE TABLE theses (
  id                    text COLLATE "C" PRIMARY KEY,
  title_zh              text NOT NULL DEFAULT '',
  title_en              text NOT NULL DEFAULT '',
  -- Ordering key for `order_by title`: the Chinese title, else the English one.
  sort_title            text COLLATE "C" GENERATED ALWAYS AS
                          (CASE WHEN title_zh <> '' THEN title_zh ELSE title_en END) STORED,
  authors               text[] NOT NULL DEFAULT '{}',
  advisors              text[] NOT NULL DEFAULT '{}',
  institution           text NOT NULL DEFAULT '',
  discipline            text NOT NULL DEFAULT '',
  degree_level          smallint NOT NULL DEFAULT 0,
  degree_year           integer NOT NULL DEFAULT 0,
  abstract_zh           text NOT NULL DEFAULT '',
  abstract_en           text NOT NULL DEFAULT '',
  keywords_zh           text[] NOT NULL DEFAULT '{}',
  keywords_en           text[] NOT NULL DEFAULT '{}',
  online_contributor    text NOT NULL DEFAULT '',
  online_year           integer NOT NULL DEFAULT 0,
  online_issue          text NOT NULL DEFAULT '',
  classification_codes  text[] NOT NULL DEFAULT '{}',
  source_database       text NOT NULL DEFAULT '',
  source_record_id      text NOT NULL DEFAULT '',
  source_url            text NOT NULL DEFAULT '',
  language              text NOT NULL DEFAULT '',
  legacy_download_count bigint CHECK (legacy_download_count >= 0),
  create_time           timestamptz NOT NULL,
  update_time           timestamptz NOT NULL,
  revision              bigint NOT NULL DEFAULT 1
);

-- Keyset pagination for each order_by, ties broken by id.
CREATE INDEX theses_create_time_idx ON theses (create_time, id);
CREATE INDEX theses_degree_year_idx ON theses (degree_year, id);
CREATE INDEX theses_sort_title_idx ON theses (sort_title, id);
-- Filters.
CREATE INDEX theses_institution_idx ON theses (institution);
CREATE INDEX theses_discipline_idx ON theses (discipline);
CREATE INDEX theses_authors_idx ON theses USING gin (authors);
CREATE INDEX theses_advisors_idx ON theses USING gin (advisors);

-- Answers of mutations that carried a request_id, for at-most-once retries.
-- Written in the same transaction as the change they answer.
CREATE TABLE request_log (
  request_id   text COLLATE "C" PRIMARY KEY,
  request_hash text NOT NULL,
  response     bytea,
  create_time  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_log_create_time_idx ON request_log (create_time);
