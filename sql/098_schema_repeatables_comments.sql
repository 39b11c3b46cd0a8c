-- wfm.schema_repeatables (created by the migration runner's bootstrap, wfm_pipeline/db/migrations.py)
-- gets its column comments here: every column of the schema is documented (test_schema.py).
COMMENT ON COLUMN wfm.schema_repeatables.path IS 'File path relative to sql/functions/, e.g. json_import/run_json_import.sql.';
COMMENT ON COLUMN wfm.schema_repeatables.sha256 IS 'sha256 of the file content last applied.';
COMMENT ON COLUMN wfm.schema_repeatables.applied_at IS 'When that content was applied.';
