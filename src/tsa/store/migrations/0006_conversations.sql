-- Conversations: the turns of a user's dialogue, so a follow-up question keeps its context.
-- The id is the client's (any text up to 200 characters), unique per user.
CREATE TABLE conversations (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id         text NOT NULL,
    title      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, id)
);
CREATE INDEX conversations_recent ON conversations (user_id, updated_at DESC);

CREATE TABLE conversation_turns (
    user_id         bigint NOT NULL,
    conversation_id text NOT NULL,
    ordinal         integer NOT NULL,
    question        text NOT NULL,
    -- The question as retrieval saw it: rewritten to stand alone when it followed up on earlier turns.
    standalone      text NOT NULL,
    rewrite         text NOT NULL CHECK (rewrite IN ('none', 'model', 'rules')),
    answer          text NOT NULL,
    sources         jsonb NOT NULL DEFAULT '[]',
    model           text NOT NULL,
    -- Via which API key, if any (the conversation belongs to the user).
    key_id          bigint REFERENCES api_keys (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, conversation_id, ordinal),
    FOREIGN KEY (user_id, conversation_id) REFERENCES conversations (user_id, id) ON DELETE CASCADE
);
