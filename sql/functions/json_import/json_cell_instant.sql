-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.json_cell_instant(t text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
-- Shape by positional checks for the usual forms (...THH:MM:SS+HH:MM and ...THH:MM:SSZ),
-- a regex for the rest; field ranges by text comparison (fixed-width digits), so the final
-- cast never raises. Days 29-31 get the exact month-length check.
SELECT CASE
    WHEN length(t) >= 17 AND substr(t, 5, 1) = '-' AND substr(t, 8, 1) = '-' AND substr(t, 11, 1) IN ('T', ' ')
         AND substr(t, 14, 1) = ':'
         AND wfm.is_digits(substr(t, 1, 4) || substr(t, 6, 2) || substr(t, 9, 2) || substr(t, 12, 2) || substr(t, 15, 2))
         AND substr(t, 1, 4) COLLATE "C" >= '0001' AND substr(t, 6, 2) COLLATE "C" BETWEEN '01' AND '12'
         AND substr(t, 9, 2) COLLATE "C" BETWEEN '01' AND '31' AND substr(t, 12, 2) COLLATE "C" <= '23' AND substr(t, 15, 2) COLLATE "C" <= '59'
         AND CASE length(t)
                 -- (length 25 is also ...SS.ffffZ or ...SS.ff+HH: those take the regex)
                 WHEN 25 THEN CASE WHEN substr(t, 20, 1) NOT IN ('+', '-')
                                   THEN t ~ '^.{16}(:[0-5][0-9](\.[0-9]{1,6})?)?([Zz]|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)$' ELSE
                              substr(t, 17, 1) = ':' AND substr(t, 20, 1) IN ('+', '-') AND substr(t, 23, 1) = ':'
                              AND wfm.is_digits(substr(t, 18, 2) || substr(t, 21, 2) || substr(t, 24, 2))
                              AND substr(t, 18, 2) COLLATE "C" <= '59' AND substr(t, 21, 2) COLLATE "C" <= '14' AND substr(t, 24, 2) COLLATE "C" <= '59' END
                 WHEN 20 THEN substr(t, 17, 1) = ':' AND substr(t, 20, 1) IN ('Z', 'z')
                              AND wfm.is_digits(substr(t, 18, 2)) AND substr(t, 18, 2) COLLATE "C" <= '59'
                 ELSE t ~ '^.{16}(:[0-5][0-9](\.[0-9]{1,6})?)?([Zz]|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)$'
             END
    THEN CASE WHEN substr(t, 9, 2) COLLATE "C" <= '28'
                   OR wfm.make_timestamp_or_null(substr(t, 1, 4)::integer, substr(t, 6, 2)::integer,
                                                 substr(t, 9, 2)::integer, 0, 0, 0) IS NOT NULL
              THEN t::timestamptz END
END
$$;
COMMENT ON FUNCTION wfm.json_cell_instant(text) IS
    'Internal (inlined): an instant from ISO 8601 text with a UTC offset (Z, +01, +0100, +01:00); NULL if the text is not a valid one.';
REVOKE ALL ON FUNCTION wfm.json_cell_instant(text) FROM PUBLIC;
