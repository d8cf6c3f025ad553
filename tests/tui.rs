//! The terminal app, headless: whole-app snapshots on `TestBackend`, key
//! sequences, every terminal size, and the idle loop.

use std::sync::atomic::Ordering;
use std::time::Duration;
use strum::VariantArray;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::style::{Color, Modifier};
use switchboard::client::Client;
use switchboard::model::Source;
use switchboard::tui::app::{Command, Modal, Msg, Tab};
use switchboard::tui::tabs::credentials::{CredField, Focus};
use switchboard::tui::theme::Theme;
use switchboard::tui::{self, App};
use tempfile::TempDir;

mod common;
use common::fake_app::FakeApp;

/// The embedded store in `dir` on a test clock (a fixed start, never
/// today), as its owner alice or, with `as_user`, another of its users.
async fn embedded(dir: &std::path::Path, as_user: Option<&str>) -> Client {
    let clock = std::sync::Arc::new(switchboard::store::TestClock::default());
    Client::embedded_with_clock(dir, "alice", as_user, Source::Tui, clock)
        .await
        .unwrap()
}

struct Harness {
    app: App,
    terminal: Terminal<TestBackend>,
    _dir: TempDir,
}

async fn harness_with(theme: Theme, width: u16, height: u16) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let client = embedded(dir.path(), None).await;
    let mut app = App::headless(client, theme);
    let start = app.start();
    tui::settle(&mut app, start).await;
    Harness {
        app,
        terminal: Terminal::new(TestBackend::new(width, height)).unwrap(),
        _dir: dir,
    }
}

async fn harness() -> Harness {
    harness_with(Theme::colored(), 120, 32).await
}

fn key(code: KeyCode) -> Event {
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    Event::Key(KeyEvent::new(code, mods))
}

impl Harness {
    async fn press(&mut self, code: KeyCode) {
        tui::feed(&mut self.app, key(code)).await;
    }

    async fn type_str(&mut self, s: &str) {
        for c in s.chars() {
            self.press(KeyCode::Char(c)).await;
        }
    }

    fn screen(&mut self) -> String {
        tui::draw_once(&mut self.terminal, &mut self.app).unwrap();
        let buf = self.terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..buf.area.height {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    async fn with_demo(mut self) -> Self {
        self.press(KeyCode::Char('D')).await;
        self
    }

    /// Presses a key and runs what it starts, like `press`, but hands back
    /// the timers (clipboard expiry, reveal countdown) instead of skipping
    /// them.
    async fn press_keeping_timers(&mut self, code: KeyCode) -> Vec<Command> {
        let commands = self.app.update(Msg::Input(key(code)));
        settle_keeping_timers(&mut self.app, commands).await
    }

    fn selected_code(&self) -> String {
        self.app.selected_connection().unwrap().code.clone()
    }

    async fn secret_of(&self, code: &str) -> String {
        self.app.client.reveal_secret(code).await.unwrap().secret
    }

    fn status(&self) -> String {
        self.app
            .status
            .as_ref()
            .map(|s| s.text.clone())
            .unwrap_or_default()
    }
}

/// Runs commands to completion like `tui::settle`, returning the timers.
async fn settle_keeping_timers(app: &mut App, commands: Vec<Command>) -> Vec<Command> {
    let mut timers = Vec::new();
    let mut queue: std::collections::VecDeque<Command> = commands.into();
    while let Some(command) = queue.pop_front() {
        if matches!(
            command,
            Command::ExpireClipboard { .. } | Command::RevealTick { .. }
        ) {
            timers.push(command);
            continue;
        }
        if let Some(msg) = tui::app::execute(&app.client, command).await {
            queue.extend(app.update(msg));
        }
    }
    timers
}

/// Snapshot with volatile text (dates, credentials, paths) filtered out.
macro_rules! snap {
    ($name:expr, $screen:expr) => {{
        let mut settings = insta::Settings::clone_current();
        // Prefix, random body (22 or 43) and checksum (6): client ids, secrets,
        // passwords, tokens.
        settings.add_filter(r"sb[a-z]_[0-9A-Za-z]{28,49}", "[credential]");
        settings.add_filter(r"_\d{4}\b", "_[nnnn]");
        settings.add_filter(r"[\d-]*\s?\d{2}:\d{2}", "[time]");
        settings.add_filter(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?", "[date]");
        // A time cut by a modal's edge.
        settings.add_filter(r"\d[\d:]* UTC", "[time] UTC");
        settings.add_filter(r"embedded \S+switchboard\.db", "embedded [path]");
        // The Monitor tab's day labels ("Mon 23"; the same width).
        settings.add_filter(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{2}\b", "Day dd");
        settings.bind(|| insta::assert_snapshot!($name, $screen));
    }};
}

#[tokio::test]
async fn snapshot_empty_state() {
    let mut h = harness().await;
    let screen = h.screen();
    assert!(screen.contains("No connections yet"));
    snap!("empty_state", screen);
}

#[tokio::test]
async fn snapshot_list() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Char('j')).await;
    h.press(KeyCode::Down).await;
    let screen = h.screen();
    assert!(screen.contains("▶  AP  Akeneo PIM"), "{screen}");
    assert!(screen.contains("Connections · 36"));
    assert!(screen.contains("Audit trail"));
    snap!("list", screen);
}

#[tokio::test]
async fn snapshot_filter_with_match_highlighting() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Char('/')).await;
    h.type_str("sap").await;
    let screen = h.screen();
    assert!(screen.contains("/ sap"));
    // The best match is first and its matched letters are highlighted.
    let buf = h.terminal.backend().buffer().clone();
    let highlighted = buf
        .content()
        .iter()
        .filter(|c| c.modifier.contains(Modifier::UNDERLINED))
        .count();
    assert!(
        highlighted >= 3,
        "matched characters are marked ({highlighted})"
    );
    snap!("filter", screen);
    // Esc clears the filter.
    h.press(KeyCode::Esc).await;
    assert!(h.screen().contains("Connections · 36 "));
}

#[tokio::test]
async fn snapshot_create_form_with_a_field_error() {
    let mut h = harness().await;
    h.press(KeyCode::Char('n')).await;
    h.type_str("ab").await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(screen.contains("✗ label is too short: 2 characters, at least 3"));
    snap!("create_form_error", screen);
}

#[tokio::test]
async fn snapshot_show_once_modal_then_forgotten() {
    let mut h = harness().await;
    h.press(KeyCode::Char('n')).await;
    h.type_str("Magento Storefront").await;
    let form = h.screen();
    assert!(
        form.contains("magento_storefront  (from the label)"),
        "code fills in live"
    );
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    let password = screen
        .split_whitespace()
        .find(|w| w.starts_with("sbp_"))
        .expect("the password is shown")
        .to_string();
    snap!("show_once", screen);
    // `c` copies it.
    h.press(KeyCode::Char('c')).await;
    assert_eq!(h.app.clipboard.memory_contents(), Some(password.as_str()));
    assert!(h.screen().contains("Copied the password"));
    // Closing forgets it: no screen can show it again.
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty());
    let after = h.screen();
    assert!(!after.contains(&password));
    assert!(after.contains("Magento Storefront"));
    assert!(after.contains("shown only once, at creation"));
}

#[tokio::test]
async fn snapshot_delete_confirmation() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Char('d')).await;
    let screen = h.screen();
    assert!(screen.contains("Delete 1WorldSync GDSN Feed (1worldsync_gdsn_feed)?"));
    snap!("delete_confirm", screen);
    // `n` keeps it; `y` deletes it.
    h.press(KeyCode::Char('n')).await;
    assert_eq!(h.app.data.connections.len(), 36);
    h.press(KeyCode::Char('d')).await;
    h.press(KeyCode::Char('y')).await;
    assert_eq!(h.app.data.connections.len(), 35);
    assert!(
        !h.app
            .data
            .connections
            .iter()
            .any(|c| c.code == "1worldsync_gdsn_feed")
    );
    assert!(h.screen().contains("Deleted 1worldsync_gdsn_feed"));
}

#[tokio::test]
async fn snapshot_help() {
    let mut h = harness_with(Theme::colored(), 120, 240).await;
    h.press(KeyCode::Char('?')).await;
    let screen = h.screen();
    for b in h.app.keymap.bindings() {
        assert!(
            screen.contains(b.description),
            "help lists {}",
            b.description
        );
    }
    snap!("help", screen);
}

#[tokio::test]
async fn edit_changes_the_label_and_shows_it_in_the_audit_trail() {
    let mut h = harness_with(Theme::colored(), 200, 60)
        .await
        .with_demo()
        .await;
    h.press(KeyCode::Char('e')).await;
    h.type_str(" v2").await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Right).await; // flow type source → destination
    h.press(KeyCode::Enter).await;
    let c = h.app.selected_connection().unwrap().clone();
    assert_eq!(c.label, "1WorldSync GDSN Feed v2");
    assert_eq!(c.flow_type.as_str(), "destination");
    let screen = h.screen();
    assert!(
        screen.contains("connection.update by alice via tui"),
        "{screen}"
    );
    assert!(screen.contains(r#"label: "1WorldSync GDSN Feed" → "1WorldSync GDSN Feed v2""#));
}

#[tokio::test]
async fn r2_new_says_the_quota_is_reached_instead_of_opening_the_form() {
    let mut h = harness().await;
    h.app.client.set_max_connections(1).await.unwrap();
    h.app
        .client
        .create_connection(&switchboard::model::NewConnection {
            label: "Only one".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    h.press(KeyCode::Char('r')).await; // not bound: nothing happens
    tui::feed(
        &mut h.app,
        Event::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    )
    .await;
    // The footer dims `n` once the limit is reached (R7).
    h.screen();
    assert!(
        footer_cells_of(&h, "n new")
            .iter()
            .all(|c| c.modifier.contains(Modifier::CROSSED_OUT)),
        "n new is dimmed at the limit"
    );
    h.press(KeyCode::Char('n')).await;
    assert!(h.app.modals.is_empty());
    let screen = h.screen();
    assert!(
        screen.contains("The connection limit is reached (1 of 1)"),
        "{screen}"
    );
}

#[tokio::test]
async fn backend_errors_appear_beside_their_field() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Char('n')).await;
    h.type_str("Odoo Staging").await; // the demo has odoo_staging
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(
        screen.contains("✗ code \"odoo_staging\" is already taken"),
        "{screen}"
    );
    assert!(matches!(h.app.modals.last(), Some(Modal::Form(_))));
}

#[tokio::test]
async fn mouse_wheel_and_click_move_the_selection() {
    let mut h = harness().await.with_demo().await;
    h.screen();
    let wheel = |kind| {
        Event::Mouse(MouseEvent {
            kind,
            column: 10,
            row: 10,
            modifiers: KeyModifiers::NONE,
        })
    };
    tui::feed(&mut h.app, wheel(MouseEventKind::ScrollDown)).await;
    tui::feed(&mut h.app, wheel(MouseEventKind::ScrollDown)).await;
    assert_eq!(h.app.list.selected, 2);
    let area = h.app.screen.list_rows;
    tui::feed(
        &mut h.app,
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left),
            column: area.x + 5,
            row: area.y + 5,
            modifiers: KeyModifiers::NONE,
        }),
    )
    .await;
    assert_eq!(h.app.list.selected, 5);
}

#[tokio::test]
async fn no_color_uses_no_colour_and_marks_the_selection_otherwise() {
    let mut h = harness_with(Theme::monochrome(), 120, 32)
        .await
        .with_demo()
        .await;
    let screen = h.screen();
    let buf = h.terminal.backend().buffer();
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "no foreground colour under NO_COLOR");
        assert_eq!(cell.bg, Color::Reset, "no background colour under NO_COLOR");
    }
    let row = screen
        .lines()
        .find(|l| l.contains("▶"))
        .expect("a ▶ marks the selection");
    assert!(row.contains("1WorldSync"));
    let y = screen.lines().position(|l| l.contains("▶")).unwrap() as u16;
    assert!(buf[(10, y)].modifier.contains(Modifier::REVERSED));
}

#[tokio::test]
async fn render_never_panics_at_any_size_in_any_state() {
    let mut h = harness().await.with_demo().await;
    let states: Vec<Vec<KeyCode>> = vec![
        vec![],
        vec![KeyCode::Char('/'), KeyCode::Char('s')],
        vec![KeyCode::Esc, KeyCode::Char('n'), KeyCode::Char('a')],
        vec![KeyCode::Enter],
        vec![KeyCode::Esc, KeyCode::Char('d')],
        vec![KeyCode::Esc, KeyCode::Char('?')],
        // The Credentials tab: card, revealed secret, list focus, filter,
        // both confirmations, the new password, help over it.
        vec![KeyCode::Esc, KeyCode::Esc, KeyCode::Enter],
        vec![KeyCode::Char('v')],
        vec![KeyCode::Char('h'), KeyCode::Char('j')],
        vec![KeyCode::Char('/'), KeyCode::Char('o')],
        vec![KeyCode::Esc, KeyCode::Char('s')],
        vec![KeyCode::Char('n'), KeyCode::Char('p')],
        vec![KeyCode::Char('y')],
        vec![KeyCode::Esc, KeyCode::Char('?')],
    ];
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 64,
        ..Default::default()
    });
    for keys in states {
        for k in keys {
            h.press(k).await;
        }
        if h.app.tab == Tab::Credentials {
            // Wrong-credentials warnings too.
            mark_wrong_credentials(&mut h.app);
        }
        let app = std::cell::RefCell::new(&mut h.app);
        runner
            .run(&(1u16..=220, 1u16..=70), |(w, hgt)| {
                let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
                tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
                Ok(())
            })
            .unwrap();
        for (w, hgt) in [(1, 1), (49, 11), (50, 12), (2, 80), (300, 3)] {
            let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
            tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
        }
    }
    let mut t = Terminal::new(TestBackend::new(30, 5)).unwrap();
    tui::draw_once(&mut t, &mut h.app).unwrap();
    let first: String = (0..30)
        .map(|x| t.backend().buffer()[(x, 0)].symbol().to_string())
        .collect();
    assert!(first.starts_with("Terminal too small"), "{first}");
}

#[tokio::test]
async fn the_app_does_not_draw_while_idle_and_only_key_presses_act() {
    let dir = tempfile::tempdir().unwrap();
    let client = embedded(dir.path(), None).await;
    let mut app = App::headless(client, Theme::colored());
    let draws = app.draws.clone();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<Event>>();
    let events = tokio_stream_from(rx);
    let handle = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let mut host = tui::NullHost;
        tui::event_loop(&mut terminal, &mut app, events, &mut host).await
    });
    // Let the start-up load finish, then watch an idle period.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let settled = draws.load(Ordering::SeqCst);
    assert!(settled >= 1);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(draws.load(Ordering::SeqCst), settled, "no draw while idle");
    // A key release changes nothing and draws nothing.
    let mut release = KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    tx.send(Ok(Event::Key(release))).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(draws.load(Ordering::SeqCst), settled, "releases do not act");
    // A press acts and draws once.
    tx.send(Ok(Event::Key(KeyEvent::new(
        KeyCode::Char('?'),
        KeyModifiers::NONE,
    ))))
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(draws.load(Ordering::SeqCst), settled + 1);
    tx.send(Ok(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    ))))
    .unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), handle).await;
    assert!(result.unwrap().unwrap().is_ok(), "Ctrl-C ends the loop");
}

/// A `Stream` over an unbounded receiver.
fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Unpin {
    Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

#[tokio::test]
async fn an_unreachable_backend_shows_a_banner_retries_and_recovers() {
    use switchboard::client::ClientError;
    use switchboard::tui::app::{Command, Msg, Problem};
    let mut h = harness().await.with_demo().await;
    let commands = h.app.update(Msg::Loaded(Err(ClientError::Transport(
        "http://x: Connection refused".into(),
    ))));
    assert!(
        matches!(commands.as_slice(), [Command::RetryAfter(_)]),
        "{commands:?}"
    );
    assert!(matches!(h.app.problem, Some(Problem::Unreachable(_))));
    let screen = h.screen();
    assert!(screen.contains("Cannot reach the server (http://x: Connection refused)"));
    assert!(
        screen.contains("Connections · 36"),
        "the last data stays on screen"
    );
    // A second failure while a retry is pending schedules no second retry.
    let more = h.app.update(Msg::AuditLoaded(
        "x".into(),
        Err(ClientError::Transport("again".into())),
    ));
    assert!(more.is_empty(), "{more:?}");
    // The retry comes due: reload; it succeeds: the banner goes.
    let retry = h.app.update(Msg::RetryDue);
    // The integrations and flows come with every load.
    assert_eq!(retry, vec![Command::Load, Command::LoadIntegrations]);
    tui::settle(&mut h.app, retry).await;
    assert!(h.app.problem.is_none());
    assert!(h.screen().contains("Reconnected to embedded"));
}

#[tokio::test]
async fn an_expired_session_offers_the_login_form() {
    use switchboard::client::{ClientError, SessionStore};
    use switchboard::model::ApiError;
    use switchboard::tui::app::{Modal, Msg};
    let mut h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    h.app.sessions = Some(("http://server".into(), SessionStore::in_dir(dir.path())));
    h.app.update(Msg::Loaded(Err(ClientError::Api {
        status: 401,
        error: ApiError {
            code: "unauthenticated".into(),
            message: "the session has expired or is unknown; log in again".into(),
            field: None,
        },
    })));
    assert!(matches!(h.app.modals.last(), Some(Modal::Login(_))));
    let screen = h.screen();
    assert!(
        screen.contains("Not logged in: the session has expired"),
        "{screen}"
    );
    assert!(screen.contains("Log in to http://server"));
    h.type_str("secret password").await;
    let screen = h.screen();
    assert!(
        !screen.contains("secret password"),
        "the password is never drawn"
    );
    assert!(screen.contains("••••••"));
}

#[tokio::test]
async fn the_spinner_shows_only_after_150_ms_in_flight() {
    use switchboard::tui::app::Msg;
    let mut h = harness().await;
    // A call goes out…
    let _ = h.app.start();
    assert!(h.app.animating());
    assert!(!h.app.spinner_visible());
    h.app.take_dirty();
    h.app.update(Msg::Tick);
    assert!(!h.app.take_dirty(), "no redraw before the spinner shows");
    assert!(!h.screen().contains("working"));
    tokio::time::sleep(Duration::from_millis(180)).await;
    h.app.update(Msg::Tick);
    assert!(h.app.spinner_visible());
    assert!(h.app.take_dirty(), "a visible spinner redraws on each tick");
    assert!(h.screen().contains("working…"));
}

/// The demo at 160×40 with the edit form open on the selected connection,
/// " (mine)" typed after its label, and another admin's save of the same
/// connection answered meanwhile; returns the harness and the code.
async fn edit_conflict() -> (Harness, String) {
    let mut h = harness_with(Theme::colored(), 160, 40)
        .await
        .with_demo()
        .await;
    h.press(KeyCode::Char('e')).await;
    h.type_str(" (mine)").await;
    // Someone else changes the same connection meanwhile.
    let code = h.app.selected_connection().unwrap().code.clone();
    h.app
        .client
        .update_connection(
            &code,
            &switchboard::model::ConnectionPatch {
                label: Some("Changed elsewhere".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    (h, code)
}

#[tokio::test]
async fn an_edit_conflict_shows_both_sides_and_saving_again_needs_a_choice() {
    let (mut h, code) = edit_conflict().await;
    let mine = h.app.selected_connection().unwrap().label.clone() + " (mine)";
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    let text = modal_text(&screen);
    assert!(
        text.contains("was changed by alice at"),
        "the whole 409 message: {text}"
    );
    assert!(
        text.contains("Someone else saved Changed elsewhere while you edited it"),
        "{text}"
    );
    assert!(text.contains(&format!("≠ Label      {mine}")), "{text}");
    assert!(
        text.contains("Changed elsewhere"),
        "theirs beside yours: {text}"
    );
    let stored = h.app.client.get_connection(&code).await.unwrap();
    assert!(
        text.contains(&format!(
            "Ctrl-O save yours over version {}",
            stored.version
        )),
        "{text}"
    );
    assert!(
        matches!(h.app.modals.last(), Some(Modal::Form(_))),
        "the form stays open"
    );
    assert_eq!(
        h.app.selected_connection().unwrap().label,
        "Changed elsewhere",
        "the list shows what is stored"
    );
    // Enter again saves nothing: no lost update.
    let commands = h.app.update(Msg::Input(key(KeyCode::Enter)));
    assert!(commands.is_empty(), "{commands:?}");
    assert_eq!(
        h.app.client.get_connection(&code).await.unwrap().label,
        "Changed elsewhere"
    );
    assert!(modal_text(&h.screen()).contains("Ctrl-R takes theirs"));
    // Ctrl-O overwrites, naming the version it overwrites.
    tui::feed(
        &mut h.app,
        Event::Key(KeyEvent::new(KeyCode::Char('o'), KeyModifiers::CONTROL)),
    )
    .await;
    assert!(h.app.modals.is_empty(), "{}", h.status());
    assert_eq!(
        h.status(),
        format!("Saved {mine} over version {}", stored.version)
    );
    assert_eq!(
        h.app.client.get_connection(&code).await.unwrap().label,
        mine
    );
}

#[tokio::test]
async fn an_edit_conflict_reloaded_takes_the_stored_version_and_drops_mine() {
    let (mut h, code) = edit_conflict().await;
    h.press(KeyCode::Enter).await;
    tui::feed(
        &mut h.app,
        Event::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    )
    .await;
    let Some(Modal::Form(form)) = h.app.modals.last() else {
        panic!("the form stays open");
    };
    assert_eq!(form.label.value, "Changed elsewhere");
    assert!(form.conflict.is_none());
    assert!(
        h.status().contains("your edits were dropped"),
        "{}",
        h.status()
    );
    // Saving now is based on the stored version: it goes through.
    h.type_str(" v2").await;
    h.press(KeyCode::Enter).await;
    assert!(h.app.modals.is_empty(), "{}", h.status());
    assert_eq!(
        h.app.client.get_connection(&code).await.unwrap().label,
        "Changed elsewhere v2"
    );
}

/// The text inside a modal's double border, joined into one line.
fn modal_text(screen: &str) -> String {
    screen
        .lines()
        .filter_map(|l| {
            let start = l.find('║')? + '║'.len_utf8();
            let end = l.rfind('║')?;
            (start < end).then(|| l[start..end].trim().to_string())
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Marks the selected connection as used with another username (R24), as
/// the backend reports it after such a token request.
fn mark_wrong_credentials(app: &mut App) {
    use switchboard::model::WrongCredentials;
    let Some(code) = app.selected_connection().map(|c| c.code.clone()) else {
        return;
    };
    use switchboard::store::Clock;
    let at = switchboard::store::TestClock::default().now();
    for c in app.data.connections.iter_mut().filter(|c| c.code == code) {
        c.wrong_credentials_at = Some(at);
    }
    if let Some((info_code, Ok(info))) = app.credentials.info.as_mut()
        && *info_code == code
    {
        info.wrong_credentials = vec![WrongCredentials {
            username: "odoo_staging_0001".into(),
            first_at: at,
            last_at: at,
            attempts: 3,
        }];
    }
}

// ---------------------------------------------------------------------------
// The Credentials tab (SPEC §6)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn snapshot_credentials_tab_masked() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Char('j')).await;
    let code = h.selected_code();
    h.press(KeyCode::Enter).await;
    assert_eq!(h.app.tab, Tab::Credentials);
    assert_eq!(
        h.app.credentials.focus,
        Focus::Card,
        "Enter focuses the card"
    );
    let screen = h.screen();
    let c = h.app.selected_connection().unwrap().clone();
    assert!(
        screen.contains(&format!("Credentials · {}", c.label)),
        "{screen}"
    );
    assert!(screen.contains(&c.client_id));
    assert!(screen.contains(&c.username));
    assert!(screen.contains("Secret       ••••••••"), "{screen}");
    assert!(screen.contains("shown only once — press p to generate a new one"));
    assert!(screen.contains("http://127.0.0.1:7878/api/oauth/v1/token"));
    assert!(screen.contains("0 access / 0 refresh tokens live"));
    assert!(screen.contains("never (as created)"));
    let secret = h.secret_of(&code).await;
    assert!(!screen.contains(&secret), "the secret is masked");
    snap!("credentials", screen);
}

#[tokio::test]
async fn tabs_cycle_and_share_the_selection_and_the_filter() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Char('/')).await;
    h.type_str("sap").await;
    h.press(KeyCode::Enter).await; // keep the filter
    h.press(KeyCode::Char('j')).await;
    let code = h.selected_code();
    h.press(KeyCode::Tab).await;
    assert_eq!(h.app.tab, Tab::Register);
    h.press(KeyCode::Tab).await;
    assert_eq!(h.app.tab, Tab::Credentials);
    assert_eq!(h.app.credentials.focus, Focus::List);
    let screen = h.screen();
    assert!(screen.contains("2 of 36 match"), "{screen}");
    assert!(screen.contains("/ sap"));
    assert_eq!(h.selected_code(), code, "the same connection");
    // The list has the keys: ↑ moves the connection; → gives them to the card.
    h.press(KeyCode::Up).await;
    assert_ne!(h.selected_code(), code);
    h.press(KeyCode::Char('l')).await;
    h.press(KeyCode::Char('j')).await;
    assert_eq!(h.app.credentials.field, CredField::Secret);
    assert!(
        h.screen().contains("↑↓ field"),
        "the footer says what moves"
    );
    h.press(KeyCode::Char('h')).await;
    assert!(h.screen().contains("↑↓ connection"));
    // Shift-Tab and the numbers switch, keeping the selection.
    h.press(KeyCode::BackTab).await;
    assert_eq!(h.app.tab, Tab::Register);
    h.press(KeyCode::Char('4')).await;
    assert_eq!(h.app.tab, Tab::Permissions);
    h.press(KeyCode::Char('5')).await;
    assert_eq!(h.app.tab, Tab::Monitor);
    h.press(KeyCode::Char('3')).await;
    assert_eq!(h.app.tab, Tab::Credentials);
    h.press(KeyCode::Char('2')).await;
    assert_eq!(h.app.tab, Tab::Register);
    h.press(KeyCode::Char('1')).await;
    assert_eq!(h.app.tab, Tab::Connections);
    let screen = h.screen();
    assert!(
        screen.contains(" 1 Connections   2 Register   3 Credentials   4 Permissions   5 Monitor "),
        "{screen}"
    );
    // Esc in Credentials clears the filter first, then goes back.
    h.press(KeyCode::Char('3')).await;
    h.press(KeyCode::Esc).await;
    assert!(!h.app.list.filter.is_active());
    assert_eq!(h.app.tab, Tab::Credentials);
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.tab, Tab::Connections);
}

#[tokio::test]
async fn snapshot_revealed_secret_then_masked_again_by_the_timer() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Enter).await;
    let code = h.selected_code();
    let timers = h.press_keeping_timers(KeyCode::Char('v')).await;
    let [Command::RevealTick { generation, after }] = timers.as_slice() else {
        panic!("one countdown tick is due: {timers:?}");
    };
    assert_eq!(*after, Duration::from_secs(1));
    let secret = h.secret_of(&code).await;
    let screen = h.screen();
    assert!(screen.contains(&secret), "{screen}");
    assert!(screen.contains("hidden again in 10 s"));
    assert!(!h.status().contains(&secret), "never in the status line");
    snap!("credentials_revealed", screen);
    for left in (1..10).rev() {
        let next = h.app.update(Msg::RevealTick(*generation));
        assert!(
            matches!(next.as_slice(), [Command::RevealTick { .. }]),
            "{next:?}"
        );
        assert!(h.screen().contains(&format!("hidden again in {left} s")));
    }
    assert!(h.app.update(Msg::RevealTick(*generation)).is_empty());
    let screen = h.screen();
    assert!(!screen.contains(&secret), "masked again");
    assert!(screen.contains("••••••••"));
    assert!(h.app.credentials.revealed.is_none(), "and dropped");
    // A late tick of that reveal changes nothing and draws nothing.
    h.app.take_dirty();
    assert!(h.app.update(Msg::RevealTick(*generation)).is_empty());
    assert!(!h.app.take_dirty());
}

#[tokio::test]
async fn a_revealed_secret_hides_when_the_selection_or_the_tab_changes() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Enter).await;
    let secret = h.secret_of(&h.selected_code()).await;
    h.press(KeyCode::Char('v')).await;
    assert!(h.screen().contains(&secret));
    h.press(KeyCode::Char('v')).await;
    assert!(!h.screen().contains(&secret), "v again hides it");
    h.press(KeyCode::Char('v')).await;
    h.press(KeyCode::Char('h')).await;
    h.press(KeyCode::Char('j')).await;
    assert!(h.app.credentials.revealed.is_none());
    h.press(KeyCode::Char('k')).await;
    h.press(KeyCode::Char('v')).await;
    h.press(KeyCode::Char('1')).await;
    assert!(h.app.credentials.revealed.is_none());
}

