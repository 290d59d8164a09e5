//! The real binary as a process: `trcker serve` on a random loopback port (read off its
//! start-up line), its stdout kept drained (and recorded) so it never blocks on a full pipe,
//! killed on drop. Shared with `benches/load.rs`, which passes the release binary with `bin`.
#![allow(
    dead_code,
    reason = "the bench includes this file too and uses only part of it"
)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// The binary cargo built for this test (or bench) crate.
pub const BIN: &str = env!("CARGO_BIN_EXE_trcker");

/// `trcker` with `TRCKER_LOG=warn`, ready for arguments.
pub fn trcker(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env("TRCKER_LOG", "warn");
    cmd
}

/// Run `trcker args` to completion with `input` on stdin.
pub fn run_with_input(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `trcker keys create --brand brand --name name --data-dir dir`: the key and the stderr.
pub fn create_key_with(bin: &Path, dir: &Path, brand: &str, name: &str) -> (String, String) {
    let out = trcker(bin)
        .args([
            "keys",
            "create",
            "--brand",
            brand,
            "--name",
            name,
            "--data-dir",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keys create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim().to_string();
    (key, String::from_utf8(out.stderr).unwrap())
}

/// A key for `brand` in `dir`, made by `trcker keys create`.
pub fn create_key(dir: &Path, brand: &str) -> String {
    create_key_with(Path::new(BIN), dir, brand, "test").0
}

/// How to start `trcker serve`.
pub struct Serve {
    bin: PathBuf,
    dir: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    nofile: Option<u64>,
    stderr: bool,
    dir_by_env: bool,
}

/// `trcker serve --addr 127.0.0.1:0 --data-dir dir`, `TRCKER_LOG=warn`, stderr discarded.
pub fn serve(dir: &Path) -> Serve {
    Serve {
        bin: PathBuf::from(BIN),
        dir: dir.to_path_buf(),
        args: Vec::new(),
        env: vec![("TRCKER_LOG".into(), "warn".into())],
        nofile: None,
        stderr: false,
        dir_by_env: false,
    }
}

impl Serve {
    /// Another binary (the bench's release build).
    pub fn bin(mut self, bin: impl Into<PathBuf>) -> Self {
        self.bin = bin.into();
        self
    }

    /// Extra flags after `serve --addr 127.0.0.1:0`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Pass the data dir as `TRCKER_DATA_DIR` rather than `--data-dir`.
    pub fn dir_by_env(mut self) -> Self {
        self.dir_by_env = true;
        self
    }

    /// Run under this descriptor limit (`RLIMIT_NOFILE`).
    pub fn nofile(mut self, n: u64) -> Self {
        self.nofile = Some(n);
        self
    }

    /// Record stderr (read with `Server::stderr` once the process has ended).
    pub fn capture_stderr(mut self) -> Self {
        self.stderr = true;
        self
    }

    /// Start it; returns once it listens.
    pub fn start(self) -> Server {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .args(&self.args);
        if self.dir_by_env {
            cmd.env("TRCKER_DATA_DIR", &self.dir);
        } else {
            cmd.arg("--data-dir").arg(&self.dir);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped()).stderr(if self.stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        if let Some(n) = self.nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().expect("start trcker");
        let stderr = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = e.read_to_end(&mut buf);
                String::from_utf8_lossy(&buf).into_owned()
            })
        });
        let lines: Lines = Arc::new((Mutex::new((Vec::new(), false)), Condvar::new()));
        let drain = {
            let lines = lines.clone();
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    lines.0.lock().unwrap().0.push(line);
                    lines.1.notify_all();
                }
                lines.0.lock().unwrap().1 = true;
                lines.1.notify_all();
            })
        };
        let mut server = Server {
            child,
            base: String::new(),
            addr: String::new(),
            dir: self.dir,
            bin: self.bin,
            lines,
            drain: Some(drain),
            stderr,
            exited: None,
        };
        let line = server
            .wait_for_line(|l| l.contains("listening on"))
            .unwrap_or_else(|| panic!("no start-up line in {:?}", server.stdout()));
        server.base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        server.addr = server.base.trim_start_matches("http://").to_string();
        server
    }
}

/// Stdout lines so far, and whether stdout has ended.
type Lines = Arc<(Mutex<(Vec<String>, bool)>, Condvar)>;

/// A running `trcker serve`; SIGKILLed and reaped on drop.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:port`
    pub base: String,
    /// `127.0.0.1:port`
    pub addr: String,
    pub dir: PathBuf,
    bin: PathBuf,
    lines: Lines,
    drain: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
    exited: Option<ExitStatus>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A key for `brand`, made by `trcker keys create` on this server's data dir.
    pub fn key(&self, brand: &str) -> String {
        create_key_with(&self.bin, &self.dir, brand, "test").0
    }

    /// The first stdout line (so far or to come) that `pred` accepts; `None` once stdout ends
    /// without one.
    pub fn wait_for_line(&self, pred: impl Fn(&str) -> bool) -> Option<String> {
        let (lock, cv) = &*self.lines;
        let mut g = lock.lock().unwrap();
        loop {
            if let Some(l) = g.0.iter().find(|l| pred(l)) {
                return Some(l.clone());
            }
            if g.1 {
                return None;
            }
            g = cv.wait(g).unwrap();
        }
    }

    /// The stdout lines read so far (all of them once the process has ended and `wait`ed).
    pub fn stdout(&self) -> Vec<String> {
        self.lines.0.lock().unwrap().0.clone()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Send SIGTERM (a graceful stop); does not wait.
    pub fn sigterm(&self) {
        self.signal("-TERM");
    }

    /// SIGKILL and reap.
    pub fn kill9(&mut self) -> ExitStatus {
        let _ = self.child.kill();
        self.wait()
    }

    /// Wait for the process to end, and for its stdout to be read to the end.
    pub fn wait(&mut self) -> ExitStatus {
        let status = match self.exited {
            Some(s) => s,
            None => self.child.wait().unwrap(),
        };
        self.exited = Some(status);
        if let Some(d) = self.drain.take() {
            let _ = d.join();
        }
        status
    }

    /// SIGTERM and wait: asserts a clean exit.
    pub fn stop(mut self) {
        self.sigterm();
        let status = self.wait();
        assert!(status.success(), "clean exit: {status:?}");
    }

    /// Everything written to stderr; waits for the process to end. Needs `capture_stderr`.
    pub fn stderr(&mut self) -> String {
        self.wait();
        self.stderr
            .take()
            .expect("started with capture_stderr")
            .join()
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
