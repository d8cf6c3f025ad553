//! The Monitor tab (SPEC §6, R23, R24): the connection list with "All
//! connections" at its top; on the right the last 7 days of the selection
//! as grouped bar charts (products created, updated, read; business and
//! technical errors), the totals, and the wrong-credentials warnings.
//! `other` connections say they are not monitored.
//!
//! While the tab is open it refreshes itself: one quiet request every
//! [`REFRESH_EVERY`], chained (the next is asked for once the answer is
//! in), ended by leaving the tab. An answer that changes nothing draws
//! nothing.

use crate::tui::view::Screen;
use crate::tui::view::side_list_pane;
use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Bar, BarChart, BarGroup, Block, Paragraph, Row, Sparkline, Table, Widget, Wrap,
};

use crate::client::ClientError;
use crate::model::{
    Connection, ConnectionMonitoring, CredentialsInfo, DayCounts, EventCounts, FlowType,
    MonitoringOverview,
};
use crate::tui::app::{App, Command, Tab};
use crate::tui::keymap::{Action, Context};
use crate::tui::tabs::credentials::list_width;
use crate::tui::theme::Theme;
use crate::tui::view::{draw_list_rows_marking, flags, highlighted, key_of, pane, wrap_words};

/// How often the open tab asks for new counts.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

pub struct MonitorTab {
    /// "All connections" is selected (above the first connection).
    pub all: bool,
    /// The last answer, or the error's message.
    pub overview: Option<Result<MonitoringOverview, String>>,
    /// Tells this opening of the tab's refreshes from an earlier one's.
    pub generation: u64,
    pub refresh_every: Duration,
    refresh_in_flight: bool,
    timer_pending: bool,
}

impl Default for MonitorTab {
    fn default() -> Self {
        MonitorTab {
            all: true,
            overview: None,
            generation: 0,
            refresh_every: REFRESH_EVERY,
            refresh_in_flight: false,
            timer_pending: false,
        }
    }
}

impl MonitorTab {
    pub fn overview(&self) -> Option<&MonitoringOverview> {
        self.overview.as_ref().and_then(|r| r.as_ref().ok())
    }

    /// One connection's last 7 days, when the answer holds it.
    pub fn of(&self, code: &str) -> Option<&ConnectionMonitoring> {
        self.overview()?.connections.iter().find(|c| c.code == code)
    }
}

/// Said in the title where some counts are the demo workspace's made-up
/// history rather than real Web API calls.
const DEMO_MARK: &str = " · demo history";

/// Whether two answers show the same thing (the time they were read at
/// aside).
fn same_counts(a: &MonitoringOverview, b: &MonitoringOverview) -> bool {
    a.from == b.from
        && a.to == b.to
        && a.days == b.days
        && a.total == b.total
        && a.demo == b.demo
        && a.connections == b.connections
}

impl App {
    /// The tab opens: fetch at once; the refreshes chain from there.
    pub(crate) fn monitor_entered(&mut self) -> Vec<Command> {
        self.monitor.generation += 1;
        self.monitor.timer_pending = false;
        self.monitor.refresh_in_flight = false;
        self.request_monitor_refresh().into_iter().collect()
    }

    /// The tab closes: whatever is scheduled is stale from now on.
    pub(crate) fn monitor_left(&mut self) {
        self.monitor.generation += 1;
        self.monitor.timer_pending = false;
        self.monitor.refresh_in_flight = false;
    }

    /// A refresh, unless one is on its way.
    pub(crate) fn request_monitor_refresh(&mut self) -> Option<Command> {
        if self.tab != Tab::Monitor || self.monitor.refresh_in_flight {
            return None;
        }
        self.monitor.refresh_in_flight = true;
        let code = if self.monitor.all {
            None
        } else {
            self.selected_connection().map(|c| c.code.clone())
        };
        Some(Command::RefreshMonitoring {
            generation: self.monitor.generation,
            code,
        })
    }

