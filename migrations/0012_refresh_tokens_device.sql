-- Revoking a device (`DELETE /api/devices/{id}`, `taskmgr devices revoke`) revokes its refresh
-- tokens (`UPDATE refresh_tokens … WHERE device_id = ?`), which read every refresh token of every
-- organization: there was no index on device_id (44 ms at 200,000 tokens on SQLite, growing with the
-- logins and refreshes of the whole server within the refresh tokens' lifetime; 0.1 ms with it).
CREATE INDEX refresh_tokens_device ON refresh_tokens (device_id);
