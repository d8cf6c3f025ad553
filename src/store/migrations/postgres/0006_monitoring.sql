-- R23: what the Web API calls of source and destination connections did,
-- per connection and per hour (UTC). `hour_start` is the hour's first
-- millisecond since the epoch (a multiple of 3 600 000). The monitoring
-- writer adds to a row with an upsert; rows older than 30 days are deleted.
-- Deleting the connection deletes its rows (R8).
CREATE TABLE monitoring_hours (
    connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    hour_start BIGINT NOT NULL,
    products_created BIGINT NOT NULL DEFAULT 0,
    products_updated BIGINT NOT NULL DEFAULT 0,
    products_read BIGINT NOT NULL DEFAULT 0,
    -- Answers 4xx after authentication.
    business_errors BIGINT NOT NULL DEFAULT 0,
    -- Answers 5xx after authentication.
    technical_errors BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, hour_start)
);
-- Retention deletes by age.
CREATE INDEX monitoring_hours_by_hour ON monitoring_hours (hour_start);
