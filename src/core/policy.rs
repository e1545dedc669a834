//! Field policies: which JSON fields a route keeps, scans, pseudonymises or
//! drops (data minimisation), and for which routes and directions.

use std::collections::BTreeMap;

/// Which way a body travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client → helpdesk.
    Request,
    /// Helpdesk → client.
    Response,
    /// Policies only: applies to both.
    Both,
}

impl Direction {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Request => "request",
            Direction::Response => "response",
            Direction::Both => "both",
        }
    }

    fn covers(self, other: Direction) -> bool {
        self == Direction::Both || self == other
    }
}

/// How a route's policy is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite bodies.
    Enforce,
    /// Detect only: bodies pass unchanged, findings are reported.
    Shadow,
    /// Refuse bodies that carry fields the policy drops.
    Strict,
    /// Refuse every request on the route, with or without a body (a route
    /// no body could make safe, e.g. one that replaces the legal-basis
    /// tags): nothing reaches the helpdesk.
    Refuse,
}

/// What happens to one JSON field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FieldAction {
    /// Pass as is.
    Keep,
    /// Run the detectors over its strings.
    Scan,
    /// Strings hold base64 content (RT attachments): decoded, inspected
    /// when it is text, re-encoded; binary content follows `attachments`.
    Base64,
    /// Replace by a keyed pseudonym.
    Hash,
    /// Remove the key and its value.
    Drop,
}

/// What happens to fields nobody listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Otherwise {
    Drop,
    Keep,
    Scan,
}

impl Otherwise {
    fn action(self) -> FieldAction {
        match self {
            Otherwise::Drop => FieldAction::Drop,
            Otherwise::Keep => FieldAction::Keep,
            Otherwise::Scan => FieldAction::Scan,
        }
    }
}

/// What happens to content that cannot be inspected: binary file parts of
/// `multipart/form-data` and binary base64 attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachments {
    /// Passes unchanged.
    Pass,
    /// Refuses the body (422 for requests, 502 for responses).
    Refuse,
}

/// A route: an HTTP method (or `*`) and a path template whose `{name}`
/// segments match one segment and a final `*` matches the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTemplate {
    method: String,
    segments: Vec<String>,
}

impl RouteTemplate {
    /// Parses `POST /api/v2/tickets/{id}`.
    pub fn parse(s: &str) -> Result<RouteTemplate, String> {
        let (method, path) = s
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("route {s:?} must be \"METHOD /path\""))?;
        let path = path.trim();
        if !path.starts_with('/') {
            return Err(format!("route path {path:?} must start with /"));
        }
        if method != "*" && !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("route method {method:?} must be upper-case or *"));
        }
        let segments = path.split('/').skip(1).map(str::to_string).collect();
        Ok(RouteTemplate {
            method: method.to_string(),
            segments,
        })
    }

    /// Whether a request line matches; `path` is without the query string.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self.method != "*" && self.method != method {
            return false;
        }
        let mut given = path.split('/').skip(1);
        for (i, seg) in self.segments.iter().enumerate() {
            if seg == "*" && i + 1 == self.segments.len() {
                return true;
            }
            match given.next() {
                Some(g)
                    if seg == g
                        || (seg.starts_with('{') && seg.ends_with('}') && !g.is_empty()) => {}
                _ => return false,
            }
        }
        given.next().is_none()
    }
}

/// A compiled field policy for one profile, route and direction.
#[derive(Debug, Clone)]
pub struct FieldPolicy {
    pub id: String,
    pub profile: String,
    pub route: RouteTemplate,
    pub direction: Direction,
    pub mode: Mode,
    rules: Vec<(Vec<Segment>, FieldAction)>,
    html: Vec<Vec<Segment>>,
    pub otherwise: Otherwise,
    /// Audiences this policy is for; empty: everybody.
    pub audiences: Vec<String>,
    /// Binary attachments (multipart file parts, base64 content): pass or refuse.
    pub attachments: Attachments,
}

/// One segment glob: `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            if tail.is_empty() {
                return true;
            }
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

