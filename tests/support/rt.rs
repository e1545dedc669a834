//! Test harness for a REAL Request Tracker 5 (Debian package, SQLite,
//! standalone Starlet server) plus a tiny blocking REST2 client.
//!
//! Setup: `sudo scripts/rt-setup` installs RT and builds the template database
//! `/var/lib/deskguard-rt/rtdb.template`. [`RtServer::start`] copies that
//! template into a fresh temp dir, writes a site config there (pointed to by
//! `RT_SITE_CONFIG_DIR`, which *replaces* `/etc/request-tracker5/RT_SiteConfig.d`)
//! and starts `rt-server --host 127.0.0.1 --port N` in its own process group.
//! Every server is independent: own DB, own Mason cache, own port.
//!
//! If RT is not installed, [`RtServer::start`] fails with a message pointing to
//! `scripts/rt-setup`, so the tests FAIL. With `DESKGUARD_SKIP_RT=1`,
//! [`RtServer::start_or_skip`] prints a loud SKIP message and returns `None`
//! instead (for machines where RT cannot be installed). Overrides:
//! `DESKGUARD_RT_SERVER` (rt-server path), `DESKGUARD_RT_TEMPLATE_DB`.
//!
//! # REST2 shapes observed on RT 5.0.3 (Debian 12); fixtures in tests/data/rt/
//!
//! * Every `_url` is `$WebBaseURL` + `/REST/2.0/…`, whatever Host the request
//!   came with (see [`RtOptions::web_base_url`]).
//! * Requests may be sent with `Transfer-Encoding: chunked` (Starlet accepts
//!   them), so a proxy that changes a body's length can stream it.
//! * Without `--host`, rt-server (Starlet) listens on 0.0.0.0; the harness
//!   always passes `--host 127.0.0.1`.
//! * Every REST2 request with basic auth checks the password with bcrypt:
//!   ~0.3-0.5 s per request at RT's default cost 12, hence cost 4 in tests.
//! * `GET /REST/2.0/queues/all` → 200 `{"page":1,"per_page":20,"pages":1,"total":1,
//!   "count":1,"items":[{"type":"queue","id":"1","_url":".../queue/1"}]}`.
//!   Collections always look like this; `items` carry only type/id/_url unless
//!   `?fields=A,B` is given. `?page=N&per_page=M` pages (max 100).
//!   A collection can also be searched with `POST /REST/2.0/customfields`
//!   and a JSON body `[{"field":"Name","value":"Legal Basis"}]`.
//! * `POST /REST/2.0/customfield` `{"Name":"Legal Basis","Type":"Freeform","MaxValues":1,
//!   "LookupType":"RT::Queue-RT::Ticket","Queue":"General"}` → 201
//!   `{"_url":".../customfield/2","id":"2","type":"customfield"}`. The `Queue`
//!   key is RT::CustomField->Create's compat argument and applies the CF to
//!   that queue; REST2 in 5.0.3 has no other endpoint to apply a CF to a queue.
//! * `POST /REST/2.0/ticket` `{"Queue":"General","Subject":"…","Requestor":"Alice Example
//!   <alice@example.test>","Content":"…","ContentType":"text/plain",
//!   "CustomFields":{"Legal Basis":"contract"}}` → 201
//!   `{"_url":".../ticket/1","id":"1","type":"ticket"}` (id is a STRING here).
//!   An unknown CF name is silently ignored (only logged server-side).
//!   A "Name <addr>" requestor creates user Name=addr, RealName="Name".
//! * `GET /REST/2.0/ticket/{id}` → 200 `{"id":1 (number), "Subject", "Status":"new",
//!   "Priority":"0" (string), "Queue":{"type":"queue","id":"1","_url"},
//!   "Requestor":[{"type":"user","id":"alice@example.test","_url"}], "Cc":[], "AdminCc":[],
//!   "Owner":{…"id":"Nobody"}, "Creator", "LastUpdatedBy", "Created":"2026-…Z",
//!   "Due"/"Starts"/"Started"/"Resolved":"1970-01-01T00:00:00Z" when unset,
//!   "CustomFields":[{"type":"customfield","id":"2","name":"Legal Basis","values":["contract"],"_url"}],
//!   "_hyperlinks":[{"ref":"self"|"history"|"correspond"|"comment"|"lifecycle"|"customfield",…}]}`.
//!   Note: no message body here; it lives in transactions/attachments.
//! * `POST /REST/2.0/ticket/{id}/correspond` (and `/comment`)
//!   `{"Content":"…","ContentType":"text/plain"}` → 201 `["Correspondence added"]`
//!   (`["Comments added"]`): a JSON array of messages, no ids. Correspond on a
//!   `new` ticket also adds a `Status` transaction (new → open).
//! * `GET /REST/2.0/queue/General` works by name, but `/queue/General/customfields`
//!   is 404: sub-collections need the numeric id (`/queue/1/customfields`).
//! * `GET /REST/2.0/ticket/{id}/history` → collection of transactions;
//!   `?fields=Type,Created,Field,OldValue,NewValue` adds those. Types seen:
//!   Create, EmailRecord (copy of the outgoing notification mail), Correspond,
//!   Comment, Status.
//! * `GET /REST/2.0/transaction/{id}` → `{"id":33,"Type":"Create","Object":{"type":"ticket","id":"1"},
//!   "Creator":{…},"Created","TimeTaken","_hyperlinks":[…,{"ref":"attachment","_url":".../attachment/1"}]}`.
//! * `GET /REST/2.0/transaction/{id}/attachments` → collection of attachments.
//!   QUIRK: with `?fields=Content` the collection returns Content as RAW text,
//!   whereas `GET /REST/2.0/attachment/{id}` returns it BASE64-encoded (with a
//!   trailing newline): `{"id":1,"ContentType":"text/plain","Subject","Headers":"X-Mailer: …\nContent-Type: text/plain; charset=\"utf-8\"\n…",
//!   "MessageId","Parent":"0","TransactionId":{"type":"transaction","id":"33"},
//!   "Content":"SGVsbG8s…\n","Created","Creator"}`.
//! * `GET /REST/2.0/user/{name-or-id}` → `{"id","Name","EmailAddress","RealName","NickName",
//!   "Organization","Address1","City","Zip","Country","MobilePhone","WorkPhone","Comments":"Autocreated when added as a watcher",
//!   "Privileged":0,"Disabled":"0","Memberships":[…],"CustomFields":[],…}`; empty
//!   attributes are omitted.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use serde_json::{json, Value};

