-- Call records by service and time (replaces the BRIN index of sql/120). Re-deriving intervals
-- and agent activity, estimate_patience and the revert read one service's calls over a time
-- range; with files of many services loaded into the same month, a BRIN range over offered_at
-- would read every service's calls of that range for each file (quadratic over a month's
-- files). Rows arrive in time order per service, so the B-tree grows at the right of each
-- service's key range and costs little on COPY.
DROP INDEX wfm.call_records_offered_brin;
CREATE INDEX call_records_service_time_idx ON wfm.call_records (service_id, offered_at);
COMMENT ON INDEX wfm.call_records_service_time_idx IS
    'Serves one service''s calls over a time range: re-deriving intervals and agent activity, wfm.estimate_patience, revert.';
