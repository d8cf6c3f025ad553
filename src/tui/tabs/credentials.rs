//! The Credentials tab's state: which field of the card is selected, whether
//! the connection list or the card takes the arrow keys, what the backend
//! said about the selected connection's credentials, and the secret while it
//! is revealed (a few seconds, then it is dropped and zeroized).

use crate::client::ClientError;
use crate::tui::app::Command;
use crate::tui::app::Modal;
use crate::tui::app::RevealPurpose;
use crate::tui::app::StatusKind;
use crate::tui::app::Tab;
use crate::tui::clipboard::CopyOutcome;
use crate::tui::view::Screen;
use crate::tui::view::side_list_pane;
use std::time::Duration;
use strum::VariantArray;

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use secrecy::{ExposeSecret, SecretString};

use crate::model::{Connection, CredentialsInfo};
use crate::tui::app::{App, Then};
use crate::tui::dialogs::confirm::{Confirm, Part};
use crate::tui::keymap::{Action, Context};
use crate::tui::theme::Theme;
use crate::tui::view::{
    NAME_WIDTH, draw_list_rows, flags, flow_description, highlighted, key_of, pane, wrap_words,
};

/// How long `v` shows the secret.
pub const REVEAL_SECONDS: u8 = 10;

/// How often the countdown of a revealed secret moves.
pub const REVEAL_TICK: Duration = Duration::from_secs(1);

/// Which part of the tab takes the arrow keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Card,
}

/// The fields of the card, top to bottom; each shows as its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray, strum::IntoStaticStr)]
pub enum CredField {
    #[strum(serialize = "Client id")]
    ClientId,
    Secret,
    #[strum(serialize = "API username")]
    Username,
    Password,
    #[strum(serialize = "Token URL")]
    TokenUrl,
}

impl CredField {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// How a status line names the field ("Copied the client id …").
    pub fn what(self) -> &'static str {
        match self {
            CredField::ClientId => "the client id",
            CredField::Secret => "the secret",
            CredField::Username => "the API username",
            CredField::Password => "the password",
            CredField::TokenUrl => "the token URL",
        }
    }

    fn index(self) -> usize {
        CredField::VARIANTS
            .iter()
            .position(|f| *f == self)
            .unwrap_or_default()
    }

    /// The field `delta` rows away, staying within the card.
    pub fn moved(self, delta: isize) -> CredField {
        let last = CredField::VARIANTS.len() as isize - 1;
        let i = (self.index() as isize).saturating_add(delta).clamp(0, last);
        CredField::VARIANTS[i as usize]
    }
}

/// The secret while `v` shows it.
pub struct Revealed {
    pub code: String,
    pub secret: SecretString,
    pub seconds_left: u8,
    /// Tells this reveal's countdown from an earlier one's.
    pub generation: u64,
}

/// What a countdown tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// The tick belongs to a reveal that is over; nothing changed.
    Stale,
    /// One second less; another tick is due.
    Counting,
    /// Time is up: the secret is masked again.
    Hidden,
}

pub struct CredentialsTab {
    pub focus: Focus,
    pub field: CredField,
    /// The last answer about a connection's credentials: its code, and the
    /// answer or the error's message.
    pub info: Option<(String, Result<CredentialsInfo, String>)>,
    pub revealed: Option<Revealed>,
    reveal_generation: u64,
}

impl Default for CredentialsTab {
    fn default() -> Self {
        CredentialsTab {
            focus: Focus::List,
            field: CredField::ClientId,
            info: None,
            revealed: None,
            reveal_generation: 0,
        }
    }
}

impl CredentialsTab {
    /// The answer about `code`, if it is the one held.
    pub fn info_for(&self, code: &str) -> Option<&Result<CredentialsInfo, String>> {
        self.info
            .as_ref()
            .filter(|(c, _)| c == code)
            .map(|(_, r)| r)
    }

