//! Argument parsing and wiring: pick the backend, run the TUI or a command.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use switchboard::client::Client;
use switchboard::config::{self, Paths};
use switchboard::model::Source;
use switchboard::tui::{self, keymap::Keymap};

#[derive(Parser, Debug)]
#[command(
    name = "switchboard",
    version,
    about = "Administer API connections from the terminal"
)]
struct Cli {
    /// Where the embedded store, its key file and the log live.
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Do not capture the mouse (keeps the terminal's own text selection).
    #[arg(long)]
    no_mouse: bool,
    /// Seconds after which a copied secret is cleared from the clipboard.
    #[arg(long, env = "SWITCHBOARD_CLIPBOARD_CLEAR_SECS", default_value_t = 30)]
    clipboard_clear_secs: u64,
    /// Log filter, e.g. `info` or `switchboard=debug` (the log is a file in the data directory).
    #[arg(long, env = "SWITCHBOARD_LOG", default_value = "info", global = true)]
    log_level: String,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Show or set the account's connection limit (R2; 0 = unlimited).
    Quota {
        #[command(subcommand)]
        action: Option<QuotaCmd>,
    },
    /// Print the key bindings (with a user keymap applied) as a Markdown table.
    Keys,
    /// Print the paths Switchboard uses.
    Paths,
}

#[derive(Subcommand, Debug)]
enum QuotaCmd {
    /// Print the limit and how many connections exist.
    Show,
    /// Set the limit.
    Set { max_connections: u64 },
}

fn init_logging(
    paths: &Paths,
    filter: &str,
) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    switchboard::store::create_private_dir(&paths.data_dir)?;
    let appender = tracing_appender::rolling::never(&paths.data_dir, "switchboard.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("--log-level {filter:?} is not a valid log filter"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .init();
    Ok(guard)
}

fn load_keymap(paths: &Paths) -> anyhow::Result<Keymap> {
    let file = paths.keymap_file();
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(Keymap::with_overrides(&text, &file.display().to_string())?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Keymap::default_keymap()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
    }
}

async fn embedded_client(paths: &Paths, source: Source) -> anyhow::Result<Client> {
    Client::embedded(&paths.data_dir, &config::local_username(), source)
        .await
        .with_context(|| format!("cannot open the store in {}", paths.data_dir.display()))
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchboard: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One readable line with its causes; no backtrace for users.
            eprintln!("switchboard: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let paths = Paths::resolve(cli.data_dir.clone())?;
    match cli.command {
        Some(Cmd::Keys) => {
            print!("{}", load_keymap(&paths)?.markdown());
            return Ok(());
        }
        Some(Cmd::Paths) => {
            println!("data directory   {}", paths.data_dir.display());
            println!(
                "database         {}",
                paths.data_dir.join("switchboard.db").display()
            );
            println!(
                "key file         {}",
                paths.data_dir.join("switchboard.key").display()
            );
            println!("log file         {}", paths.log_file().display());
            println!("config directory {}", paths.config_dir.display());
            println!("keymap file      {}", paths.keymap_file().display());
            return Ok(());
        }
        _ => {}
    }
    let _log_guard = init_logging(&paths, &cli.log_level)?;
    match cli.command {
        Some(Cmd::Quota { action }) => {
            let client = embedded_client(&paths, Source::Cli).await?;
            let q = match action {
                Some(QuotaCmd::Set { max_connections }) => {
                    client.set_max_connections(max_connections).await?
                }
                None | Some(QuotaCmd::Show) => client.quota().await?,
            };
            let max = if q.max_connections == 0 {
                "unlimited".to_string()
            } else {
                q.max_connections.to_string()
            };
            println!(
                "connections {} · limit {max}{}",
                q.count,
                if q.reached { " · reached" } else { "" }
            );
            Ok(())
        }
        _ => {
            let keymap = load_keymap(&paths)?;
            let client = embedded_client(&paths, Source::Tui).await?;
            let options = tui::app_options(
                !cli.no_mouse,
                keymap,
                Duration::from_secs(cli.clipboard_clear_secs),
            );
            let result = tui::run(client, options).await;
            if let Err(e) = &result {
                tracing::error!(error = %e, "tui failed");
            }
            result
        }
    }
}
