-- Classification schemes (CLC, the discipline catalogue), their classes,
-- where each thesis is placed, and counts rolled up the trees.
--
-- Placement is computed by the server (CLC notation resolves in C++, see
-- server/domain/class_tree.h) and written in the same transaction as the
-- thesis. The counters are kept exact by these rules:
--   * thesis writes place theses through class_place(), which holds the
--     class lock (advisory key 7513447203410117003) shared and locks the
--     counter rows it changes in key order;
--   * download batches hold that lock exclusively while they add their
--     full-text downloads to the classes of their theses;
--   * a table import holds it exclusively while it re-places every thesis.
-- So a thesis's downloads move with it when it is reclassified, whatever
-- runs at the same time.

CREATE TABLE class_schemes (
  scheme            text COLLATE "C" PRIMARY KEY,
  title             text NOT NULL,
  version           text NOT NULL,
  -- Bumped by every change of the table; servers reload their copy when
  -- it differs, and class_place() refuses placements made with another.
  generation        bigint NOT NULL DEFAULT 1,
  -- The generation the stored placements were computed with; lower after
  -- a migration changed the table, until `thesis-server migrate` re-places.
  placed_generation bigint NOT NULL DEFAULT 0,
  update_time       timestamptz NOT NULL DEFAULT now()
);
INSERT INTO class_schemes (scheme, title, version) VALUES
  ('clc', '中国图书馆分类法 (Chinese Library Classification)', 'builtin'),
  ('discipline', '学位授予和人才培养学科目录 (degree discipline catalogue)', 'builtin');

CREATE TABLE classes (
  scheme  text COLLATE "C" NOT NULL REFERENCES class_schemes,
  code    text COLLATE "C" NOT NULL,  -- as the table writes it: B31/39, [B019.13]
  parent  text COLLATE "C",           -- NULL for a root
  name    text NOT NULL,
  ordinal integer NOT NULL,           -- table order
  PRIMARY KEY (scheme, code)
);
CREATE INDEX classes_parent_idx ON classes (scheme, parent, ordinal);

-- One row per class, plus per scheme `~unresolved` (theses with a code
-- that resolves nowhere), `~none` (no code given) and `~classified`
-- (theses in at least one real class).
CREATE TABLE class_counts (
  scheme           text COLLATE "C" NOT NULL,
  code             text COLLATE "C" NOT NULL,
  direct_theses    bigint NOT NULL DEFAULT 0,
  subtree_theses   bigint NOT NULL DEFAULT 0,
  subtree_downloads bigint NOT NULL DEFAULT 0,  -- COUNTER Total_Item_Requests
  subtree_legacy   bigint NOT NULL DEFAULT 0,   -- legacy_download_count
  PRIMARY KEY (scheme, code)
);
INSERT INTO class_counts (scheme, code)
SELECT s.scheme, p.code FROM class_schemes s,
  (VALUES ('~unresolved'), ('~none'), ('~classified')) AS p(code);

-- Every class a thesis counts in: the classes its codes resolve to
-- (direct) and all their ancestors, once each.
CREATE TABLE thesis_classes (
  scheme    text COLLATE "C" NOT NULL,
  code      text COLLATE "C" NOT NULL,
  thesis_id text COLLATE "C" NOT NULL,
  direct    boolean NOT NULL,
  legacy    bigint NOT NULL DEFAULT 0,  -- the thesis's legacy count when placed
  PRIMARY KEY (scheme, code, thesis_id)
);
CREATE INDEX thesis_classes_thesis_idx ON thesis_classes (thesis_id);