/// One segment of a path pattern. Whether it holds a `*` is looked up once:
/// most segments are plain names, compared without the glob walk (every
/// rule is matched at every object key of a body).
#[derive(Debug, Clone)]
struct Segment {
    text: String,
    wild: bool,
}

impl Segment {
    fn new(text: &str) -> Self {
        Segment {
            text: text.to_string(),
            wild: text.contains('*'),
        }
    }

    fn matches(&self, s: &str) -> bool {
        if self.wild {
            glob(&self.text, s)
        } else {
            self.text == s
        }
    }
}

/// Whether path pattern segments match a concrete path (array indices already removed).
fn path_matches(pattern: &[Segment], path: &[&str]) -> bool {
    pattern.len() == path.len() && pattern.iter().zip(path).all(|(p, s)| p.matches(s))
}

/// Whether some descendant of `path` could match `pattern`.
fn is_ancestor(pattern: &[Segment], path: &[&str]) -> bool {
    pattern.len() > path.len() && pattern.iter().zip(path).all(|(p, s)| p.matches(s))
}

impl FieldPolicy {
    /// Builds a policy; `rules` maps dotted path patterns to actions.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        profile: String,
        route: RouteTemplate,
        direction: Direction,
        mode: Mode,
        rules: BTreeMap<String, FieldAction>,
        html: Vec<String>,
        otherwise: Otherwise,
    ) -> Self {
        let split = |p: &str| p.split('.').map(Segment::new).collect::<Vec<_>>();
        let rules = rules.iter().map(|(p, a)| (split(p), *a)).collect();
        let html = html.iter().map(|p| split(p)).collect();
        FieldPolicy {
            id,
            profile,
            route,
            direction,
            mode,
            rules,
            html,
            otherwise,
            audiences: Vec::new(),
            attachments: Attachments::Refuse,
        }
    }

    /// The policy that scans every string: used when no policy matches.
    pub fn scan_all() -> Self {
        let route = RouteTemplate {
            method: "*".into(),
            segments: vec!["*".into()],
        };
        FieldPolicy::new(
            "default".into(),
            "default".into(),
            route,
            Direction::Both,
            Mode::Enforce,
            BTreeMap::new(),
            Vec::new(),
            Otherwise::Scan,
        )
    }

    /// Whether this policy applies to a profile, request line and direction.
    pub fn applies(&self, profile: &str, method: &str, path: &str, direction: Direction) -> bool {
        self.profile == profile
            && self.direction.covers(direction)
            && self.route.matches(method, path)
    }

    /// Whether the policy is for this audience: policies without an
    /// audience list are for everybody.
    pub fn for_audience(&self, audience: Option<&str>) -> bool {
        self.audiences.is_empty() || audience.is_some_and(|a| self.audiences.iter().any(|x| x == a))
    }

    /// Restricts the policy to the given audiences (`agent`, `reporting`, …).
    pub fn with_audiences(mut self, audiences: Vec<String>) -> Self {
        self.audiences = audiences;
        self
    }

    /// Sets what happens to binary attachments.
    pub fn with_attachments(mut self, attachments: Attachments) -> Self {
        self.attachments = attachments;
        self
    }

    /// Decides a flat field name's path (`custom_fields.cf_x`, as a form
    /// field `custom_fields[cf_x]` names it) the way the JSON walk would
    /// decide a scalar at that path: container by container, inheriting.
    pub fn decide_leaf(&self, path: &[&str]) -> FieldAction {
        let mut inherited = None;
        for i in 1..=path.len() {
            if let Some(a) = self.decide(&path[..i], inherited).action {
                inherited = Some(a);
            }
        }
        inherited.unwrap_or(self.otherwise.action())
    }

    /// Decides a node at `path` (object keys, array indices removed) given
    /// what its parent was decided as (`None`: nothing covers the parent).
    /// When several patterns match, the most protective action wins
    /// (drop > hash > scan > keep).
    pub fn decide(&self, path: &[&str], inherited: Option<FieldAction>) -> Decision {
        self.decide_with(self.rules_at(path), inherited)
    }

    /// What the rules say about `path` itself (see [`Rules`]).
    pub fn rules_at(&self, path: &[&str]) -> Rules {
        Rules {
            explicit: self
                .rules
                .iter()
                .filter(|(p, _)| path_matches(p, path))
                .map(|(_, a)| *a)
                .max(),
            below: self.rules.iter().any(|(p, _)| is_ancestor(p, path)),
        }
    }

    /// [`FieldPolicy::decide`] from the rules at the path.
    pub fn decide_with(&self, rules: Rules, inherited: Option<FieldAction>) -> Decision {
        let Rules { explicit, below } = rules;
        match explicit.or(inherited) {
            Some(action) => Decision {
                action: Some(action),
                rules_below: below,
            },
            None if below => Decision {
                action: None,
                rules_below: true,
            },
            None => Decision {
                action: Some(self.otherwise.action()),
                rules_below: false,
            },
        }
    }

    /// Whether a string at `path` holds HTML by this policy's own list.
    pub fn is_html(&self, path: &[&str]) -> bool {
        self.html.iter().any(|p| path_matches(p, path))
    }
}

