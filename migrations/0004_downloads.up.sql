-- Download counting by the COUNTER Code of Practice (Release 5.1).
--
-- Every recorded event is kept with the outcome it was given; the state
-- that decides outcomes (double-click chains, unique sessions, request ids)
-- lives here so that every replica sees it; daily and monthly rollups serve
-- the reads. Nothing references theses: deleting a thesis keeps its history.

-- Raw events, partitioned by month of the event time. Partitions for the
-- months around now are made here and by the server's maintenance (see
-- download_events_ensure_partition); anything else lands in the default one.
CREATE TABLE download_events (
  seq            bigserial,
  event_time     timestamptz NOT NULL,
  thesis_id      text COLLATE "C" NOT NULL,
  kind           smallint NOT NULL,      -- 1 investigation, 2 request
  http_status    smallint NOT NULL,
  user_id        text NOT NULL,
  user_cookie    text NOT NULL,
  session_cookie text NOT NULL,
  ip             text NOT NULL,
  user_agent     text NOT NULL,
  request_id     text NOT NULL,
  outcome        smallint NOT NULL,      -- DownloadOutcome
  record_time    timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (event_time);

CREATE TABLE download_events_default PARTITION OF download_events DEFAULT;

-- Creates the partition of the month holding `day` unless it exists. Safe to
-- run from several replicas at once; false when nothing was created (it
-- exists, or the default partition already holds rows of that month).
CREATE FUNCTION download_events_ensure_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  first date := date_trunc('month', day)::date;
  name  text := 'download_events_' || to_char(day, 'YYYYMM');
BEGIN
  IF to_regclass(name) IS NOT NULL THEN
    RETURN false;
  END IF;
  EXECUTE format('CREATE TABLE %I PARTITION OF download_events FOR VALUES FROM (%L) TO (%L)',
                 name, first, (first + interval '1 month')::date);
  RETURN true;
EXCEPTION WHEN duplicate_table OR check_violation OR lock_not_available THEN
  RETURN false;
END;
$$;

SELECT download_events_ensure_partition(m::date)
FROM generate_series(date_trunc('month', now()) - interval '12 months',
                     date_trunc('month', now()) + interval '3 months', interval '1 month') AS m;

-- Double-click chains: the last event of the running action of one user
-- identity on one item and kind, and the day that holds its one count.
-- Key: Engine::ChainKeys. Pruned two days after the last event.
CREATE TABLE download_chains (
  chain_key      text COLLATE "C" PRIMARY KEY,
  last_time      timestamptz NOT NULL,
  attributed_day date NOT NULL
);

-- User-sessions that have counted towards a Unique metric of an item.
-- Key: Engine::UniqueKeys (they hold the date). Pruned after three days.
CREATE TABLE download_unique_sessions (
  unique_key  text COLLATE "C" PRIMARY KEY,
  create_time timestamptz NOT NULL DEFAULT now()
);

-- Request ids of recorded events and the outcome each got; kept 24 hours
-- (with the request_log).
CREATE TABLE download_requests (
  request_id  text COLLATE "C" PRIMARY KEY,
  outcome     smallint NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now()
);

-- Rollups: the four COUNTER item metrics per thesis and day / month.
CREATE TABLE download_daily (
  thesis_id             text COLLATE "C" NOT NULL,
  day                   date NOT NULL,
  total_investigations  bigint NOT NULL DEFAULT 0,
  unique_investigations bigint NOT NULL DEFAULT 0,
  total_requests        bigint NOT NULL DEFAULT 0,
  unique_requests       bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (thesis_id, day)
);
CREATE INDEX download_daily_day_idx ON download_daily (day);

CREATE TABLE download_monthly (
  thesis_id             text COLLATE "C" NOT NULL,
  month                 date NOT NULL,  -- first day of the month
  total_investigations  bigint NOT NULL DEFAULT 0,
  unique_investigations bigint NOT NULL DEFAULT 0,
  total_requests        bigint NOT NULL DEFAULT 0,
  unique_requests       bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (thesis_id, month)
);
CREATE INDEX download_monthly_month_idx ON download_monthly (month);
