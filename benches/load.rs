//! `cargo bench --bench load`: the click hot path, conversions and reports of the release
//! binary, measured by a separate load generator (wrk), with nginx's `return 302` on the same
//! machine as the ceiling; then the dashboard's pages as a signed-in admin (made with
//! `trcker admin create`) gets them, and every conversion exported as CSV by a server started
//! for it (its peak RSS). Prints a table (markdown, ready for README).
//!
//! Knobs (environment): BENCH_CLICKS (default 10000000), BENCH_CONVERSIONS (500000),
//! BENCH_SECS (10), BENCH_CONNS (64); BENCH_DATA_DIR keeps the seeded store there and reuses
//! it on the next run (else a throwaway dir); BENCH_ONLY=ledger runs only the conversion
//! phases (plain, then with payout rules and caps) and the statement phase. BENCH_STATEMENT_LINES
//! (100000) is the size of the statement built. It installs wrk and nginx with apt-get when it can.
//! BENCH_ONLY=storage runs no load at all: bytes per click of the seeded store (and what each
//! table and index takes), start-up time on it and on a store of BENCH_DAY_CLICKS (2000000)
//! clicks all in the last day, and, given BENCH_OLD_STORE (a data dir of an older schema, copied,
//! never changed), how long its migration takes and the file size before and after.
//! Sub-id reports: timed on the main store (10 sub1 values), then on a throwaway store per
//! BENCH_SUB_CARDINALITIES (default "10000,0"; 0: one value per click; "" skips them) of
//! BENCH_SUB_CLICKS clicks (default BENCH_CLICKS), seeded with `trcker seed --sub-cardinality`
//! and deleted after; BENCH_ONLY=subs runs only those (BENCH_SUB_STORES: data dirs of such
//! stores to time instead of seeding, `card=dir` comma-separated).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// wrk and nginx from the distribution, if missing and apt-get is usable.
fn ensure_tools() {
    let missing: Vec<&str> = ["wrk", "nginx"].into_iter().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return;
    }
    if have("apt-get") {
        eprintln!("bench: installing {} with apt-get", missing.join(" "));
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status();
    }
    for t in missing {
        if !have(t) {
            eprintln!(
                "bench: NOTE: {t} is not installed (apt-get install {t}); its rows are skipped"
            );
        }
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024 / 1024);
    format!("{cores} cores ({cpu}), {mem_gib} GiB RAM")
}

/// Restart VmHWM from the current RSS, so the next peak is the next phase's own.
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// VmRSS and VmHWM of a process, in MiB.
fn rss(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The test harness's process handling, shared (stdout drained, address off the start-up line).
#[path = "../tests/common/binary.rs"]
mod binary;

/// The binary cargo built for this bench: the release build under `cargo bench`.
const BIN: &str = env!("CARGO_BIN_EXE_trcker");

/// The server under load; stopped gracefully (SIGTERM) when the bench ends.
struct Server(binary::Server);

impl std::ops::Deref for Server {
    type Target = binary::Server;
    fn deref(&self) -> &binary::Server {
        &self.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.pid().to_string()])
            .status();
        self.0.wait();
    }
}

fn trcker() -> Command {
    Command::new(BIN)
}

fn start(dir: &Path) -> Server {
    Server(
        binary::serve(dir)
            .bin(BIN)
            .args(&["--rate-limit", "1000000000"])
            .start(),
    )
}

/// What wrk measured.
#[derive(Debug, Default, Clone)]
struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn parse_ms(v: &str) -> f64 {
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => n,
    }
}

