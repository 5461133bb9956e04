-- Web search per collection (README "Web search"): NULL follows the service's WEB_SEARCH_DEFAULT.
-- Domains narrow the service's own lists: a page must pass both.
ALTER TABLE collections ADD COLUMN web_search text CHECK (web_search IN ('auto', 'never', 'always'));
ALTER TABLE collections ADD COLUMN web_allow_domains text[] NOT NULL DEFAULT '{}';
ALTER TABLE collections ADD COLUMN web_block_domains text[] NOT NULL DEFAULT '{}';
