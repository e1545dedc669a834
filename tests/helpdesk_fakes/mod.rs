//! In-process Freshdesk (API v2) and Zendesk (Support API v2) test upstreams
//! on 127.0.0.1, following the documented request/response shapes closely
//! enough for deskguard's profiles: they store what they were sent (so tests
//! can assert what arrived) and answer with stored objects (so tests can
//! assert what a client reads back through deskguard).
//!
//! Freshdesk: POST/GET/PUT /api/v2/tickets[/{id}], GET /api/v2/tickets,
//! POST /api/v2/tickets/{id}/reply and /notes, GET /api/v2/tickets/{id}/conversations,
//! POST /api/v2/contacts, GET /api/v2/search/tickets?query=…; errors as
//! `{"description":"Validation failed","errors":[{"field","message","code"}]}`.
//! Update (PUT /api/v2/tickets/{id}) as documented: `tags` REPLACES the
//! ticket's tags, `custom_fields` updates only the fields it names, and a
//! field the endpoint does not know is a 400 `invalid_field`. Bulk update
//! (POST /api/v2/tickets/bulk_update, `{"bulk_action": {"ids", "properties",
//! "reply"}}`) applies the same update to every ticket named and answers 202
//! `{"job_id", "href"}`.
//!
//! Zendesk: /api/v2/tickets[.json], /api/v2/tickets/{id}[.json] (wrapped
//! `{"ticket":…}` / `{"tickets":[…]}`), /api/v2/tickets/{id}/comments[.json]
//! (with `metadata.system` {ip_address, location, client, latitude,
//! longitude} as Zendesk records it), /api/v2/users/{id}[.json],
//! /api/v2/search[.json]; on update `tags` REPLACE, `additional_tags` add,
//! `remove_tags` remove and `custom_fields` change only the ids named; 422
//! RecordInvalid without a comment on create. Tag endpoints
//! /api/v2/tickets/{id}/tags[.json] (`{"tags": [...]}`): PUT replaces the
//! ticket's tags, POST adds, DELETE removes; each answers `{"tags": [...]}`.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Freshdesk,
    Zendesk,
}

/// One request as it arrived at the fake.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: http::HeaderMap,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Default)]
pub struct State {
    pub received: Vec<Received>,
    pub tickets: Vec<Value>,
    /// (ticket id, conversation / comment)
    pub comments: Vec<(u64, Value)>,
    pub users: Vec<Value>,
    next_id: u64,
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

pub struct Fake {
    pub kind: Kind,
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
}

impl Fake {
    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
    /// The last request received.
    pub fn last(&self) -> Received {
        self.received().last().cloned().expect("nothing received")
    }
}

const NOW: &str = "2026-01-15T09:30:00Z";

pub async fn start(kind: Kind) -> Fake {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let state = Arc::new(Mutex::new(State {
        next_id: 100,
        ..State::default()
    }));
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = tcp.accept().await else {
                continue;
            };
            let st = st.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let st = st.clone();
                    async move { Ok::<_, Infallible>(handle(kind, st, req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Fake { kind, addr, state }
}

type Resp = Response<deskguard::proxy::upstream::UpBody>;

fn reply(status: StatusCode, v: &Value) -> Resp {
    let body = Full::new(Bytes::from(serde_json::to_vec(v).unwrap()))
        .map_err(|n| -> deskguard::proxy::body::BoxError { match n {} })
        .boxed_unsync();
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/json; charset=utf-8".parse().unwrap(),
    );
    r
}

async fn handle(kind: Kind, st: Arc<Mutex<State>>, req: Request<Incoming>) -> Resp {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes().to_vec())
        .unwrap_or_default();
    let mut s = st.lock().unwrap();
    s.received.push(Received {
        method: method.clone(),
        path: path.clone(),
        headers,
        body: body.clone(),
    });
    let ct = s
        .received
        .last()
        .and_then(|r| r.headers.get(header::CONTENT_TYPE).cloned());
    let multipart = ct
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("multipart/form-data; boundary="))
        .map(|b| b.trim_matches('"').to_string());
    let input: Value = if let Some(boundary) = multipart {
        match form_to_json(&body, &boundary) {
            Some(v) => v,
            None => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    &json!({"description":"Validation failed","errors":[{"field":"","message":"Invalid multipart","code":"invalid_value"}]}),
                )
            }
        }
    } else if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    &json!({"description":"Validation failed","errors":[{"field":"","message":"Invalid JSON","code":"invalid_json"}]}),
                )
            }
        }
    };
    match kind {
        Kind::Freshdesk => freshdesk(&mut s, &method, &path, input),
        Kind::Zendesk => zendesk(&mut s, &method, &path, input),
    }
}