#[tokio::test]
async fn snapshot_regenerate_secret_confirmation_then_a_new_secret() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Enter).await;
    let code = h.selected_code();
    let label = h.app.selected_connection().unwrap().label.clone();
    let client_id = h.app.selected_connection().unwrap().client_id.clone();
    let before = h.secret_of(&code).await;
    h.press(KeyCode::Char('s')).await;
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Regenerate the secret of {label} ({code})?")),
        "{screen}"
    );
    let text = modal_text(&screen);
    assert!(text.contains(&format!(
        "Every access and refresh token of {label} stops working at once (HTTP 401); applications must be given the new secret. The client id stays."
    )), "{text}");
    snap!("regenerate_secret_confirm", screen);
    // n keeps it.
    h.press(KeyCode::Char('n')).await;
    assert_eq!(h.status(), "The secret stays as it was");
    assert_eq!(h.secret_of(&code).await, before);
    // s, y regenerates.
    h.press(KeyCode::Char('s')).await;
    h.press(KeyCode::Char('y')).await;
    let after = h.secret_of(&code).await;
    assert_ne!(after, before, "a new secret");
    let status = h.status();
    assert_eq!(
        status,
        format!("New secret for {label}; 0 tokens revoked; the client id stays")
    );
    assert!(!status.contains(&after));
    // The new secret shows once at once, with copy, as a new password does.
    let screen = h.screen();
    assert!(matches!(h.app.modals.last(), Some(Modal::ShownOnce(_))));
    let text = modal_text(&screen);
    assert!(
        text.contains(&format!("New secret for {label} ({code})")),
        "{text}"
    );
    assert!(text.contains(&after), "the new secret is shown: {text}");
    assert!(text.contains("c copy secret"), "{text}");
    h.press(KeyCode::Char('c')).await;
    assert!(
        h.status().starts_with("Copied the new secret"),
        "{}",
        h.status()
    );
    assert_eq!(h.app.clipboard.memory_contents(), Some(after.as_str()));
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty(), "Esc closes it");
    assert!(!h.screen().contains(&after), "and the secret is gone");
    assert_eq!(h.app.selected_connection().unwrap().client_id, client_id);
    assert_eq!(h.app.tab, Tab::Credentials);
    assert!(h.app.in_flight == 0 && !h.app.spinner_visible());
    // The card was fetched again: it knows when the secret changed.
    let screen = h.screen();
    let line = screen
        .lines()
        .find(|l| l.contains("Secret changed"))
        .unwrap();
    assert!(!line.contains("never"), "{line}");
}

#[tokio::test]
async fn snapshot_regenerate_password_confirmation_and_the_new_password_shown_once() {
    let mut h = harness().await;
    let created = h
        .app
        .client
        .create_connection(&switchboard::model::NewConnection {
            label: "Magento Storefront".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Ctrl-R reloads: the connection made behind the app's back shows.
    tui::feed(
        &mut h.app,
        Event::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    )
    .await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Char('p')).await;
    let screen = h.screen();
    let text = modal_text(&screen);
    assert!(
        text.contains("Regenerate the password of Magento Storefront (magento_storefront)?"),
        "{screen}"
    );
    assert!(
        text.contains("the password cannot be shown again after you close the next window."),
        "{text}"
    );
    snap!("regenerate_password_confirm", screen);
    h.press(KeyCode::Enter).await;
    let Some(Modal::ShownOnce(shown)) = h.app.modals.last() else {
        panic!("the new password shows once");
    };
    use secrecy::ExposeSecret;
    let password = shown.password.as_ref().unwrap().expose_secret().to_string();
    assert_ne!(password, created.password, "a new password");
    assert!(password.starts_with("sbp_"));
    let screen = h.screen();
    assert!(screen.contains(&password), "{screen}");
    assert!(screen.contains("New password for Magento Storefront"));
    assert!(screen.contains("shown only this once"));
    assert_eq!(
        h.status(),
        "New password for Magento Storefront; 0 tokens revoked"
    );
    snap!("new_password", screen);
    // c copies it.
    h.press(KeyCode::Char('c')).await;
    assert_eq!(h.app.clipboard.memory_contents(), Some(password.as_str()));
    // y copies everything, the password and the secret (asked for) included.
    h.press(KeyCode::Char('y')).await;
    let secret = h.secret_of("magento_storefront").await;
    assert_eq!(
        h.app.clipboard.memory_contents().unwrap(),
        format!(
            "CLIENT_ID={}\nSECRET={secret}\nUSERNAME={}\nPASSWORD={password}\nTOKEN_URL=http://127.0.0.1:7878/api/oauth/v1/token\n",
            created.connection.client_id, created.connection.username
        )
    );
    // Closing forgets it: nothing on screen or in the app holds it.
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty());
    let after = h.screen();
    assert!(!after.contains(&password));
    assert!(after.contains("shown only once — press p"));
}

#[tokio::test]
async fn c_copies_the_selected_field_and_never_the_password() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Enter).await;
    let c = h.app.selected_connection().unwrap().clone();
    let secret = h.secret_of(&c.code).await;
    let copy = |h: &Harness| h.app.clipboard.memory_contents().map(str::to_string);
    h.press(KeyCode::Char('c')).await;
    assert_eq!(copy(&h).as_deref(), Some(c.client_id.as_str()));
    assert_eq!(h.status(), "Copied the client id to the system clipboard");
    h.press(KeyCode::Down).await;
    h.press(KeyCode::Char('c')).await;
    assert_eq!(copy(&h).as_deref(), Some(secret.as_str()));
    assert_eq!(
        h.status(),
        format!(
            "Copied the secret of {} to the system clipboard; cleared in 30 s if still there",
            c.label
        )
    );
    assert!(!h.screen().contains(&secret), "copying does not reveal");
    h.press(KeyCode::Down).await;
    h.press(KeyCode::Char('c')).await;
    assert_eq!(copy(&h).as_deref(), Some(c.username.as_str()));
    h.press(KeyCode::Down).await;
    h.press(KeyCode::Char('c')).await;
    assert_eq!(copy(&h).as_deref(), Some(c.username.as_str()), "unchanged");
    assert!(
        h.status()
            .contains("cannot be copied later: press p to generate a new one"),
        "{}",
        h.status()
    );
    h.press(KeyCode::Char('G')).await;
    h.press(KeyCode::Char('c')).await;
    assert_eq!(
        copy(&h).as_deref(),
        Some("http://127.0.0.1:7878/api/oauth/v1/token")
    );
}

#[tokio::test]
async fn y_copies_key_value_lines_without_the_password() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Enter).await;
    let c = h.app.selected_connection().unwrap().clone();
    h.press(KeyCode::Char('y')).await;
    let secret = h.secret_of(&c.code).await;
    let copied = h.app.clipboard.memory_contents().unwrap().to_string();
    assert_eq!(
        copied,
        format!(
            "CLIENT_ID={}\nSECRET={secret}\nUSERNAME={}\nTOKEN_URL=http://127.0.0.1:7878/api/oauth/v1/token\n",
            c.client_id, c.username
        )
    );
    assert!(!copied.contains("PASSWORD"));
    assert!(h.status().contains("KEY=value lines (no password)"));
    assert!(!h.status().contains(&secret));
}

#[tokio::test]
async fn a_copied_secret_is_cleared_after_the_timeout_unless_something_else_was_copied() {
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Down).await; // the secret
    let timers = h.press_keeping_timers(KeyCode::Char('c')).await;
    let [Command::ExpireClipboard { generation, after }] = timers.as_slice() else {
        panic!("a clear is due: {timers:?}");
    };
    assert_eq!(*after, Duration::from_secs(30));
    h.app.update(Msg::ClipboardExpired(*generation));
    assert_eq!(h.app.clipboard.memory_contents(), None, "cleared");
    assert_eq!(h.status(), "Cleared the copied secret from the clipboard");

    // A later copy cancels the earlier clear.
    let first = h.press_keeping_timers(KeyCode::Char('c')).await;
    h.press(KeyCode::Up).await;
    let later = h.press_keeping_timers(KeyCode::Char('c')).await;
    assert!(later.is_empty(), "a client id is not cleared: {later:?}");
    let client_id = h.app.selected_connection().unwrap().client_id.clone();
    let [Command::ExpireClipboard { generation, .. }] = first.as_slice() else {
        panic!("{first:?}");
    };
    h.app.update(Msg::ClipboardExpired(*generation));
    assert_eq!(
        h.app.clipboard.memory_contents(),
        Some(client_id.as_str()),
        "the later copy stays"
    );

    // A timeout of 0 never clears.
    h.app.set_clear_clipboard_after(Duration::ZERO);
    h.press(KeyCode::Down).await;
    let none = h.press_keeping_timers(KeyCode::Char('c')).await;
    assert!(none.is_empty(), "{none:?}");
    assert!(!h.status().contains("cleared"), "{}", h.status());
}

#[tokio::test]
async fn a_refusal_shows_its_reason_and_leaves_no_spinner() {
    use switchboard::client::ClientError;
    use switchboard::model::ApiError;
    use switchboard::tui::app::RevealPurpose;
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Enter).await;
    let code = h.selected_code();
    let label = h.app.selected_connection().unwrap().label.clone();
    let forbidden = || {
        ClientError::Api {
        status: 403,
        error: ApiError {
            code: "forbidden".into(),
            message: "only the owner, admins and managers of an integration it is registered with may do this".into(),
            field: None,
        },
    }
    };
    // v asks the backend; a member is refused.
    let asked = h.app.update(Msg::Input(key(KeyCode::Char('v'))));
    assert!(matches!(asked.as_slice(), [Command::RevealSecret { .. }]));
    assert_eq!(h.app.in_flight, 1);
    let after = h.app.update(Msg::SecretRevealed {
        code: code.clone(),
        purpose: RevealPurpose::Show,
        result: Err(forbidden()),
    });
    assert!(after.is_empty());
    assert_eq!(h.app.in_flight, 0, "no spinner left");
    assert!(h.app.credentials.revealed.is_none());
    assert_eq!(
        h.status(),
        format!(
            "Cannot show the secret of {label}: only the owner, admins and managers of an integration it is registered with may do this"
        )
    );
    h.app.update(Msg::SecretRevealed {
        code: code.clone(),
        purpose: RevealPurpose::CopyAll,
        result: Err(forbidden()),
    });
    assert!(h.status().starts_with("Cannot copy the secret of"));
    assert_eq!(h.app.clipboard.memory_contents(), None);
    h.app
        .update(Msg::SecretRegenerated(code.clone(), Err(forbidden())));
    assert!(
        h.status()
            .starts_with(&format!("Could not regenerate the secret of {label}: only"))
    );
    h.app
        .update(Msg::PasswordRegenerated(code.clone(), Err(forbidden())));
    assert!(h.app.modals.is_empty(), "no password window");
    let screen = h.screen();
    assert!(
        screen.contains(&format!("Could not regenerate the password of {label}")),
        "{screen}"
    );
    h.app.update(Msg::CredentialsLoaded(code, Err(forbidden())));
    assert!(h.screen().contains("✗ only the owner"));
}

#[tokio::test]
async fn r24_wrong_credentials_are_flagged_in_both_tabs() {
    let mut h = harness_with(Theme::colored(), 220, 40)
        .await
        .with_demo()
        .await;
    h.press(KeyCode::Enter).await;
    mark_wrong_credentials(&mut h.app);
    let screen = h.screen();
    let own = h.app.selected_connection().unwrap().username.clone();
    assert!(
        screen.contains("⚠ Wrong credentials (last 7 days)"),
        "{screen}"
    );
    let text: String = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("Used with username odoo_staging_0001 — 3 times, last"),
        "{text}"
    );
    assert!(text.contains(&format!("this connection's own username is {own}")));
    let row = screen.lines().find(|l| l.contains("▶")).unwrap();
    assert!(row.contains("▶⚠ "), "{row}");
    h.press(KeyCode::Char('1')).await;
    let screen = h.screen();
    let row = screen.lines().find(|l| l.contains("▶  ")).unwrap();
    assert!(row.contains('⚠'), "{row}");
    assert!(screen.contains("⚠ Warning"), "{screen}");
}

