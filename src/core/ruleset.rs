//! Rule files (TOML) → a compiled, immutable [`Ruleset`].
//!
//! The core never touches the file system: the shell reads the rules
//! directory into [`RuleSource`]s and hands them over. Compilation checks
//! everything (regexes, validator and action names, duplicate ids, examples'
//! shape, policy paths) and reports every problem with file and line, so a bad
//! file can be rejected while the running rules keep serving.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::detect::gazetteer::Gazetteer;
use super::detect::validate;
use super::detect::{Detector, DetectorAction, Kind};
use super::engine::{is_word, Engine};
use super::error::{RuleError, RuleErrors};
use super::legal_basis::{LegalBasis, LegalBasisSpec};
use super::policy::{Attachments, Direction, FieldPolicy, Mode, Otherwise, RouteTemplate};

/// One rule file's text, named by its path relative to the rules directory.
#[derive(Debug, Clone)]
pub struct RuleSource {
    pub path: String,
    pub text: String,
}

/// Global settings (`[settings]`, at most once across all files).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest single token the streaming core must be able to see. Memory per
    /// stream is a small multiple of this; longer tokens fail closed.
    pub max_token: usize,
    /// Default context window in bytes before a match.
    pub context_window: usize,
    /// Placeholder template for `mask`; `{id}` is the detector id.
    pub mask_template: String,
    /// Pseudonym template for `hash`; `{id}` and `{hash}` are replaced.
    pub hash_template: String,
    /// JSON fields (last path segment globs) whose strings hold HTML.
    pub html_fields: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_token: 4096,
            context_window: 48,
            mask_template: "[REDACTED:{id}]".into(),
            hash_template: "[{id}:{hash}]".into(),
            html_fields: vec!["description".into(), "html_body".into(), "body_html".into()],
        }
    }
}

/// A compiled rule set: detectors, the scan engine built from them, field
/// policies and settings. Immutable; shared behind an `Arc` and swapped whole
/// on reload.
#[derive(Debug)]
pub struct Ruleset {
    pub(crate) engine: Engine,
    pub(crate) policies: Vec<FieldPolicy>,
    pub(crate) settings: Settings,
    pub(crate) legal_basis: Option<Arc<LegalBasis>>,
    examples: Vec<Example>,
    version: String,
}

/// A rule's own example, run by `deskguard rules test`.
#[derive(Debug, Clone)]
pub struct Example {
    pub detector: Arc<str>,
    pub file: String,
    pub line: usize,
    pub text: String,
    /// true: the detector must find something; false: it must find nothing.
    pub must_match: bool,
}

impl Ruleset {
    /// Compiles rule sources. All files are checked; every error is returned.
    pub fn compile(sources: &[RuleSource]) -> Result<Ruleset, RuleErrors> {
        Compiler::default().run(sources)
    }

    /// A short content hash of the sources: the version shown in metrics and
    /// audit events, so operators can see which rules served a request.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Detector ids in rule-file order.
    pub fn detector_ids(&self) -> impl Iterator<Item = &str> {
        self.engine.detectors().iter().map(|d| &*d.id)
    }

    /// Every detector's examples.
    pub fn examples(&self) -> &[Example] {
        &self.examples
    }

    /// The legal-basis configuration, if the rules have one.
    pub fn legal_basis(&self) -> Option<&LegalBasis> {
        self.legal_basis.as_deref()
    }