    /// The revealed secret of `code`, if it shows.
    pub fn revealed_for(&self, code: &str) -> Option<&Revealed> {
        self.revealed.as_ref().filter(|r| r.code == code)
    }

    /// Shows a secret for [`REVEAL_SECONDS`]; returns the generation its
    /// countdown ticks carry.
    pub fn reveal(&mut self, code: String, secret: SecretString) -> u64 {
        self.reveal_generation += 1;
        self.revealed = Some(Revealed {
            code,
            secret,
            seconds_left: REVEAL_SECONDS,
            generation: self.reveal_generation,
        });
        self.reveal_generation
    }

    /// Masks the secret again (drops and zeroizes it).
    pub fn hide(&mut self) {
        self.revealed = None;
    }

    /// One second of a reveal's countdown has passed.
    pub fn tick(&mut self, generation: u64) -> Tick {
        let Some(r) = self
            .revealed
            .as_mut()
            .filter(|r| r.generation == generation)
        else {
            return Tick::Stale;
        };
        r.seconds_left = r.seconds_left.saturating_sub(1);
        if r.seconds_left == 0 {
            self.hide();
            Tick::Hidden
        } else {
            Tick::Counting
        }
    }
}

/// Width of the connection list beside the card.
pub(crate) fn list_width(total: u16) -> u16 {
    (total * 3 / 10).clamp(18, 36)
}

/// The Credentials tab: the connection list on the left, the selected
/// connection's credentials card on the right.
pub fn render(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    screen.card_area = Rect::default();
    screen.card_fields.clear();
    if app.data.connections.is_empty() {
        screen.list_rows = Rect::default();
        let text = format!(
            "No connections yet. Press {} for the Connections tab, then {} to create one.",
            key_of(app, Context::Tabs, Action::ShowConnections),
            key_of(app, Context::List, Action::New)
        );
        Paragraph::new(text)
            .style(app.theme.dim)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true })
            .render(area, buf);
        return;
    }
    let [list_area, card_area] = Layout::horizontal([
        Constraint::Length(list_width(area.width)),
        Constraint::Min(0),
    ])
    .areas(area);
    render_list(app, screen, list_area, buf);
    render_card(app, screen, card_area, buf);
}

fn render_list(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let focused = app.credentials.focus == Focus::List;
    side_list(app, screen, area, buf, focused);
}

/// The shared connection list of the side tabs (Credentials, Permissions):
/// the filter line when one is typed or set, then a row per shown
/// connection with its ⚠ flag.
pub(crate) fn side_list(
    app: &App,
    screen: &mut Screen,
    area: Rect,
    buf: &mut Buffer,
    focused: bool,
) {
    let t = app.theme.clone();
    let rows = side_list_pane(app, area, buf, focused);
    screen.list_rows = rows;
    draw_list_rows(
        app,
        screen,
        rows,
        buf,
        focused,
        |app, idx, marks, selected, row, buf| {
            let c = &app.data.connections[idx];
            let flag = flags(&t, c, selected && focused);
            let mut spans = vec![
                Span::raw(if selected { "▶" } else { " " }),
                if flag.content.is_empty() {
                    Span::raw(" ")
                } else {
                    flag
                },
                Span::raw(" "),
            ];
            spans.extend(highlighted(&c.label, &marks.label, Style::new(), t.matched));
            Line::from(spans).render(row, buf);
        },
    );
}