/// A token request as an application sends it (R21), to a real server.
async fn password_grant(
    url: &str,
    client_id: &str,
    secret: &str,
    username: &str,
    password: &str,
) -> u16 {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    reqwest::Client::new()
        .post(format!("{url}/api/oauth/v1/token"))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({"grant_type": "password", "username": username, "password": password})
                .to_string(),
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn r6_r24_over_a_server_the_card_counts_live_tokens_warns_and_a_new_secret_revokes_them() {
    use std::sync::Arc;
    use switchboard::model::NewConnection;
    use switchboard::server::serve;
    use switchboard::service::Service;
    use switchboard::store::{Store, sqlite_paths};
    const PASSWORD: &str = "correct horse battery";
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sqlite_paths(dir.path());
    let svc = Arc::new(Service::new(Store::open_sqlite(&db, &key).await.unwrap()));
    svc.prepare_owner(Some("alice"), Some(PASSWORD.to_string().into()))
        .await
        .unwrap();
    let running = serve::start(svc, "127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let url = format!("http://{}", running.addr());
    let client = Client::http(&url, None, None, Source::Tui).unwrap();
    client.login("alice", PASSWORD).await.unwrap();
    let create = |label: &str| NewConnection {
        label: label.into(),
        ..Default::default()
    };
    let a = client.create_connection(&create("Shop A")).await.unwrap();
    let b = client.create_connection(&create("Shop B")).await.unwrap();
    let (ca, cb) = (&a.connection, &b.connection);
    // A's application gets a token; someone uses A's client with B's user.
    let granted = password_grant(&url, &ca.client_id, &a.secret, &ca.username, &a.password).await;
    assert_eq!(granted, 200);
    let refused = password_grant(&url, &ca.client_id, &a.secret, &cb.username, &b.password).await;
    assert_eq!(refused, 400);

    let mut app = App::headless(client, Theme::colored());
    let start = app.start();
    tui::settle(&mut app, start).await;
    let mut h = Harness {
        app,
        terminal: Terminal::new(TestBackend::new(140, 36)).unwrap(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let list = h.screen();
    let row = list.lines().find(|l| l.contains("▶  SA")).unwrap();
    assert!(row.contains('⚠'), "flagged in the list: {row}");
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(
        screen.contains("1 access / 1 refresh tokens live"),
        "{screen}"
    );
    assert!(screen.contains(&format!("{url}/api/oauth/v1/token")));
    assert!(!screen.contains("listens by default"), "a server's own URL");
    assert!(screen.contains("⚠ Wrong credentials (last 7 days)"));
    assert!(
        screen.contains(&format!(
            "Used with username {} — 1 time, last",
            cb.username
        )),
        "{screen}"
    );
    h.press(KeyCode::Char('s')).await;
    assert!(
        modal_text(&h.screen()).contains("1 access and 1 refresh tokens are live now."),
        "the confirmation says what breaks"
    );
    h.press(KeyCode::Char('y')).await;
    assert_eq!(
        h.status(),
        "New secret for Shop A; 2 tokens revoked; the client id stays"
    );
    assert!(modal_text(&h.screen()).contains("2 tokens revoked; applications need the new secret"));
    h.press(KeyCode::Esc).await;
    assert!(h.screen().contains("0 access / 0 refresh tokens live"));
    // The old secret no longer gets a token (R6).
    let again = password_grant(&url, &ca.client_id, &a.secret, &ca.username, &a.password).await;
    assert_eq!(again, 401);
    drop(running);
}

// ---------------------------------------------------------------------------
// The Register tab (SPEC §6, R12–R17) and the Connections tab's
// registrations and used-by (R16)
// ---------------------------------------------------------------------------

/// Connections, integrations and a flow made through the client, then
/// reloaded: "Orders" (erp_one and shop_one registered by its flow),
/// "Finance" (erp_one), and "Shop App" (an app).
async fn register_workspace(width: u16, height: u16) -> Harness {
    use switchboard::model::{
        FlowInput, FlowStep, IntegrationKind, NewConnection, NewIntegration, StepKind,
    };
    let mut h = harness_with(Theme::colored(), width, height).await;
    let client = h.app.client.clone();
    for label in [
        "ERP One",
        "Shop One",
        "DAM Assets",
        "Supplier Portal",
        "Translation Hub",
        "Print Catalog",
    ] {
        client
            .create_connection(&NewConnection {
                label: label.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    for (name, kind) in [
        ("Orders", IntegrationKind::Standard),
        ("Finance", IntegrationKind::Standard),
        ("Shop App", IntegrationKind::App),
    ] {
        client
            .create_integration(&NewIntegration {
                name: name.into(),
                code: None,
                kind,
            })
            .await
            .unwrap();
    }
    let step = |kind, connection: &str| FlowStep {
        kind,
        connection: connection.into(),
    };
    client
        .save_flow(
            "order_sync",
            &FlowInput {
                name: "Order sync".into(),
                integration: Some("orders".into()),
                steps: vec![
                    step(StepKind::Export, "erp_one"),
                    step(StepKind::Import, "shop_one"),
                ],
                version: None,
            },
        )
        .await
        .unwrap();
    client
        .register("finance", &["erp_one".to_string()])
        .await
        .unwrap();
    tui::feed(
        &mut h.app,
        Event::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    )
    .await;
    h
}

/// The Register tab with "Orders" selected and the connections focused.
async fn on_register_tab(width: u16, height: u16) -> Harness {
    let mut h = register_workspace(width, height).await;
    h.press(KeyCode::Char('2')).await;
    assert_eq!(h.app.tab, Tab::Register);
    let orders = h
        .app
        .data
        .integrations
        .iter()
        .position(|i| i.code == "orders")
        .unwrap();
    h.press(KeyCode::Char('h')).await;
    for _ in 0..orders {
        h.press(KeyCode::Char('j')).await;
    }
    h.press(KeyCode::Char('l')).await;
    assert_eq!(h.app.selected_integration().unwrap().code, "orders");
    h
}

fn registered_with(h: &Harness, integration: &str) -> Vec<String> {
    h.app
        .data
        .integrations
        .iter()
        .find(|i| i.code == integration)
        .unwrap()
        .registered
        .clone()
}

#[tokio::test]
async fn the_tab_bar_shows_five_tabs_and_tab_cycles_through_them() {
    let mut h = register_workspace(120, 32).await;
    assert!(
        h.screen()
            .contains(" 1 Connections   2 Register   3 Credentials   4 Permissions   5 Monitor ")
    );
    for tab in [
        Tab::Register,
        Tab::Credentials,
        Tab::Permissions,
        Tab::Monitor,
        Tab::Connections,
    ] {
        h.press(KeyCode::Tab).await;
        assert_eq!(h.app.tab, tab);
    }
    tui::feed(
        &mut h.app,
        Event::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    )
    .await;
    assert_eq!(h.app.tab, Tab::Monitor);
    tui::feed(
        &mut h.app,
        Event::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
    )
    .await;
    assert_eq!(h.app.tab, Tab::Permissions);
    h.press(KeyCode::Char('2')).await;
    assert_eq!(h.app.tab, Tab::Register);
}

#[tokio::test]
async fn snapshot_register_tab_with_pending_changes() {
    let mut h = on_register_tab(120, 32).await;
    h.press(KeyCode::Char('g')).await;
    // DAM Assets: register; ERP One: deregister; Print Catalog: register.
    let order: Vec<String> = h
        .app
        .list
        .filter
        .visible()
        .iter()
        .map(|&i| h.app.data.connections[i].code.clone())
        .collect();
    assert_eq!(order[0], "dam_assets", "{order:?}");
    h.press(KeyCode::Char(' ')).await; // dam_assets → [+]
    h.press(KeyCode::Char(' ')).await; // erp_one → [-]
    h.press(KeyCode::Char(' ')).await; // print_catalog → [+]
    let screen = h.screen();
    assert!(
        screen.contains("3 pending: 2 to register, 1 to deregister"),
        "{screen}"
    );
    assert!(screen.contains("[+] DAM Assets"), "{screen}");
    assert!(screen.contains("[-] ERP One"), "{screen}");
    assert!(screen.contains("[x] Shop One"), "{screen}");
    assert!(screen.contains("[ ] Supplier Portal"), "{screen}");
    assert!(screen.contains("export erp_one → import shop_one"));
    assert!(screen.contains("Orders orders"), "{screen}");
    assert!(
        screen.contains("+2 -1 2"),
        "pending beside the count: {screen}"
    );
    assert!(screen.contains("Shop App"), "{screen}");
    // The colour and the symbol both say what is pending.
    let buf = h.terminal.backend().buffer().clone();
    let y = screen.lines().position(|l| l.contains("[+] DAM")).unwrap() as u16;
    let x = screen
        .lines()
        .nth(y as usize)
        .unwrap()
        .chars()
        .position(|c| c == '+')
        .unwrap() as u16;
    assert_eq!(buf[(x, y)].fg, Color::Green);
    // The highlighted row (Shop One, after three moves down) shows its use.
    assert_eq!(h.selected_code(), "shop_one");
    assert!(
        screen.contains("used by: order_sync step 2 (import, orders)"),
        "{screen}"
    );
    assert!(screen.contains("Registered with: Orders"), "{screen}");
    snap!("register_pending", screen);
    // Nothing reached the backend yet.
    assert_eq!(
        h.app
            .client
            .get_integration("orders")
            .await
            .unwrap()
            .registered,
        vec!["erp_one", "shop_one"]
    );
}

#[tokio::test]
async fn snapshot_register_tab_filtered_and_a_toggles_the_shown_rows() {
    let mut h = on_register_tab(120, 32).await;
    h.press(KeyCode::Char('/')).await;
    h.type_str("po").await;
    h.press(KeyCode::Enter).await;
    let shown: Vec<String> = h
        .app
        .list
        .filter
        .visible()
        .iter()
        .map(|&i| h.app.data.connections[i].code.clone())
        .collect();
    assert!(shown.contains(&"supplier_portal".to_string()), "{shown:?}");
    assert!(shown.len() < 6);
    h.press(KeyCode::Char('a')).await;
    let (add, remove) = h.app.register.pending_counts("orders");
    let unregistered = shown
        .iter()
        .filter(|c| !["erp_one", "shop_one"].contains(&c.as_str()))
        .count();
    assert_eq!((add, remove), (unregistered, 0));
    let screen = h.screen();
    assert!(screen.contains("/ po"), "{screen}");
    assert!(screen.contains("match"), "{screen}");
    snap!("register_filter", screen);
    // All shown are checked now: a second `a` unchecks them all.
    h.press(KeyCode::Char('a')).await;
    let registered_shown = shown
        .iter()
        .filter(|c| ["erp_one", "shop_one"].contains(&c.as_str()))
        .count();
    assert_eq!(
        h.app.register.pending_counts("orders"),
        (0, registered_shown)
    );
    // Rows hidden by the filter were not touched.
    h.press(KeyCode::Esc).await;
    assert!(!h.app.list.filter.is_active());
}

#[tokio::test]
async fn r12_space_a_enter_y_apply_everything_in_one_request() {
    let mut h = on_register_tab(120, 32).await;
    h.press(KeyCode::Char('g')).await;
    h.press(KeyCode::Char(' ')).await; // dam_assets +
    h.press(KeyCode::Char(' ')).await; // erp_one -
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    let modal = modal_text(&screen);
    assert!(
        modal.contains("Apply 2 changes to Orders (orders): 1 to register, 1 to deregister?"),
        "{modal}"
    );
    assert!(modal.contains("+ DAM Assets  dam_assets"), "{modal}");
    assert!(modal.contains("- ERP One  erp_one"), "{modal}");
    assert!(
        modal.contains("Every user of Orders gets access"),
        "{modal}"
    );
    assert!(
        modal.contains("stay in the flow steps that already use them"),
        "{modal}"
    );
    snap!("register_confirm", screen);
    // y: exactly one request, with both lists.
    let commands = h.app.update(Msg::Input(key(KeyCode::Char('y'))));
    assert_eq!(
        commands,
        vec![Command::ApplyRegistrations {
            integration: "orders".into(),
            register: vec!["dam_assets".into()],
            deregister: vec!["erp_one".into()],
        }]
    );
    tui::settle(&mut h.app, commands).await;
    assert_eq!(
        h.app
            .client
            .get_integration("orders")
            .await
            .unwrap()
            .registered,
        vec!["dam_assets", "shop_one"]
    );
    assert_eq!(
        registered_with(&h, "orders"),
        vec!["dam_assets", "shop_one"]
    );
    assert!(
        h.status()
            .starts_with("Registered 1, deregistered 1 with Orders"),
        "{}",
        h.status()
    );
    assert!(h.app.register.pending.is_empty());
    assert_eq!(h.app.in_flight, 0);
    // R15: the flow keeps its step on the deregistered connection.
    let flow = h.app.client.get_flow("order_sync").await.unwrap();
    assert_eq!(flow.steps[0].connection, "erp_one");
    assert!(h.screen().contains("[ ] ERP One"));
}

#[tokio::test]
async fn esc_on_the_confirmation_keeps_the_pending_changes() {
    let mut h = on_register_tab(120, 32).await;
    h.press(KeyCode::Char('g')).await;
    h.press(KeyCode::Char(' ')).await;
    h.press(KeyCode::Enter).await;
    assert!(matches!(h.app.modals.last(), Some(Modal::Confirm(_))));
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty());
    assert_eq!(h.app.register.pending_counts("orders"), (1, 0));
    assert!(h.status().contains("Nothing applied"), "{}", h.status());
    assert_eq!(registered_with(&h, "orders"), vec!["erp_one", "shop_one"]);
    // Another integration keeps its own pending changes; coming back finds
    // these again.
    h.press(KeyCode::Char('h')).await;
    h.press(KeyCode::Char('k')).await;
    assert_ne!(h.app.selected_integration().unwrap().code, "orders");
    assert!(!h.screen().contains("1 pending: 1 to register"));
    h.press(KeyCode::Char('j')).await;
    assert!(
        h.screen()
            .contains("1 pending: 1 to register, 0 to deregister")
    );
    // q asks before they are lost; n stays.
    h.press(KeyCode::Char('q')).await;
    assert!(!h.app.quit);
    let modal = modal_text(&h.screen());
    assert!(
        modal.contains("Quit and lose 1 pending registration change for 1 integration?"),
        "{modal}"
    );
    h.press(KeyCode::Char('n')).await;
    assert!(!h.app.quit);
    assert_eq!(h.app.register.pending_counts("orders"), (1, 0));
    // x discards them, and says so.
    h.press(KeyCode::Char('x')).await;
    assert!(h.app.register.pending.is_empty());
    assert!(h.status().contains("Discarded 1 pending change for Orders"));
    h.press(KeyCode::Char('q')).await;
    assert!(h.app.quit, "nothing pending: q quits at once");
}

#[tokio::test]
async fn snapshot_r17_an_app_integration_refuses_toggles_with_the_reason() {
    let mut h = on_register_tab(120, 32).await;
    h.press(KeyCode::Char('h')).await;
    let app_pos = h
        .app
        .data
        .integrations
        .iter()
        .position(|i| i.code == "shop_app")
        .unwrap();
    h.press(KeyCode::Char('g')).await;
    for _ in 0..app_pos {
        h.press(KeyCode::Char('j')).await;
    }
    h.press(KeyCode::Char('l')).await;
    h.press(KeyCode::Char(' ')).await;
    assert!(h.app.register.pending.is_empty());
    let reason = "integration apps own their connections; registration does not apply (R17)";
    assert_eq!(h.status(), format!("Shop App is an app: {reason}"));
    h.press(KeyCode::Char('a')).await;
    h.press(KeyCode::Enter).await;
    assert!(h.app.modals.is_empty());
    assert!(h.app.register.pending.is_empty());
    let screen = h.screen();
    assert!(screen.contains(reason), "{screen}");
    snap!("register_app", screen);
}

#[tokio::test]
async fn a_refused_apply_keeps_the_pending_changes_and_leaves_no_spinner() {
    use switchboard::client::ClientError;
    use switchboard::model::ApiError;
    let mut h = on_register_tab(120, 32).await;
    h.press(KeyCode::Char('g')).await;
    h.press(KeyCode::Char(' ')).await;
    h.press(KeyCode::Enter).await;
    let commands = h.app.update(Msg::Input(key(KeyCode::Char('y'))));
    assert_eq!(commands.len(), 1);
    assert_eq!(h.app.in_flight, 1);
    let after = h.app.update(Msg::RegistrationsApplied(
        "orders".into(),
        Err(ClientError::Api {
            status: 403,
            error: ApiError {
                code: "forbidden".into(),
                message: "monitor access is read-only: ask for manage access to Orders".into(),
                field: None,
            },
        }),
    ));
    assert!(after.is_empty());
    assert_eq!(h.app.in_flight, 0, "no spinner left");
    assert_eq!(h.app.register.pending_counts("orders"), (1, 0));
    assert_eq!(
        h.status(),
        "Could not apply the changes to Orders: monitor access is read-only: ask for manage access to Orders; still 1 pending: 1 to register, 0 to deregister"
    );
    // The network fails: the same, and a retry is scheduled.
    h.press(KeyCode::Enter).await;
    h.app.update(Msg::Input(key(KeyCode::Char('y'))));
    let after = h.app.update(Msg::RegistrationsApplied(
        "orders".into(),
        Err(ClientError::Transport("connection refused".into())),
    ));
    assert!(matches!(after.as_slice(), [Command::RetryAfter(_)]));
    assert_eq!(h.app.register.pending_counts("orders"), (1, 0));
    assert!(h.screen().contains("Could not apply the changes to Orders"));
}

#[tokio::test]
async fn snapshot_r16_connections_detail_shows_registrations_and_used_by() {
    let mut h = register_workspace(140, 40).await;
    let erp = h
        .app
        .list
        .filter
        .visible()
        .iter()
        .position(|&i| h.app.data.connections[i].code == "erp_one")
        .unwrap();
    for _ in 0..erp {
        h.press(KeyCode::Char('j')).await;
    }
    let screen = h.screen();
    assert!(screen.contains("Regs Used"), "{screen}");
    assert!(
        screen.contains("Registered with: Finance, Orders"),
        "{screen}"
    );
    assert!(
        screen.contains("order_sync step 1 (export, orders)"),
        "{screen}"
    );
    let row = screen.lines().find(|l| l.contains("▶")).unwrap();
    assert!(row.contains("erp_one"), "{row}");
    snap!("connections_usage", screen);
    h.press(KeyCode::Char('g')).await;
    assert!(h.screen().contains("not used by any flow"));
}

#[tokio::test]
async fn render_never_panics_on_the_register_tab() {
    let mut h = on_register_tab(120, 32).await;
    let states: Vec<Vec<KeyCode>> = vec![
        vec![],
        vec![KeyCode::Char(' '), KeyCode::Char(' ')],
        vec![KeyCode::Char('/'), KeyCode::Char('o')],
        vec![KeyCode::Enter, KeyCode::Char('a')],
        vec![KeyCode::Enter],
        vec![KeyCode::Esc, KeyCode::Char('h'), KeyCode::Char('G')],
        vec![KeyCode::Char('?')],
    ];
    for keys in states {
        for k in keys {
            h.press(k).await;
        }
        let app = std::cell::RefCell::new(&mut h.app);
        for w in (1..=220).step_by(7) {
            for hgt in (1..=70).step_by(5) {
                let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
                tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
            }
        }
        for (w, hgt) in [(1, 1), (49, 11), (50, 12), (2, 80), (300, 3), (50, 13)] {
            let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
            tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
        }
    }
    // An empty store: the tab explains what an integration is.
    let mut empty = harness().await;
    empty.press(KeyCode::Char('2')).await;
    assert!(empty.screen().contains("No integrations yet"));
}

#[tokio::test]
async fn in_the_register_tab_the_mouse_picks_integrations_and_connections() {
    let mut h = on_register_tab(120, 32).await;
    h.screen();
    let integrations = h.app.screen.integration_rows;
    let at = |kind, column, row| {
        Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    // A click on the first integration selects it and focuses its pane.
    tui::feed(
        &mut h.app,
        at(
            MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left),
            integrations.x + 2,
            integrations.y,
        ),
    )
    .await;
    assert_eq!(h.app.register.selected, 0);
    assert_eq!(
        h.app.register.focus,
        switchboard::tui::tabs::register::RegFocus::Integrations
    );
    // The wheel over the integrations moves them, not the connections.
    let before = h.app.list.selected;
    tui::feed(
        &mut h.app,
        at(
            MouseEventKind::ScrollDown,
            integrations.x + 2,
            integrations.y,
        ),
    )
    .await;
    assert_eq!(h.app.register.selected, 1);
    assert_eq!(h.app.list.selected, before);
    // A click on a connection row focuses the connections.
    h.screen();
    let rows = h.app.screen.list_rows;
    tui::feed(
        &mut h.app,
        at(
            MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left),
            rows.x + 4,
            rows.y + 2,
        ),
    )
    .await;
    assert_eq!(h.app.list.selected, 2);
    assert_eq!(
        h.app.register.focus,
        switchboard::tui::tabs::register::RegFocus::Connections
    );
}

// ---------------------------------------------------------------------------
// Replace (R16a), stale (R16b), delete in use (R8), who may act (R19, R20)
// ---------------------------------------------------------------------------

/// Moves the selection to the connection `code` (by the arrow keys).
async fn select(h: &mut Harness, code: &str) {
    let at = h
        .app
        .list
        .filter
        .visible()
        .iter()
        .position(|&i| h.app.data.connections[i].code == code)
        .unwrap_or_else(|| panic!("{code} is not shown"));
    h.press(KeyCode::Char('g')).await;
    for _ in 0..at {
        h.press(KeyCode::Char('j')).await;
    }
    assert_eq!(h.selected_code(), code);
}

fn footer_cells_of(h: &Harness, text: &str) -> Vec<ratatui::buffer::Cell> {
    let buf = h.terminal.backend().buffer();
    let y = buf.area.height - 1;
    let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
    let start = line
        .find(text)
        .unwrap_or_else(|| panic!("{text:?} not in the footer: {line}"));
    let col = line[..start].chars().count() as u16;
    (col..col + text.chars().count() as u16)
        .map(|x| buf[(x, y)].clone())
        .collect()
}

#[tokio::test]
async fn snapshot_r16a_replace_picker_everywhere_one_flow_and_its_confirmation() {
    // 108 columns: the detail pane goes below the table, so the picker
    // covers its client id whole (the snapshot filters whole ones only).
    let mut h = harness_with(Theme::colored(), 108, 40)
        .await
        .with_demo()
        .await;
    select(&mut h, "sap_s_4hana_production").await;
    h.press(KeyCode::Char('r')).await;
    assert!(matches!(h.app.modals.last(), Some(Modal::Replace(_))));
    h.type_str("erp sap").await;
    let screen = h.screen();
    assert!(
        screen.contains("Replace SAP S/4HANA Production (sap_s_4hana_production)"),
        "{screen}"
    );
    assert!(screen.contains("Used by 3 steps in 3 flows"), "{screen}");
    assert!(screen.contains("[everywhere]"), "{screen}");
    assert!(screen.contains("▶ ERP (SAP)"), "{screen}");
    snap!("replace_picker_everywhere", screen);

    // Tab: one flow; → picks the next flow that uses it.
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Right).await;
    let screen = h.screen();
    assert!(screen.contains("[one flow]"), "{screen}");
    assert!(screen.contains("2 of 3"), "{screen}");
    snap!("replace_picker_one_flow", screen);

    // Enter: the confirmation names the step and the registration (R14).
    h.press(KeyCode::Enter).await;
    let text = modal_text(&h.screen());
    assert!(
        text.contains("Replace SAP S/4HANA Production (sap_s_4hana_production) by ERP (SAP)"),
        "{text}"
    );
    assert!(text.contains("Steps that change (1 step)"), "{text}");
    assert!(text.contains("gets registered with"), "{text}");
    snap!("replace_confirm", h.screen());

    // Esc backs out one stage at a time; nothing was sent.
    h.press(KeyCode::Esc).await;
    assert!(matches!(h.app.modals.last(), Some(Modal::Replace(_))));
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty());
    let used = h
        .app
        .client
        .used_by("sap_s_4hana_production")
        .await
        .unwrap();
    assert_eq!(used.len(), 3, "nothing replaced");
}

#[tokio::test]
async fn r16a_r8_delete_in_use_shows_the_used_by_then_replace_everywhere_then_delete_succeeds() {
    let mut h = harness_with(Theme::colored(), 120, 40)
        .await
        .with_demo()
        .await;
    select(&mut h, "sap_s_4hana_production").await;
    // d on a connection in use: what uses it, no confirmation to delete.
    h.press(KeyCode::Char('d')).await;
    let screen = h.screen();
    let text = modal_text(&screen);
    assert!(
        text.contains("cannot be deleted: it is in use by 3 steps in 3 flows (R8)"),
        "{text}"
    );
    assert!(
        text.contains("ERP to Shopify (erp_to_shopify) step 1, export"),
        "{text}"
    );
    assert!(text.contains("(r), then delete it"), "{text}");
    snap!("delete_in_use", screen);
    // y opens the picker for it.
    h.press(KeyCode::Char('y')).await;
    assert!(matches!(h.app.modals.last(), Some(Modal::Replace(_))));
    h.type_str("erp sap").await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Char('y')).await;
    assert!(h.app.modals.is_empty());
    let status = h.status();
    assert!(
        status.starts_with("Replaced SAP S/4HANA Production by ERP (SAP)"),
        "{status}"
    );
    assert!(status.contains("in 3 steps of 3 flows"), "{status}");
    assert!(
        status.contains("with Product Syndication and Translations (R14)"),
        "{status}"
    );
    assert_eq!(h.selected_code(), "sap_s_4hana_production", "kept selected");
    assert_eq!(h.app.data.usage.counts("sap_s_4hana_production").1, 0);
    let client = h.app.client.clone();
    assert_eq!(client.used_by("erp_sap_prod").await.unwrap().len(), 4);
    // Now d asks to delete, and y deletes it.
    h.press(KeyCode::Char('d')).await;
    assert!(modal_text(&h.screen()).contains("Delete SAP S/4HANA Production"));
    h.press(KeyCode::Char('y')).await;
    assert!(h.status().starts_with("Deleted sap_s_4hana_production"));
    assert!(
        !h.app
            .data
            .connections
            .iter()
            .any(|c| c.code == "sap_s_4hana_production")
    );
}

#[tokio::test]
async fn r16a_replace_in_one_step_changes_only_that_step() {
    let mut h = harness().await.with_demo().await;
    select(&mut h, "sap_s_4hana_production").await;
    h.press(KeyCode::Char('r')).await;
    // Two Tabs: one step; the first step in the list is erp_to_magento_eu's.
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    h.type_str("erp sap").await;
    h.press(KeyCode::Enter).await;
    let text = modal_text(&h.screen());
    assert!(text.contains("in one step: step 1 of flow"), "{text}");
    h.press(KeyCode::Enter).await;
    assert!(h.status().contains("in 1 step of 1 flow"), "{}", h.status());
    let client = h.app.client.clone();
    assert_eq!(
        client
            .used_by("sap_s_4hana_production")
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn r16a_r_on_a_connection_no_flow_uses_says_so() {
    let mut h = harness().await.with_demo().await;
    assert_eq!(h.selected_code(), "1worldsync_gdsn_feed");
    h.press(KeyCode::Char('r')).await;
    assert!(h.app.modals.is_empty(), "no picker");
    assert!(
        h.status()
            .starts_with("1WorldSync GDSN Feed is not used by any flow: nothing to replace"),
        "{}",
        h.status()
    );
    // The footer dims r for this row.
    h.screen();
    let cells = footer_cells_of(&h, "r replace");
    assert!(
        cells
            .iter()
            .all(|c| c.modifier.contains(Modifier::CROSSED_OUT))
    );
    let cells = footer_cells_of(&h, "e edit");
    assert!(
        !cells[0].modifier.contains(Modifier::CROSSED_OUT),
        "the owner may edit"
    );
}

/// The demo workspace in a store whose clock the test moves, the app
/// acting as its owner.
async fn clocked_demo(
    width: u16,
    height: u16,
) -> (Harness, std::sync::Arc<switchboard::store::TestClock>) {
    use std::sync::Arc;
    use switchboard::client::InProcess;
    use switchboard::model::UserKind;
    use switchboard::service::{Actor, Service};
    use switchboard::store::{Store, TestClock, sqlite_paths};
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = sqlite_paths(dir.path());
    let clock = Arc::new(TestClock::default());
    let store = Store::open_sqlite(&db, &key)
        .await
        .unwrap()
        .with_clock(clock.clone());
    store.ensure_owner("alice").await.unwrap();
    let service = Arc::new(Service::new(store));
    let transport = InProcess::new(
        service,
        Actor {
            username: "alice".into(),
            kind: UserKind::Owner,
        },
    );
    let client = Client::new(Arc::new(transport), Source::Tui);
    client.load_demo().await.unwrap();
    let mut app = App::headless(client, Theme::colored());
    let start = app.start();
    tui::settle(&mut app, start).await;
    let h = Harness {
        app,
        terminal: Terminal::new(TestBackend::new(width, height)).unwrap(),
        _dir: dir,
    };
    (h, clock)
}

async fn reload(h: &mut Harness) {
    tui::feed(
        &mut h.app,
        Event::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    )
    .await;
}

#[tokio::test]
async fn snapshot_r16b_stale_only_filter_counts_and_combines_with_the_fuzzy_filter() {
    let (mut h, clock) = clocked_demo(140, 40).await;
    // The demo's past: three long idle connections no step uses.
    assert!(h.screen().contains("Connections · 36 · 3 stale "));
    h.press(KeyCode::Char('S')).await;
    let mut shown: Vec<String> = h
        .app
        .list
        .filter
        .visible()
        .iter()
        .map(|&i| h.app.data.connections[i].code.clone())
        .collect();
    shown.sort();
    assert_eq!(
        shown,
        [
            "odoo_staging",
            "partner_sftp_drop_csv",
            "print_catalog_2025_indesign"
        ]
    );
    h.press(KeyCode::Char('S')).await;
    // 31 days on: the 24 connections no flow step uses are stale.
    clock.advance(chrono::Duration::days(31));
    reload(&mut h).await;
    let expected = h.app.client.list_stale_connections().await.unwrap();
    assert_eq!(expected.len(), 24);
    assert!(h.screen().contains("Connections · 36 · 24 stale "));
    h.press(KeyCode::Char('S')).await;
    assert_eq!(h.app.list.filter.visible().len(), 24);
    assert!(
        h.app
            .list
            .filter
            .visible()
            .iter()
            .all(|&i| h.app.data.connections[i].stale)
    );
    let screen = h.screen();
    assert!(
        screen.contains("Connections · stale only: 24 of 36 "),
        "{screen}"
    );
    assert!(
        screen.contains("! Stale      no step uses it and no Web API activity"),
        "{screen}"
    );
    // With the fuzzy filter: stale ones that match.
    h.press(KeyCode::Char('/')).await;
    h.type_str("sales").await;
    h.press(KeyCode::Enter).await;
    let shown: Vec<String> = h
        .app
        .list
        .filter
        .visible()
        .iter()
        .map(|&i| h.app.data.connections[i].code.clone())
        .collect();
    assert!(!shown.is_empty());
    assert!(
        !shown.iter().any(|c| c == "shopify_plus_us"),
        "used by a flow: not stale"
    );
    assert!(
        shown.iter().all(|c| c.starts_with("salesforce_")),
        "{shown:?}"
    );
    let screen = h.screen();
    assert!(
        screen.contains(&format!(
            "Connections · stale only: {} of 36 match ",
            shown.len()
        )),
        "{screen}"
    );
    snap!("stale_filter", screen);
    // Esc clears the query first, then the stale filter.
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.list.filter.visible().len(), 24);
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.list.filter.visible().len(), 36);
}

/// Counts the requests a client sends.
struct Counting {
    inner: switchboard::client::InProcess,
    sent: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl switchboard::client::Transport for Counting {
    fn send(
        &self,
        request: switchboard::client::ApiRequest,
    ) -> futures::future::BoxFuture<
        '_,
        Result<switchboard::client::ApiResponse, switchboard::client::ClientError>,
    > {
        self.sent
            .lock()
            .unwrap()
            .push(format!("{} {}", request.method, request.path));
        self.inner.send(request)
    }

    fn backend(&self) -> String {
        self.inner.backend()
    }
}

/// The demo workspace seen by member `tom` (manages Translations, monitors
/// Marketing Assets), with the requests his app sends.
async fn as_tom(
    width: u16,
    height: u16,
) -> (Harness, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    as_tom_on(harness().await.with_demo().await, width, height).await
}

/// Member `tom` on the store of `owner`'s harness.
async fn as_tom_on(
    owner: Harness,
    width: u16,
    height: u16,
) -> (Harness, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let dir = owner._dir;
    let inner = switchboard::client::InProcess::open_with(
        dir.path(),
        "alice",
        Some("tom"),
        std::sync::Arc::new(switchboard::store::TestClock::default()),
    )
    .await
    .unwrap();
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let transport = Counting {
        inner,
        sent: sent.clone(),
    };
    let client = Client::new(std::sync::Arc::new(transport), Source::Tui);
    let mut app = App::headless(client, Theme::colored());
    let start = app.start();
    tui::settle(&mut app, start).await;
    let h = Harness {
        app,
        terminal: Terminal::new(TestBackend::new(width, height)).unwrap(),
        _dir: dir,
    };
    (h, sent)
}

#[tokio::test]
async fn snapshot_r20_a_member_pressing_e_on_a_connection_they_only_monitor_gets_the_reason_and_no_request()
 {
    let (mut h, sent) = as_tom(120, 32).await;
    assert!(h.screen().contains("tom (member)"));
    select(&mut h, "bynder_brand_portal").await;
    let before = sent.lock().unwrap().len();
    let commands = h.app.update(Msg::Input(key(KeyCode::Char('e'))));
    assert!(commands.is_empty(), "{commands:?}");
    assert!(h.app.modals.is_empty(), "no form");
    assert_eq!(
        h.status(),
        "You can't edit Bynder Brand Portal: you only monitor Marketing Assets, where it is registered (R20)"
    );
    let screen = h.screen();
    assert!(
        screen.contains("Your access  monitor only, through Marketing"),
        "{screen}"
    );
    snap!("member_refused_edit", screen);
    // The footer dims what does not apply: e, d, r.
    for hint in ["e edit", "d delete", "r replace"] {
        assert!(
            footer_cells_of(&h, hint)
                .iter()
                .all(|c| c.modifier.contains(Modifier::CROSSED_OUT)),
            "{hint} is dimmed"
        );
    }
    // d and r are refused too, and the Credentials tab's secret keys.
    h.press(KeyCode::Char('d')).await;
    assert!(
        h.status()
            .contains("only the owner or an admin may delete connections (R20)"),
        "{}",
        h.status()
    );
    h.press(KeyCode::Char('3')).await;
    h.press(KeyCode::Char('l')).await;
    let before_keys = sent.lock().unwrap().len();
    for k in ['v', 's', 'p', 'y'] {
        h.press(KeyCode::Char(k)).await;
        assert!(h.app.modals.is_empty(), "{k}: nothing opens");
        assert!(
            h.status().starts_with("You can't") && h.status().ends_with("(R20)"),
            "{k}: {}",
            h.status()
        );
    }
    assert_eq!(sent.lock().unwrap().len(), before_keys, "no request sent");
    let requests = sent.lock().unwrap()[before..].to_vec();
    assert!(
        requests.iter().all(|r| r.starts_with("GET ")),
        "only reads (the tab's card): {requests:?}"
    );
    // On a connection of an integration he manages, e opens the form.
    h.press(KeyCode::Char('1')).await;
    select(&mut h, "smartling_translations").await;
    h.press(KeyCode::Char('e')).await;
    assert!(matches!(h.app.modals.last(), Some(Modal::Form(_))));
}

#[tokio::test]
async fn r19_r13_a_member_registers_and_creates_only_where_they_manage() {
    let (mut h, sent) = as_tom(120, 32).await;
    // Register tab: Marketing Assets (monitor) is read-only.
    h.press(KeyCode::Char('2')).await;
    let marketing = h
        .app
        .data
        .integrations
        .iter()
        .position(|i| i.code == "marketing_assets")
        .unwrap();
    h.press(KeyCode::Char('h')).await;
    h.press(KeyCode::Char('g')).await;
    for _ in 0..marketing {
        h.press(KeyCode::Char('j')).await;
    }
    h.press(KeyCode::Char('l')).await;
    let before = sent.lock().unwrap().len();
    for k in [' ', 'a'] {
        h.press(KeyCode::Char(k)).await;
        assert_eq!(
            h.status(),
            "You monitor Marketing Assets: only managers may register or deregister (R19)"
        );
    }
    h.press(KeyCode::Enter).await;
    assert!(h.app.modals.is_empty());
    assert!(h.app.register.pending.is_empty());
    assert_eq!(sent.lock().unwrap().len(), before);
    assert!(h.screen().contains("✗ You monitor Marketing Assets"));
    // n: the form offers only Translations, the one he manages (R13).
    h.press(KeyCode::Char('1')).await;
    h.press(KeyCode::Char('n')).await;
    let screen = h.screen();
    assert!(
        screen.contains("Integration ◀ Translations (translations) ▶"),
        "{screen}"
    );
    h.type_str("Phrase TMS").await;
    h.press(KeyCode::Enter).await;
    assert!(
        matches!(h.app.modals.last(), Some(Modal::ShownOnce(_))),
        "{}",
        h.status()
    );
    h.press(KeyCode::Esc).await;
    let translations = h
        .app
        .data
        .integrations
        .iter()
        .find(|i| i.code == "translations")
        .unwrap();
    assert!(translations.registered.contains(&"phrase_tms".to_string()));
    // r on a connection used in flows he does not manage too: the picker
    // opens on one flow, the one he manages; everywhere is not his.
    select(&mut h, "sap_s_4hana_production").await;
    h.press(KeyCode::Char('r')).await;
    let Some(Modal::Replace(picker)) = h.app.modals.last() else {
        panic!("the picker opens: {}", h.status());
    };
    assert_eq!(
        picker.scope,
        switchboard::tui::dialogs::replace::Scope::Flow
    );
    assert_eq!(picker.flows().len(), 1);
    assert_eq!(picker.flows()[0].flow, "translate_descriptions");
}

#[tokio::test]
async fn a_member_who_manages_nothing_is_told_why_n_opens_no_form() {
    let owner = harness().await.with_demo().await;
    let client = embedded(owner._dir.path(), Some("max")).await;
    let mut app = App::headless(client, Theme::colored());
    let start = app.start();
    tui::settle(&mut app, start).await;
    let commands = app.update(Msg::Input(key(KeyCode::Char('n'))));
    assert!(commands.is_empty());
    assert!(app.modals.is_empty());
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("inside an integration you manage, and you manage none (R13, R19)")
    );
}

#[tokio::test]
async fn render_never_panics_in_the_replace_picker_and_its_dialogs() {
    let mut h = harness().await.with_demo().await;
    select(&mut h, "sap_s_4hana_production").await;
    let states: Vec<Vec<KeyCode>> = vec![
        vec![KeyCode::Char('r')],
        vec![KeyCode::Char('z'), KeyCode::Char('z'), KeyCode::Char('z')],
        vec![
            KeyCode::Backspace,
            KeyCode::Backspace,
            KeyCode::Backspace,
            KeyCode::Tab,
            KeyCode::Right,
        ],
        vec![KeyCode::Tab, KeyCode::Left, KeyCode::PageDown],
        vec![KeyCode::Enter],
        vec![KeyCode::Esc, KeyCode::Esc, KeyCode::Char('d')],
    ];
    for keys in states {
        for k in keys {
            h.press(k).await;
        }
        assert!(!h.app.modals.is_empty());
        let app = std::cell::RefCell::new(&mut h.app);
        for w in (1..=220).step_by(7) {
            for hgt in (1..=70).step_by(5) {
                let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
                tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
            }
        }
        for (w, hgt) in [(1, 1), (49, 11), (50, 12), (2, 80), (300, 3), (50, 13)] {
            let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
            tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------
// The flow editor of the Register tab (R14, R15, R17, R19)
// ---------------------------------------------------------------------------

/// The demo workspace in the Register tab, `integration` selected and the
/// flows focused (its first flow highlighted).
async fn on_flows_of(integration: &str, width: u16, height: u16) -> Harness {
    let mut h = harness_with(Theme::colored(), width, height)
        .await
        .with_demo()
        .await;
    h.press(KeyCode::Char('2')).await;
    select_integration(&mut h, integration).await;
    h.press(KeyCode::Char('f')).await;
    assert_eq!(
        h.app.register.focus,
        switchboard::tui::tabs::register::RegFocus::Flows
    );
    h
}

async fn select_integration(h: &mut Harness, integration: &str) {
    let at = h
        .app
        .data
        .integrations
        .iter()
        .position(|i| i.code == integration)
        .unwrap();
    h.press(KeyCode::Char('h')).await;
    h.press(KeyCode::Char('g')).await;
    for _ in 0..at {
        h.press(KeyCode::Char('j')).await;
    }
    assert_eq!(h.app.selected_integration().unwrap().code, integration);
}

/// Highlights a flow of the selected integration in the Flows pane.
async fn highlight_flow(h: &mut Harness, code: &str) {
    h.press(KeyCode::Char('g')).await;
    while h.app.highlighted_flow().unwrap().code != code {
        let before = h.app.highlighted_flow_index();
        h.press(KeyCode::Char('j')).await;
        assert_ne!(before, h.app.highlighted_flow_index(), "no flow {code}");
    }
}

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn integration_of(h: &Harness, code: &str) -> switchboard::model::Integration {
    h.app
        .data
        .integrations
        .iter()
        .find(|i| i.code == code)
        .unwrap()
        .clone()
}

/// The open flow editor.
fn editor(h: &Harness) -> &switchboard::tui::dialogs::flow_editor::FlowEditor {
    use switchboard::tui::dialogs::flow_editor::FlowModal;
    h.app
        .modals
        .iter()
        .rev()
        .find_map(|m| match m {
            Modal::Flow(f) => match f.as_ref() {
                FlowModal::Editor(e) => Some(e.as_ref()),
                _ => None,
            },
            _ => None,
        })
        .expect("the flow editor is open")
}

fn editor_open(h: &Harness) -> bool {
    use switchboard::tui::dialogs::flow_editor::FlowModal;
    h.app
        .modals
        .iter()
        .any(|m| matches!(m, Modal::Flow(f) if matches!(f.as_ref(), FlowModal::Editor(_))))
}

fn step_codes(steps: &[switchboard::model::FlowStep]) -> Vec<String> {
    steps
        .iter()
        .map(|s| format!("{} {}", s.kind.as_str(), s.connection))
        .collect()
}

/// In the open editor: `a`, the kind, a filter, Enter on the best match.
async fn add_step(h: &mut Harness, import: bool, find: &str, expect: &str) {
    h.press(KeyCode::Char('a')).await;
    let picker = editor(h).picker.as_ref().expect("the picker is open");
    let is_import = picker.kind == switchboard::model::StepKind::Import;
    if is_import != import {
        h.press(KeyCode::Tab).await;
    }
    h.type_str(find).await;
    let picker = editor(h).picker.as_ref().unwrap();
    let chosen = picker.connections[picker.rows[picker.selected]]
        .code
        .clone();
    assert_eq!(chosen, expect, "the best match of {find:?}");
    h.press(KeyCode::Enter).await;
    assert!(editor(h).picker.is_none());
}

async fn save(h: &mut Harness) {
    tui::feed(&mut h.app, ctrl('s')).await;
}

#[tokio::test]
async fn snapshot_flow_editor_lists_the_steps_with_labels_and_registration() {
    let mut h = on_flows_of("product_syndication", 120, 32).await;
    highlight_flow(&mut h, "erp_to_magento_eu").await;
    let pane = h.screen();
    assert!(
        pane.contains("▶ ERP to Magento EU erp_to_magento"),
        "the highlighted flow: {pane}"
    );
    assert!(
        pane.contains("e edit flow"),
        "flow keys in the footer: {pane}"
    );
    h.press(KeyCode::Char('e')).await;
    let screen = h.screen();
    assert!(screen.contains("Edit flow · ERP to Magento EU"), "{screen}");
    let modal = modal_text(&screen);
    for line in [
        "▶ 1. export SAP S/4HANA Production (sap_s_4hana_production)",
        "2. export Akeneo PIM (legacy import) (akeneo_pim_legacy_import)",
        "3. import Magento Storefront EU (magento_storefront_eu)",
    ] {
        assert!(modal.contains(line), "{line:?} in {modal}");
    }
    assert!(modal.contains("registered"), "{modal}");
    assert!(modal.contains("Ctrl-S save"), "{modal}");
    snap!("flow_editor", screen);
    // K/J reorder; the editor says the changes are not saved yet.
    h.press(KeyCode::Char('j')).await;
    h.press(KeyCode::Char('K')).await;
    assert_eq!(
        step_codes(&editor(&h).steps),
        vec![
            "export akeneo_pim_legacy_import",
            "export sap_s_4hana_production",
            "import magento_storefront_eu"
        ]
    );
    assert!(h.screen().contains("unsaved changes"));
    // t switches the kind, x removes.
    h.press(KeyCode::Char('t')).await;
    assert_eq!(
        editor(&h).steps[0].kind,
        switchboard::model::StepKind::Import
    );
    h.press(KeyCode::Char('x')).await;
    assert_eq!(editor(&h).steps.len(), 2);
    // Esc asks before the edits are lost; n keeps editing, y discards.
    h.press(KeyCode::Esc).await;
    let modal = modal_text(&h.screen());
    assert!(
        modal.contains("Discard your changes to flow ERP to Magento EU?"),
        "{modal}"
    );
    h.press(KeyCode::Char('n')).await;
    assert_eq!(editor(&h).steps.len(), 2, "still editing");
    h.press(KeyCode::Esc).await;
    h.press(KeyCode::Char('y')).await;
    assert!(!editor_open(&h));
    // Nothing reached the server.
    let flow = h.app.client.get_flow("erp_to_magento_eu").await.unwrap();
    assert_eq!(flow.steps.len(), 3);
    assert_eq!(flow.version, 1);
}

#[tokio::test]
async fn snapshot_r14_the_step_picker_marks_registered_and_unregistered_connections() {
    let mut h = on_flows_of("product_syndication", 120, 32).await;
    highlight_flow(&mut h, "erp_to_shopify").await;
    h.press(KeyCode::Char('e')).await;
    h.press(KeyCode::Char('a')).await;
    h.type_str("s").await;
    let screen = h.screen();
    let modal = modal_text(&screen);
    assert!(screen.contains("Add a step to ERP to Shopify"), "{screen}");
    assert!(
        modal.contains("[import]"),
        "after an export: import {modal}"
    );
    assert!(
        modal.contains("[x] Shopify Plus US  shopify_plus_us  registered"),
        "{modal}"
    );
    assert!(
        modal.contains(
            "[ ] Salesforce Sales Cloud  salesforce_sales_cloud  not yet: saving registers it (R14)"
        ),
        "{modal}"
    );
    snap!("flow_step_picker", screen);
    // Without a query the registered connections come first.
    h.press(KeyCode::Backspace).await;
    let picker = editor(&h).picker.as_ref().unwrap();
    let registered = integration_of(&h, "product_syndication").registered;
    let first: Vec<&str> = picker.rows[..registered.len()]
        .iter()
        .map(|&i| picker.connections[i].code.as_str())
        .collect();
    assert!(
        first.iter().all(|c| registered.iter().any(|r| r == c)),
        "{first:?}"
    );
    // Esc goes back to the steps, unchanged.
    h.press(KeyCode::Esc).await;
    assert!(editor(&h).picker.is_none());
    assert!(!editor(&h).is_dirty());
}

#[tokio::test]
async fn snapshot_r14_saving_a_step_on_an_unregistered_connection_registers_it_with_a_reminder() {
    let mut h = on_flows_of("product_syndication", 120, 32).await;
    assert!(
        !integration_of(&h, "product_syndication")
            .registered
            .contains(&"zalando_partner".to_string())
    );
    highlight_flow(&mut h, "erp_to_shopify").await;
    h.press(KeyCode::Char('e')).await;
    add_step(&mut h, true, "zalando", "zalando_partner").await;
    let modal = modal_text(&h.screen());
    assert!(
        modal.contains("2. import Zalando Partner (zalando_partner)"),
        "{modal}"
    );
    assert!(
        modal.contains("not yet: saving registers it (R14)"),
        "{modal}"
    );
    // One save_flow call with the whole flow.
    let commands = h.app.update(Msg::Input(ctrl('s')));
    let [Command::SaveFlow { code, input }] = commands.as_slice() else {
        panic!("{commands:?}");
    };
    assert_eq!(code, "erp_to_shopify");
    assert_eq!(
        step_codes(&input.steps),
        vec![
            "export sap_s_4hana_production",
            "import zalando_partner",
            "import shopify_plus_us"
        ]
    );
    assert_eq!(input.version, Some(1));
    tui::settle(&mut h.app, commands).await;
    assert!(!editor_open(&h), "a saved flow closes its editor");
    // The reminder names what was registered and who now has access.
    let screen = h.screen();
    assert!(
        screen.contains("Saving flow “ERP to Shopify” registered 1 connection with Product"),
        "{screen}"
    );
    assert!(
        screen.contains("Zalando Partner (zalando_partner)"),
        "{screen}"
    );
    assert!(
        screen.contains("Every user of Product Syndication now has access to it (R14)."),
        "{screen}"
    );
    assert!(
        h.status()
            .starts_with("Saved flow ERP to Shopify in Product Syndication: 3 steps"),
        "{}",
        h.status()
    );
    snap!("flow_r14_reminder", screen);
    // Registered on the server, and the checkbox says so.
    assert!(
        h.app
            .client
            .get_integration("product_syndication")
            .await
            .unwrap()
            .registered
            .contains(&"zalando_partner".to_string())
    );
    h.press(KeyCode::Char('l')).await;
    h.press(KeyCode::Char('/')).await;
    h.type_str("zalando").await;
    let screen = h.screen();
    assert!(screen.contains("[x] Zalando Partner"), "{screen}");
    // The reminder stays through other keys until dismissed.
    assert!(h.app.register.reminder.is_some());
    h.press(KeyCode::Enter).await; // keep the filter
    h.press(KeyCode::Esc).await; // dismisses the reminder first
    assert!(h.app.register.reminder.is_none());
    assert!(!h.screen().contains("now has access"));
    assert!(
        h.app.list.filter.is_active(),
        "the same Esc did nothing else"
    );
}

#[tokio::test]
async fn r14_the_reminder_goes_once_a_deregistration_makes_it_untrue() {
    let mut h = on_flows_of("product_syndication", 120, 32).await;
    highlight_flow(&mut h, "erp_to_shopify").await;
    h.press(KeyCode::Char('e')).await;
    add_step(&mut h, true, "zalando", "zalando_partner").await;
    let commands = h.app.update(Msg::Input(ctrl('s')));
    tui::settle(&mut h.app, commands).await;
    assert!(h.app.register.reminder.is_some());
    // A deregistration in the tab (Space, Enter, y) makes it untrue.
    h.press(KeyCode::Char('l')).await;
    h.press(KeyCode::Char('/')).await;
    h.type_str("sap_s_4").await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Char(' ')).await;
    h.press(KeyCode::Enter).await;
    assert!(h.app.register.reminder.is_some(), "not before it applies");
    h.press(KeyCode::Char('y')).await;
    assert!(h.status().contains("deregistered 1"), "{}", h.status());
    assert!(h.app.register.reminder.is_none());
    assert!(!h.screen().contains("now has access to it (R14)"));
}

/// Deregisters SAP S/4HANA Production from Product Syndication through the
/// Register tab (Space, Enter, y), where two flows use it.
async fn deregister_sap(h: &mut Harness) {
    h.press(KeyCode::Char('l')).await;
    h.press(KeyCode::Char('/')).await;
    h.type_str("sap_s_4").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.selected_code(), "sap_s_4hana_production");
    h.press(KeyCode::Char(' ')).await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Char('y')).await;
    assert!(
        !integration_of(h, "product_syndication")
            .registered
            .contains(&"sap_s_4hana_production".to_string()),
        "{}",
        h.status()
    );
    h.press(KeyCode::Esc).await; // the filter
    h.press(KeyCode::Char('f')).await;
}

#[tokio::test]
async fn r15_a_deregistered_connection_stays_in_its_flow_which_saves_again_unchanged() {
    let mut h = on_flows_of("product_syndication", 120, 32).await;
    deregister_sap(&mut h).await;
    // The flows keep their steps on it.
    let screen = h.screen();
    assert!(
        screen.contains("export sap_s_4hana_production →"),
        "{screen}"
    );
    highlight_flow(&mut h, "erp_to_shopify").await;
    h.press(KeyCode::Char('e')).await;
    let modal = modal_text(&h.screen());
    assert!(
        modal.contains(
            "1. export SAP S/4HANA Production (sap_s_4hana_production)  deregistered, kept by this flow (R15)"
        ),
        "{modal}"
    );
    // Saved again as it is: accepted, and nothing is registered again.
    save(&mut h).await;
    assert!(!editor_open(&h), "{}", h.status());
    assert!(
        h.status().starts_with("Saved flow ERP to Shopify"),
        "{}",
        h.status()
    );
    assert!(h.app.register.reminder.is_none(), "nothing registered");
    let flow = h.app.client.get_flow("erp_to_shopify").await.unwrap();
    assert_eq!(
        step_codes(&flow.steps),
        vec!["export sap_s_4hana_production", "import shopify_plus_us"]
    );
    assert_eq!(flow.version, 2);
    assert!(
        !integration_of(&h, "product_syndication")
            .registered
            .contains(&"sap_s_4hana_production".to_string())
    );
}

#[tokio::test]
async fn r15_a_new_step_on_a_deregistered_connection_is_refused_and_the_edits_stay() {
    let mut h = on_flows_of("product_syndication", 120, 32).await;
    deregister_sap(&mut h).await;
    highlight_flow(&mut h, "erp_to_shopify").await;
    h.press(KeyCode::Char('e')).await;
    h.press(KeyCode::Char('G')).await;
    h.press(KeyCode::Char('a')).await;
    h.type_str("sap_s_4").await;
    let modal = modal_text(&h.screen());
    assert!(
        modal.contains(
            "[!] SAP S/4HANA Production  sap_s_4hana_production  deregistered: refused for a new step (R15)"
        ),
        "the picker says so in advance: {modal}"
    );
    h.press(KeyCode::Enter).await;
    save(&mut h).await;
    // The server refused; its message shows, naming the field; the edits stay.
    assert!(editor_open(&h));
    let e = editor(&h);
    assert!(!e.saving);
    assert_eq!(e.steps.len(), 3);
    let error = e.error.as_ref().expect("the refusal");
    assert_eq!(error.field.as_deref(), Some("steps"));
    assert!(
        error
            .message
            .contains("connection \"sap_s_4hana_production\" was deregistered from integration \"product_syndication\""),
        "{error:?}"
    );
    let screen = h.screen();
    let modal = modal_text(&screen);
    assert!(modal.contains("✗ Not saved: connection"), "{modal}");
    assert!(modal.contains("(field: steps)"), "{modal}");
    assert_eq!(h.app.in_flight, 0);
    snap!("flow_r15_refused", screen);
    let flow = h.app.client.get_flow("erp_to_shopify").await.unwrap();
    assert_eq!(flow.steps.len(), 2, "nothing changed on the server");
    // Removing the new step makes the flow save again.
    h.press(KeyCode::Char('x')).await;
    save(&mut h).await;
    assert!(!editor_open(&h), "{}", h.status());
}

#[tokio::test]
async fn n_creates_a_flow_whose_code_fills_in_from_the_name() {
    let mut h = on_flows_of("translations", 120, 32).await;
    h.press(KeyCode::Char('n')).await;
    h.type_str("Nightly stock").await;
    let modal = modal_text(&h.screen());
    assert!(
        modal.contains("Code  nightly_stock  (from the name)"),
        "{modal}"
    );
    h.press(KeyCode::Enter).await;
    assert!(editor(&h).is_new());
    assert!(modal_text(&h.screen()).contains("No steps yet"));
    add_step(&mut h, false, "deepl", "deepl_batch_translator").await;
    add_step(&mut h, true, "xtm", "xtm_cloud").await;
    save(&mut h).await;
    assert!(!editor_open(&h), "{}", h.status());
    let flow = h.app.client.get_flow("nightly_stock").await.unwrap();
    assert_eq!(flow.name, "Nightly stock");
    assert_eq!(flow.integration.as_deref(), Some("translations"));
    assert_eq!(
        step_codes(&flow.steps),
        vec!["export deepl_batch_translator", "import xtm_cloud"]
    );
    // R14: xtm_cloud was not registered with Translations.
    let reminder = h.app.register.reminder.as_ref().unwrap();
    assert_eq!(
        reminder.registered,
        vec![("xtm_cloud".to_string(), "XTM Cloud".to_string())]
    );
    assert_eq!(h.app.highlighted_flow().unwrap().code, "nightly_stock");
    // A taken code is refused before anything is sent.
    h.press(KeyCode::Char('n')).await;
    h.type_str("Nightly stock").await;
    h.press(KeyCode::Enter).await;
    let modal = modal_text(&h.screen());
    assert!(
        modal.contains("a flow with code \"nightly_stock\" exists already"),
        "{modal}"
    );
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty());
}

#[tokio::test]
async fn d_deletes_the_highlighted_flow_after_a_confirmation() {
    let mut h = on_flows_of("product_syndication", 120, 32).await;
    highlight_flow(&mut h, "erp_to_shopify").await;
    h.press(KeyCode::Char('d')).await;
    let modal = modal_text(&h.screen());
    assert!(
        modal.contains("Delete flow ERP to Shopify (erp_to_shopify) from Product Syndication?"),
        "{modal}"
    );
    h.press(KeyCode::Char('n')).await;
    assert!(h.app.client.get_flow("erp_to_shopify").await.is_ok());
    h.press(KeyCode::Char('d')).await;
    h.press(KeyCode::Char('y')).await;
    assert!(h.app.client.get_flow("erp_to_shopify").await.is_err());
    assert_eq!(h.status(), "Deleted flow erp_to_shopify");
    assert!(h.app.data.flows.iter().all(|f| f.code != "erp_to_shopify"));
}

#[tokio::test]
async fn r17_a_flow_saved_in_an_app_registers_nothing_and_says_so() {
    let mut h = on_flows_of("shopify_connector", 120, 32).await;
    h.press(KeyCode::Char('e')).await;
    let modal = modal_text(&h.screen());
    assert!(modal.contains("app: no registration (R17)"), "{modal}");
    assert!(
        modal.contains("Shopify Connector is an app: it owns its connections, so saving registers nothing (R17)."),
        "{modal}"
    );
    add_step(&mut h, true, "zalando", "zalando_partner").await;
    save(&mut h).await;
    assert!(!editor_open(&h), "{}", h.status());
    assert_eq!(
        h.status(),
        "Saved flow Shopify orders (app) in Shopify Connector: 3 steps; Shopify Connector is an app: it owns its connections, nothing was registered (R17)"
    );
    assert!(h.app.register.reminder.is_none());
    assert!(
        integration_of(&h, "shopify_connector")
            .registered
            .is_empty()
    );
}

#[tokio::test]
async fn r19_a_monitor_is_told_why_flows_cannot_be_changed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let owner = embedded(dir.path(), None).await;
        owner.load_demo().await.unwrap();
    }
    // max monitors Marketing Assets.
    let client = embedded(dir.path(), Some("max")).await;
    let mut app = App::headless(client, Theme::colored());
    let start = app.start();
    tui::settle(&mut app, start).await;
    let mut h = Harness {
        app,
        terminal: Terminal::new(TestBackend::new(120, 32)).unwrap(),
        _dir: dir,
    };
    h.press(KeyCode::Char('2')).await;
    assert_eq!(
        h.app.selected_integration().unwrap().code,
        "marketing_assets"
    );
    h.press(KeyCode::Char('f')).await;
    let screen = h.screen();
    assert!(screen.contains("Flows of Marketing Assets · 1"), "{screen}");
    assert!(
        screen.contains("read-only: you monitor it (R19)"),
        "{screen}"
    );
    let why = "you monitor Marketing Assets: only managers may save flows (R19)";
    for k in ['n', 'e'] {
        h.press(KeyCode::Char(k)).await;
        assert!(h.app.modals.is_empty());
        assert_eq!(h.status(), why);
    }
    h.press(KeyCode::Char('d')).await;
    assert!(h.app.modals.is_empty());
    assert_eq!(
        h.status(),
        "you monitor Marketing Assets: only managers may delete flows (R19)"
    );
}

