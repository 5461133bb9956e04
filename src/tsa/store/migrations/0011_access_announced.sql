-- Each advance of the access generation is announced to the replicas (channel tsa_access, the new
-- value as payload), delivered when its transaction commits. A replica that listens knows the
-- generation without a query per request (tsa.access.watch); one that does not still asks.
CREATE FUNCTION tsa_access_announced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tsa_access', NEW.value);
    RETURN NULL;
END
$$;
CREATE TRIGGER store_meta_access_announced AFTER UPDATE ON store_meta
    FOR EACH ROW WHEN (NEW.key = 'access_generation') EXECUTE FUNCTION tsa_access_announced();
