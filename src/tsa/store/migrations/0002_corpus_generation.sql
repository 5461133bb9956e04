-- A counter advanced in the same transaction as every change to the live corpus,
-- so cached retrievals and answers computed before a change are never served after it.
-- The store id makes generations unique across stores sharing one Redis (a rebuilt or
-- restored database starts counting again).
INSERT INTO store_meta (key, value) VALUES ('corpus_generation', '0') ON CONFLICT (key) DO NOTHING;
INSERT INTO store_meta (key, value) VALUES ('store_id', gen_random_uuid()::text) ON CONFLICT (key) DO NOTHING;
