//! Renders PNG screenshots of the real app, drawn by the real view code into
//! an in-memory terminal and rasterised with the bundled DejaVu fonts.
//!
//! Usage: `render-screenshots [OUT_DIR]` (default `screenshots`).

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use strum::VariantArray;

use anyhow::{Context, Result, bail};
use fontdue::{Font, FontSettings, Metrics};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{Rgb, RgbImage};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::{Buffer, Cell};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use std::sync::Arc;

use secrecy::SecretString;
use switchboard::client::{Client, InProcess};
use switchboard::model::Source;
use switchboard::service::oauth::TokenRequest;
use switchboard::service::{Actor, Service};
use switchboard::store::{Store, TestClock, sqlite_paths};
use switchboard::tui::App;
use switchboard::tui::theme::Theme;

/// The terminal size every screenshot is taken at, in cells.
const COLUMNS: u16 = 140;
const ROWS: u16 = 40;

const REGULAR_FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");
const BOLD_FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-Bold.ttf");
const FONT_PX: f32 = 15.0;
const CELL_HEIGHT: u32 = 19;
/// Blank border around the terminal, in pixels.
const PADDING: u32 = 10;

const DEFAULT_FG: [u8; 3] = [0xd0, 0xd0, 0xd0];
const DEFAULT_BG: [u8; 3] = [0x1c, 0x1c, 0x1c];

/// The 16 named colours, in ANSI order (black … white, then the bright ones).
const ANSI_PALETTE: [[u8; 3]; 16] = [
    [0x2e, 0x31, 0x36], // black
    [0xe0, 0x6c, 0x75], // red
    [0x98, 0xc3, 0x79], // green
    [0xe5, 0xc0, 0x7b], // yellow
    [0x61, 0xaf, 0xef], // blue
    [0xc6, 0x78, 0xdd], // magenta
    [0x56, 0xb6, 0xc2], // cyan
    [0xab, 0xb2, 0xbf], // gray (white)
    [0x5c, 0x63, 0x70], // dark gray (bright black)
    [0xf0, 0x8c, 0x94], // light red
    [0xb4, 0xdc, 0x96], // light green
    [0xf0, 0xd2, 0x96], // light yellow
    [0x82, 0xc3, 0xf5], // light blue
    [0xd7, 0x96, 0xeb], // light magenta
    [0x78, 0xcd, 0xd7], // light cyan
    [0xe6, 0xe8, 0xec], // white (bright white)
];

#[tokio::main]
async fn main() -> Result<()> {
    let out_dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "screenshots".into()),
    );
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("creating the output directory {}", out_dir.display()))?;
    let screens = capture_screens().await?;
    let mut rasterizer = Rasterizer::new()?;
    for screen in &screens {
        let image = rasterizer.render(&screen.buffer);
        let path = out_dir.join(screen.name);
        save_png(&image, &path).with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    for ch in rasterizer.missing_glyphs() {
        eprintln!(
            "warning: no glyph for {ch:?} (U+{:04X}); left blank",
            u32::from(ch)
        );
    }
    Ok(())
}

