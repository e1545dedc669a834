//! The core's front door: a [`Redactor`] for one body, chosen by format and
//! by the field policy that matches the profile, route and direction.

use std::sync::Arc;

use super::action::PseudonymKey;
use super::decode::Encoding;
use super::engine::FieldCtx;
use super::error::RedactError;
use super::finding::Finding;
use super::json::{JsonRewriter, Protect, Tagging};
use super::legal_basis::LegalBasisDecision;
use super::multipart::{valid_boundary, MpTagging, MultipartRewriter};
use super::policy::{Direction, FieldPolicy, Mode};
use super::ruleset::Ruleset;
use super::scanner::Scanner;

/// How a body is structured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Free text.
    Text,
    /// HTML: tags separate tokens, entities are decoded, markup is kept.
    Html,
    /// One JSON value.
    Json,
    /// JSON values one after another (JSON lines), each redacted independently.
    Jsonl,
    /// `multipart/form-data`; needs the boundary, see [`Ruleset::multipart_redactor`].
    Multipart,
}

/// What a body is, for choosing a policy.
#[derive(Debug, Clone, Copy)]
pub struct StreamSpec<'a> {
    pub format: Format,
    /// Helpdesk profile (`freshdesk`, `zendesk`, `rt`), or `default`.
    pub profile: &'a str,
    pub method: &'a str,
    /// Request path without the query string.
    pub path: &'a str,
    pub direction: Direction,
    /// Who is asking (`agent`, `reporting`, …), as mapped from credentials
    /// by the shell; selects audience-specific policies.
    pub audience: Option<&'a str>,
}

impl<'a> StreamSpec<'a> {
    /// A spec with no route: the default policy (scan every string).
    pub fn plain(format: Format) -> StreamSpec<'static> {
        StreamSpec {
            format,
            profile: "default",
            method: "*",
            path: "/",
            direction: Direction::Request,
            audience: None,
        }
    }
}

enum Inner {
    Text(Box<Scanner>),
    Json(Box<JsonRewriter>),
    Multipart(Box<MultipartRewriter>),
    /// A body that cannot be parsed at all (a multipart body without a
    /// valid boundary): every call fails.
    Failed(RedactError),
}

/// Redacts one body, streaming: feed chunks with [`Redactor::push`], end with
/// [`Redactor::finish`]. The output does not depend on how the body was
/// chunked. It holds the rule set it started with, so a reload never changes
/// rules under a body in flight.
pub struct Redactor {
    rules: Arc<Ruleset>,
    policy: Arc<FieldPolicy>,
    key: PseudonymKey,
    inner: Inner,
    findings: Vec<Finding>,
}

impl Ruleset {
    /// The policy for a profile, request line and direction, if any.
    pub fn policy_for(
        &self,
        profile: &str,
        method: &str,
        path: &str,
        direction: Direction,
    ) -> Option<&FieldPolicy> {
        self.policy_for_audience(profile, method, path, direction, None)
    }

    /// The policy for a request seen by `audience`: a policy written for
    /// that audience wins over a general one for the same route.
    pub fn policy_for_audience(
        &self,
        profile: &str,
        method: &str,
        path: &str,
        direction: Direction,
        audience: Option<&str>,
    ) -> Option<&FieldPolicy> {
        let applies = |p: &&FieldPolicy| p.applies(profile, method, path, direction);
        let specific = self
            .policies
            .iter()
            .filter(applies)
            .find(|p| !p.audiences.is_empty() && p.for_audience(audience));
        specific.or_else(|| {
            self.policies
                .iter()
                .filter(applies)
                .find(|p| p.audiences.is_empty())
        })
    }

    /// Whether a request is refused whatever its body (or without one): its
    /// policy has `mode = "refuse"`. The shell asks this before forwarding
    /// anything, so a body-less request cannot slip through either.
    pub fn refusal(&self, spec: &StreamSpec) -> Option<RedactError> {
        self.policy_for_stream(spec)
            .filter(|p| p.mode == Mode::Refuse)
            .map(|p| RedactError::RouteRefused {
                policy: p.id.clone(),
            })
    }

