//! Accepting connections: how long a client may take, how many may be open at once, and what
//! happens when the process runs out of file descriptors.
//!
//! poem's `Server` enforces none of these: hyper's header timeout needs a timer that poem does
//! not set, its HTTP/1-or-2 detection waits for 24 bytes with no deadline, and its accept loop
//! retries a failed `accept` at once, so `EMFILE` spins a core. Tracking links are public, so
//! this loop drives hyper's HTTP/1.1 connection itself and hands each request to the same poem
//! endpoint. (No HTTP/2: browsers speak it only over TLS, which a reverse proxy terminates.)

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Body, Endpoint, Request, Response};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};

/// Descriptors kept back from the connection cap for the database, the WAL, the pool, the
/// lock file, logs and the CLI's own use.
const FD_RESERVE: u64 = 64;
/// The cap when the descriptor limit is generous: beyond this, memory per connection (hyper's
/// buffers, a task) matters more than descriptors.
const MAX_CONNECTIONS_CEILING: u64 = 16_384;

/// When the server is full, idle connections at least this old are closed to make room (a
/// younger one may be a visitor about to send its request).
const SHED_MIN_AGE: Duration = Duration::from_secs(1);

/// What a client may cost the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request's headers (counted from the connection's
    /// start, or from the end of the previous answer, so it is also the keep-alive idle time),
    /// and the longest pause allowed while it sends a body.
    pub client_timeout: Duration,
    /// Connections open at once; past it, new ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// After a shutdown signal, how long requests in flight may take to finish.
    pub shutdown_grace: Duration,
}

/// Raise the soft descriptor limit to the hard one (what Go's runtime and nginx's
/// `worker_rlimit_nofile` do) and return the soft limit in force.
pub fn raise_fd_limit() -> u64 {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain syscalls on a local struct.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return 1024;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
        }
        #[allow(
            clippy::unnecessary_cast,
            reason = "rlim_t is u64 on Linux, not everywhere"
        )]
        {
            lim.rlim_cur as u64
        }
    }
    #[cfg(not(unix))]
    {
        1024
    }
}

/// The default connection cap for a descriptor limit: what is left after the reserve, at least
/// 16, at most [`MAX_CONNECTIONS_CEILING`].
pub fn default_max_connections(fd_limit: u64) -> usize {
    fd_limit
        .saturating_sub(FD_RESERVE)
        .clamp(16, MAX_CONNECTIONS_CEILING) as usize
}