/// Freshdesk's reading of a multipart/form-data body: `a[]` parts make an
/// array, `a[b]` parts an object, file parts become `attachments` entries
/// `{name, content_type, size, content}` (content kept for the tests).
pub fn form_to_json(body: &[u8], boundary: &str) -> Option<Value> {
    let delim = format!("\r\n--{boundary}");
    let mut text = b"\r\n".to_vec();
    text.extend_from_slice(body);
    let find = |h: &[u8], n: &[u8], from: usize| {
        h[from..]
            .windows(n.len())
            .position(|w| w == n)
            .map(|i| i + from)
    };
    let mut obj = serde_json::Map::new();
    let mut pos = find(&text, delim.as_bytes(), 0)? + delim.len();
    loop {
        if text[pos..].starts_with(b"--") {
            return Some(Value::Object(obj));
        }
        let start = pos + 2;
        let hend = find(&text, b"\r\n\r\n", start)?;
        let head = String::from_utf8_lossy(&text[start..hend]).into_owned();
        let next = find(&text, delim.as_bytes(), hend + 4)?;
        let content = &text[hend + 4..next];
        let param = |k: &str| {
            head.split(&format!("{k}=\"")[..])
                .nth(1)
                .map(|r| r.split('"').next().unwrap_or("").to_string())
        };
        let name = param("name")?;
        if let Some(file) = param("filename") {
            let ct = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .unwrap_or("application/octet-stream");
            let list = obj.entry("attachments").or_insert_with(|| json!([]));
            list.as_array_mut()?.push(json!({
                "name": file, "content_type": ct, "size": content.len(),
                "content": String::from_utf8_lossy(content),
            }));
        } else {
            let value = json!(String::from_utf8_lossy(content));
            if let Some(key) = name.strip_suffix("[]") {
                let list = obj.entry(key).or_insert_with(|| json!([]));
                list.as_array_mut()?.push(value);
            } else if let Some((key, sub)) = name.strip_suffix(']').and_then(|n| n.split_once('['))
            {
                let map = obj.entry(key).or_insert_with(|| json!({}));
                map.as_object_mut()?.insert(sub.to_string(), value);
            } else {
                obj.insert(name, value);
            }
        }
        pos = next + delim.len();
    }
}

