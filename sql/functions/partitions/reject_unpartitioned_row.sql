-- Trigger of the guard partitions (moved from sql/005).
CREATE OR REPLACE FUNCTION wfm.reject_unpartitioned_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = wfm, pg_catalog, pg_temp
AS $$
DECLARE
    v_ts    timestamptz := (pg_catalog.to_jsonb(NEW) ->> TG_ARGV[1])::timestamptz;
    v_month text := pg_catalog.to_char(v_ts AT TIME ZONE 'UTC', 'YYYY-MM');
BEGIN
    RAISE EXCEPTION 'no partition of % for month % (row with % = %)', TG_ARGV[0], v_month, TG_ARGV[1], v_ts
        USING ERRCODE = 'check_violation',
              HINT = pg_catalog.format('Create it first: SELECT wfm.ensure_monthly_partitions(%L, %L, %L);',
                                       TG_ARGV[0], v_month || '-01', v_month || '-01');
END
$$;
COMMENT ON FUNCTION wfm.reject_unpartitioned_row() IS
    'Trigger on guard partitions: a row for a month without a partition fails with an error naming the month.';
REVOKE ALL ON FUNCTION wfm.reject_unpartitioned_row() FROM PUBLIC;
