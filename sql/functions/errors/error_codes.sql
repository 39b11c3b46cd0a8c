-- THE list of error codes: scope, description and message template of every code. The one
-- source of these texts for every validator:
--   * the database: this repeatable file upserts wfm.error_codes (re-applied when it changes);
--     the SQL functions render the templates with wfm.render_error_template / wfm.error_message;
--   * the file validator: wfm_pipeline/argus/errors.py parses this file (package data), so a
--     file is validated without a database. Keep to the form below: one
--     ('CODE', 'scope', 'description', 'template') tuple per code, standard SQL string literals
--     only (adjacent literals on separate lines are joined, as SQL does).
-- wfm_pipeline_tests/test_error_messages.py proves the parse equals the table and that both
-- renderers give identical text for the same (code, params).
--
-- Placeholders: {name} is replaced by the parameter of that name; {value} (the raw user input)
-- is clipped to 200 characters and quoted ('...', quotes doubled); all other parameters are
-- inserted as they are, braces turned into parentheses. A missing parameter leaves its
-- placeholder. Messages are clipped to 1000 characters. Braces in a template belong to its
-- placeholders only. Parameters per code: docs/import.md (error codes). A new placeholder also
-- needs its line in wfm.render_error_template (render_error_template.sql).
-- Codes are never removed (wfm.import_errors references them); a new code is a new tuple here.

