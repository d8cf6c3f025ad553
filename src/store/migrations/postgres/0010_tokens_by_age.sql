-- A connection's tokens in the order they were issued: issuing trims the
-- oldest past the live-token cap (issue 14), and revoking a grant finds
-- its few rows among the connection's. Replaces (connection_id, grant_id).
DROP INDEX tokens_by_connection;
CREATE INDEX tokens_by_connection ON tokens (connection_id, id);