fn segs(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

fn not_found() -> Resp {
    reply(
        StatusCode::NOT_FOUND,
        &json!({"code":"not_found","message":"Resource not found"}),
    )
}

// ------------------------------------------------------------- Freshdesk --

fn freshdesk(s: &mut State, method: &str, path: &str, input: Value) -> Resp {
    let p = segs(path);
    match (method, p.as_slice()) {
        ("POST", ["api", "v2", "tickets"]) => {
            let has_requester = [
                "email",
                "requester_id",
                "phone",
                "twitter_id",
                "unique_external_id",
            ]
            .iter()
            .any(|k| input.get(*k).is_some_and(|v| !v.is_null()));
            if !has_requester {
                return reply(
                    StatusCode::BAD_REQUEST,
                    &json!({"description":"Validation failed","errors":[{"field":"requester_id","message":"Please fill at least 1 of email, mobile, phone, twitter_id, fb_profile_id, unique_external_id, requester_id fields","code":"missing_field"}]}),
                );
            }
            let id = s.id();
            let mut t = json!({
                "id": id, "status": 2, "priority": 1, "source": 2, "type": null,
                "tags": [], "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [],
                "requester_id": 5000 + id, "responder_id": null, "group_id": null,
                "company_id": null, "custom_fields": {}, "fr_escalated": false, "spam": false,
                "is_escalated": false, "due_by": NOW, "fr_due_by": NOW,
                "created_at": NOW, "updated_at": NOW, "attachments": [],
            });
            merge(&mut t, &input);
            if let Some(d) = input.get("description").and_then(|d| d.as_str()) {
                t["description_text"] = json!(d);
            }
            s.tickets.push(t.clone());
            reply(StatusCode::CREATED, &t)
        }
        ("GET", ["api", "v2", "tickets"]) => reply(StatusCode::OK, &json!(s.tickets)),
        ("GET", ["api", "v2", "tickets", id]) => match find(s, id) {
            Some(i) => reply(StatusCode::OK, &s.tickets[i].clone()),
            None => not_found(),
        },
        ("PUT", ["api", "v2", "tickets", id]) => match find(s, id) {
            Some(i) => {
                let unknown = fd_unknown_fields(&input, FD_UPDATE_FIELDS);
                if !unknown.is_empty() {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        &json!({"description": "Validation failed", "errors": unknown}),
                    );
                }
                fd_apply_update(&mut s.tickets[i], input);
                reply(StatusCode::OK, &s.tickets[i].clone())
            }
            None => not_found(),
        },
        // "Update Multiple Tickets": {"bulk_action": {"ids", "properties",
        // "reply"}}; each ticket is updated as by PUT /api/v2/tickets/{id}
        // (Freshdesk runs it as a background job and answers 202 with its id;
        // the fake applies it at once).
        ("POST", ["api", "v2", "tickets", "bulk_update"]) => {
            let mut errors = fd_unknown_fields(&input, &["bulk_action"]);
            let action = input.get("bulk_action").cloned().unwrap_or(Value::Null);
            errors.extend(fd_unknown_fields(&action, &["ids", "properties", "reply"]));
            let properties = action.get("properties").cloned().unwrap_or(json!({}));
            errors.extend(fd_unknown_fields(&properties, FD_UPDATE_FIELDS));
            let ids: Vec<u64> = action
                .get("ids")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            if ids.is_empty() {
                errors.push(json!({"field": "ids", "message": "It should be a/an Array", "code": "missing_field"}));
            }
            if !errors.is_empty() {
                return reply(
                    StatusCode::BAD_REQUEST,
                    &json!({"description": "Validation failed", "errors": errors}),
                );
            }
            for id in &ids {
                let Some(i) = find(s, &id.to_string()) else {
                    continue;
                };
                fd_apply_update(&mut s.tickets[i], properties.clone());
                if let Some(body) = action.pointer("/reply/body").and_then(Value::as_str) {
                    let cid = s.id();
                    let c = json!({
                        "id": cid, "incoming": false, "private": false, "user_id": 7001,
                        "source": 0, "category": 3, "body": body, "body_text": body,
                        "ticket_id": id, "created_at": NOW, "updated_at": NOW,
                    });
                    s.comments.push((*id, c));
                }
            }
            let job = s.id();
            reply(
                StatusCode::ACCEPTED,
                &json!({"job_id": format!("{job:032x}"), "href": format!("https://vendor.freshdesk.com/api/v2/jobs/{job:032x}")}),
            )
        }
        ("POST", ["api", "v2", "tickets", id, kind @ ("reply" | "notes")]) => {
            let Some(i) = find(s, id) else {
                return not_found();
            };
            let tid = s.tickets[i]["id"].as_u64().unwrap();
            let to = s.tickets[i]["email"].clone();
            let cid = s.id();
            let private = *kind == "notes" && input.get("private") != Some(&json!(false));
            let mut c = json!({
                "id": cid, "incoming": false, "private": private, "user_id": 7001,
                "support_email": "support@vendor.example", "source": if *kind == "reply" { 0 } else { 2 },
                "category": 3, "to_emails": [to], "from_email": "support@vendor.example",
                "cc_emails": [], "bcc_emails": [], "ticket_id": tid,
                "created_at": NOW, "updated_at": NOW, "attachments": [],
            });
            merge(&mut c, &input);
            if let Some(b) = input.get("body").and_then(|b| b.as_str()) {
                c["body_text"] = json!(b);
            }
            s.comments.push((tid, c.clone()));
            reply(StatusCode::CREATED, &c)
        }
        ("GET", ["api", "v2", "tickets", id, "conversations"]) => {
            let Ok(tid) = id.parse::<u64>() else {
                return not_found();
            };
            let cs: Vec<Value> = s
                .comments
                .iter()
                .filter(|(t, _)| *t == tid)
                .map(|(_, c)| c.clone())
                .collect();
            reply(StatusCode::OK, &json!(cs))
        }
        ("POST", ["api", "v2", "contacts"]) => {
            if input.get("name").is_none() {
                return reply(
                    StatusCode::BAD_REQUEST,
                    &json!({"description":"Validation failed","errors":[{"field":"name","message":"It should be a/an String","code":"missing_field"}]}),
                );
            }
            let id = s.id();
            let mut u = json!({"id": id, "active": false, "created_at": NOW, "updated_at": NOW});
            merge(&mut u, &input);
            s.users.push(u.clone());
            reply(StatusCode::CREATED, &u)
        }
        ("GET", ["api", "v2", "search", "tickets"]) => reply(
            StatusCode::OK,
            &json!({"results": s.tickets, "total": s.tickets.len()}),
        ),
        _ => not_found(),
    }
}