    /// An answer: kept when it changes what the tab shows (the first
    /// value says so: draw); the next refresh is scheduled while the tab
    /// is open.
    pub(crate) fn on_monitoring_loaded(
        &mut self,
        generation: u64,
        overview: Result<MonitoringOverview, ClientError>,
        credentials: Option<(String, Result<CredentialsInfo, ClientError>)>,
    ) -> (bool, Vec<Command>) {
        let current = generation == self.monitor.generation;
        if current {
            self.monitor.refresh_in_flight = false;
        }
        let mut changed = false;
        let mut commands = Vec::new();
        match overview {
            Ok(o) => {
                let same = self
                    .monitor
                    .overview()
                    .is_some_and(|held| same_counts(held, &o));
                if !same {
                    self.monitor.overview = Some(Ok(o));
                    changed = true;
                }
            }
            Err(e) => {
                // A banner or the login form may come with the failure.
                let (problem, modals) = (self.problem.clone(), self.modals.len());
                commands.extend(self.backend_error(&e));
                changed |= self.problem != problem || self.modals.len() != modals;
                let text = e.to_string();
                // Keep the last counts on screen; say what failed once.
                if self.monitor.overview.is_none()
                    || matches!(&self.monitor.overview, Some(Err(held)) if *held != text)
                {
                    self.monitor.overview = Some(Err(text));
                    changed = true;
                }
            }
        }
        if let Some((code, r)) = credentials {
            let r = r.map_err(|e| e.to_string());
            let same = self
                .credentials
                .info
                .as_ref()
                .is_some_and(|(c, held)| *c == code && *held == r);
            if !same {
                self.credentials.info = Some((code, r));
                changed = true;
            }
        }
        if current && self.tab == Tab::Monitor && !self.monitor.timer_pending {
            self.monitor.timer_pending = true;
            commands.push(Command::MonitorAfter {
                generation,
                after: self.monitor.refresh_every,
            });
        }
        (changed, commands)
    }

    /// The timer: refresh, if the tab that asked is still open.
    pub(crate) fn on_monitor_due(&mut self, generation: u64) -> Vec<Command> {
        if generation != self.monitor.generation {
            return Vec::new();
        }
        self.monitor.timer_pending = false;
        self.request_monitor_refresh().into_iter().collect()
    }

    pub(crate) fn on_monitor_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(action) = action else {
            return Vec::new();
        };
        let shown = self.list.filter.visible().len();
        match action {
            Action::ShowAll | Action::First => self.monitor_select_all(),
            Action::Up | Action::PageUp if !self.monitor.all && self.list.selected == 0 => {
                self.monitor_select_all()
            }
            Action::Up | Action::PageUp if self.monitor.all => Vec::new(),
            Action::Down | Action::PageDown if self.monitor.all => {
                if shown == 0 {
                    return Vec::new();
                }
                self.monitor.all = false;
                self.list.selected = 0;
                self.screen.list_offset = 0;
                self.selection_changed_here()
            }
            Action::Last if self.monitor.all => {
                if shown == 0 {
                    return Vec::new();
                }
                self.monitor.all = false;
                self.move_in_list(Action::Last);
                self.selection_changed_here()
            }
            Action::Up | Action::Down | Action::Last | Action::PageUp | Action::PageDown => {
                self.move_in_list(action)
            }
            Action::Back => {
                if self.list.filter.narrows() {
                    self.clear_one_filter()
                } else {
                    self.switch_tab(Tab::Connections)
                }
            }
            Action::Refresh => {
                let mut commands = vec![Command::Load];
                commands.extend(self.request_monitor_refresh());
                commands
            }
            other => self.on_shared_key(other),
        }
    }

    fn monitor_select_all(&mut self) -> Vec<Command> {
        self.monitor.all = true;
        Vec::new()
    }

    /// The wrong-credentials details of the connection now selected.
    fn selection_changed_here(&mut self) -> Vec<Command> {
        match self.selected_connection() {
            Some(c) if self.credentials.info_for(&c.code).is_none() => {
                vec![Command::LoadCredentials(c.code.clone())]
            }
            _ => Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

/// Products and errors of a day, and how each series is drawn.
struct Series {
    /// Under each bar (never colour alone).
    letter: &'static str,
    name: &'static str,
    style: Style,
    value: fn(&EventCounts) -> u64,
}

fn product_series(t: &Theme) -> [Series; 3] {
    let color = |c: Color| {
        if t.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    };
    [
        Series {
            letter: "c",
            name: "created",
            style: color(Color::Green),
            value: |e| e.created,
        },
        Series {
            letter: "u",
            name: "updated",
            style: color(Color::Cyan),
            value: |e| e.updated,
        },
        Series {
            letter: "r",
            name: "read",
            style: color(Color::Blue),
            value: |e| e.read,
        },
    ]
}

fn error_series(t: &Theme) -> [Series; 2] {
    let color = |c: Color| {
        if t.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    };
    [
        Series {
            letter: "b",
            name: "business errors (4xx)",
            style: color(Color::Yellow),
            value: |e| e.business_errors,
        },
        Series {
            letter: "t",
            name: "technical errors (5xx)",
            style: color(Color::Red),
            value: |e| e.technical_errors,
        },
    ]
}

/// The series worth a bar: those the flow type produces, and any other
/// that has counts (the flow type may have changed within the week).
fn relevant<'a>(
    series: &'a [Series],
    flow_type: Option<FlowType>,
    days: &[DayCounts],
) -> Vec<&'a Series> {
    series
        .iter()
        .filter(|s| {
            let expected = matches!(
                (flow_type, s.letter),
                (None, _)
                    | (Some(FlowType::Source), "c" | "u")
                    | (Some(FlowType::Destination), "r")
            );
            expected || days.iter().any(|d| (s.value)(&d.counts) > 0)
        })
        .collect()
}

