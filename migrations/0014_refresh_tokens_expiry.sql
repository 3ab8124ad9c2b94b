-- The `cleanup-sync-logs` job deletes expired refresh tokens oldest first, 500 at a time
-- (`… WHERE expires_at < ? ORDER BY expires_at LIMIT ?`): without an index each batch read and sorted
-- every refresh token of the server, so the purge cost grew with the square of the tokens to delete.
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