/// A Freshdesk validation error per field of `input` not in `allowed`.
fn fd_unknown_fields(input: &Value, allowed: &[&str]) -> Vec<Value> {
    input
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| !allowed.contains(&k.as_str()))
                .map(|k| json!({"field": k, "message": "Unexpected/invalid field in request", "code": "invalid_field"}))
                .collect()
        })
        .unwrap_or_default()
}

/// Freshdesk's update semantics: `custom_fields` changes only the fields it
/// names; everything else, `tags` included, replaces.
fn fd_apply_update(t: &mut Value, mut input: Value) {
    if let (Some(new), Some(old)) = (
        input
            .as_object_mut()
            .and_then(|o| o.remove("custom_fields")),
        t["custom_fields"].as_object_mut(),
    ) {
        if let Some(new) = new.as_object() {
            for (k, v) in new {
                old.insert(k.clone(), v.clone());
            }
        }
    }
    merge(t, &input);
    t["updated_at"] = json!(NOW);
}

/// Fields Freshdesk's "Update a Ticket" accepts.
const FD_UPDATE_FIELDS: &[&str] = &[
    "name",
    "requester_id",
    "email",
    "facebook_id",
    "phone",
    "twitter_id",
    "unique_external_id",
    "subject",
    "type",
    "status",
    "priority",
    "description",
    "responder_id",
    "attachments",
    "custom_fields",
    "due_by",
    "fr_due_by",
    "email_config_id",
    "group_id",
    "product_id",
    "source",
    "tags",
    "company_id",
    "internal_agent_id",
    "internal_group_id",
    "parent_id",
    "lookup_parameter",
];

/// Sends a JSON request straight to a fake (not through deskguard).
pub async fn direct(addr: SocketAddr, method: &str, path: &str, v: &Value) -> (u16, Value) {
    let c: hyper_util::client::legacy::Client<_, Full<Bytes>> =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(v).unwrap())))
        .unwrap();
    let r = c.request(req).await.unwrap();
    let status = r.status().as_u16();
    let b = r.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn find(s: &State, id: &str) -> Option<usize> {
    let id: u64 = id.trim_end_matches(".json").parse().ok()?;
    s.tickets.iter().position(|t| t["id"] == json!(id))
}

/// Shallow merge of `src`'s keys into `dst`.
fn merge(dst: &mut Value, src: &Value) {
    if let (Some(d), Some(s)) = (dst.as_object_mut(), src.as_object()) {
        for (k, v) in s {
            d.insert(k.clone(), v.clone());
        }
    }
}

// --------------------------------------------------------------- Zendesk --