/// One field of the card: marker, name, value (wrapped under the value
/// column), the selected one reversed while the card has the keys.
fn field_rows(
    t: &Theme,
    name: &str,
    value: Vec<(String, Style)>,
    selected: bool,
    focused: bool,
    width: usize,
) -> Vec<Line<'static>> {
    let room = width.saturating_sub(2 + NAME_WIDTH).max(8);
    // Each part starts a new line when it does not fit after the previous.
    let mut rows: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0;
    for (text, style) in value {
        for (i, part) in wrap_words(&text, room).into_iter().enumerate() {
            let n = part.chars().count();
            let fits = used > 0 && used + 2 + n <= room;
            if i > 0 || (used > 0 && !fits) {
                rows.push(Vec::new());
                used = 0;
            }
            let last = rows.last_mut().expect("one row at least");
            if used > 0 {
                last.push(Span::raw("  "));
                used += 2;
            }
            last.push(Span::styled(part, style));
            used += n;
        }
    }
    let marker = match (selected, focused) {
        (true, true) => "▶ ",
        (true, false) => "› ",
        _ => "  ",
    };
    rows.into_iter()
        .enumerate()
        .map(|(i, spans)| {
            let head = if i == 0 { name } else { "" };
            let mut line = vec![
                Span::styled(if i == 0 { marker } else { "  " }, t.key),
                Span::styled(format!("{head:<NAME_WIDTH$}"), t.label),
            ];
            line.extend(spans);
            let mut line = Line::from(line);
            if selected && focused {
                let pad = width.saturating_sub(line.width());
                line.spans.push(Span::raw(" ".repeat(pad)));
                line = line.style(t.selected);
            }
            line
        })
        .collect()
}