/// "Mon 23", or "23" when the group is narrow.
fn day_label(d: &DayCounts, width: u16) -> String {
    if width >= 6 {
        d.date.format("%a %d").to_string()
    } else {
        d.date.format("%d").to_string()
    }
}

/// One grouped bar chart of the 7 days: a group per day, a bar per series
/// with its letter under it and its value in it.
fn day_chart(t: &Theme, days: &[DayCounts], series: &[&Series], area: Rect, buf: &mut Buffer) {
    if series.is_empty() || days.is_empty() || area.height < 3 {
        return;
    }
    let n = series.len() as u16;
    let groups = days.len() as u16;
    let group_gap = 2u16;
    // The widest bars that fit: the chart takes, per day, the bars, the
    // gaps between and after them, and the gap between days.
    let width_with = |gap: u16| {
        ((area.width + group_gap + gap) / groups)
            .saturating_sub(group_gap)
            .checked_div(n)
            .unwrap_or(0)
            .saturating_sub(gap)
    };
    // A column between a day's bars where the bars stay 3 wide with it.
    let bar_gap = u16::from(width_with(1) >= 3);
    let bar_width = width_with(bar_gap).clamp(1, 7);
    let group_width = bar_width * n + bar_gap * (n - 1);
    let data: Vec<BarGroup> = days
        .iter()
        .map(|d| {
            let bars: Vec<Bar> = series
                .iter()
                .map(|s| {
                    Bar::default()
                        .value((s.value)(&d.counts))
                        .label(Line::from(s.letter))
                        .style(s.style)
                        .value_style(s.style.add_modifier(Modifier::REVERSED | Modifier::BOLD))
                })
                .collect();
            BarGroup::default()
                .label(Line::from(day_label(d, group_width)).centered())
                .bars(&bars)
        })
        .collect();
    let mut chart = BarChart::default()
        .bar_width(bar_width)
        .bar_gap(bar_gap)
        .group_gap(group_gap)
        .label_style(t.label);
    for g in data {
        chart = chart.data(g);
    }
    chart.render(area, buf);
}

