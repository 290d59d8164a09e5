//! Configuration: flags > environment (TRCKER_*) > defaults. clap does the layering.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Requests per minute per API key.
    pub rate_limit: u32,
    /// Mark session cookies `Secure` even when the request did not arrive over https.
    pub secure_cookies: bool,
    /// The public origin of tracking links (`https://track.example.com`), when behind a proxy.
    pub public_url: Option<String>,
    /// Take the client's IP from `X-Forwarded-For` (set only behind a reverse proxy).
    pub trust_proxy: bool,
    /// fsync every commit of clicks and conversions (survives power loss, not only a crash).
    pub fsync_each_commit: bool,
    /// How long a client may take to send its headers, pause in a body, or idle between
    /// requests on a kept-alive connection.
    pub client_timeout: Duration,
    /// Connections open at once; `None`: derived from the descriptor limit at start.
    pub max_connections: Option<usize>,
    /// Where `/metrics` is served, apart from the public address; `None`: not at all.
    pub metrics_addr: Option<SocketAddr>,
    /// Raw clicks older than this many days are deleted in the background (reports keep
    /// counting them through the rollups); `None`: every click is kept.
    pub retain_clicks_days: Option<u32>,
    /// The most rows one `/reports` answer holds (JSON or CSV); past it, 422
    /// `report_too_large`.
    pub max_report_rows: usize,
    /// Rows one sealing step of the sub-id rollups reads at most: the longest the writer, and
    /// the clicks waiting on it, pause for that background work (tests lower it to make every
    /// block take many steps).
    pub seal_step_rows: usize,
}

/// Rows a sealing step of the sub-id rollups reads by default: tens of milliseconds of the
/// writer's time (the store's own default, for the seed, is the same number).
pub const SEAL_STEP_ROWS: usize = 50_000;

/// About 12 MB of report JSON.
pub const MAX_REPORT_ROWS: usize = 50_000;

/// `~/.local/share/trcker` on Linux, the platform's equivalent elsewhere.
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "trcker")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| {
            // No home directory at all: refuse the working directory, use a fixed system path.
            PathBuf::from("/var/lib/trcker")
        })
}

impl Config {
    /// Defaults for tests and embedding: a loopback port chosen by the OS.
    pub fn for_data_dir(data_dir: PathBuf) -> Config {
        Config {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            data_dir,
            rate_limit: 100,
            secure_cookies: false,
            public_url: None,
            trust_proxy: false,
            fsync_each_commit: false,
            client_timeout: Duration::from_secs(10),
            max_connections: None,
            metrics_addr: None,
            retain_clicks_days: None,
            max_report_rows: MAX_REPORT_ROWS,
            seal_step_rows: SEAL_STEP_ROWS,
        }
    }
}
