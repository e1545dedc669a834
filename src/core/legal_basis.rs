//! Legal basis and retention: which GDPR basis a ticket is processed under,
//! decided from its requester and the customer-contact registry, and how to
//! tag the ticket with it in the helpdesk's own terms.
//!
//! Everything here is data from `rules/`: the registry of official customer
//! representatives, extra rules (e.g. `legal_obligation` for an invoicing
//! queue), the retention class of each basis, and per-route tagging targets.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::policy::RouteTemplate;

/// A GDPR legal basis, as configured (`contract`, `legitimate_interest`,
/// `legal_obligation`, `consent`, …). Bounded: only names from rule data.
pub type Basis = String;

/// The decision for one ticket. Carries no personal data: the rule id says
/// *why* (`registry:email`, `registry:domain`, `rule:<id>`, `default`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LegalBasisDecision {
    pub basis: Basis,
    pub retention: String,
    pub decided_by: String,
}

/// Where a route's ticket lives in the body and how to tag it.
#[derive(Debug, Clone)]
pub struct TaggingTarget {
    pub profile: String,
    pub route: RouteTemplate,
    /// Dotted path of the ticket object (empty: the body's root object).
    pub ticket: Vec<String>,
    /// Fields (relative to the ticket) that name the requester: e-mail
    /// addresses or ids, checked against the registry.
    pub requester: Vec<Vec<String>>,
    /// Fields naming the requester's company (checked as `company:<value>`).
    pub company: Vec<Vec<String>>,
    /// Array of strings to merge `<tag_prefix><basis>` into (e.g. `tags`).
    pub tags: Option<String>,
    pub tag_prefix: String,
    /// Object member `{custom_fields: {<key>: basis}}` (Freshdesk, RT).
    pub field_object: Option<(String, String)>,
    /// List member `{custom_fields: [{id, value}]}` (Zendesk).
    pub field_list: Option<(String, serde_json::Value)>,
    /// Dotted path (from the body root) of the id the helpdesk assigned,
    /// in the creation's *response* body (`id`, `ticket.id`): recorded in
    /// the audit event, never anything else from the response.
    pub ticket_id: Option<Vec<String>>,
}

/// A ticket-updating route whose body must not set a legal basis: values a
/// client sent that look like deskguard's basis tags (`legal-basis:*`,
/// `retention:*`) or the basis custom field are removed before the body
/// leaves, so a basis can be neither forged nor overwritten on update.
#[derive(Debug, Clone)]
pub struct ProtectTarget {
    pub profile: String,
    pub route: RouteTemplate,
    /// Full dotted paths (array indices not written) of tag arrays
    /// (`ticket.additional_tags`): string values starting with one of
    /// `prefixes` are removed.
    pub tags: Vec<Vec<String>>,
    /// Full dotted paths of custom-field members (`custom_fields`): the
    /// object member `custom_field_key` or the list entries `{id:
    /// custom_field_id}` are removed.
    pub custom_fields: Vec<Vec<String>>,
    pub custom_field_key: Option<String>,
    pub custom_field_id: Option<serde_json::Value>,
    /// Tag prefixes a client may not send (default: every target's
    /// `tag_prefix` and `retention:`).
    pub prefixes: Vec<String>,
}

impl ProtectTarget {
    /// Removes protected values from a member's (already redacted) value;
    /// returns how many were removed. Values of other shapes pass as they are.
    pub fn filter(&self, path: &[&str], value: &mut serde_json::Value) -> usize {
        use serde_json::Value;
        let is = |paths: &[Vec<String>]| {
            paths
                .iter()
                .any(|p| p.len() == path.len() && p.iter().zip(path).all(|(a, b)| a == b))
        };
        let protected = |v: &Value| {
            v.as_str().is_some_and(|s| {
                let s = s.trim().to_ascii_lowercase();
                self.prefixes.iter().any(|p| s.starts_with(p.as_str()))
            })
        };
        let mut removed = 0;
        if is(&self.tags) {
            match value {
                Value::Array(a) => {
                    let before = a.len();
                    a.retain(|v| !protected(v));
                    removed += before - a.len();
                }
                // Zendesk also accepts a single tag (or several, space separated) as a string.
                Value::String(s) => {
                    let kept: Vec<&str> = s
                        .split_whitespace()
                        .filter(|t| !protected(&Value::String(t.to_string())))
                        .collect();
                    removed += s.split_whitespace().count() - kept.len();
                    *s = kept.join(" ");
                }
                _ => {}
            }
        }
        if is(&self.custom_fields) {
            match (value, &self.custom_field_key, &self.custom_field_id) {
                (Value::Object(m), Some(key), _) => {
                    removed += usize::from(m.remove(key).is_some());
                }
                (Value::Array(a), _, Some(id)) => {
                    let before = a.len();
                    a.retain(|e| e.get("id") != Some(id));
                    removed += before - a.len();
                }
                _ => {}
            }
        }
        removed
    }

