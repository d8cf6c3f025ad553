//! R23 as pure functions: what one Web API call counts, the hourly buckets
//! it goes into, the 7-day window and the 30-day retention.
//!
//! Differences from the PIM this follows (see the research notes): errors
//! are classed by HTTP status (4xx business, 5xx technical), not by the kind
//! of exception, and they count for destinations as well as sources; every
//! source or destination connection is monitored, with no "auditable"
//! switch to forget.

use chrono::{Days, NaiveDate};

use crate::model::{ApiEvent, Counted, EventCounts, FlowType};

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Hourly counts are kept this long.
pub const RETENTION_DAYS: i64 = 30;
/// The API serves this many days, today included.
pub const WINDOW_DAYS: u64 = 7;

/// The first millisecond of the UTC hour `at_ms` falls in.
pub fn hour_start(at_ms: i64) -> i64 {
    at_ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// The UTC day an hour (or any instant) falls in, as days since the epoch.
pub fn day_number(at_ms: i64) -> i64 {
    at_ms.div_euclid(DAY_MS)
}

/// Hourly rows that start before this are deleted (30 days before `now_ms`).
pub fn retention_cutoff(now_ms: i64) -> i64 {
    now_ms - RETENTION_DAYS * DAY_MS
}

/// What one answered Web API call of a connection adds to its current hour,
/// or `None` when it adds nothing.
///
/// - `other` connections are not monitored: nothing counts, errors neither.
/// - A handler's [`Counted`] counts only when it is what the connection's
///   flow type is monitored for: products created and updated by a source,
///   products read by a destination. A source reading products (to check
///   what it wrote) or a destination writing is not counted, as the PIM
///   counts only the relevant event per flow type.
/// - 4xx is a business error, 5xx a technical error, whatever the handler
///   counted.
pub fn call_counts(flow: FlowType, counted: Option<Counted>, status: u16) -> Option<EventCounts> {
    if flow == FlowType::Other {
        return None;
    }
    let mut counts = EventCounts::default();
    if let Some(Counted { event, count }) = counted {
        let n = u64::from(count);
        match (flow, event) {
            (FlowType::Source, ApiEvent::Created) => counts.created = n,
            (FlowType::Source, ApiEvent::Updated) => counts.updated = n,
            (FlowType::Destination, ApiEvent::Read) => counts.read = n,
            _ => {}
        }
    }
    match status {
        400..=499 => counts.business_errors = 1,
        500..=599 => counts.technical_errors = 1,
        _ => {}
    }
    (counts != EventCounts::default()).then_some(counts)
}

/// Adds `more` into `into` (saturating: a counter never wraps).
pub fn add(into: &mut EventCounts, more: &EventCounts) {
    into.created = into.created.saturating_add(more.created);
    into.updated = into.updated.saturating_add(more.updated);
    into.read = into.read.saturating_add(more.read);
    into.business_errors = into.business_errors.saturating_add(more.business_errors);
    into.technical_errors = into.technical_errors.saturating_add(more.technical_errors);
}

/// The days the API serves: the six before `today`, then `today`.
pub fn window(today: NaiveDate) -> Vec<NaiveDate> {
    let first = today
        .checked_sub_days(Days::new(WINDOW_DAYS - 1))
        .unwrap_or(today);
    first.iter_days().take(WINDOW_DAYS as usize).collect()
}

/// The date of a day number (days since the epoch).
pub fn date_of_day(day: i64) -> Option<NaiveDate> {
    chrono::DateTime::from_timestamp(day.checked_mul(86_400)?, 0).map(|t| t.date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(event: ApiEvent, count: u32) -> Option<Counted> {
        Some(Counted { event, count })
    }

    #[test]
    fn r23_other_connections_count_nothing() {
        for status in [200, 201, 404, 422, 500] {
            for event in [ApiEvent::Created, ApiEvent::Updated, ApiEvent::Read] {
                assert_eq!(
                    call_counts(FlowType::Other, counted(event, 3), status),
                    None
                );
            }
        }
    }

    #[test]
    fn r23_sources_count_writes_and_destinations_reads() {
        let c = call_counts(FlowType::Source, counted(ApiEvent::Created, 3), 201).unwrap();
        assert_eq!((c.created, c.updated, c.read), (3, 0, 0));
        let c = call_counts(FlowType::Source, counted(ApiEvent::Updated, 2), 204).unwrap();
        assert_eq!((c.created, c.updated, c.read), (0, 2, 0));
        assert_eq!(
            call_counts(FlowType::Source, counted(ApiEvent::Read, 5), 200),
            None
        );
        let c = call_counts(FlowType::Destination, counted(ApiEvent::Read, 5), 200).unwrap();
        assert_eq!((c.created, c.updated, c.read), (0, 0, 5));
        assert_eq!(
            call_counts(FlowType::Destination, counted(ApiEvent::Created, 1), 201),
            None
        );
        assert_eq!(call_counts(FlowType::Source, None, 200), None);
        assert_eq!(
            call_counts(FlowType::Source, counted(ApiEvent::Created, 0), 200),
            None
        );
    }

    #[test]
    fn r23_4xx_is_a_business_error_and_5xx_a_technical_one() {
        for flow in [FlowType::Source, FlowType::Destination] {
            for status in [400, 403, 404, 422, 429, 499] {
                let c = call_counts(flow, None, status).unwrap();
                assert_eq!((c.business_errors, c.technical_errors), (1, 0), "{status}");
            }
            for status in [500, 503, 599] {
                let c = call_counts(flow, None, status).unwrap();
                assert_eq!((c.business_errors, c.technical_errors), (0, 1), "{status}");
            }
            for status in [100, 200, 204, 301, 304, 600] {
                assert_eq!(call_counts(flow, None, status), None, "{status}");
            }
        }
        // A handler that counted and failed: both.
        let c = call_counts(FlowType::Source, counted(ApiEvent::Updated, 4), 422).unwrap();
        assert_eq!((c.updated, c.business_errors), (4, 1));
    }

    #[test]
    fn r23_hours_and_days_are_utc() {
        let t = chrono::DateTime::parse_from_rfc3339("2025-03-30T23:59:59.999Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(
            hour_start(t),
            chrono::DateTime::parse_from_rfc3339("2025-03-30T23:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
        assert_eq!(hour_start(t + 1), t + 1);
        assert_eq!(day_number(t) + 1, day_number(t + 1));
        assert_eq!(
            date_of_day(day_number(t)),
            NaiveDate::from_ymd_opt(2025, 3, 30)
        );
        assert_eq!(hour_start(-1), -HOUR_MS);
    }

    #[test]
    fn r23_the_window_is_seven_days_ending_today() {
        let today = NaiveDate::from_ymd_opt(2025, 3, 2).unwrap();
        let days = window(today);
        assert_eq!(days.len(), 7);
        assert_eq!(days[0], NaiveDate::from_ymd_opt(2025, 2, 24).unwrap());
        assert_eq!(days[6], today);
        assert!(days.windows(2).all(|w| w[0].succ_opt() == Some(w[1])));
    }

    #[test]
    fn counters_saturate() {
        let mut a = EventCounts {
            read: u64::MAX - 1,
            ..Default::default()
        };
        add(
            &mut a,
            &EventCounts {
                read: 5,
                created: 1,
                ..Default::default()
            },
        );
        assert_eq!((a.read, a.created), (u64::MAX, 1));
    }
}
