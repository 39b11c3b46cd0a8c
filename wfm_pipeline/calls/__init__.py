"""Call-detail records: read, validate, load; intervals and agent activity are derived in SQL.

Plain Python (no Dagster, no click): ``reader`` (bounded CSV/Excel reading with a header row),
``validate`` (every rule, vectorised; the JSON path ``wfm.api_batch_insert_call_records`` gives
the same verdicts), ``loader`` (COPY into ``wfm.call_records`` and ``wfm.apply_call_records_batch``
in one transaction, the Argus loader's audit and retry protocol) and ``patience`` (caller
patience for Erlang A from abandonments).
"""