    /// The field policy for a stream (its route, direction and audience).
    fn policy_for_stream(&self, spec: &StreamSpec) -> Option<&FieldPolicy> {
        self.policy_for_audience(
            spec.profile,
            spec.method,
            spec.path,
            spec.direction,
            spec.audience,
        )
    }

    /// A redactor for one body. A [`Format::Multipart`] body needs its
    /// boundary: use [`Ruleset::multipart_redactor`] (here it fails closed).
    pub fn redactor(self: &Arc<Self>, spec: &StreamSpec, key: &PseudonymKey) -> Redactor {
        self.build(spec, None, key)
    }

    /// A redactor for a `multipart/form-data` body with the `boundary`
    /// parameter of its Content-Type (`spec.format` is ignored). A missing
    /// or invalid boundary gives a redactor that refuses the body.
    pub fn multipart_redactor(
        self: &Arc<Self>,
        spec: &StreamSpec,
        boundary: Option<&str>,
        key: &PseudonymKey,
    ) -> Redactor {
        let spec = StreamSpec {
            format: Format::Multipart,
            ..*spec
        };
        self.build(&spec, Some(boundary.unwrap_or("")), key)
    }

    fn build(
        self: &Arc<Self>,
        spec: &StreamSpec,
        boundary: Option<&str>,
        key: &PseudonymKey,
    ) -> Redactor {
        let policy = Arc::new(
            self.policy_for_stream(spec)
                .cloned()
                .unwrap_or_else(FieldPolicy::scan_all),
        );
        let shadow = policy.mode == Mode::Shadow;
        let inner = match spec.format {
            _ if policy.mode == Mode::Refuse => Inner::Failed(RedactError::RouteRefused {
                policy: policy.id.clone(),
            }),
            Format::Text | Format::Html => {
                let mut s = Scanner::new(&self.engine);
                let enc = if spec.format == Format::Html {
                    Encoding::Html
                } else {
                    Encoding::Plain
                };
                s.reset(&self.engine, key, enc, 0, &FieldCtx::default(), "", shadow);
                Inner::Text(Box::new(s))
            }
            Format::Json | Format::Jsonl => {
                let mut json = JsonRewriter::new(
                    &self.engine,
                    &self.settings,
                    policy.clone(),
                    key.clone(),
                    spec.format == Format::Jsonl,
                );
                if let Some(lb) = &self.legal_basis {
                    let target = lb.target_for(spec.profile, spec.method, spec.path);
                    match (spec.direction, target) {
                        (Direction::Request, Some(target)) => {
                            json.tagging =
                                Some(Box::new(Tagging::new(lb.clone(), target.clone(), shadow)));
                        }
                        (Direction::Request, None) => {
                            json.protect = lb
                                .protect_for(spec.profile, spec.method, spec.path)
                                .map(|p| Box::new(Protect::new(p.clone())));
                        }
                        (Direction::Response, Some(target)) => {
                            json.tagging =
                                Tagging::ticket_id_reader(lb.clone(), target).map(Box::new);
                        }
                        _ => {}
                    }
                }
                Inner::Json(Box::new(json))
            }
            Format::Multipart => match boundary.filter(|b| valid_boundary(b)) {
                None => Inner::Failed(RedactError::InvalidMultipart {
                    offset: 0,
                    reason: "no valid boundary parameter in the Content-Type",
                }),
                Some(b) => {
                    let mut mp = MultipartRewriter::new(
                        &self.engine,
                        self.settings.html_fields.clone(),
                        policy.clone(),
                        key.clone(),
                        b,
                    );
                    if spec.direction == Direction::Request {
                        if let Some(lb) = &self.legal_basis {
                            if let Some(target) =
                                lb.target_for(spec.profile, spec.method, spec.path)
                            {
                                mp.tagging = Some(Box::new(MpTagging::new(
                                    lb.clone(),
                                    target.clone(),
                                    shadow,
                                )));
                            }
                        }
                    }
                    Inner::Multipart(Box::new(mp))
                }
            },
        };
        Redactor {
            rules: self.clone(),
            policy,
            key: key.clone(),
            inner,
            findings: Vec::new(),
        }
    }
}