/// Accept on `listener` and answer with `ep` until `shutdown` resolves; then stop accepting,
/// close idle and half-sent connections, and give requests in flight `shutdown_grace` to end.
pub async fn serve<E>(
    listener: TcpListener,
    ep: E,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    E: Endpoint<Output = Response> + 'static,
{
    let ep = Arc::new(ep);
    let local = listener.local_addr()?;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut exhausted = Backoff::default();
    let shed = Arc::new(Notify::new());
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the cap, connections wait in the backlog instead of being accepted
        // and starved.
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                // Full: ask connections that are idle or still sending their headers to make
                // room, so a flood of silent sockets can't keep real visitors waiting for
                // the client timeout.
                let waited = loop {
                    shed.notify_waiters();
                    tokio::select! {
                        _ = &mut shutdown => break None,
                        p = slots.clone().acquire_owned() => {
                            break Some(p.expect("the semaphore is never closed"));
                        }
                        // Connections too young to shed a moment ago may be old enough now.
                        _ = tokio::time::sleep(SHED_MIN_AGE / 4) => {}
                    }
                };
                match waited {
                    Some(p) => p,
                    None => break,
                }
            }
        };
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    // A failed accept leaves the connection in the backlog, so retrying at once
                    // fails again at once: wait for descriptors to be freed.
                    if out_of_descriptors(&e) {
                        exhausted.wait(&e).await;
                    }
                    continue;
                }
            },
        };
        // Answers are small and written whole: don't let Nagle hold the last segment back.
        let _ = stream.set_nodelay(true);
        let ep = ep.clone();
        let mut stop = stop_rx.clone();
        let shed = shed.clone();
        tokio::spawn(async move {
            let opened = Instant::now();
            let _slot = permit;
            let timeout = limits.client_timeout;
            let in_flight = Arc::new(AtomicUsize::new(0));
            let service = hyper::service::service_fn({
                let in_flight = in_flight.clone();
                move |req| {
                    let ep = ep.clone();
                    let busy = InFlight::enter(&in_flight);
                    async move {
                        let resp = answer(&*ep, req, local, remote, timeout).await;
                        drop(busy);
                        Ok::<_, Infallible>(resp)
                    }
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            loop {
                tokio::select! {
                    _ = conn.as_mut() => return,
                    _ = stop.wait_for(|stopping| *stopping) => break,
                    _ = shed.notified() => {
                        let idle = in_flight.load(Ordering::Acquire) == 0;
                        if idle && opened.elapsed() >= SHED_MIN_AGE {
                            break;
                        }
                    }
                }
            }
            // No more requests on this connection; one being answered finishes first (the
            // server's grace period bounds it). A connection with none, idle or still sending
            // its headers, is not in flight: it is closed once its last answer is written.
            conn.as_mut().graceful_shutdown();
            let mut idle_ticks = 0;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => return,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
                if in_flight.load(Ordering::Acquire) == 0 {
                    idle_ticks += 1;
                    if idle_ticks >= 4 {
                        return;
                    }
                } else {
                    idle_ticks = 0;
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still running {} s after the shutdown signal: stopping them",
            limits.shutdown_grace.as_secs()
        );
    }
    Ok(())
}

/// One request through poem, its body (if any) held to the pause limit.
async fn answer<E: Endpoint<Output = Response>>(
    ep: &E,
    req: hyper::Request<Incoming>,
    local: SocketAddr,
    remote: SocketAddr,
    timeout: Duration,
) -> hyper::Response<BoxBody<Bytes, io::Error>> {
    let has_body = !req.body().is_end_stream();
    let mut req = Request::from((
        req,
        LocalAddr(Addr::SocketAddr(local)),
        RemoteAddr(Addr::SocketAddr(remote)),
        Scheme::HTTP,
    ));
    if has_body {
        let body: BoxBody<Bytes, io::Error> = req.take_body().into();
        req.set_body(Body::from(BoxBody::new(Paced::new(body, timeout))));
    }
    ep.get_response(req).await.into()
}

/// Counts a request as being answered while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::AcqRel);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request body that fails when the client pauses longer than the limit between two chunks
/// (nginx's `client_body_timeout`): a slow body can't hold a connection forever.
struct Paced {
    inner: BoxBody<Bytes, io::Error>,
    timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Paced {
    fn new(inner: BoxBody<Bytes, io::Error>, timeout: Duration) -> Paced {
        Paced {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl HttpBody for Paced {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let next = tokio::time::Instant::now() + this.timeout;
                this.deadline.as_mut().reset(next);
                Poll::Ready(frame)
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client paused too long while sending the body",
                )))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// The pause after an accept that failed for want of descriptors, and a warning at most every
/// ten seconds (a flood would otherwise fill the log).
#[derive(Default)]
struct Backoff {
    warned: Option<Instant>,
}

impl Backoff {
    async fn wait(&mut self, e: &io::Error) {
        if self
            .warned
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
        {
            tracing::warn!(
                "cannot accept connections: {e}; raise the descriptor limit (LimitNOFILE) or \
                 lower --max-connections"
            );
            self.warned = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_descriptors_for_the_store() {
        assert_eq!(default_max_connections(256), 192);
        assert_eq!(default_max_connections(1024), 960);
        assert_eq!(default_max_connections(10), 16);
        assert_eq!(default_max_connections(1 << 20), 16_384);
    }
}
