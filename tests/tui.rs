//! The terminal app, headless: whole-app snapshots on `TestBackend`, key
//! sequences, every terminal size, and the idle loop.

use std::sync::atomic::Ordering;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::style::{Color, Modifier};
use switchboard::client::Client;
use switchboard::model::Source;
use switchboard::tui::app::Modal;
use switchboard::tui::theme::Theme;
use switchboard::tui::{self, App};
use tempfile::TempDir;

struct Harness {
    app: App,
    terminal: Terminal<TestBackend>,
    _dir: TempDir,
}

async fn harness_with(theme: Theme, width: u16, height: u16) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::embedded(dir.path(), "alice", Source::Tui)
        .await
        .unwrap();
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
        settings.add_filter(r"embedded \S+switchboard\.db", "embedded [path]");
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
    assert_eq!(h.app.connections.len(), 36);
    h.press(KeyCode::Char('d')).await;
    h.press(KeyCode::Char('y')).await;
    assert_eq!(h.app.connections.len(), 35);
    assert!(
        !h.app
            .connections
            .iter()
            .any(|c| c.code == "1worldsync_gdsn_feed")
    );
    assert!(h.screen().contains("Deleted 1worldsync_gdsn_feed"));
}

#[tokio::test]
async fn snapshot_help() {
    let mut h = harness_with(Theme::colored(), 120, 60).await;
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
    assert_eq!(h.app.selected, 2);
    let area = h.app.table_rows_area;
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
    assert_eq!(h.app.selected, 5);
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
    ];
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 64,
        ..Default::default()
    });
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
    let client = Client::embedded(dir.path(), "alice", Source::Tui)
        .await
        .unwrap();
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
    assert_eq!(retry, vec![Command::Load]);
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

#[tokio::test]
async fn a_stale_edit_is_refused_shown_and_the_record_reloaded() {
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
    h.press(KeyCode::Enter).await;
    let screen = h.screen();
    assert!(screen.contains("was changed by alice at"), "{screen}");
    assert!(
        matches!(h.app.modals.last(), Some(Modal::Form(_))),
        "the form stays open"
    );
    assert_eq!(
        h.app.selected_connection().unwrap().label,
        "Changed elsewhere",
        "reloaded"
    );
}