fn zd_comment(id: u64, author: u64, c: &Value) -> Value {
    let body = c["body"]
        .as_str()
        .or_else(|| c["html_body"].as_str())
        .unwrap_or("");
    json!({
        "id": id, "type": "Comment", "author_id": author, "body": body,
        "html_body": format!("<div class=\"zd-comment\"><p>{body}</p></div>"),
        "plain_body": body, "public": c.get("public").cloned().unwrap_or(json!(true)),
        "attachments": [], "audit_id": id + 1,
        "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": null}},
        "created_at": NOW,
        "metadata": {
            "system": {
                "client": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
                "ip_address": "81.2.69.142",
                "location": "Stockholm, AB, Sweden",
                "latitude": 59.3294, "longitude": 18.0687
            },
            "custom": {}
        }
    })
}

fn zendesk(s: &mut State, method: &str, path: &str, input: Value) -> Resp {
    let path = path.strip_suffix(".json").unwrap_or(path);
    let p = segs(path);
    match (method, p.as_slice()) {
        ("POST", ["api", "v2", "tickets"]) => {
            let t_in = input.get("ticket").cloned().unwrap_or(Value::Null);
            let Some(comment) = t_in.get("comment").filter(|c| c.is_object()) else {
                return reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &json!({"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"Description: cannot be blank","error":"BlankValue"}]}}),
                );
            };
            let id = s.id();
            let requester_id = match t_in.get("requester") {
                Some(r) if r.is_object() => {
                    let uid = 9000 + id;
                    s.users.push(json!({
                        "id": uid, "name": r["name"], "email": r["email"],
                        "phone": r.get("phone").cloned().unwrap_or(Value::Null),
                        "role": "end-user", "created_at": NOW
                    }));
                    json!(uid)
                }
                _ => t_in.get("requester_id").cloned().unwrap_or(json!(1)),
            };
            let cid = s.id();
            let c = zd_comment(cid, requester_id.as_u64().unwrap_or(1), comment);
            let mut t = json!({
                "id": id, "url": format!("https://vendor.zendesk.com/api/v2/tickets/{id}.json"),
                "subject": t_in.get("subject").cloned().unwrap_or(Value::Null),
                "raw_subject": t_in.get("subject").cloned().unwrap_or(Value::Null),
                "description": c["body"], "status": "new", "priority": null, "type": null,
                "requester_id": requester_id, "submitter_id": requester_id,
                "assignee_id": null, "tags": [], "custom_fields": [],
                "created_at": NOW, "updated_at": NOW, "via": {"channel": "api"},
            });
            for k in [
                "priority",
                "type",
                "status",
                "tags",
                "custom_fields",
                "external_id",
            ] {
                if let Some(v) = t_in.get(k) {
                    t[k] = v.clone();
                }
            }
            s.tickets.push(t.clone());
            s.comments.push((id, c.clone()));
            reply(
                StatusCode::CREATED,
                &json!({"ticket": t, "audit": {"id": cid + 1, "ticket_id": id, "events": [c]}}),
            )
        }
        ("GET", ["api", "v2", "tickets"]) => reply(
            StatusCode::OK,
            &json!({"tickets": s.tickets, "count": s.tickets.len(), "next_page": null, "previous_page": null}),
        ),
        ("GET", ["api", "v2", "tickets", id]) => match find(s, id) {
            Some(i) => reply(StatusCode::OK, &json!({"ticket": s.tickets[i]})),
            None => reply(
                StatusCode::NOT_FOUND,
                &json!({"error":"RecordNotFound","description":"Not found"}),
            ),
        },
        ("PUT", ["api", "v2", "tickets", id]) => {
            let Some(i) = find(s, id) else {
                return reply(
                    StatusCode::NOT_FOUND,
                    &json!({"error":"RecordNotFound","description":"Not found"}),
                );
            };
            let t_in = input.get("ticket").cloned().unwrap_or(Value::Null);
            let tid = s.tickets[i]["id"].as_u64().unwrap();
            for k in ["subject", "priority", "type", "status", "tags"] {
                // Zendesk: "tags" on update REPLACES the ticket's tags.
                if let Some(v) = t_in.get(k) {
                    s.tickets[i][k] = v.clone();
                }
            }
            // "custom_fields": only the fields named (by id) change.
            if let Some(new) = t_in.get("custom_fields").and_then(Value::as_array) {
                let mut list = s.tickets[i]["custom_fields"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for f in new {
                    match list.iter_mut().find(|e| e["id"] == f["id"]) {
                        Some(e) => *e = f.clone(),
                        None => list.push(f.clone()),
                    }
                }
                s.tickets[i]["custom_fields"] = json!(list);
            }
            // "additional_tags" adds to the list, "remove_tags" removes from it.
            let mut tags: Vec<Value> = s.tickets[i]["tags"].as_array().cloned().unwrap_or_default();
            if let Some(add) = t_in.get("additional_tags").and_then(Value::as_array) {
                for t in add {
                    if !tags.contains(t) {
                        tags.push(t.clone());
                    }
                }
            }
            if let Some(rm) = t_in.get("remove_tags").and_then(Value::as_array) {
                tags.retain(|t| !rm.contains(t));
            }
            s.tickets[i]["tags"] = json!(tags);
            if let Some(c) = t_in.get("comment").filter(|c| c.is_object()) {
                let cid = s.id();
                let c = zd_comment(cid, 7001, c);
                s.comments.push((tid, c));
            }
            s.tickets[i]["updated_at"] = json!(NOW);
            let t = s.tickets[i].clone();
            reply(StatusCode::OK, &json!({"ticket": t}))
        }
        // Tags of a ticket: {"tags": [...]} (or one space-separated string);
        // PUT replaces the list, POST adds to it, DELETE removes from it; GET
        // and all three answer {"tags": [...]}.
        (m @ ("GET" | "PUT" | "POST" | "DELETE"), ["api", "v2", "tickets", id, "tags"]) => {
            let Some(i) = find(s, id) else {
                return reply(
                    StatusCode::NOT_FOUND,
                    &json!({"error":"RecordNotFound","description":"Not found"}),
                );
            };
            let given: Vec<Value> = match input.get("tags") {
                Some(Value::Array(a)) => a.clone(),
                Some(Value::String(t)) => t.split_whitespace().map(|t| json!(t)).collect(),
                _ if m == "GET" => Vec::new(),
                _ => {
                    return reply(
                        StatusCode::BAD_REQUEST,
                        &json!({"error": "InvalidValue", "description": "tags parameter is missing"}),
                    )
                }
            };
            let mut tags: Vec<Value> = s.tickets[i]["tags"].as_array().cloned().unwrap_or_default();
            match m {
                "PUT" => tags = given,
                "POST" => {
                    for t in given {
                        if !tags.contains(&t) {
                            tags.push(t);
                        }
                    }
                }
                "DELETE" => tags.retain(|t| !given.contains(t)),
                _ => {}
            }
            if m != "GET" {
                s.tickets[i]["tags"] = json!(tags);
                s.tickets[i]["updated_at"] = json!(NOW);
            }
            reply(StatusCode::OK, &json!({"tags": tags}))
        }
        ("GET", ["api", "v2", "tickets", id, "comments"]) => {
            let Ok(tid) = id.parse::<u64>() else {
                return not_found();
            };
            let cs: Vec<Value> = s
                .comments
                .iter()
                .filter(|(t, _)| *t == tid)
                .map(|(_, c)| c.clone())
                .collect();
            reply(
                StatusCode::OK,
                &json!({"comments": cs, "count": cs.len(), "next_page": null, "previous_page": null}),
            )
        }
        ("GET", ["api", "v2", "users", id]) => {
            let id: Option<u64> = id.parse().ok();
            match s.users.iter().find(|u| u["id"].as_u64() == id) {
                Some(u) => reply(StatusCode::OK, &json!({"user": u})),
                None => not_found(),
            }
        }
        ("GET", ["api", "v2", "search"]) => {
            let results: Vec<Value> = s
                .tickets
                .iter()
                .map(|t| {
                    let mut t = t.clone();
                    t["result_type"] = json!("ticket");
                    t
                })
                .collect();
            reply(
                StatusCode::OK,
                &json!({"results": results, "count": s.tickets.len(), "facets": null, "next_page": null, "previous_page": null}),
            )
        }
        _ => not_found(),
    }
}