/// Writes `image` as a maximally compressed PNG (the files go into the repository).
fn save_png(image: &RgbImage, path: &Path) -> Result<()> {
    let file = File::create(path)?;
    let encoder = PngEncoder::new_with_quality(
        BufWriter::new(file),
        CompressionType::Best,
        FilterType::Adaptive,
    );
    image.write_with_encoder(encoder)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Driving the app
// ---------------------------------------------------------------------------

/// One rendered terminal screen and the file it goes to.
struct Screen {
    name: &'static str,
    buffer: Buffer,
}

/// Walks the app through the screens the README shows.
async fn capture_screens() -> Result<Vec<Screen>> {
    // Declared first so it is dropped last, after the app closed the store.
    let data_dir = TempDir::create()?;
    let mut session = Session::open(data_dir.path()).await?;
    let mut screens = Vec::new();

    screens.push(session.snapshot("empty.png")?);

    session.press_char('D').await;
    session.select_connection_with_logo(3).await?;
    screens.push(session.snapshot("list.png")?);

    session.press_char('/').await;
    session.type_text("sap").await;
    screens.push(session.snapshot("filter.png")?);

    // Replacing a connection three flows use (R16a): the picker.
    session.press(KeyCode::Esc).await;
    session.select_code("sap_s_4hana_production").await?;
    session.press_char('r').await;
    session.type_text("erp").await;
    screens.push(session.snapshot("replace.png")?);

    session.press(KeyCode::Esc).await;
    session.press_char('n').await;
    session.type_text("Magento Storefront").await;
    screens.push(session.snapshot("create.png")?);

    session.press(KeyCode::Enter).await;
    screens.push(session.snapshot("password-once.png")?);

    session.press(KeyCode::Esc).await;
    session.press_char('?').await;
    screens.push(session.snapshot("help.png")?);

    // The Credentials tab of the connection just created.
    session.press(KeyCode::Esc).await;
    session.press(KeyCode::Enter).await;
    screens.push(session.snapshot("credentials.png")?);

    // The Register tab: integrations with a flow, pending changes marked.
    session.add_integrations().await?;
    session.press_ctrl('r').await;
    session.press_char('2').await;
    // On the integration with the flows.
    if let Some(i) = session
        .app
        .data
        .integrations
        .iter()
        .position(|i| i.name == "Product Content")
    {
        session.app.register.selected = i;
    }
    session.press_char('g').await;
    // Back up to a connection two flows use, to show its used-by.
    for key in [' ', 'j', ' ', 'j', 'j', ' ', 'k', 'k', 'k', 'k'] {
        session.press_char(key).await;
    }
    screens.push(session.snapshot("register.png")?);

    // The flow editor: a step added on a connection not yet registered,
    // then the R14 reminder after the save.
    session.press_char('x').await;
    session.press_char('f').await;
    session.press_char('e').await;
    session.press_char('a').await;
    session.type_text("klaviyo").await;
    session.press(KeyCode::Enter).await;
    screens.push(session.snapshot("flow-editor.png")?);
    session.press_ctrl('s').await;
    screens.push(session.snapshot("flow-reminder.png")?);

    // The users window on the integration (R29): the members' access set
    // here (monitor, manage, none), the last change on the status line.
    session.press(KeyCode::Esc).await;
    session.press_char('A').await;
    for key in ['j', 'v', 'j', 'j', 'x', 'k', 'm'] {
        session.press_char(key).await;
    }
    screens.push(session.snapshot("users.png")?);
    session.press(KeyCode::Esc).await;

    // The Permissions tab: a storefront's role and group (the default role
    // still: the advice shows), the groups with their category levels.
    session.add_permissions().await?;
    session.press(KeyCode::Esc).await;
    session.press_ctrl('r').await;
    session.press_char('4').await;
    session.select_code("magento_storefront_eu").await?;
    session.press_char(']').await;
    session.press_char('l').await;
    session.press_char('j').await;
    session.press_char('j').await;
    screens.push(session.snapshot("permissions.png")?);

    // The Monitor tab: a week of real Web API traffic, all connections.
    session.add_traffic().await?;
    session.press_char('5').await;
    session.press_char('a').await;
    screens.push(session.snapshot("monitor.png")?);

    // The application side (R26): the storefront's base URL, ping path
    // and API key saved, then the form opened again: the key stored shows
    // as the mask, kept unless retyped.
    session.press_char('1').await;
    session.select_code("magento_storefront").await?;
    session.press_char('e').await;
    for _ in 0..3 {
        session.press(KeyCode::Tab).await;
    }
    session.type_text("https://shop.example.com/rest/V1").await;
    session.press(KeyCode::Tab).await;
    session.type_text("/store/storeConfigs").await;
    session.press(KeyCode::Tab).await;
    session.press(KeyCode::Right).await;
    session.press(KeyCode::Right).await;
    session.press(KeyCode::Tab).await;
    session.press(KeyCode::Tab).await;
    session.type_text("screenshot-key-not-a-real-one").await;
    session.press(KeyCode::Enter).await;
    session.press_char('e').await;
    for _ in 0..5 {
        session.press(KeyCode::Tab).await;
    }
    screens.push(session.snapshot("application.png")?);
    session.press(KeyCode::Esc).await;

    // A test that fails (R27): another connection's application at an
    // address where nothing listens, `t`, and the row and Details pane say
    // offline, since when and why.
    session.select_code("shopify_plus_us").await?;
    session.press_char('e').await;
    for _ in 0..3 {
        session.press(KeyCode::Tab).await;
    }
    session.type_text("http://127.0.0.1:9/health").await;
    session.press(KeyCode::Enter).await;
    session.press_char('t').await;
    screens.push(session.snapshot("offline.png")?);

    Ok(screens)
}

/// The app over an embedded store, drawn into an in-memory terminal; the
/// store's service answers the Web API too, on a clock the traffic moves.
struct Session {
    app: App,
    terminal: Terminal<TestBackend>,
    service: Arc<Service>,
    clock: Arc<TestClock>,
}

impl Session {
    async fn open(data_dir: &Path) -> Result<Session> {
        let (db, key) = sqlite_paths(data_dir);
        let clock = Arc::new(TestClock::default());
        let store = Store::open_sqlite(&db, &key)
            .await
            .with_context(|| format!("opening the store in {}", data_dir.display()))?
            .with_clock(clock.clone());
        let me = store.ensure_owner("alice").await?;
        let service = Arc::new(Service::new(store));
        let transport = InProcess::new(
            service.clone(),
            Actor {
                username: me.username,
                kind: me.kind,
            },
        );
        let client = Client::new(Arc::new(transport), Source::Tui);
        let mut app = App::headless(client, Theme::colored());
        app.graphics = true;
        let start = app.start();
        switchboard::tui::settle(&mut app, start).await;
        let terminal = Terminal::new(TestBackend::new(COLUMNS, ROWS))?;
        Ok(Session {
            app,
            terminal,
            service,
            clock,
        })
    }

    /// Categories, roles and groups for the Permissions tab: a tree of
    /// apparel and electronics, a role that writes products for the ERP,
    /// and a group for the EU storefronts.
    async fn add_permissions(&mut self) -> Result<()> {
        use switchboard::model::{
            CategoryGrant, CategoryLevel, NewCategory, NewGroup, NewRole, Permission,
        };
        let client = self.app.client.clone();
        if !client.list_categories().await?.is_empty() {
            return Ok(());
        }
        for (code, label, parent) in [
            ("apparel", "Apparel", None),
            ("shoes", "Shoes", Some("apparel")),
            ("jackets", "Jackets", Some("apparel")),
            ("electronics", "Electronics", None),
            ("phones", "Phones", Some("electronics")),
            ("audio", "Audio", Some("electronics")),
            ("clearance", "Clearance", None),
        ] {
            client
                .create_category(&NewCategory {
                    code: code.into(),
                    label: label.into(),
                    parent: parent.map(Into::into),
                })
                .await?;
        }
        client
            .create_role(&NewRole {
                code: "product_feed".into(),
                label: "Product feed".into(),
                permissions: Permission::VARIANTS.to_vec(),
            })
            .await?;
        client
            .create_role(&NewRole {
                code: "storefront_reader".into(),
                label: "Storefront reader".into(),
                permissions: vec![Permission::ApiAccess, Permission::ProductsList],
            })
            .await?;
        client
            .create_group(&NewGroup {
                code: "eu_webshop".into(),
                label: "EU webshop".into(),
                permissions: vec![
                    CategoryGrant {
                        category: "apparel".into(),
                        level: CategoryLevel::View,
                    },
                    CategoryGrant {
                        category: "shoes".into(),
                        level: CategoryLevel::Edit,
                    },
                    CategoryGrant {
                        category: "phones".into(),
                        level: CategoryLevel::View,
                    },
                ],
            })
            .await?;
        client
            .create_group(&NewGroup {
                code: "clearance_only".into(),
                label: "Clearance only".into(),
                permissions: vec![CategoryGrant {
                    category: "clearance".into(),
                    level: CategoryLevel::View,
                }],
            })
            .await?;
        for code in ["sap_s_4hana_production", "akeneo_pim_legacy_import"] {
            client
                .set_connection_permissions(code, Some("product_feed"), None)
                .await?;
        }
        client
            .set_connection_permissions("magento_storefront_eu", None, Some("eu_webshop"))
            .await?;
        client
            .set_connection_permissions("shopify_plus_us", Some("storefront_reader"), None)
            .await?;
        Ok(())
    }

    /// A week of Web API traffic, made by real calls with the connections'
    /// own tokens (new passwords), day by day on the store's clock: two
    /// sources create and update products, two destinations read them,
    /// with a few refused calls; and one wrong-credentials attempt (R24).
    async fn add_traffic(&mut self) -> Result<()> {
        let client = self.app.client.clone();
        let mut apps = Vec::new();
        for code in [
            "sap_s_4hana_production",
            "akeneo_pim_legacy_import",
            "magento_storefront_eu",
            "shopify_plus_us",
        ] {
            let c = client.get_connection(code).await?;
            let password = client.regenerate_password(code).await?.password;
            let secret = client.reveal_secret(code).await?.secret;
            apps.push((c.client_id, secret, c.username, password));
        }
        let created: [u32; 7] = [4, 7, 3, 9, 6, 11, 5];
        let updated: [u32; 7] = [2, 5, 8, 3, 9, 4, 7];
        let mut next = 0u32;
        self.clock.advance(chrono::Duration::days(-6));
        for day in 0..7 {
            let (erp, pim, shop, us) = (
                self.token(&apps[0], None).await?,
                self.token(&apps[1], None).await?,
                self.token(&apps[2], None).await?,
                self.token(&apps[3], None).await?,
            );
            for n in 0..created[day] {
                next += 1;
                let category = ["shoes", "jackets", "phones", "audio", "clearance"][n as usize % 5];
                let body = format!(
                    r#"{{"identifier":"sku_{next:04}","categories":["{category}"],"values":{{}}}}"#
                );
                let source = if n % 3 == 0 { &pim } else { &erp };
                self.web_api(source, "POST", "/products", Some(&body))
                    .await?;
            }
            for n in 0..updated[day] {
                let id = (n * 7 + day as u32) % next.max(1) + 1;
                let body = r#"{"values":{"name":[{"locale":null,"scope":null,"data":"Updated"}]}}"#;
                self.web_api(&erp, "PATCH", &format!("/products/sku_{id:04}"), Some(body))
                    .await?;
            }
            for _ in 0..(1 + day % 3) {
                self.web_api(&shop, "GET", "/products?limit=20", None)
                    .await?;
                self.web_api(&us, "GET", "/products?limit=50", None).await?;
            }
            // Refused calls: an unknown product, an invalid body.
            if day % 2 == 1 {
                self.web_api(&shop, "GET", "/products/missing", None)
                    .await?;
                self.web_api(&erp, "POST", "/products", Some("{}")).await?;
            }
            if day == 5 {
                // The ERP's client id and secret with the PIM's username.
                let pim_user = apps[1].2.clone();
                let refused = self.token(&apps[0], Some(&pim_user)).await;
                anyhow::ensure!(refused.is_err(), "the wrong username was accepted");
            }
            if day < 6 {
                self.clock.advance(chrono::Duration::days(1));
            }
        }
        self.press_ctrl('r').await;
        Ok(())
    }

    /// An access token for one of [`Session::add_traffic`]'s connections
    /// (client id, secret, username, password), asked with `username`
    /// when given (another connection's: refused, R24).
    async fn token(
        &self,
        app: &(String, String, String, String),
        username: Option<&str>,
    ) -> Result<String> {
        let (id, secret, user, password) = app;
        let request = TokenRequest {
            grant_type: Some("password".into()),
            username: Some(username.unwrap_or(user).to_string()),
            password: Some(SecretString::from(password.clone())),
            refresh_token: None,
            client: Some((id.clone(), SecretString::from(secret.clone()))),
        };
        self.service
            .token(request)
            .await
            .map(|t| t.access_token)
            .map_err(|e| anyhow::anyhow!("no token: {e:?}"))
    }

    /// One Web API call through the service's router.
    async fn web_api(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<u16> {
        use tower::ServiceExt;
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("/api/rest/v1{path}"))
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(axum::body::Body::from(body.unwrap_or_default().to_string()))?;
        let resp = switchboard::server::router(self.service.clone())
            .oneshot(req)
            .await?;
        Ok(resp.status().as_u16())
    }

    async fn press(&mut self, code: KeyCode) {
        self.send(KeyEvent::new(code, KeyModifiers::NONE)).await;
    }

    /// A character key as a terminal reports it: upper case comes with Shift.
    async fn press_char(&mut self, ch: char) {
        let modifiers = if ch.is_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        self.send(KeyEvent::new(KeyCode::Char(ch), modifiers)).await;
    }

    async fn press_ctrl(&mut self, ch: char) {
        self.send(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::CONTROL))
            .await;
    }

    /// Integrations for the Register tab, unless the store has some: two
    /// standard ones (one with a flow over demo connections) and an app.
    async fn add_integrations(&mut self) -> Result<()> {
        use switchboard::model::{FlowInput, FlowStep, IntegrationKind, NewIntegration, StepKind};
        let client = self.app.client.clone();
        if !client.list_integrations().await?.is_empty() {
            return Ok(());
        }
        let code_of = |label: &str| {
            self.app
                .data
                .connections
                .iter()
                .find(|c| c.label == label)
                .map(|c| c.code.clone())
                .with_context(|| format!("no {label:?} in the demo workspace"))
        };
        let erp = code_of("SAP S/4HANA Production")?;
        let pim = code_of("Akeneo PIM (legacy import)")?;
        let dam = code_of("Bynder Brand Portal")?;
        let mut codes = Vec::new();
        for (name, kind) in [
            ("Orders", IntegrationKind::Standard),
            ("Product Content", IntegrationKind::Standard),
            ("Shopify Connector", IntegrationKind::App),
        ] {
            let i = client
                .create_integration(&NewIntegration {
                    name: name.into(),
                    code: None,
                    kind,
                })
                .await?;
            codes.push(i.code);
        }
        let step = |kind, connection: &String| FlowStep {
            kind,
            connection: connection.clone(),
        };
        client
            .save_flow(
                "product_enrichment",
                &FlowInput {
                    name: "Product enrichment".into(),
                    integration: Some(codes[1].clone()),
                    steps: vec![step(StepKind::Export, &erp), step(StepKind::Import, &pim)],
                    version: None,
                },
            )
            .await?;
        client
            .save_flow(
                "asset_sync",
                &FlowInput {
                    name: "Asset sync".into(),
                    integration: Some(codes[1].clone()),
                    steps: vec![step(StepKind::Export, &dam), step(StepKind::Import, &pim)],
                    version: None,
                },
            )
            .await?;
        client
            .register(&codes[0], std::slice::from_ref(&erp))
            .await?;
        Ok(())
    }

    async fn type_text(&mut self, text: &str) {
        for ch in text.chars() {
            self.press_char(ch).await;
        }
    }

    async fn send(&mut self, key: KeyEvent) {
        switchboard::tui::feed(&mut self.app, Event::Key(key)).await;
    }

    /// Moves down at least `min_steps` rows, then on until the selected
    /// connection has a bundled logo to show.
    async fn select_connection_with_logo(&mut self, min_steps: usize) -> Result<()> {
        for step in 0..self.app.data.connections.len() {
            if step >= min_steps && self.selected_has_logo() {
                return Ok(());
            }
            self.press_char('j').await;
        }
        bail!("no connection with a logo in the demo workspace")
    }

    /// Moves the selection down to the connection `code`.
    async fn select_code(&mut self, code: &str) -> Result<()> {
        self.press_char('g').await;
        for _ in 0..self.app.data.connections.len() {
            if self
                .app
                .selected_connection()
                .is_some_and(|c| c.code == code)
            {
                return Ok(());
            }
            self.press_char('j').await;
        }
        bail!("no {code:?} in the demo workspace")
    }

    fn selected_has_logo(&self) -> bool {
        self.app
            .selected_connection()
            .and_then(|c| c.visual.as_deref())
            .is_some_and(|v| self.app.visuals.get(v).is_some())
    }

    fn snapshot(&mut self, name: &'static str) -> Result<Screen> {
        switchboard::tui::draw_once(&mut self.terminal, &mut self.app)
            .with_context(|| format!("drawing {name}"))?;
        Ok(Screen {
            name,
            buffer: self.terminal.backend().buffer().clone(),
        })
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> Result<TempDir> {
        // Short: the path shows in the app's header.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!("switchboard-shots-{}-{nanos:x}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path)
            .with_context(|| format!("creating the temporary data directory {}", path.display()))?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("warning: could not remove {}: {e}", self.0.display());
        }
    }
}

