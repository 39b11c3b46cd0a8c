-- Role-level session limits of the least-privilege model (roles: sql/001, grants: 009).
--   wfm_api: 30 s statement_timeout, as the guide recommends for reads; a runaway API call
--            is cancelled instead of holding a pool connection. lock_timeout keeps an API
--            write from queueing behind DDL (partition creation) for long.
--   wfm_etl: lock_timeout (as in 009), so loads fail fast instead of queueing readers
--            behind them; no statement_timeout (large loads may run long).
-- Role settings apply to login roles that are MEMBERS only if they SET ROLE; deployments
-- should set the same on the login roles they grant these roles to (see the README).
ALTER ROLE wfm_api SET statement_timeout = '30s';
ALTER ROLE wfm_api SET lock_timeout = '5s';
ALTER ROLE wfm_api SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE wfm_etl SET lock_timeout = '10s';