pub const DEFAULT_RT_SERVER: &str = "/usr/share/request-tracker5/libexec/rt-server";
pub const DEFAULT_TEMPLATE_DB: &str = "/var/lib/deskguard-rt/rtdb.template";
pub const SKIP_ENV: &str = "DESKGUARD_SKIP_RT";
pub const ROOT_USER: &str = "root";
pub const ROOT_PASSWORD: &str = "password";
/// How long RT may take to answer REST2 after start (it takes ~2-3 s here).
pub const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Options for [`RtServer::start_with`].
#[derive(Debug, Clone, Default)]
pub struct RtOptions {
    /// RT's `$WebBaseURL`. REST2 builds every `_url` in its answers from it
    /// (NOT from the request's Host header), so behind deskguard set it to the
    /// proxy's URL, or clients following `_url` links bypass the proxy.
    /// Default: the server's own `http://127.0.0.1:PORT`.
    pub web_base_url: Option<String>,
}

/// A running RT 5 standalone server on 127.0.0.1 with its own SQLite copy.
pub struct RtServer {
    /// `http://127.0.0.1:PORT` (no trailing slash; RT is mounted at `/`).
    pub base: String,
    pub port: u16,
    /// How long RT took from spawn until REST2 answered 200.
    pub startup: Duration,
    child: Child,
    tmpdir: tempfile::TempDir,
}

impl RtServer {
    /// Start RT, or fail with instructions if it is not installed.
    pub fn start() -> Result<RtServer> {
        Self::start_with(&RtOptions::default())
    }