// ---------------------------------------------------------------------------
// Colours
// ---------------------------------------------------------------------------

/// The colours a cell is painted with, after modifiers.
fn cell_colors(cell: &Cell) -> ([u8; 3], [u8; 3]) {
    let mut fg = resolve_color(cell.fg, DEFAULT_FG);
    let mut bg = resolve_color(cell.bg, DEFAULT_BG);
    if cell.modifier.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    if cell.modifier.contains(Modifier::DIM) {
        fg = mix(bg, fg, 0.5);
    }
    (fg, bg)
}

fn resolve_color(color: Color, default: [u8; 3]) -> [u8; 3] {
    match color {
        Color::Reset => default,
        Color::Black => ANSI_PALETTE[0],
        Color::Red => ANSI_PALETTE[1],
        Color::Green => ANSI_PALETTE[2],
        Color::Yellow => ANSI_PALETTE[3],
        Color::Blue => ANSI_PALETTE[4],
        Color::Magenta => ANSI_PALETTE[5],
        Color::Cyan => ANSI_PALETTE[6],
        Color::Gray => ANSI_PALETTE[7],
        Color::DarkGray => ANSI_PALETTE[8],
        Color::LightRed => ANSI_PALETTE[9],
        Color::LightGreen => ANSI_PALETTE[10],
        Color::LightYellow => ANSI_PALETTE[11],
        Color::LightBlue => ANSI_PALETTE[12],
        Color::LightMagenta => ANSI_PALETTE[13],
        Color::LightCyan => ANSI_PALETTE[14],
        Color::White => ANSI_PALETTE[15],
        Color::Rgb(r, g, b) => [r, g, b],
        Color::Indexed(i) => xterm_color(i),
    }
}