/// What the rules say about one path before inheritance: it depends on the
/// path alone, so the JSON walk can resolve it once per distinct path.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The most protective action of the patterns matching the path.
    explicit: Option<FieldAction>,
    /// Whether some pattern targets a descendant.
    below: bool,
}

/// The decision for one JSON node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// `None`: not covered itself, but rules exist below; descend.
    pub action: Option<FieldAction>,
    /// Whether some rule targets a descendant (so a container must be walked).
    pub rules_below: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rules: &[(&str, FieldAction)], otherwise: Otherwise) -> FieldPolicy {
        let rules = rules.iter().map(|(p, a)| (p.to_string(), *a)).collect();
        let route = RouteTemplate::parse("POST /api/v2/tickets").unwrap();
        FieldPolicy::new(
            "t".into(),
            "freshdesk".into(),
            route,
            Direction::Request,
            Mode::Enforce,
            rules,
            vec![],
            otherwise,
        )
    }

    #[test]
    fn routes_match_templates() {
        let r = RouteTemplate::parse("GET /api/v2/tickets/{id}").unwrap();
        assert!(r.matches("GET", "/api/v2/tickets/42"));
        assert!(!r.matches("GET", "/api/v2/tickets"));
        assert!(!r.matches("GET", "/api/v2/tickets/42/notes"));
        assert!(!r.matches("POST", "/api/v2/tickets/42"));
        let any = RouteTemplate::parse("* /REST/2.0/*").unwrap();
        assert!(any.matches("PUT", "/REST/2.0/ticket/1"));
        assert!(RouteTemplate::parse("get /x").is_err());
        assert!(RouteTemplate::parse("GET x").is_err());
    }

    #[test]
    fn most_protective_explicit_rule_wins_and_children_inherit() {
        use FieldAction::*;
        let p = policy(
            &[
                ("ticket", Keep),
                ("ticket.address", Drop),
                ("custom_fields.cf_*", Scan),
                ("email", Hash),
            ],
            Otherwise::Drop,
        );
        assert_eq!(
            p.decide(&["ticket"], None),
            Decision {
                action: Some(Keep),
                rules_below: true
            }
        );
        assert_eq!(
            p.decide(&["ticket", "address"], Some(Keep)).action,
            Some(Drop)
        );
        assert_eq!(
            p.decide(&["ticket", "subject"], Some(Keep)).action,
            Some(Keep)
        );
        assert_eq!(
            p.decide(&["custom_fields"], None),
            Decision {
                action: None,
                rules_below: true
            }
        );
        assert_eq!(
            p.decide(&["custom_fields", "cf_pnr"], None).action,
            Some(Scan)
        );
        assert_eq!(
            p.decide(&["custom_fields", "other"], None).action,
            Some(Drop)
        );
        assert_eq!(p.decide(&["twitter_id"], None).action, Some(Drop));
        assert_eq!(p.decide(&["email"], None).action, Some(Hash));
    }

    #[test]
    fn globs() {
        assert!(glob("cf_*", "cf_personnummer"));
        assert!(glob("*", "x"));
        assert!(glob("*_name", "first_name"));
        assert!(!glob("cf_*", "xcf_"));
        assert!(glob("a*b*c", "aXXbYYc"));
    }
}
