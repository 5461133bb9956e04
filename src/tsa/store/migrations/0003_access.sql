-- Accounts, groups, API keys, sessions, collections with grants, and the audit log.
-- Every document belongs to one collection; existing documents move into "default",
-- which every signed-in user may read.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    password_hash text,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE groups (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE group_members (
    group_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- A key is "tsa_<prefix>_<secret>": the prefix finds the row, the secret's SHA-256 is compared
-- in constant time. Secrets are 256 random bits, so a slow hash would add nothing.
CREATE TABLE api_keys (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    prefix       text NOT NULL UNIQUE,
    secret_hash  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE collections (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    -- What every signed-in user gets: nothing, read or edit (still capped by their role).
    everyone    text NOT NULL DEFAULT 'none' CHECK (everyone IN ('none', 'read', 'edit')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO collections (name, everyone) VALUES ('default', 'read');

CREATE TABLE collection_grants (
    collection_id bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    user_id       bigint REFERENCES users (id) ON DELETE CASCADE,
    group_id      bigint REFERENCES groups (id) ON DELETE CASCADE,
    permission    text NOT NULL CHECK (permission IN ('read', 'edit')),
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX collection_grants_user ON collection_grants (collection_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX collection_grants_group ON collection_grants (collection_id, group_id) WHERE group_id IS NOT NULL;

ALTER TABLE documents ADD COLUMN collection_id bigint;
UPDATE documents SET collection_id = (SELECT id FROM collections WHERE name = 'default');
ALTER TABLE documents ALTER COLUMN collection_id SET NOT NULL;
ALTER TABLE documents ADD FOREIGN KEY (collection_id) REFERENCES collections (id);
CREATE INDEX documents_collection ON documents (collection_id);
-- One live version of a source name per collection (two teams may both have "manual.pdf").
DROP INDEX documents_ready_source;
CREATE UNIQUE INDEX documents_ready_source ON documents (collection_id, source) WHERE status = 'ready';

-- Copied onto chunks so every retrieval list filters by collection inside its own index scan.
ALTER TABLE chunks ADD COLUMN collection_id bigint;
UPDATE chunks c SET collection_id = d.collection_id FROM documents d WHERE d.id = c.document_id;
ALTER TABLE chunks ALTER COLUMN collection_id SET NOT NULL;
CREATE INDEX chunks_collection ON chunks (collection_id);

CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor_id bigint,
    actor    text,
    action   text NOT NULL,
    target   text,
    address  text,
    detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);

-- Advanced in the same transaction as every change to who may read what (accounts, keys,
-- sessions, groups, collections, grants). Replicas cache signed-in callers in memory and check
-- this counter on every request (in the query that reads the corpus generation anyway), so a
-- revoked key or a removed grant takes effect on the next request everywhere. Triggers, so that
-- nothing, not even a change by hand in SQL, can be missed.
INSERT INTO store_meta (key, value) VALUES ('access_generation', '0') ON CONFLICT (key) DO NOTHING;
CREATE FUNCTION tsa_access_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE store_meta SET value = (value::bigint + 1)::text WHERE key = 'access_generation';
    RETURN NULL;
END
$$;
CREATE TRIGGER users_access AFTER UPDATE OF role, password_hash, disabled OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tsa_access_changed();
-- A new key or session is cached nowhere yet; last_used_at changes nothing.
CREATE TRIGGER api_keys_access AFTER UPDATE OF revoked_at, expires_at, user_id, secret_hash OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION tsa_access_changed();
CREATE TRIGGER sessions_access AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION tsa_access_changed();
CREATE TRIGGER group_members_access AFTER INSERT OR UPDATE OR DELETE ON group_members
    FOR EACH ROW EXECUTE FUNCTION tsa_access_changed();
CREATE TRIGGER collections_access AFTER INSERT OR UPDATE OR DELETE ON collections
    FOR EACH ROW EXECUTE FUNCTION tsa_access_changed();
CREATE TRIGGER collection_grants_access AFTER INSERT OR UPDATE OR DELETE ON collection_grants
    FOR EACH ROW EXECUTE FUNCTION tsa_access_changed();
