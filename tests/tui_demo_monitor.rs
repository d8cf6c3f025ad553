//! The demo workspace brings a week of monitoring history (R23) and a
//! wrong-credentials warning (R24), marked as demo data, so the Monitor tab
//! shows what it is for right after `D`. Everything on the test clock.

use std::sync::Arc;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use switchboard::client::Client;
use switchboard::model::Source;
use switchboard::store::TestClock;
use switchboard::tui::theme::Theme;
use switchboard::tui::{self, App};

async fn embedded(dir: &std::path::Path) -> Client {
    Client::embedded_with_clock(
        dir,
        "alice",
        None,
        Source::Tui,
        Arc::new(TestClock::default()),
    )
    .await
    .unwrap()
}

fn key(c: char) -> Event {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    Event::Key(KeyEvent::new(KeyCode::Char(c), mods))
}

fn screen(terminal: &mut Terminal<TestBackend>, app: &mut App) -> String {
    tui::draw_once(terminal, app).unwrap();
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn r23_after_d_the_monitor_tab_shows_the_demo_week_with_bars_marked_as_demo_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::headless(embedded(dir.path()).await, Theme::colored());
    let start = app.start();
    tui::settle(&mut app, start).await;
    let mut terminal = Terminal::new(TestBackend::new(120, 44)).unwrap();
    tui::feed(&mut app, key('D')).await;
    tui::feed(&mut app, key('5')).await;
    assert!(app.monitor.all, "All connections comes first");
    let shown = screen(&mut terminal, &mut app);
    assert!(
        shown.contains("Monitor · all connections · demo history"),
        "{shown}"
    );
    let overview = app.monitor.overview().expect("the overview is loaded");
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
    let at = app
        .filter
        .visible()
        .iter()
        .position(|&i| app.connections[i].code == "sap_s_4hana_production")
        .expect("the demo's SAP connection is listed");
    for _ in 0..=at {
        tui::feed(&mut app, key('j')).await;
    }
    assert_eq!(
        app.selected_connection().unwrap().code,
        "sap_s_4hana_production"
    );
    let shown = screen(&mut terminal, &mut app);
    assert!(
        shown.contains("Monitor · SAP S/4HANA Production · source · demo history"),
        "{shown}"
    );
    assert!(shown.contains('█'), "{shown}");
}

#[tokio::test]
async fn r23_r24_the_demo_brings_a_week_of_hourly_history_on_the_store_clock_marked_as_demo() {
    let dir = tempfile::tempdir().unwrap();
    let client = embedded(dir.path()).await;
    let before = client.monitoring().await.unwrap();
    assert!(!before.demo);
    client.load_demo().await.unwrap();
    let o = client.monitoring().await.unwrap();
    assert!(o.demo, "marked as demo data");
    // The window is the test clock's week, not the wall clock's.
    let today = chrono::DateTime::parse_from_rfc3339(TestClock::START)
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
