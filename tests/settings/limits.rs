//! Oversized forms: refused with 413 before their body is read, in-process and by the real server.
use super::*;

use std::io::Write;

/// A request body that counts what is read of it: `len` bytes, or without end.
struct CountingBody {
    read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    len: Option<usize>,
}

impl tokio::io::AsyncRead for CountingBody {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::sync::atomic::Ordering;
        let done = self.read.load(Ordering::SeqCst);
        let left = self.len.map_or(usize::MAX, |l| l - done);
        let n = buf.remaining().min(8192).min(left);
        buf.put_slice(&vec![b'a'; n]);
        self.read.fetch_add(n, Ordering::SeqCst);
        std::task::Poll::Ready(Ok(()))
    }
}

fn counting_body(
    len: Option<usize>,
) -> (poem::Body, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let body = poem::Body::from_async_read(CountingBody {
        read: read.clone(),
        len,
    });
    (body, read)
}

const SETTINGS_FORMS: [&str; 7] = [
    "/setup",
    "/login",
    "/logout",
    "/settings/brands",
    "/settings/brands/1",
    "/settings/api-keys",
    "/settings/api-keys/1/revoke",
];

async fn assert_too_large_page(resp: TestResponse) {
    resp.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    let h = resp.0.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert!(text(resp).await.contains("This form is too large"));
}

#[tokio::test]
async fn oversized_forms_are_refused_with_413_before_their_body_is_read() {
    use std::sync::atomic::Ordering;
    let app = app();
    let session = app.setup().await;
    for path in SETTINGS_FORMS {
        // Claims 300 MiB: refused on the header alone, not a byte of the body read.
        let (body, read) = counting_body(Some(300 << 20));
        let resp = app
            .cli
            .post(path)
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", (300u64 << 20).to_string())
            .body(body)
            .send()
            .await;
        assert_too_large_page(resp).await;
        assert_eq!(read.load(Ordering::SeqCst), 0, "{path}: the body was read");

        // No Content-Length (chunked) and no end: read only up to the cap.
        let (body, read) = counting_body(None);
        let resp = app
            .cli
            .post(path)
            .header("cookie", &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        assert_too_large_page(resp).await;
        let n = read.load(Ordering::SeqCst);
        assert!(
            n <= trcker::web::MAX_FORM_BYTES + 16 * 1024,
            "{path}: read {n} bytes"
        );
    }
    // A form just under the cap is still read and answered as usual.
    let long = "x".repeat(trcker::web::MAX_FORM_BYTES - 200);
    app.login(&long, PASSWORD)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    app.login(EMAIL, PASSWORD)
        .await
        .assert_status(StatusCode::SEE_OTHER);
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// POST `body_len` bytes to /login over a raw socket, declared or chunked; the status line of
/// the answer if one arrives (the server may close while we are still sending).
fn raw_post(addr: &str, body_len: usize, chunked: bool) -> Option<String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let framing = if chunked {
        "transfer-encoding: chunked".to_string()
    } else {
        format!("content-length: {body_len}")
    };
    let head = format!(
        "POST /login HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < body_len {
        let n = chunk.len().min(body_len - sent);
        let ok = if chunked {
            s.write_all(format!("{n:x}\r\n").as_bytes())
                .and_then(|_| s.write_all(&chunk[..n]))
                .and_then(|_| s.write_all(b"\r\n"))
        } else {
            s.write_all(&chunk[..n])
        };
        if ok.is_err() {
            break;
        }
        sent += n;
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    answer.lines().next().map(str::to_string)
}

#[tokio::test]
async fn the_real_server_refuses_huge_forms_without_buffering_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = common::binary::serve(dir.path()).start();
    let addr = server.addr.clone();
    // Claims 300 MiB, sends 100 bytes: answered at once, nothing more awaited.
    let status = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            use std::io::Read;
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
                .unwrap();
            s.write_all(
                format!(
                    "POST /login HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{}",
                    300u64 << 20,
                    "a".repeat(100)
                )
                .as_bytes(),
            )
            .unwrap();
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).to_string()
        }
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");

    let before = vm_rss_kib(server.pid());
    // Several 50 MiB bodies at once, declared and chunked.
    let senders: Vec<_> = (0..6)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || raw_post(&addr, 50 << 20, i % 2 == 1))
        })
        .collect();
    for s in senders {
        if let Some(status) = s.join().unwrap() {
            assert!(status.starts_with("HTTP/1.1 413"), "{status}");
        }
    }
    let after = vm_rss_kib(server.pid());
    // Buffering even one body would add 50 MiB; allow a wide margin for allocator noise.
    assert!(
        after < before + 40 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    // And the server is fine.
    let page = reqwest::get(format!("http://{addr}/login")).await.unwrap();
    assert!(page.status().is_success(), "{}", page.status());
    server.kill9();
}
