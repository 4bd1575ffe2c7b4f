-- A voice message this device cancelled after packets were pushed: the
-- outbox withdraws it from the server (voice.end with cancel).
ALTER TABLE outbox ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