#[tokio::test]
async fn render_never_panics_with_the_flow_editor_open() {
    let mut h = on_flows_of("product_syndication", 120, 32).await;
    let states: Vec<Vec<KeyCode>> = vec![
        vec![],
        vec![KeyCode::Char('e')],
        vec![KeyCode::Char('a'), KeyCode::Char('s')],
        vec![KeyCode::Enter, KeyCode::Esc],
        vec![KeyCode::Char('r')],
        vec![
            KeyCode::Esc,
            KeyCode::Esc,
            KeyCode::Char('y'),
            KeyCode::Char('n'),
        ],
    ];
    for keys in states {
        for k in keys {
            h.press(k).await;
        }
        let app = std::cell::RefCell::new(&mut h.app);
        for w in (1..=220).step_by(9) {
            for hgt in (1..=70).step_by(6) {
                let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
                tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
            }
        }
        for (w, hgt) in [(1, 1), (49, 11), (50, 12), (2, 80), (300, 3), (50, 13)] {
            let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
            tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
        }
    }
}

#[tokio::test]
async fn snapshot_r17_e_on_a_standalone_flow_attaches_it_and_registers_its_connections() {
    let mut h = on_flows_of("product_syndication", 120, 40).await;
    highlight_flow(&mut h, "adhoc_ga4_export").await;
    let screen = h.screen();
    assert!(
        screen.contains("Standalone flows · e edits one or"),
        "{screen}"
    );
    // e asks: edit it as it is, or attach it.
    h.press(KeyCode::Char('e')).await;
    let choice = modal_text(&h.screen());
    assert!(
        choice.contains("▶ Edit its steps; it stays standalone"),
        "{choice}"
    );
    assert!(
        choice.contains("Attach it to Product Syndication: the connections its steps use get registered with it (R14, R17)"),
        "{choice}"
    );
    h.press(KeyCode::Down).await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(
        screen.contains("Attach flow · Ad-hoc GA4 export"),
        "{screen}"
    );
    let modal = modal_text(&screen);
    assert!(
        modal.contains("standalone until saved: saving attaches it (R17)"),
        "{modal}"
    );
    assert!(
        modal.contains("1. export Google Analytics 4 (google_analytics_4)"),
        "{modal}"
    );
    assert!(editor(&h).is_dirty(), "attaching is a change");
    snap!("flow_attach", screen);
    save(&mut h).await;
    assert!(!editor_open(&h), "{}", h.status());
    assert_eq!(
        h.status(),
        "Attached flow Ad-hoc GA4 export to Product Syndication: 2 steps"
    );
    let flow = h.app.client.get_flow("adhoc_ga4_export").await.unwrap();
    assert_eq!(flow.integration.as_deref(), Some("product_syndication"));
    let registered = integration_of(&h, "product_syndication").registered;
    for c in ["google_analytics_4", "internal_data_lake_snowflake"] {
        assert!(registered.iter().any(|r| r == c), "{c} in {registered:?}");
    }
    let reminder = h.app.register.reminder.as_ref().unwrap();
    assert_eq!(reminder.registered.len(), 2);
    assert!(
        h.screen()
            .contains("registered 2 connections with Product Syndication"),
    );
    // It is one of the integration's flows now, still highlighted.
    assert_eq!(h.app.highlighted_flow().unwrap().code, "adhoc_ga4_export");
    assert!(
        h.app
            .flows_of_selected()
            .iter()
            .any(|f| f.code == "adhoc_ga4_export")
    );
}