    /// Start RT with options (e.g. the public URL its `_url` links should use).
    pub fn start_with(opts: &RtOptions) -> Result<RtServer> {
        let server = env_path("DESKGUARD_RT_SERVER", DEFAULT_RT_SERVER);
        let template = env_path("DESKGUARD_RT_TEMPLATE_DB", DEFAULT_TEMPLATE_DB);
        if !server.exists() || !template.exists() {
            bail!(
                "Request Tracker 5 is not installed for the tests ({} or {} missing): \
                 run `sudo scripts/rt-setup` (or set {SKIP_ENV}=1 to skip RT tests)",
                server.display(),
                template.display()
            );
        }
        // A free port can be taken between probing and binding; retry a few times.
        let mut last_err = None;
        for _ in 0..3 {
            match Self::start_once(&server, &template, opts) {
                Ok(s) => return Ok(s),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap())
    }

    /// Like [`start`](Self::start), but with `DESKGUARD_SKIP_RT=1` an
    /// uninstalled RT is a loud skip (`None`) instead of an error.
    pub fn start_or_skip(test: &str) -> Option<RtServer> {
        Self::start_with_or_skip(test, &RtOptions::default())
    }

    /// [`start_with`](Self::start_with) with the skip rule of
    /// [`start_or_skip`](Self::start_or_skip).
    pub fn start_with_or_skip(test: &str, opts: &RtOptions) -> Option<RtServer> {
        if Self::skip(test) {
            return None;
        }
        Some(Self::start_with(opts).unwrap_or_else(|e| panic!("{test}: cannot start RT: {e:#}")))
    }

    /// True (after printing a loud SKIP banner) when RT is not installed and
    /// `DESKGUARD_SKIP_RT=1`; false when RT is installed or the tests must fail.
    pub fn skip(test: &str) -> bool {
        let server = env_path("DESKGUARD_RT_SERVER", DEFAULT_RT_SERVER);
        let template = env_path("DESKGUARD_RT_TEMPLATE_DB", DEFAULT_TEMPLATE_DB);
        let skip = std::env::var(SKIP_ENV).map(|v| v == "1").unwrap_or(false);
        if skip && (!server.exists() || !template.exists()) {
            eprintln!(
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !!! SKIPPED {test}: Request Tracker 5 is not installed and {SKIP_ENV}=1.\n\
                 !!! Nothing against real RT was tested. Run `sudo scripts/rt-setup`.\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            return true;
        }
        false
    }

    fn start_once(server: &Path, template: &Path, opts: &RtOptions) -> Result<RtServer> {
        let tmpdir = tempfile::Builder::new().prefix("deskguard-rt-").tempdir()?;
        let dir = tmpdir.path();
        let db = dir.join("rtdb");
        fs::copy(template, &db).with_context(|| format!("copy {}", template.display()))?;
        let conf = dir.join("conf");
        for d in [&conf, &dir.join("mason_data"), &dir.join("session_data")] {
            fs::create_dir_all(d)?;
        }
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let web_base_url = opts.web_base_url.clone().unwrap_or_else(|| base.clone());
        fs::write(
            conf.join("50-deskguard.pm"),
            site_config(dir, &db, port, &web_base_url),
        )?;
        let log = fs::File::create(dir.join("server.log"))?;
        let child = Command::new(server)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--max-workers", "2"])
            .env("RT_SITE_CONFIG_DIR", &conf)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("spawn {}", server.display()))?;
        let spawned = Instant::now();
        let mut rt = RtServer {
            base,
            port,
            startup: Duration::ZERO,
            child,
            tmpdir,
        };
        rt.wait_ready()?;
        rt.startup = spawned.elapsed();
        eprintln!("RT 5 ready at {} after {:.1?}", rt.base, rt.startup);
        Ok(rt)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        let client = self.client();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "rt-server exited with {status} before answering; log:\n{}",
                    self.log_tail()
                );
            }
            if let Ok(resp) = client.request("GET", "/queues/all", None) {
                if resp.status == 200 {
                    return Ok(());
                }
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "RT did not answer GET /REST/2.0/queues/all with 200 within {:?}; log:\n{}",
                    START_TIMEOUT,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A REST2 client (root:password) for this server.
    pub fn client(&self) -> RtClient {
        RtClient::new(&self.base)
    }

    pub fn dir(&self) -> &Path {
        self.tmpdir.path()
    }

    /// Last few KB of the server's stdout/stderr (RT logs warnings there).
    pub fn log_tail(&self) -> String {
        let s = fs::read_to_string(self.tmpdir.path().join("server.log")).unwrap_or_default();
        let start = s.len().saturating_sub(4000);
        let start = (start..s.len())
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(s.len());
        s[start..].to_string()
    }
}

impl Drop for RtServer {
    fn drop(&mut self) {
        let pgid = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &pgid])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (workers included) goes now.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &pgid])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn site_config(dir: &Path, db: &Path, port: u16, web_base_url: &str) -> String {
    let d = dir.display();
    format!(
        r#"# written by tests/support/rt.rs
Set($rtname, 'deskguard.test');
Set($Organization, 'deskguard.test');
Set($DatabaseType, 'SQLite');
Set($DatabaseName, '{db}');
Set($DatabaseHost, 'localhost');
Set($DatabaseUser, '');
Set($DatabasePassword, '');
Set($WebPath, '');
Set($WebDomain, '127.0.0.1');
Set($WebPort, {port});
Set($WebBaseURL, '{web_base_url}');
Set($Timezone, 'UTC');
Set($LogToSyslog, undef);
Set($LogToFile, undef);
Set($LogToSTDERR, 'warning');
# Test-only: matches the template's root password hash (scripts/rt-setup);
# at RT's default cost 12 every basic-auth REST2 request costs ~0.4 s.
Set($BcryptCost, 4);
# Outgoing notification mail goes to a temp file, never to an MTA.
Set($MailCommand, 'testfile');
$RT::MasonDataDir = '{d}/mason_data';
$RT::MasonSessionDir = '{d}/session_data';
1;
"#,
        db = db.display(),
    )
}

