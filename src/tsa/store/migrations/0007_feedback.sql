-- Feedback on answers: a thumbs up or down, a comment, a corrected answer, kept with what was
-- asked and answered (from the server's own record of the answer, not from the client).
CREATE TABLE feedback (
    id               bigserial PRIMARY KEY,
    answer_id        uuid NOT NULL,
    user_id          bigint REFERENCES users (id) ON DELETE SET NULL,
    key_id           bigint REFERENCES api_keys (id) ON DELETE SET NULL,
    rating           text NOT NULL CHECK (rating IN ('up', 'down')),
    comment          text,
    corrected_answer text,
    question         text NOT NULL,
    answer           text NOT NULL,
    sources          jsonb NOT NULL DEFAULT '[]',
    model            text NOT NULL,
    grounding        jsonb,
    reviewed         boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- One opinion per user and answer: giving it again changes it.
CREATE UNIQUE INDEX feedback_answer_user ON feedback (answer_id, user_id);
CREATE INDEX feedback_recent ON feedback (created_at DESC);