#[tokio::test]
async fn the_mouse_picks_a_flow_and_focuses_the_flows() {
    let mut h = on_flows_of("product_syndication", 120, 32).await;
    h.press(KeyCode::Char('l')).await;
    h.screen();
    let (y, code) = h
        .app
        .screen
        .flow_rows
        .iter()
        .find(|(_, c)| c == "erp_to_shopify")
        .cloned()
        .unwrap();
    let x = h.app.screen.flow_area.x + 3;
    tui::feed(
        &mut h.app,
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left),
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        }),
    )
    .await;
    assert_eq!(
        h.app.register.focus,
        switchboard::tui::tabs::register::RegFocus::Flows
    );
    assert_eq!(h.app.highlighted_flow().unwrap().code, code);
    tui::feed(
        &mut h.app,
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollUp,
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        }),
    )
    .await;
    assert_eq!(h.app.highlighted_flow().unwrap().code, "erp_to_magento_eu");
}

#[tokio::test]
async fn a_new_flow_never_overwrites_one_saved_meanwhile_and_r_changes_its_code() {
    use switchboard::model::{FlowInput, FlowStep, StepKind};
    let mut h = on_flows_of("translations", 120, 32).await;
    h.press(KeyCode::Char('n')).await;
    h.type_str("Race").await;
    h.press(KeyCode::Enter).await;
    add_step(&mut h, false, "deepl", "deepl_batch_translator").await;
    // Someone else saves a flow with the same code first.
    h.app
        .client
        .save_flow(
            "race",
            &FlowInput {
                name: "Their race".into(),
                integration: Some("translations".into()),
                steps: vec![FlowStep {
                    kind: StepKind::Export,
                    connection: "smartling_translations".into(),
                }],
                version: None,
            },
        )
        .await
        .unwrap();
    save(&mut h).await;
    let error = editor(&h).error.clone().expect("refused");
    assert_eq!(error.field.as_deref(), Some("code"));
    assert_eq!(
        error.message,
        "a flow with code \"race\" exists already; r chooses another code"
    );
    assert_eq!(
        h.app.client.get_flow("race").await.unwrap().name,
        "Their race",
        "theirs is untouched"
    );
    // r: name and code (still editable while new); the steps stay.
    h.press(KeyCode::Char('r')).await;
    h.press(KeyCode::Tab).await;
    h.type_str("_two").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(editor(&h).code, "race_two");
    assert_eq!(editor(&h).steps.len(), 1);
    save(&mut h).await;
    assert!(!editor_open(&h), "{}", h.status());
    let mine = h.app.client.get_flow("race_two").await.unwrap();
    assert_eq!(mine.name, "Race");
    assert_eq!(
        step_codes(&mine.steps),
        vec!["export deepl_batch_translator"]
    );
}

// ---------------------------------------------------------------------------
// Permissions tab (R10, R11, R20)
// ---------------------------------------------------------------------------

/// Categories, roles and a group beside the demo: a small tree
/// (Devices > Phones, Laptops; Clothing), a reader and a writer role, a
/// group that views Devices and edits Phones; SAP S/4HANA Production has
/// the writer role.
async fn permissions_setup(client: &Client) {
    use switchboard::model::{
        CategoryGrant, CategoryLevel, NewCategory, NewGroup, NewRole, Permission,
    };
    for (code, label, parent) in [
        ("devices", "Devices", None),
        ("phones", "Phones", Some("devices")),
        ("laptops", "Laptops", Some("devices")),
        ("clothing", "Clothing", None),
    ] {
        client
            .create_category(&NewCategory {
                code: code.into(),
                label: label.into(),
                parent: parent.map(Into::into),
            })
            .await
            .unwrap();
    }
    for (code, label, permissions) in [
        (
            "catalog_reader",
            "Catalog reader",
            vec![Permission::ApiAccess, Permission::ProductsList],
        ),
        (
            "catalog_writer",
            "Catalog writer",
            vec![
                Permission::ApiAccess,
                Permission::ProductsList,
                Permission::ProductsEdit,
            ],
        ),
    ] {
        client
            .create_role(&NewRole {
                code: code.into(),
                label: label.into(),
                permissions,
            })
            .await
            .unwrap();
    }
    client
        .create_group(&NewGroup {
            code: "eu_shop".into(),
            label: "EU shop".into(),
            permissions: vec![
                CategoryGrant {
                    category: "devices".into(),
                    level: CategoryLevel::View,
                },
                CategoryGrant {
                    category: "phones".into(),
                    level: CategoryLevel::Edit,
                },
            ],
        })
        .await
        .unwrap();
    client
        .set_connection_permissions("sap_s_4hana_production", Some("catalog_writer"), None)
        .await
        .unwrap();
}

/// The demo with [`permissions_setup`], as alice, with the requests her
/// app sends; on the Permissions tab.
async fn on_permissions(
    width: u16,
    height: u16,
) -> (Harness, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let owner = harness().await.with_demo().await;
    permissions_setup(&owner.app.client).await;
    let dir = owner._dir;
    let inner = switchboard::client::InProcess::open_with(
        dir.path(),
        "alice",
        None,
        std::sync::Arc::new(switchboard::store::TestClock::default()),
    )
    .await
    .unwrap();
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let transport = Counting {
        inner,
        sent: sent.clone(),
    };
    let client = Client::new(std::sync::Arc::new(transport), Source::Tui);
    let mut app = App::headless(client, Theme::colored());
    let start = app.start();
    tui::settle(&mut app, start).await;
    let mut h = Harness {
        app,
        terminal: Terminal::new(TestBackend::new(width, height)).unwrap(),
        _dir: dir,
    };
    h.press(KeyCode::Char('4')).await;
    assert_eq!(h.app.tab, Tab::Permissions);
    (h, sent)
}

