-- The wfm schema holds every object of the product. Applications set
-- search_path = wfm, public and can then run the guide's examples verbatim.
COMMENT ON SCHEMA wfm IS
    'WFM time-series store: call-centre interval statistics, imports, forecasts and the SQL API.';

REVOKE ALL ON SCHEMA wfm FROM PUBLIC;
GRANT USAGE ON SCHEMA wfm TO wfm_api, wfm_etl, wfm_readonly;

-- Tables created by later migrations get the same grants without repeating them.
ALTER DEFAULT PRIVILEGES IN SCHEMA wfm GRANT SELECT ON TABLES TO wfm_readonly, wfm_etl;
ALTER DEFAULT PRIVILEGES IN SCHEMA wfm GRANT INSERT, UPDATE, DELETE ON TABLES TO wfm_etl;
ALTER DEFAULT PRIVILEGES IN SCHEMA wfm GRANT USAGE, SELECT ON SEQUENCES TO wfm_etl;
-- Functions created by the migrating role in this database are not executable by PUBLIC:
-- each API function grants wfm_api explicitly. (A per-schema default cannot revoke the
-- global PUBLIC grant, hence the database-wide form.)
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