/// A raw HTTP response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "HTTP {} body is not JSON: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Minimal blocking HTTP/1.1 client (one request per connection, plain http).
/// `base` is `http://host:port[/prefix]`; `path` is appended to it.
pub fn http_request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<HttpResponse> {
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("only http:// bases are supported: {base}"))?;
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let mut stream =
        TcpStream::connect(authority).with_context(|| format!("connect {authority}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut req =
        format!("{method} {prefix}{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    if let Some(b) = body {
        out.extend_from_slice(b);
    }
    stream.write_all(&out)?;

    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad status line: {line:?}"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .with_context(|| format!("bad chunk size {line:?}"))?;
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size];
            r.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            line.clear();
            r.read_line(&mut line)?;
        }
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// One message (Create/Correspond/Comment content) of a ticket, decoded.
#[derive(Debug, Clone)]
pub struct RtMessage {
    pub transaction: u64,
    /// Transaction type: "Create", "Correspond" or "Comment".
    pub kind: String,
    pub attachment: u64,
    pub content_type: String,
    pub subject: String,
    pub body: String,
}

/// Blocking REST2 client with basic auth. `base` is `http://host:port` of RT
/// itself — or of deskguard in front of it: the helpers work through the proxy too.
#[derive(Debug, Clone)]
pub struct RtClient {
    pub base: String,
    auth: String,
}

impl RtClient {
    pub fn new(base: &str) -> RtClient {
        Self::with_credentials(base, ROOT_USER, ROOT_PASSWORD)
    }

    pub fn with_credentials(base: &str, user: &str, password: &str) -> RtClient {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        RtClient {
            base: base.trim_end_matches('/').to_string(),
            auth: format!("Basic {token}"),
        }
    }