/// The screen's text without box drawing, whitespace collapsed (wrapped
/// lines read as one).
fn flat(screen: &str) -> String {
    screen
        .chars()
        .map(|c| {
            if "│┃║╭╮╰╯┏┓┗┛╔╗╚╝─━═".contains(c) {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The part of each line from column `col` on (the panes right of the
/// connection list), as [`flat`] text.
fn right_of(screen: &str, col: usize) -> String {
    flat(
        &screen
            .lines()
            .map(|l| l.chars().skip(col).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

fn requests_since(sent: &std::sync::Mutex<Vec<String>>, from: usize) -> Vec<String> {
    sent.lock().unwrap()[from..].to_vec()
}

/// The code of the highlighted role or group (whichever the lower panes
/// show).
fn selected_set_code(h: &Harness) -> Option<String> {
    let p = &h.app.permissions;
    p.selected_role()
        .map(|r| r.code.clone())
        .or_else(|| p.selected_group().map(|g| g.code.clone()))
}

/// Moves the highlight of the roles or groups pane (focused, by `[` or
/// `]`) to the role or group `code`, by the arrow keys.
async fn select_set(h: &mut Harness, code: &str) {
    assert_eq!(
        h.app.permissions.focus,
        switchboard::tui::tabs::permissions::PermFocus::Sets
    );
    let catalog = h.app.permissions.catalog().expect("the catalog is loaded");
    let count = catalog.roles.len() + catalog.groups.len();
    h.press(KeyCode::Char('g')).await;
    for _ in 0..count {
        if selected_set_code(h).as_deref() == Some(code) {
            break;
        }
        h.press(KeyCode::Char('j')).await;
    }
    assert_eq!(
        selected_set_code(h).as_deref(),
        Some(code),
        "{code} is not shown"
    );
}

/// Moves the highlight of a group's categories (focused) to the category
/// `code`, by the arrow keys.
async fn select_category(h: &mut Harness, code: &str) {
    use switchboard::tui::tabs::permissions::{PermFocus, category_rows};
    assert_eq!(h.app.permissions.focus, PermFocus::Grants);
    let row_code = |h: &Harness| {
        let p = &h.app.permissions;
        let group = p.selected_group().expect("a group is highlighted");
        category_rows(&p.catalog().unwrap().categories, group)
            .get(p.grant)
            .map(|r| r.code.clone())
    };
    let count = h.app.permissions.catalog().unwrap().categories.len();
    h.press(KeyCode::Char('g')).await;
    for _ in 0..count {
        if row_code(h).as_deref() == Some(code) {
            break;
        }
        h.press(KeyCode::Char('j')).await;
    }
    assert_eq!(row_code(h).as_deref(), Some(code), "{code} is not shown");
}

/// In the open role or group picker, moves the highlight to the choice
/// `code`, by the arrow keys.
async fn pick(h: &mut Harness, code: &str) {
    let (at, selected) = match h.app.modals.last() {
        Some(Modal::Picker(p)) => (
            p.choices
                .iter()
                .position(|(c, _, _)| c == code)
                .unwrap_or_else(|| panic!("{code} is not a choice: {:?}", p.choices)),
            p.selected,
        ),
        _ => panic!("no picker is open"),
    };
    let k = if at < selected { 'k' } else { 'j' };
    for _ in 0..at.abs_diff(selected) {
        h.press(KeyCode::Char(k)).await;
    }
    match h.app.modals.last() {
        Some(Modal::Picker(p)) => assert_eq!(p.choices[p.selected].0, code),
        _ => panic!("the picker closed"),
    }
}

#[tokio::test]
async fn snapshot_r10_r11_permissions_tab_shows_the_default_warning_and_the_roles_with_checkboxes()
{
    let (mut h, _) = on_permissions(120, 32).await;
    let screen = h.screen();
    assert_eq!(h.selected_code(), "1worldsync_gdsn_feed");
    assert!(
        right_of(&screen, 36).contains(
            "! 1WorldSync GDSN Feed has the default role User and group All, shared by every new connection. A dedicated role per connection is recommended"
        ),
        "{screen}"
    );
    // The demo's three roles, the two of the setup and User.
    assert!(screen.contains("[ Roles · 6"), "{screen}");
    // The highlighted role (User, the connection's) with its checkboxes.
    assert_eq!(
        h.app.permissions.selected_role().map(|r| r.code.as_str()),
        Some(switchboard::model::DEFAULT_ROLE)
    );
    for line in [
        "[x] api.access",
        "[x] products.list",
        "[ ] products.edit",
        "[ ] products.remove",
    ] {
        assert!(screen.contains(line), "{line}: {screen}");
    }
    snap!("permissions_roles", screen);
    // A connection with a dedicated role and the default group: the
    // warning names the group only.
    select(&mut h, "sap_s_4hana_production").await;
    let screen = h.screen();
    let right = right_of(&screen, 36);
    assert!(
        right.contains(
            "Role Catalog writer (catalog_writer) api.access, products.list, products.edit"
        ),
        "{screen}"
    );
    assert!(right.contains("has the default group All,"), "{screen}");
    assert!(!right.contains("default role User"), "{screen}");
    // The roles below follow: its role is highlighted.
    assert_eq!(
        h.app.permissions.selected_role().map(|r| r.code.as_str()),
        Some("catalog_writer")
    );
    assert!(screen.contains("[x] products.edit"), "{screen}");
}

#[tokio::test]
async fn snapshot_r11_groups_show_their_category_levels_own_and_inherited() {
    let (mut h, _) = on_permissions(120, 32).await;
    h.press(KeyCode::Char(']')).await;
    assert_eq!(
        h.app.permissions.focus,
        switchboard::tui::tabs::permissions::PermFocus::Sets
    );
    // EU shop, then its categories.
    select_set(&mut h, "eu_shop").await;
    h.press(KeyCode::Char('l')).await;
    let screen = h.screen();
    assert!(screen.contains("EU shop · categories"), "{screen}");
    let line_of = |label: &str| {
        screen
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("no {label}: {screen}"))
            .to_string()
    };
    assert!(line_of("Devices").contains("[view]"), "{screen}");
    assert!(line_of("  Laptops").contains("[ · ]"), "{screen}");
    assert!(
        line_of("  Laptops").contains("view from Devices"),
        "inherited: {screen}"
    );
    assert!(line_of("  Phones").contains("[edit]"), "{screen}");
    assert!(line_of("Clothing").contains("[ · ]  none"), "{screen}");
    snap!("permissions_groups", screen);
    // Space on Clothing: view, saved at once in one request.
    select_category(&mut h, "clothing").await;
    h.press(KeyCode::Char(' ')).await;
    let g = h.app.client.get_group("eu_shop").await.unwrap();
    assert!(
        g.permissions
            .iter()
            .any(|p| p.category == "clothing" && p.level == switchboard::model::CategoryLevel::View),
        "{g:?}"
    );
    assert!(
        h.screen()
            .contains("Saved the categories of the group EU shop")
    );
    // All grants everything: Space is refused, with the reason.
    h.press(KeyCode::Char('h')).await;
    select_set(&mut h, switchboard::model::DEFAULT_GROUP).await;
    h.press(KeyCode::Char('l')).await;
    h.press(KeyCode::Char(' ')).await;
    assert!(
        h.status()
            .starts_with("All grants edit on every category, now and later"),
        "{}",
        h.status()
    );
}

#[tokio::test]
async fn snapshot_r10_the_role_picker_sends_one_patch_and_the_new_role_shows() {
    let (mut h, sent) = on_permissions(120, 32).await;
    let code = h.selected_code();
    // → the connection's role; Enter opens the picker.
    h.press(KeyCode::Char('l')).await;
    h.press(KeyCode::Enter).await;
    assert!(matches!(h.app.modals.last(), Some(Modal::Picker(_))));
    let screen = h.screen();
    assert!(
        screen.contains("Choose the role of 1WorldSync GDSN Feed (1worldsync_gdsn_feed)"),
        "{screen}"
    );
    snap!("permissions_picker", screen);
    // The roles by label (User is current): choose Catalog reader.
    let before = sent.lock().unwrap().len();
    pick(&mut h, "catalog_reader").await;
    h.press(KeyCode::Enter).await;
    let requests = requests_since(&sent, before);
    let writes: Vec<&String> = requests.iter().filter(|r| !r.starts_with("GET ")).collect();
    assert_eq!(
        writes,
        [&format!("PATCH /api/v1/connections/{code}")],
        "one PATCH: {requests:?}"
    );
    assert_eq!(
        h.app.client.get_connection(&code).await.unwrap().role,
        "catalog_reader"
    );
    let screen = h.screen();
    assert!(
        right_of(&screen, 36)
            .contains("Role Catalog reader (catalog_reader) · api.access, products.list"),
        "{screen}"
    );
    assert!(
        h.status()
            .starts_with("1WorldSync GDSN Feed now has the role Catalog reader"),
        "{}",
        h.status()
    );
    // The warning now names only the group.
    assert!(
        right_of(&screen, 36).contains("has the default group All,"),
        "{screen}"
    );
    // The same choice again changes nothing and sends nothing.
    let before = sent.lock().unwrap().len();
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Enter).await;
    assert!(h.status().starts_with("Nothing changed"), "{}", h.status());
    assert!(requests_since(&sent, before).is_empty());
    // ↓ then Enter: the group picker.
    h.press(KeyCode::Char('j')).await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(
        screen.contains("Choose the group of 1WorldSync GDSN Feed"),
        "{screen}"
    );
    assert!(
        screen.contains("edit on every category, now and later"),
        "{screen}"
    );
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty());
}

#[tokio::test]
async fn r10_space_grants_a_permission_in_one_request_and_n_creates_a_role_from_its_label() {
    let (mut h, sent) = on_permissions(120, 32).await;
    // [ roles (User, the connection's, is highlighted); Catalog reader;
    // → its permissions; ↓↓ products.edit.
    h.press(KeyCode::Char('[')).await;
    select_set(&mut h, "catalog_reader").await;
    h.press(KeyCode::Char('l')).await;
    h.press(KeyCode::Char('j')).await;
    h.press(KeyCode::Char('j')).await;
    assert!(
        h.screen().contains("Space grant/revoke"),
        "the footer says it"
    );
    let before = sent.lock().unwrap().len();
    h.press(KeyCode::Char(' ')).await;
    let writes: Vec<String> = requests_since(&sent, before)
        .into_iter()
        .filter(|r| !r.starts_with("GET "))
        .collect();
    assert_eq!(writes, ["PATCH /api/v1/roles/catalog_reader"]);
    let role = h.app.client.get_role("catalog_reader").await.unwrap();
    assert!(
        role.permissions
            .contains(&switchboard::model::Permission::ProductsEdit)
    );
    assert!(h.screen().contains("[x] products.edit"));
    // n: a new role; the code fills in from the label (not the demo's
    // Read only, whose code is taken).
    h.press(KeyCode::Char('n')).await;
    h.type_str("Stock Viewer!").await;
    let screen = h.screen();
    assert!(
        screen.contains("stock_viewer  (from the label)"),
        "{screen}"
    );
    assert!(
        screen.contains("It starts with what User grants"),
        "{screen}"
    );
    h.press(KeyCode::Enter).await;
    assert!(h.app.modals.is_empty(), "{}", h.screen());
    let role = h.app.client.get_role("stock_viewer").await.unwrap();
    assert_eq!(role.label, "Stock Viewer!");
    assert_eq!(
        role.permissions,
        [
            switchboard::model::Permission::ApiAccess,
            switchboard::model::Permission::ProductsList
        ]
    );
    assert_eq!(
        h.app.permissions.selected_role().map(|r| r.code.as_str()),
        Some("stock_viewer"),
        "the new role is highlighted"
    );
    // e renames it; a taken code is refused beside its field.
    h.press(KeyCode::Char('e')).await;
    h.type_str(" role").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        h.app.client.get_role("stock_viewer").await.unwrap().label,
        "Stock Viewer! role"
    );
    h.press(KeyCode::Char('n')).await;
    h.type_str("Catalog Reader").await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(
        screen.contains("✗ role code \"catalog_reader\" is already taken"),
        "{screen}"
    );
    h.press(KeyCode::Esc).await;
}

#[tokio::test]
async fn d_names_who_uses_a_role_and_the_server_refuses_while_it_is_used() {
    let (mut h, _) = on_permissions(120, 32).await;
    // Catalog writer: used by SAP S/4HANA Production.
    h.press(KeyCode::Char('[')).await;
    select_set(&mut h, "catalog_writer").await;
    h.press(KeyCode::Char('d')).await;
    let screen = h.screen();
    assert!(
        modal_text(&screen).starts_with(
            "Delete the role Catalog writer (catalog_writer)? It is used by 1 connection: SAP S/4HANA Production. The server refuses to delete a role in use"
        ),
        "{screen}"
    );
    h.press(KeyCode::Char('y')).await;
    // The server's message, as it says it.
    let status = h.status();
    assert!(
        status.starts_with(
            "Could not delete the role Catalog writer: role \"catalog_writer\" is used by"
        ) && status.contains("sap_s_4hana_production")
            && status.ends_with("give them another role first"),
        "{status}"
    );
    assert!(h.app.client.get_role("catalog_writer").await.is_ok());
    // The default role cannot be deleted: said before any request.
    select_set(&mut h, switchboard::model::DEFAULT_ROLE).await;
    h.press(KeyCode::Char('d')).await;
    assert!(h.app.modals.is_empty());
    assert_eq!(
        h.status(),
        "User is the default role of new connections and cannot be deleted"
    );
    // An unused role (Catalog reader) goes after the confirmation.
    select_set(&mut h, "catalog_reader").await;
    h.press(KeyCode::Char('d')).await;
    assert!(h.screen().contains("No connection uses it."));
    h.press(KeyCode::Char('y')).await;
    assert_eq!(h.status(), "Deleted the role Catalog reader");
    assert!(h.app.client.get_role("catalog_reader").await.is_err());
}

#[tokio::test]
async fn r20_a_member_changes_role_and_group_only_where_they_manage_and_never_the_roles() {
    let owner = harness().await.with_demo().await;
    permissions_setup(&owner.app.client).await;
    let (mut h, sent) = as_tom_on(owner, 120, 32).await;
    h.press(KeyCode::Char('4')).await;
    select(&mut h, "bynder_brand_portal").await;
    h.press(KeyCode::Char('l')).await;
    let before = sent.lock().unwrap().len();
    h.press(KeyCode::Enter).await;
    assert!(h.app.modals.is_empty(), "no picker");
    assert_eq!(
        h.status(),
        "You can't change the role of Bynder Brand Portal: you only monitor Marketing Assets, where it is registered (R20)"
    );
    let screen = h.screen();
    assert!(
        footer_cells_of(&h, "Enter choose")
            .iter()
            .all(|c| c.modifier.contains(Modifier::CROSSED_OUT)),
        "Enter is dimmed: {screen}"
    );
    // Roles and groups are the owner's and admins'.
    for (k, what) in [
        ('n', "create roles"),
        ('e', "rename roles"),
        ('d', "delete roles"),
    ] {
        h.press(KeyCode::Char(k)).await;
        assert_eq!(
            h.status(),
            format!(
                "You can't {what}: only the owner or an admin may change roles and groups (R20)"
            )
        );
        assert!(h.app.modals.is_empty());
    }
    assert!(
        footer_cells_of(&h, "n new role")
            .iter()
            .all(|c| c.modifier.contains(Modifier::CROSSED_OUT))
    );
    assert!(requests_since(&sent, before).is_empty(), "no request sent");
    // Where he manages, the picker opens and the change goes through.
    h.press(KeyCode::Char('h')).await;
    select(&mut h, "smartling_translations").await;
    h.press(KeyCode::Char('l')).await;
    h.press(KeyCode::Enter).await;
    assert!(matches!(h.app.modals.last(), Some(Modal::Picker(_))));
    pick(&mut h, "catalog_writer").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        h.status(),
        "Smartling Translations now has the role Catalog writer; its next Web API request is checked against it (R10)"
    );
}

// ---------------------------------------------------------------------------
// Monitor tab (R23, R24)
// ---------------------------------------------------------------------------

/// A store on a clock the test moves, its service (whose router answers the
/// Web API with real bearer tokens) and the owner's app over it, counting
/// the requests the app sends.
struct Monitored {
    h: Harness,
    svc: std::sync::Arc<switchboard::service::Service>,
    clock: std::sync::Arc<switchboard::store::TestClock>,
    /// The requests the app sent.
    sent: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// A live access token of the source connection (Shop Feed).
    shop_token: String,
}

/// One Web API call through the service's router; its status.
async fn web_api_call(
    svc: &std::sync::Arc<switchboard::service::Service>,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> u16 {
    use tower::ServiceExt;
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("/api/rest/v1{path}"))
        .header("authorization", format!("Bearer {token}"));
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(axum::body::Body::from(body.unwrap_or_default().to_string()))
        .unwrap();
    switchboard::server::router(svc.clone())
        .oneshot(req)
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A connection as its application holds it.
struct WebApiApp {
    code: String,
    client_id: String,
    secret: String,
    username: String,
    password: String,
}

impl Monitored {
    /// Creates a connection (through the app's client, as the owner).
    async fn connection(&self, label: &str, flow_type: switchboard::model::FlowType) -> WebApiApp {
        let created = self
            .h
            .app
            .client
            .create_connection(&switchboard::model::NewConnection {
                label: label.into(),
                flow_type,
                ..Default::default()
            })
            .await
            .unwrap();
        let c = created.connection.clone();
        WebApiApp {
            code: c.code,
            client_id: c.client_id,
            secret: created.secret.clone(),
            username: c.username,
            password: created.password.clone(),
        }
    }

    /// A token for `app`, asked with `username` (another connection's for
    /// a wrong-credentials attempt, R24).
    async fn token_as(&self, app: &WebApiApp, username: &str) -> Option<String> {
        use secrecy::SecretString;
        use switchboard::service::oauth::TokenRequest;
        self.svc
            .token(TokenRequest {
                grant_type: Some("password".into()),
                username: Some(username.into()),
                password: Some(SecretString::from(app.password.clone())),
                refresh_token: None,
                client: Some((
                    app.client_id.clone(),
                    SecretString::from(app.secret.clone()),
                )),
            })
            .await
            .ok()
            .map(|t| t.access_token)
    }

    async fn token(&self, app: &WebApiApp) -> String {
        self.token_as(app, &app.username).await.expect("a token")
    }

    async fn call(&self, token: &str, method: &str, path: &str, body: Option<&str>) -> u16 {
        web_api_call(&self.svc, token, method, path, body).await
    }

    /// Moves the clock by whole days (negative: back).
    fn shift_days(&self, days: i64) {
        self.clock.advance(chrono::Duration::days(days));
    }
}

/// A source, a destination and an `other` connection with real Web API
/// traffic on three of the last 7 days: the source created 3 products and
/// updated 2 (one refused create: a business error), the destination read
/// 6 (one unknown product: a business error), the `other` one read too
/// (not counted); and one wrong-credentials attempt on the source (R24).
async fn monitored(width: u16, height: u16) -> Monitored {
    use switchboard::model::{FlowType, NewRole, Permission, Source};
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = switchboard::store::sqlite_paths(dir.path());
    let clock = std::sync::Arc::new(switchboard::store::TestClock::default());
    let store = switchboard::store::Store::open_sqlite(&db, &key)
        .await
        .unwrap()
        .with_clock(clock.clone());
    let me = store.ensure_owner("alice").await.unwrap();
    let svc = std::sync::Arc::new(switchboard::service::Service::new(store));
    let inner = switchboard::client::InProcess::new(
        svc.clone(),
        switchboard::service::Actor {
            username: me.username,
            kind: me.kind,
        },
    );
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let client = Client::new(
        std::sync::Arc::new(Counting {
            inner,
            sent: sent.clone(),
        }),
        Source::Tui,
    );
    let app = App::headless(client, Theme::colored());
    let m = Monitored {
        h: Harness {
            app,
            terminal: Terminal::new(TestBackend::new(width, height)).unwrap(),
            _dir: dir,
        },
        svc,
        clock,
        sent,
        shop_token: String::new(),
    };
    let shop = m.connection("Shop Feed", FlowType::Source).await;
    let warehouse = m.connection("Data Warehouse", FlowType::Destination).await;
    let legacy = m.connection("Legacy Tool", FlowType::Other).await;
    let client = &m.h.app.client;
    client
        .create_role(&NewRole {
            code: "feed_writer".into(),
            label: "Feed writer".into(),
            permissions: Permission::VARIANTS.to_vec(),
        })
        .await
        .unwrap();
    client
        .set_connection_permissions(&shop.code, Some("feed_writer"), None)
        .await
        .unwrap();
    let product = |id: &str| format!(r#"{{"identifier":"{id}","values":{{}}}}"#);
    // Four days ago.
    m.shift_days(-4);
    let (s, w) = (m.token(&shop).await, m.token(&warehouse).await);
    assert_eq!(
        m.call(&s, "POST", "/products", Some(&product("p1"))).await,
        201
    );
    assert_eq!(
        m.call(&s, "POST", "/products", Some(&product("p2"))).await,
        201
    );
    assert_eq!(m.call(&w, "GET", "/products", None).await, 200);
    // Two days ago.
    m.shift_days(2);
    let (s, w) = (m.token(&shop).await, m.token(&warehouse).await);
    let patch = r#"{"values":{"name":[{"locale":null,"scope":null,"data":"One"}]}}"#;
    assert_eq!(m.call(&s, "PATCH", "/products/p1", Some(patch)).await, 204);
    assert_eq!(
        m.call(&s, "POST", "/products", Some(&product("p1"))).await,
        422
    );
    assert_eq!(m.call(&w, "GET", "/products/p1", None).await, 200);
    assert_eq!(m.call(&w, "GET", "/products/nope", None).await, 404);
    // Today.
    m.shift_days(2);
    let (s, w) = (m.token(&shop).await, m.token(&warehouse).await);
    assert_eq!(
        m.call(&s, "POST", "/products", Some(&product("p3"))).await,
        201
    );
    assert_eq!(m.call(&s, "PATCH", "/products/p2", Some(patch)).await, 204);
    assert_eq!(m.call(&w, "GET", "/products", None).await, 200);
    let l = m.token(&legacy).await;
    assert_eq!(m.call(&l, "GET", "/products", None).await, 200);
    // R24: the shop's client id and secret with the warehouse's username.
    assert!(m.token_as(&shop, &warehouse.username).await.is_none());
    let mut m = m;
    m.shop_token = s;
    let start = m.h.app.start();
    tui::settle(&mut m.h.app, start).await;
    m
}

/// Selects a connection in the Monitor tab (All connections is above the
/// first).
async fn monitor_select(h: &mut Harness, code: &str) {
    let at = h
        .app
        .list
        .filter
        .visible()
        .iter()
        .position(|&i| h.app.data.connections[i].code == code)
        .unwrap_or_else(|| panic!("{code} is not shown"));
    h.press(KeyCode::Char('g')).await;
    assert!(h.app.monitor.all);
    for _ in 0..=at {
        h.press(KeyCode::Char('j')).await;
    }
    assert!(!h.app.monitor.all);
    assert_eq!(h.selected_code(), code);
}

#[tokio::test]
async fn snapshot_r23_r24_monitor_a_source_connection_with_real_counts_and_its_warning() {
    let mut m = monitored(120, 34).await;
    m.h.press(KeyCode::Char('5')).await;
    assert_eq!(m.h.app.tab, Tab::Monitor);
    monitor_select(&mut m.h, "shop_feed").await;
    let screen = m.h.screen();
    let right = right_of(&screen, 36);
    assert!(right.contains("Monitor · Shop Feed · source"), "{screen}");
    assert!(
        right.contains(
            "Last 7 days: 3 created · 2 updated · 1 business errors (4xx) · 0 technical errors (5xx)"
        ),
        "{screen}"
    );
    // Bars per day, their letters under them, the values in them.
    assert!(
        right.contains("Products █ c created █ u updated"),
        "{screen}"
    );
    assert!(
        right.contains("Errors █ b business errors (4xx) █ t technical errors (5xx)"),
        "{screen}"
    );
    assert!(
        right.contains("⚠ Wrong credentials (last 7 days, R24)"),
        "{screen}"
    );
    assert!(right.contains("with username data_warehouse_"), "{screen}");
    snap!("monitor_source", screen);
    // The day labels are the last 7 days, today last.
    let today = {
        use switchboard::store::Clock;
        m.clock.now().date_naive()
    };
    let label = |d: chrono::NaiveDate| d.format("%a %d").to_string();
    assert!(screen.contains(&label(today)), "{screen}");
    assert!(
        screen.contains(&label(today - chrono::Duration::days(6))),
        "{screen}"
    );
    assert!(
        !screen.contains(&label(today - chrono::Duration::days(7)))
            || today.format("%d").to_string()
                == (today - chrono::Duration::days(7)).format("%d").to_string()
    );
    // The destination: reads.
    monitor_select(&mut m.h, "data_warehouse").await;
    let right = right_of(&m.h.screen(), 36);
    assert!(
        right.contains("Last 7 days: 6 read · 1 business errors (4xx) · 0 technical errors (5xx)"),
        "{right}"
    );
    assert!(
        right.contains("No wrong-credentials attempts in the last 7 days (R24)."),
        "{right}"
    );
}

#[tokio::test]
async fn snapshot_r23_monitor_says_an_other_connection_is_not_monitored() {
    let mut m = monitored(120, 34).await;
    m.h.press(KeyCode::Char('5')).await;
    monitor_select(&mut m.h, "legacy_tool").await;
    let screen = m.h.screen();
    let right = right_of(&screen, 36);
    assert!(
        right.contains(
            "Legacy Tool is an `other` connection: its Web API calls are not monitored (R23)."
        ),
        "{screen}"
    );
    assert!(!right.contains("Products █"), "no chart: {screen}");
    // Its row in the list says so too: no count, a dash.
    let row: String = screen
        .lines()
        .map(|l| l.chars().take(36).collect::<String>())
        .find(|l| l.contains("Legacy Tool"))
        .unwrap();
    assert!(row.contains('—'), "{row}");
    snap!("monitor_other", screen);
}

#[tokio::test]
async fn snapshot_r23_monitor_all_connections_together() {
    let mut m = monitored(120, 44).await;
    m.h.press(KeyCode::Char('5')).await;
    assert!(m.h.app.monitor.all, "All connections comes first");
    let screen = m.h.screen();
    let right = right_of(&screen, 36);
    assert!(right.contains("Monitor · all connections"), "{screen}");
    assert!(
        right.contains(
            "Last 7 days: 3 created · 2 updated · 6 read · 2 business errors (4xx) · 0 technical errors (5xx)"
        ),
        "{screen}"
    );
    assert!(
        right.contains("Counted for the 2 source and destination connections you see; 1 `other` connections are not monitored."),
        "{screen}"
    );
    assert!(
        right.contains("⚠ Wrong credentials in the last 7 days (R24): Shop Feed"),
        "{screen}"
    );
    // The busiest first.
    let busiest = screen.find("Busiest connections").expect("the table");
    let (warehouse, shop) = (
        screen[busiest..].find("Data Warehouse").unwrap(),
        screen[busiest..].find("Shop Feed").unwrap(),
    );
    assert!(warehouse < shop, "{screen}");
    snap!("monitor_all", screen);
    // Where space is short: sparklines instead of bar charts.
    let mut t = Terminal::new(TestBackend::new(120, 20)).unwrap();
    tui::draw_once(&mut t, &mut m.h.app).unwrap();
    let small: String = {
        let buf = t.backend().buffer();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(small.contains("created"), "{small}");
    assert!(!small.contains("Products █"), "{small}");
}

/// Counts the monitoring reads among the requests sent.
fn monitoring_reads(sent: &std::sync::Mutex<Vec<String>>) -> usize {
    sent.lock()
        .unwrap()
        .iter()
        .filter(|r| *r == "GET /api/v1/monitoring")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r23_the_open_monitor_tab_refreshes_itself_and_draws_only_when_counts_change() {
    let m = monitored(120, 34).await;
    let (svc, sent, shop_token) = (m.svc.clone(), m.sent.clone(), m.shop_token.clone());
    let mut app = m.h.app;
    let _dir = m.h._dir;
    app.monitor.refresh_every = Duration::from_millis(100);
    let draws = app.draws.clone();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<Event>>();
    let events = tokio_stream_from(rx);
    let handle = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(120, 34)).unwrap();
        let mut host = tui::NullHost;
        let r = tui::event_loop(&mut terminal, &mut app, events, &mut host).await;
        (r, app, terminal)
    });
    let press = |c: char| {
        tx.send(Ok(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        ))))
        .unwrap()
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(monitoring_reads(&sent), 0, "not before the tab opens");
    press('5');
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = draws.load(Ordering::SeqCst);
    let reads = monitoring_reads(&sent);
    assert!(reads >= 1, "the tab loads at once");
    // Idle on the open tab: it keeps asking, and draws nothing while the
    // answers are the same.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        monitoring_reads(&sent) >= reads + 4,
        "refreshed every 100 ms: {} then {}",
        reads,
        monitoring_reads(&sent)
    );
    assert_eq!(
        draws.load(Ordering::SeqCst),
        settled,
        "no draw while nothing changed"
    );
    // New traffic: drawn by the next refresh.
    let product = r#"{"identifier":"p9","values":{}}"#;
    assert_eq!(
        web_api_call(&svc, &shop_token, "POST", "/products", Some(product)).await,
        201
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while draws.load(Ordering::SeqCst) == settled {
        assert!(
            std::time::Instant::now() < deadline,
            "the new count was never drawn"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = draws.load(Ordering::SeqCst);
    assert_eq!(after, settled + 1, "one draw for one change");
    // Another tab: the refreshes stop.
    press('1');
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped = monitoring_reads(&sent);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(monitoring_reads(&sent), stopped, "no refresh off the tab");
    press('5');
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(Ok(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    ))))
    .unwrap();
    let (result, app, terminal) = tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .unwrap()
        .unwrap();
    assert!(result.is_ok());
    assert_eq!(app.tab, Tab::Monitor);
    let buf = terminal.backend().buffer();
    let screen: String = (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        right_of(&screen, 36).contains("Last 7 days: 4 created · 2 updated · 6 read"),
        "{screen}"
    );
}

#[tokio::test]
async fn render_never_panics_on_the_permissions_and_monitor_tabs() {
    let mut m = monitored(120, 34).await;
    permissions_setup_light(&m.h.app.client).await;
    let states: Vec<Vec<KeyCode>> = vec![
        vec![KeyCode::Char('4')],
        vec![KeyCode::Char('l'), KeyCode::Enter],
        vec![KeyCode::Esc, KeyCode::Char(']'), KeyCode::Char('l')],
        vec![KeyCode::Char('n'), KeyCode::Char('x')],
        vec![KeyCode::Esc, KeyCode::Char('h'), KeyCode::Char('d')],
        vec![KeyCode::Esc, KeyCode::Char('5')],
        vec![KeyCode::Char('j')],
        vec![KeyCode::Char('j')],
        vec![KeyCode::Char('j')],
        vec![KeyCode::Char('/'), KeyCode::Char('z')],
    ];
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 48,
        ..Default::default()
    });
    for keys in states {
        for k in keys {
            m.h.press(k).await;
        }
        let app = std::cell::RefCell::new(&mut m.h.app);
        runner
            .run(&(1u16..=220, 1u16..=70), |(w, hgt)| {
                let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
                tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
                Ok(())
            })
            .unwrap();
        for (w, hgt) in [(1, 1), (49, 11), (50, 12), (2, 80), (300, 3), (60, 14)] {
            let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
            tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
        }
    }
}

/// A category tree and a group for the never-panics test.
async fn permissions_setup_light(client: &Client) {
    use switchboard::model::{CategoryGrant, CategoryLevel, NewCategory, NewGroup};
    for (code, parent) in [("a", None), ("a_b", Some("a")), ("a_b_c", Some("a_b"))] {
        client
            .create_category(&NewCategory {
                code: code.into(),
                label: code.to_uppercase(),
                parent: parent.map(Into::into),
            })
            .await
            .unwrap();
    }
    client
        .create_group(&NewGroup {
            code: "some".into(),
            label: "Some".into(),
            permissions: vec![CategoryGrant {
                category: "a_b".into(),
                level: CategoryLevel::View,
            }],
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failed_monitor_refresh_shows_the_banner_once_and_keeps_the_counts() {
    use switchboard::client::ClientError;
    let mut m = monitored(120, 34).await;
    m.h.press(KeyCode::Char('5')).await;
    m.h.screen();
    m.h.app.take_dirty();
    let down = |app: &App| Msg::MonitoringLoaded {
        generation: app.monitor.generation,
        overview: Err(ClientError::Transport(
            "http://x: Connection refused".into(),
        )),
        credentials: None,
    };
    let msg = down(&m.h.app);
    let commands = m.h.app.update(msg);
    assert!(
        commands.iter().any(|c| matches!(c, Command::RetryAfter(_))),
        "{commands:?}"
    );
    assert!(m.h.app.take_dirty(), "the banner is drawn");
    let screen = m.h.screen();
    assert!(screen.contains("Cannot reach the server"), "{screen}");
    assert!(
        right_of(&screen, 36).contains("Last 7 days: 3 created"),
        "the last counts stay: {screen}"
    );
    // The same failure again changes nothing on screen: no draw.
    let msg = down(&m.h.app);
    m.h.app.update(msg);
    assert!(!m.h.app.take_dirty());
}

// ---- Issue 12: faults found trying the console as a new user ----

#[tokio::test]
async fn below_the_minimum_size_no_key_acts_behind_terminal_too_small() {
    let mut h = harness().await.with_demo().await;
    let code = h.selected_code();
    let before = h.app.data.connections.len();
    h.terminal.backend_mut().resize(20, 5);
    tui::feed(&mut h.app, Event::Resize(20, 5)).await;
    assert!(h.screen().starts_with("Terminal too small"));
    // d then y: nothing may happen behind the message.
    h.press(KeyCode::Char('d')).await;
    h.press(KeyCode::Char('y')).await;
    h.press(KeyCode::Char('n')).await;
    h.press(KeyCode::Char('2')).await;
    assert!(h.app.modals.is_empty(), "no dialog opened unseen");
    assert!(!h.app.quit);
    h.terminal.backend_mut().resize(120, 32);
    tui::feed(&mut h.app, Event::Resize(120, 32)).await;
    let screen = h.screen();
    assert_eq!(h.app.data.connections.len(), before, "nothing deleted");
    assert!(
        h.app
            .client
            .list_connections()
            .await
            .unwrap()
            .iter()
            .any(|c| c.code == code),
        "{code} still exists"
    );
    assert_eq!(h.app.tab, Tab::Connections, "{screen}");
    // Quit still works while too small.
    tui::feed(&mut h.app, Event::Resize(20, 5)).await;
    h.press(KeyCode::Char('q')).await;
    assert!(h.app.quit);
}

/// The status line's text, joined across the lines it wraps to.
fn status_text(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    // Status lines sit between the main area's bottom border and the footer.
    let bottom = lines
        .iter()
        .rposition(|l| l.starts_with('╰') || l.starts_with('┗'))
        .unwrap_or(0);
    lines[bottom + 1..lines.len().saturating_sub(1)]
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn long_texts_wrap_instead_of_being_cut_mid_word() {
    // A status longer than the screen is wide: it wraps, whole.
    let mut h = harness_with(Theme::colored(), 60, 24)
        .await
        .with_demo()
        .await;
    h.press(KeyCode::Char('S')).await;
    let status = h.status();
    assert!(status.chars().count() > 60, "{status}");
    let screen = h.screen();
    assert_eq!(
        status_text(&screen),
        format!("· {status}"),
        "the whole status is on screen:\n{screen}"
    );
    // The footer shows whole hints only, and says when some are left out.
    let footer = screen.lines().last().unwrap().trim_end();
    assert!(footer.ends_with('…'), "{footer}");
    for hint in footer
        .trim_end_matches('…')
        .split("  ")
        .filter(|s| !s.trim().is_empty())
    {
        let hint = hint.trim();
        assert!(
            h.app
                .keymap
                .action_hints(switchboard::tui::keymap::Context::List)
                .iter()
                .any(|(k, d, _)| format!("{k} {d}") == hint),
            "{hint:?} is a whole hint"
        );
    }
    // A form's error wraps inside the dialog, which grows to hold it.
    h.press(KeyCode::Char('S')).await;
    h.press(KeyCode::Char('n')).await;
    h.type_str("!!!").await;
    h.press(KeyCode::Enter).await;
    let message = switchboard::domain::code_from_label("!!!")
        .unwrap_err()
        .message;
    let text = modal_text(&h.screen());
    assert!(text.contains(&message), "{message:?} whole in: {text}");
}

#[tokio::test]
async fn narrow_terminals_shrink_label_and_code_last_and_cut_cells_end_with_an_ellipsis() {
    for (width, dropped) in [
        (80u16, &["Activity"][..]),
        (50, &["Activity", "Regs", "Used", "Flow type"][..]),
    ] {
        let mut h = harness_with(Theme::colored(), width, 30)
            .await
            .with_demo()
            .await;
        let screen = h.screen();
        let header = screen
            .lines()
            .find(|l| l.contains("Label") && l.contains("Code"))
            .unwrap_or_else(|| panic!("label and code stay at {width}:\n{screen}"));
        assert!(header.contains("Flags"), "the flags stay: {header}");
        for column in dropped {
            assert!(
                !header.contains(column),
                "{column} gives way at {width}: {header}"
            );
        }
        let label_at = header.find("Label").unwrap();
        let code_at = header.find("Code").unwrap();
        let label_width = header[label_at..code_at].chars().count();
        assert!(
            label_width >= 18,
            "the label keeps room at {width}: {header}"
        );
        // A label longer than its cell ends with "…", never mid-word bare.
        let long = h
            .app
            .data
            .connections
            .iter()
            .map(|c| c.label.clone())
            .find(|l| l.chars().count() >= label_width)
            .expect("a long label in the demo");
        let head: String = long.chars().take(label_width - 2).collect();
        let row = screen
            .lines()
            .find(|l| l.contains(&head))
            .unwrap_or_else(|| panic!("{head:?} at {width}:\n{screen}"));
        assert!(row.contains(&format!("{head}…")), "{row}");
    }
}

#[tokio::test]
async fn r14_the_reminder_stays_until_esc_whatever_else_is_pressed() {
    let mut h = on_flows_of("product_syndication", 120, 32).await;
    highlight_flow(&mut h, "erp_to_shopify").await;
    h.press(KeyCode::Char('e')).await;
    add_step(&mut h, true, "zalando", "zalando_partner").await;
    let commands = h.app.update(Msg::Input(ctrl('s')));
    tui::settle(&mut h.app, commands).await;
    assert!(h.screen().contains("Esc dismisses"));
    // Enter opens the flow again, Esc leaves the editor: still there.
    h.press(KeyCode::Enter).await;
    assert!(!h.app.modals.is_empty(), "the editor opened");
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty(), "the editor closed");
    for k in ['j', 'k', 'h', 'l', 'x', 'f'] {
        h.press(KeyCode::Char(k)).await;
    }
    h.press(KeyCode::Char('3')).await;
    h.press(KeyCode::Char('2')).await;
    assert!(
        h.screen().contains("Connections registered (R14)"),
        "the reminder stays through other keys"
    );
    h.press(KeyCode::Esc).await;
    assert!(!h.screen().contains("Connections registered (R14)"));
}

#[tokio::test]
async fn r17_e_on_a_standalone_flow_can_edit_it_without_attaching_it() {
    let mut h = on_flows_of("product_syndication", 120, 40).await;
    highlight_flow(&mut h, "adhoc_ga4_export").await;
    h.press(KeyCode::Char('e')).await;
    // Esc asks nothing more and opens nothing.
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty());
    h.press(KeyCode::Char('e')).await;
    h.press(KeyCode::Enter).await;
    assert!(editor_open(&h));
    assert_eq!(editor(&h).integration, None, "it stays standalone");
    assert!(!editor(&h).is_dirty(), "nothing changed yet");
    add_step(&mut h, false, "bigcommerce", "bigcommerce_b2b").await;
    save(&mut h).await;
    assert!(!editor_open(&h), "{}", h.status());
    assert_eq!(
        h.status(),
        "Saved standalone flow Ad-hoc GA4 export: 3 steps"
    );
    let flow = h.app.client.get_flow("adhoc_ga4_export").await.unwrap();
    assert_eq!(flow.integration, None);
    assert_eq!(flow.steps.len(), 3);
    let registered = integration_of(&h, "product_syndication").registered;
    assert!(
        !registered.iter().any(|r| r == "bigcommerce_b2b"),
        "nothing registered"
    );
}

#[tokio::test]
async fn the_flow_editor_refuses_the_same_step_twice_and_says_where_it_is() {
    let mut h = on_flows_of("product_syndication", 120, 40).await;
    highlight_flow(&mut h, "erp_to_shopify").await;
    h.press(KeyCode::Char('e')).await;
    let first = editor(&h).steps[0].clone();
    let steps = editor(&h).steps.len();
    // The same connection with the same kind as step 1.
    h.press(KeyCode::Char('a')).await;
    let kind = editor(&h).picker.as_ref().unwrap().kind;
    if kind != first.kind {
        h.press(KeyCode::Tab).await;
    }
    h.type_str(&first.connection).await;
    h.press(KeyCode::Enter).await;
    let picker = editor(&h).picker.as_ref().expect("the picker stays open");
    let error = picker.error.clone().expect("a reason");
    assert!(error.contains("is already step 1"), "{error}");
    assert!(modal_text(&h.screen()).contains("is already step 1"));
    assert_eq!(editor(&h).steps.len(), steps, "nothing added");
    // The other kind is another step: taken.
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Enter).await;
    assert!(editor(&h).picker.is_none());
    assert_eq!(editor(&h).steps.len(), steps + 1);
}

#[tokio::test]
async fn lists_fill_their_room_again_after_the_terminal_grows() {
    let (mut h, _) = on_permissions(60, 14).await;
    // The roles pane, scrolled to its last role in a small terminal.
    for _ in 0..2 {
        h.press(KeyCode::Char('l')).await;
    }
    assert_eq!(
        h.app.permissions.focus,
        switchboard::tui::tabs::permissions::PermFocus::Sets
    );
    h.press(KeyCode::Char('G')).await;
    h.screen();
    let roles: Vec<String> = h
        .app
        .client
        .list_roles()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.label)
        .collect();
    assert!(roles.len() > 3, "{roles:?}");
    // Much taller: every role shows, none of the rows is left empty.
    h.terminal.backend_mut().resize(160, 45);
    tui::feed(&mut h.app, Event::Resize(160, 45)).await;
    let screen = h.screen();
    for label in &roles {
        assert!(screen.contains(label.as_str()), "{label} shows:\n{screen}");
    }
}

// ---- The demo's week of monitoring history (R23, R24), marked as demo data ----

#[tokio::test]
async fn r23_after_d_the_monitor_tab_shows_the_demo_week_with_bars_marked_as_demo_history() {
    let mut h = harness_with(Theme::colored(), 120, 44)
        .await
        .with_demo()
        .await;
    h.press(KeyCode::Char('5')).await;
    assert!(h.app.monitor.all, "All connections comes first");
    let shown = h.screen();
    assert!(
        shown.contains("Monitor · all connections · demo history"),
        "{shown}"
    );
    let overview = h.app.monitor.overview().expect("the overview is loaded");
    assert!(overview.demo);
    let days_with_calls = overview
        .days
        .iter()
        .filter(|d| d.counts.created + d.counts.updated + d.counts.read > 0)
        .count();
    assert!(days_with_calls >= 6, "{:?}", overview.days);
    // Bars, and totals that are not zero.
    assert!(shown.contains('█'), "{shown}");
    assert!(!shown.contains("Last 7 days: 0 created"), "{shown}");
    assert!(
        shown.contains("Wrong credentials in the last 7 days (R24): Shopify Plus US"),
        "{shown}"
    );
    // One connection: its own history, marked too.
    let at = h
        .app
        .list
        .filter
        .visible()
        .iter()
        .position(|&i| h.app.data.connections[i].code == "sap_s_4hana_production")
        .expect("the demo's SAP connection is listed");
    for _ in 0..=at {
        h.press(KeyCode::Char('j')).await;
    }
    assert_eq!(h.selected_code(), "sap_s_4hana_production");
    let shown = h.screen();
    assert!(
        shown.contains("Monitor · SAP S/4HANA Production · source · demo history"),
        "{shown}"
    );
    assert!(shown.contains('█'), "{shown}");
}

#[tokio::test]
async fn r23_r24_the_demo_brings_a_week_of_hourly_history_on_the_store_clock_marked_as_demo() {
    let dir = tempfile::tempdir().unwrap();
    let client = embedded(dir.path(), None).await;
    let before = client.monitoring().await.unwrap();
    assert!(!before.demo);
    client.load_demo().await.unwrap();
    let o = client.monitoring().await.unwrap();
    assert!(o.demo, "marked as demo data");
    // The window is the test clock's week, not the wall clock's.
    let today = chrono::DateTime::parse_from_rfc3339(switchboard::store::TestClock::START)
        .unwrap()
        .date_naive();
    assert_eq!(o.to, today);
    let days_with_calls = o
        .days
        .iter()
        .filter(|d| d.counts.created + d.counts.updated + d.counts.read > 0)
        .count();
    assert!(days_with_calls >= 6, "{:?}", o.days);
    assert!(o.total.business_errors > 0, "{:?}", o.total);
    let of = |code: &str| o.connections.iter().find(|c| c.code == code).unwrap();
    let sap = of("sap_s_4hana_production");
    assert!(sap.demo);
    let sap_total = sap.total.unwrap();
    assert!(sap_total.created > 0 && sap_total.updated > 0 && sap_total.read == 0);
    let shop = of("shopify_plus_us");
    assert!(shop.demo && shop.total.unwrap().read > 0);
    // A connection with no made-up history: no counts, and no mark.
    let quiet = of("supplier_portal_nordics");
    assert!(!quiet.demo);
    assert_eq!(quiet.total.unwrap().read + quiet.total.unwrap().created, 0);
    // `other` connections are not monitored, demo or not.
    let other = of("ubersetzungsburo_muller");
    assert!(!other.monitored && !other.demo);
    // The same through the one-connection read.
    let one = client
        .connection_monitoring("sap_s_4hana_production")
        .await
        .unwrap();
    assert!(one.demo);
    assert_eq!(one.total, sap.total);
    // R24: one wrong-credentials warning, with another demo connection's
    // username.
    let creds = client.credentials_info("shopify_plus_us").await.unwrap();
    assert_eq!(
        creds.wrong_credentials.len(),
        1,
        "{:?}",
        creds.wrong_credentials
    );
    let magento = client
        .get_connection("magento_storefront_eu")
        .await
        .unwrap();
    assert_eq!(creds.wrong_credentials[0].username, magento.username);
}

// ---------------------------------------------------------------------------
// Integrations, users and access from the console (R29)
// ---------------------------------------------------------------------------

/// The integration `code` as member `username` sees it (R18, R19): its
/// access level, or `None` when it is not theirs.
async fn level_of(
    h: &Harness,
    username: &str,
    code: &str,
) -> Option<switchboard::model::AccessLevel> {
    embedded(h._dir.path(), Some(username))
        .await
        .list_integrations()
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.code == code)
        .and_then(|i| i.access)
}

