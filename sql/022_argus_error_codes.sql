-- Error code used by the file import's strict mode (wfm import --strict, Dagster config
-- strict: true): the rows that were valid are not imported either, and this file-level
-- error explains why, so every input row of the batch is accounted for in import_errors.
INSERT INTO wfm.error_codes (error_code, scope, description) VALUES
    ('STRICT_MODE', 'file', 'Strict import: the input had invalid rows, so none of its rows was imported.');