-- Replaces the placements of theses `ids` with the given rows and moves
-- their counts. `gen_schemes`/`gens`: the generations the placements were
-- computed with; false (and nothing changed) when a table changed since.
CREATE FUNCTION class_place(ids text[], gen_schemes text[], gens bigint[], p_scheme text[],
                            p_code text[], p_thesis text[], p_direct boolean[],
                            p_legacy bigint[]) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  o_scheme text[]; o_code text[]; o_thesis text[]; o_direct boolean[]; o_legacy bigint[];
  d_scheme text[]; d_code text[];
  d_direct bigint[]; d_theses bigint[]; d_downloads bigint[]; d_legacy bigint[];
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7513447203410117003);
  IF EXISTS (SELECT 1 FROM unnest(gen_schemes, gens) AS g(scheme, gen)
             JOIN class_schemes s USING (scheme) WHERE s.generation <> g.gen) THEN
    RETURN false;
  END IF;
  WITH del AS (DELETE FROM thesis_classes WHERE thesis_id = ANY(ids)
               RETURNING scheme, code, thesis_id, direct, legacy)
  SELECT array_agg(scheme), array_agg(code), array_agg(thesis_id), array_agg(direct),
         array_agg(legacy)
  INTO o_scheme, o_code, o_thesis, o_direct, o_legacy FROM del;
  INSERT INTO thesis_classes (scheme, code, thesis_id, direct, legacy)
  SELECT * FROM unnest(p_scheme, p_code, p_thesis, p_direct, p_legacy);
  WITH dn AS (SELECT thesis_id, sum(total_requests)::bigint AS n FROM download_monthly
              WHERE thesis_id = ANY(ids) GROUP BY thesis_id),
       x AS (SELECT o.scheme, o.code, -(o.direct::int) AS dd, -1 AS dt,
                    -coalesce(dn.n, 0) AS dl, -o.legacy AS dg
             FROM unnest(o_scheme, o_code, o_thesis, o_direct, o_legacy)
                  AS o(scheme, code, thesis_id, direct, legacy)
             LEFT JOIN dn USING (thesis_id)
             UNION ALL
             SELECT p.scheme, p.code, p.direct::int, 1, coalesce(dn.n, 0), p.legacy
             FROM unnest(p_scheme, p_code, p_thesis, p_direct, p_legacy)
                  AS p(scheme, code, thesis_id, direct, legacy)
             LEFT JOIN dn USING (thesis_id)),
       g AS (SELECT scheme, code, sum(dd)::bigint AS dd, sum(dt)::bigint AS dt,
                    sum(dl)::bigint AS dl, sum(dg)::bigint AS dg
             FROM x GROUP BY scheme, code
             HAVING sum(dd) <> 0 OR sum(dt) <> 0 OR sum(dl) <> 0 OR sum(dg) <> 0)
  SELECT array_agg(scheme ORDER BY scheme, code), array_agg(code ORDER BY scheme, code),
         array_agg(dd ORDER BY scheme, code), array_agg(dt ORDER BY scheme, code),
         array_agg(dl ORDER BY scheme, code), array_agg(dg ORDER BY scheme, code)
  INTO d_scheme, d_code, d_direct, d_theses, d_downloads, d_legacy FROM g;
  IF d_scheme IS NULL THEN
    RETURN true;
  END IF;
  -- Key order, so that concurrent placements cannot deadlock.
  PERFORM 1 FROM class_counts c
  WHERE (c.scheme, c.code) IN (SELECT * FROM unnest(d_scheme, d_code))
  ORDER BY c.scheme, c.code FOR UPDATE;
  UPDATE class_counts c SET direct_theses = c.direct_theses + d.dd,
                            subtree_theses = c.subtree_theses + d.dt,
                            subtree_downloads = c.subtree_downloads + d.dl,
                            subtree_legacy = c.subtree_legacy + d.dg
  FROM unnest(d_scheme, d_code, d_direct, d_theses, d_downloads, d_legacy)
       AS d(scheme, code, dd, dt, dl, dg)
  WHERE c.scheme = d.scheme AND c.code = d.code;
  RETURN true;
END;
$$;

-- Counts of one scheme from scratch: what the maintained counters must
-- always equal (table imports end with it; tests compare against it).
CREATE FUNCTION class_recount(p_scheme text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM class_counts WHERE scheme = p_scheme;
  INSERT INTO class_counts (scheme, code)
  SELECT p_scheme, code FROM classes WHERE scheme = p_scheme
  UNION SELECT p_scheme, '~unresolved' UNION SELECT p_scheme, '~none'
  UNION SELECT p_scheme, '~classified';
  UPDATE class_counts c SET direct_theses = a.dd, subtree_theses = a.dt,
                            subtree_downloads = a.dl, subtree_legacy = a.dg
  FROM (SELECT tc.code, count(*) FILTER (WHERE tc.direct) AS dd, count(*) AS dt,
               coalesce(sum(dn.n), 0)::bigint AS dl, sum(tc.legacy)::bigint AS dg
        FROM thesis_classes tc
        LEFT JOIN (SELECT thesis_id, sum(total_requests) AS n FROM download_monthly
                   GROUP BY thesis_id) dn USING (thesis_id)
        WHERE tc.scheme = p_scheme GROUP BY tc.code) a
  WHERE c.scheme = p_scheme AND c.code = a.code;
END;
$$;