/// Where space is short: a sparkline per series, one column per day.
fn day_sparklines(t: &Theme, days: &[DayCounts], series: &[&Series], area: Rect, buf: &mut Buffer) {
    for (i, s) in series.iter().enumerate() {
        let y = area.y + i as u16;
        if y >= area.bottom() {
            break;
        }
        let values: Vec<u64> = days.iter().map(|d| (s.value)(&d.counts)).collect();
        let total: u64 = values.iter().sum();
        let row = Rect::new(area.x, y, area.width, 1);
        let [name, spark, sum] = Layout::horizontal([
            Constraint::Length(9),
            Constraint::Length(values.len() as u16 + 1),
            Constraint::Min(0),
        ])
        .areas(row);
        Paragraph::new(Span::styled(
            s.name.split(' ').next().unwrap_or(s.name).to_string(),
            t.label,
        ))
        .render(name, buf);
        Sparkline::default()
            .data(&values)
            .style(s.style)
            .render(spark, buf);
        Paragraph::new(total.to_string()).render(sum, buf);
    }
}

/// The Monitor tab.
pub fn render(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let [list_area, right] = Layout::horizontal([
        Constraint::Length(list_width(area.width)),
        Constraint::Min(0),
    ])
    .areas(area);
    render_list(app, screen, list_area, buf);
    if app.monitor.all {
        render_all(app, right, buf);
    } else {
        match app.selected_connection().cloned() {
            Some(c) => render_connection(app, &c, right, buf),
            None => render_all(app, right, buf),
        }
    }
}

/// 7-day events of a connection for its list row: "1234", "—" when not
/// monitored.
fn row_total(app: &App, c: &Connection) -> String {
    if c.flow_type == FlowType::Other {
        return "—".to_string();
    }
    match app.monitor.of(&c.code).and_then(|m| m.total) {
        Some(t) => compact(t.created + t.updated + t.read),
        None => String::new(),
    }
}

/// 999, 1.2k, 34k, 1.5M.
fn compact(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=9_999 => format!("{:.1}k", n as f64 / 1_000.0),
        10_000..=999_999 => format!("{}k", n / 1_000),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}

fn render_list(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let t = app.theme.clone();
    let rest = side_list_pane(app, area, buf, true);
    if rest.height == 0 {
        screen.all_row = Rect::default();
        screen.list_rows = Rect::default();
        return;
    }
    let [all_row, rows] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(rest);
    screen.all_row = all_row;
    let all = app.monitor.all;
    let total_events = app
        .monitor
        .overview()
        .map(|o| compact(o.total.created + o.total.updated + o.total.read))
        .unwrap_or_default();
    if all {
        buf.set_style(all_row, t.selected);
    }
    let width = all_row.width as usize;
    let head = format!("{} All connections", if all { "▶" } else { " " });
    let pad = width.saturating_sub(head.chars().count() + total_events.chars().count());
    Line::from(vec![
        Span::styled(head, if all { Style::new() } else { t.title }),
        Span::raw(" ".repeat(pad)),
        Span::raw(total_events),
    ])
    .render(all_row, buf);
    screen.list_rows = rows;
    draw_list_rows_marking(
        app,
        screen,
        rows,
        buf,
        true,
        !all,
        |app, idx, marks, selected, row, buf| {
            let c = &app.data.connections[idx];
            let selected = selected && !app.monitor.all;
            let flag = flags(&app.theme, c, selected);
            let count = row_total(app, c);
            let mut spans = vec![
                Span::raw(if selected { "▶" } else { " " }),
                if flag.content.is_empty() {
                    Span::raw(" ")
                } else {
                    flag
                },
                Span::raw(" "),
            ];
            spans.extend(highlighted(
                &c.label,
                &marks.label,
                Style::new(),
                app.theme.matched,
            ));
            let used: usize = spans.iter().map(Span::width).sum();
            let room = (row.width as usize).saturating_sub(used);
            if room > count.chars().count() {
                spans.push(Span::raw(" ".repeat(room - count.chars().count())));
                spans.push(Span::styled(
                    count,
                    if selected {
                        Style::new()
                    } else {
                        app.theme.dim
                    },
                ));
            }
            Line::from(spans).render(row, buf);
        },
    );
}

