//! The command line: serve, keys, admin, openapi, seed, backup, restore.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub mod run;

#[derive(Parser, Debug)]
#[command(
    name = "trcker",
    version,
    about = "Self-hosted affiliate and partner tracking in one binary",
    long_about = "Self-hosted affiliate and partner tracking in one binary.\n\n\
Start with `trcker serve`, create an API key with `trcker keys create --brand NAME`, \
and read the API reference at http://127.0.0.1:8080/docs."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written to stderr: `text` for people, `json` (one object a line) for
    /// journald or a log shipper
    #[arg(
        long,
        global = true,
        env = "TRCKER_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

/// The shape of log lines.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct DataDirArg {
    /// Where the SQLite database lives [default: the platform data dir, ~/.local/share/trcker on Linux]
    #[arg(long, env = "TRCKER_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArg {
    pub fn resolve(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(crate::config::default_data_dir)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: API, docs, tracking links and settings pages
    Serve {
        /// Address to listen on
        #[arg(
            long,
            env = "TRCKER_ADDR",
            default_value = "127.0.0.1:8080",
            value_name = "HOST:PORT"
        )]
        addr: SocketAddr,
        #[command(flatten)]
        data_dir: DataDirArg,
        /// API requests per minute per key
        #[arg(long, env = "TRCKER_RATE_LIMIT", default_value_t = 100, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..))]
        rate_limit: u32,
        /// Mark session cookies Secure even on plain http (set this behind a TLS proxy)
        #[arg(long, env = "TRCKER_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Public origin for tracking links, e.g. https://track.example.com [default: the Host the API was called on]
        #[arg(long, env = "TRCKER_PUBLIC_URL", value_name = "URL", value_parser = parse_public_url)]
        public_url: Option<String>,
        /// Behind a reverse proxy: take visitors' IPs from the last X-Forwarded-For entry (for unique clicks and sign-in throttling)
        #[arg(long, env = "TRCKER_TRUST_PROXY")]
        trust_proxy: bool,
        /// When acknowledged clicks and conversions reach the disk: `normal` survives a killed
        /// process or crashed server; `full` also survives power loss (an fsync per commit)
        #[arg(long, env = "TRCKER_SYNCHRONOUS", value_enum, default_value = "normal")]
        synchronous: Synchronous,
        /// Seconds a client may take to send a request's headers, pause while sending a body,
        /// or sit idle on a kept-alive connection, before it is disconnected
        #[arg(long, env = "TRCKER_CLIENT_TIMEOUT", default_value_t = 10, value_name = "SECS",
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        client_timeout: u64,
        /// Connections open at once; more wait in the kernel's backlog [default: the open-file
        /// limit less 64, at most 16384]
        #[arg(long, env = "TRCKER_MAX_CONNECTIONS", value_name = "N",
              value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        max_connections: Option<u64>,
        /// Serve Prometheus metrics at http://ADDR/metrics, on this address only (never on
        /// --addr: traffic figures are business data, and scrapers need no key) [default: off]
        #[arg(long, env = "TRCKER_METRICS_ADDR", value_name = "HOST:PORT")]
        metrics_addr: Option<SocketAddr>,
        /// Delete raw clicks older than DAYS, in small background batches; reports stay exact
        /// for old ranges (they read rollups), conversions are never deleted, and a postback
        /// for a deleted click is refused as unknown_click [default: keep every click]
        #[arg(long, env = "TRCKER_RETAIN_CLICKS", value_name = "DAYS",
              value_parser = clap::value_parser!(u32).range(1..=36_500))]
        retain_clicks: Option<u32>,
    },
    /// Manage API keys
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage admin accounts (who signs in to the settings pages)
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI spec (JSON) that the server publishes at /api/v1/openapi.json
    Openapi,
    /// Fill a data dir with synthetic clicks and conversions (for benchmarks and demos)
    ///
    /// Adds a brand (default "seed"), offers and partners, then clicks spread evenly over the
    /// last --days and conversions crediting some of them, with their report rollups. Run it
    /// with the server stopped: a running server learns of the new offers at its next start.
    Seed(SeedArgs),
    /// Copy the database to FILE while the server runs (clicks go on); a consistent snapshot
    Backup(BackupArgs),
    /// Replace the database with a backup; the server must be stopped
    ///
    /// Checks the file first (integrity, a trcker database, a schema this binary knows) and
    /// keeps the current database beside it as trcker.db.before-restore-<time>.
    Restore(RestoreArgs),
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Where to write the copy (a new file, mode 0600)
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub data_dir: DataDirArg,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// A file made by `trcker backup`
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    #[command(flatten)]
    pub data_dir: DataDirArg,
}

#[derive(Args, Debug)]
pub struct SeedArgs {
    /// Clicks to generate, spread evenly over --days up to now
    #[arg(long, default_value_t = 10_000_000, value_name = "N")]
    pub clicks: u64,
    /// Conversions to generate (at most --clicks), each crediting one of the clicks
    #[arg(long, default_value_t = 500_000, value_name = "N")]
    pub conversions: u64,
    /// How many days back from now the clicks spread over
    #[arg(long, default_value_t = 30, value_name = "DAYS",
          value_parser = clap::value_parser!(i64).range(1..=366))]
    pub days: i64,
    /// The brand to seed (created if missing); new offers and partners are added to it
    #[arg(long, default_value = "seed", value_name = "NAME")]
    pub brand: String,
    /// Offers to create (cpa and revshare, in USD, EUR and GBP)
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub offers: usize,
    /// Partners to create
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub partners: usize,
    /// Distinct sub1 values the clicks and their conversions carry (s0, s1, ...); 0: a value
    /// of its own per click
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub sub_cardinality: u64,
    #[command(flatten)]
    pub data_dir: DataDirArg,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create an API key for a brand (creating the brand if needed); prints the key last
    Create {
        /// The brand's name
        #[arg(long, value_name = "NAME")]
        brand: String,
        /// A label to recognise the key by
        #[arg(long, value_name = "LABEL", default_value = "cli")]
        name: String,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an admin account; the password is prompted for (or read from stdin when piped)
    Create {
        /// The admin's email, used to sign in
        #[arg(long, value_name = "EMAIL")]
        email: String,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
    /// Set a new password for an admin and sign out all their sessions
    ResetPassword {
        /// The admin's email
        #[arg(long, value_name = "EMAIL")]
        email: String,
        #[command(flatten)]
        data_dir: DataDirArg,
    },
}

/// An absolute http(s) origin, without a trailing slash.
fn parse_public_url(s: &str) -> Result<String, String> {
    match url::Url::parse(s) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {
            Ok(s.trim_end_matches('/').to_string())
        }
        _ => Err("must be an absolute http or https URL, e.g. https://track.example.com".into()),
    }
}

/// SQLite's `synchronous` for the writer of clicks and conversions.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    Normal,
    Full,
}
