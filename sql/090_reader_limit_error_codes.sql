-- File-level error codes of the bounded file reader (wfm_pipeline/argus/reader.py): a file
-- that would take more memory than its content justifies is rejected before it is
-- materialized, with a message naming the file and the limit (settings: WFM_MAX_FILE_MB).
INSERT INTO wfm.error_codes (error_code, scope, description) VALUES
    ('FILE_TOO_LARGE',  'file', 'The file is beyond a reader limit: size on disk, uncompressed size, compression ratio, a text longer than 32,767 characters or too much text in total.'),
    ('SHEET_TOO_LARGE', 'file', 'The used range of the sheet (or the CSV) is beyond the row, column or cell limit of the reader.');