/// The right pane's frame: title, the refresh note on the right.
fn frame(app: &App, title: String) -> Block<'static> {
    let every = app.monitor.refresh_every.as_secs_f32();
    let note = if every.fract() == 0.0 {
        format!(" live · every {} s ", every as u64)
    } else {
        format!(" live · every {every:.1} s ")
    };
    pane(&app.theme, title, false)
        .title_top(Line::from(Span::styled(note, app.theme.dim)).right_aligned())
}

/// What is drawn while there are no counts to draw.
fn waiting(app: &App) -> Option<(String, Style)> {
    match &app.monitor.overview {
        None => Some(("loading…".to_string(), app.theme.dim)),
        Some(Err(e)) => Some((
            format!("✗ Could not load the monitoring: {e}"),
            app.theme.error,
        )),
        Some(Ok(_)) => None,
    }
}

fn totals_line(total: &EventCounts, series: &[&Series]) -> String {
    let mut parts: Vec<String> = series
        .iter()
        .map(|s| format!("{} {}", (s.value)(total), s.name))
        .collect();
    parts.push(format!("{} business errors (4xx)", total.business_errors));
    parts.push(format!("{} technical errors (5xx)", total.technical_errors));
    format!("Last 7 days: {}", parts.join(" · "))
}

/// Charts, then the lines below them; sparklines where the charts have no
/// room.
fn render_days(
    app: &App,
    days: &[DayCounts],
    products: &[&Series],
    below: Vec<Line<'static>>,
    area: Rect,
    buf: &mut Buffer,
) {
    let t = &app.theme;
    let errors_all = error_series(t);
    let errors: Vec<&Series> = errors_all.iter().collect();
    let legend = |series: &[&Series], what: &str| -> Line<'static> {
        let mut spans = vec![Span::styled(format!("{what}  "), t.title)];
        for s in series {
            spans.push(Span::styled("█", s.style));
            spans.push(Span::raw(format!(" {} {}   ", s.letter, s.name)));
        }
        Line::from(spans)
    };
    let below_height = below.len() as u16;
    let charts_room = area.height.saturating_sub(below_height + 1);
    // Two legends, two charts of at least 5 rows each.
    if charts_room >= 14 {
        let errors_height = (charts_room / 3).max(6);
        let [pl, pc, _, el, ec, _, rest] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(charts_room - errors_height - 3),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(errors_height - 1),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        legend(products, "Products").render(pl, buf);
        day_chart(t, days, products, pc, buf);
        legend(&errors, "Errors").render(el, buf);
        day_chart(t, days, &errors, ec, buf);
        Paragraph::new(below)
            .wrap(Wrap { trim: false })
            .render(rest, buf);
    } else {
        let spark_height = (products.len() + errors.len()) as u16 + 1;
        let [head, sparks, _, rest] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(spark_height.saturating_sub(1)),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        let (first, last) = (days.first(), days.last());
        let span = match (first, last) {
            (Some(f), Some(l)) => format!(
                "per day, {} to {}",
                f.date.format("%a %d"),
                l.date.format("%a %d")
            ),
            _ => String::new(),
        };
        Line::from(vec![
            Span::styled("Last 7 days ", t.title),
            Span::styled(span, t.dim),
        ])
        .render(head, buf);
        let all: Vec<&Series> = products.iter().chain(errors.iter()).copied().collect();
        day_sparklines(t, days, &all, sparks, buf);
        Paragraph::new(below)
            .wrap(Wrap { trim: false })
            .render(rest, buf);
    }
}

fn inner_of(block: &Block, area: Rect) -> Rect {
    let inner = block.inner(area);
    Rect {
        x: inner.x.saturating_add(1).min(inner.right()),
        width: inner.width.saturating_sub(2),
        ..inner
    }
}