fn render_card(app: &App, screen: &mut Screen, area: Rect, buf: &mut Buffer) {
    let t = app.theme.clone();
    let focused = app.credentials.focus == Focus::Card;
    let Some(c) = app.selected_connection().cloned() else {
        let block = pane(&t, " Credentials ".to_string(), focused);
        let inner = block.inner(area);
        block.render(area, buf);
        Paragraph::new("No connection selected")
            .style(t.dim)
            .alignment(Alignment::Center)
            .render(inner, buf);
        return;
    };
    let block = pane(&t, format!(" Credentials · {} ", c.label), focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let inner = Rect {
        x: inner.x.saturating_add(1).min(inner.right()),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    let width = inner.width as usize;
    let lines = card_lines(app, &c, &t, focused, width);
    screen.card_area = area;
    screen.card_fields = lines
        .iter()
        .enumerate()
        .filter_map(|(i, (_, field))| {
            let y = inner.y + u16::try_from(i).ok()?;
            (y < inner.bottom()).then_some((y, (*field)?))
        })
        .collect();
    Paragraph::new(lines.into_iter().map(|(l, _)| l).collect::<Vec<_>>()).render(inner, buf);
}

/// The card's lines, each with the field it starts (for mouse clicks).
fn card_lines(
    app: &App,
    c: &Connection,
    t: &Theme,
    focused: bool,
    width: usize,
) -> Vec<(Line<'static>, Option<CredField>)> {
    let wrap = |text: &str, style: Style| -> Vec<(Line<'static>, Option<CredField>)> {
        wrap_words(text, width.max(8))
            .into_iter()
            .map(|l| (Line::from(Span::styled(l, style)), None))
            .collect()
    };
    let mut out = wrap(&format!("{} · {}", c.code, flow_description(c)), t.dim);
    out.push((Line::from(""), None));
    let token_url = app.client.token_url();
    let revealed = app.credentials.revealed_for(&c.code);
    let plain = Style::new();
    for &field in CredField::VARIANTS {
        let value = match field {
            CredField::ClientId => vec![(c.client_id.clone(), plain)],
            CredField::Secret => match revealed {
                Some(r) => vec![
                    (r.secret.expose_secret().to_string(), t.secret),
                    (format!("hidden again in {} s", r.seconds_left), t.dim),
                ],
                None => vec![
                    ("••••••••".to_string(), plain),
                    (
                        format!(
                            "{} shows it for {REVEAL_SECONDS} s",
                            key_of(app, Context::Credentials, Action::Reveal)
                        ),
                        t.dim,
                    ),
                ],
            },
            CredField::Username => vec![(c.username.clone(), plain)],
            CredField::Password => vec![(
                format!(
                    "shown only once — press {} to generate a new one",
                    key_of(app, Context::Credentials, Action::RegeneratePassword)
                ),
                t.dim,
            )],
            CredField::TokenUrl => {
                let mut v = vec![(token_url.clone(), plain)];
                if !app.client.is_remote() {
                    v.push((
                        "(where `switchboard serve` listens by default)".to_string(),
                        t.dim,
                    ));
                }
                v
            }
        };
        let selected = app.credentials.field == field;
        for (i, line) in field_rows(t, field.name(), value, selected, focused, width)
            .into_iter()
            .enumerate()
        {
            out.push((line, (i == 0).then_some(field)));
        }
    }
    out.push((Line::from(""), None));
    const WIDE: usize = 18;
    let stat = |name: &str, value: String| {
        (
            Line::from(vec![
                Span::styled(format!("  {name:<WIDE$}"), t.label),
                Span::raw(value),
            ]),
            None,
        )
    };
    match app.credentials.info_for(&c.code) {
        None => out.push((Line::from(Span::styled("  loading…", t.dim)), None)),
        Some(Err(e)) => out.extend(wrap(&format!("✗ {e}"), t.error)),
        Some(Ok(info)) => {
            let when = |at: Option<chrono::DateTime<chrono::Utc>>| match at {
                Some(at) => at.format("%Y-%m-%d %H:%M UTC").to_string(),
                None => "never (as created)".to_string(),
            };
            out.push(stat(
                "Live tokens",
                format!(
                    "{} access / {} refresh tokens live",
                    info.active_access_tokens, info.active_refresh_tokens
                ),
            ));
            out.push(stat("Secret changed", when(info.secret_rotated_at)));
            out.push(stat("Password changed", when(info.password_rotated_at)));
            out.push((Line::from(""), None));
            if info.wrong_credentials.is_empty() {
                out.extend(wrap(
                    "No wrong-credentials attempts in the last 7 days.",
                    t.dim,
                ));
            } else {
                out.extend(wrap(
                    "⚠ Wrong credentials (last 7 days): token requests with this client id and secret but another username were refused",
                    t.warning,
                ));
                for w in &info.wrong_credentials {
                    let times = if w.attempts == 1 { "time" } else { "times" };
                    out.extend(wrap(
                        &format!(
                            "Used with username {} — {} {times}, last {}; this connection's own username is {}",
                            w.username,
                            w.attempts,
                            w.last_at.format("%Y-%m-%d %H:%M UTC"),
                            info.username
                        ),
                        t.warning,
                    ));
                }
            }
        }
    }
    out.push((Line::from(""), None));
    out.extend(wrap(
        "An application asks the token URL for a token with the client id and secret (HTTP Basic) and the API username and password (grant_type=password).",
        t.dim,
    ));
    out
}

/// Asks before regenerating a connection's secret (or, `password`, its
/// password), saying what stops working; `live_tokens` (access, refresh)
/// when known.
pub fn confirm_regenerate(
    t: &Theme,
    password: bool,
    code: String,
    label: String,
    live_tokens: Option<(u64, u64)>,
) -> Confirm<Then> {
    let live = match live_tokens {
        Some((0, 0)) => " No token is live now.".to_string(),
        Some((access, refresh)) => {
            format!(" {access} access and {refresh} refresh tokens are live now.")
        }
        None => String::new(),
    };
    let (title, what, body, no) = if password {
        (
            "Regenerate password",
            "password",
            format!(
                "Every access and refresh token of {label} stops working at once (HTTP 401); applications must be given the new password. The API username stays, and the password cannot be shown again after you close the next window.{live}"
            ),
            "keep the current password",
        )
    } else {
        (
            "Regenerate secret",
            "secret",
            format!(
                "Every access and refresh token of {label} stops working at once (HTTP 401); applications must be given the new secret. The client id stays.{live}"
            ),
            "keep the current secret",
        )
    };
    let question = Line::from(vec![
        Span::raw(format!("Regenerate the {what} of ")),
        Span::styled(label.clone(), t.title),
        Span::raw(format!(" ({code})?")),
    ]);
    let then = if password {
        Then::RegeneratePassword { code, label }
    } else {
        Then::RegenerateSecret { code, label }
    };
    Confirm::new(title, 76, then)
        .with([
            Part::Line(question),
            Part::Blank,
            Part::Text(body, Style::new()),
        ])
        .answers("regenerate", no)
        .declined(format!("The {what} stays as it was"))
}

/// What an application needs, as `KEY=value` lines for an environment file.
/// The password only when it is at hand (it is shown once, R4).
pub fn env_lines(
    client_id: &str,
    secret: &SecretString,
    username: &str,
    password: Option<&SecretString>,
    token_url: &str,
) -> SecretString {
    let mut out = format!(
        "CLIENT_ID={client_id}\nSECRET={}\nUSERNAME={username}\n",
        secret.expose_secret()
    );
    if let Some(p) = password {
        out.push_str(&format!("PASSWORD={}\n", p.expose_secret()));
    }
    out.push_str(&format!("TOKEN_URL={token_url}\n"));
    SecretString::from(out)
}

impl App {
    pub(crate) fn on_credentials_key(&mut self, action: Option<Action>) -> Vec<Command> {
        let Some(action) = action else {
            return Vec::new();
        };
        let on_card = self.credentials.focus == Focus::Card;
        match action {
            Action::Up | Action::Down | Action::First | Action::Last if on_card => {
                let delta = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::First => isize::MIN,
                    _ => isize::MAX,
                };
                self.credentials.field = self.credentials.field.moved(delta);
                Vec::new()
            }
            Action::Up
            | Action::Down
            | Action::First
            | Action::Last
            | Action::PageUp
            | Action::PageDown => self.move_in_list(action),
            Action::FocusList => {
                self.credentials.focus = Focus::List;
                Vec::new()
            }
            Action::FocusCard => {
                self.credentials.focus = Focus::Card;
                Vec::new()
            }
            Action::Back => {
                if self.list.filter.narrows() {
                    self.clear_one_filter()
                } else {
                    self.switch_tab(Tab::Connections)
                }
            }
            Action::Reveal => {
                let Some(code) = self.selected_code() else {
                    return Vec::new();
                };
                if self.refuse_credentials(&code, "see the secret of") {
                    return Vec::new();
                }
                if self.credentials.revealed_for(&code).is_some() {
                    self.credentials.hide();
                    self.set_status(StatusKind::Info, "Secret hidden");
                    return Vec::new();
                }
                vec![Command::RevealSecret {
                    code,
                    purpose: RevealPurpose::Show,
                }]
            }
            Action::Copy => self.copy_field(),
            Action::CopyAll => match self.selected_code() {
                Some(code) if !self.refuse_credentials(&code, "copy the secret of") => {
                    vec![Command::RevealSecret {
                        code,
                        purpose: RevealPurpose::CopyAll,
                    }]
                }
                _ => Vec::new(),
            },
            Action::RegenerateSecret | Action::RegeneratePassword => {
                let Some(c) = self.selected_connection() else {
                    self.set_status(StatusKind::Info, "No connection selected");
                    return Vec::new();
                };
                let (code, label) = (c.code.clone(), c.label.clone());
                let doing = if action == Action::RegenerateSecret {
                    "regenerate the secret of"
                } else {
                    "regenerate the password of"
                };
                if self.refuse_credentials(&code, doing) {
                    return Vec::new();
                }
                let live_tokens = match self.credentials.info_for(&code) {
                    Some(Ok(info)) => Some((info.active_access_tokens, info.active_refresh_tokens)),
                    _ => None,
                };
                let confirm = confirm_regenerate(
                    &self.theme,
                    action == Action::RegeneratePassword,
                    code,
                    label,
                    live_tokens,
                );
                self.modals.push(Modal::Confirm(Box::new(confirm)));
                Vec::new()
            }
            other => self.on_shared_key(other),
        }
    }
    /// R20: says why the user may not act on a connection's credentials;
    /// `true` when refused.
    pub(crate) fn refuse_credentials(&mut self, code: &str, doing: &str) -> bool {
        let label = self.label_of(code);
        match self.act_refusal(code, &label, doing) {
            Some(why) => {
                self.set_status(StatusKind::Error, why);
                true
            }
            None => false,
        }
    }
    /// `c` in the card: copies the selected field. The secret is asked for
    /// first (audited); the password exists nowhere to copy.
    pub(crate) fn copy_field(&mut self) -> Vec<Command> {
        let Some(c) = self.selected_connection() else {
            self.set_status(StatusKind::Info, "No connection selected");
            return Vec::new();
        };
        let field = self.credentials.field;
        let text = match field {
            CredField::ClientId => c.client_id.clone(),
            CredField::Username => c.username.clone(),
            CredField::TokenUrl => self.client.token_url(),
            CredField::Secret => {
                let code = c.code.clone();
                if self.refuse_credentials(&code, "copy the secret of") {
                    return Vec::new();
                }
                return vec![Command::RevealSecret {
                    code,
                    purpose: RevealPurpose::Copy,
                }];
            }
            CredField::Password => {
                let keys = self
                    .keymap
                    .keys_of(Context::Credentials, Action::RegeneratePassword);
                self.set_status(
                    StatusKind::Info,
                    format!(
                        "The password is shown only once and cannot be copied later: press {keys} to generate a new one"
                    ),
                );
                return Vec::new();
            }
        };
        let outcome = self.clipboard.copy_plain(&text);
        self.after_copy(outcome, field.what(), None)
    }
    /// Reports a copy in the status line and, for a secret, schedules its
    /// clearing from the clipboard.
    pub(crate) fn after_copy(
        &mut self,
        outcome: CopyOutcome,
        what: &str,
        secret: Option<SecretString>,
    ) -> Vec<Command> {
        let mut msg = outcome.describe(what);
        if let CopyOutcome::Failed(_) = outcome {
            self.set_status(StatusKind::Error, msg);
            return Vec::new();
        }
        let generation = self.auto_clear.copied(secret);
        if generation.is_some() {
            let secs = self.auto_clear.after().as_secs();
            // Over OSC 52 nothing can be read back: the clearing is a
            // request to the terminal, said as such.
            msg.push_str(&if self.clipboard.can_read_back() {
                format!("; cleared in {secs} s if still there")
            } else {
                format!("; the terminal is asked to clear it in {secs} s")
            });
        }
        self.set_status(StatusKind::Success, msg);
        generation
            .map(|generation| Command::ExpireClipboard {
                generation,
                after: self.auto_clear.after(),
            })
            .into_iter()
            .collect()
    }
    pub(crate) fn on_secret_revealed(
        &mut self,
        code: String,
        purpose: RevealPurpose,
        result: Result<SecretString, ClientError>,
    ) -> Vec<Command> {
        let label = self.label_of(&code);
        let secret = match result {
            Ok(secret) => secret,
            Err(e) => {
                let doing = match purpose {
                    RevealPurpose::Show => "show",
                    _ => "copy",
                };
                self.set_status(
                    StatusKind::Error,
                    format!("Cannot {doing} the secret of {label}: {e}"),
                );
                return self.backend_error(&e);
            }
        };
        match purpose {
            RevealPurpose::Show => {
                // Only beside its connection, and only while this tab shows.
                let still_here = self.tab == Tab::Credentials
                    && self.selected_connection().is_some_and(|c| c.code == code);
                if !still_here {
                    return Vec::new();
                }
                let generation = self.credentials.reveal(code, secret);
                vec![Command::RevealTick {
                    generation,
                    after: REVEAL_TICK,
                }]
            }
            RevealPurpose::Copy => {
                let outcome = self.clipboard.copy_secret(&secret);
                self.after_copy(outcome, &format!("the secret of {label}"), Some(secret))
            }
            RevealPurpose::CopyAll => {
                let Some(c) = self.data.connections.iter().find(|c| c.code == code) else {
                    self.set_status(
                        StatusKind::Error,
                        format!("{label} is gone; nothing copied"),
                    );
                    return Vec::new();
                };
                let text = env_lines(
                    &c.client_id,
                    &secret,
                    &c.username,
                    None,
                    &self.client.token_url(),
                );
                let outcome = self.clipboard.copy_secret(&text);
                self.after_copy(
                    outcome,
                    &format!("the credentials of {label} as KEY=value lines (no password)"),
                    Some(text),
                )
            }
            RevealPurpose::CopyAllWithPassword => {
                let Some(Modal::ShownOnce(shown)) = self.modals.last() else {
                    self.set_status(
                        StatusKind::Info,
                        "The password window was closed; nothing copied",
                    );
                    return Vec::new();
                };
                if shown.code != code {
                    return Vec::new();
                }
                let text = env_lines(
                    &shown.client_id,
                    &secret,
                    &shown.username,
                    shown.password.as_ref(),
                    &self.client.token_url(),
                );
                let outcome = self.clipboard.copy_secret(&text);
                self.after_copy(outcome, "all credentials as KEY=value lines", Some(text))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn a_reveal_counts_down_and_masks_itself() {
        let mut tab = CredentialsTab::default();
        let generation = tab.reveal("shop".into(), secret("sbs_x"));
        for left in (1..REVEAL_SECONDS).rev() {
            assert_eq!(tab.tick(generation), Tick::Counting);
            assert_eq!(tab.revealed_for("shop").unwrap().seconds_left, left);
        }
        assert_eq!(tab.tick(generation), Tick::Hidden);
        assert!(tab.revealed.is_none());
        assert_eq!(tab.tick(generation), Tick::Stale);
    }

    #[test]
    fn an_earlier_reveals_ticks_do_not_shorten_a_new_one() {
        let mut tab = CredentialsTab::default();
        let first = tab.reveal("shop".into(), secret("sbs_x"));
        let second = tab.reveal("shop".into(), secret("sbs_x"));
        assert_eq!(tab.tick(first), Tick::Stale);
        assert_eq!(
            tab.revealed_for("shop").unwrap().seconds_left,
            REVEAL_SECONDS
        );
        assert_eq!(tab.tick(second), Tick::Counting);
    }

    #[test]
    fn fields_move_within_the_card() {
        assert_eq!(CredField::ClientId.moved(-1), CredField::ClientId);
        assert_eq!(CredField::ClientId.moved(1), CredField::Secret);
        assert_eq!(CredField::Secret.moved(isize::MAX), CredField::TokenUrl);
        assert_eq!(CredField::TokenUrl.moved(isize::MIN), CredField::ClientId);
    }

    #[test]
    fn env_lines_name_each_value_and_add_the_password_only_when_given() {
        let lines = env_lines("sbc_id", &secret("sbs_s"), "shop_0001", None, "http://x/t");
        assert_eq!(
            lines.expose_secret(),
            "CLIENT_ID=sbc_id\nSECRET=sbs_s\nUSERNAME=shop_0001\nTOKEN_URL=http://x/t\n"
        );
        let with = env_lines(
            "sbc_id",
            &secret("sbs_s"),
            "shop_0001",
            Some(&secret("sbp_p")),
            "http://x/t",
        );
        assert!(
            with.expose_secret()
                .contains("USERNAME=shop_0001\nPASSWORD=sbp_p\nTOKEN_URL")
        );
    }
}