/// The standard xterm-256 palette: 16 named colours, a 6×6×6 cube, 24 greys.
fn xterm_color(index: u8) -> [u8; 3] {
    const CUBE_LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match index {
        0..=15 => ANSI_PALETTE[usize::from(index)],
        16..=231 => {
            let i = usize::from(index - 16);
            [
                CUBE_LEVELS[i / 36],
                CUBE_LEVELS[(i / 6) % 6],
                CUBE_LEVELS[i % 6],
            ]
        }
        232..=255 => {
            let level = 8 + 10 * (index - 232);
            [level; 3]
        }
    }
}

/// `from` blended towards `to` by `amount` (0 = `from`, 1 = `to`).
fn mix(from: [u8; 3], to: [u8; 3], amount: f32) -> [u8; 3] {
    let amount = amount.clamp(0.0, 1.0);
    let channel =
        |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * amount).round() as u8;
    [
        channel(from[0], to[0]),
        channel(from[1], to[1]),
        channel(from[2], to[2]),
    ]
}

// ---------------------------------------------------------------------------
// Pixels
// ---------------------------------------------------------------------------

/// The pixel rectangle of one cell.
#[derive(Clone, Copy)]
struct CellRect {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

/// An image to paint cells on, with clipping.
struct Canvas {
    image: RgbImage,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Canvas {
        Canvas {
            image: RgbImage::from_pixel(width, height, Rgb(DEFAULT_BG)),
        }
    }

