-- Table rights of the non-API roles for the tables created so far (later tables get them
-- through the default privileges of 002). wfm_api gets no table rights at all. EXECUTE on a
-- function is granted by the function's own file under sql/functions/.
GRANT SELECT ON ALL TABLES IN SCHEMA wfm TO wfm_readonly, wfm_etl;
GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA wfm TO wfm_etl;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA wfm TO wfm_etl;
ALTER ROLE wfm_etl SET lock_timeout = '10s';
