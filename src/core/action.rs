//! Rendering what replaces a finding: typed placeholders, partial masks and
//! keyed pseudonyms.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::detect::DetectorAction;

/// The operator's pseudonymisation secret. Pseudonyms are keyed HMAC-SHA256,
/// so the same value maps to the same token across tickets and replicas that
/// share the key, while nobody without the key can test a guess.
#[derive(Clone)]
pub struct PseudonymKey(Vec<u8>);

impl PseudonymKey {
    /// Wraps key material (at least 16 bytes are recommended; the shell warns).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        PseudonymKey(bytes.into())
    }

    /// A fixed, public key for demos and tests only: pseudonyms made with it
    /// are guessable.
    pub fn insecure_demo() -> Self {
        PseudonymKey(b"deskguard-demo-key-not-secret".to_vec())
    }

    /// Starts a pseudonym computation (streaming, for long values).
    pub fn hasher(&self) -> Pseudonymizer {
        // HMAC accepts keys of any length; new_from_slice cannot fail for it.
        let mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        Pseudonymizer(mac)
    }

    /// Pseudonym of a complete value.
    pub fn pseudonym(&self, value: &str) -> String {
        let mut h = self.hasher();
        h.update(value.as_bytes());
        h.finish()
    }
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(…)")
    }
}

/// Incremental pseudonym: feed the value's bytes, get a 16-hex-digit token.
/// Values are normalised by ASCII-lowercasing and trimming the ends, so
/// `Anna@Example.se ` and `anna@example.se` get the same token.
pub struct Pseudonymizer(Hmac<Sha256>);

impl Pseudonymizer {
    pub fn update(&mut self, bytes: &[u8]) {
        let lower: Vec<u8> = bytes.to_ascii_lowercase();
        self.0.update(&lower);
    }

    pub fn finish(self) -> String {
        hex::encode(&self.0.finalize().into_bytes()[..8])
    }
}

/// Renders templates (`{id}`, `{hash}`) and partial masks.
#[derive(Debug, Clone)]
pub struct Renderer {
    /// The mask template split at its `{id}`s, so a placeholder is a few
    /// appends instead of a search-and-replace per finding.
    mask_parts: Vec<String>,
    hash_template: String,
}

impl Renderer {
    pub fn new(mask_template: &str, hash_template: &str) -> Self {
        Renderer {
            mask_parts: mask_template.split("{id}").map(str::to_string).collect(),
            hash_template: hash_template.into(),
        }
    }

    /// The placeholder for a masked value of detector `id`.
    pub fn mask(&self, id: &str) -> String {
        let mut out = String::with_capacity(
            self.mask_parts.iter().map(String::len).sum::<usize>() + id.len(),
        );
        for (i, part) in self.mask_parts.iter().enumerate() {
            if i > 0 {
                out.push_str(id);
            }
            out.push_str(part);
        }
        out
    }

    /// The pseudonym token for detector `id` and a finished hash.
    pub fn hashed(&self, id: &str, hash: &str) -> String {
        self.hash_template
            .replace("{id}", id)
            .replace("{hash}", hash)
    }

    /// The replacement text for `value` found by detector `id`.
    pub fn render(
        &self,
        id: &str,
        action: DetectorAction,
        value: &str,
        key: &PseudonymKey,
    ) -> String {
        match action {
            DetectorAction::Mask | DetectorAction::Reject => self.mask(id),
            DetectorAction::Hash => self.hashed(id, &key.pseudonym(value.trim())),
            DetectorAction::Partial { keep_last } => partial(value, keep_last),
        }
    }
}

/// Stars every letter and digit but the last `keep_last`, keeping separators:
/// `4111 1111 1111 1111` → `**** **** **** 1111`.
pub fn partial(value: &str, keep_last: usize) -> String {
    let total = value.chars().filter(|c| c.is_alphanumeric()).count();
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if !c.is_alphanumeric() {
                return c;
            }
            seen += 1;
            if seen + keep_last > total {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_keeps_separators_and_tail() {
        assert_eq!(partial("4111 1111 1111 1111", 4), "**** **** **** 1111");
        assert_eq!(partial("4111-1111-1111-1111", 4), "****-****-****-1111");
        assert_eq!(partial("123", 4), "123");
    }

    #[test]
    fn pseudonyms_are_keyed_deterministic_and_normalised() {
        let k1 = PseudonymKey::new(b"k1".to_vec());
        let k2 = PseudonymKey::new(b"k2".to_vec());
        assert_eq!(
            k1.pseudonym("anna@example.se"),
            k1.pseudonym("Anna@Example.SE")
        );
        assert_ne!(
            k1.pseudonym("anna@example.se"),
            k2.pseudonym("anna@example.se")
        );
        assert_ne!(
            k1.pseudonym("anna@example.se"),
            k1.pseudonym("bo@example.se")
        );
        assert_eq!(k1.pseudonym("x").len(), 16);
    }

    #[test]
    fn templates_render() {
        let r = Renderer::new("<{id}>", "#{id}#{hash}");
        assert_eq!(r.mask("email"), "<email>");
        assert_eq!(r.hashed("email", "ab"), "#email#ab");
    }
}
