-- Internal cell helper of wfm.stage_import_rows (inlined: no SET clause, single expression).
CREATE OR REPLACE FUNCTION wfm.json_cell_local_ts(t text) RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    -- Argus: DD.MM.YYYY HH:MM:SS (seconds optional); positional checks, a regex only as fallback
    WHEN CASE WHEN length(t) = 19 AND substr(t, 3, 1) = '.' THEN
                   substr(t, 6, 1) = '.' AND substr(t, 11, 1) = ' ' AND substr(t, 14, 1) = ':' AND substr(t, 17, 1) = ':'
                   AND wfm.is_digits(substr(t, 1, 2) || substr(t, 4, 2) || substr(t, 7, 4) || substr(t, 12, 2)
                                     || substr(t, 15, 2) || substr(t, 18, 2))
              ELSE false END THEN
        wfm.make_timestamp_or_null(substr(t, 7, 4)::integer, substr(t, 4, 2)::integer, substr(t, 1, 2)::integer,
                                   substr(t, 12, 2)::integer, substr(t, 15, 2)::integer,
                                   substr(t, 18, 2)::numeric)
    -- the same with one-digit day/month/hour, no seconds or extra white space (any of Python's
    -- str.split() white space, as the file validator normalises it)
    WHEN t ~ '^[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u001c-\u001f]*[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u001c-\u001f]+[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u001c-\u001f]*$' THEN
        wfm.make_timestamp_or_null(
            split_part(split_part(btrim(regexp_replace(t, '[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u001c-\u001f]+', ' ', 'g')), ' ', 1), '.', 3)::integer,
            split_part(split_part(btrim(regexp_replace(t, '[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u001c-\u001f]+', ' ', 'g')), ' ', 1), '.', 2)::integer,
            split_part(split_part(btrim(regexp_replace(t, '[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u001c-\u001f]+', ' ', 'g')), ' ', 1), '.', 1)::integer,
            split_part(split_part(btrim(regexp_replace(t, '[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u001c-\u001f]+', ' ', 'g')), ' ', 2), ':', 1)::integer,
            split_part(split_part(btrim(regexp_replace(t, '[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u001c-\u001f]+', ' ', 'g')), ' ', 2), ':', 2)::integer,
            coalesce(nullif(split_part(split_part(btrim(regexp_replace(t, '[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u001c-\u001f]+', ' ', 'g')), ' ', 2), ':', 3), ''), '0')::numeric)
    -- ISO 8601 without offset: YYYY-MM-DDTHH:MM[:SS[.ffffff]] (T or space)
    WHEN CASE WHEN length(t) = 19 AND substr(t, 5, 1) = '-' THEN
                   substr(t, 8, 1) = '-' AND substr(t, 11, 1) IN ('T', ' ') AND substr(t, 14, 1) = ':' AND substr(t, 17, 1) = ':'
                   AND wfm.is_digits(substr(t, 1, 4) || substr(t, 6, 2) || substr(t, 9, 2) || substr(t, 12, 2)
                                     || substr(t, 15, 2) || substr(t, 18, 2))
              WHEN length(t) > 19 AND substr(t, 20, 1) <> '.' THEN false  -- an offset: not a wall-clock time
              ELSE t ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?$' END THEN
        wfm.make_timestamp_or_null(substr(t, 1, 4)::integer, substr(t, 6, 2)::integer, substr(t, 9, 2)::integer,
                                   substr(t, 12, 2)::integer, substr(t, 15, 2)::integer,
                                   coalesce(nullif(substr(t, 18), ''), '0')::numeric)
END
$$;
COMMENT ON FUNCTION wfm.json_cell_local_ts(text) IS
    'Internal (inlined): a wall-clock time from text DD.MM.YYYY HH:MM[:SS] or ISO 8601 without offset; NULL if the text is not a valid one.';
REVOKE ALL ON FUNCTION wfm.json_cell_local_ts(text) FROM PUBLIC;