fn wrk(url: &str, conns: u64, secs: u64, script: Option<&Path>) -> Option<Wrk> {
    if !have("wrk") {
        return None;
    }
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{conns}"),
        &format!("-d{secs}s"),
        "--latency",
    ]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd.arg(url).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut w = Wrk::default();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t.as_slice() {
            ["Requests/sec:", v] => w.rps = v.parse().unwrap_or(0.0),
            ["50%", v] => w.p50_ms = parse_ms(v),
            ["99%", v] => w.p99_ms = parse_ms(v),
            ["Non-2xx", "or", "3xx", "responses:", n] => w.errors += n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                w.errors += rest
                    .iter()
                    .filter_map(|x| x.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    Some(w)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx answering `return 302` on a loopback port: the ceiling for a redirect here.
fn nginx(dir: &Path, conns: u64, secs: u64) -> Option<Wrk> {
    if !have("nginx") {
        return None;
    }
    let port = free_port();
    let prefix = dir.join("nginx");
    std::fs::create_dir_all(prefix.join("logs")).ok()?;
    let conf = prefix.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes auto; daemon off; pid {p}/nginx.pid; error_log {p}/logs/error.log;
events {{ worker_connections 4096; }}
http {{ access_log off;
  server {{ listen 127.0.0.1:{port};
    location / {{ return 302 https://shop.example/landing?click_id=x; }} }} }}\n",
            p = prefix.display()
        ),
    )
    .ok()?;
    let mut child = Command::new("nginx")
        .arg("-p")
        .arg(&prefix)
        .arg("-c")
        .arg(&conf)
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(Duration::from_millis(500));
    let result = wrk(&format!("http://127.0.0.1:{port}/c/1/1"), conns, secs, None);
    let _ = Command::new("kill")
        .args(["-QUIT", &child.id().to_string()])
        .status();
    let _ = child.wait();
    result
}

fn p50(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What the store takes on disk: the database file and its WAL after a checkpoint (indexes,
/// the text dictionary and the rollups included), its free pages, and each table's and
/// index's share (`dbstat`).
struct Storage {
    clicks: i64,
    bytes: u64,
    free: u64,
    parts: Vec<(String, i64)>,
}

fn storage(data: &Path) -> Storage {
    let db = data.join("trcker.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    let _: (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let bytes = size(&db) + size(&data.join("trcker.db-wal"));
    let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    let clicks = one("SELECT count(*) FROM clicks");
    let free = (one("PRAGMA freelist_count") * one("PRAGMA page_size")) as u64;
    let parts = conn
        .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<(String, i64)>, _>>()
        })
        .unwrap_or_default();
    Storage {
        clicks,
        bytes,
        free,
        parts,
    }
}

fn print_storage(label: &str, s: &Storage) {
    let per = |b: f64| b / s.clicks.max(1) as f64;
    println!(
        "| bytes per click, {label} | {:.1} B ({:.0} MB for {} clicks; {:.0} MB of it free pages) | ≤ 100 B |",
        per(s.bytes as f64),
        s.bytes as f64 / 1e6,
        s.clicks,
        s.free as f64 / 1e6
    );
    let shown: Vec<String> = s
        .parts
        .iter()
        .filter(|(_, b)| *b as f64 > 0.001 * s.bytes as f64)
        .map(|(n, b)| format!("{n} {:.1}", per(*b as f64)))
        .collect();
    println!("| … of which (bytes per click) | {} | |", shown.join(", "));
}

/// `GET /healthz` answers 200, over a plain socket.
fn healthz_ok(addr: &str) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET /healthz HTTP/1.0\r\nHost: bench\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    buf.starts_with(b"HTTP/1.1 200") || buf.starts_with(b"HTTP/1.0 200")
}

/// Start the server and time it from the spawn to the first `/healthz` 200.
fn start_timed(data: &Path) -> (Server, f64) {
    let t = Instant::now();
    let server = start(data);
    while !healthz_ok(&server.addr) {
        assert!(t.elapsed() < Duration::from_secs(600), "no /healthz");
        std::thread::sleep(Duration::from_millis(2));
    }
    (server, t.elapsed().as_secs_f64())
}

fn seed(data: &Path, clicks: u64, conversions: u64, days: u64) -> f64 {
    let t = Instant::now();
    eprintln!("bench: seeding {clicks} clicks and {conversions} conversions over {days} days");
    let ok = trcker()
        .args(["seed", "--clicks", &clicks.to_string()])
        .args(["--conversions", &conversions.to_string()])
        .args(["--days", &days.to_string()])
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "trcker seed failed");
    t.elapsed().as_secs_f64()
}

/// Start-up on `data`: the first (on a store never served, no saved unique window: the last
/// day's clicks are scanned), then the median of three after a graceful stop (the saved window
/// is loaded), then one after a kill -9 (the saved window and the clicks since).
fn startups(data: &Path) -> (f64, f64, f64) {
    let mut times = Vec::new();
    for _ in 0..4 {
        let (server, secs) = start_timed(data);
        drop(server);
        times.push(secs);
    }
    let (mut server, _) = start_timed(data);
    let _ = server.0.kill9();
    drop(server);
    let (server, after_kill) = start_timed(data);
    drop(server);
    (times[0], p50(times[1..].to_vec()), after_kill)
}

/// BENCH_ONLY=storage: sizes, start-up and (with BENCH_OLD_STORE) migration; no load.
fn storage_only(data: &Path, seed_note: &str) {
    let day_clicks = env_or("BENCH_DAY_CLICKS", 2_000_000);
    let s = storage(data);
    let start_store = startups(data);
    let day = tempfile::tempdir().unwrap();
    let day_dir = day.path().join("data");
    seed(&day_dir, day_clicks, 0, 1);
    let start_day = startups(&day_dir);
    drop(day);
    let migration = std::env::var_os("BENCH_OLD_STORE").map(|old| {
        let tmp = tempfile::tempdir_in(data.parent().unwrap_or(Path::new("."))).unwrap();
        let copy = tmp.path().join("data");
        let ok = Command::new("cp")
            .arg("-r")
            .arg(&old)
            .arg(&copy)
            .status()
            .unwrap()
            .success();
        assert!(ok, "copying BENCH_OLD_STORE");
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let before = size(&copy.join("trcker.db")) + size(&copy.join("trcker.db-wal"));
        let (server, secs) = start_timed(&copy);
        drop(server);
        (before, secs, storage(&copy), tmp)
    });

    println!();
    println!("Machine: {}; load average {}", machine(), load_average());
    println!("Store: {seed_note}");
    println!();
    println!("| measure | result | target |");
    println!("|---|---|---|");
    print_storage("seeded store", &s);
    for (label, (first, then, killed)) in [
        ("seeded store".to_string(), start_store),
        (format!("{day_clicks} clicks in the last 24 h"), start_day),
    ] {
        println!(
            "| start-up (spawn to /healthz 200), {label}: first start (no saved window) / after a stop (median of 3) / after a kill -9 | {first:.2} s / {then:.2} s / {killed:.2} s | < 1 s |"
        );
    }
    if let Some((before, secs, after, _tmp)) = migration {
        println!(
            "| migration of BENCH_OLD_STORE ({} clicks), start to /healthz 200 | {secs:.1} s | |",
            after.clicks
        );
        println!(
            "| its file before / after | {:.0} MB / {:.0} MB ({:.0} MB free pages: {:.1} B per click in use) | |",
            before as f64 / 1e6,
            after.bytes as f64 / 1e6,
            after.free as f64 / 1e6,
            (after.bytes - after.free) as f64 / after.clicks.max(1) as f64
        );
        print_storage("migrated store", &after);
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that isn't ours means "not this bench".
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && a != "load")
    {
        return;
    }
    let clicks = env_or("BENCH_CLICKS", 10_000_000);
    let conversions = env_or("BENCH_CONVERSIONS", 500_000);
    let secs = env_or("BENCH_SECS", 10);
    let conns = env_or("BENCH_CONNS", 64);
    let load_before = load_average();
    let dir = tempfile::tempdir().unwrap();
    let data = std::env::var_os("BENCH_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("data"));

    // Only the sub-id stores: no main store is seeded.
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "subs") {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let http = reqwest::Client::new();
        print_sub_rows(&sub_cardinality_stores(
            &rt,
            &http,
            dir.path(),
            clicks,
            conversions,
        ));
        return;
    }
    let seed_note = if data.join("trcker.db").exists() {
        eprintln!("bench: reusing the store in {}", data.display());
        "reused".to_string()
    } else {
        format!("seeded in {:.1} s", seed(&data, clicks, conversions, 30))
    };
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "storage") {
        storage_only(
            &data,
            &format!("{clicks} clicks, {conversions} conversions over 30 days, {seed_note}"),
        );
        return;
    }
    ensure_tools();
    // Before the load phases add their own clicks.
    let stored = storage(&data);
    let out = trcker()
        .args(["keys", "create", "--brand", "seed", "--data-dir"])
        .arg(&data)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let key = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();

    let (server, start_secs) = start_timed(&data);
    let pid = server.child.id();
    std::thread::sleep(Duration::from_secs(1));
    let (idle_rss, _) = rss(pid);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let auth = format!("Bearer {key}");
    let post_json = |path: &str, body: serde_json::Value| {
        rt.block_on(async {
            let r = http
                .post(format!("{}/api/v1{path}", server.base))
                .header("Authorization", &auth)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<serde_json::Value>().await.unwrap()
        })
    };
    let post = |path: &str, body: serde_json::Value| post_json(path, body)["id"].as_i64().unwrap();
    let get = |path: &str| {
        rt.block_on(async {
            let r = http
                .get(format!("{}/api/v1{path}", server.base))
                .header("Authorization", &auth)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<serde_json::Value>().await.unwrap()
        })
    };
    let offer = post(
        "/offers",
        serde_json::json!({"name": "Bench", "destination_url": "https://shop.example/landing", "payout": 2.5}),
    );
    let partner = post(
        "/partners",
        // A fresh address each run: a reused store (BENCH_DATA_DIR) has the earlier ones.
        serde_json::json!({"name": "Bench", "email": format!("bench-{}@example.com", std::process::id())}),
    );

    let only_ledger = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "ledger");
    let click_url = format!("{}/c/{offer}/{partner}?sub1=bench", server.base);
    let (mut clicks_run, mut hwm_clicks, mut backup_run) = (None, f64::NAN, None);
    let (mut backup_secs, mut backup_bytes) = (f64::NAN, 0);
    let (mut heavy_run, mut heavy_alone, mut heavy_note) = (None, None, String::new());
    if !only_ledger {
        reset_peak(pid);
        clicks_run = wrk(&click_url, conns, secs, None);
        hwm_clicks = rss(pid).1;

        // The same click load while `trcker backup` copies the store beside it.
        let backup_file = dir.path().join("bench-backup.db");
        let backup = {
            let mut cmd = trcker();
            cmd.args(["backup", "--to"])
                .arg(&backup_file)
                .arg("--data-dir")
                .arg(&data)
                .stderr(Stdio::null());
            std::thread::spawn(move || {
                let t = Instant::now();
                let ok = cmd.status().is_ok_and(|s| s.success());
                (ok, t.elapsed().as_secs_f64())
            })
        };
        backup_run = wrk(&click_url, conns, secs, None);
        let (backup_ok, took) = backup.join().unwrap();
        assert!(backup_ok, "trcker backup failed");
        backup_secs = took;
        backup_bytes = std::fs::metadata(&backup_file).map_or(0, |m| m.len());
        let _ = std::fs::remove_file(&backup_file);

        // The same click load while the heaviest reports the API admits run beside it, two at
        // once (the number of report threads): of the groupings measured on this store
        // (hour,partner over 104 days, hour,sub1, day,partner,sub1, hour,offer,sub1, ...),
        // hour,offer,sub1 over the month took longest, 0.4 s for 36,000 rows (13 MB), near
        // the 50,000-row bound.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let month = chrono::Utc::now().date_naive();
        let heavy_url = format!(
            "{}/api/v1/reports?from={}&to={month}&group_by={HEAVY_GROUP}",
            server.base,
            month - chrono::Duration::days(29)
        );
        // Clicks alone again right before: the ratio compares two adjacent runs, not this one
        // with the first (the backup run just before leaves the page cache and WAL otherwise).
        heavy_alone = wrk(&click_url, conns, secs, None);
        let loops: Vec<_> = (0..HEAVY_REPORTS)
            .map(|_| {
                let (http, url, auth, stop) =
                    (http.clone(), heavy_url.clone(), auth.clone(), stop.clone());
                rt.spawn(async move {
                    let mut done = Vec::new();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let t = Instant::now();
                        let r = http.get(&url).header("Authorization", &auth).send().await;
                        let ok = match r {
                            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                            _ => false,
                        };
                        done.push((ok, t.elapsed().as_secs_f64()));
                    }
                    done
                })
            })
            .collect();
        // Let both reports start before the load does.
        std::thread::sleep(Duration::from_millis(500));
        heavy_run = wrk(&click_url, conns, secs, None);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let runs: Vec<(bool, f64)> = loops
            .into_iter()
            .flat_map(|l| rt.block_on(l).unwrap())
            .collect();
        let ok = runs.iter().filter(|(ok, _)| *ok).count();
        heavy_note = format!(
            "{} reports of `group_by={HEAVY_GROUP}` over 30 days, {HEAVY_REPORTS} at a time, {ok} answered 200, p50 {:.2} s",
            runs.len(),
            p50(runs.iter().map(|(_, s)| *s).collect())
        );
    }

    // Transaction ids unique to this run: a reused store (BENCH_DATA_DIR) has the earlier
    // runs' ids, and a repeat is answered 200 with the first conversion, not recorded.
    let run = format!("{}-{}", std::process::id(), chrono::Utc::now().timestamp());
    let conversions_url = format!("{}/api/v1/conversions", server.base);
    let script = dir.path().join("conversions.lua");
    conversions_script(&script, offer, partner, &auth, &format!("bench-{run}"));
    reset_peak(pid);
    let conv_run = wrk(&conversions_url, conns, secs, Some(&script));
    let (rss_after, hwm_conversions) = rss(pid);

    // The same load with the ledger in play: two payout rules of the partner (this offer, all
    // offers: the precedence is worked out for every postback) and three caps on the offer,
    // each high enough to admit every postback.
    let rule = post(
        "/payout-rules",
        serde_json::json!({"offer_id": offer, "partner_id": partner, "payout": 3.0}),
    );
    post(
        "/payout-rules",
        serde_json::json!({"partner_id": partner, "payout": 1.75}),
    );
    let caps_path = format!("/offers/{offer}/caps");
    for cap in [
        serde_json::json!({"metric": "conversions", "window": "lifetime", "limit": 1e9}),
        serde_json::json!({"metric": "payout", "window": "day", "limit": 1e9}),
        serde_json::json!({"partner_id": partner, "metric": "conversions", "window": "month", "limit": 1e9}),
    ] {
        post(&caps_path, cap);
    }
    let caps_used = || -> Vec<(String, f64)> {
        get(&caps_path)["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let who = if c["partner_id"].is_null() {
                    "offer"
                } else {
                    "partner"
                };
                (
                    format!(
                        "{who} {} {}",
                        c["window"].as_str().unwrap(),
                        c["metric"].as_str().unwrap()
                    ),
                    c["used"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let used_before = caps_used();
    conversions_script(
        &script,
        offer,
        partner,
        &auth,
        &format!("bench-{run}-ledger"),
    );
    let ledger_run = wrk(&conversions_url, conns, secs, Some(&script));
    let used_after = caps_used();
    let newest = get(&format!("/conversions?partner_id={partner}&limit=1"))["data"][0].clone();
    let ledger_check = if ledger_run.is_some() {
        assert_eq!(newest["payout"].as_f64(), Some(3.0), "{newest}");
        assert_eq!(newest["payout_rule_id"].as_i64(), Some(rule), "{newest}");
        assert_eq!(newest["status"].as_str(), Some("approved"), "{newest}");
        for ((name, before), (_, after)) in used_before.iter().zip(&used_after) {
            assert!(after > before, "cap {name}: used {before} -> {after}");
        }
        format!(
            "newest conversion {} payout {} (rule {rule}), {}; caps used: {}",
            newest["id"],
            newest["payout"],
            newest["status"].as_str().unwrap_or_default(),
            used_before
                .iter()
                .zip(&used_after)
                .map(|((name, b), (_, a))| format!("{name} {b} -> {a}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        "not measured (wrk missing)".into()
    };

    // A statement over BENCH_STATEMENT_LINES approved conversions of a fresh partner.
    let statement = statement_phase(&rt, &http, &server.base, &auth, offer, &run);

    reset_peak(pid);
    // Reports over the seeded month, after the load (its big answers would inflate the
    // load's peak RSS: glibc keeps freed memory).
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(29);
    let mut report_rows = Vec::new();
    let reports = [
        ("offer", "UTC"),
        ("partner", "UTC"),
        ("day,offer", "UTC"),
        ("day,partner", "UTC"),
        ("day,offer", "Asia/Kolkata"),
        ("hour,partner", "UTC"),
    ];
    for (group, zone) in reports.into_iter().filter(|_| !only_ledger) {
        let url = format!(
            "{}/api/v1/reports?from={from}&to={today}&group_by={group}&timezone={zone}",
            server.base
        );
        let mut times = Vec::new();
        for i in 0..22 {
            let t = Instant::now();
            let r = rt.block_on(async {
                let r = http
                    .get(&url)
                    .header("Authorization", &auth)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap()
            });
            if i >= 2 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            assert!(!r.is_empty());
        }
        report_rows.push((group, zone, p50(times)));
    }

    // Sub-id reports over the same month of the main store (its sub1: about 10 values).
    let mut sub_rows: Vec<SubReport> = SUB_GROUPS
        .iter()
        .filter(|_| !only_ledger)
        .map(|(group, zone)| {
            sub_report(
                &rt,
                &http,
                &server.base,
                &auth,
                group,
                zone,
                (from, today),
                "main store",
            )
        })
        .collect();
    let (_, hwm_reports) = rss(pid);
    // The dashboard's pages over the same store, nothing else running.
    let page_rows = if only_ledger {
        Vec::new()
    } else {
        pages(&rt, &server.base, &data, &http, &auth)
    };
    drop(server);
    let export = (!only_ledger).then(|| export_phase(&rt, &http, &data, &auth));
    if !only_ledger {
        sub_rows.extend(sub_cardinality_stores(
            &rt,
            &http,
            dir.path(),
            clicks,
            conversions,
        ));
    }
    let nginx_run = if only_ledger {
        None
    } else {
        nginx(dir.path(), conns, secs)
    };
    let load_after = load_average();

    let fmt = |w: &Option<Wrk>| match w {
        Some(w) => format!(
            "{:.0}/s | {:.2} ms | {:.2} ms | {}",
            w.rps, w.p50_ms, w.p99_ms, w.errors
        ),
        None => "not measured (wrk missing) | | |".into(),
    };
    println!();
    println!(
        "Machine: {}; load average before {load_before}, after {load_after}",
        machine()
    );
    println!(
        "Store: {clicks} clicks, {conversions} conversions over 30 days, {seed_note}; server start {start_secs:.2} s"
    );
    println!();
    println!("| storage | result | target |");
    println!("|---|---|---|");
    print_storage("seeded store", &stored);
    println!("| start-up (spawn to /healthz 200) | {start_secs:.2} s | |");
    println!();
    println!("| measure | rate | p50 | p99 | errors |");
    println!("|---|---|---|---|---|");
    if !only_ledger {
        println!(
            "| click redirects, {conns} connections, {secs} s | {} |",
            fmt(&clicks_run)
        );
        println!(
            "| click redirects during `trcker backup` ({:.1} GB in {backup_secs:.1} s) | {} |",
            backup_bytes as f64 / 1e9,
            fmt(&backup_run)
        );
        println!(
            "| click redirects while the heaviest reports run ({heavy_note}) | {} |",
            fmt(&heavy_run)
        );
        println!(
            "| click redirects alone, the run right before those reports | {} |",
            fmt(&heavy_alone)
        );
        if let (Some(alone), Some(heavy)) = (&heavy_alone, &heavy_run) {
            println!(
                "| click redirects during those reports / alone right before | {:.2} | | | |",
                heavy.rps / alone.rps
            );
        }
    }
    println!(
        "| conversions (POST), {conns} connections, {secs} s | {} |",
        fmt(&conv_run)
    );
    println!(
        "| conversions (POST) with 2 payout rules and 3 caps in play | {} |",
        fmt(&ledger_run)
    );
    if let (Some(plain), Some(ledger)) = (&conv_run, &ledger_run) {
        println!(
            "| conversions with rules and caps / plain | {:.2} | | | |",
            ledger.rps / plain.rps
        );
    }
    statement.print();
    if !only_ledger {
        println!(
            "| nginx `return 302`, same machine | {} |",
            match &nginx_run {
                Some(_) => fmt(&nginx_run),
                None => "not measured (nginx missing) | | |".into(),
            }
        );
    }
    if let (Some(c), Some(n)) = (&clicks_run, &nginx_run) {
        println!("| clicks / nginx | {:.2} | | | |", c.rps / n.rps);
    }
    for (group, zone, ms) in &report_rows {
        println!("| /reports 30 days, group_by={group}, timezone={zone} | | {ms:.1} ms | | |");
    }
    print_sub_rows(&sub_rows);
    for (name, t) in &page_rows {
        match t {
            Some((p50, max)) => println!("| page: {name} | | {p50:.1} ms | max {max:.1} ms | |"),
            None => println!("| page: {name} | | n/a (page missing) | | |"),
        }
    }
    println!("| RSS idle, after start on the seeded store | {idle_rss:.1} MiB | | | |");
    if !only_ledger {
        println!("| RSS peak under click load (VmHWM) | {hwm_clicks:.1} MiB | | | |");
    }
    println!("| RSS peak under conversion load | {hwm_conversions:.1} MiB | | | |");
    println!("| RSS after the load | {rss_after:.1} MiB | | | |");
    if !only_ledger {
        println!("| RSS peak through the report queries | {hwm_reports:.1} MiB | | | |");
    }
    if let Some(e) = &export {
        println!(
            "| every conversion as CSV (`GET /conversions`, `Accept: text/csv`, a server started for it): {} rows, {:.0} MB in {:.1} s | peak RSS {:.1} MiB (idle {:.1}) | | | |",
            e.rows,
            e.bytes as f64 / 1e6,
            e.secs,
            e.peak,
            e.idle
        );
    }
    println!();
    println!("Rules and caps check: {ledger_check}");
    println!(
        "Statements: a fresh partner's {} approved conversions posted through the API ({}), then \
         {STATEMENT_RUNS} times: POST /statements (time to the answer), its lines as CSV \
         (time to the full body), DELETE /statements/{{id}}; p50 and max.",
        statement.lines, statement.seeded
    );
    if !only_ledger {
        println!(
            "Pages: signed in as an admin, {PAGE_RUNS} requests each after {PAGE_WARMUPS} warm-ups, \
         one at a time; time to the full body on loopback (server time as seen on loopback), \
         p50 and max. Target: every page < 100 ms."
        );
    }
}

/// A wrk script POSTing conversions of `partner` on `offer`, each with its own transaction id
/// (`prefix`-thread-counter).
fn conversions_script(path: &Path, offer: i64, partner: i64, auth: &str, prefix: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    write!(
        f,
        r#"local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function request()
  counter = counter + 1
  local body = '{{"offer_id":{offer},"partner_id":{partner},"amount":12.34,"transaction_id":"{prefix}-' .. tid .. '-' .. counter .. '"}}'
  return wrk.format("POST", "/api/v1/conversions", {{["Content-Type"] = "application/json", ["Authorization"] = "{auth}"}}, body)
end
"#
    )
    .unwrap();
}

const STATEMENT_RUNS: usize = 5;
/// Reports at once in the click run beside reports: the server's report threads.
const HEAVY_REPORTS: usize = 2;

/// The heaviest report found on the bench store (see where it runs).
const HEAVY_GROUP: &str = "hour,offer,sub1";
/// The offer's payout (cpa), in minor units: what each line of the statement pays.
const BENCH_PAYOUT_MINOR: i64 = 250;

/// What the statement phase measured.
struct StatementRun {
    lines: u64,
    /// How the conversions were posted: count, time, rate.
    seeded: String,
    create_ms: Vec<f64>,
    csv_ms: Vec<f64>,
    csv_bytes: usize,
    delete_ms: Vec<f64>,
}

fn p50_max(v: &[f64]) -> (f64, f64) {
    (p50(v.to_vec()), v.iter().copied().fold(0.0, f64::max))
}

impl StatementRun {
    fn print(&self) {
        let (p, m) = p50_max(&self.create_ms);
        println!(
            "| statement of {} conversions (POST /statements), p50 and max of {STATEMENT_RUNS} | | {p:.0} ms | max {m:.0} ms | |",
            self.lines
        );
        let (p, m) = p50_max(&self.csv_ms);
        println!(
            "| its lines as CSV ({:.1} MB), time to the full body | | {p:.0} ms | max {m:.0} ms | |",
            self.csv_bytes as f64 / 1e6
        );
        let (p, m) = p50_max(&self.delete_ms);
        println!(
            "| DELETE /statements/{{id}} (frees its conversions) | | {p:.0} ms | max {m:.0} ms | |"
        );
    }
}

/// A fresh partner with BENCH_STATEMENT_LINES approved conversions on `offer` (posted through
/// the API, 64 at a time, each answered 201), then its statement through today built, checked
/// (line count, total), read as CSV and deleted, STATEMENT_RUNS times.
fn statement_phase(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    offer: i64,
    run: &str,
) -> StatementRun {
    let lines = env_or("BENCH_STATEMENT_LINES", 100_000);
    let api = |path: &str| format!("{base}/api/v1{path}");
    let partner = rt.block_on(async {
        let r = http
            .post(api("/partners"))
            .header("Authorization", auth)
            .json(&serde_json::json!({"name": "Bench statements", "email": format!("bench-statements-{run}@example.com")}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "POST /partners: {}", r.status());
        r.json::<serde_json::Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap()
    });
    const WORKERS: u64 = 64;
    let t = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (http, url, auth) = (http.clone(), api("/conversions"), auth.to_string());
                let run = run.to_string();
                tokio::spawn(async move {
                    for i in (w..lines).step_by(WORKERS as usize) {
                        let r = http
                            .post(&url)
                            .header("Authorization", &auth)
                            .json(&serde_json::json!({"offer_id": offer, "partner_id": partner, "amount": 12.34, "transaction_id": format!("bench-{run}-statement-{i}")}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), reqwest::StatusCode::CREATED, "POST /conversions");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let seed_secs = t.elapsed().as_secs_f64();
    let seeded = format!(
        "{lines} in {seed_secs:.1} s, {:.0}/s",
        lines as f64 / seed_secs
    );
    eprintln!("bench: statement partner {partner}: posted {seeded}");

    let through = chrono::Utc::now().date_naive().to_string();
    let expected_total = (lines as i64 * BENCH_PAYOUT_MINOR) as f64 / 100.0;
    let mut out = StatementRun {
        lines,
        seeded,
        create_ms: Vec::new(),
        csv_ms: Vec::new(),
        csv_bytes: 0,
        delete_ms: Vec::new(),
    };
    for _ in 0..STATEMENT_RUNS {
        let t = Instant::now();
        let made = rt.block_on(async {
            let r = http
                .post(api("/statements"))
                .header("Authorization", auth)
                .json(&serde_json::json!({"partner_id": partner, "through": through}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::CREATED, "POST /statements");
            r.json::<serde_json::Value>().await.unwrap()
        });
        out.create_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let s = &made["data"][0];
        assert_eq!(made["data"].as_array().map(Vec::len), Some(1), "{made}");
        assert_eq!(s["lines"].as_u64(), Some(lines), "{s}");
        assert_eq!(s["total"].as_f64(), Some(expected_total), "{s}");
        let id = s["id"].as_i64().unwrap();

        let t = Instant::now();
        let csv = rt.block_on(async {
            let r = http
                .get(api(&format!("/statements/{id}/lines?format=csv")))
                .header("Authorization", auth)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "GET lines CSV: {}", r.status());
            r.bytes().await.unwrap()
        });
        out.csv_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let rows = csv.iter().filter(|&&b| b == b'\n').count() as u64;
        assert_eq!(rows, lines + 1, "CSV: a header and a record per line");
        out.csv_bytes = csv.len();

        let t = Instant::now();
        rt.block_on(async {
            let r = http
                .delete(api(&format!("/statements/{id}")))
                .header("Authorization", auth)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                reqwest::StatusCode::NO_CONTENT,
                "DELETE /statements/{id}"
            );
        });
        out.delete_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

const PAGE_WARMUPS: usize = 2;
const PAGE_RUNS: usize = 20;

/// Cookie `name`'s value as a response sets it.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|v| {
        let (k, v) = v.to_str().ok()?.split(';').next()?.split_once('=')?;
        (k.trim() == name).then(|| v.to_string())
    })
}

/// An admin made with `trcker admin create` (or its password reset, when a reused store has
/// it already), signed in through `/login` as a browser does; the session's cookie.
fn sign_in(rt: &tokio::runtime::Runtime, base: &str, data: &Path, web: &reqwest::Client) -> String {
    const EMAIL: &str = "bench@example.com";
    const PASSWORD: &str = "bench pages password";
    let admin = |command: &str| {
        let mut child = trcker()
            .args(["admin", command, "--email", EMAIL, "--data-dir"])
            .arg(data)
            .env("TRCKER_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        child.wait().is_ok_and(|s| s.success())
    };
    assert!(
        admin("create") || admin("reset-password"),
        "trcker admin create failed"
    );
    rt.block_on(async {
        let r = web.get(format!("{base}/login")).send().await.unwrap();
        assert!(r.status().is_success(), "GET /login: {}", r.status());
        let pre = set_cookie(&r, "trcker_csrf").expect("/login sets trcker_csrf");
        let html = r.text().await.unwrap();
        let at = html
            .find("name=\"csrf\" value=\"")
            .expect("/login has a csrf field")
            + 19;
        let csrf = &html[at..at + html[at..].find('"').unwrap()];
        let r = web
            .post(format!("{base}/login"))
            .header("cookie", format!("trcker_csrf={pre}"))
            .form(&[("csrf", csrf), ("email", EMAIL), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection(), "POST /login: {}", r.status());
        let session = set_cookie(&r, "trcker_session").expect("sign-in sets trcker_session");
        format!("trcker_session={session}")
    })
}

/// p50 and max (ms) of the dashboard's pages as a signed-in admin gets them; `None` for a
/// page this build doesn't have (404).
fn pages(
    rt: &tokio::runtime::Runtime,
    base: &str,
    data: &Path,
    api: &reqwest::Client,
    auth: &str,
) -> Vec<(&'static str, Option<(f64, f64)>)> {
    let get = |path: &str| {
        rt.block_on(async {
            let r = api
                .get(format!("{base}/api/v1{path}"))
                .header("Authorization", auth)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<serde_json::Value>().await.unwrap()
        })
    };
    // The seeded brand (the key's), its first partner with clicks this month (the seed makes
    // its partners before the bench adds its own, whose conversions are the newest), and a
    // conversion id half way down the list (a page deep in it).
    let brand = get("/brand")["id"].as_i64().unwrap();
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(29);
    let by_partner = get(&format!("/reports?from={from}&to={today}&group_by=partner"));
    let partner = by_partner["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["partner_id"].as_i64())
        .min()
        .expect("the store has clicks this month");
    let newest = get("/conversions?limit=1")["data"][0]["id"]
        .as_i64()
        .expect("the store has conversions");
    let mid = newest / 2;

    let web = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let session = sign_in(rt, base, data, &web);
    let b = format!("/b/{brand}");
    let list: [(&'static str, String); 6] = [
        ("Overview 30 days", format!("{b}?range=30d")),
        (
            "partner, 30 days",
            format!("{b}/partners/{partner}?range=30d"),
        ),
        ("conversions, first page", format!("{b}/conversions")),
        (
            "conversions, approved, deep page",
            format!("{b}/conversions?status=approved&before={mid}"),
        ),
        ("offers", format!("{b}/offers")),
        (
            "report 30 days, group_by=day,offer",
            format!("{b}/reports?range=30d&group_by=day,offer"),
        ),
    ];
    list.into_iter()
        .map(|(name, path)| {
            let url = format!("{base}{path}");
            let mut times = Vec::new();
            for i in 0..PAGE_WARMUPS + PAGE_RUNS {
                let t = Instant::now();
                let (status, body) = rt.block_on(async {
                    let r = web
                        .get(&url)
                        .header("cookie", &session)
                        .send()
                        .await
                        .unwrap();
                    let status = r.status();
                    (status, r.bytes().await.unwrap())
                });
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if status == reqwest::StatusCode::NOT_FOUND {
                    eprintln!("bench: {path}: 404, not in this build");
                    return (name, None);
                }
                assert!(status.is_success(), "{path}: {status}");
                assert!(!body.is_empty(), "{path}: empty page");
                if i >= PAGE_WARMUPS {
                    times.push(ms);
                }
            }
            let max = times.iter().copied().fold(0.0, f64::max);
            (name, Some((p50(times), max)))
        })
        .collect()
}

/// Sub-id report groupings timed on every store (all over 30 days, but see `sub_report`).
const SUB_GROUPS: [(&str, &str); 14] = [
    ("sub1", "UTC"),
    ("sub1", "Asia/Kolkata"),
    ("day,sub1", "UTC"),
    ("day,sub1", "Asia/Kolkata"),
    ("day,sub1", "Asia/Kathmandu"),
    ("day,sub1", "America/New_York"),
    ("hour,sub1", "UTC"),
    ("week,sub1", "UTC"),
    ("month,sub1", "UTC"),
    ("offer,sub1", "UTC"),
    ("partner,sub1", "UTC"),
    ("day,offer,sub1", "UTC"),
    ("sub1,sub2", "UTC"),
    ("offer,partner,sub1", "UTC"),
];

/// One timed sub-id report.
struct SubReport {
    store: String,
    group: String,
    zone: String,
    range: String,
    status: u16,
    rows: usize,
    bytes: usize,
    p50: f64,
    max: f64,
    runs: usize,
}

fn print_sub_rows(rows: &[SubReport]) {
    for r in rows {
        let answer = if r.status == 200 {
            format!("{} rows, {:.1} MB", r.rows, r.bytes as f64 / 1e6)
        } else {
            format!("{} (report_too_large)", r.status)
        };
        println!(
            "| /reports {}, group_by={}, timezone={} ({}) | {answer} | {:.1} ms | max {:.1} ms | {} runs |",
            r.range, r.group, r.zone, r.store, r.p50, r.max, r.runs
        );
    }
}

/// p50 and max of up to 20 runs after a warm-up (fewer when the answer is big: runs stop
/// after 15 s, at least 3). A 422 (more rows than an answer holds) is timed as well: it must
/// come fast.
#[allow(
    clippy::too_many_arguments,
    reason = "the bench's context, passed as plain values"
)]
fn sub_report(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    group: &str,
    zone: &str,
    (from, to): (chrono::NaiveDate, chrono::NaiveDate),
    store: &str,
) -> SubReport {
    let url = format!("{base}/api/v1/reports?from={from}&to={to}&group_by={group}&timezone={zone}");
    let get = || {
        rt.block_on(async {
            let r = http
                .get(&url)
                .header("Authorization", auth)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            assert!(status == 200 || status == 422, "{url}: {status}");
            (status, r.bytes().await.unwrap())
        })
    };
    let (status, body) = get();
    let rows = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["data"]
        .as_array()
        .map_or(0, Vec::len);
    let started = Instant::now();
    let mut times = Vec::new();
    while times.len() < 20 && (times.len() < 3 || started.elapsed().as_secs() < 15) {
        let t = Instant::now();
        assert!(!get().1.is_empty());
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let max = times.iter().copied().fold(0.0, f64::max);
    SubReport {
        store: store.to_string(),
        group: group.to_string(),
        zone: zone.to_string(),
        range: format!("{} days", (to - from).num_days() + 1),
        status,
        rows,
        bytes: body.len(),
        runs: times.len(),
        p50: p50(times),
        max,
    }
}

/// Wait until the server on `data` has backfilled and sealed its sub-id rollups (reports
/// read the raw rows until then): polls `sub_state` with sqlite3 (as the writer decides:
/// a span with no row yet starts at `first`; done when no span has an ended block left).
fn sub_rollups_settled(data: &Path) {
    let db = data.join("trcker.db");
    for _ in 0..3_600 {
        let out = Command::new("sqlite3")
            .arg(&db)
            .arg(
                "WITH s(span) AS (VALUES (3600), (21600), (86400), (172800), (345600), \
                 (691200), (1382400)), v(name, value) AS (SELECT name, value FROM sub_state) \
                 SELECT (SELECT value FROM v WHERE name = 'backfill_next') >= \
                 (SELECT value FROM v WHERE name = 'live_from') AND NOT EXISTS (SELECT 1 \
                 FROM s WHERE COALESCE((SELECT value FROM v WHERE name = 'seal_' || s.span), \
                 (SELECT value FROM v WHERE name = 'first') / s.span * s.span) + s.span \
                 <= strftime('%s', 'now') - 5)",
            )
            .output();
        match out {
            Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "1" => return,
            Ok(_) => std::thread::sleep(Duration::from_millis(500)),
            Err(_) => return,
        }
    }
}

/// What the export phase measured.
struct Export {
    rows: u64,
    bytes: u64,
    secs: f64,
    idle: f64,
    peak: f64,
}

/// Every conversion of the store as CSV, streamed, from a server started for it (the peak RSS
/// is then the export's, not what earlier phases left resident): rows, bytes, time, RSS.
fn export_phase(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    data: &Path,
    auth: &str,
) -> Export {
    let server = start(data);
    let pid = server.child.id();
    std::thread::sleep(Duration::from_secs(1));
    let (idle, _) = rss(pid);
    reset_peak(pid);
    let t = Instant::now();
    let (rows, bytes) = rt.block_on(async {
        let mut r = http
            .get(format!("{}/api/v1/conversions", server.base))
            .header("Authorization", auth)
            .header("Accept", "text/csv")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "CSV export: {}", r.status());
        let (mut rows, mut bytes) = (0u64, 0u64);
        while let Some(chunk) = r.chunk().await.unwrap() {
            bytes += chunk.len() as u64;
            rows += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        }
        (rows, bytes)
    });
    let secs = t.elapsed().as_secs_f64();
    let (_, peak) = rss(pid);
    Export {
        // Less the header line.
        rows: rows.saturating_sub(1),
        bytes,
        secs,
        idle,
        peak,
    }
}

/// Throwaway stores of other sub1 cardinalities (BENCH_SUB_CARDINALITIES), one at a time:
/// seeded, timed, deleted (or the stores of BENCH_SUB_STORES, timed and kept).
fn sub_cardinality_stores(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    dir: &Path,
    clicks: u64,
    conversions: u64,
) -> Vec<SubReport> {
    let list = std::env::var("BENCH_SUB_CARDINALITIES").unwrap_or_else(|_| "10000,0".into());
    let given: Vec<(u64, std::path::PathBuf)> = std::env::var("BENCH_SUB_STORES")
        .unwrap_or_default()
        .split(',')
        .filter_map(|e| {
            let (c, d) = e.split_once('=')?;
            Some((c.trim().parse().ok()?, d.trim().into()))
        })
        .collect();
    let clicks = env_or("BENCH_SUB_CLICKS", clicks);
    let conversions = conversions.min(clicks);
    let stores: Vec<(u64, std::path::PathBuf, bool)> = if given.is_empty() {
        list.split(',')
            .filter_map(|c| c.trim().parse::<u64>().ok())
            .map(|c| (c, dir.join(format!("sub-{c}")), true))
            .collect()
    } else {
        given.into_iter().map(|(c, d)| (c, d, false)).collect()
    };
    let mut out = Vec::new();
    for (card, data, throwaway) in stores {
        let name = if card == 0 {
            "one sub1 per click".to_string()
        } else {
            format!("{card} sub1 values")
        };
        let mut note = String::new();
        if throwaway {
            eprintln!("bench: seeding {clicks} clicks, {name}");
            let t = Instant::now();
            let ok = trcker()
                .args(["seed", "--clicks", &clicks.to_string()])
                .args(["--conversions", &conversions.to_string()])
                .args(["--sub-cardinality", &card.to_string()])
                .arg("--data-dir")
                .arg(&data)
                .stdout(Stdio::null())
                .status()
                .unwrap()
                .success();
            assert!(ok, "trcker seed failed");
            note = format!(", seeded in {:.0} s", t.elapsed().as_secs_f64());
        }
        let db = data.join("trcker.db");
        let sub_bytes = Command::new("sqlite3")
            .arg(&db)
            .arg(
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('sub_rollups', 'sub_tuples', \
                 'sub_tuples_hash', 'sub_seals')",
            )
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<u64>()
                    .ok()
            });
        let store = format!(
            "{name}{note}, sub-id tables {}",
            sub_bytes.map_or("n/a (no sqlite3)".into(), |b| format!(
                "{:.2} GB",
                b as f64 / 1e9
            ))
        );
        let out_key = trcker()
            .args(["keys", "create", "--brand", "seed", "--data-dir"])
            .arg(&data)
            .stderr(Stdio::null())
            .output()
            .unwrap();
        let key = String::from_utf8(out_key.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_string();
        let auth = format!("Bearer {key}");
        let server = start(&data);
        sub_rollups_settled(&data);
        let today = chrono::Utc::now().date_naive();
        let month = (today - chrono::Duration::days(29), today);
        let yesterday = today - chrono::Duration::days(1);
        for (group, zone) in SUB_GROUPS {
            out.push(sub_report(
                rt,
                http,
                &server.base,
                &auth,
                group,
                zone,
                month,
                &store,
            ));
        }
        if card == 0 {
            // One value per click: a month or even a day of it is more rows than an answer
            // holds (the 422 must come fast); a day of one offer and partner is an answer.
            for (group, zone) in [
                ("sub1", "UTC"),
                ("sub1", "Asia/Kolkata"),
                ("sub1&offer_id=1", "UTC"),
                ("sub1&offer_id=1&partner_id=1", "UTC"),
                ("day,sub1&offer_id=1&partner_id=1", "Asia/Kolkata"),
            ] {
                out.push(sub_report(
                    rt,
                    http,
                    &server.base,
                    &auth,
                    group,
                    zone,
                    (yesterday, yesterday),
                    &store,
                ));
            }
        }
        drop(server);
        if throwaway {
            let _ = std::fs::remove_dir_all(&data);
        }
    }
    out
}