    /// Whether a member at `path` (full dotted path) is protected.
    pub fn covers(&self, path: &[&str]) -> bool {
        self.tags
            .iter()
            .chain(&self.custom_fields)
            .any(|p| p.len() == path.len() && p.iter().zip(path).all(|(a, b)| a == b))
    }
}

/// An extra rule: a field value that decides the basis (evaluated before the registry).
#[derive(Debug, Clone)]
pub struct BasisRule {
    pub id: String,
    pub basis: Basis,
    pub field: Vec<String>,
    pub equals: Vec<String>,
}

/// The compiled legal-basis configuration.
#[derive(Debug, Clone, Default)]
pub struct LegalBasis {
    pub default: Basis,
    pub registry_basis: Basis,
    emails: HashSet<String>,
    domains: HashSet<String>,
    companies: HashSet<String>,
    pub rules: Vec<BasisRule>,
    pub retention: BTreeMap<Basis, String>,
    pub targets: Vec<TaggingTarget>,
    pub protect: Vec<ProtectTarget>,
}

/// `[legal_basis]` as written in rule files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LegalBasisSpec {
    /// Registry file (next to the rule file): e-mails, `@domain`, `company:<id>`.
    pub registry: String,
    #[serde(default = "default_registry_basis")]
    pub registry_basis: String,
    pub default: String,
    pub retention: BTreeMap<String, String>,
    #[serde(default)]
    pub rule: Vec<BasisRuleSpec>,
    #[serde(default)]
    pub target: Vec<TargetSpec>,
    #[serde(default)]
    pub protect: Vec<ProtectSpec>,
}