impl Redactor {
    /// Feeds a chunk; redacted bytes are appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), RedactError> {
        let engine = &self.rules.engine;
        match &mut self.inner {
            Inner::Text(s) => {
                s.push(engine, &self.key, chunk, out)?;
                self.findings.append(&mut s.findings);
            }
            Inner::Json(j) => {
                j.push(engine, chunk, out)?;
                self.findings.append(&mut j.findings);
            }
            Inner::Multipart(m) => {
                let r = m.push(engine, chunk, out);
                self.findings.append(&mut m.findings);
                r?;
            }
            Inner::Failed(e) => return Err(e.clone()),
        }
        Ok(())
    }

    /// Ends the body: flushes what was held back, checks it was complete.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), RedactError> {
        let engine = &self.rules.engine;
        match &mut self.inner {
            Inner::Text(s) => {
                s.finish(engine, &self.key, out)?;
                self.findings.append(&mut s.findings);
            }
            Inner::Json(j) => {
                j.finish(engine, out)?;
                self.findings.append(&mut j.findings);
            }
            Inner::Multipart(m) => {
                let r = m.finish(engine, out);
                self.findings.append(&mut m.findings);
                r?;
            }
            Inner::Failed(e) => return Err(e.clone()),
        }
        Ok(())
    }

    /// Findings since the last call (detector, path, range, action; never values).
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }

    /// The policy id: a bounded label for metrics (`default` when none matched).
    pub fn policy_id(&self) -> &str {
        &self.policy.id
    }

    /// The legal basis decided for a ticket-creating request body, once the
    /// ticket object has been read (None for other routes).
    pub fn legal_basis(&self) -> Option<&LegalBasisDecision> {
        match &self.inner {
            Inner::Json(j) => j.tagging.as_ref().and_then(|t| t.decision.as_ref()),
            Inner::Multipart(m) => m.tagging.as_ref().and_then(|t| t.decision.as_ref()),
            Inner::Text(_) | Inner::Failed(_) => None,
        }
    }

    /// The id the helpdesk assigned to a ticket, read from a ticket
    /// creation's response body (the route's target has `ticket_id`), once
    /// the body has been read. Only id-shaped values (digits, letters,
    /// `-_.:`, at most 64 bytes) are returned.
    pub fn ticket_id(&self) -> Option<String> {
        match &self.inner {
            Inner::Json(j) => j.tagging.as_ref().and_then(|t| t.ticket_id()),
            _ => None,
        }
    }

    /// Whether this body creates a ticket that must get a legal basis (the
    /// route has a tagging target); then no decision at the end is a failure.
    pub fn tags_tickets(&self) -> bool {
        match &self.inner {
            Inner::Json(j) => j.tagging.as_ref().is_some_and(|t| t.tags()),
            Inner::Multipart(m) => m.tagging.is_some(),
            _ => false,
        }
    }

    /// The policy's mode.
    pub fn mode(&self) -> Mode {
        self.policy.mode
    }
}

/// Redacts a complete body in one go (tests, examples, small inputs).
pub fn redact_all(
    rules: &Arc<Ruleset>,
    spec: &StreamSpec,
    key: &PseudonymKey,
    input: &[u8],
) -> Result<(Vec<u8>, Vec<Finding>), RedactError> {
    let mut r = rules.redactor(spec, key);
    let mut out = Vec::with_capacity(input.len());
    r.push(input, &mut out)?;
    r.finish(&mut out)?;
    Ok((out, r.take_findings()))
}
