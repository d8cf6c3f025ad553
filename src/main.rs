//! Argument parsing and wiring: pick the backend, run the TUI, the server or
//! a command.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use switchboard::client::{Client, ClientError, SessionStore, normalize_url};
use switchboard::config::{self, Paths};
use switchboard::model::{NewUser, PasswordChange, Source, UserKind};
use switchboard::server::serve::{self, TlsFiles};
use switchboard::service::Service;
use switchboard::service::users::OwnerSetup;
use switchboard::store::{Location, PoolConfig, Store};
use switchboard::tui::{self, keymap::Keymap};

#[derive(Parser, Debug)]
#[command(
    name = "switchboard",
    version,
    about = "Administer API connections from the terminal"
)]
struct Cli {
    /// Where the embedded store, its key file, sessions and the log live.
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Use a Switchboard server instead of the embedded store (log in first
    /// with `switchboard login URL`).
    #[arg(long, env = "SWITCHBOARD_SERVER", global = true)]
    server: Option<String>,
    /// A PEM certificate of a private CA to trust for the server's TLS.
    #[arg(long, env = "SWITCHBOARD_CA_CERT", global = true)]
    ca_cert: Option<PathBuf>,
    /// Open the embedded store as this user of it, to see exactly what they
    /// see (R18) and may do (not with --server).
    #[arg(long = "as", value_name = "USERNAME", conflicts_with = "server")]
    as_user: Option<String>,
    /// Do not capture the mouse (keeps the terminal's own text selection).
    #[arg(long)]
    no_mouse: bool,
    /// Seconds after which a copied secret is cleared from the clipboard.
    #[arg(long, env = "SWITCHBOARD_CLIPBOARD_CLEAR_SECS", default_value_t = 30)]
    clipboard_clear_secs: u64,
    /// Log filter, e.g. `info` or `switchboard=debug`.
    #[arg(long, env = "SWITCHBOARD_LOG", default_value = "info", global = true)]
    log_level: String,
    #[command(subcommand)]
    command: Option<Cmd>,
}

// Parsed once per process: the size of `serve`'s options costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Cmd {
    /// Serve the backend over HTTP(S) for the team.
    Serve(ServeArgs),
    /// Log in to a server and keep the session in the data directory.
    Login {
        /// The server, e.g. http://127.0.0.1:7878
        url: String,
        /// Asked for when absent.
        #[arg(long)]
        username: Option<String>,
        /// Read the password from this file instead of asking.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// End the session with a server and forget it.
    Logout { url: String },
    /// Manage the people who administer (the local store, or `--server`).
    Users {
        #[command(subcommand)]
        action: UsersCmd,
    },
    /// Show or set the account's connection limit (R2; 0 = unlimited).
    Quota {
        #[command(subcommand)]
        action: Option<QuotaCmd>,
    },
    /// Show or rotate the key ring that encrypts the connections' secrets.
    Keyring {
        #[command(subcommand)]
        action: KeyringCmd,
        /// The database: a SQLite file path, or a PostgreSQL URL
        /// (postgres://user:password@host/database) (default: the SQLite
        /// file in the data directory).
        #[arg(long, env = "SWITCHBOARD_DATABASE", global = true)]
        database: Option<String>,
        /// The key file (default: next to a SQLite database; in the data
        /// directory for PostgreSQL).
        #[arg(long, global = true)]
        key_file: Option<PathBuf>,
    },
    /// Move a store to another engine.
    Store {
        #[command(subcommand)]
        action: StoreCmd,
    },
    /// Drive real Web API calls (list, get, create, update, and some that
    /// fail) with a few demo connections against a running server, printing
    /// a summary each second, so the Monitor tab has something to show.
    /// It regenerates those connections' passwords (which revokes their
    /// tokens) and reveals their secrets, as the logged-in user.
    DemoTraffic {
        /// Stop after this many seconds (default: until Ctrl-C).
        #[arg(long)]
        seconds: Option<u64>,
        /// Requests per second, all connections together.
        #[arg(long, default_value_t = 10)]
        rate: u32,
        /// Drive this connection (repeatable; default: the demo workspace's
        /// ERP, suppliers and shops).
        #[arg(long = "connection", value_name = "CODE")]
        connections: Vec<String>,
    },
    /// Test a connection's application (R27): call it for real with its
    /// auth and say what it answered. Exits 0 when it passed, 1 when not (a
    /// failure marks the connection offline, a success clears it).
    Test {
        /// The connection's code.
        code: String,
    },
    /// Print the key bindings (with a user keymap applied) as a Markdown table.
    Keys,
    /// Print the paths Switchboard uses.
    Paths,
}

#[derive(Subcommand, Debug)]
enum StoreCmd {
    /// Copy everything of a SQLite store (the data directory's by default)
    /// into an empty PostgreSQL database, in one transaction: secrets stay
    /// encrypted under the same key ring, counts are checked at the end. A
    /// target that holds anything is refused.
    Copy {
        /// The PostgreSQL database to fill: postgres://user:password@host/database
        #[arg(long, value_name = "URL")]
        to: String,
        /// The SQLite file to copy (default: the data directory's).
        #[arg(long, value_name = "PATH")]
        from: Option<PathBuf>,
        /// The key file of the SQLite store (default: next to it). The
        /// PostgreSQL instances need the same key file.
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum KeyringCmd {
    /// List the keys, which one encrypts, and how many secrets each holds.
    List,
    /// Add a new key, make it the active one and re-encrypt every secret
    /// with it (one transaction). Old keys stay in the ring.
    Rotate,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = switchboard::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// The database: a SQLite file path or `sqlite://PATH` (default: in
    /// the data directory), or a PostgreSQL URL
    /// (postgres://user:password@host/database) that several instances
    /// may share.
    #[arg(long, env = "SWITCHBOARD_DATABASE")]
    database: Option<String>,
    /// The key file that encrypts secrets (default: next to a SQLite
    /// database; in the data directory for PostgreSQL). Every instance on
    /// one database needs the same key file.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// PostgreSQL: the most connections this instance opens.
    #[arg(long, env = "SWITCHBOARD_DB_POOL_SIZE", default_value_t = 10)]
    db_pool_size: u32,
    /// PostgreSQL: seconds a request waits for a database connection
    /// (connecting included) before it is answered 503.
    #[arg(long, env = "SWITCHBOARD_DB_CONNECT_TIMEOUT", default_value_t = 5)]
    db_connect_timeout: u64,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Name of the owner to create on an empty database (default "owner").
    #[arg(long)]
    owner: Option<String>,
    /// The owner's password, from this file; else asked for at a terminal
    /// with --owner, else generated and printed once.
    #[arg(long)]
    owner_password_file: Option<PathBuf>,
    /// Web API requests per second each connection may send (a token
    /// bucket; past it, 429 with Retry-After). 0 turns the limit off.
    #[arg(long, env = "SWITCHBOARD_RATE_LIMIT", default_value_t = switchboard::service::catalog::DEFAULT_RATE_PER_SECOND)]
    rate_limit: u32,
    /// Requests a connection may send at once above the rate (the bucket's size).
    #[arg(long, env = "SWITCHBOARD_RATE_BURST", default_value_t = switchboard::service::catalog::DEFAULT_RATE_BURST)]
    rate_burst: u32,
    /// The URL clients reach this server at (`https://pim.example.com`):
    /// absolute links in Web API answers are built from it (default: the
    /// address it listens on). Set it behind a load balancer or proxy.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL", value_name = "URL", value_parser = parse_public_url)]
    public_url: Option<String>,
    /// A proxy (address or CIDR, repeatable) whose `X-Forwarded-Host` and
    /// `X-Forwarded-Proto` links may follow; from anyone else they are
    /// ignored.
    #[arg(long = "trusted-proxy", env = "SWITCHBOARD_TRUSTED_PROXIES", value_delimiter = ',', value_name = "CIDR", value_parser = parse_cidr)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Token requests (grants and refreshes) each client may make per
    /// second on this instance (a token bucket; past it, 429 with
    /// Retry-After). 0 turns the limit off.
    #[arg(long, env = "SWITCHBOARD_TOKEN_RATE_LIMIT", default_value_t = switchboard::service::oauth::DEFAULT_TOKENS_PER_SECOND)]
    token_rate_limit: u32,
    /// Token requests a client may make at once above that rate.
    #[arg(long, env = "SWITCHBOARD_TOKEN_RATE_BURST", default_value_t = switchboard::service::oauth::DEFAULT_TOKEN_BURST)]
    token_rate_burst: u32,
    /// The most live tokens (access and refresh; each grant makes a pair)
    /// a connection keeps: issuing past it revokes the oldest.
    #[arg(long, env = "SWITCHBOARD_MAX_LIVE_TOKENS", default_value_t = switchboard::service::oauth::DEFAULT_LIVE_TOKENS, value_parser = clap::value_parser!(u32).range(2..=1_000_000))]
    max_live_tokens: u32,
    /// Seconds a client may take to send a request's headers; an idle
    /// keep-alive connection is closed after as long.
    #[arg(long, env = "SWITCHBOARD_HEADER_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// Connections kept open at once (keep it under the process's open-file
    /// limit, `ulimit -n`); past it, new connections are closed at once.
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS", default_value_t = switchboard::server::serve::MAX_CONNECTIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    max_connections: usize,
    /// Seconds a connection test (R27: a call of the application, an
    /// OAuth2 token first when it uses one) may take in all; at most 25, so
    /// the answer comes within the clients' own 30 s.
    #[arg(long, env = "SWITCHBOARD_TEST_TIMEOUT", value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=25))]
    test_timeout: u64,
    /// Addresses (CIDR or one address, repeatable) connection tests must
    /// not reach, besides the default link-local and cloud metadata ones
    /// (169.254.0.0/16, fe80::/10, fd00:ec2::254, 100.100.100.200).
    #[arg(long = "test-deny", env = "SWITCHBOARD_TEST_DENY", value_delimiter = ',', value_name = "CIDR", value_parser = parse_cidr)]
    test_deny: Vec<ipnet::IpNet>,
    /// Addresses (CIDR or one address, repeatable) connection tests may
    /// reach even when denied (by default or by --test-deny).
    #[arg(long = "test-allow", env = "SWITCHBOARD_TEST_ALLOW", value_delimiter = ',', value_name = "CIDR", value_parser = parse_cidr)]
    test_allow: Vec<ipnet::IpNet>,
    /// Serve GET /metrics (Prometheus text format: requests by route and
    /// status, latency, tokens issued and refused, lockouts, the database
    /// pool), without authentication: keep the port from the public.
    #[arg(long, env = "SWITCHBOARD_METRICS")]
    metrics: bool,
}

#[derive(Subcommand, Debug)]
enum UsersCmd {
    /// List users.
    List,
    /// Add a member (or an admin); prints a generated password unless one is given.
    Add {
        username: String,
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Remove a user and end their sessions.
    Remove { username: String },
    /// Set a user's password; prints a generated one unless one is given.
    SetPassword {
        username: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Give a member `manage` or `monitor` access to an integration (R19).
    Grant {
        username: String,
        integration: String,
        /// manage or monitor
        level: String,
    },
    /// Take a member's access to an integration away.
    Revoke {
        username: String,
        integration: String,
    },
}

#[derive(Subcommand, Debug)]
enum QuotaCmd {
    /// Print the limit and how many connections exist.
    Show,
    /// Set the limit.
    Set { max_connections: u64 },
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
        // Already said on standard output (a failed connection test).
        Err(e) if e.downcast_ref::<Reported>().is_some() => std::process::ExitCode::FAILURE,
        Err(e) => {
            // One readable line with its causes; no backtrace for users.
            eprintln!("switchboard: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A failure the command has already told the user about: the process
/// exits 1 without another message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Reported(String);

/// Logs to a file in the data directory (the TUI and commands).
fn log_to_file(
    paths: &Paths,
    filter: &str,
) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    switchboard::store::create_private_dir(&paths.data_dir)?;
    // 0600 like every file of the data directory (the appender would make
    // it 0644).
    switchboard::store::ensure_private_file(&paths.log_file())?;
    let appender = tracing_appender::rolling::never(&paths.data_dir, "switchboard.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    tracing_subscriber::fmt()
        .with_env_filter(env_filter(filter)?)
        .with_writer(writer)
        .with_ansi(false)
        .init();
    Ok(guard)
}

/// Logs to standard error (the server), in colour only when standard error
/// is a terminal (and `NO_COLOR` is not set): a redirected log stays plain
/// text, without escape sequences.
fn log_to_stderr(filter: &str) -> anyhow::Result<()> {
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(env_filter(filter)?)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
    Ok(())
}

fn env_filter(filter: &str) -> anyhow::Result<tracing_subscriber::EnvFilter> {
    tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("--log-level {filter:?} is not a valid log filter"))
}

fn load_keymap(paths: &Paths) -> anyhow::Result<Keymap> {
    let file = paths.keymap_file();
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(Keymap::with_overrides(&text, &file.display().to_string())?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Keymap::default_keymap()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", file.display())),
    }
}

/// The client the TUI and commands use: the server when `--server` is given
/// (with the stored session), else the embedded store.
async fn client(cli: &Cli, paths: &Paths, source: Source) -> anyhow::Result<Client> {
    match &cli.server {
        Some(url) => {
            let token = SessionStore::in_dir(&paths.data_dir).load(url)?;
            Ok(Client::http(url, cli.ca_cert.as_deref(), token, source)?)
        }
        None => match &cli.as_user {
            Some(user) => {
                Client::embedded_as(&paths.data_dir, &config::local_username(), user, source)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot open the store in {} as {user}",
                            paths.data_dir.display()
                        )
                    })
            }
            None => Client::embedded(&paths.data_dir, &config::local_username(), source)
                .await
                .with_context(|| format!("cannot open the store in {}", paths.data_dir.display())),
        },
    }
}

/// A password from a file (trailing newline removed).
fn password_from_file(path: &Path) -> anyhow::Result<SecretString> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the password file {}", path.display()))?;
    Ok(SecretString::from(
        text.trim_end_matches(['\n', '\r']).to_string(),
    ))
}

/// A password from `--password-file`, if given, for a request body.
fn optional_password(file: Option<&Path>) -> anyhow::Result<Option<String>> {
    Ok(file
        .map(password_from_file)
        .transpose()?
        .map(|p| p.expose_secret().to_string()))
}

/// Asks for a password without echo at a terminal; reads a line otherwise.
fn ask_password(prompt: &str) -> anyhow::Result<SecretString> {
    if std::io::stdin().is_terminal() {
        Ok(SecretString::from(rpassword::prompt_password(prompt)?))
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(SecretString::from(
            line.trim_end_matches(['\n', '\r']).to_string(),
        ))
    }
}

fn ask_line(prompt: &str) -> anyhow::Result<String> {
    print!("{prompt}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let paths = Paths::resolve(cli.data_dir.clone())?;
    let server = match &cli.command {
        // A 401 answering `login` is a wrong password, not a missing session.
        Some(Cmd::Login { .. } | Cmd::Logout { .. }) => None,
        _ => cli.server.as_deref().map(normalize_url),
    };
    let result = run_command(&cli, &paths).await;
    match (result, server) {
        (Err(e), Some(url)) => Err(with_login_hint(e, &url, &paths)),
        (result, _) => result,
    }
}

/// A server's 401 said in the CLI user's terms: what to run, with the
/// server's URL, rather than which HTTP header the request lacked.
fn with_login_hint(e: anyhow::Error, url: &str, paths: &Paths) -> anyhow::Error {
    let unauthenticated = e
        .downcast_ref::<ClientError>()
        .is_some_and(|c| c.status() == Some(401));
    if !unauthenticated {
        return e;
    }
    let had_session = matches!(SessionStore::in_dir(&paths.data_dir).load(url), Ok(Some(_)));
    if had_session {
        anyhow::anyhow!(
            "the session with {url} has ended or was refused: run `switchboard login {url}` again"
        )
    } else {
        anyhow::anyhow!("not logged in to {url}: run `switchboard login {url}`")
    }
}

async fn run_command(cli: &Cli, paths: &Paths) -> anyhow::Result<()> {
    if let Some(mode) = switchboard::store::open_to_others(&paths.data_dir) {
        eprintln!(
            "warning: the data directory {} is open to other users (mode {mode:o}); it holds the database and the key file: run `chmod 700 {}`",
            paths.data_dir.display(),
            paths.data_dir.display()
        );
    }
    match &cli.command {
        Some(Cmd::Keys) => {
            print!("{}", load_keymap(paths)?.markdown());
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
            println!(
                "sessions         {}",
                paths.data_dir.join("sessions.json").display()
            );
            println!("log file         {}", paths.log_file().display());
            println!("config directory {}", paths.config_dir.display());
            println!("keymap file      {}", paths.keymap_file().display());
            return Ok(());
        }
        Some(Cmd::Serve(args)) => {
            log_to_stderr(&cli.log_level)?;
            return serve_command(paths, args).await;
        }
        Some(Cmd::Keyring {
            action,
            database,
            key_file,
        }) => {
            return keyring_command(paths, action, database.as_deref(), key_file.as_deref()).await;
        }
        Some(Cmd::Store {
            action: StoreCmd::Copy { to, from, key_file },
        }) => {
            return store_copy_command(paths, to, from.as_deref(), key_file.as_deref()).await;
        }
        _ => {}
    }
    let _log_guard = log_to_file(paths, &cli.log_level)?;
    match &cli.command {
        Some(Cmd::Login {
            url,
            username,
            password_file,
        }) => {
            let username = match username {
                Some(u) => u.clone(),
                None => ask_line("Username: ")?,
            };
            let password = match password_file {
                Some(f) => password_from_file(f)?,
                None => ask_password("Password: ")?,
            };
            let client = Client::http(url, cli.ca_cert.as_deref(), None, Source::Cli)?;
            let session = client.login(&username, password.expose_secret()).await?;
            SessionStore::in_dir(&paths.data_dir).save(url, &SecretString::from(session.token))?;
            println!(
                "Logged in to {} as {} ({}). The session ends after {} hours without use.",
                normalize_url(url),
                session.user.username,
                session.user.kind.as_str(),
                session.idle_timeout_secs / 3600
            );
            Ok(())
        }
        Some(Cmd::Logout { url }) => {
            let store = SessionStore::in_dir(&paths.data_dir);
            let Some(token) = store.load(url)? else {
                println!("Not logged in to {}.", normalize_url(url));
                return Ok(());
            };
            let client = Client::http(url, cli.ca_cert.as_deref(), Some(token), Source::Cli)?;
            let ended = client.logout().await;
            store.remove(url)?;
            match ended {
                Ok(()) => println!("Logged out of {}.", normalize_url(url)),
                Err(e) => println!(
                    "Forgot the session with {} (the server could not be told: {e}).",
                    normalize_url(url)
                ),
            }
            Ok(())
        }
        Some(Cmd::Users { action }) => users_command(cli, paths, action).await,
        Some(Cmd::Test { code }) => test_command(cli, paths, code).await,
        Some(Cmd::DemoTraffic {
            seconds,
            rate,
            connections,
        }) => demo_traffic_command(cli, paths, *seconds, *rate, connections).await,
        Some(Cmd::Quota { action }) => {
            let client = client(cli, paths, Source::Cli).await?;
            let q = match action {
                Some(QuotaCmd::Set { max_connections }) => {
                    client.set_max_connections(*max_connections).await?
                }
                None | Some(QuotaCmd::Show) => client.quota().await?,
            };
            let max = if q.max_connections == 0 {
                "unlimited".to_string()
            } else {
                q.max_connections.to_string()
            };
            let reached = if q.reached { " · reached" } else { "" };
            println!("connections {} · limit {max}{reached}", q.count);
            Ok(())
        }
        _ => {
            let keymap = load_keymap(paths)?;
            let client = client(cli, paths, Source::Tui).await?;
            let sessions = cli
                .server
                .as_ref()
                .map(|url| (normalize_url(url), SessionStore::in_dir(&paths.data_dir)));
            let options = tui::Options {
                mouse: !cli.no_mouse,
                keymap,
                clear_clipboard_after: Duration::from_secs(cli.clipboard_clear_secs),
                sessions,
            };
            let result = tui::run(client, options).await;
            if let Err(e) = &result {
                tracing::error!(error = %e, "tui failed");
            }
            result
        }
    }
}

/// `switchboard test CODE`: one line saying what the application
/// answered; exit 0 when it passed, 1 when not.
async fn test_command(cli: &Cli, paths: &Paths, code: &str) -> anyhow::Result<()> {
    let client = client(cli, paths, Source::Cli).await?;
    let r = client.test_connection(code).await?;
    if r.ok {
        println!("ok      {code}: {} ({} ms)", r.message, r.latency_ms);
        Ok(())
    } else {
        println!("FAILED  {code}: {} ({} ms)", r.message, r.latency_ms);
        println!("        {code} is marked offline until a test passes.");
        Err(Reported(format!("the test of {code} failed")).into())
    }
}

async fn users_command(cli: &Cli, paths: &Paths, action: &UsersCmd) -> anyhow::Result<()> {
    let client = client(cli, paths, Source::Cli).await?;
    let print_generated = |name: &str, generated: Option<String>| {
        if let Some(p) = generated {
            println!("Password for {name} (shown only now; they can change it after logging in):");
            println!("    {p}");
        }
    };
    match action {
        UsersCmd::List => {
            for u in client.list_users().await? {
                let login = if u.can_log_in {
                    ""
                } else {
                    "  (no password yet)"
                };
                println!(
                    "{:<24} {:<7} since {}{login}",
                    u.username,
                    u.kind.as_str(),
                    u.created_at.format("%Y-%m-%d")
                );
            }
        }
        UsersCmd::Add {
            username,
            admin,
            password_file,
        } => {
            let password = optional_password(password_file.as_deref())?;
            let kind = if *admin {
                UserKind::Admin
            } else {
                UserKind::Member
            };
            let done = client
                .create_user(&NewUser {
                    username: username.clone(),
                    kind,
                    password,
                })
                .await?;
            println!(
                "Added {} ({}).",
                done.user.username,
                done.user.kind.as_str()
            );
            print_generated(&done.user.username, done.generated_password);
        }
        UsersCmd::Remove { username } => {
            client.remove_user(username).await?;
            println!("Removed {username}; their sessions have ended.");
        }
        UsersCmd::SetPassword {
            username,
            password_file,
        } => {
            let password = optional_password(password_file.as_deref())?;
            let done = client
                .set_password(username, &PasswordChange { password })
                .await?;
            println!("Set the password of {username}; their sessions have ended.");
            print_generated(&done.user.username, done.generated_password);
        }
        UsersCmd::Grant {
            username,
            integration,
            level,
        } => {
            let level = switchboard::model::AccessLevel::parse(level)
                .ok_or_else(|| anyhow::anyhow!("level must be manage or monitor, not {level:?}"))?;
            client
                .set_access(integration, username, Some(level))
                .await?;
            println!(
                "{username} now has {} access to {integration}.",
                level.as_str()
            );
        }
        UsersCmd::Revoke {
            username,
            integration,
        } => {
            client.set_access(integration, username, None).await?;
            println!("{username} no longer has access to {integration}.");
        }
    }
    Ok(())
}

async fn demo_traffic_command(
    cli: &Cli,
    paths: &Paths,
    seconds: Option<u64>,
    rate: u32,
    connections: &[String],
) -> anyhow::Result<()> {
    use switchboard::client::traffic;
    let Some(url) = cli.server.as_deref() else {
        bail!(
            "demo-traffic drives a running server: give --server URL (start one with `switchboard serve`, then `switchboard login URL`)"
        );
    };
    if rate == 0 {
        bail!("--rate must be at least 1");
    }
    let admin = client(cli, paths, Source::Cli).await?;
    let mut apps = traffic::prepare(&admin, connections)
        .await
        .context("cannot get the demo connections' credentials")?;
    let names: Vec<String> = apps
        .iter()
        .map(|a| format!("{} ({})", a.code, a.flow_type))
        .collect();
    println!("Driving {}", names.join(", "));
    println!(
        "Their passwords were regenerated for this (their earlier tokens no longer work). {} requests/s; Ctrl-C stops.",
        rate
    );
    let http = switchboard::client::http_client(cli.ca_cert.as_deref())?;
    let stop = async move {
        match seconds {
            Some(s) => {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(s)) => {},
                    () = serve::shutdown_signal() => {},
                }
            }
            None => serve::shutdown_signal().await,
        }
    };
    let total = traffic::run(&http, &normalize_url(url), &mut apps, rate, stop, |t| {
        println!("{}  {}", chrono::Local::now().format("%H:%M:%S"), t.line());
    })
    .await?;
    println!("total     {}", total.line());
    Ok(())
}

/// `--public-url`: `http(s)://host[:port]`, nothing else.
fn parse_public_url(s: &str) -> Result<String, String> {
    let trimmed = s.trim().trim_end_matches('/');
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or("give a URL such as https://pim.example.com")?;
    if scheme != "http" && scheme != "https" {
        return Err(format!("the scheme must be http or https, not {scheme:?}"));
    }
    if !switchboard::server::products::is_host(rest) {
        return Err("give only a scheme, a host and a port (no path, query or user)".into());
    }
    Ok(format!("{scheme}://{rest}"))
}

/// `--trusted-proxy`: a CIDR, or one address.
fn parse_cidr(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is not an address or a CIDR such as 10.0.0.0/8"))
}

/// Where a store's data is: the database and the key file.
fn database_paths(
    paths: &Paths,
    database: Option<&str>,
    key_file: Option<&Path>,
) -> anyhow::Result<(Location, PathBuf)> {
    let location = match database {
        None => Location::Sqlite(paths.data_dir.join("switchboard.db")),
        Some(db) => Location::parse(db),
    };
    let key = match (key_file, &location) {
        (Some(k), _) => k.to_path_buf(),
        (None, Location::Sqlite(db)) => db
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("switchboard.key"),
        (None, Location::Postgres(_)) => paths.data_dir.join("switchboard.key"),
    };
    Ok((location, key))
}

/// Opens a store, saying which one failed.
async fn open_store(location: &Location, key: &Path, pool: PoolConfig) -> anyhow::Result<Store> {
    Store::open(location, key, pool)
        .await
        .with_context(|| format!("cannot open the database {}", location_text(location)))
}

fn location_text(location: &Location) -> String {
    match location {
        Location::Sqlite(p) => p.display().to_string(),
        Location::Postgres(url) => switchboard::store::redact_url(url),
    }
}

async fn keyring_command(
    paths: &Paths,
    action: &KeyringCmd,
    database: Option<&str>,
    key_file: Option<&Path>,
) -> anyhow::Result<()> {
    let (db, key) = database_paths(paths, database, key_file)?;
    let store = open_store(&db, &key, PoolConfig::default()).await?;
    if matches!(action, KeyringCmd::Rotate) {
        let id = store.keys().rotate()?;
        let me = switchboard::config::local_username();
        let acting = switchboard::store::Acting {
            user: &me,
            source: Source::Cli,
        };
        let n = store.reencrypt_secrets(&acting).await?;
        println!("Key {id} is now active; {n} secret(s) re-encrypted with it.");
        println!(
            "Copy {} to every other server instance (running ones reload it by themselves).",
            key.display()
        );
    }
    let info = store.keys().info();
    let usage = store.key_usage().await?;
    println!("key file {}", key.display());
    if info.legacy {
        println!("format   first (a 32-byte master key); `keyring rotate` converts it");
    }
    for id in &info.key_ids {
        let n = usage.iter().find(|(k, _)| k == id).map_or(0, |(_, n)| *n);
        let active = if *id == info.active { "  (active)" } else { "" };
        println!("key {id:<4} encrypts {n} secret(s){active}");
    }
    store.close().await;
    Ok(())
}

async fn store_copy_command(
    paths: &Paths,
    to: &str,
    from: Option<&Path>,
    key_file: Option<&Path>,
) -> anyhow::Result<()> {
    let from = from.map(|p| p.display().to_string());
    let (source, key) = database_paths(paths, from.as_deref(), key_file)?;
    let Location::Sqlite(source_path) = &source else {
        bail!("--from: give the SQLite file to copy (a path, not a URL)");
    };
    if !source_path.exists() {
        bail!("--from: {} does not exist", source_path.display());
    }
    let target = Location::parse(to);
    if !matches!(target, Location::Postgres(_)) {
        bail!("--to: give a PostgreSQL URL (postgres://user:password@host/database)");
    }
    if !key.exists() {
        bail!(
            "--key-file: {} does not exist; the copy needs the key file that encrypts the store's secrets",
            key.display()
        );
    }
    let source = open_store(&source, &key, PoolConfig::default()).await?;
    let target_store = open_store(&target, &key, PoolConfig::default()).await?;
    let copied = source.copy_into(&target_store).await;
    source.close().await;
    target_store.close().await;
    let copied = copied.with_context(|| {
        format!(
            "copying {} into {}",
            source_path.display(),
            location_text(&target)
        )
    })?;
    println!(
        "Copied {} into {}:",
        source_path.display(),
        location_text(&target)
    );
    for (table, n) in &copied {
        println!("  {table:<20} {n} row(s)");
    }
    println!(
        "Secrets stay encrypted under {}: give every instance a copy of it (--key-file).",
        key.display()
    );
    Ok(())
}

/// How often `serve` looks for offline connections due for a re-test.
const RETEST_EVERY: Duration = Duration::from_secs(10);

async fn serve_command(paths: &Paths, args: &ServeArgs) -> anyhow::Result<()> {
    // A bad certificate is said before a database or an owner is made.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    if let Some(files) = &tls {
        files.check().await?;
    }
    let (db, key) = database_paths(paths, args.database.as_deref(), args.key_file.as_deref())?;
    let pool = PoolConfig {
        max_connections: args.db_pool_size.max(1),
        connect_timeout: Duration::from_secs(args.db_connect_timeout.max(1)),
    };
    let store = open_store(&db, &key, pool).await?;
    let service = Arc::new(
        Service::new(store)
            .with_rate_limit(args.rate_limit, args.rate_burst)
            .with_token_limit(args.token_rate_limit, args.token_rate_burst)
            .with_live_token_cap(args.max_live_tokens)
            .with_test_policy(switchboard::service::probe::TestPolicy {
                timeout: Duration::from_secs(args.test_timeout),
                addresses: switchboard::domain::application::AddressPolicy::with(
                    &args.test_deny,
                    &args.test_allow,
                ),
            }),
    );
    let owner_password = match (&args.owner_password_file, &args.owner) {
        (Some(file), _) => Some(password_from_file(file)?),
        (None, Some(name)) if std::io::stdin().is_terminal() => {
            Some(ask_password(&format!("Password for the owner {name}: "))?)
        }
        _ => None,
    };
    let scheme = if args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    // Told once the server is listening: where it really is.
    let mut first_start = None;
    match service
        .prepare_owner(args.owner.as_deref(), owner_password)
        .await?
    {
        OwnerSetup::Ready { username } => tracing::info!(owner = %username, "owner ready"),
        OwnerSetup::Prepared {
            username,
            generated_password,
        } => first_start = Some((username, generated_password)),
    }
    let metrics = args
        .metrics
        .then(|| Arc::new(switchboard::server::metrics::Metrics::new()));
    let app = serve::app_with_metrics(service.clone(), metrics);
    let config = serve::ServeConfig {
        links: Arc::new(switchboard::server::products::Links::new(
            args.public_url.clone(),
            args.trusted_proxies.clone(),
        )),
        header_timeout: Duration::from_secs(args.header_timeout),
        max_connections: args.max_connections,
    };
    let running = serve::start_app_with(app, args.listen, tls, config).await?;
    if let Some((username, generated_password)) = first_start {
        // The address to log in at: --public-url, else the bound one (a
        // port 0 resolved, an unspecified address as loopback).
        let url = args.public_url.clone().unwrap_or_else(|| {
            let addr = running.addr();
            let ip = match addr.ip() {
                std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
                    std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
                }
                std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
                    std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
                }
                ip => ip,
            };
            format!("{scheme}://{}", std::net::SocketAddr::new(ip, addr.port()))
        });
        println!("The owner is {username}.");
        if let Some(p) = generated_password {
            // Printed once, to the terminal only; never logged.
            println!("One-time setup password (shown only now):");
            println!("    {}", p.expose_secret());
            println!("Log in with `switchboard login {url}`, then change it with");
            println!("`switchboard --server {url} users set-password {username}`.");
        }
    }
    // Expired tokens and old warnings go every ten minutes.
    let sweeper = service.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            every.tick().await;
            match sweeper.sweep_expired().await {
                Ok(n) if n > 0 => tracing::info!(tokens = n, "expired tokens deleted"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "token sweep failed"),
            }
        }
    });
    // Offline connections are re-tested when due (R27: a minute after
    // going offline, then doubling to an hour; the schedule is in the
    // database, shared by every instance).
    let retester = service.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(RETEST_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match retester.retest_offline().await {
                Ok(p) if p.tested > 0 => tracing::info!(
                    tested = p.tested,
                    back_online = p.online,
                    "offline connections re-tested"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "re-testing offline connections failed"),
            }
        }
    });
    println!(
        "Switchboard serves {scheme}://{} (database {})",
        running.addr(),
        location_text(&db)
    );
    tracing::info!(addr = %running.addr(), "listening");
    let handle = running.handle();
    tokio::spawn(async move {
        serve::shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        handle.graceful_shutdown(Some(serve::SHUTDOWN_GRACE));
    });
    running.wait().await?;
    service.store().close().await;
    tracing::info!("stopped; database closed");
    Ok(())
}