    /// The field policies, in file order.
    pub fn policies(&self) -> &[FieldPolicy] {
        &self.policies
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    settings: Option<Spanned<SettingsSpec>>,
    #[serde(default)]
    gazetteer: Option<Spanned<GazetteerSpec>>,
    #[serde(default)]
    detector: Vec<Spanned<DetectorSpec>>,
    #[serde(default)]
    policy: Vec<Spanned<PolicySpec>>,
    #[serde(default)]
    legal_basis: Option<Spanned<LegalBasisSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsSpec {
    max_token: Option<usize>,
    context_window: Option<usize>,
    mask_template: Option<String>,
    hash_template: Option<String>,
    html_fields: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GazetteerSpec {
    given_names: String,
    surnames: String,
    not_names: String,
    #[serde(default)]
    surname_suffixes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectorSpec {
    id: Spanned<String>,
    description: String,
    kind: Spanned<String>,
    pattern: Spanned<String>,
    validator: Option<Spanned<String>>,
    min_digits: Option<usize>,
    max_digits: Option<usize>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    require_context: bool,
    #[serde(default)]
    negative_context: Vec<String>,
    context_window: Option<usize>,
    #[serde(default)]
    triggers: Vec<String>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    value_fields: Vec<String>,
    action: Spanned<String>,
    keep_last: Option<usize>,
    #[serde(default)]
    must_match: Vec<String>,
    #[serde(default)]
    must_not_match: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec {
    id: Option<String>,
    profile: String,
    route: Spanned<String>,
    direction: Spanned<String>,
    mode: Option<Spanned<String>>,
    #[serde(default)]
    keep: Vec<String>,
    #[serde(default)]
    scan: Vec<String>,
    #[serde(default)]
    drop: Vec<String>,
    #[serde(default)]
    hash: Vec<String>,
    #[serde(default)]
    html: Vec<String>,
    #[serde(default)]
    base64: Vec<String>,
    attachments: Option<Spanned<String>>,
    otherwise: Option<Spanned<String>>,
    #[serde(default)]
    audiences: Vec<String>,
}

#[derive(Default)]
struct Compiler {
    errors: Vec<RuleError>,
    detectors: Vec<Detector>,
    policies: Vec<FieldPolicy>,
    examples: Vec<Example>,
    settings: Option<(String, Settings)>,
    gazetteer: Option<(String, usize, GazetteerSpec)>,
    legal_basis: Option<(String, usize, LegalBasisSpec)>,
    ids: HashSet<String>,
}

/// Longest trigger, context or prefix word: the scanner's lookahead must cover it.
const MAX_KEYWORD: usize = 48;

/// A reason for a TOML syntax error the parser gave none for (it gives
/// none for a control character in a comment, found by fuzzing): what is
/// at byte `at` of `text`.
fn unexplained_syntax_error(text: &str, at: usize) -> String {
    match text.get(at..).and_then(|rest| rest.chars().next()) {
        Some(c) if c.is_control() => format!(
            "control character U+{:04X} is not allowed here (TOML allows only tab, unescaped)",
            u32::from(c)
        ),
        Some(c) => format!("invalid TOML syntax at {c:?}"),
        None => "invalid TOML syntax at the end of the file".to_string(),
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Compiler {
    fn err(&mut self, src: &RuleSource, span: Range<usize>, reason: impl Into<String>) {
        self.errors.push(RuleError {
            file: src.path.clone(),
            line: line_of(&src.text, span.start),
            reason: reason.into(),
        });
    }

    fn run(mut self, sources: &[RuleSource]) -> Result<Ruleset, RuleErrors> {
        let mut sorted: Vec<&RuleSource> = sources
            .iter()
            .filter(|s| s.path.ends_with(".toml"))
            .collect();
        sorted.sort_by(|a, b| a.path.cmp(&b.path));
        for src in &sorted {
            match toml::from_str::<FileSpec>(&src.text) {
                Ok(spec) => self.file(src, spec),
                Err(e) => {
                    let span = e.span().unwrap_or(0..0);
                    let reason = match e.message() {
                        "" => unexplained_syntax_error(&src.text, span.start),
                        message => message.to_string(),
                    };
                    self.err(src, span, reason);
                }
            }
        }
        let gazetteer = self.load_gazetteer(sources);
        let legal_basis = self.load_legal_basis(sources);
        let settings = self.settings.take().map(|(_, s)| s).unwrap_or_default();
        if !self.errors.is_empty() {
            return Err(RuleErrors(self.errors));
        }
        let engine = Engine::new(self.detectors, gazetteer, &settings);
        let mut hasher = Sha256::new();
        let mut all: Vec<&RuleSource> = sources.iter().collect();
        all.sort_by(|a, b| a.path.cmp(&b.path));
        for s in all {
            hasher.update(s.path.as_bytes());
            hasher.update([0]);
            hasher.update(s.text.as_bytes());
            hasher.update([0]);
        }
        let version = hex::encode(&hasher.finalize()[..6]);
        Ok(Ruleset {
            engine,
            policies: self.policies,
            settings,
            legal_basis,
            examples: self.examples,
            version,
        })
    }

    fn file(&mut self, src: &RuleSource, spec: FileSpec) {
        if let Some(s) = spec.settings {
            self.settings_block(src, s);
        }
        if let Some(g) = spec.gazetteer {
            if let Some((other, _, _)) = &self.gazetteer {
                let reason = format!("a second [gazetteer] block (the first is in {other})");
                self.err(src, g.span(), reason);
            } else {
                let line = line_of(&src.text, g.span().start);
                self.gazetteer = Some((src.path.clone(), line, g.into_inner()));
            }
        }
        if let Some(lb) = spec.legal_basis {
            if let Some((other, _, _)) = &self.legal_basis {
                let reason = format!("a second [legal_basis] block (the first is in {other})");
                self.err(src, lb.span(), reason);
            } else {
                let line = line_of(&src.text, lb.span().start);
                self.legal_basis = Some((src.path.clone(), line, lb.into_inner()));
            }
        }
        for d in spec.detector {
            self.detector(src, d.into_inner());
        }
        for p in spec.policy {
            let span = p.span();
            self.policy(src, span, p.into_inner());
        }
    }

    fn settings_block(&mut self, src: &RuleSource, s: Spanned<SettingsSpec>) {
        if let Some((other, _)) = &self.settings {
            let reason = format!("a second [settings] block (the first is in {other})");
            self.err(src, s.span(), reason);
            return;
        }
        let span = s.span();
        let s = s.into_inner();
        let d = Settings::default();
        let max_token = s.max_token.unwrap_or(d.max_token);
        if !(64..=1 << 20).contains(&max_token) {
            self.err(
                src,
                span.clone(),
                "max_token must be between 64 and 1048576 bytes",
            );
        }
        let settings = Settings {
            max_token,
            context_window: s.context_window.unwrap_or(d.context_window).min(1024),
            mask_template: s.mask_template.unwrap_or(d.mask_template),
            hash_template: s.hash_template.unwrap_or(d.hash_template),
            html_fields: s.html_fields.unwrap_or(d.html_fields),
        };
        if !settings.hash_template.contains("{hash}") {
            self.err(src, span, "hash_template must contain {hash}");
        }
        self.settings = Some((src.path.clone(), settings));
    }

    fn load_gazetteer(&mut self, sources: &[RuleSource]) -> Gazetteer {
        let Some((file, line, spec)) = self.gazetteer.take() else {
            return Gazetteer::default();
        };
        let dir = file
            .rsplit_once('/')
            .map(|(d, _)| format!("{d}/"))
            .unwrap_or_default();
        let mut lists: Vec<Vec<&str>> = Vec::new();
        for name in [&spec.given_names, &spec.surnames, &spec.not_names] {
            let wanted = [format!("{dir}{name}"), name.clone()];
            match sources.iter().find(|s| wanted.contains(&s.path)) {
                Some(s) => lists.push(Gazetteer::parse_list(&s.text)),
                None => {
                    self.errors.push(RuleError {
                        file: file.clone(),
                        line,
                        reason: format!("gazetteer file {name:?} not found next to the rule file"),
                    });
                    lists.push(Vec::new());
                }
            }
        }
        let suffixes: Vec<&str> = spec.surname_suffixes.iter().map(String::as_str).collect();
        Gazetteer::from_lists(&lists[0], &lists[1], &lists[2], &suffixes)
    }

    /// Parses one of a fixed set of words; an unknown word is an error
    /// naming the known ones (the first is used so checking can go on).
    fn choice<T: Copy>(
        &mut self,
        src: &RuleSource,
        value: &Spanned<String>,
        what: &str,
        known: &[(&str, T)],
    ) -> T {
        if let Some((_, v)) = known.iter().find(|(name, _)| *name == value.get_ref()) {
            return *v;
        }
        let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
        let reason = format!(
            "unknown {what} {:?}; known: {}",
            value.get_ref(),
            names.join(", ")
        );
        self.err(src, value.span(), reason);
        known[0].1
    }

    fn load_legal_basis(&mut self, sources: &[RuleSource]) -> Option<Arc<LegalBasis>> {
        let (file, line, spec) = self.legal_basis.take()?;
        let dir = file
            .rsplit_once('/')
            .map(|(d, _)| format!("{d}/"))
            .unwrap_or_default();
        let wanted = [format!("{dir}{}", spec.registry), spec.registry.clone()];
        let registry = match sources.iter().find(|s| wanted.contains(&s.path)) {
            Some(s) => s.text.as_str(),
            None => {
                let reason = format!(
                    "customer-contact registry {:?} not found next to the rule file",
                    spec.registry
                );
                self.errors.push(RuleError { file, line, reason });
                return None;
            }
        };
        match LegalBasis::compile(spec, registry) {
            Ok(lb) => Some(Arc::new(lb)),
            Err(reason) => {
                self.errors.push(RuleError { file, line, reason });
                None
            }
        }
    }

    fn detector(&mut self, src: &RuleSource, d: DetectorSpec) {
        let id_span = d.id.span();
        let id = d.id.get_ref().clone();
        let line = line_of(&src.text, id_span.start);
        let before = self.errors.len();
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            self.err(
                src,
                id_span.clone(),
                format!("detector id {id:?} must be non-empty and use only a-z 0-9 . _ -"),
            );
        }
        if !self.ids.insert(id.clone()) {
            self.err(
                src,
                id_span.clone(),
                format!("duplicate detector id {id:?}"),
            );
        }
        let kind = match Kind::parse(d.kind.get_ref()) {
            Some(k) => k,
            None => {
                let reason = format!(
                    "unknown kind {:?}; known: {}",
                    d.kind.get_ref(),
                    Kind::NAMES.join(", ")
                );
                self.err(src, d.kind.span(), reason);
                Kind::Scan
            }
        };
        let validator = d
            .validator
            .as_ref()
            .and_then(|v| match validate::lookup(v.get_ref()) {
                Some(f) => Some(f),
                None => {
                    let reason = format!(
                        "unknown validator {:?}; known: {}",
                        v.get_ref(),
                        validate::names().join(", ")
                    );
                    self.err(src, v.span(), reason);
                    None
                }
            });
        let action = match (d.action.get_ref().as_str(), d.keep_last) {
            ("mask", _) => DetectorAction::Mask,
            ("partial", Some(n)) => DetectorAction::Partial { keep_last: n },
            ("partial", None) => {
                self.err(
                    src,
                    d.action.span(),
                    "action \"partial\" needs keep_last = N",
                );
                DetectorAction::Mask
            }
            ("hash", _) => DetectorAction::Hash,
            ("reject", _) => DetectorAction::Reject,
            (other, _) => {
                let reason = format!("unknown action {other:?}; known: mask, partial, hash, reject (drop is for field policies)");
                self.err(src, d.action.span(), reason);
                DetectorAction::Mask
            }
        };
        for w in d
            .triggers
            .iter()
            .chain(&d.context)
            .chain(&d.negative_context)
            .chain(&d.prefixes)
        {
            let first = w.bytes().next().unwrap_or(b' ');
            // The keyword automaton starts only at word starts.
            if w.len() > MAX_KEYWORD || !is_word(first) {
                let reason = format!("keyword {w:?} must start with a letter or digit and be at most {MAX_KEYWORD} bytes");
                self.err(src, id_span.clone(), reason);
            }
        }
        if kind == Kind::Keyword && d.triggers.is_empty() {
            self.err(
                src,
                d.kind.span(),
                "kind \"keyword\" needs triggers = [...]",
            );
        }
        if kind == Kind::Prefix && d.prefixes.is_empty() {
            self.err(src, d.kind.span(), "kind \"prefix\" needs prefixes = [...]");
        }
        if d.require_context && d.context.is_empty() && d.fields.is_empty() {
            self.err(
                src,
                id_span.clone(),
                "require_context = true needs context words or fields",
            );
        }
        let regex = match Detector::compile_pattern(d.pattern.get_ref(), kind) {
            Ok(r) => Some(r),
            Err(e) => {
                self.err(src, d.pattern.span(), format!("bad pattern: {e}"));
                None
            }
        };
        if self.errors.len() > before {
            return;
        }
        let Some(regex) = regex else { return };
        let detector_id: Arc<str> = Arc::from(id.as_str());
        for (list, must) in [(&d.must_match, true), (&d.must_not_match, false)] {
            for text in list {
                self.examples.push(Example {
                    detector: detector_id.clone(),
                    file: src.path.clone(),
                    line,
                    text: text.clone(),
                    must_match: must,
                });
            }
        }
        if d.must_match.is_empty() {
            self.err(
                src,
                id_span,
                format!(
                    "detector {id:?} has no must_match examples; every rule carries its examples"
                ),
            );
        }
        self.detectors.push(Detector {
            id: detector_id,
            description: d.description,
            kind,
            pattern: d.pattern.get_ref().clone(),
            regex,
            validator,
            min_digits: d.min_digits.unwrap_or(0),
            max_digits: d.max_digits.unwrap_or(usize::MAX),
            min_value_digits: d
                .validator
                .as_ref()
                .map_or(0, |v| validate::min_value_digits(v.get_ref())),
            context: d.context,
            require_context: d.require_context,
            negative_context: d.negative_context,
            context_window: d.context_window,
            triggers: d.triggers,
            prefixes: d.prefixes,
            fields: d.fields,
            value_fields: d.value_fields,
            action,
            first: Detector::first_bytes(d.pattern.get_ref()),
            max_len: Detector::max_match_len(d.pattern.get_ref()),
            fast: Detector::fast_dfa(d.pattern.get_ref(), kind),
            captures: Detector::capture_engine(d.pattern.get_ref(), kind),
            value_split: Detector::value_split_of(d.pattern.get_ref(), kind),
        });
    }

    fn policy(&mut self, src: &RuleSource, span: Range<usize>, p: PolicySpec) {
        let before = self.errors.len();
        let route = match RouteTemplate::parse(p.route.get_ref()) {
            Ok(r) => Some(r),
            Err(e) => {
                self.err(src, p.route.span(), e);
                None
            }
        };
        let direction = self.choice(
            src,
            &p.direction,
            "direction",
            &[
                ("request", Direction::Request),
                ("response", Direction::Response),
                ("both", Direction::Both),
            ],
        );
        let mode = match &p.mode {
            None => Mode::Enforce,
            Some(m) => self.choice(
                src,
                m,
                "mode",
                &[
                    ("enforce", Mode::Enforce),
                    ("shadow", Mode::Shadow),
                    ("strict", Mode::Strict),
                    ("refuse", Mode::Refuse),
                ],
            ),
        };
        let otherwise = match &p.otherwise {
            None => Otherwise::Scan,
            Some(o) => self.choice(
                src,
                o,
                "otherwise",
                &[
                    ("scan", Otherwise::Scan),
                    ("drop", Otherwise::Drop),
                    ("keep", Otherwise::Keep),
                ],
            ),
        };
        let attachments = match &p.attachments {
            None => Attachments::Refuse,
            Some(a) => self.choice(
                src,
                a,
                "attachments",
                &[("pass", Attachments::Pass), ("refuse", Attachments::Refuse)],
            ),
        };
        for path in p
            .keep
            .iter()
            .chain(&p.scan)
            .chain(&p.drop)
            .chain(&p.hash)
            .chain(&p.html)
            .chain(&p.base64)
        {
            if path.is_empty() || path.split('.').any(str::is_empty) {
                self.err(
                    src,
                    span.clone(),
                    format!("bad field path {path:?}: empty segment"),
                );
            }
        }
        if self.errors.len() > before {
            return;
        }
        let Some(route) = route else { return };
        let id =
            p.id.unwrap_or_else(|| format!("{}:{}", p.profile, p.route.get_ref()));
        let mut rules = BTreeMap::new();
        for (list, action) in [
            (&p.keep, super::policy::FieldAction::Keep),
            (&p.scan, super::policy::FieldAction::Scan),
            (&p.base64, super::policy::FieldAction::Base64),
            (&p.hash, super::policy::FieldAction::Hash),
            (&p.drop, super::policy::FieldAction::Drop),
        ] {
            for path in list {
                rules.insert(path.clone(), action);
            }
        }
        let policy = FieldPolicy::new(
            id, p.profile, route, direction, mode, rules, p.html, otherwise,
        );
        self.policies.push(
            policy
                .with_audiences(p.audiences)
                .with_attachments(attachments),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(path: &str, text: &str) -> RuleSource {
        RuleSource {
            path: path.into(),
            text: text.into(),
        }
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let e =
            Ruleset::compile(&[src("a.toml", "[[detector]]\nid = \"x\"\nkind = \n")]).unwrap_err();
        assert_eq!(e.0[0].file, "a.toml");
        assert_eq!(e.0[0].line, 3, "{e}");
    }

    /// The toml crate gives no message for a control character in a
    /// comment (the fuzzer found it); the error still has a reason.
    #[test]
    fn a_control_character_is_named_where_the_parser_gives_no_reason() {
        let e = Ruleset::compile(&[src("a.toml", "id = \"x\"\n# a\u{0}b\n")]).unwrap_err();
        assert_eq!((e.0[0].file.as_str(), e.0[0].line), ("a.toml", 2), "{e}");
        assert!(e.0[0].reason.contains("U+0000"), "{e}");
    }

    #[test]
    fn semantic_errors_are_all_reported_with_lines() {
        let text = r#"
[[detector]]
id = "a"
description = "d"
kind = "number"
pattern = '''[0-9'''
action = "mask"
must_match = ["1"]

[[detector]]
id = "b"
description = "d"
kind = "number"
pattern = '''[0-9]+'''
validator = "nope"
action = "explode"
must_match = ["1"]
"#;
        let e = Ruleset::compile(&[src("r.toml", text)]).unwrap_err();
        let lines: Vec<_> =
            e.0.iter()
                .map(|e| {
                    (
                        e.line,
                        e.reason.split(' ').take(2).collect::<Vec<_>>().join(" "),
                    )
                })
                .collect();
        assert!(lines.contains(&(6, "bad pattern:".into())), "{lines:?}");
        assert!(
            lines
                .iter()
                .any(|(l, r)| *l == 15 && r.starts_with("unknown validator")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, r)| *l == 16 && r.starts_with("unknown action")),
            "{lines:?}"
        );
    }

    #[test]
    fn duplicate_ids_and_unknown_keys_are_rejected() {
        let one = "[[detector]]\nid = \"a\"\ndescription = \"d\"\nkind = \"number\"\npattern = '[0-9]+'\naction = \"mask\"\nmust_match = [\"1\"]\n";
        let e = Ruleset::compile(&[src("a.toml", one), src("b.toml", one)]).unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!((e.0[0].file.as_str(), e.0[0].line), ("b.toml", 2));
        assert!(e.0[0].reason.contains("duplicate"));
        let e =
            Ruleset::compile(&[src("c.toml", &format!("{one}colour = \"red\"\n"))]).unwrap_err();
        assert!(e.0[0].reason.contains("colour"), "{e}");
    }

    #[test]
    fn version_changes_with_content() {
        let a = Ruleset::compile(&[src("a.toml", "")]).unwrap();
        let b = Ruleset::compile(&[src("a.toml", "# x\n")]).unwrap();
        assert_ne!(a.version(), b.version());
        assert_eq!(a.version().len(), 12);
    }
}