fn render_connection(app: &App, c: &Connection, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let demo = app.monitor.of(&c.code).is_some_and(|m| m.demo);
    let block = frame(
        app,
        format!(
            " Monitor · {} · {}{} ",
            c.label,
            c.flow_type,
            if demo { DEMO_MARK } else { "" }
        ),
    );
    let inner = inner_of(&block, area);
    block.render(area, buf);
    let width = inner.width as usize;
    let warnings = warning_lines(app, c, width);
    if c.flow_type == FlowType::Other {
        let edit = key_of(app, Context::List, Action::Edit);
        let mut lines: Vec<Line> = wrap_words(
            &format!(
                "{} is an `other` connection: its Web API calls are not monitored (R23). Only source and destination connections are counted; {edit} in the Connections tab changes its flow type.",
                c.label
            ),
            width.max(8),
        )
        .into_iter()
        .map(|l| Line::from(Span::styled(l, t.dim)))
        .collect();
        lines.push(Line::from(""));
        lines.extend(warnings);
        Paragraph::new(lines).render(inner, buf);
        return;
    }
    if let Some((text, style)) = waiting(app) {
        Paragraph::new(text)
            .style(style)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    }
    let Some(m) = app.monitor.of(&c.code) else {
        Paragraph::new("loading…").style(t.dim).render(inner, buf);
        return;
    };
    let products_all = product_series(t);
    let products = relevant(&products_all, Some(c.flow_type), &m.days);
    let mut below: Vec<Line<'static>> = Vec::new();
    if let Some(total) = &m.total {
        below.extend(
            wrap_words(&totals_line(total, &products), width.max(8))
                .into_iter()
                .map(Line::from),
        );
    }
    below.push(Line::from(""));
    below.extend(warnings);
    render_days(app, &m.days, &products, below, inner, buf);
}

/// R24 for one connection: the details from its credentials, or the flag
/// while they load.
fn warning_lines(app: &App, c: &Connection, width: usize) -> Vec<Line<'static>> {
    let t = &app.theme;
    let wrap = |text: &str, style: Style| -> Vec<Line<'static>> {
        wrap_words(text, width.max(8))
            .into_iter()
            .map(|l| Line::from(Span::styled(l, style)))
            .collect()
    };
    match app.credentials.info_for(&c.code) {
        Some(Ok(info)) if info.wrong_credentials.is_empty() => wrap(
            "No wrong-credentials attempts in the last 7 days (R24).",
            t.dim,
        ),
        Some(Ok(info)) => {
            let mut out = wrap(
                "⚠ Wrong credentials (last 7 days, R24): token requests with this client id and secret but another connection's username were refused.",
                t.warning,
            );
            for w in &info.wrong_credentials {
                let times = if w.attempts == 1 { "time" } else { "times" };
                out.extend(wrap(
                    &format!(
                        "  with username {}: {} {times}, last {}",
                        w.username,
                        w.attempts,
                        w.last_at.format("%Y-%m-%d %H:%M UTC")
                    ),
                    t.warning,
                ));
            }
            out
        }
        _ => match c.wrong_credentials_at {
            Some(at) => wrap(
                &format!(
                    "⚠ Wrong credentials: its client id and secret came with another connection's username, last {} (R24).",
                    at.format("%Y-%m-%d %H:%M UTC")
                ),
                t.warning,
            ),
            None => Vec::new(),
        },
    }
}

