//! R23: the Web API calls of source and destination connections, counted
//! per hour and served by day for the last 7 days, to the users who may see
//! the connections (R18).
//!
//! Reads write the pending counts first, so a call answered before a read
//! is always in it (the TUI's refresh shows new calls at once, not after
//! the next periodic write).

use std::collections::HashMap;

use super::{Actor, Service, ServiceError};
use crate::domain::monitoring::{self as rules, WINDOW_DAYS};
use crate::model::{
    Connection, ConnectionMonitoring, Counted, DayCounts, EventCounts, FlowType, MonitoringOverview,
};
use crate::store::monitoring::DayRow;

/// The window of a read: its days (oldest first) and the first one's number.
struct Window {
    dates: Vec<chrono::NaiveDate>,
    first_day: i64,
    last_day: i64,
}

impl Window {
    fn at(now_ms: i64) -> Window {
        let last_day = rules::day_number(now_ms);
        let today = rules::date_of_day(last_day).unwrap_or_default();
        Window {
            dates: rules::window(today),
            first_day: last_day - (WINDOW_DAYS as i64 - 1),
            last_day,
        }
    }

    fn zeros(&self) -> Vec<DayCounts> {
        self.dates
            .iter()
            .map(|&date| DayCounts {
                date,
                counts: EventCounts::default(),
            })
            .collect()
    }

    /// Adds a row into `days` (this window's zeros); outside rows are ignored.
    fn add(&self, days: &mut [DayCounts], day: i64, counts: &EventCounts) {
        let Ok(i) = usize::try_from(day - self.first_day) else {
            return;
        };
        if let Some(d) = days.get_mut(i) {
            rules::add(&mut d.counts, counts);
        }
    }
}

fn total(days: &[DayCounts]) -> EventCounts {
    let mut sum = EventCounts::default();
    for d in days {
        rules::add(&mut sum, &d.counts);
    }
    sum
}

fn monitoring_of(
    connection: &Connection,
    window: &Window,
    rows: &[&DayRow],
) -> ConnectionMonitoring {
    let monitored = connection.flow_type != FlowType::Other;
    let days = if monitored {
        let mut days = window.zeros();
        for r in rows {
            window.add(&mut days, r.day, &r.counts);
        }
        days
    } else {
        Vec::new()
    };
    ConnectionMonitoring {
        code: connection.code.clone(),
        label: connection.label.clone(),
        flow_type: connection.flow_type,
        monitored,
        total: monitored.then(|| total(&days)),
        days,
        demo: monitored && rows.iter().any(|r| r.demo),
    }
}

impl Service {
    /// Counts one answered Web API call (the server's monitoring layer calls
    /// this after the handler; no I/O). `other` connections count nothing.
    /// `caller` is the connection's id and flow type from the bearer check
    /// ([`ApiCaller`](super::oauth::ApiCaller)), so a changed flow type
    /// applies from the next call.
    pub fn count_web_api_call(
        &self,
        caller: (i64, FlowType),
        counted: Option<Counted>,
        status: u16,
    ) {
        let (connection_id, flow_type) = caller;
        if let Some(counts) = rules::call_counts(flow_type, counted, status) {
            self.store.count_call(connection_id, &counts);
        }
    }

    /// Counts one answered batch call, line by line (see
    /// [`rules::line_counts`]).
    pub fn count_web_api_lines(
        &self,
        caller: (i64, FlowType),
        lines: crate::domain::monitoring::CountedLines,
        status: u16,
    ) {
        let (connection_id, flow_type) = caller;
        if let Some(counts) = rules::line_counts(flow_type, lines, status) {
            self.store.count_call(connection_id, &counts);
        }
    }

    /// Writes the pending counts before a read. A failure is logged, and
    /// the read shows what is written (the counts stay pending).
    async fn write_pending_counts(&self) {
        if let Err(e) = self.store.flush_monitoring().await {
            tracing::error!(error = %e, "monitoring counts not written before a read");
        }
    }

    /// `GET /api/v1/connections/{code}/monitoring`: the last 7 days of one
    /// connection the actor may see (R18: else not found).
    pub async fn connection_monitoring(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<ConnectionMonitoring, ServiceError> {
        let connection = self.get_connection(actor, code).await?;
        let window = Window::at(self.store.now_millis());
        if connection.flow_type == FlowType::Other {
            return Ok(monitoring_of(&connection, &window, &[]));
        }
        self.write_pending_counts().await;
        let rows = self
            .store
            .monitoring_days(Some(code), window.first_day, window.last_day)
            .await
            .map_err(|e| ServiceError::from_store(e, Some(code)))?;
        Ok(monitoring_of(
            &connection,
            &window,
            &rows.iter().collect::<Vec<_>>(),
        ))
    }

    /// `GET /api/v1/monitoring`: the last 7 days of every connection the
    /// actor may see (R18), each and together.
    pub async fn monitoring_overview(
        &self,
        actor: &Actor,
    ) -> Result<MonitoringOverview, ServiceError> {
        let now_ms = self.store.now_millis();
        let window = Window::at(now_ms);
        let visible = self.list_connections(actor, 0, None).await?.items;
        self.write_pending_counts().await;
        let rows = self
            .store
            .monitoring_days(None, window.first_day, window.last_day)
            .await
            .map_err(|e| ServiceError::from_store(e, None))?;
        let mut by_code: HashMap<&str, Vec<&DayRow>> = HashMap::new();
        for r in &rows {
            by_code.entry(r.code.as_str()).or_default().push(r);
        }
        let mut days = window.zeros();
        let connections: Vec<ConnectionMonitoring> = visible
            .iter()
            .map(|c| {
                let rows = by_code.get(c.code.as_str()).map_or(&[][..], Vec::as_slice);
                let m = monitoring_of(c, &window, rows);
                for (all, one) in days.iter_mut().zip(&m.days) {
                    rules::add(&mut all.counts, &one.counts);
                }
                m
            })
            .collect();
        Ok(MonitoringOverview {
            demo: connections.iter().any(|c| c.demo),
            from: window.dates.first().copied().unwrap_or_default(),
            to: window.dates.last().copied().unwrap_or_default(),
            as_of: chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default(),
            total: total(&days),
            days,
            connections,
        })
    }
}
