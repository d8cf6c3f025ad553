-- Hours made up by the demo workspace (a week of plausible history), so
-- that the Monitor tab can say they are not real traffic. Counted calls
-- never write into such an hour: the demo writes only hours before the one
-- it is loaded in.
ALTER TABLE monitoring_hours ADD COLUMN demo BOOLEAN NOT NULL DEFAULT 0;
