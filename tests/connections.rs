//! Slow, silent and too many clients against the real binary: they are disconnected, they
//! can't keep others out, running out of descriptors doesn't spin a core, and a half-sent
//! request doesn't hold up a graceful stop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use common::binary::{self, Server};

/// `trcker serve` on a free loopback port with `extra` flags, under a descriptor limit when
/// `nofile` is given.
fn start(dir: &Path, extra: &[&str], nofile: Option<u64>) -> Server {
    let mut serve = binary::serve(dir).args(extra);
    if let Some(n) = nofile {
        serve = serve.nofile(n);
    }
    serve.start()
}

/// Raw-socket probes of a running server.
trait Probe {
    fn connect(&self) -> TcpStream;
    fn get(&self, path: &str) -> String;
    fn sockets(&self) -> usize;
    fn cpu_ticks(&self) -> u64;
}

impl Probe for Server {
    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    /// The status line of `GET path` on a fresh connection.
    fn get(&self, path: &str) -> String {
        let mut s = self.connect();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.lines().next().unwrap_or("").to_string()
    }

    /// Sockets the server process holds open (the listener and its connections).
    fn sockets(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count()
    }

    /// CPU time the server has used (user + system, in clock ticks).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }
}

/// Whether the server closed `s`: a read returns end-of-file or an error (not a timeout).
fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
}

#[test]
fn a_client_trickling_its_headers_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["--client-timeout", "1"], None);
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // One byte every 200 ms: with a 1 s limit the server hangs up long before the headers end.
    let request = b"GET /healthz HTTP/1.1\r\nHost: example.com\r\nUser-Agent: slow\r\n\r\n";
    let mut cut = false;
    for b in request.iter() {
        if s.write_all(&[*b]).is_err() || closed_by_server(&mut s) {
            cut = true;
            break;
        }
    }
    assert!(cut, "the server waited for all {} bytes", request.len());
}

#[test]
fn silent_and_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["--client-timeout", "1"], None);
    let mut silent = server.connect();
    let mut kept_alive = server.connect();
    write!(kept_alive, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 512];
    let n = kept_alive.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Reads block up to 30 s; the server closes both after about a second.
    assert!(
        closed_by_server(&mut silent),
        "a silent connection stayed open"
    );
    assert!(
        closed_by_server(&mut kept_alive),
        "an idle keep-alive stayed open"
    );
}

#[test]
fn a_body_that_stalls_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["--client-timeout", "1"], None);
    let mut s = server.connect();
    write!(
        s,
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100\r\n\r\ncsrf=abc"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status = answer.lines().next().unwrap_or("");
    assert!(
        status.starts_with("HTTP/1.1 4"),
        "a stalled body is refused, got {status:?}"
    );
}

#[test]
fn a_full_server_sheds_idle_sockets_for_new_visitors() {
    let dir = tempfile::tempdir().unwrap();
    // The client timeout is long: only shedding can make room in time.
    let server = start(
        dir.path(),
        &["--max-connections", "16", "--client-timeout", "600"],
        None,
    );
    let silent: Vec<TcpStream> = (0..40).map(|_| server.connect()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let sockets = server.sockets();
    // Besides connections: the listener, and the socket pair tokio's signal driver uses.
    // Without the cap all 40 would be open.
    assert!(
        sockets <= 16 + 4,
        "{sockets} sockets open with a cap of 16 (and the listener and signal driver)"
    );
    std::thread::sleep(Duration::from_millis(1000));
    for _ in 0..3 {
        assert_eq!(server.get("/healthz"), "HTTP/1.1 200 OK");
    }
    drop(silent);
}

#[test]
fn out_of_descriptors_the_server_backs_off_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    // A cap above what 128 descriptors allow: accept fails with EMFILE.
    let server = start(
        dir.path(),
        &["--max-connections", "1000", "--client-timeout", "60"],
        Some(128),
    );
    // The compression of /docs at start-up takes CPU of its own: wait for it to finish
    // (a gzip request is answered once it has) so only the accept loop is measured.
    let mut s = server.connect();
    write!(
        s,
        "GET /docs HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let _ = s.read_to_end(&mut Vec::new());
    drop(s);
    let held: Vec<TcpStream> = (0..200).map(|_| server.connect()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let before = server.cpu_ticks();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let ticks = server.cpu_ticks() - before;
    let elapsed = started.elapsed().as_secs_f64();
    // A spinning accept loop burns a whole core: 100 ticks a second.
    assert!(
        (ticks as f64) < 30.0 * elapsed,
        "{ticks} ticks of CPU in {elapsed:.1} s while out of descriptors"
    );
    drop(held);
    assert_eq!(server.get("/healthz"), "HTTP/1.1 200 OK");
}

#[test]
fn sigterm_does_not_wait_for_a_half_sent_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), &["--client-timeout", "120"], None);
    let mut half = server.connect();
    write!(half, "GET /heal").unwrap();
    let mut idle = server.connect();
    write!(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 512];
    let _ = idle.read(&mut buf).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let ok = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    // Far below the 120 s either connection could otherwise hold it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 20 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free loopback port (bound and released; the server takes it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_and_count_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let server = start(dir.path(), &["--metrics-addr", &metrics_addr], None);
    let out = Command::new(env!("CARGO_BIN_EXE_trcker"))
        .args(["keys", "create", "--brand", "acme", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", server.addr);
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{base}/api/v1{path}"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let offer: serde_json::Value = post(
        "/offers",
        serde_json::json!({"name": "Shoes", "destination_url": "https://shop.example/", "payout": 1.0}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let partner: serde_json::Value = post(
        "/partners",
        serde_json::json!({"name": "Blog", "email": "blog@example.com"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let link = format!("{base}/c/{}/{}", offer["id"], partner["id"]);
    for _ in 0..3 {
        let r = http.get(&link).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 302);
    }

    let public = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(public.status().as_u16(), 404, "never on the public address");
    let text = http
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "trcker_http_requests_total{route=\"click\",status=\"302\"} 3",
        "trcker_http_requests_total{route=\"api\",status=\"201\"} 2",
        "trcker_clicks_committed_total 3",
        "trcker_http_request_duration_seconds_count{route=\"click\"} 3",
        "trcker_writer_batch_size_count",
        "trcker_writer_queue_depth 0",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    let db_bytes = text
        .lines()
        .find_map(|l| l.strip_prefix("trcker_database_bytes "))
        .expect("database size");
    assert!(db_bytes.parse::<u64>().unwrap() > 0);
}
