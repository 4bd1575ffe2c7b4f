-- Usernames are unique by their look-alike skeleton (server/names.go's
-- nameKey), not only by case. The server fills name_key for accounts made
-- before this version when it opens the store.
ALTER TABLE users ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
CREATE INDEX users_name_key ON users(name_key);