INSERT INTO wfm.error_codes AS c (error_code, scope, description, message_template) VALUES
    -- ------------------------------------------------------------ one input row is rejected
    ('MISSING_VALUE', 'row',
     'A required cell is empty (D and E may be empty when C = 0; a JSON row that is not an array or object has no cells).',
     'column {column} is empty; a value is required (D and E may be empty only when C = 0)'),
    ('INVALID_DATETIME', 'row',
     'Column A is not a date-time: DD.MM.YYYY HH:MM[:SS], ISO 8601, a date cell or an Excel serial date, in the years 1678-2261.',
     'column {column} {value} is not a date-time: DD.MM.YYYY HH:MM[:SS], ISO 8601 (API rows: with a UTC offset), '
     'a date cell or an Excel serial date, in the years 1678-2261'),
    ('MISALIGNED_INTERVAL', 'row',
     'The interval start is not on a 15-minute boundary (:00, :15, :30, :45 and 0 seconds), in the service time zone or in UTC.',
     'column {column} {value} is not the start of a 15-minute interval: :00, :15, :30 or :45 and 0 seconds, '
     'in time zone {time_zone} and in UTC (which local mean time, before standard time, is not)'),
    ('INVALID_LOCAL_TIME', 'row',
     'The local time does not exist in the service time zone (daylight-saving gap).',
     'column {column} {value} does not exist in time zone {time_zone}: clocks jump over it when daylight-saving time starts'),
    ('NOT_INTEGER', 'row',
     'A count or duration is not a whole number.',
     'column {column} {value} is not a whole number'),
    ('NEGATIVE_VALUE', 'row',
     'A count or duration is negative.',
     'column {column} {value} is negative'),
    ('OUT_OF_RANGE', 'row',
     'A value is beyond its allowed range (counts at most 2,147,483,647, durations at most 86,400 s; API fields within their totals).',
     'column {column} {value} is out of range: it must be {limit}'),
    ('UNIQUE_EXCEEDS_NON_UNIQUE', 'row',
     'Unique incoming calls (B) exceed non-unique incoming calls (C).',
     'column {column} {value} exceeds column {other_column} ({other_count}): unique incoming calls cannot exceed '
     'non-unique incoming calls'),
    ('DUPLICATE_INTERVAL', 'row',
     'The same interval appears more than once with different values; all copies are rejected.',
     'interval {value} appears in rows {rows} with different values; all of them are rejected'),
    ('DUPLICATE_ROW', 'row',
     'An exact copy of an earlier row for the same interval; the first copy is kept.',
     'interval {value} is an exact copy of row {first_row}; the first copy is kept'),
    ('WRONG_ROW_LENGTH', 'row',
     'A row of the compact JSON form (first element a header of field names, then one array of values per row) '
     'does not hold one value per header name.',
     'row {rows} has {count} values, but the header (the first element of the compact form) names {columns} '
     'fields: a row holds one value per name, in the header''s order'),
    ('NO_PARTITION', 'row',
     'The row''s month (UTC) has no partition yet; the JSON functions never create partitions. The operator makes '
     'the month available (premake window in wfm.partition_config, or wfm.ensure_monthly_partitions run by the ETL role).',
     'no partition for month {month} (UTC) of interval {value}; the JSON import functions never create partitions: '
     'ask the operator to make the month available (widen the premake window in wfm.partition_config and run '
     'wfm.premake_partitions() or `wfm db upgrade`, or run SELECT wfm.ensure_monthly_partitions(...) as the ETL role), '
     'then send the row again'),
    ('OUTSIDE_PARTITION_WINDOW', 'row',
     'The interval falls in a month without a partition that is outside the on-demand window '
     '(wfm.partition_config.ondemand_months_ahead/back); an administrator creates it with wfm.ensure_monthly_partitions.',
     'interval {interval} UTC is in month {month}, which has no partition and is outside the months imports may '
     'create ({first} .. {last}, wfm.partition_config); an administrator can create it with wfm.ensure_monthly_partitions'),
    -- call-detail records (issue 13; wfm_pipeline/calls, wfm.stage_call_records)
    ('INVALID_OUTCOME', 'row',
     'The outcome of a call record is not answered, abandoned or other.',
     'column {column} {value} is not an outcome: answered, abandoned or other (in any case)'),
    ('OUTCOME_CONFLICT', 'row',
     'answered_at is set on a call record whose outcome is abandoned.',
     'column {column} {value} is set, but the outcome is abandoned (a call an agent answered is answered)'),
    ('ANSWERED_BEFORE_OFFERED', 'row',
     'answered_at is before offered_at.',
     'column {column} {value} is before offered_at'),
    ('ENDED_BEFORE_ANSWERED', 'row',
     'ended_at is before answered_at.',
     'column {column} {value} is before answered_at'),
    ('ENDED_BEFORE_OFFERED', 'row',
     'ended_at is before offered_at (a call without answered_at).',
     'column {column} {value} is before offered_at (the call has no answered_at)'),
    ('TALK_TOO_LONG', 'row',
     'The talk (ended_at - answered_at) is longer than 24 hours.',
     'column {column} {value}: the talk (ended_at - answered_at) is longer than 24 hours'),
    ('WAIT_TOO_LONG', 'row',
     'The wait in the queue (answered_at, or for an unanswered call ended_at, minus offered_at) is longer than 24 hours.',
     'column {column} {value}: the wait in the queue (from offered_at) is longer than 24 hours'),
    ('DUPLICATE_CALL_ID', 'row',
     'The same call_id (same service, same UTC month of offered_at) appears more than once in one input with '
     'different values; all copies are rejected.',
     'call {value} appears in rows {rows} with different values (same service, call_id and UTC month of '
     'offered_at); all of them are rejected'),
    -- agent state events (issue 14; wfm_pipeline/agents, wfm.stage_agent_events)
    ('INVALID_STATE', 'row',
     'The state of an agent state event is not logged_in, ready, not_ready, talking, post_processing or logged_out.',
     'column {column} {value} is not an agent state: logged_in, ready, not_ready, talking, post_processing or '
     'logged_out (in any case)'),
    ('EVENT_OUT_OF_ORDER', 'row',
     'An agent state event is earlier than an event of the same agent in an earlier row of the same input: each '
     'agent''s events must come in time order.',
     'column {column} {value} is earlier than row {first_row} of the same agent: an agent''s events must be in '
     'time order'),
    ('DUPLICATE_EVENT', 'row',
     'The same agent (same service) has the same state at the same time more than once in one input with a '
     'different reason or group; all copies are rejected.',
     'column {column} {value}: the agent has this state at this time in rows {rows} with a different reason or '
     'group; all of them are rejected'),
    ('NOT_LOGGED_IN', 'row',
     'An agent state event other than logged_in (a logout too) while the agent is not logged in: no earlier event, '
     'or the previous one (in the input or stored) is logged_out.',
     'column {column} {value}: the agent is not logged in at this time ({reason}); an agent''s session starts '
     'with logged_in'),
    ('OVERLAPPING_SESSION', 'row',
     'A logged_in event while the agent is already logged in: the previous event (in the input or stored) is not '
     'logged_out.',
     'column {column} {value}: the agent is already logged in ({reason}); a new session needs a logged_out first'),
    -- ------------------------------------------------------------ the whole input is rejected
    ('FILE_UNREADABLE', 'file',
     'The file could not be opened or parsed as xlsx, xls or csv.',
     '{file}: cannot be read: {reason}'),
    ('TOO_FEW_COLUMNS', 'file',
     'The data has fewer than the five Argus columns A-E.',
     '{file}: found {columns} column(s); an Argus export has five (A start time, B unique calls, C non-unique calls, '
     'D average talk time, E average post-processing time)'),
    ('NO_DATA_ROWS', 'file',
     'No row with a date in column A was found.',
     '{file}: no data rows: no row has a date in column A (DD.MM.YYYY HH:MM[:SS], ISO 8601, a date cell or an '
     'Excel serial date)'),
    ('UNKNOWN_SERVICE', 'file',
     'The service named by the import (or by an API row''s service_id) does not exist.',
     'unknown service {value}'),
    ('UNKNOWN_GROUP', 'file',
     'The group named by the import (or by an API row''s group_id) does not exist in that service.',
     'unknown group {value} in service {service}'),
    ('STRICT_MODE', 'file',
     'Strict import: the input had invalid rows, so none of its rows was imported.',
     'strict import: {rejected} of {total} rows are invalid, so none of the {valid} valid rows was imported'),
    ('FILE_TOO_LARGE', 'file',
     'The file is beyond a reader limit: size on disk, uncompressed size, compression ratio, a text longer than '
     '32,767 characters or too much text in total.',
     '{file}: too large: {reason}'),
    ('SHEET_TOO_LARGE', 'file',
     'The used range of the sheet (or the CSV) is beyond the row, column or cell limit of the reader.',
     '{file}: the {where}''s used range reaches row {last_row}, column {last_column} ({cells} cells); the reader accepts at most '
     '{max_rows} rows, {max_columns} columns and {max_cells} cells'),
    ('TOO_MANY_NEW_MONTHS', 'file',
     'The input needs more new monthly partitions than one import may create (wfm.partition_config.ondemand_max_new_months).',
     'the file needs {count} new monthly partitions ({first} .. {last}); one import may create at most {limit} '
     '(wfm.partition_config.ondemand_max_new_months): create them first with wfm.ensure_monthly_partitions'),
    ('IMPORT_FAILED', 'file',
     'The load failed and was rolled back (lock timeout, deadlock, lost connection, interrupted process, ...): none of '
     'the input''s rows was imported; importing the file again is safe.',
     '{reason}'),
    ('MISSING_COLUMN', 'file',
     'A required column of a call-record file (call_id, offered_at, answered_at, ended_at, outcome, agent) is missing '
     'from its header row.',
     '{file}: the header row has no column {columns}; call-record files need call_id, offered_at, answered_at, '
     'ended_at, outcome and agent (optional: customer_id, wrap_up_seconds, group; names are case-insensitive)'),
    ('MISSING_EVENT_COLUMN', 'file',
     'A required column of an agent state file (agent, state, at) is missing from its header row.',
     '{file}: the header row has no column {columns}; agent state files need agent, state and at (optional: '
     'reason, group; names are case-insensitive)'),
    ('DUPLICATE_COLUMN', 'file',
     'Two columns of a call-record file''s header row have the same name (names are case-insensitive).',
     '{file}: the header row names column {columns} twice (names are case-insensitive)')
ON CONFLICT (error_code) DO UPDATE
SET scope = EXCLUDED.scope, description = EXCLUDED.description, message_template = EXCLUDED.message_template
WHERE (c.scope, c.description, c.message_template)
      IS DISTINCT FROM (EXCLUDED.scope, EXCLUDED.description, EXCLUDED.message_template);