fn default_registry_basis() -> String {
    "contract".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BasisRuleSpec {
    pub id: String,
    pub basis: String,
    pub field: String,
    pub equals: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TargetSpec {
    pub profile: String,
    pub route: String,
    #[serde(default)]
    pub ticket: String,
    pub requester: Vec<String>,
    #[serde(default)]
    pub company: Vec<String>,
    pub tags: Option<String>,
    #[serde(default = "default_tag_prefix")]
    pub tag_prefix: String,
    pub custom_field: Option<String>,
    pub custom_field_key: Option<String>,
    pub custom_field_id: Option<serde_json::Value>,
    pub ticket_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProtectSpec {
    pub profile: String,
    pub route: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub custom_fields: Vec<String>,
    pub custom_field_key: Option<String>,
    pub custom_field_id: Option<serde_json::Value>,
    pub prefixes: Option<Vec<String>>,
}

fn default_tag_prefix() -> String {
    "legal-basis:".into()
}

fn split(path: &str) -> Vec<String> {
    if path.is_empty() {
        Vec::new()
    } else {
        path.split('.').map(str::to_string).collect()
    }
}

impl LegalBasis {
    /// Compiles the spec with the registry file's text; errors are reasons.
    pub(crate) fn compile(spec: LegalBasisSpec, registry: &str) -> Result<LegalBasis, String> {
        let mut lb = LegalBasis {
            default: spec.default,
            registry_basis: spec.registry_basis,
            retention: spec.retention,
            ..LegalBasis::default()
        };
        for basis in std::iter::once(&lb.default)
            .chain([&lb.registry_basis])
            .chain(spec.rule.iter().map(|r| &r.basis))
        {
            if !lb.retention.contains_key(basis) {
                return Err(format!(
                    "legal basis {basis:?} has no retention class in [legal_basis.retention]"
                ));
            }
        }
        for line in registry.lines() {
            let entry = line.split('#').next().unwrap_or("").trim().to_lowercase();
            if entry.is_empty() {
                continue;
            }
            if let Some(domain) = entry.strip_prefix('@') {
                lb.domains.insert(domain.to_string());
            } else if let Some(company) = entry.strip_prefix("company:") {
                lb.companies.insert(company.trim().to_string());
            } else if entry.contains('@') {
                lb.emails.insert(entry);
            } else {
                return Err(format!(
                    "registry entry {:?} is not an e-mail, @domain or company:<id>",
                    line.trim()
                ));
            }
        }
        lb.rules = spec
            .rule
            .into_iter()
            .map(|r| BasisRule {
                id: r.id,
                basis: r.basis,
                field: split(&r.field),
                equals: r.equals,
            })
            .collect();
        for t in spec.target {
            let route = RouteTemplate::parse(&t.route)?;
            let field_object = match (&t.custom_field, &t.custom_field_key, &t.custom_field_id) {
                (Some(p), Some(k), None) => Some((p.clone(), k.clone())),
                _ => None,
            };
            let field_list = match (&t.custom_field, &t.custom_field_key, &t.custom_field_id) {
                (Some(p), None, Some(id)) => Some((p.clone(), id.clone())),
                _ => None,
            };
            if t.custom_field.is_some() && field_object.is_none() && field_list.is_none() {
                return Err("custom_field needs exactly one of custom_field_key (object) or custom_field_id (list of {id, value})".into());
            }
            lb.targets.push(TaggingTarget {
                profile: t.profile,
                route,
                ticket: split(&t.ticket),
                requester: t.requester.iter().map(|p| split(p)).collect(),
                company: t.company.iter().map(|p| split(p)).collect(),
                tags: t.tags,
                tag_prefix: t.tag_prefix,
                field_object,
                field_list,
                ticket_id: match t.ticket_id.as_deref() {
                    Some("") => return Err("ticket_id must name a field of the response".into()),
                    p => p.map(split),
                },
            });
        }
        for p in spec.protect {
            let route = RouteTemplate::parse(&p.route)?;
            if p.tags.is_empty() && p.custom_fields.is_empty() {
                return Err("[[legal_basis.protect]] needs tags and/or custom_fields".into());
            }
            if !p.custom_fields.is_empty()
                && p.custom_field_key.is_some() == p.custom_field_id.is_some()
            {
                return Err("custom_fields needs exactly one of custom_field_key (object) or custom_field_id (list of {id, value})".into());
            }
            let prefixes = p.prefixes.unwrap_or_else(|| {
                let mut v: Vec<String> = lb.targets.iter().map(|t| t.tag_prefix.clone()).collect();
                v.push("retention:".into());
                v.sort();
                v.dedup();
                v
            });
            if prefixes.iter().any(|p| p.is_empty()) {
                return Err("an empty tag prefix would remove every tag".into());
            }
            lb.protect.push(ProtectTarget {
                profile: p.profile,
                route,
                tags: p.tags.iter().map(|x| split(x)).collect(),
                custom_fields: p.custom_fields.iter().map(|x| split(x)).collect(),
                custom_field_key: p.custom_field_key,
                custom_field_id: p.custom_field_id,
                prefixes: prefixes.iter().map(|p| p.to_ascii_lowercase()).collect(),
            });
        }
        Ok(lb)
    }

    /// The tagging target for a request, if the route creates tickets.
    pub fn target_for(&self, profile: &str, method: &str, path: &str) -> Option<&TaggingTarget> {
        self.targets
            .iter()
            .find(|t| t.profile == profile && t.route.matches(method, path))
    }

    /// The protection of a ticket-updating route, if any.
    pub fn protect_for(&self, profile: &str, method: &str, path: &str) -> Option<&ProtectTarget> {
        self.protect
            .iter()
            .find(|t| t.profile == profile && t.route.matches(method, path))
    }

    /// Decides the basis from what the ticket said: `fields` maps ticket-relative
    /// paths to their (decoded) values. Values are only compared, never kept.
    pub fn decide(
        &self,
        target: &TaggingTarget,
        fields: &[(Vec<String>, String)],
    ) -> LegalBasisDecision {
        fn get<'a>(
            fields: &'a [(Vec<String>, String)],
            path: &'a [String],
        ) -> impl Iterator<Item = &'a str> {
            fields
                .iter()
                .filter(move |(p, _)| p.as_slice() == path)
                .map(|(_, v)| v.as_str())
        }
        for rule in &self.rules {
            if get(fields, &rule.field)
                .any(|v| rule.equals.iter().any(|e| e.eq_ignore_ascii_case(v.trim())))
            {
                return self.decision(&rule.basis, format!("rule:{}", rule.id));
            }
        }
        for path in &target.requester {
            for value in get(fields, path) {
                let v = address_of(value);
                if self.emails.contains(&v) {
                    return self.decision(&self.registry_basis, "registry:email".into());
                }
                if let Some((_, domain)) = v.rsplit_once('@') {
                    if self.domains.contains(domain) {
                        return self.decision(&self.registry_basis, "registry:domain".into());
                    }
                }
            }
        }
        for path in &target.company {
            if get(fields, path).any(|v| self.companies.contains(&v.trim().to_lowercase())) {
                return self.decision(&self.registry_basis, "registry:company".into());
            }
        }
        self.decision(&self.default, "default".into())
    }

    fn decision(&self, basis: &str, decided_by: String) -> LegalBasisDecision {
        let retention = self.retention.get(basis).cloned().unwrap_or_default();
        LegalBasisDecision {
            basis: basis.to_string(),
            retention,
            decided_by,
        }
    }
}

/// A ticket id as read from a response: an integer or a short token of
/// letters, digits and `-_.:`; anything else (a misconfigured path that
/// points at free text or an e-mail address) is not an id and is never
/// recorded.
pub fn ticket_id_of(raw: &str) -> Option<String> {
    let v = raw.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| v.to_string())
}

/// The address in `Name <addr>` or a bare address, lower-cased.
fn address_of(value: &str) -> String {
    let v = value.trim();
    let inner = match (v.rfind('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => &v[a + 1..b],
        _ => v,
    };
    inner.trim().to_lowercase()
}