fn render_all(app: &App, area: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let demo = app.monitor.overview().is_some_and(|o| o.demo);
    let block = frame(
        app,
        format!(
            " Monitor · all connections{} ",
            if demo { DEMO_MARK } else { "" }
        ),
    );
    let inner = inner_of(&block, area);
    block.render(area, buf);
    if let Some((text, style)) = waiting(app) {
        Paragraph::new(text)
            .style(style)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    }
    let Some(o) = app.monitor.overview() else {
        return;
    };
    let width = inner.width as usize;
    let products_all = product_series(t);
    let products: Vec<&Series> = products_all.iter().collect();
    let monitored = o.connections.iter().filter(|c| c.monitored).count();
    let mut below: Vec<Line<'static>> = wrap_words(&totals_line(&o.total, &products), width.max(8))
        .into_iter()
        .map(Line::from)
        .collect();
    below.extend(
        wrap_words(
            &format!(
                "Counted for the {monitored} source and destination connections you see; {} `other` connections are not monitored.",
                o.connections.len() - monitored
            ),
            width.max(8),
        )
        .into_iter()
        .map(|l| Line::from(Span::styled(l, t.dim))),
    );
    let wrong: Vec<&Connection> = app
        .data
        .connections
        .iter()
        .filter(|c| c.wrong_credentials_at.is_some())
        .collect();
    below.push(Line::from(""));
    if wrong.is_empty() {
        below.push(Line::from(Span::styled(
            "No wrong-credentials attempts in the last 7 days (R24).",
            t.dim,
        )));
    } else {
        let names: Vec<String> = wrong
            .iter()
            .map(|c| {
                format!(
                    "{} (last {})",
                    c.label,
                    c.wrong_credentials_at
                        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_default()
                )
            })
            .collect();
        below.extend(
            wrap_words(
                &format!(
                    "⚠ Wrong credentials in the last 7 days (R24): {}",
                    crate::tui::access::join_names(&names)
                ),
                width.max(8),
            )
            .into_iter()
            .map(|l| Line::from(Span::styled(l, t.warning))),
        );
    }
    // The busiest connections, when there is room under the charts.
    let busiest = busiest_rows(o);
    let table_height = if inner.height >= 30 && !busiest.is_empty() {
        (busiest.len() as u16 + 2).min(inner.height - 24)
    } else {
        0
    };
    let [charts, _, table] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(u16::from(table_height > 0)),
        Constraint::Length(table_height),
    ])
    .areas(inner);
    render_days(app, &o.days, &products, below, charts, buf);
    if table_height > 0 {
        render_busiest(app, &busiest, table, buf);
    }
}

/// (label, flow type, totals) of the connections with counts, busiest
/// first.
fn busiest_rows(o: &MonitoringOverview) -> Vec<(String, FlowType, EventCounts)> {
    let mut rows: Vec<(String, FlowType, EventCounts)> = o
        .connections
        .iter()
        .filter_map(|c| c.total.map(|t| (c.label.clone(), c.flow_type, t)))
        .filter(|(_, _, t)| {
            t.created + t.updated + t.read + t.business_errors + t.technical_errors > 0
        })
        .collect();
    rows.sort_by(|a, b| {
        let sum = |t: &EventCounts| t.created + t.updated + t.read;
        sum(&b.2).cmp(&sum(&a.2)).then(a.0.cmp(&b.0))
    });
    rows
}

fn render_busiest(
    app: &App,
    rows: &[(String, FlowType, EventCounts)],
    area: Rect,
    buf: &mut Buffer,
) {
    let t = &app.theme;
    let num = |n: u64| Line::from(n.to_string()).alignment(Alignment::Right);
    let body: Vec<Row> = rows
        .iter()
        .map(|(label, flow, c)| {
            Row::new(vec![
                Line::from(label.clone()),
                Line::from(flow.as_str()),
                num(c.created),
                num(c.updated),
                num(c.read),
                num(c.business_errors),
                num(c.technical_errors),
            ])
        })
        .collect();
    let header = Row::new(vec![
        Line::from("Busiest connections"),
        Line::from("Flow"),
        Line::from("Created").alignment(Alignment::Right),
        Line::from("Updated").alignment(Alignment::Right),
        Line::from("Read").alignment(Alignment::Right),
        Line::from("4xx").alignment(Alignment::Right),
        Line::from("5xx").alignment(Alignment::Right),
    ])
    .style(t.table_header);
    Table::new(
        body,
        [
            Constraint::Fill(1),
            Constraint::Length(11),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(5),
        ],
    )
    .header(header)
    .column_spacing(1)
    .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_short() {
        assert_eq!(compact(0), "0");
        assert_eq!(compact(999), "999");
        assert_eq!(compact(1234), "1.2k");
        assert_eq!(compact(34_567), "34k");
        assert_eq!(compact(1_500_000), "1.5M");
    }
}
