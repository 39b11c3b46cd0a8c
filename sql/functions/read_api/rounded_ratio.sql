-- wfm.rounded_ratio: round(p_factor * p_num / p_den, 2) as the read API reports averages and
-- percentages (NULL when p_den is 0 or an argument is NULL), with integer arithmetic where that
-- is provably the same value: numeric division costs about 0.3 us a call, and a week of hourly
-- buckets for 20 services makes 16,800 of them (issue 15).
--
-- Why the integer path equals round(numeric division, 2): for 0 <= x = f*n/d the integer
-- (200*f*n + d) div (2*d) is floor(100*x + 1/2), i.e. x rounded half up (= half away from zero,
-- numeric round's rule, for x >= 0) to 2 decimals. numeric division first rounds x to at least
-- 16 significant digits, which keeps >= 12 decimals for x < 1e8; a value that is not exactly on
-- a half-cent boundary is at least 1/(200*d) > 5e-12 away from it when d < 1e9, so that first
-- rounding never moves it across. The guards keep every product inside bigint; anything outside
-- them takes the numeric expression itself.
-- The guards (session 6: four comparisons against constants, ~30 ns a value less than the five
-- comparisons and two products before): 1 <= d < 1e9 and 0 <= f*n <= 99,999,999, so the quotient
-- is below 1e8 (d >= 1) and 200*f*n + d stays far inside bigint. With a constant factor (every
-- caller passes 1 or 100) the planner folds `p_factor BETWEEN 1 AND 100` and `99999999 / p_factor`.
-- Larger numerators (f*n >= 1e8: more than 27,000 hours of talk in one bucket, or a million
-- answered calls in an SL percentage) take the numeric expression: the same value, slower.
-- Inlinable SQL (IMMUTABLE, not STRICT, one expression).
CREATE OR REPLACE FUNCTION wfm.rounded_ratio(p_num bigint, p_den bigint, p_factor integer DEFAULT 1)
RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN p_den BETWEEN 1 AND 999999999 AND p_factor BETWEEN 1 AND 100
                     AND p_num BETWEEN 0 AND 99999999 / p_factor
                THEN ((200 * p_factor * p_num + p_den) / (2 * p_den))::numeric * 0.01
                ELSE round(p_factor * p_num::numeric / nullif(p_den, 0), 2)
           END
$$;
COMMENT ON FUNCTION wfm.rounded_ratio(bigint, bigint, integer) IS
    'Internal: round(p_factor * p_num / p_den, 2) (NULL for p_den = 0): integer arithmetic in the range where it equals the numeric expression, the numeric expression elsewhere. Used by the read API''s averages and percentages.';
REVOKE ALL ON FUNCTION wfm.rounded_ratio(bigint, bigint, integer) FROM PUBLIC;
