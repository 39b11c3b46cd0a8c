-- Failed batches add up too (the file loader counts every non-skipped row of a failed load as
-- rejected, and wfm.sweep_interrupted_imports does the same for a killed import), so the
-- accounting CHECK of sql/097 now exempts only batches still running.
ALTER TABLE wfm.import_batches DROP CONSTRAINT import_batches_rows_add_up;
ALTER TABLE wfm.import_batches ADD CONSTRAINT import_batches_rows_add_up
    CHECK (status = 'running'
           OR rows_total = rows_inserted + rows_updated + rows_rejected + rows_skipped) NOT VALID;
COMMENT ON CONSTRAINT import_batches_rows_add_up ON wfm.import_batches IS
    'rows_total = rows_inserted + rows_updated + rows_rejected + rows_skipped for every batch but a running one (validated: the inserts/updates the import would make; duplicate: all skipped; rejected and failed: every non-skipped row rejected).';