#[tokio::test]
async fn snapshot_r29_an_empty_store_creates_an_integration_from_the_register_tab() {
    let mut h = harness().await;
    h.press(KeyCode::Char('2')).await;
    let empty = h.screen();
    assert!(
        flat(&empty).contains("Press N to create one, then register connections here"),
        "{empty}"
    );
    assert!(
        !empty.contains("POST /api/v1/integrations"),
        "the console says which key, not which request"
    );
    assert!(empty.contains("N new integration"), "{empty}");
    // N: its own key, not n (a new flow).
    h.press(KeyCode::Char('N')).await;
    h.type_str("Orders EU").await;
    let form = h.screen();
    assert!(
        form.contains("orders_eu  (from the name)"),
        "the code fills in live: {form}"
    );
    assert!(form.contains("Kind  [standard]  app"), "{form}");
    snap!("integration_form", form);
    h.press(KeyCode::Enter).await;
    assert!(h.app.modals.is_empty(), "{}", h.status());
    assert_eq!(
        h.status(),
        "Created integration Orders EU (orders_eu): Space marks connections to register with it, A gives members access"
    );
    let screen = h.screen();
    assert!(screen.contains("Integrations · 1"), "{screen}");
    assert!(screen.contains("▶ Orders EU orders_eu"), "{screen}");
    assert_eq!(h.app.selected_integration().unwrap().code, "orders_eu");
    // The store holds it, a standard integration.
    let stored = h.app.client.get_integration("orders_eu").await.unwrap();
    assert_eq!(stored.kind, switchboard::model::IntegrationKind::Standard);
    // An app, chosen with the kind field.
    h.press(KeyCode::Char('N')).await;
    h.type_str("Shop App").await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Right).await;
    h.press(KeyCode::Enter).await;
    let app_kind = h.app.client.get_integration("shop_app").await.unwrap().kind;
    assert_eq!(app_kind, switchboard::model::IntegrationKind::App);
    assert_eq!(h.app.selected_integration().unwrap().code, "shop_app");
}

#[tokio::test]
async fn r29_the_integration_form_shows_refusals_beside_their_fields() {
    let mut h = register_workspace(120, 32).await;
    h.press(KeyCode::Char('2')).await;
    h.press(KeyCode::Char('N')).await;
    h.type_str("ab").await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(
        screen.contains("✗ name is too short: 2 characters, at least 3"),
        "{screen}"
    );
    // The server refuses a code that is taken: beside the code.
    h.press(KeyCode::Esc).await;
    h.press(KeyCode::Char('N')).await;
    h.type_str("Orders").await;
    h.press(KeyCode::Enter).await;
    let Some(Modal::IntegrationForm(form)) = h.app.modals.last() else {
        panic!("the form stays open: {}", h.status());
    };
    let code_error = form
        .errors
        .get(&switchboard::tui::dialogs::integration_form::IntegrationField::Code)
        .cloned()
        .unwrap_or_else(|| panic!("{:?} {:?}", form.errors, form.general_error));
    assert!(!form.submitting);
    assert!(h.screen().contains(&format!("✗ {code_error}")));
    assert_eq!(h.status(), "Could not create the integration");
    assert_eq!(h.app.in_flight, 0, "no spinner left");
    // Esc leaves; nothing was made.
    h.press(KeyCode::Esc).await;
    assert_eq!(h.app.data.integrations.len(), 3);
}

#[tokio::test]
async fn r29_r_renames_the_selected_integration_and_its_code_stays() {
    let mut h = on_register_tab(120, 32).await;
    h.press(KeyCode::Char('h')).await;
    h.press(KeyCode::Char('R')).await;
    let form = h.screen();
    assert!(form.contains("Rename Orders"), "{form}");
    assert!(form.contains("orders  (never changes)"), "{form}");
    // Saving the same name changes nothing and sends nothing.
    h.press(KeyCode::Enter).await;
    assert!(h.app.modals.is_empty());
    assert_eq!(h.status(), "Nothing changed");
    h.press(KeyCode::Char('R')).await;
    tui::feed(&mut h.app, ctrl('u')).await;
    h.type_str("Orders EU").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(h.status(), "Renamed the integration to Orders EU (orders)");
    assert_eq!(h.app.selected_integration().unwrap().name, "Orders EU");
    let stored = h.app.client.get_integration("orders").await.unwrap();
    assert_eq!(stored.name, "Orders EU");
    assert_eq!(stored.registered, vec!["erp_one", "shop_one"]);
    assert!(h.screen().contains("Flows of Orders EU · 1"));
}

#[tokio::test]
async fn snapshot_r29_d_refuses_an_integration_with_flows_naming_them_then_deletes_one() {
    let mut h = on_register_tab(120, 32).await;
    h.press(KeyCode::Char('h')).await;
    // Orders holds the flow Order sync: D says so, naming it.
    h.press(KeyCode::Char('D')).await;
    let screen = h.screen();
    let text = flat(&screen);
    assert!(
        text.contains("Orders (orders) cannot be deleted: it holds 1 flow."),
        "{screen}"
    );
    assert!(text.contains("Order sync order_sync · 2 steps"), "{screen}");
    snap!("integration_delete_refused", screen);
    // y shows its flows.
    h.press(KeyCode::Char('y')).await;
    assert!(h.app.modals.is_empty());
    assert_eq!(
        h.app.register.focus,
        switchboard::tui::tabs::register::RegFocus::Flows
    );
    assert!(
        h.app
            .client
            .get_integration("orders")
            .await
            .is_ok_and(|i| i.code == "orders")
    );
    // Finance holds no flow: a confirmation that says what goes.
    select_integration(&mut h, "finance").await;
    h.press(KeyCode::Char('D')).await;
    let screen = h.screen();
    let text = flat(&screen);
    assert!(
        text.contains("Delete integration Finance (finance)?"),
        "{screen}"
    );
    assert!(text.contains("Its 1 registration goes"), "{screen}");
    snap!("integration_delete_confirm", screen);
    h.press(KeyCode::Char('n')).await;
    assert_eq!(h.status(), "Integration Finance stays");
    h.press(KeyCode::Char('D')).await;
    h.press(KeyCode::Char('y')).await;
    assert_eq!(
        h.status(),
        "Deleted integration Finance (finance); its connections stay"
    );
    assert!(!h.app.data.integrations.iter().any(|i| i.code == "finance"));
    assert!(h.app.client.get_integration("finance").await.is_err());
    assert_eq!(h.app.data.connections.len(), 6, "the connections stay");
}

#[tokio::test]
async fn r29_a_flow_saved_meanwhile_makes_the_server_refuse_the_delete_and_says_why() {
    use switchboard::model::{FlowInput, FlowStep, StepKind};
    let mut h = on_register_tab(120, 32).await;
    select_integration(&mut h, "finance").await;
    // Another administrator saves a flow in Finance; this console has not
    // reloaded: it asks, and the server refuses.
    h.app
        .client
        .save_flow(
            "ledger_sync",
            &FlowInput {
                name: "Ledger sync".into(),
                integration: Some("finance".into()),
                steps: vec![FlowStep {
                    kind: StepKind::Export,
                    connection: "erp_one".into(),
                }],
                version: None,
            },
        )
        .await
        .unwrap();
    h.press(KeyCode::Char('D')).await;
    assert!(flat(&h.screen()).contains("Delete integration Finance (finance)?"));
    h.press(KeyCode::Char('y')).await;
    let status = h.status();
    assert!(
        status.starts_with("Could not delete integration Finance: ")
            && status.contains("holds 1 flow"),
        "the server's reason is shown: {status}"
    );
    assert_eq!(h.app.in_flight, 0);
    // The reload that followed shows the flow; D now names it.
    assert!(h.app.data.integrations.iter().any(|i| i.code == "finance"));
    h.press(KeyCode::Char('D')).await;
    assert!(flat(&h.screen()).contains("Ledger sync ledger_sync · 1 step"));
}

#[tokio::test]
async fn snapshot_r29_r19_the_users_window_adds_a_member_and_gives_them_manage_access() {
    let mut h = on_register_tab(120, 36).await;
    h.press(KeyCode::Char('h')).await;
    h.press(KeyCode::Char('A')).await;
    let screen = h.screen();
    let text = flat(&screen);
    assert!(text.contains("Users · 1"), "{screen}");
    assert!(text.contains("Access to ◀ Orders (orders) ▶"), "{screen}");
    assert!(text.contains("alice (you) owner"), "{screen}");
    assert!(text.contains("everything (owner)"), "{screen}");
    // n: add a member; the password is generated and shown once.
    h.press(KeyCode::Char('n')).await;
    h.type_str("mia").await;
    let form = h.screen();
    assert!(form.contains("Add a user"), "{form}");
    assert!(
        form.contains("empty: one is generated, shown once"),
        "{form}"
    );
    snap!("user_form", form);
    h.press(KeyCode::Enter).await;
    let shown = h.screen();
    let password = shown
        .lines()
        .find_map(|l| l.split("Password").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .expect("the password is shown");
    assert!(password.len() >= 12, "{shown}");
    assert!(flat(&shown).contains("Added mia (member)"), "{shown}");
    assert!(flat(&shown).contains("shown only this once"), "{shown}");
    snap!("user_password_once", shown.replace(&password, "[password]"));
    // c copies it; closing forgets it.
    h.press(KeyCode::Char('c')).await;
    assert_eq!(h.app.clipboard.memory_contents(), Some(password.as_str()));
    h.press(KeyCode::Esc).await;
    assert!(!h.screen().contains(&password));
    // Back in the window, on mia, who has no access yet.
    let Some(Modal::Users(dialog)) = h.app.modals.last() else {
        panic!("the users window is back");
    };
    assert_eq!(dialog.selected_user().unwrap().username, "mia");
    assert!(flat(&h.screen()).contains("mia member password set"));
    assert_eq!(level_of(&h, "mia", "orders").await, None);
    // m: manage, from her next request.
    h.press(KeyCode::Char('m')).await;
    assert_eq!(
        h.status(),
        "mia now manages Orders; it applies from their next request"
    );
    let screen = h.screen();
    snap!("users_window", screen);
    assert_eq!(
        level_of(&h, "mia", "orders").await,
        Some(switchboard::model::AccessLevel::Manage)
    );
    // v: monitor; x: none.
    h.press(KeyCode::Char('v')).await;
    assert_eq!(
        level_of(&h, "mia", "orders").await,
        Some(switchboard::model::AccessLevel::Monitor)
    );
    assert!(flat(&h.screen()).contains("monitor (read-only)"));
    h.press(KeyCode::Char('x')).await;
    assert_eq!(
        h.status(),
        "mia no longer has access to Orders; it applies from their next request"
    );
    assert_eq!(level_of(&h, "mia", "orders").await, None);
    // → and ← show another integration's access; m there gives that one.
    let codes: Vec<String> = h
        .app
        .data
        .integrations
        .iter()
        .map(|i| i.code.clone())
        .collect();
    let at = codes.iter().position(|c| c == "orders").unwrap();
    let previous = &codes[(at + codes.len() - 1) % codes.len()];
    h.press(KeyCode::Char('l')).await;
    h.press(KeyCode::Left).await;
    h.press(KeyCode::Char('h')).await;
    let screen = h.screen();
    assert!(
        flat(&screen).contains(&format!("({previous}) ▶")),
        "{screen}"
    );
    h.press(KeyCode::Char('m')).await;
    assert_eq!(
        level_of(&h, "mia", previous).await,
        Some(switchboard::model::AccessLevel::Manage)
    );
    assert_eq!(level_of(&h, "mia", "orders").await, None);
    // The owner takes no grant: said, nothing sent.
    h.press(KeyCode::Char('g')).await;
    h.press(KeyCode::Char('m')).await;
    assert_eq!(
        h.status(),
        "alice is the owner: they see and manage every integration already"
    );
    assert_eq!(h.app.in_flight, 0);
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty());
}

