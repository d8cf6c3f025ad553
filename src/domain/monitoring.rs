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

/// Put by a batch upsert into its response's extensions: what its lines
/// did, each line counted as its own create, update or error (R23).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountedLines {
    pub created: u32,
    pub updated: u32,
    pub errors: u32,
}

/// What one answered batch call adds: its lines' creates and updates (a
/// source's), each failed line a business error (any monitored flow), and
/// the call's own status as [`call_counts`] counts it.
pub fn line_counts(flow: FlowType, lines: CountedLines, status: u16) -> Option<EventCounts> {
    if flow == FlowType::Other {
        return None;
    }
    let mut counts = call_counts(flow, None, status).unwrap_or_default();
    if flow == FlowType::Source {
        counts.created = counts.created.saturating_add(u64::from(lines.created));
        counts.updated = counts.updated.saturating_add(u64::from(lines.updated));
    }
    counts.business_errors = counts
        .business_errors
        .saturating_add(u64::from(lines.errors));
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

/// How busy a demo connection's made-up history is (the demo workspace's
/// `monitoring` section): averages per working hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize)]
pub struct DemoTraffic {
    #[serde(default)]
    pub created_per_hour: u32,
    #[serde(default)]
    pub updated_per_hour: u32,
    #[serde(default)]
    pub read_per_hour: u32,
    /// About this many 4xx answers a working day.
    #[serde(default)]
    pub business_errors_per_day: u32,
    /// About this many 5xx answers over the week.
    #[serde(default)]
    pub technical_errors_per_week: u32,
}

/// A cheap, stable mix of an hour and a seed (the same history for the same
/// clock, no randomness in tests).
fn mix(hour: i64, seed: u64) -> u64 {
    let mut x = (hour as u64) ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A plausible history of hourly counts for the demo: the hours that start
/// in `from_ms..until_ms` (hour starts, UTC), busier on working hours and
/// days, each hour a little different (from `seed`), with a few business
/// errors on working days and a technical error or two in the week. Hours
/// with nothing are left out.
pub fn demo_history(
    traffic: &DemoTraffic,
    from_ms: i64,
    until_ms: i64,
    seed: u64,
) -> Vec<(i64, EventCounts)> {
    let mut out = Vec::new();
    let mut hour = hour_start(from_ms);
    if hour < from_ms {
        hour += HOUR_MS;
    }
    let hours_in_week = 7 * 24;
    while hour < until_ms {
        let index = hour.div_euclid(HOUR_MS);
        let hour_of_day = index.rem_euclid(24);
        // 1970-01-01 was a Thursday: days since then + 3, mod 7, is 0 on Monday.
        let weekday = (day_number(hour) + 3).rem_euclid(7);
        let working_day = weekday < 5;
        let working_hour = (7..19).contains(&hour_of_day);
        let load = match (working_day, working_hour) {
            (true, true) => 100,
            (true, false) => 15,
            (false, true) => 35,
            (false, false) => 5,
        };
        let r = mix(index, seed);
        // 80..120 % of the load.
        let wobble = 80 + (r % 41);
        let scale = |per_hour: u32| u64::from(per_hour) * load * wobble / 10_000;
        let errors_roll = (r >> 8) % 1000;
        let business = if working_day && working_hour && traffic.business_errors_per_day > 0 {
            // Spread over the 12 working hours.
            u64::from(errors_roll < u64::from(traffic.business_errors_per_day) * 1000 / 12)
        } else {
            0
        };
        let technical = u64::from(
            traffic.technical_errors_per_week > 0
                && (r >> 20) % hours_in_week < u64::from(traffic.technical_errors_per_week),
        );
        let counts = EventCounts {
            created: scale(traffic.created_per_hour),
            updated: scale(traffic.updated_per_hour),
            read: scale(traffic.read_per_hour),
            business_errors: business,
            technical_errors: technical,
        };
        if counts != EventCounts::default() {
            out.push((hour, counts));
        }
        hour += HOUR_MS;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_history_is_hourly_in_its_span_busier_on_working_hours_and_stable() {
        let traffic = DemoTraffic {
            read_per_hour: 200,
            business_errors_per_day: 3,
            technical_errors_per_week: 2,
            ..Default::default()
        };
        // Monday 2025-03-03 00:00 UTC, for a week.
        let monday = 1_740_960_000_000;
        let hours = demo_history(&traffic, monday, monday + 7 * DAY_MS, 7);
        assert!(hours.len() > 100, "{}", hours.len());
        assert!(
            hours
                .iter()
                .all(|(h, _)| *h >= monday && *h < monday + 7 * DAY_MS)
        );
        assert!(hours.iter().all(|(h, _)| h % HOUR_MS == 0));
        assert!(hours.windows(2).all(|w| w[0].0 < w[1].0));
        let read_at = |hour_of_day: i64, day: i64| -> u64 {
            let at = monday + day * DAY_MS + hour_of_day * HOUR_MS;
            hours
                .iter()
                .find(|(h, _)| *h == at)
                .map_or(0, |(_, c)| c.read)
        };
        // Monday 10:00 against Monday 03:00 and Sunday 10:00.
        assert!(read_at(10, 0) > read_at(3, 0) * 3);
        assert!(read_at(10, 0) > read_at(10, 6));
        assert!(hours.iter().all(|(_, c)| c.created == 0 && c.updated == 0));
        let business: u64 = hours.iter().map(|(_, c)| c.business_errors).sum();
        assert!((3..=40).contains(&business), "{business}");
        assert_eq!(
            hours,
            demo_history(&traffic, monday, monday + 7 * DAY_MS, 7),
            "the same clock gives the same history"
        );
        assert!(demo_history(&traffic, monday, monday, 7).is_empty());
    }

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
