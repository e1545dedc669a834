//! `deskguard healthcheck`: a tiny HTTP/1.0 client for container health
//! checks. Distroless images have no shell, curl or wget, so the image's
//! `HEALTHCHECK` runs the deskguard binary itself against the admin
//! listener's `/healthz`. Plain HTTP only (the admin listener is plain HTTP
//! on a private interface), std only, bounded by a timeout.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::Args;

/// Largest response body read (the admin endpoints answer in a few KiB;
/// tests reuse [`http_get`] for `/metrics` and the Prometheus API).
const MAX_RESPONSE: u64 = 64 << 20;

/// `deskguard healthcheck`.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// URL to probe (plain http://host:port/path).
    #[arg(long, default_value = "http://127.0.0.1:9464/healthz")]
    pub url: String,
    /// Give up after this many milliseconds (connect + request + response).
    #[arg(long, default_value_t = 3000)]
    pub timeout_ms: u64,
}

/// A parsed `http://host:port/path?query` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 when absent).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Parses a plain-HTTP URL. `https://` is refused: the admin listener does
/// not speak TLS, and this client has no TLS.
pub fn parse_url(url: &str) -> anyhow::Result<HttpUrl> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        bail!("{url}: expected http://host[:port]/path");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| anyhow!("{url}: unterminated IPv6 address"))?;
        match after.strip_prefix(':') {
            Some(p) => (h, p),
            None if after.is_empty() => (h, "80"),
            None => bail!("{url}: bad authority"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (authority, "80"),
        }
    };
    let port: u16 = port
        .parse()
        .map_err(|_| anyhow!("{url}: bad port {port:?}"))?;
    if host.is_empty() || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        bail!("{url}: bad host or path");
    }
    Ok(HttpUrl {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// `GET url` over HTTP/1.0 with a deadline. Returns the status code and the
/// body (which is whatever follows the head; HTTP/1.0 has no chunking).
pub fn http_get(url: &str, timeout: Duration) -> anyhow::Result<(u16, Vec<u8>)> {
    let u = parse_url(url)?;
    let deadline = Instant::now() + timeout;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| anyhow!("{url}: timed out"))
    };
    let addrs: Vec<_> = (u.host.as_str(), u.port)
        .to_socket_addrs()
        .with_context(|| format!("{url}: cannot resolve {}", u.host))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, left()?) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut s = match (stream, last) {
        (Some(s), _) => s,
        (None, Some(e)) => return Err(anyhow!("{url}: cannot connect: {e}")),
        (None, None) => bail!("{url}: no address for {}", u.host),
    };
    s.set_write_timeout(Some(left()?))?;
    let host = if u.host.contains(':') {
        format!("[{}]:{}", u.host, u.port)
    } else {
        format!("{}:{}", u.host, u.port)
    };
    write!(
        s,
        "GET {} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: deskguard-healthcheck\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        u.path
    )
    .with_context(|| format!("{url}: sending request"))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        s.set_read_timeout(Some(left()?))?;
        let n = s
            .read(&mut buf)
            .with_context(|| format!("{url}: reading response"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() as u64 > MAX_RESPONSE {
            bail!("{url}: response larger than {MAX_RESPONSE} bytes");
        }
    }
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            raw.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .ok_or_else(|| anyhow!("{url}: incomplete response head"))?;
    let status_line = raw[..head_end.0]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or(b"");
    let status_line = String::from_utf8_lossy(status_line);
    let mut parts = status_line.split_whitespace();
    let code = match (parts.next(), parts.next()) {
        (Some(v), Some(c)) if v.starts_with("HTTP/1.") => c.parse::<u16>().ok(),
        _ => None,
    }
    .filter(|c| (100..=599).contains(c))
    .ok_or_else(|| anyhow!("{url}: not an HTTP response"))?;
    Ok((code, raw[head_end.1..].to_vec()))
}

/// Runs the check: exit 0 on a 2xx answer, 1 otherwise (with the reason on
/// stderr), as Docker's `HEALTHCHECK` expects.
pub fn healthcheck(args: &HealthcheckArgs) -> anyhow::Result<ExitCode> {
    match http_get(&args.url, Duration::from_millis(args.timeout_ms.max(1))) {
        Ok((code, _)) if (200..300).contains(&code) => {
            println!("healthy: {} answered {code}", args.url);
            Ok(ExitCode::SUCCESS)
        }
        Ok((code, _)) => {
            eprintln!("unhealthy: {} answered {code}", args.url);
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("unhealthy: {e:#}");
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot server answering `reply` to the first connection.
    fn serve_once(reply: &'static [u8]) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(reply).unwrap();
            req
        });
        (format!("http://{addr}/healthz"), h)
    }

    #[test]
    fn parses_urls() {
        let u = parse_url("http://127.0.0.1:9464/healthz").unwrap();
        assert_eq!(
            u,
            HttpUrl {
                host: "127.0.0.1".into(),
                port: 9464,
                path: "/healthz".into()
            }
        );
        let u = parse_url("http://[::1]:9/x?q=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 9, "/x?q=1")
        );
        assert_eq!(parse_url("http://localhost").unwrap().port, 80);
        assert!(parse_url("https://127.0.0.1/healthz").is_err());
        assert!(parse_url("http://127.0.0.1:99999/").is_err());
        assert!(parse_url("http://user@host/").is_err());
        assert!(parse_url("http://h/a b").is_err());
    }

    #[test]
    fn ok_answer_is_healthy_and_request_is_http10() {
        let (url, h) = serve_once(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nok\n");
        let (code, body) = http_get(&url, Duration::from_secs(5)).unwrap();
        assert_eq!((code, body.as_slice()), (200, b"ok\n".as_slice()));
        let req = String::from_utf8(h.join().unwrap()).unwrap();
        assert!(req.starts_with("GET /healthz HTTP/1.0\r\n"), "{req}");
        assert!(req.contains("\r\nHost: 127.0.0.1:"), "{req}");
    }

    #[test]
    fn exit_codes() {
        let (url, h) = serve_once(b"HTTP/1.1 200 OK\r\n\r\nok\n");
        let args = HealthcheckArgs {
            url,
            timeout_ms: 5000,
        };
        assert_eq!(healthcheck(&args).unwrap(), ExitCode::SUCCESS);
        h.join().unwrap();
        let (url, h) = serve_once(b"HTTP/1.1 503 Service Unavailable\r\n\r\ndraining\n");
        let args = HealthcheckArgs {
            url,
            timeout_ms: 5000,
        };
        assert_eq!(healthcheck(&args).unwrap(), ExitCode::from(1));
        h.join().unwrap();
    }

    #[test]
    fn garbage_and_closed_ports_are_unhealthy() {
        let (url, h) = serve_once(b"SSH-2.0-OpenSSH\r\n\r\n");
        assert!(http_get(&url, Duration::from_secs(5)).is_err());
        h.join().unwrap();
        // A port nobody listens on: bind, learn the port, close.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let args = HealthcheckArgs {
            url: format!("http://127.0.0.1:{port}/healthz"),
            timeout_ms: 2000,
        };
        assert_eq!(healthcheck(&args).unwrap(), ExitCode::from(1));
    }

    #[test]
    fn silent_server_times_out() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/healthz", l.local_addr().unwrap());
        let t = Instant::now();
        let err = http_get(&url, Duration::from_millis(300)).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5), "{err:#}");
        drop(l);
    }
}