#[tokio::test]
async fn r29_levels_given_elsewhere_are_read_from_the_server() {
    use switchboard::model::AccessLevel;
    let mut h = harness().await.with_demo().await;
    h.press(KeyCode::Char('U')).await;
    let screen = h.screen();
    let text = flat(&screen);
    for member in ["mia", "max", "tom"] {
        assert!(text.contains(&format!("{member} member")), "{screen}");
    }
    // The demo's grants (made by the store, not this console) are known,
    // "none" included; nothing is shown as unknown.
    let level = |i: &str, u: &str| {
        h.app
            .data
            .grants
            .get(&(i.to_string(), u.to_string()))
            .copied()
    };
    assert_eq!(
        level("product_syndication", "mia"),
        Some(Some(AccessLevel::Manage))
    );
    assert_eq!(
        level("marketing_assets", "max"),
        Some(Some(AccessLevel::Monitor))
    );
    assert_eq!(
        level("translations", "tom"),
        Some(Some(AccessLevel::Manage))
    );
    assert_eq!(level("product_syndication", "max"), Some(None));
    assert!(!text.contains("could not be read"), "{screen}");
    let Some(Modal::Users(dialog)) = h.app.modals.last() else {
        panic!("U opens the users window");
    };
    assert!(dialog.integration.is_some(), "on the first integration");
    // The wheel moves the selection, as the arrows do.
    let wheel = |kind| {
        Event::Mouse(MouseEvent {
            kind,
            column: 60,
            row: 16,
            modifiers: KeyModifiers::NONE,
        })
    };
    tui::feed(&mut h.app, wheel(MouseEventKind::ScrollDown)).await;
    tui::feed(&mut h.app, wheel(MouseEventKind::ScrollDown)).await;
    tui::feed(&mut h.app, wheel(MouseEventKind::ScrollUp)).await;
    let Some(Modal::Users(dialog)) = h.app.modals.last() else {
        panic!("the window stays open");
    };
    assert_eq!(dialog.selected, 1);
}

#[tokio::test]
async fn snapshot_r29_p_sets_a_password_shown_once_and_d_removes_a_user_naming_them() {
    let mut h = register_workspace(120, 32).await;
    h.app
        .client
        .create_user(&switchboard::model::NewUser {
            username: "mia".into(),
            kind: switchboard::model::UserKind::Member,
            password: None,
        })
        .await
        .unwrap();
    // From the Register tab (U works in every tab).
    h.press(KeyCode::Char('2')).await;
    h.press(KeyCode::Char('U')).await;
    // The owner cannot be removed: said, nothing asked.
    h.press(KeyCode::Char('d')).await;
    assert_eq!(
        h.status(),
        "alice is the owner: the owner cannot be removed"
    );
    assert!(matches!(h.app.modals.last(), Some(Modal::Users(_))));
    h.press(KeyCode::Char('j')).await;
    // p: a new password, generated and shown once; it logs in.
    h.press(KeyCode::Char('p')).await;
    let form = h.screen();
    assert!(form.contains("New password for mia"), "{form}");
    h.press(KeyCode::Enter).await;
    let shown = h.screen();
    assert!(
        flat(&shown).contains("New password for mia (member)"),
        "{shown}"
    );
    let Some(Modal::ShownOnce(once)) = h.app.modals.last() else {
        panic!("the password is shown once: {}", h.status());
    };
    let password =
        secrecy::ExposeSecret::expose_secret(once.password.as_ref().unwrap()).to_string();
    assert_eq!(
        h.status(),
        "Set the password of mia; their sessions have ended"
    );
    h.press(KeyCode::Esc).await;
    let mia = embedded(h._dir.path(), None).await;
    mia.login("mia", &password)
        .await
        .expect("the new password logs in");
    // A typed password instead: never drawn, checked first.
    h.press(KeyCode::Char('p')).await;
    h.type_str("too short").await;
    assert!(!h.screen().contains("too short"));
    h.press(KeyCode::Enter).await;
    assert!(
        h.screen()
            .contains("✗ password is too short: at least 12 characters")
    );
    h.press(KeyCode::Esc).await;
    // d: remove, after a confirmation naming her.
    h.press(KeyCode::Char('d')).await;
    let screen = h.screen();
    assert!(flat(&screen).contains("Remove mia (a member)?"), "{screen}");
    snap!("user_remove_confirm", screen);
    h.press(KeyCode::Char('y')).await;
    assert_eq!(
        h.status(),
        "Removed mia; their sessions and their access have ended"
    );
    let users = h.app.client.list_users().await.unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        vec!["alice"]
    );
    assert!(!flat(&h.screen()).contains("mia member"));
}

#[tokio::test]
async fn r29_a_member_is_told_why_and_sends_nothing_for_integrations_users_and_access() {
    let (mut h, sent) = as_tom(120, 32).await;
    h.press(KeyCode::Char('2')).await;
    h.press(KeyCode::Char('h')).await;
    let before = sent.lock().unwrap().len();
    for (key, expected) in [
        (
            'N',
            "Only the owner or an admin may create integrations (R29); you are a member",
        ),
        (
            'D',
            "Only the owner or an admin may delete integrations (R29); you are a member",
        ),
        (
            'U',
            "Only the owner or an admin may manage users (R29); you are a member",
        ),
    ] {
        h.press(KeyCode::Char(key)).await;
        assert_eq!(h.status(), expected);
        assert!(h.app.modals.is_empty());
    }
    h.press(KeyCode::Char('A')).await;
    assert!(
        h.status()
            .starts_with("Only the owner or an admin may change who has access to "),
        "{}",
        h.status()
    );
    assert_eq!(requests_since(&sent, before), Vec::<String>::new());
    // The footer crosses them out (not by colour alone).
    h.screen();
    for hint in ["N new integration", "A access", "U users"] {
        assert!(
            footer_cells_of(&h, hint)
                .iter()
                .all(|c| c.modifier.contains(Modifier::CROSSED_OUT)),
            "{hint} is crossed out"
        );
    }
    // Renaming is for those who manage it: Translations, yes.
    select_integration(&mut h, "marketing_assets").await;
    h.press(KeyCode::Char('R')).await;
    assert_eq!(
        h.status(),
        "You monitor Marketing Assets: only those who manage it may rename it (R19)"
    );
    select_integration(&mut h, "translations").await;
    h.press(KeyCode::Char('R')).await;
    assert!(matches!(
        h.app.modals.last(),
        Some(Modal::IntegrationForm(_))
    ));
}

#[tokio::test]
async fn r29_the_integration_and_user_keys_follow_the_keymap_file() {
    let keymap = switchboard::tui::keymap::Keymap::with_overrides(
        "[register]\nnew_integration = [\"I\"]\naccess = [\"W\"]\n[tabs]\nusers = [\"ctrl-u\"]\n[users]\nmanage = [\"M\"]\nclose = [\"esc\"]\n",
        "keymap.toml",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = embedded(dir.path(), None).await;
    let mut app = App::new(
        client,
        keymap,
        Theme::colored(),
        switchboard::tui::clipboard::Clipboard::memory(),
    );
    let start = app.start();
    tui::settle(&mut app, start).await;
    let mut h = Harness {
        app,
        terminal: Terminal::new(TestBackend::new(120, 32)).unwrap(),
        _dir: dir,
    };
    h.press(KeyCode::Char('2')).await;
    let screen = h.screen();
    assert!(flat(&screen).contains("Press I to create one"), "{screen}");
    assert!(screen.contains("I new integration"), "{screen}");
    assert!(screen.contains("W access"), "{screen}");
    // N is nothing now; I creates.
    h.press(KeyCode::Char('N')).await;
    assert!(h.app.modals.is_empty());
    h.press(KeyCode::Char('I')).await;
    h.type_str("Orders").await;
    h.press(KeyCode::Enter).await;
    assert_eq!(
        h.status(),
        "Created integration Orders (orders): Space marks connections to register with it, W gives members access"
    );
    tui::feed(&mut h.app, ctrl('u')).await;
    assert!(matches!(h.app.modals.last(), Some(Modal::Users(_))));
    h.press(KeyCode::Char('n')).await;
    h.type_str("mia").await;
    h.press(KeyCode::Enter).await;
    h.press(KeyCode::Esc).await;
    let screen = h.screen();
    assert!(screen.contains("M manage"), "{screen}");
    h.press(KeyCode::Char('M')).await;
    assert_eq!(
        level_of(&h, "mia", "orders").await,
        Some(switchboard::model::AccessLevel::Manage)
    );
    // q no longer closes it; Esc does.
    h.press(KeyCode::Char('q')).await;
    assert!(matches!(h.app.modals.last(), Some(Modal::Users(_))));
    h.press(KeyCode::Esc).await;
    assert!(h.app.modals.is_empty());
}

#[tokio::test]
async fn r29_help_lists_the_integration_and_user_keys() {
    let theme = Theme::monochrome();
    let keymap = switchboard::tui::keymap::Keymap::default_keymap();
    let text: Vec<String> = switchboard::tui::dialogs::help::lines(&theme, &keymap)
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    let text = text.join("\n");
    for needle in [
        "new integration: name (the code fills in from it) and kind",
        "rename the selected integration",
        "delete the selected integration (asks first; refused while it holds flows)",
        "members' access to the selected integration",
        "Users and access (U anywhere, A on an integration)",
        "give the member manage access to the integration shown (R19)",
        "users, their passwords and their access to integrations",
    ] {
        assert!(text.contains(needle), "{needle:?} in the help:\n{text}");
    }
}

#[tokio::test]
async fn render_never_panics_in_the_integration_and_users_dialogs() {
    let mut h = on_register_tab(120, 32).await;
    let states: Vec<Vec<KeyCode>> = vec![
        vec![KeyCode::Char('h'), KeyCode::Char('N'), KeyCode::Char('x')],
        vec![KeyCode::Enter],
        vec![KeyCode::Esc, KeyCode::Esc, KeyCode::Char('R')],
        vec![KeyCode::Esc, KeyCode::Char('D')],
        vec![KeyCode::Esc, KeyCode::Char('j'), KeyCode::Char('D')],
        vec![KeyCode::Esc, KeyCode::Char('A')],
        vec![KeyCode::Char('n'), KeyCode::Char('m'), KeyCode::Char('i')],
        vec![KeyCode::Enter],
        vec![KeyCode::Esc, KeyCode::Char('m')],
        vec![KeyCode::Char('p')],
        vec![KeyCode::Esc, KeyCode::Char('d')],
        vec![KeyCode::Char('?')],
    ];
    for keys in states {
        for k in keys {
            h.press(k).await;
        }
        let app = std::cell::RefCell::new(&mut h.app);
        for w in (1..=220).step_by(9) {
            for hgt in (1..=70).step_by(6) {
                let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
                tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
            }
        }
        for (w, hgt) in [(1, 1), (49, 11), (50, 12), (2, 80), (300, 3), (50, 13)] {
            let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
            tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
        }
    }
}

// ---- The application side (R26), its test and the offline flag (R27) ----

/// A connection "ERP One" whose application is the fake app's `/key`
/// route with its API key, created through the harness's own client.
async fn erp_with_api_key(h: &mut Harness, fake: &FakeApp) -> String {
    use switchboard::model::{Application, ApplicationAuth, NewConnection};
    let app = Application::new(
        format!("{}/key", fake.url),
        ApplicationAuth::api_key(fake.creds.header.clone(), Some(&fake.creds.key)),
    );
    let code = h
        .app
        .client
        .create_connection(&NewConnection {
            label: "ERP One".into(),
            application: Some(Box::new(app)),
            ..Default::default()
        })
        .await
        .unwrap()
        .connection
        .code;
    // Reload, as any change does.
    let cmds = h.app.update(Msg::Input(Event::Key(KeyEvent::new(
        KeyCode::Char('r'),
        KeyModifiers::CONTROL,
    ))));
    tui::settle(&mut h.app, cmds).await;
    assert_eq!(h.selected_code(), code);
    code
}

/// The dialog drawn over a screen (what is behind it holds random
/// credentials cut at its edges).
fn dialog_of(screen: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in screen.lines() {
        let Some(start) = line.find(['╔', '║', '╚']) else {
            continue;
        };
        let Some(end) = line.rfind(['╗', '║', '╝']) else {
            continue;
        };
        inside |= line[start..].starts_with('╔');
        if inside && end > start {
            out.push_str(&line[start..end + '║'.len_utf8()]);
            out.push('\n');
        }
        if line[start..].starts_with('╚') {
            break;
        }
    }
    out
}

/// Latencies ("12 ms") as "N ms": they vary from run to run.
fn without_latency(screen: &str) -> String {
    let mut out = String::new();
    let mut rest = screen;
    while let Some(i) = rest.find(" ms") {
        let digits = rest[..i]
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .count();
        out.push_str(&rest[..i - digits]);
        out.push_str(if digits > 0 { "N ms" } else { " ms" });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out
}

/// The fake app's port, out of a screen (for snapshots).
fn without_port(screen: &str, fake_port: u16) -> String {
    screen.replace(&format!("127.0.0.1:{fake_port}"), "127.0.0.1:[port]")
}

#[tokio::test]
async fn snapshot_r26_edit_form_application_section_per_kind_secrets_masked() {
    let fake = FakeApp::start().await;
    let port = fake.addr.port();
    let mut h = harness().await;
    erp_with_api_key(&mut h, &fake).await;
    h.press(KeyCode::Char('e')).await;
    let screen = without_port(&h.screen(), port);
    assert!(
        screen.contains("Application · how Switchboard reaches it"),
        "{screen}"
    );
    assert!(
        screen.contains("Auth        none  basic [api_key] bearer"),
        "{screen}"
    );
    assert!(screen.contains("Header     X-API-Key"), "{screen}");
    assert!(
        screen.contains("API key    ******  stored; unchanged unless you type a new one"),
        "{screen}"
    );
    assert!(!screen.contains(&fake.creds.key), "never the stored key");
    snap!("r26_form_api_key", dialog_of(&screen));

    // Tab to the kind; each kind shows only its fields.
    for _ in 0..5 {
        h.press(KeyCode::Tab).await;
    }
    let kinds: [(&str, &[&str], &[&str]); 5] = [
        ("bearer", &["Token"], &["Header", "Username"]),
        (
            "oauth2_client_credentials",
            &["Token URL", "Client id", "Secret", "Scope"],
            &["Header", "Token  "],
        ),
        ("none", &[], &["Header", "Token", "Username", "Secret"]),
        ("basic", &["Username", "Password"], &["Header", "Token"]),
        ("api_key", &["Header", "API key"], &["Username"]),
    ];
    for (kind, shown, hidden) in kinds {
        h.press(KeyCode::Right).await;
        let screen = without_port(&h.screen(), port);
        assert!(screen.contains(&format!("[{kind}]")), "{kind}: {screen}");
        let form: String = screen
            .lines()
            .skip_while(|l| !l.contains("Application ·"))
            .collect::<Vec<_>>()
            .join("\n");
        for f in shown {
            assert!(form.contains(&format!("  {f}")), "{kind} shows {f}: {form}");
        }
        for f in hidden {
            assert!(
                !form.contains(&format!("  {f} ")),
                "{kind} hides {f}: {form}"
            );
        }
        if kind == "oauth2_client_credentials" {
            snap!("r26_form_oauth2", dialog_of(&screen));
        }
    }
    // Back on api_key: the stored key is kept again (the mask), and a key
    // typed blind shows neither itself nor its length.
    let screen = h.screen();
    assert!(screen.contains("******  stored; unchanged"), "{screen}");
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    h.type_str("brand-new-key-123").await;
    let screen = h.screen();
    assert!(!screen.contains("brand-new-key"), "{screen}");
    assert!(
        screen.contains("••••••  replaces the stored one on save"),
        "{screen}"
    );
}

#[tokio::test]
async fn r26_edit_keeps_the_stored_secret_unless_retyped_and_clearing_the_url_removes_it() {
    let fake = FakeApp::start().await;
    let mut h = harness().await;
    let code = erp_with_api_key(&mut h, &fake).await;
    // Only the label changes: the key stays (the test still passes).
    h.press(KeyCode::Char('e')).await;
    h.type_str(" EU").await;
    h.press(KeyCode::Enter).await;
    assert!(h.status().starts_with("Saved ERP One EU"), "{}", h.status());
    assert!(h.app.client.test_connection(&code).await.unwrap().ok);
    // A wrong key typed blind replaces it: the test fails (401).
    h.press(KeyCode::Char('e')).await;
    for _ in 0..7 {
        h.press(KeyCode::Tab).await;
    }
    h.type_str("wrong-key").await;
    h.press(KeyCode::Enter).await;
    let result = h.app.client.test_connection(&code).await.unwrap();
    assert!(!result.ok);
    assert_eq!(result.status, Some(401));
    // A bad base URL: the error shows under its field, nothing is sent.
    h.press(KeyCode::Char('e')).await;
    for _ in 0..3 {
        h.press(KeyCode::Tab).await;
    }
    h.press(KeyCode::End).await;
    for _ in 0..80 {
        h.press(KeyCode::Backspace).await;
    }
    h.type_str("erp.example.com").await;
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(
        screen.contains("✗ application.base_url has no scheme"),
        "{screen}"
    );
    // Cleared, the form says the application side goes; saving removes it.
    for _ in 0..20 {
        h.press(KeyCode::Backspace).await;
    }
    let screen = h.screen();
    assert!(
        screen.contains("cleared: saving removes the application side"),
        "{screen}"
    );
    assert!(!screen.contains("Ping path"), "no other field: {screen}");
    h.press(KeyCode::Enter).await;
    let c = h.app.client.get_connection(&code).await.unwrap();
    assert_eq!(c.application, None);
    assert!(h.screen().contains("Application  none (e sets it, R26)"));
    // t now says there is nothing to test.
    h.press(KeyCode::Char('t')).await;
    assert_eq!(
        h.status(),
        "ERP One EU has no application side to test: e sets its base URL and auth (R26)"
    );
}

#[tokio::test]
async fn r26_new_connection_with_an_application_then_a_missing_key_is_named_on_its_field() {
    let fake = FakeApp::start().await;
    let mut h = harness().await;
    h.press(KeyCode::Char('n')).await;
    h.type_str("Shop API").await;
    for _ in 0..4 {
        h.press(KeyCode::Tab).await;
    }
    h.type_str(&format!("{}/bearer", fake.url)).await;
    h.press(KeyCode::Tab).await;
    h.press(KeyCode::Tab).await;
    // none → basic → api_key → bearer
    for _ in 0..3 {
        h.press(KeyCode::Right).await;
    }
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(
        screen.contains("✗ the token is required for auth kind bearer"),
        "{screen}"
    );
    h.type_str(&fake.creds.token).await;
    assert!(!h.screen().contains(&fake.creds.token));
    h.press(KeyCode::Enter).await;
    assert!(h.screen().contains("shown only this once"));
    h.press(KeyCode::Esc).await;
    let c = h.app.client.get_connection("shop_api").await.unwrap();
    let app = c.application.expect("created with its application");
    assert_eq!(app.auth.token.unwrap().expose(), "******");
    assert!(h.app.client.test_connection("shop_api").await.unwrap().ok);
}

#[tokio::test]
async fn snapshot_r27_t_tests_with_a_spinner_passes_then_fails_and_flags_offline() {
    let fake = FakeApp::start().await;
    let port = fake.addr.port();
    let mut h = harness().await;
    let code = erp_with_api_key(&mut h, &fake).await;
    // t starts the test in the background: the UI says so at once.
    let commands = h.app.update(Msg::Input(key(KeyCode::Char('t'))));
    assert_eq!(commands, vec![Command::TestConnection(code.clone())]);
    let screen = without_port(&h.screen(), port);
    assert!(
        screen.contains("Testing ERP One: GET http://127.0.0.1:[port]/key…"),
        "{screen}"
    );
    assert!(screen.contains("testing… GET"), "{screen}");
    // A second t while it runs asks nothing more.
    assert!(h.app.update(Msg::Input(key(KeyCode::Char('t')))).is_empty());
    tui::settle(&mut h.app, commands).await;
    let screen = without_port(&h.screen(), port);
    assert!(
        h.status().starts_with("Test of ERP One passed:"),
        "{}",
        h.status()
    );
    assert!(h.status().contains("HTTP 200"), "{}", h.status());
    assert!(screen.contains("Last test    ✓ passed"), "{screen}");
    assert!(!screen.contains("✗ offline"));
    snap!("r27_test_passed", without_latency(&screen));

    // The application stops: the next test fails and flags it offline.
    fake.stop().await;
    h.press(KeyCode::Char('t')).await;
    let screen = without_port(&h.screen(), port);
    assert!(
        h.status().starts_with("Test of ERP One failed:"),
        "{}",
        h.status()
    );
    assert!(h.status().ends_with("flagged offline"), "{}", h.status());
    let row = screen.lines().find(|l| l.contains("▶")).unwrap();
    assert!(row.contains("✗ offline"), "the Flags column: {row}");
    assert!(
        screen.contains("✗ offline    since"),
        "the details: {screen}"
    );
    let c = h.app.selected_connection().unwrap().clone();
    assert!(c.offline, "reloaded from the answer");
    let reason = c.offline_reason.clone().unwrap();
    let start: String = reason.chars().take(20).collect();
    assert!(flat(&screen).contains(&start), "{reason} in {screen}");
    snap!("r27_test_failed_offline", without_latency(&screen));
    // Under NO_COLOR the flag reads the same: a symbol and a word.
    let mut mono = Harness {
        app: App::headless(h.app.client.clone(), Theme::monochrome()),
        terminal: Terminal::new(TestBackend::new(120, 32)).unwrap(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let start = mono.app.start();
    tui::settle(&mut mono.app, start).await;
    assert!(mono.screen().contains("✗ offline"));
}

#[tokio::test]
async fn r20_a_member_pressing_t_on_a_connection_they_only_monitor_is_told_why() {
    let dir = tempfile::tempdir().unwrap();
    {
        let owner = embedded(dir.path(), None).await;
        owner.load_demo().await.unwrap();
    }
    let client = embedded(dir.path(), Some("max")).await;
    let mut app = App::headless(client, Theme::colored());
    let start = app.start();
    tui::settle(&mut app, start).await;
    let mut h = Harness {
        app,
        terminal: Terminal::new(TestBackend::new(120, 32)).unwrap(),
        _dir: dir,
    };
    let commands = h.app.update(Msg::Input(key(KeyCode::Char('t'))));
    assert!(commands.is_empty(), "no request");
    assert_eq!(
        h.status(),
        "You can't test Bynder Brand Portal: you only monitor Marketing Assets, where it is registered (R20)"
    );
}

#[tokio::test]
async fn r27_the_application_form_and_an_offline_connection_render_at_every_size() {
    let fake = FakeApp::start().await;
    let mut h = harness().await;
    erp_with_api_key(&mut h, &fake).await;
    fake.stop().await;
    h.press(KeyCode::Char('t')).await;
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 32,
        ..Default::default()
    });
    // The offline list and details; the form on oauth2 with an error.
    let states: Vec<Vec<KeyCode>> = vec![
        vec![],
        vec![
            KeyCode::Char('e'),
            KeyCode::Tab,
            KeyCode::Tab,
            KeyCode::Tab,
            KeyCode::Tab,
            KeyCode::Tab,
            KeyCode::Right,
            KeyCode::Right,
            KeyCode::Enter,
        ],
    ];
    for keys in states {
        for k in keys {
            h.press(k).await;
        }
        let app = std::cell::RefCell::new(&mut h.app);
        runner
            .run(&(1u16..=220, 1u16..=70), |(w, hgt)| {
                let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
                tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
                Ok(())
            })
            .unwrap();
        for (w, hgt) in [(1, 1), (49, 11), (50, 12), (2, 80), (300, 3)] {
            let mut t = Terminal::new(TestBackend::new(w, hgt)).unwrap();
            tui::draw_once(&mut t, &mut app.borrow_mut()).unwrap();
        }
    }
}