    /// Blends `color` over the pixel at (`x`, `y`) with `coverage` in 0..=1.
    fn blend(&mut self, x: i64, y: i64, color: [u8; 3], coverage: f32) {
        if coverage <= 0.0 || x < 0 || y < 0 {
            return;
        }
        let (x, y) = (x as u32, y as u32);
        if x >= self.image.width() || y >= self.image.height() {
            return;
        }
        let pixel = self.image.get_pixel_mut(x, y);
        pixel.0 = mix(pixel.0, color, coverage);
    }

    /// Fills `[x0, x1) × [y0, y1)`, relative to `cell`, clipped to the cell.
    fn fill(&mut self, cell: CellRect, x0: i64, y0: i64, x1: i64, y1: i64, color: [u8; 3]) {
        let (w, h) = (i64::from(cell.width), i64::from(cell.height));
        for y in y0.max(0)..y1.min(h) {
            for x in x0.max(0)..x1.min(w) {
                self.blend(i64::from(cell.x) + x, i64::from(cell.y) + y, color, 1.0);
            }
        }
    }

    /// Paints every pixel of `cell` with the coverage `shape` gives for its
    /// centre (cell-relative coordinates).
    fn paint_shape(&mut self, cell: CellRect, color: [u8; 3], shape: impl Fn(f32, f32) -> f32) {
        for y in 0..cell.height {
            for x in 0..cell.width {
                let coverage = shape(x as f32 + 0.5, y as f32 + 0.5);
                self.blend(
                    i64::from(cell.x + x),
                    i64::from(cell.y + y),
                    color,
                    coverage,
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Rasterising a buffer
// ---------------------------------------------------------------------------

/// A rasterised glyph: coverage bitmap and where it sits.
struct Glyph {
    metrics: Metrics,
    coverage: Vec<u8>,
}

struct Rasterizer {
    regular: Font,
    bold: Font,
    cell_width: u32,
    /// Distance from a cell's top to the text baseline, in pixels.
    baseline: i64,
    glyphs: HashMap<(char, bool), Option<Glyph>>,
    missing: BTreeSet<char>,
}

impl Rasterizer {
    fn new() -> Result<Rasterizer> {
        let load = |bytes: &[u8], name: &str| {
            Font::from_bytes(bytes, FontSettings::default())
                .map_err(|e| anyhow::anyhow!("loading the bundled font {name}: {e}"))
        };
        let regular = load(REGULAR_FONT, "DejaVuSansMono.ttf")?;
        let bold = load(BOLD_FONT, "DejaVuSansMono-Bold.ttf")?;
        let cell_width = regular.metrics('M', FONT_PX).advance_width.round() as u32;
        let line = regular
            .horizontal_line_metrics(FONT_PX)
            .context("the bundled font has no horizontal line metrics")?;
        let text_height = line.ascent - line.descent;
        let baseline = ((CELL_HEIGHT as f32 - text_height) / 2.0 + line.ascent).round() as i64;
        Ok(Rasterizer {
            regular,
            bold,
            cell_width,
            baseline,
            glyphs: HashMap::new(),
            missing: BTreeSet::new(),
        })
    }

    /// Characters that were asked for but are not in the fonts.
    fn missing_glyphs(&self) -> impl Iterator<Item = char> + '_ {
        self.missing.iter().copied()
    }

    fn render(&mut self, buffer: &Buffer) -> RgbImage {
        let area = buffer.area;
        let width = u32::from(area.width) * self.cell_width + 2 * PADDING;
        let height = u32::from(area.height) * CELL_HEIGHT + 2 * PADDING;
        let mut canvas = Canvas::new(width, height);
        // Backgrounds and geometric shapes first, then text, so glyphs that
        // overhang their cell are not painted over by the next background.
        let mut text = Vec::new();
        for y in area.top()..area.bottom() {
            for x in area.left()..area.right() {
                let cell = &buffer[(x, y)];
                let rect = self.cell_rect(x - area.x, y - area.y);
                let (fg, bg) = cell_colors(cell);
                canvas.fill(
                    rect,
                    0,
                    0,
                    i64::from(rect.width),
                    i64::from(rect.height),
                    bg,
                );
                let Some(ch) = cell.symbol().chars().next() else {
                    continue;
                };
                if cell.modifier.contains(Modifier::HIDDEN) {
                    continue;
                }
                if !draw_block_element(&mut canvas, rect, ch, fg)
                    && !draw_box_drawing(&mut canvas, rect, ch, fg)
                {
                    text.push((rect, ch, fg, cell.modifier));
                }
            }
        }
        for (rect, ch, fg, modifier) in text {
            self.draw_text_cell(&mut canvas, rect, ch, fg, modifier);
        }
        canvas.image
    }

    fn cell_rect(&self, column: u16, row: u16) -> CellRect {
        CellRect {
            x: PADDING + u32::from(column) * self.cell_width,
            y: PADDING + u32::from(row) * CELL_HEIGHT,
            width: self.cell_width,
            height: CELL_HEIGHT,
        }
    }

    fn draw_text_cell(
        &mut self,
        canvas: &mut Canvas,
        rect: CellRect,
        ch: char,
        fg: [u8; 3],
        modifier: Modifier,
    ) {
        if ch != ' ' {
            self.draw_glyph(canvas, rect, ch, fg, modifier.contains(Modifier::BOLD));
        }
        let width = i64::from(rect.width);
        if modifier.contains(Modifier::UNDERLINED) {
            let y = self.baseline + 2;
            canvas.fill(rect, 0, y, width, y + 1, fg);
        }
        if modifier.contains(Modifier::CROSSED_OUT) {
            let y = self.baseline - (FONT_PX * 0.3).round() as i64;
            canvas.fill(rect, 0, y, width, y + 1, fg);
        }
    }

    fn draw_glyph(
        &mut self,
        canvas: &mut Canvas,
        rect: CellRect,
        ch: char,
        fg: [u8; 3],
        bold: bool,
    ) {
        let baseline = self.baseline;
        let Some(glyph) = self.glyph(ch, bold) else {
            return;
        };
        let m = &glyph.metrics;
        let left = i64::from(rect.x) + i64::from(m.xmin);
        let top = i64::from(rect.y) + baseline - i64::from(m.ymin) - m.height as i64;
        for (row, line) in glyph.coverage.chunks(m.width.max(1)).enumerate() {
            for (col, &coverage) in line.iter().enumerate() {
                canvas.blend(
                    left + col as i64,
                    top + row as i64,
                    fg,
                    f32::from(coverage) / 255.0,
                );
            }
        }
    }

    /// The rasterised glyph, cached; `None` (remembered as missing) when
    /// neither font has the character.
    fn glyph(&mut self, ch: char, bold: bool) -> Option<&Glyph> {
        if !self.glyphs.contains_key(&(ch, bold)) {
            let preferred = if bold { &self.bold } else { &self.regular };
            let font = [preferred, &self.regular]
                .into_iter()
                .find(|f| f.has_glyph(ch));
            let glyph = font.map(|font| {
                let (metrics, coverage) = font.rasterize(ch, FONT_PX);
                Glyph { metrics, coverage }
            });
            if glyph.is_none() {
                self.missing.insert(ch);
            }
            self.glyphs.insert((ch, bold), glyph);
        }
        self.glyphs.get(&(ch, bold)).and_then(Option::as_ref)
    }
}

// ---------------------------------------------------------------------------
// Block elements (▀ ▄ █ …), drawn as rectangles so they tile seamlessly
// ---------------------------------------------------------------------------

/// The part of the cell a block element covers, in eighths: x0, y0, x1, y1.
fn block_element_eighths(ch: char) -> Option<(u32, u32, u32, u32)> {
    Some(match ch {
        '█' => (0, 0, 8, 8),
        '▀' => (0, 0, 8, 4),
        '▔' => (0, 0, 8, 1),
        '▐' => (4, 0, 8, 8),
        '▕' => (7, 0, 8, 8),
        // Lower eighths: ▁ (1/8) … ▇ (7/8), and ▄ (4/8) among them.
        '▁'..='▇' => {
            let n = ch as u32 - '▁' as u32 + 1;
            (0, 8 - n, 8, 8)
        }
        // Left eighths: ▉ (7/8) … ▏ (1/8), and ▌ (4/8) among them.
        '▉'..='▏' => {
            let n = 7 - (ch as u32 - '▉' as u32);
            (0, 0, n, 8)
        }
        _ => return None,
    })
}

/// Draws a block element; false if `ch` is not one.
fn draw_block_element(canvas: &mut Canvas, rect: CellRect, ch: char, fg: [u8; 3]) -> bool {
    let Some((x0, y0, x1, y1)) = block_element_eighths(ch) else {
        return false;
    };
    let scale = |eighths: u32, size: u32| i64::from((eighths * size + 4) / 8);
    canvas.fill(
        rect,
        scale(x0, rect.width),
        scale(y0, rect.height),
        scale(x1, rect.width),
        scale(y1, rect.height),
        fg,
    );
    true
}

// ---------------------------------------------------------------------------
// Box drawing (─ │ ╭ ╔ …), drawn as lines from the cell centre to its edges
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stroke {
    None,
    Light,
    Heavy,
}

impl Stroke {
    fn thickness(self) -> i64 {
        match self {
            Stroke::None => 0,
            Stroke::Light => 1,
            Stroke::Heavy => 2,
        }
    }
}

/// Which of a line character's arms (up, down, left, right) are drawn, and how.
#[derive(Clone, Copy)]
struct Arms {
    up: Stroke,
    down: Stroke,
    left: Stroke,
    right: Stroke,
}

/// Box-drawing characters, in the shapes this renderer draws.
enum BoxShape {
    /// Straight arms meeting in the centre.
    Arms(Arms),
    /// A light quarter circle joining a horizontal and a vertical arm;
    /// the directions the arms go (x: ±1 right/left, y: ±1 down/up).
    Rounded {
        dx: i64,
        dy: i64,
    },
    /// Two parallel lines, straight across.
    DoubleHorizontal,
    DoubleVertical,
    /// A corner of two parallel lines, arms going towards (dx, dy).
    DoubleCorner {
        dx: i64,
        dy: i64,
    },
}

fn box_shape(ch: char) -> Option<BoxShape> {
    use Stroke::{Heavy as H, Light as L, None as N};
    let arms = |up, down, left, right| {
        BoxShape::Arms(Arms {
            up,
            down,
            left,
            right,
        })
    };
    Some(match ch {
        '─' => arms(N, N, L, L),
        '│' => arms(L, L, N, N),
        '┌' => arms(N, L, N, L),
        '┐' => arms(N, L, L, N),
        '└' => arms(L, N, N, L),
        '┘' => arms(L, N, L, N),
        '├' => arms(L, L, N, L),
        '┤' => arms(L, L, L, N),
        '┬' => arms(N, L, L, L),
        '┴' => arms(L, N, L, L),
        '┼' => arms(L, L, L, L),
        '╴' => arms(N, N, L, N),
        '╵' => arms(L, N, N, N),
        '╶' => arms(N, N, N, L),
        '╷' => arms(N, L, N, N),
        '━' => arms(N, N, H, H),
        '┃' => arms(H, H, N, N),
        '┏' => arms(N, H, N, H),
        '┓' => arms(N, H, H, N),
        '┗' => arms(H, N, N, H),
        '┛' => arms(H, N, H, N),
        '┣' => arms(H, H, N, H),
        '┫' => arms(H, H, H, N),
        '┳' => arms(N, H, H, H),
        '┻' => arms(H, N, H, H),
        '╋' => arms(H, H, H, H),
        '╭' => BoxShape::Rounded { dx: 1, dy: 1 },
        '╮' => BoxShape::Rounded { dx: -1, dy: 1 },
        '╰' => BoxShape::Rounded { dx: 1, dy: -1 },
        '╯' => BoxShape::Rounded { dx: -1, dy: -1 },
        '═' => BoxShape::DoubleHorizontal,
        '║' => BoxShape::DoubleVertical,
        '╔' => BoxShape::DoubleCorner { dx: 1, dy: 1 },
        '╗' => BoxShape::DoubleCorner { dx: -1, dy: 1 },
        '╚' => BoxShape::DoubleCorner { dx: 1, dy: -1 },
        '╝' => BoxShape::DoubleCorner { dx: -1, dy: -1 },
        _ => return None,
    })
}

/// Half the distance between the two lines of a double line, in pixels.
const DOUBLE_GAP: i64 = 2;

/// Draws a box-drawing character; false if `ch` is not one this renderer
/// knows (the font then draws it).
fn draw_box_drawing(canvas: &mut Canvas, rect: CellRect, ch: char, fg: [u8; 3]) -> bool {
    let Some(shape) = box_shape(ch) else {
        return false;
    };
    let lines = CellLines::new(rect);
    match shape {
        BoxShape::Arms(arms) => lines.arms(canvas, arms, fg),
        BoxShape::Rounded { dx, dy } => lines.rounded(canvas, dx, dy, fg),
        BoxShape::DoubleHorizontal => {
            lines.horizontal(canvas, lines.mid_y - DOUBLE_GAP, 0, lines.w, fg);
            lines.horizontal(canvas, lines.mid_y + DOUBLE_GAP, 0, lines.w, fg);
        }
        BoxShape::DoubleVertical => {
            lines.vertical(canvas, lines.mid_x - DOUBLE_GAP, 0, lines.h, fg);
            lines.vertical(canvas, lines.mid_x + DOUBLE_GAP, 0, lines.h, fg);
        }
        BoxShape::DoubleCorner { dx, dy } => lines.double_corner(canvas, dx, dy, fg),
    }
    true
}

/// Where a cell's centre lines run: the same pixel columns and rows in every
/// cell, so lines join across cells.
struct CellLines {
    rect: CellRect,
    w: i64,
    h: i64,
    /// Left column / top row of a 1-pixel centre line.
    mid_x: i64,
    mid_y: i64,
}

impl CellLines {
    fn new(rect: CellRect) -> CellLines {
        let (w, h) = (i64::from(rect.width), i64::from(rect.height));
        CellLines {
            rect,
            w,
            h,
            mid_x: (w - 1) / 2,
            mid_y: (h - 1) / 2,
        }
    }

    /// A 1-pixel horizontal line in row `y` over columns `[x0, x1)`.
    fn horizontal(&self, canvas: &mut Canvas, y: i64, x0: i64, x1: i64, fg: [u8; 3]) {
        canvas.fill(self.rect, x0, y, x1, y + 1, fg);
    }

    /// A 1-pixel vertical line in column `x` over rows `[y0, y1)`.
    fn vertical(&self, canvas: &mut Canvas, x: i64, y0: i64, y1: i64, fg: [u8; 3]) {
        canvas.fill(self.rect, x, y0, x + 1, y1, fg);
    }

    /// Straight arms from the centre to the edges; a heavy arm is thickened
    /// towards the bottom / right.
    fn arms(&self, canvas: &mut Canvas, arms: Arms, fg: [u8; 3]) {
        let (x, y) = (self.mid_x, self.mid_y);
        // The centre square covers the widest crossing stroke.
        let across = arms.left.thickness().max(arms.right.thickness());
        let along = arms.up.thickness().max(arms.down.thickness());
        if arms.up != Stroke::None {
            canvas.fill(self.rect, x, 0, x + arms.up.thickness(), y + across, fg);
        }
        if arms.down != Stroke::None {
            canvas.fill(self.rect, x, y, x + arms.down.thickness(), self.h, fg);
        }
        if arms.left != Stroke::None {
            canvas.fill(self.rect, 0, y, x + along, y + arms.left.thickness(), fg);
        }
        if arms.right != Stroke::None {
            canvas.fill(self.rect, x, y, self.w, y + arms.right.thickness(), fg);
        }
    }

    /// A light rounded corner: a quarter circle touching the centre lines,
    /// continued straight to the edges it points to.
    fn rounded(&self, canvas: &mut Canvas, dx: i64, dy: i64, fg: [u8; 3]) {
        let (line_x, line_y) = (self.mid_x as f32 + 0.5, self.mid_y as f32 + 0.5);
        let (w, h) = (self.w as f32, self.h as f32);
        let radius = line_x.min(w - line_x).min(line_y).min(h - line_y);
        let (dx, dy) = (dx as f32, dy as f32);
        let (centre_x, centre_y) = (line_x + dx * radius, line_y + dy * radius);
        let stroke = |distance: f32| (1.0 - distance.abs()).clamp(0.0, 1.0);
        canvas.paint_shape(self.rect, fg, |x, y| {
            let beyond_x = (x - centre_x) * dx > 0.0;
            let beyond_y = (y - centre_y) * dy > 0.0;
            match (beyond_x, beyond_y) {
                (false, false) => stroke((x - centre_x).hypot(y - centre_y) - radius),
                (true, false) => stroke(y - line_y),
                (false, true) => stroke(x - line_x),
                (true, true) => 0.0,
            }
        });
    }

    /// A corner of a double line: an outer and an inner corner, each with a
    /// horizontal arm towards `dx` and a vertical one towards `dy`.
    fn double_corner(&self, canvas: &mut Canvas, dx: i64, dy: i64, fg: [u8; 3]) {
        for side in [-1, 1] {
            let x = self.mid_x + side * dx * DOUBLE_GAP;
            let y = self.mid_y + side * dy * DOUBLE_GAP;
            let (x0, x1) = if dx > 0 { (x, self.w) } else { (0, x + 1) };
            let (y0, y1) = if dy > 0 { (y, self.h) } else { (0, y + 1) };
            self.horizontal(canvas, y, x0, x1, fg);
            self.vertical(canvas, x, y0, y1, fg);
        }
    }
}