    /// Raw request to `/REST/2.0{path}`; `body` is sent as JSON.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<HttpResponse> {
        let bytes = body.map(|b| serde_json::to_vec(b).expect("serialise JSON"));
        let mut headers = vec![
            ("Authorization", self.auth.as_str()),
            ("Accept", "application/json"),
        ];
        if bytes.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        http_request(
            &self.base,
            method,
            &format!("/REST/2.0{path}"),
            &headers,
            bytes.as_deref(),
        )
    }

    fn expect_json(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let resp = self.request(method, path, body)?;
        if !(200..300).contains(&resp.status) {
            bail!(
                "{method} /REST/2.0{path} → HTTP {}: {}",
                resp.status,
                resp.text()
            );
        }
        resp.json()
    }

    pub fn get(&self, path: &str) -> Result<Value> {
        self.expect_json("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.expect_json("POST", path, Some(body))
    }

    pub fn put(&self, path: &str, body: &Value) -> Result<Value> {
        self.expect_json("PUT", path, Some(body))
    }

    /// All items of a collection (follows `pages`, 100 per page).
    /// `query` is appended as is (e.g. `fields=Type,Created`).
    pub fn collection(&self, path: &str, query: &str) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut page = 1;
        loop {
            let sep = if query.is_empty() { "" } else { "&" };
            let v = self.get(&format!("{path}?per_page=100&page={page}{sep}{query}"))?;
            items.extend(v["items"].as_array().cloned().unwrap_or_default());
            let pages = v["pages"].as_f64().unwrap_or(1.0) as u64;
            if page >= pages {
                return Ok(items);
            }
            page += 1;
        }
    }

    /// Make sure a single-value Freeform ticket custom field `name` exists
    /// and applies to `queue`, and PROVE it: RT silently ignores unknown CF
    /// names on create, so a probe ticket is created with the CF set and read
    /// back. Returns the CF id.
    pub fn ensure_custom_field(&self, name: &str, queue: &str) -> Result<u64> {
        let found = self.post(
            "/customfields",
            &json!([{"field": "Name", "value": name},
                    {"field": "LookupType", "value": "RT::Queue-RT::Ticket"}]),
        )?;
        let existing = found["items"]
            .as_array()
            .and_then(|a| a.first())
            .map(|i| id_of(&i["id"]))
            .transpose()?;
        let cf_id = match existing {
            Some(id) => id,
            None => {
                let created = self.post(
                    "/customfield",
                    &json!({
                        "Name": name,
                        "Type": "Freeform",
                        "MaxValues": 1,
                        "LookupType": "RT::Queue-RT::Ticket",
                        "Description": "created by deskguard tests",
                        // CustomField->Create's compat argument: applies the CF to this queue.
                        "Queue": queue,
                    }),
                )?;
                id_of(&created["id"])?
            }
        };
        // `/queue/General` accepts a name, `/queue/{id}/customfields` only an id.
        let queue_id = id_of(&self.get(&format!("/queue/{queue}"))?["id"])?;
        let applied = self.collection(&format!("/queue/{queue_id}/customfields"), "")?;
        if !applied.iter().any(|i| id_of(&i["id"]).ok() == Some(cf_id)) {
            bail!(
                "custom field {name:?} (#{cf_id}) exists but does not apply to queue {queue:?}; \
                 RT 5.0 REST2 cannot apply it: do it in the web UI or start from a fresh DB"
            );
        }
        // Verify that a value really sticks on ticket create.
        let probe = "deskguard-cf-probe";
        let mut cfs = serde_json::Map::new();
        cfs.insert(name.to_string(), Value::from(probe));
        let id = self.create_ticket(&json!({
            "Queue": queue,
            "Subject": "deskguard custom field probe",
            "CustomFields": cfs,
        }))?;
        let t = self.get_ticket(id)?;
        let got = cf_values(&t, name);
        if got != [probe] {
            bail!("custom field {name:?} did not stick on ticket #{id}: got {got:?} in {t}");
        }
        self.request("DELETE", &format!("/ticket/{id}"), None)?;
        Ok(cf_id)
    }

    /// `POST /ticket`; returns the new ticket id.
    pub fn create_ticket(&self, ticket: &Value) -> Result<u64> {
        let resp = self.request("POST", "/ticket", Some(ticket))?;
        if resp.status != 201 {
            bail!(
                "POST /REST/2.0/ticket → HTTP {}: {}",
                resp.status,
                resp.text()
            );
        }
        id_of(&resp.json()?["id"])
    }

    pub fn get_ticket(&self, id: u64) -> Result<Value> {
        self.get(&format!("/ticket/{id}"))
    }

    pub fn get_user(&self, name_or_id: &str) -> Result<Value> {
        self.get(&format!("/user/{name_or_id}"))
    }

    /// `POST /ticket/{id}/correspond` with a text/plain body; returns RT's messages.
    pub fn correspond(&self, id: u64, content: &str) -> Result<Value> {
        self.post(
            &format!("/ticket/{id}/correspond"),
            &json!({"Content": content, "ContentType": "text/plain"}),
        )
    }

    /// `POST /ticket/{id}/comment` with a text/plain body.
    pub fn comment(&self, id: u64, content: &str) -> Result<Value> {
        self.post(
            &format!("/ticket/{id}/comment"),
            &json!({"Content": content, "ContentType": "text/plain"}),
        )
    }

    /// The ticket's transactions (with Type, Created, Field, OldValue, NewValue).
    pub fn ticket_history(&self, id: u64) -> Result<Vec<Value>> {
        self.collection(
            &format!("/ticket/{id}/history"),
            "fields=Type,Created,Field,OldValue,NewValue",
        )
    }

    /// Ids of a transaction's attachments.
    pub fn transaction_attachments(&self, txn: u64) -> Result<Vec<u64>> {
        self.collection(&format!("/transaction/{txn}/attachments"), "")?
            .iter()
            .map(|i| id_of(&i["id"]))
            .collect()
    }

    /// `GET /attachment/{id}` (its `Content` is base64).
    pub fn attachment(&self, id: u64) -> Result<Value> {
        self.get(&format!("/attachment/{id}"))
    }

    /// Every text message of a ticket (Create, Correspond, Comment), decoded,
    /// in transaction order. EmailRecord transactions (copies of outgoing
    /// notification mail) are left out.
    pub fn ticket_messages(&self, id: u64) -> Result<Vec<RtMessage>> {
        let mut out = Vec::new();
        for txn in self.ticket_history(id)? {
            let kind = txn["Type"].as_str().unwrap_or_default().to_string();
            if !matches!(kind.as_str(), "Create" | "Correspond" | "Comment") {
                continue;
            }
            let txn_id = id_of(&txn["id"])?;
            for att_id in self.transaction_attachments(txn_id)? {
                let att = self.attachment(att_id)?;
                let content_type = att["ContentType"].as_str().unwrap_or_default().to_string();
                let b64 = att["Content"].as_str().unwrap_or_default();
                if !content_type.starts_with("text/") || b64.is_empty() {
                    continue; // multipart containers and binary parts
                }
                let cleaned: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(cleaned)
                    .with_context(|| format!("attachment {att_id}: Content is not base64"))?;
                out.push(RtMessage {
                    transaction: txn_id,
                    kind: kind.clone(),
                    attachment: att_id,
                    content_type,
                    subject: att["Subject"].as_str().unwrap_or_default().to_string(),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                });
            }
        }
        Ok(out)
    }

    /// Just the decoded bodies of [`ticket_messages`](Self::ticket_messages).
    pub fn ticket_message_bodies(&self, id: u64) -> Result<Vec<String>> {
        Ok(self
            .ticket_messages(id)?
            .into_iter()
            .map(|m| m.body)
            .collect())
    }
}

/// REST2 ids are sometimes numbers (`GET` records) and sometimes strings
/// (create responses, collection items).
pub fn id_of(v: &Value) -> Result<u64> {
    match v {
        Value::Number(n) => n.as_u64().ok_or_else(|| anyhow!("bad id {v}")),
        Value::String(s) => s.parse().with_context(|| format!("bad id {v}")),
        _ => bail!("no id in {v}"),
    }
}

/// Values of the custom field `name` in a ticket record (`CustomFields` array).
pub fn cf_values(ticket: &Value, name: &str) -> Vec<String> {
    ticket["CustomFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|cf| cf["name"].as_str() == Some(name))
        .flat_map(|cf| cf["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}
