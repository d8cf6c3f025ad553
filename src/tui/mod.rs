//! The terminal app: event loop, app state, view, keymap, theme, clipboard.
//! It only ever holds a [`Client`].

pub mod access;
pub mod admin;
pub mod app;
pub mod clipboard;
pub mod data;
pub mod dialogs;
pub mod filter;
pub mod keymap;
pub mod tabs;
pub mod theme;
pub mod view;
pub mod visual;
pub mod widgets;

use std::io::{self, Write};
use std::time::Duration;

use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture, Event, EventStream,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use tokio::sync::mpsc;

pub use app::{App, Command, Msg};

use crate::client::Client;

/// How the app meets its terminal: what the real one does around a frame and
/// on Ctrl-Z; tests use a host that does nothing.
pub trait Host<B: Backend> {
    fn begin_frame(&mut self) {}
    fn end_frame(&mut self) {}
    /// Suspends the process (Ctrl-Z) and restores the terminal on return.
    fn suspend(&mut self, _terminal: &mut Terminal<B>) -> io::Result<()> {
        Ok(())
    }
}

/// A host that does nothing (tests, screenshots).
pub struct NullHost;
impl<B: Backend> Host<B> for NullHost {}

/// The event loop: merges terminal events and backend answers; draws only
/// when something changed (zero draws while idle); no timer ticks.
pub async fn event_loop<B, S, H>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut events: S,
    host: &mut H,
) -> io::Result<()>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
    S: Stream<Item = io::Result<Event>> + Unpin,
    H: Host<B>,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    if let Ok(size) = terminal.size() {
        app.update(Msg::Input(Event::Resize(size.width, size.height)));
    }
    let start = app.start();
    spawn_commands(app, start, &tx);
    draw(terminal, app, host)?;
    // Ticks only while something animates (the spinner of a slow call).
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let animating = app.animating();
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => Msg::Input(ev),
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            Some(msg) = rx.recv() => msg,
            _ = tick.tick(), if animating => Msg::Tick,
        };
        let mut suspend = handle(app, msg, &tx);
        // Drain the backend answers already queued, then draw once. (The
        // terminal stream is only polled by `select!`: polling it with a
        // dummy waker would lose its wake-ups.)
        while !app.quit {
            match rx.try_recv() {
                Ok(msg) => suspend |= handle(app, msg, &tx),
                Err(_) => break,
            }
        }
        if app.quit {
            return Ok(());
        }
        if suspend {
            host.suspend(terminal)?;
            terminal.clear().map_err(io::Error::other)?;
            draw(terminal, app, host)?;
            continue;
        }
        if app.take_dirty() {
            draw(terminal, app, host)?;
        }
    }
}

/// Updates the app; returns whether a suspend was asked for.
fn handle(app: &mut App, msg: Msg, tx: &mpsc::UnboundedSender<Msg>) -> bool {
    let commands = app.update(msg);
    let suspend = commands.contains(&Command::Suspend);
    spawn_commands(app, commands, tx);
    suspend
}

fn spawn_commands(app: &App, commands: Vec<Command>, tx: &mpsc::UnboundedSender<Msg>) {
    for command in commands {
        if command == Command::Suspend {
            continue;
        }
        let client = app.client.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            if let Some(msg) = app::execute(&client, command).await {
                // The loop may be gone (quitting); nothing to do then.
                let _ = tx.send(msg);
            }
        });
    }
}

fn draw<B, H>(terminal: &mut Terminal<B>, app: &mut App, host: &mut H) -> io::Result<()>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
    H: Host<B>,
{
    host.begin_frame();
    // Drawing reads the app and writes only where things went.
    let mut screen = std::mem::take(&mut app.screen);
    let result = terminal
        .draw(|frame| view::render(app, &mut screen, frame))
        .map(drop);
    app.screen = screen;
    host.end_frame();
    result.map_err(io::Error::other)
}

/// Options of the interactive app.
pub struct Options {
    pub mouse: bool,
    pub keymap: keymap::Keymap,
    pub clear_clipboard_after: Duration,
    /// For a server: its URL and where to keep a new session after a login.
    pub sessions: Option<(String, crate::client::SessionStore)>,
}

/// The real terminal: synchronized output around frames, Ctrl-Z.
struct CrosstermHost {
    mouse: bool,
}

fn enter_modes(mouse: bool) -> io::Result<()> {
    let mut out = io::stdout();
    execute!(out, EnableBracketedPaste, EnableFocusChange)?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    Ok(())
}

fn leave_modes() {
    // Best effort: these run on exit paths where nothing else can be done.
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        DisableFocusChange
    );
}

impl<B: Backend> Host<B> for CrosstermHost {
    fn begin_frame(&mut self) {
        let _ = execute!(io::stdout(), BeginSynchronizedUpdate);
    }

    fn end_frame(&mut self) {
        let _ = execute!(io::stdout(), EndSynchronizedUpdate);
        let _ = io::stdout().flush();
    }

    fn suspend(&mut self, _terminal: &mut Terminal<B>) -> io::Result<()> {
        leave_modes();
        ratatui::restore();
        #[cfg(unix)]
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP).map_err(io::Error::from)?;
        // Resumed (SIGCONT): back into raw mode and the alternate screen.
        ratatui::crossterm::terminal::enable_raw_mode()?;
        execute!(
            io::stdout(),
            ratatui::crossterm::terminal::EnterAlternateScreen
        )?;
        enter_modes(self.mouse)
    }
}

/// Restores the terminal when dropped: on normal exit, on error returns.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        leave_modes();
        ratatui::restore();
    }
}

/// Runs the interactive app until the user quits.
pub async fn run(client: Client, options: Options) -> anyhow::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let _guard = TerminalGuard;
    // ratatui's hook restores raw mode and the screen; leave our modes first.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave_modes();
        previous(info);
    }));
    enter_modes(options.mouse)?;
    let mut app = App::new(
        client,
        options.keymap,
        theme::Theme::from_env(),
        clipboard::Clipboard::detect(),
    );
    app.sessions = options.sessions;
    app.graphics = visual::graphics_supported();
    app.set_clear_clipboard_after(options.clear_clipboard_after);
    tracing::info!(clipboard = %app.clipboard.describe_backend(), "tui started");
    let mut host = CrosstermHost {
        mouse: options.mouse,
    };
    event_loop(&mut terminal, &mut app, EventStream::new(), &mut host).await?;
    Ok(())
}

/// Runs commands to completion, feeding each answer back into the app, as
/// the event loop would but in order and without a terminal. Timers
/// (clipboard expiry, a revealed secret's countdown, the Monitor tab's next
/// refresh) and suspends are
/// skipped: tests send those messages themselves. Tests, benchmarks and the
/// screenshot renderer drive the app with it.
pub async fn settle(app: &mut App, commands: Vec<Command>) {
    let mut queue: std::collections::VecDeque<Command> = commands.into();
    while let Some(command) = queue.pop_front() {
        if matches!(
            command,
            Command::ExpireClipboard { .. }
                | Command::RevealTick { .. }
                | Command::MonitorAfter { .. }
                | Command::Suspend
        ) {
            continue;
        }
        if let Some(msg) = app::execute(&app.client, command).await {
            queue.extend(app.update(msg));
        }
    }
}

/// Feeds one terminal event to the app and settles what it starts.
pub async fn feed(app: &mut App, event: Event) {
    let commands = app.update(Msg::Input(event));
    settle(app, commands).await;
}

/// Draws the app once into any backend.
pub fn draw_once<B>(terminal: &mut Terminal<B>, app: &mut App) -> io::Result<()>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    draw(terminal, app, &mut NullHost)
}
