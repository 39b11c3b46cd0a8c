-- The volume this install is sized for (issue 12): the capacity checks of
-- wfm.validate_throughput_capacity() judge the stored peak day and hour against these figures
-- instead of the guide's fixed 100,000 calls a day, which a small install never reaches (and
-- should not be warned about). A table, like wfm.api_write_limits: an operator setting that a
-- caller cannot change with SET.
CREATE TABLE wfm.capacity_targets (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    daily_calls     numeric NOT NULL DEFAULT 100000 CHECK (daily_calls > 0),
    peak_hour_calls numeric NOT NULL DEFAULT 10000 CHECK (peak_hour_calls > 0),
    warn_share      numeric NOT NULL DEFAULT 0.8 CHECK (warn_share > 0 AND warn_share <= 1)
);
COMMENT ON TABLE wfm.capacity_targets IS
    'One row: the call volume this install is sized (and its SLAs validated) for. validate_throughput_capacity() '
    'WARNs when the busiest stored day or hour reaches warn_share of it (headroom running out). Defaults: the '
    'guide''s capacity targets. Change with UPDATE wfm.capacity_targets SET ... as the schema owner, e.g. after '
    '`wfm bench queries` showed the SLAs hold at a higher volume.';
COMMENT ON COLUMN wfm.capacity_targets.singleton IS 'Always true: the table holds exactly one row.';
COMMENT ON COLUMN wfm.capacity_targets.daily_calls IS
    'Calls a day (non-unique, all services) the install is sized for; default 100,000 (the guide).';
COMMENT ON COLUMN wfm.capacity_targets.peak_hour_calls IS
    'Calls in the busiest hour (all services) the install is sized for; default 10,000 (the guide).';
COMMENT ON COLUMN wfm.capacity_targets.warn_share IS
    'Share of a target at which the capacity checks WARN (default 0.8: less than 20 % headroom left).';
INSERT INTO wfm.capacity_targets DEFAULT VALUES;
REVOKE ALL ON wfm.capacity_targets FROM PUBLIC;
GRANT SELECT ON wfm.capacity_targets TO wfm_readonly, wfm_etl;
