//! Validators: checksum and plausibility checks run on a candidate after its pattern matched.
//!
//! Patterns are deliberately loose (cheap to run, easy to read in rule files);
//! validators are where a candidate has to prove it is the real thing: a
//! checksum that holds, a date that exists, a country code with the right
//! length. Every validator here is pure, allocation-free, never panics on any
//! input (including non-ASCII and arbitrarily long text) and is cheap enough
//! for the hot path.
//!
//! Dates are checked against a fixed reference year ([`REFERENCE_YEAR`])
//! rather than the clock so that results are deterministic and testable.

use rustc_hash::FxHashSet as HashSet;
use std::sync::OnceLock;

use super::gazetteer::Gazetteer;
use super::word_ends::WordEnds;

/// A validator gets the matched bytes (the `value` capture group if the
/// pattern has one, else the whole match). Those that read text (names,
/// e-mail, addresses: registered through `text!`) turn away bytes that
/// are not UTF-8.
/// The others read ASCII digits, letters and separators, and turn away any
/// other byte themselves: they skip the UTF-8 check, which cost as much as
/// their own work on a short number, and a value that is not UTF-8 still
/// fails every validator.
pub type ValidatorFn = fn(candidate: &[u8], gazetteer: &Gazetteer) -> bool;

/// A [`ValidatorFn`] for a validator that reads text: bytes that are not
/// UTF-8 fail it.
macro_rules! text {
    ($validator:ident) => {
        |candidate: &[u8], g: &Gazetteer| {
            std::str::from_utf8(candidate).is_ok_and(|text| $validator(text, g))
        }
    };
}

/// Year used to infer the century of two-digit birth years (Swedish numbers):
/// a date is never placed after this year. Fixed, not read from the clock, so
/// that the same input always validates the same way.
pub const REFERENCE_YEAR: u32 = 2026;

/// Validator table: the names rule files use, in the order [`names`] lists them.
const VALIDATORS: &[(&str, ValidatorFn)] = &[
    ("se_personnummer", se_personnummer),
    ("dk_cpr", dk_cpr),
    ("no_fodselsnummer", no_fodselsnummer),
    ("fi_henkilotunnus", fi_henkilotunnus),
    ("payment_card", payment_card),
    ("iban", iban),
    ("email", text!(email)),
    ("phone", phone),
    ("ipv4", text!(ipv4)),
    ("ipv6", text!(ipv6)),
    ("jwt", text!(jwt)),
    ("api_token", api_token),
    ("secret_value", text!(secret_value)),
    ("person_name", text!(person_name)),
    ("person_name_cued", text!(person_name_cued)),
    ("postcode_city", text!(postcode_city)),
    ("street_address", text!(street_address)),
];

const NAMES: &[&str] = &[
    "se_personnummer",
    "dk_cpr",
    "no_fodselsnummer",
    "fi_henkilotunnus",
    "payment_card",
    "iban",
    "email",
    "phone",
    "ipv4",
    "ipv6",
    "jwt",
    "api_token",
    "secret_value",
    "person_name",
    "person_name_cued",
    "postcode_city",
    "street_address",
];

/// Looks a validator up by the name rule files use.
pub fn lookup(name: &str) -> Option<ValidatorFn> {
    VALIDATORS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The fewest ASCII digits a value validator `name` accepts holds (0: no
/// such bound is promised). A detector's screen may rely on it to turn
/// away runs whose match would end before that many digits (see
/// `engine::number_screen`): a phone number's match ending at the `-` of
/// a timestamp's `2024-05-01T…` is never searched for.
pub fn min_value_digits(name: &str) -> usize {
    match name {
        // National and international numbers alike need eight digits
        // (the `(0)` of `+46 (0)70` not counted).
        "phone" => 8,
        _ => 0,
    }
}

/// Every validator name, for error messages (`unknown validator "x"; known: ...`).
pub fn names() -> &'static [&'static str] {
    NAMES
}

// ---------------------------------------------------------------------------
// Shared helpers (no allocation)
// ---------------------------------------------------------------------------

/// Gregorian leap year.
fn is_leap(year: u32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Whether `year-month-day` exists in the Gregorian calendar.
fn valid_date(year: u32, month: u32, day: u32) -> bool {
    let max = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => return false,
    };
    (1..=max).contains(&day)
}

/// Numeric value of two ASCII digits (caller guarantees they are digits).
fn two(d: &[u8]) -> u32 {
    u32::from(d[0]) * 10 + u32::from(d[1])
}

/// Copies the ASCII digits of `s` into `buf` as values 0–9, skipping bytes in
/// `seps`. Returns the digit count, or `None` on any other byte or when `buf`
/// overflows.
fn collect_digits(s: &[u8], seps: &[u8], buf: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    for &b in s {
        if b.is_ascii_digit() {
            *buf.get_mut(n)? = b - b'0';
            n += 1;
        } else if !seps.contains(&b) {
            return None;
        }
    }
    Some(n)
}

/// Luhn (mod 10) over digit values; the last digit is the check digit.
fn luhn_ok(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &v) in d.iter().rev().enumerate() {
        let v = u32::from(v);
        sum += if i % 2 == 1 {
            let x = v * 2;
            if x > 9 {
                x - 9
            } else {
                x
            }
        } else {
            v
        };
    }
    sum % 10 == 0
}

/// Case-insensitive comparison of `a` against an already lower-case `lower`,
/// Unicode-aware, without allocating.
fn eq_fold(a: &str, lower: &str) -> bool {
    if a.is_ascii() && lower.is_ascii() {
        return a.eq_ignore_ascii_case(lower);
    }
    a.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

/// Lower-case word lists as one hash set, built on first use: validators
/// look words up in them on every candidate, so a lookup must not scan a
/// list or allocate.
struct WordSet {
    lists: &'static [&'static [&'static str]],
    set: OnceLock<Words>,
}

/// The words of a [`WordSet`], behind a [`WordEnds`] filter: most words
/// looked up are not in the set (a name is no "support" or "team").
struct Words {
    words: HashSet<&'static [u8]>,
    ends: WordEnds,
}

impl Words {
    fn contains(&self, w: &[u8]) -> bool {
        self.ends.may_hold(w) && self.words.contains(w)
    }
}

impl WordSet {
    const fn new(lists: &'static [&'static [&'static str]]) -> Self {
        WordSet {
            lists,
            set: OnceLock::new(),
        }
    }

    fn set(&self) -> &Words {
        self.set.get_or_init(|| {
            let words = self
                .lists
                .iter()
                .flat_map(|l| l.iter().map(|w| w.as_bytes()));
            let mut set = HashSet::default();
            // Sized once: growing it step by step costs more than the lookups it serves.
            set.reserve(self.lists.iter().map(|l| l.len()).sum());
            set.extend(words);
            // 4096 bits: the lists hold a few hundred words at most.
            let ends = WordEnds::new(12, set.iter().copied());
            Words { words: set, ends }
        })
    }

    /// Whether `a` is in the set as written.
    fn contains(&self, a: &str) -> bool {
        self.set().contains(a.as_bytes())
    }

    /// Whether `a`, lower-cased (`str::to_lowercase`), is in the set; short
    /// ASCII words are lower-cased on the stack (for ASCII that is what
    /// `to_lowercase` does), and only once their ends may be in the set.
    fn contains_lowercased(&self, a: &str) -> bool {
        let mut buf = [0u8; 64];
        let set = self.set();
        if a.is_ascii() && a.len() <= buf.len() {
            if let [first, .., last] | [first @ last] = a.as_bytes() {
                let (first, last) = (first.to_ascii_lowercase(), last.to_ascii_lowercase());
                if !set.ends.may_hold_ends(a.len(), first, last) {
                    return false;
                }
            }
            let lower = &mut buf[..a.len()];
            lower.copy_from_slice(a.as_bytes());
            lower.make_ascii_lowercase();
            return set.words.contains(&*lower);
        }
        set.contains(a.to_lowercase().as_bytes())
    }
}

/// Splits `s` at every `sep` byte like `str::split(char)` does at an ASCII
/// char, without the searcher set-up that costs more than the scan on the
/// few-byte words of the name validators.
fn split_byte(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.bytes().position(|b| b == sep) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The part of `s` before its first `sep` byte (all of `s` if there is none).
fn before_byte(s: &str, sep: u8) -> &str {
    s.bytes().position(|b| b == sep).map_or(s, |i| &s[..i])
}

// ---------------------------------------------------------------------------
// National identity numbers
// ---------------------------------------------------------------------------

/// Swedish personnummer / samordningsnummer.
///
/// Accepts `YYMMDD-NNNN`, `YYMMDD+NNNN` (`+`: 100 years or older),
/// `YYMMDDNNNN`, `YYYYMMDD-NNNN` and `YYYYMMDDNNNN`. The separator, if any,
/// must sit right before the last four digits. Checks Luhn over the 10-digit
/// form and that the birth date exists; a day of 61–91 is a
/// samordningsnummer (co-ordination number, day + 60). For 10-digit forms the
/// century is the most recent one that does not put the birth year after
/// [`REFERENCE_YEAR`], minus 100 years with `+`.
pub fn se_personnummer(candidate: &[u8], _: &Gazetteer) -> bool {
    let b = candidate;
    let (digits, sep) = match b.len() {
        10 | 12 => (b, None),
        11 | 13 => {
            let (head, tail) = b.split_at(b.len() - 5);
            let mut d = [0u8; 12];
            d[..head.len()].copy_from_slice(head);
            d[head.len()..b.len() - 1].copy_from_slice(&tail[1..]);
            return se_digits(&d[..b.len() - 1], Some(tail[0]));
        }
        _ => return false,
    };
    se_digits(digits, sep)
}

/// Core of [`se_personnummer`] on the ASCII digits without separator.
fn se_digits(ascii: &[u8], sep: Option<u8>) -> bool {
    if !ascii.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let plus = match sep {
        None | Some(b'-') => false,
        Some(b'+') => true,
        Some(_) => return false,
    };
    let mut d = [0u8; 12];
    for (o, i) in d.iter_mut().zip(ascii) {
        *o = i - b'0';
    }
    let d = &d[..ascii.len()];
    let (year, rest) = if d.len() == 12 {
        let century = two(&d[0..2]);
        if !(18..=20).contains(&century) {
            return false;
        }
        let year = century * 100 + two(&d[2..4]);
        if year > REFERENCE_YEAR {
            return false;
        }
        (year, &d[2..])
    } else {
        let yy = two(&d[0..2]);
        let mut year = if 2000 + yy <= REFERENCE_YEAR {
            2000 + yy
        } else {
            1900 + yy
        };
        if plus {
            year -= 100;
        }
        (year, d)
    };
    let month = two(&rest[2..4]);
    let mut day = two(&rest[4..6]);
    if day > 60 {
        day -= 60; // samordningsnummer
    }
    valid_date(year, month, day) && luhn_ok(rest)
}

/// Danish CPR number: `DDMMYY-SSSS` or `DDMMYYSSSS`.
///
/// Checks that the birth date exists, with the century taken from the 7th
/// digit as the CPR office defines it (0–3: 1900s; 4 and 9: 2000s if YY ≤ 36,
/// else 1900s; 5–8: 2000s if YY ≤ 57, else 1800s). The modulus-11 check is
/// not applied: numbers issued since 2007 need not satisfy it.
pub fn dk_cpr(candidate: &[u8], _: &Gazetteer) -> bool {
    let b = candidate;
    let mut d = [0u8; 10];
    match b.len() {
        10 => {}
        11 if b[6] == b'-' => {}
        _ => return false,
    }
    if collect_digits(candidate, b"-", &mut d) != Some(10) {
        return false;
    }
    let (day, month, yy) = (two(&d[0..2]), two(&d[2..4]), two(&d[4..6]));
    let year = match d[6] {
        0..=3 => 1900 + yy,
        4 | 9 => {
            if yy <= 36 {
                2000 + yy
            } else {
                1900 + yy
            }
        }
        _ => {
            if yy <= 57 {
                2000 + yy
            } else {
                1800 + yy
            }
        }
    };
    valid_date(year, month, day)
}

/// Norwegian fødselsnummer (also D-number and H-number): `DDMMYYIIIKK`.
///
/// Both modulus-11 check digits must hold (a computed check digit of 10 means
/// the number cannot exist). D-numbers add 40 to the day, H-numbers add 40 to
/// the month. The century comes from the individual number `III`; the birth
/// date must exist. An optional single space or dash after the date is
/// tolerated (`DDMMYY IIIKK`).
pub fn no_fodselsnummer(candidate: &[u8], _: &Gazetteer) -> bool {
    let b = candidate;
    match b.len() {
        11 => {}
        12 if b[6] == b' ' || b[6] == b'-' => {}
        _ => return false,
    }
    let mut d = [0u8; 11];
    if collect_digits(candidate, b" -", &mut d) != Some(11) {
        return false;
    }
    const W1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
    const W2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    let check = |w: &[u32], digits: &[u8]| -> Option<u8> {
        let sum: u32 = w.iter().zip(digits).map(|(w, &d)| w * u32::from(d)).sum();
        match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            k => u8::try_from(k).ok(),
        }
    };
    if check(&W1, &d[..9]) != Some(d[9]) || check(&W2, &d[..10]) != Some(d[10]) {
        return false;
    }
    let mut day = two(&d[0..2]);
    let mut month = two(&d[2..4]);
    if day > 40 {
        day -= 40; // D-number
    }
    if month > 40 {
        month -= 40; // H-number
    }
    let yy = two(&d[4..6]);
    let individual = u32::from(d[6]) * 100 + two(&d[7..9]);
    let year = match individual {
        0..=499 => 1900 + yy,
        500..=749 if yy >= 54 => 1800 + yy,
        500..=999 if yy <= 39 => 2000 + yy,
        900..=999 if yy >= 40 => 1900 + yy,
        _ => return false,
    };
    valid_date(year, month, day)
}

/// Finnish henkilötunnus: `DDMMYYCZZZQ`.
///
/// Century sign `+` (1800s), `-` `Y` `X` `W` `V` `U` (1900s), `A`–`F` (2000s),
/// as of the 2023 reform. The individual number `ZZZ` must be 002–899, the
/// date must exist, and the check character is
/// `"0123456789ABCDEFHJKLMNPRSTUVWXY"[DDMMYYZZZ mod 31]`. Upper case only.
pub fn fi_henkilotunnus(candidate: &[u8], _: &Gazetteer) -> bool {
    const CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    let b = candidate;
    if b.len() != 11 || !b[..6].iter().chain(&b[7..10]).all(u8::is_ascii_digit) {
        return false;
    }
    let century = match b[6] {
        b'+' => 1800,
        b'-' | b'Y' | b'X' | b'W' | b'V' | b'U' => 1900,
        b'A'..=b'F' => 2000,
        _ => return false,
    };
    let mut d = [0u8; 9];
    for (o, &i) in d.iter_mut().zip(b[..6].iter().chain(&b[7..10])) {
        *o = i - b'0';
    }
    let individual = u32::from(d[6]) * 100 + two(&d[7..9]);
    if !(2..=899).contains(&individual) {
        return false;
    }
    if !valid_date(century + two(&d[4..6]), two(&d[2..4]), two(&d[0..2])) {
        return false;
    }
    let n = d.iter().fold(0u32, |acc, &v| acc * 10 + u32::from(v));
    CHECK[(n % 31) as usize] == b[10]
}

// ---------------------------------------------------------------------------
// Payment
// ---------------------------------------------------------------------------

/// Payment card number (PAN).
///
/// Spaces and dashes are ignored; 13–19 digits must remain, the number must
/// pass Luhn, must not be one digit repeated (`0000 0000 0000 0000` passes
/// Luhn but is no card), and must start with a real issuer prefix at a length
/// that issuer uses: Visa/Visa Electron 4 (13, 16, 19), Mastercard 51–55 and
/// 2221–2720 (16), Amex 34/37 (15), Discover 6011/644–649/65 (16–19), JCB
/// 3528–3589 (16–19), Diners 300–305/36/38/39 (14–19), Maestro 50/56–69
/// (13–19), UnionPay 62 (16–19), Dankort 5019 (16).
pub fn payment_card(candidate: &[u8], _: &Gazetteer) -> bool {
    let b = candidate;
    let edge_ok = |x: Option<&u8>| x.is_some_and(u8::is_ascii_digit);
    if !edge_ok(b.first()) || !edge_ok(b.last()) {
        return false;
    }
    let mut d = [0u8; 19];
    let n = match collect_digits(candidate, b" -", &mut d) {
        Some(n) if (13..=19).contains(&n) => n,
        _ => return false,
    };
    let d = &d[..n];
    if d.iter().all(|&x| x == d[0]) || !luhn_ok(d) {
        return false;
    }
    let p = |k: usize| d[..k].iter().fold(0u32, |a, &v| a * 10 + u32::from(v));
    let len = |lo: usize, hi: usize| (lo..=hi).contains(&n);
    let visa = d[0] == 4 && matches!(n, 13 | 16 | 19);
    let mastercard = ((51..=55).contains(&p(2)) || (2221..=2720).contains(&p(4))) && n == 16;
    let amex = matches!(p(2), 34 | 37) && n == 15;
    let discover = (p(4) == 6011 || (644..=649).contains(&p(3)) || p(2) == 65) && len(16, 19);
    let jcb = (3528..=3589).contains(&p(4)) && len(16, 19);
    let diners = ((300..=305).contains(&p(3)) || matches!(p(2), 36 | 38 | 39)) && len(14, 19);
    let maestro = (p(2) == 50 || (56..=69).contains(&p(2))) && len(13, 19);
    let unionpay = p(2) == 62 && len(16, 19);
    let dankort = p(4) == 5019 && n == 16;
    visa || mastercard || amex || discover || jcb || diners || maestro || unionpay || dankort
}

/// IBAN lengths per country (ISO 13616 registry).
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24), (b"AE", 23), (b"AL", 28), (b"AT", 20), (b"AZ", 28), (b"BA", 20),
    (b"BE", 16), (b"BG", 22), (b"BH", 22), (b"BR", 29), (b"BY", 28), (b"CH", 21),
    (b"CR", 22), (b"CY", 28), (b"CZ", 24), (b"DE", 22), (b"DK", 18), (b"DO", 28),
    (b"EE", 20), (b"EG", 29), (b"ES", 24), (b"FI", 18), (b"FO", 18), (b"FR", 27),
    (b"GB", 22), (b"GE", 22), (b"GI", 23), (b"GL", 18), (b"GR", 27), (b"GT", 28),
    (b"HR", 21), (b"HU", 28), (b"IE", 22), (b"IL", 23), (b"IQ", 23), (b"IS", 26),
    (b"IT", 27), (b"JO", 30), (b"KW", 30), (b"KZ", 20), (b"LB", 28), (b"LC", 32),
    (b"LI", 21), (b"LT", 20), (b"LU", 20), (b"LV", 21), (b"MC", 27), (b"MD", 24),
    (b"ME", 22), (b"MK", 19), (b"MR", 27), (b"MT", 31), (b"MU", 30), (b"NL", 18),
    (b"NO", 15), (b"PK", 24), (b"PL", 28), (b"PS", 29), (b"PT", 25), (b"QA", 29),
    (b"RO", 24), (b"RS", 22), (b"SA", 24), (b"SC", 31), (b"SE", 24), (b"SI", 19),
    (b"SK", 24), (b"SM", 27), (b"ST", 25), (b"SV", 28), (b"TL", 23), (b"TN", 24),
    (b"TR", 26), (b"UA", 29), (b"VA", 22), (b"VG", 24), (b"XK", 20),
];

/// IBAN: spaces ignored; known country with its exact length; check digits
/// `00`, `01` and `99` never occur; upper-case letters and digits only;
/// ISO 7064 mod-97 must equal 1 (computed as a streaming remainder, no bigints).
pub fn iban(candidate: &[u8], _: &Gazetteer) -> bool {
    let mut buf = [0u8; 34];
    let mut n = 0;
    for &b in candidate {
        if b == b' ' {
            continue;
        }
        if !(b.is_ascii_digit() || b.is_ascii_uppercase()) {
            return false;
        }
        match buf.get_mut(n) {
            Some(slot) => *slot = b,
            None => return false,
        }
        n += 1;
    }
    let s = &buf[..n];
    if n < 15 || !s[0].is_ascii_uppercase() || !s[1].is_ascii_uppercase() {
        return false;
    }
    if !s[2].is_ascii_digit() || !s[3].is_ascii_digit() || matches!(&s[2..4], b"00" | b"01" | b"99")
    {
        return false;
    }
    let Some(&(_, want)) = IBAN_LENGTHS.iter().find(|(cc, _)| cc[..] == s[..2]) else {
        return false;
    };
    if n != want {
        return false;
    }
    let mut r = 0u32;
    for &c in s[4..].iter().chain(&s[..4]) {
        r = if c.is_ascii_digit() {
            (r * 10 + u32::from(c - b'0')) % 97
        } else {
            (r * 100 + u32::from(c - b'A' + 10)) % 97
        };
    }
    r == 1
}

// ---------------------------------------------------------------------------
// Contact data
// ---------------------------------------------------------------------------

/// "TLDs" that are really file extensions (`logo@2x.png` is an image name).
#[rustfmt::skip]
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "tif", "tiff", "heic", "css", "js", "json",
    "html", "htm", "txt", "pdf", "docx", "xlsx", "pptx", "csv", "log", "xml", "yaml", "yml", "toml", "lock",
];

/// [`FILE_EXTENSIONS`] as a set.
static FILE_EXTENSION_SET: WordSet = WordSet::new(&[FILE_EXTENSIONS]);

/// E-mail address.
///
/// Local part: 1–64 bytes of letters (any script), digits and the RFC 5322
/// atom specials, no leading, trailing or doubled dot. Domain: at least two
/// dot-separated labels of 1–63 letters/digits/hyphens (any script, no
/// leading or trailing hyphen), at most 253 bytes; the TLD is ≥ 2 letters (or
/// a punycode `xn--` label) and not a file extension. Rejects `user@localhost`,
/// `a@b.c`, `foo@1.2.3`, `logo@2x.png`.
pub fn email(candidate: &str, _: &Gazetteer) -> bool {
    let Some(at) = candidate.bytes().position(|b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&candidate[..at], &candidate[at + 1..]);
    if local.is_empty()
        || local.len() > 64
        || domain.len() > 253
        || domain.bytes().any(|b| b == b'@')
    {
        return false;
    }
    let lb = local.as_bytes();
    if lb[0] == b'.' || lb[lb.len() - 1] == b'.' || lb.windows(2).any(|w| w == b"..") {
        return false;
    }
    if !local.chars().all(is_local_char) {
        return false;
    }
    let mut labels = 0;
    let mut last = "";
    for label in split_byte(domain, b'.') {
        let len = label.len();
        if len == 0 || len > 63 || label.starts_with('-') || label.ends_with('-') {
            return false;
        }
        if !label.chars().all(|c| c == '-' || c.is_alphanumeric()) {
            return false;
        }
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return false;
    }
    let tld_ok = if last.len() > 4
        && last
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
    {
        true
    } else {
        last.chars().count() >= 2 && last.chars().all(char::is_alphabetic)
    };
    tld_ok && !FILE_EXTENSION_SET.contains_lowercased(last)
}

/// A character allowed in an e-mail local part: a letter or digit (any
/// script) or an RFC 5322 atom special.
fn is_local_char(c: char) -> bool {
    matches!(
        c,
        '!' | '#'
            | '$'
            | '%'
            | '&'
            | '\''
            | '*'
            | '+'
            | '/'
            | '='
            | '?'
            | '^'
            | '_'
            | '`'
            | '{'
            | '|'
            | '}'
            | '~'
            | '-'
            | '.'
    ) || c.is_alphanumeric()
}

/// Digit groups of a phone-like candidate, filled by [`parse_phone`].
struct PhoneParts {
    /// Digit values in order (the `00` or `+` prefix is *not* removed).
    digits: [u8; 20],
    n: usize,
    /// Lengths of the digit groups as written (separated by space `-` `.` or parentheses).
    groups: [u8; 12],
    ng: usize,
    plus: bool,
    /// A `(0)` trunk-prefix marker was present (and skipped).
    paren_zero: bool,
    parens: bool,
}

/// Tokenises a phone-like candidate. `None` on any character outside
/// digits, `+ ( ) - . space`, on a `+` that is not first, on unbalanced or
/// nested parentheses, or on too many digits/groups.
fn parse_phone(b: &[u8]) -> Option<PhoneParts> {
    let mut p = PhoneParts {
        digits: [0; 20],
        n: 0,
        groups: [0; 12],
        ng: 0,
        plus: false,
        paren_zero: false,
        parens: false,
    };
    let mut cur = 0u8;
    let mut open = false;
    let mut i = 0;
    let end_group = |p: &mut PhoneParts, cur: &mut u8| -> Option<()> {
        if *cur > 0 {
            *p.groups.get_mut(p.ng)? = *cur;
            p.ng += 1;
            *cur = 0;
        }
        Some(())
    };
    while i < b.len() {
        match b[i] {
            b'0'..=b'9' => {
                *p.digits.get_mut(p.n)? = b[i] - b'0';
                p.n += 1;
                cur += 1;
            }
            b'+' if i == 0 => p.plus = true,
            b'(' if b[i..].starts_with(b"(0)") && p.n > 0 && !p.paren_zero => {
                end_group(&mut p, &mut cur)?;
                p.paren_zero = true;
                i += 3;
                continue;
            }
            b'(' if !open && !p.parens => {
                end_group(&mut p, &mut cur)?;
                open = true;
                p.parens = true;
            }
            b')' if open && cur >= 2 => {
                end_group(&mut p, &mut cur)?;
                open = false;
            }
            b' ' | b'-' | b'.' => end_group(&mut p, &mut cur)?,
            _ => return None,
        }
        i += 1;
    }
    end_group(&mut p, &mut cur)?;
    if open {
        return None;
    }
    Some(p)
}

/// Whether the digit groups read as a calendar date (`YYYY-MM-DD`,
/// `DD.MM.YYYY`, `D/M/YYYY`-like groupings, or an unseparated `YYYYMMDD` /
/// `DDMMYYYY`). Years 1900–2099 only.
fn looks_like_date(p: &PhoneParts) -> bool {
    let d = &p.digits[..p.n];
    let num = |s: &[u8]| s.iter().fold(0u32, |a, &v| a * 10 + u32::from(v));
    let ymd = |y: u32, m: u32, dd: u32| (1900..=2099).contains(&y) && valid_date(y, m, dd);
    let g = &p.groups[..p.ng];
    match g {
        [4, 2, 2] => ymd(num(&d[0..4]), num(&d[4..6]), num(&d[6..8])),
        [a @ 1..=2, b @ 1..=2, 4] => {
            let (a, b) = (usize::from(*a), usize::from(*b));
            let day = num(&d[..a]);
            let month = num(&d[a..a + b]);
            let year = num(&d[a + b..]);
            ymd(year, month, day) || ymd(year, day, month)
        }
        [8] => {
            ymd(num(&d[0..4]), num(&d[4..6]), num(&d[6..8]))
                || ymd(num(&d[4..8]), num(&d[2..4]), num(&d[0..2]))
        }
        _ => false,
    }
}

/// Whether `d` starts with a plausible ITU country calling code; returns its length.
fn country_code_len(d: &[u8]) -> Option<usize> {
    let v = |k: usize| {
        d.get(..k)
            .map(|s| s.iter().fold(0u32, |a, &x| a * 10 + u32::from(x)))
    };
    if matches!(d.first(), Some(1 | 7)) {
        return Some(1);
    }
    const TWO: &[u32] = &[
        20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55,
        56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
    ];
    if TWO.contains(&v(2)?) {
        return Some(2);
    }
    let three = v(3)?;
    let ok = matches!(three,
        211..=218 | 220..=269 | 290..=299 | 350..=359 | 370..=389 | 420..=423 | 500..=509 | 590..=599
        | 670..=692 | 850..=856 | 880 | 886 | 960..=968 | 970..=979 | 992..=998);
    ok.then_some(3)
}

/// Phone number.
///
/// Only digits and `+ ( ) - . space` are allowed. Anything that reads as a
/// date is rejected. Then:
/// - international (`+` or `00` prefix): 8–15 digits with a plausible
///   country code; Nordic codes must have their national length (after
///   dropping a `(0)` or a leading trunk `0`): DK +45 and NO +47 8 digits,
///   SE +46 7–10, FI +358 5–12, IS +354 7; NANP +1 10;
/// - national with trunk `0` (SE/FI): 8–11 digits in all (shorter runs are
///   too often the tail of an order or invoice number). Grouped numbers need
///   a first group (area code with trunk 0) of 2–4 digits, which rejects
///   `0.12345678` and `010100-4123`; ungrouped runs are accepted only for
///   mobile numbers (SE `07…` with 10 digits, FI `04…`/`050…` with 9–10);
/// - DK/NO national: exactly 8 digits (no trunk 0) *and* grouped like a phone
///   number (`22 34 56 78`, `412 34 567`; `1234-5678` is more often a
///   Swedish bankgiro or an article number than a phone number). A bare
///   8-digit run is rejected: too many order numbers look like that; rule
///   files catch those with context words instead.
pub fn phone(candidate: &[u8], _: &Gazetteer) -> bool {
    let Some(s) = trim_bytes(candidate) else {
        return false;
    };
    if s.len() > 40 {
        return false;
    }
    let Some(p) = parse_phone(s) else {
        return false;
    };
    if p.n == 0 || looks_like_date(&p) {
        return false;
    }
    let d = &p.digits[..p.n];
    let international = if p.plus {
        Some(d)
    } else if d.starts_with(&[0, 0]) {
        Some(&d[2..])
    } else {
        None
    };
    if let Some(d) = international {
        if !(8..=15).contains(&d.len()) {
            return false;
        }
        let Some(cc) = country_code_len(d) else {
            return false;
        };
        let mut national = &d[cc..];
        if national.first() == Some(&0) && !p.paren_zero {
            national = &national[1..];
        }
        let n = national.len();
        return match &d[..cc] {
            [4, 5] | [4, 7] => n == 8,
            [4, 6] => (7..=10).contains(&n),
            [3, 5, 8] => (5..=12).contains(&n),
            [3, 5, 4] => n == 7,
            [1] => n == 10,
            _ => n >= 6,
        };
    }
    if p.paren_zero {
        return false;
    }
    let groups = &p.groups[..p.ng];
    if d[0] == 0 {
        if !(8..=11).contains(&p.n) {
            return false;
        }
        if p.ng == 1 {
            // Ungrouped: only mobile numbers are written like that.
            return (d[1] == 7 && p.n == 10)
                || ((d[1] == 4 || d.starts_with(&[0, 5, 0])) && (9..=10).contains(&p.n));
        }
        // Grouped: the first group is the area code with its trunk 0.
        return groups.first().is_some_and(|&g| (2..=4).contains(&g));
    }
    matches!(groups, [2, 2, 2, 2] | [3, 2, 3])
}

/// `s.trim()`. A pattern's match rarely begins or ends with white space;
/// when both end bytes are ASCII and not white space there is nothing to
/// trim, and the Unicode-aware scan of both ends is skipped.
fn trim(s: &str) -> &str {
    if ends_kept(s.as_bytes()) {
        s
    } else {
        s.trim()
    }
}

/// [`trim`] on bytes, for a validator that reads them as ASCII: `None` if
/// an end needs the Unicode-aware trim and the bytes are not UTF-8 (what
/// `str::from_utf8` before [`trim`] turned away).
fn trim_bytes(b: &[u8]) -> Option<&[u8]> {
    if ends_kept(b) {
        return Some(b);
    }
    std::str::from_utf8(b).ok().map(|s| s.trim().as_bytes())
}

/// Whether `b` has an end byte and neither end is white space or
/// non-ASCII: then [`trim`] keeps it whole.
fn ends_kept(b: &[u8]) -> bool {
    // ASCII white space as `char::is_whitespace` has it: \t \n \v \f \r and space.
    let kept = |b: &u8| b.is_ascii() && !matches!(b, b'\t'..=b'\r' | b' ');
    match b {
        [first, .., last] => kept(first) && kept(last),
        [only] => kept(only),
        [] => false,
    }
}

/// IPv4 address: four octets 0–255 without leading zeros. Rejects
/// `0.0.0.0/8`, loopback `127.0.0.0/8` and the broadcast address: they are
/// never a person's address.
pub fn ipv4(candidate: &str, _: &Gazetteer) -> bool {
    let mut octets = [0u32; 4];
    let mut n = 0;
    for part in candidate.split('.') {
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        if part.len() > 1 && part.starts_with('0') {
            return false;
        }
        let v = part.bytes().fold(0u32, |a, b| a * 10 + u32::from(b - b'0'));
        if v > 255 {
            return false;
        }
        match octets.get_mut(n) {
            Some(o) => *o = v,
            None => return false,
        }
        n += 1;
    }
    n == 4 && octets[0] != 0 && octets[0] != 127 && octets != [255, 255, 255, 255]
}

/// IPv6 address as `std::net::Ipv6Addr` parses it, with at least two colons;
/// the unspecified address `::` and loopback `::1` are rejected.
pub fn ipv6(candidate: &str, _: &Gazetteer) -> bool {
    if candidate.len() > 45 || candidate.bytes().filter(|&b| b == b':').count() < 2 {
        return false;
    }
    match candidate.parse::<std::net::Ipv6Addr>() {
        Ok(a) => !a.is_unspecified() && !a.is_loopback(),
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------

/// Base64url alphabet (without padding).
const fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// [`is_b64url`] per byte: one look-up per byte of a token, where the
/// three tests cost several times that.
static B64URL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = is_b64url(b as u8);
        b += 1;
    }
    t
};

/// JSON Web Token: three base64url segments separated by dots (the
/// signature may be empty for unsecured tokens); the header must decode to
/// JSON text starting with `{` and containing `"alg"`. Only the first 680
/// header characters are decoded (into a stack buffer).
pub fn jwt(candidate: &str, _: &Gazetteer) -> bool {
    use base64::Engine as _;
    let mut parts = split_byte(candidate, b'.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if header.len() < 8 || payload.is_empty() {
        return false;
    }
    if ![header, payload, sig]
        .iter()
        .all(|s| s.bytes().all(|b| B64URL[usize::from(b)]))
    {
        return false;
    }
    let take = header.len().min(680);
    // A prefix must be a whole number of base64 quanta unless it is the whole header.
    let take = if take < header.len() {
        take - take % 4
    } else {
        take
    };
    let mut buf = [0u8; 512];
    let Ok(n) = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode_slice(&header.as_bytes()[..take], &mut buf)
    else {
        return false;
    };
    let json = &buf[..n];
    let start = json.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| json[i] == b'{') && json.windows(5).any(|w| w == b"\"alg\"")
}

/// Shannon entropy in bits per character of an ASCII string.
fn entropy(s: &[u8]) -> f64 {
    let mut counts = [0u32; 128];
    for &b in s {
        counts[usize::from(b & 0x7f)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether `entropy(s) >= 3.0`, mostly without floating point: the f64
/// sum with a `log2` per distinct character is the costliest step of
/// [`api_token`]. Two integer bounds settle almost every token:
/// - entropy ≥ collision entropy −log₂ Σp², so `8·Σc² < n²` (c: counts, n:
///   length) proves it above 3 by at least log₂(1 + 1/(8·Σc²)) > 1e-8;
/// - entropy ≤ log₂(distinct), so ≤ 7 distinct characters keep it below
///   log₂ 7 ≈ 2.81.
///
/// Both margins dwarf the f64 rounding error (~1e-14), so the decision is
/// the one [`entropy`] gives; the rest (8 or more distinct characters, some
/// frequent) is left to [`entropy`] itself.
///
/// `counts` are the byte counts of `s` (indexed by `b & 0x7f`), which
/// [`api_token`] has from its class pass.
fn entropy_at_least_3(s: &[u8], counts: &[u32; 128]) -> bool {
    let (mut squares, mut distinct) = (0u64, 0u32);
    for &c in counts {
        squares += u64::from(c) * u64::from(c);
        distinct += u32::from(c > 0);
    }
    let n = s.len() as u64;
    if 8 * squares < n * n {
        return true;
    }
    if distinct <= 7 {
        return false;
    }
    entropy(s) >= 3.0
}

/// The symbols an [`api_token`] may hold besides ASCII letters and digits.
const TOKEN_SYMBOLS: &[u8] = b"-_.+/=~";

/// Bytes an [`api_token`] may hold: ASCII letters, digits, [`TOKEN_SYMBOLS`].
static TOKEN_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < TOKEN_SYMBOLS.len() {
        t[TOKEN_SYMBOLS[i] as usize] = true;
        i += 1;
    }
    t
};

/// What one pass over a token learns (see [`token_pass`]).
struct TokenCounts {
    /// Byte counts, indexed by `b & 0x7f` (which is `b` for the bytes allowed).
    counts: [u32; 128],
    /// Lower-case letters, upper-case letters, digits and symbols.
    classes: [usize; 4],
    /// Letters inside word-like runs: `[A-Za-z][a-z]{4,}`, each run taken
    /// as far as it goes.
    wordy: usize,
}

/// The counts of token `s`; `None` at a byte outside the token alphabet.
/// One pass counts every byte (the entropy test needs the counts too) and
/// measures the word-like runs as it goes: a token is long, and a second
/// pass over it for the runs cost as much as the first. The classes are
/// sums over the counts.
fn token_pass(s: &[u8]) -> Option<TokenCounts> {
    let mut counts = [0u32; 128];
    // `run`: letters in the word-like run that ends here (0: none).
    let (mut wordy, mut run) = (0, 0);
    for &b in s {
        if !TOKEN_BYTE[usize::from(b)] {
            return None;
        }
        counts[usize::from(b & 0x7f)] += 1;
        if run > 0 && b.is_ascii_lowercase() {
            run += 1;
        } else {
            if run >= 5 {
                wordy += run;
            }
            run = usize::from(b.is_ascii_alphabetic());
        }
    }
    if run >= 5 {
        wordy += run;
    }
    let span = |lo: u8, hi: u8| -> usize {
        counts[usize::from(lo)..=usize::from(hi)]
            .iter()
            .map(|&c| c as usize)
            .sum()
    };
    let symbols = TOKEN_SYMBOLS
        .iter()
        .map(|&b| counts[usize::from(b)] as usize)
        .sum();
    let classes = [
        span(b'a', b'z'),
        span(b'A', b'Z'),
        span(b'0', b'9'),
        symbols,
    ];
    Some(TokenCounts {
        counts,
        classes,
        wordy,
    })
}

/// API key / bearer token / client secret.
///
/// Characters: ASCII letters, digits and `- _ . + / = ~`; length 20–2048
/// (bearer JWTs can be long).
/// It is a token when
/// - it has ≥ 3 of the 4 classes (lower, upper, digit, symbol), or it is ≥ 32
///   hex digits mixing letters and digits; and
/// - its Shannon entropy is ≥ 3.0 bits/char; and
/// - it is not made of words: if it has no digit it needs ≥ 2 "irregular"
///   case changes (`aBC` or `AbC`, which camel-cased words rarely produce),
///   and in any case less than half its letters may sit in word-like runs
///   (a capital or lower-case letter followed by ≥ 4 lower-case letters).
///
/// Rejects `this_is_not_a_secret_value`, `ThisIsNotASecretValue`.
pub fn api_token(candidate: &[u8], _: &Gazetteer) -> bool {
    let s = candidate;
    if !(20..=2048).contains(&s.len()) {
        return false;
    }
    let Some(TokenCounts {
        counts,
        classes: [lower, upper, digit, symbol],
        wordy,
    }) = token_pass(s)
    else {
        return false;
    };
    let classes = [lower, upper, digit, symbol]
        .iter()
        .filter(|&&c| c > 0)
        .count();
    let hex = s.len() >= 32 && s.iter().all(u8::is_ascii_hexdigit) && digit > 0 && digit < s.len();
    if classes < 3 && !hex {
        return false;
    }
    if !entropy_at_least_3(s, &counts) {
        return false;
    }
    if digit == 0 {
        let irregular = s
            .windows(3)
            .filter(|w| {
                let (a, b, c) = (w[0], w[1], w[2]);
                (a.is_ascii_lowercase() && b.is_ascii_uppercase() && c.is_ascii_uppercase())
                    || (a.is_ascii_uppercase() && b.is_ascii_lowercase() && c.is_ascii_uppercase())
            })
            .count();
        if irregular < 2 {
            return false;
        }
    }
    let letters = lower + upper;
    letters == 0 || wordy * 2 < letters
}

/// Values that stand in for a password rather than being one.
#[rustfmt::skip]
const SECRET_PLACEHOLDERS: &[&str] = &[
    "hidden", "dold", "skjult", "piilotettu", "redacted", "removed", "censored", "masked", "none", "null",
    "nil", "empty", "tom", "tomt", "n/a", "undefined", "placeholder", "your_password", "yourpassword",
    "<password>", "password_here", "changeit_here",
];

/// Words that follow "password" in prose ("my password expired") and are
/// therefore not the password itself. Lower case.
#[rustfmt::skip]
const SECRET_STOPWORDS: &[&str] = &[
    // English
    "is", "was", "has", "have", "had", "does", "doesn't", "didn't", "not", "isn't", "wasn't", "reset",
    "changed", "change", "expired", "expires", "expiring", "works", "working", "wrong", "incorrect", "invalid",
    "field", "policy", "manager", "requirements", "again", "please", "that", "this", "with", "from", "when",
    "will", "must", "should", "cannot", "can't", "won't", "length", "forgotten", "forgot", "same", "there",
    "here", "still", "also", "just", "below", "above", "attached", "sent", "link", "hint",
    "correct", "right", "fine", "okay", "weak", "strong", "required", "needed", "saved", "stored", "missing",
    "unknown", "temporary", "enclosed", "separately", "very", "their", "your", "yours", "mine", "blank", "locked",
    "blocked", "disabled", "rejected", "accepted", "updated", "different", "long", "short", "simple", "secure",
    // Swedish
    "är", "var", "har", "inte", "fungerar", "funkar", "ändrat", "ändrats", "ändras", "bytt", "byttes",
    "nollställt", "återställt", "återställd", "utgånget", "gått", "löpt", "fel", "felaktigt", "glömt", "igen",
    "samma", "måste", "skickat", "länk", "länken", "också", "fortfarande", "från", "för", "till", "eller",
    "och",
    "korrekt", "rätt", "riktigt", "svagt", "starkt", "krävs", "behövs", "sparat", "saknas", "okänt", "nytt",
    "gammalt", "tillfälligt", "skickas", "separat", "bifogat", "mycket", "deras", "ditt", "mitt", "låst", "spärrat",
    "uppdaterat",
    // Danish / Norwegian
    "er", "ikke", "virker", "fungerer", "udløbet", "utløpt", "utgått", "nulstillet", "tilbakestilt", "ændret",
    "endret", "forkert", "feil", "glemt", "igjen", "samme", "skal", "være", "blevet", "blitt", "stadig",
    "fortsatt",
    "riktig", "rigtig", "gemt", "lagret", "mangler", "ukendt", "ukjent", "nyt", "gamle", "midlertidig", "meget",
    "veldig", "sendt", "sperret", "spærret", "opdateret", "oppdatert",
    // Finnish
    "on", "ei", "oli", "toimi", "toimii", "vanhentunut", "vanheni", "vaihdettu", "vaihdettava", "väärä",
    "unohtunut", "unohtui", "uudelleen", "sama", "pitää", "täytyy", "edelleen", "myös",
    "oikein", "oikea", "tallennettu", "puuttuu", "tuntematon", "uusi", "vanha", "väliaikainen", "todella", "liian",
    "lähetetty", "lukittu", "päivitetty", "sinun", "minun",
];

/// The value after a password keyword (`password: hunter2!`).
///
/// 4–128 characters; not a placeholder (`********`, `xxxx`, `<redacted>`,
/// `[REDACTED…`, `${PASSWORD}`, `{{password}}`, "hidden", "dold", "skjult",
/// "piilotettu", …), not made only of mask characters, and not one of a small
/// list of prose words in the five languages ("is", "är", "reset", "expired",
/// "fungerar", …). Trailing sentence punctuation is ignored for the word checks.
pub fn secret_value(candidate: &str, _: &Gazetteer) -> bool {
    let s = trim(candidate);
    let count = s.chars().count();
    if !(4..=128).contains(&count) {
        return false;
    }
    let mask = |c| {
        matches!(
            c,
            '*' | '•' | '●' | 'x' | 'X' | '#' | '.' | '-' | '_' | '?' | '·'
        )
    };
    if s.chars().all(mask) {
        return false;
    }
    if s.starts_with("${") || s.starts_with("{{") || s.starts_with("%(") || s.starts_with('<') {
        return false;
    }
    if s.starts_with('[') || s.starts_with('(') {
        let inner = s.trim_start_matches(['[', '(']);
        if inner
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("redact"))
            || inner
                .get(..6)
                .is_some_and(|p| p.eq_ignore_ascii_case("hidden"))
        {
            return false;
        }
    }
    let word = s.trim_end_matches(['.', ',', '!', '?', ';', ':', ')']);
    if word.is_empty() || word.chars().all(|c| !c.is_alphanumeric()) {
        return false;
    }
    !SECRET_NON_VALUES.contains_lowercased(word)
}

/// [`SECRET_PLACEHOLDERS`] and [`SECRET_STOPWORDS`]: one lookup per candidate.
static SECRET_NON_VALUES: WordSet = WordSet::new(&[SECRET_PLACEHOLDERS, SECRET_STOPWORDS]);

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// A capitalised word: an upper-case letter then ≥ 1 lower-case letters (any
/// script; an apostrophe is allowed inside, as in "O'Neill"). Inlined into
/// the name loops: on a short word the call costs as much as the check.
#[inline]
fn is_cap_word(w: &str) -> bool {
    cap_word_ascii(w.as_bytes()).unwrap_or_else(|| is_cap_word_unicode(w))
}

/// [`is_cap_word`] byte by byte while the bytes are ASCII, where
/// `char::is_uppercase`/`is_lowercase` are the ASCII tests and `’` cannot
/// occur. `None` at the first non-ASCII byte: the Unicode path then starts
/// over (up to there both paths take the same steps, so a `Some(false)` from
/// an ASCII prefix is the Unicode path's answer too).
#[inline]
fn cap_word_ascii(w: &[u8]) -> Option<bool> {
    let [first, rest @ ..] = w else {
        return Some(false);
    };
    if !first.is_ascii() {
        return None;
    }
    if !first.is_ascii_uppercase() {
        return Some(false);
    }
    let mut prev_apostrophe = false;
    for &c in rest {
        if !c.is_ascii() {
            return None;
        }
        if c == b'\'' {
            if prev_apostrophe {
                return Some(false);
            }
            prev_apostrophe = true;
        } else if c.is_ascii_lowercase() || (prev_apostrophe && c.is_ascii_uppercase()) {
            prev_apostrophe = false;
        } else {
            return Some(false);
        }
    }
    Some(!rest.is_empty() && !prev_apostrophe)
}

/// [`is_cap_word`] for any text.
fn is_cap_word_unicode(w: &str) -> bool {
    let mut chars = w.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !first.is_uppercase() {
        return false;
    }
    let mut rest = 0;
    let mut prev_apostrophe = false;
    for c in chars {
        if c == '\'' || c == '’' {
            if prev_apostrophe {
                return false;
            }
            prev_apostrophe = true;
        } else if c.is_lowercase() || (prev_apostrophe && c.is_uppercase()) {
            prev_apostrophe = false;
        } else {
            return false;
        }
        rest += 1;
    }
    rest >= 1 && !prev_apostrophe
}

/// A middle initial: one upper-case letter, optionally followed by a dot.
/// That is five bytes at most: longer words (most name words) are turned
/// away without decoding a character.
fn is_initial(w: &str) -> bool {
    if w.len() > 5 {
        return false;
    }
    let mut chars = w.chars();
    matches!((chars.next(), chars.next(), chars.next()), (Some(c), None | Some('.'), None) if c.is_uppercase())
}

/// What [`name_shape`] found: counts, and the first and last words (which
/// the callers look up).
struct NameShape<'a> {
    words: usize,
    parts: usize,
    first: &'a str,
    last: &'a str,
}

/// Checks the shape of a name candidate: space-separated words, each made of
/// hyphen-joined capitalised parts (a one-letter initial is allowed as a
/// whole middle word). `None` if the shape is wrong.
fn name_shape(s: &str, max_parts: usize) -> Option<NameShape<'_>> {
    let mut shape = NameShape {
        words: 0,
        parts: 0,
        first: "",
        last: "",
    };
    let mut last_is_initial = false;
    for word in split_byte(s, b' ') {
        if word.is_empty() {
            return None;
        }
        last_is_initial = is_initial(word);
        if last_is_initial && shape.words == 0 {
            return None;
        }
        if shape.words == 0 {
            shape.first = word;
        }
        shape.words += 1;
        shape.last = word;
        if last_is_initial {
            shape.parts += 1;
            continue;
        }
        for part in split_byte(word, b'-') {
            if !is_cap_word(part) {
                return None;
            }
            shape.parts += 1;
        }
    }
    // An initial never ends a name.
    let ok = !last_is_initial && shape.parts >= 1 && shape.parts <= max_parts;
    ok.then_some(shape)
}

/// Given-name test for a (possibly hyphenated) first word: the whole word or
/// its first part is a given name that is not also an ordinary word.
fn given_ok(word: &str, g: &Gazetteer) -> bool {
    let whole = g.is_given_name(word) && !g.is_not_name(word);
    let first = before_byte(word, b'-');
    // `first` is a prefix of `word`: they differ exactly when the lengths do.
    whole || (first.len() < word.len() && g.is_given_name(first) && !g.is_not_name(first))
}

/// Surname test for a (possibly double-barrelled) word: the whole word or any part.
fn surname_ok(word: &str, g: &Gazetteer) -> bool {
    g.is_surname(word)
        || (word.bytes().any(|b| b == b'-') && split_byte(word, b'-').any(|p| g.is_surname(p)))
}

/// A person's name found through the gazetteer (no cue around it).
///
/// The candidate must be 1–4 capitalised words (space- or hyphen-separated,
/// "Anna-Karin Öberg" counts three; middle initials like "A." allowed). True
/// if the first word is a given name that is not an ordinary word (not-name
/// list), or there are ≥ 2 words and the last is a surname, or it is a single
/// word that is a surname (gazetteer or morphology) and not an ordinary word.
/// "Will Smith" is a name (surname), "Will" alone is not, "Hans" alone is not.
pub fn person_name(candidate: &str, g: &Gazetteer) -> bool {
    let s = trim(candidate);
    let Some(shape) = name_shape(s, 4) else {
        return false;
    };
    if given_ok(shape.first, g) {
        return true;
    }
    if shape.parts >= 2 {
        return surname_ok(shape.last, g);
    }
    g.is_surname(s) && !g.is_not_name(s)
}

/// Capitalised words that follow a greeting, sign-off or introduction but are
/// not a name ("Hi all", "Hej igen", "Regards,\nSupport Team"). Lower case.
#[rustfmt::skip]
pub const CUE_NON_NAMES: &[&str] = &[
    "all", "alla", "allihopa", "allihop", "kaikki", "alle", "allesammen", "team", "teamet", "tiimi", "support",
    "supporten", "tuki", "there", "everyone", "everybody", "again", "igen", "igjen", "taas", "tack", "kiitos",
    "tak", "takk", "thanks", "thank", "hi", "hello", "hej", "hei", "dear", "sir", "madam", "colleagues",
    "kollegor", "kolleger", "kollegaer", "folks", "guys", "friends", "team's", "customer", "kund", "kunde",
    "asiakas", "kundtjänst", "kundservice", "kundeservice", "kundesenter", "asiakaspalvelu", "helpdesk",
    "servicedesk", "service", "the", "our", "your", "good", "god", "godmorgon", "hyvää", "morning",
    "afternoon", "evening", "sales", "admin", "it", "hr", "ekonomi", "economy", "billing", "accounts", "och",
    "and", "og", "ja", "you", "du", "ni", "dere", "i", "jag", "jeg", "minä", "me", "vi", "we",
    // sign-off lines that are not names ("Sent from my iPhone", "Mvh")
    "sent", "skickat", "skickad", "sendt", "lähetetty", "mvh", "hälsningar", "regards", "cheers", "terveisin",
    "hilsen", "företaget", "firma", "firmaet", "company", "yritys", "department", "avdelning", "avdelningen",
    "afdeling", "afdelingen", "avdelingen", "osasto",
    // products and fixed phrases that follow greetings ("Hello World", "Hi Windows")
    "world", "windows", "microsoft", "office", "outlook", "teams", "google", "apple", "iphone", "android",
    "valued", "hiring", "bästa", "kære", "kjære",
];

/// Last words that make a cued candidate an organisation, not a person
/// ("Regards,\nAcme Oy", "Hi Acme Support"). Lower case.
#[rustfmt::skip]
const ORGANISATION_WORDS: &[&str] = &[
    "ab", "oy", "oyj", "as", "asa", "aps", "ltd", "inc", "gmbh", "llc", "plc", "corp", "corporation", "group",
    "gruppen", "team", "teamet", "tiimi", "support", "supporten", "service", "desk", "helpdesk", "kundtjänst",
    "kundservice", "kundeservice", "asiakaspalvelu", "department", "avdelning", "avdelningen", "afdeling",
    "afdelingen", "avdelingen", "osasto", "kommun", "kommune", "kaupunki", "region", "regionen", "university",
    "universitet", "yliopisto", "skola", "skole", "koulu", "school", "customer", "customers", "user", "users",
    "colleague", "colleagues", "partner", "partners", "member", "members", "manager", "kund", "kunder", "kunde",
    "asiakas", "användare", "bruger", "bruker", "käyttäjä",
];

/// [`CUE_NON_NAMES`] as a set: consulted on every cue.
static CUE_NON_NAME_SET: WordSet = WordSet::new(&[CUE_NON_NAMES]);

/// [`ORGANISATION_WORDS`] as a set: consulted on every cue.
static ORGANISATION_SET: WordSet = WordSet::new(&[ORGANISATION_WORDS]);

/// Whether a word is in a set of lower-case words: as written if it has no
/// ASCII capital, else lower-cased.
fn in_set(a: &str, set: &WordSet) -> bool {
    if a.bytes().all(|b| !b.is_ascii_uppercase()) {
        return set.contains(a);
    }
    set.contains_lowercased(a)
}

/// A person's name right after a strong cue (greeting, signature, "my name is").
///
/// True for 1–3 capitalised words (hyphenated parts allowed: "Anna-Karin"),
/// unless the first word is in [`CUE_NON_NAMES`] ("Hi all", "Hej Support",
/// "Hello World", "Sent from my iPhone"), the last word names an
/// organisation ("Acme Oy", "Acme Support"), or the candidate is a single
/// word on the not-name list ("Hi Will" is ambiguous enough to leave alone;
/// "Hi Will Smith" is redacted).
pub fn person_name_cued(candidate: &str, g: &Gazetteer) -> bool {
    let s = trim(candidate);
    let Some(NameShape {
        words,
        parts,
        first,
        last,
    }) = name_shape(s, 6)
    else {
        return false;
    };
    if words > 3 || parts == 0 {
        return false;
    }
    let first_part = before_byte(first, b'-');
    if in_set(first, &CUE_NON_NAME_SET)
        || (first_part.len() < first.len() && in_set(first_part, &CUE_NON_NAME_SET))
    {
        return false;
    }
    // The last hyphen-joined part of the last word.
    let last_part = last
        .bytes()
        .rposition(|b| b == b'-')
        .map_or(last, |i| &last[i + 1..]);
    if words > 1 && in_set(last_part, &ORGANISATION_SET) {
        return false;
    }
    !(words == 1 && g.is_not_name(first))
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

/// Capitalised words that follow a number but are no city: months and
/// weekdays in the five languages and words that follow years and amounts.
/// Lower case.
#[rustfmt::skip]
const NON_CITY_WORDS: &[&str] = &[
    // months
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "januari", "februari", "mars", "maj", "juni", "juli", "augusti", "oktober",
    "januar", "februar", "marts", "mai", "august", "desember", "tammikuu", "helmikuu", "maaliskuu", "huhtikuu",
    "toukokuu", "kesäkuu", "heinäkuu", "elokuu", "syyskuu", "lokakuu", "marraskuu", "joulukuu", "tammikuuta",
    "helmikuuta", "maaliskuuta", "huhtikuuta", "toukokuuta", "kesäkuuta", "heinäkuuta", "elokuuta",
    "syyskuuta", "lokakuuta", "marraskuuta", "joulukuuta",
    // weekdays
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "måndag", "tisdag", "onsdag",
    "torsdag", "fredag", "lördag", "söndag", "mandag", "tirsdag", "lørdag", "søndag", "maanantai", "tiistai",
    "keskiviikko", "torstai", "perjantai", "lauantai", "sunnuntai",
    // units, money, document words
    "kr", "sek", "dkk", "nok", "eur", "euro", "euros", "usd", "kronor", "kroner", "euroa", "st", "pcs",
    "items", "total", "summa", "sum", "moms", "vat", "alv", "invoice", "faktura", "lasku", "order", "ordre",
    "tilaus", "version", "build", "release", "update", "windows", "edition", "the", "and", "our", "we", "i",
    "it", "this", "that", "vi", "jag", "jeg", "det", "den", "och", "og", "ja", "me", "se", "users", "user",
    "kunder", "customers", "asiakkaat", "licenses", "licenser", "lisenser", "lisenssit", "seats",
    "gb", "mb", "tb", "kb", "ms", "tickets", "ärenden", "cases", "requests", "orders", "ordrar", "units", "pieces",
    "emails", "messages", "downloads", "views", "visitors", "points", "poäng", "steps", "rows", "records", "files",
    "bytes", "errors", "fel", "asiakasta", "kpl", "stk", "timer", "timmar", "tuntia", "hours", "minutes", "minuter",
    "days", "dagar", "dage", "dager", "päivää",
];

/// [`NON_CITY_WORDS`] as a set.
static NON_CITY_SET: WordSet = WordSet::new(&[NON_CITY_WORDS]);

/// Nordic postcode followed by a city: SE `NNN NN`/`NNNNN`, FI `NNNNN`,
/// DK/NO `NNNN`, optionally with a country prefix (`SE-`, `S-`, `DK-`, `FI-`,
/// `FIN-`, `N-`, `NO-`) whose format must then fit. Swedish postcodes never
/// start with 0 (so `NNN NN` must not). The city is a capitalised word
/// (further words after it are allowed) that is not a month, weekday or one
/// of a few common non-city words.
pub fn postcode_city(candidate: &str, _: &Gazetteer) -> bool {
    let s = trim(candidate);
    let (country, rest) = match s.split_once('-') {
        Some((p, r)) if p.len() <= 3 && p.bytes().all(|b| b.is_ascii_uppercase()) => match p {
            "SE" | "S" => (Some("SE"), r),
            "DK" => (Some("DK"), r),
            "FI" | "FIN" => (Some("FI"), r),
            "N" | "NO" => (Some("NO"), r),
            _ => return false,
        },
        _ => (None, s),
    };
    let rb = rest.as_bytes();
    let digits_at = |i: usize, n: usize| {
        rb.get(i..i + n)
            .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    // Length of the postcode in bytes and its format.
    let (code_len, format) = if digits_at(0, 3)
        && rb.get(3) == Some(&b' ')
        && digits_at(4, 2)
        && !rb.get(6).is_some_and(u8::is_ascii_digit)
    {
        (6, "SE")
    } else if digits_at(0, 5) && !rb.get(5).is_some_and(u8::is_ascii_digit) {
        (5, "5")
    } else if digits_at(0, 4) && !rb.get(4).is_some_and(u8::is_ascii_digit) {
        (4, "4")
    } else {
        return false;
    };
    let fits = matches!(
        (country, format),
        (None, _) | (Some("SE"), "SE" | "5") | (Some("FI"), "5") | (Some("DK" | "NO"), "4")
    );
    if !fits {
        return false;
    }
    let se_shape = format == "SE" || (format == "5" && country == Some("SE"));
    if se_shape && rb[0] == b'0' {
        return false;
    }
    let after = &rest[code_len..];
    let city = after.trim_start_matches([' ', '\t']);
    if city.len() == after.len() {
        return false; // no space between postcode and city
    }
    let city_word = city.split([' ', ',', '\n', '\r']).next().unwrap_or("");
    let first_part = city_word.split('-').next().unwrap_or(city_word);
    is_cap_word(first_part) && !NON_CITY_SET.contains_lowercased(first_part)
}

/// Suffixes that make a capitalised word a street name (SE, DK, NO, FI, IS).
#[rustfmt::skip]
const STREET_SUFFIXES: &[&str] = &[
    "gatan", "vägen", "gränd", "torget", "stigen", "backen", "allén", "leden", "plan", "vej",
    "gade", "allé", "stræde", "plads", "torv", "vejen", "gaden", "stien", "veien", "vegen", "vei",
    "gata", "gaten", "plass", "katu", "tie", "kuja", "polku", "väylä", "raitti", "tori", "vegur",
    "stræti", "braut",
];

/// Stand-alone street words (lower case) that follow a capitalised word:
/// "Karl Johans gate 1", "Gamla vägen 5", "Baker Street 221".
#[rustfmt::skip]
const STREET_WORDS: &[&str] = &[
    "gate", "gata", "gaten", "gatan", "vägen", "väg", "vei", "veien", "vej", "gade", "allé",
    "torg", "torget", "street", "road", "avenue", "lane", "katu", "tie",
];

/// English street words that may close a "221 Baker Street"-style address.
const STREET_WORDS_EN: &[&str] = &["street", "road", "avenue", "lane"];

/// [`STREET_WORDS`] as a set.
static STREET_WORD_SET: WordSet = WordSet::new(&[STREET_WORDS]);

/// [`STREET_WORDS_EN`] as a set.
static STREET_WORD_EN_SET: WordSet = WordSet::new(&[STREET_WORDS_EN]);

/// A house number: 1–9999, no leading zero, optionally followed by one
/// letter ("12B", "12 B" is handled by the caller's word split).
fn house_number(w: &str) -> bool {
    let b = w.trim_end_matches([',', '.']).as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=4).contains(&digits) || b[0] == b'0' {
        return false;
    }
    match &b[digits..] {
        [] => true,
        [l] => l.is_ascii_alphabetic(),
        _ => false,
    }
}

/// Whether a word ends with a street suffix and is longer than it.
fn has_street_suffix(w: &str) -> bool {
    let w = w.trim_end_matches(',');
    STREET_SUFFIXES.iter().any(|suf| {
        w.len() > suf.len() + 2 && {
            let cut = w.len() - suf.len();
            w.is_char_boundary(cut) && eq_fold(&w[cut..], suf)
        }
    })
}

/// Street address: a street name and a house number.
///
/// Nordic order: 1–3 words whose first is capitalised and whose last is a
/// capitalised word with a street suffix (-gatan, -vägen, -vej, -gade,
/// -veien, -gata, -katu, -tie, …) or a stand-alone street word after a
/// capitalised word ("Karl Johans gate", "Baker Street"), then a house number
/// 1–9999 with an optional letter; anything after it (staircase, flat,
/// "2. tv") is accepted. English order: a house number then ≥ 1 capitalised
/// words ending in Street/Road/Avenue/Lane ("221B Baker Street"); here the
/// street word must end the candidate.
pub fn street_address(candidate: &str, _: &Gazetteer) -> bool {
    let s = trim(candidate);
    if s.len() > 200 {
        return false;
    }
    let mut words = s.split([' ', '\t']).filter(|w| !w.is_empty());
    let Some(first) = words.next() else {
        return false;
    };
    if first.as_bytes()[0].is_ascii_digit() {
        // English order: number, capitalised words, street word.
        if !house_number(first) {
            return false;
        }
        // Then 2–3 capitalised words, the last of which is the street word.
        let mut n = 0;
        let mut last = "";
        for w in words {
            let w = w.trim_end_matches([',', '.']);
            n += 1;
            if n > 3 || !is_cap_word(w) {
                return false;
            }
            last = w;
        }
        return n >= 2 && STREET_WORD_EN_SET.contains_lowercased(last);
    }
    if !is_cap_word(first.trim_end_matches(',')) && !first.split('-').all(is_cap_word) {
        return false;
    }
    let mut prev_street = has_street_suffix(first);
    let mut count = 1;
    for w in words {
        if prev_street {
            return house_number(w);
        }
        count += 1;
        if count > 3 {
            return false;
        }
        let bare = w.trim_end_matches(',');
        prev_street = (has_street_suffix(bare)
            && (is_cap_word(bare) || bare.split('-').all(is_cap_word)))
            || STREET_WORD_SET.contains_lowercased(bare);
        if !prev_street && !is_cap_word(bare) {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::core::test_rng::xorshift;

    // ---- fixtures and check-digit helpers (computed, not remembered) ----

    fn gaz() -> Gazetteer {
        Gazetteer::from_lists(
            &[
                "Anna",
                "Anna-Karin",
                "Karin",
                "Erik",
                "Lars",
                "Mette",
                "Søren",
                "Åsa",
                "Mikko",
                "Sigríður",
                "John",
                "Mary",
                "Will",
                "May",
                "Hans",
                "Per",
                "Summer",
                "Sven",
            ],
            &[
                "Andersson",
                "Johansson",
                "Nielsen",
                "Smith",
                "Korhonen",
                "Lind",
                "Olsson",
                "Öberg",
            ],
            &[
                "Will", "May", "Mark", "Hans", "Per", "Summer", "Rose", "Prisen", "Toinen",
                "Mannen",
            ],
            &[
                "sson", "sen", "nen", "berg", "lund", "strom", "ström", "qvist", "gaard", "dóttir",
            ],
        )
    }

    fn accepts<S: AsRef<str>>(name: &str, cases: &[S]) {
        let f = lookup(name).expect("validator exists");
        let g = gaz();
        for c in cases {
            assert!(
                f(c.as_ref().as_bytes(), &g),
                "{name} should accept {:?}",
                c.as_ref()
            );
        }
    }

    fn rejects<S: AsRef<str>>(name: &str, cases: &[S]) {
        let f = lookup(name).expect("validator exists");
        let g = gaz();
        for c in cases {
            assert!(
                !f(c.as_ref().as_bytes(), &g),
                "{name} should reject {:?}",
                c.as_ref()
            );
        }
    }

    fn digit_values(s: &str) -> Vec<u8> {
        s.bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect()
    }

    /// Appends the digit that makes the Luhn check hold (found by trying all ten).
    fn luhn_complete(prefix: &str) -> String {
        for c in 0..10u8 {
            let mut d = digit_values(prefix);
            d.push(c);
            // Independent Luhn: double every second digit from the right.
            let sum: u32 = d
                .iter()
                .rev()
                .enumerate()
                .map(|(i, &v)| {
                    let v = u32::from(v) * if i % 2 == 1 { 2 } else { 1 };
                    v / 10 + v % 10
                })
                .sum();
            if sum % 10 == 0 {
                return format!("{prefix}{c}");
            }
        }
        unreachable!()
    }

    /// Swedish number: `date` (6 or 8 digits), separator ("" "-" "+"), 3 serial digits.
    fn se(date: &str, sep: &str, serial: &str) -> String {
        let short = &date[date.len() - 6..];
        let full = luhn_complete(&format!("{short}{serial}"));
        format!("{date}{sep}{}", &full[6..])
    }

    /// Norwegian number: finds both check digits by brute force against the
    /// weighted-sum definition (sum ≡ 0 mod 11 with the check digit weighted 1).
    fn no(date: &str, individual: &str) -> Option<String> {
        let base = digit_values(&format!("{date}{individual}"));
        let w1 = [3u32, 7, 6, 1, 8, 9, 4, 5, 2, 1];
        let w2 = [5u32, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1];
        for k1 in 0..10u8 {
            for k2 in 0..10u8 {
                let mut d = base.clone();
                d.push(k1);
                d.push(k2);
                let s1: u32 = w1.iter().zip(&d).map(|(w, &v)| w * u32::from(v)).sum();
                let s2: u32 = w2.iter().zip(&d).map(|(w, &v)| w * u32::from(v)).sum();
                if s1 % 11 == 0 && s2 % 11 == 0 {
                    return Some(format!("{date}{individual}{k1}{k2}"));
                }
            }
        }
        None
    }

    /// First valid Norwegian number for `date` with an individual number in `range`.
    fn no_in(date: &str, range: std::ops::RangeInclusive<u32>) -> String {
        range
            .into_iter()
            .find_map(|i| no(date, &format!("{i:03}")))
            .expect("some individual number works")
    }

    fn fi(date: &str, sign: char, individual: &str) -> String {
        let n: u64 = format!("{date}{individual}").parse().unwrap();
        let check = "0123456789ABCDEFHJKLMNPRSTUVWXY".as_bytes()[(n % 31) as usize] as char;
        format!("{date}{sign}{individual}{check}")
    }

    /// IBAN with computed check digits (98 − mod97(BBAN + CC + "00")).
    fn iban_make(cc: &str, bban: &str) -> String {
        let rearranged = format!("{bban}{cc}00");
        let mut r = 0u64;
        for c in rearranged.chars() {
            let v = c.to_digit(36).unwrap() as u64;
            r = if v < 10 {
                (r * 10 + v) % 97
            } else {
                (r * 100 + v) % 97
            };
        }
        format!("{cc}{:02}{bban}", 98 - r)
    }

    /// Card number: prefix, padded with 0–9 cycling, completed with a Luhn digit.
    fn card(prefix: &str, len: usize) -> String {
        let mut s = prefix.to_string();
        let mut i = 3u8;
        while s.len() < len - 1 {
            s.push((b'0' + i % 10) as char);
            i += 7;
        }
        luhn_complete(&s)
    }

    /// Changes the last digit of a number (breaks any check digit).
    fn bump_last(s: &str) -> String {
        let mut v: Vec<char> = s.chars().collect();
        let i = v.iter().rposition(char::is_ascii_digit).unwrap();
        v[i] = char::from(b'0' + ((v[i] as u8 - b'0' + 1) % 10));
        v.into_iter().collect()
    }

    /// Inputs that look like numbers but are not personal data.
    const HARD_NEGATIVES: &[&str] = &[
        "2024-0012345",
        "2024-05-01",
        "01.05.2024",
        "20240501",
        "2024-05-01T12:30:00Z",
        "1.2.3.4",
        "v10.0.19045",
        "978-91-29-65700-9",
        "1 234,50",
        "",
        " ",
        "ÅÄÖ åäö",
    ];

    // ---- table ----

    /// Random strings of phone bytes and a few others, with every digit
    /// count from none to a dozen.
    fn phone_like(state: &mut u64) -> String {
        const BYTES: &[u8] = b"0123456789012345678900000 .-()+ /Tx";
        let len = (*state % 24) as usize;
        (0..len)
            .map(|_| {
                xorshift(state);
                char::from(BYTES[(*state >> 8) as usize % BYTES.len()])
            })
            .collect()
    }

    #[test]
    fn validators_accept_no_value_with_fewer_digits_than_they_promise() {
        let g = gaz();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut accepted = 0;
        for name in names() {
            let (min, f) = (min_value_digits(name), lookup(name).expect("exists"));
            for _ in 0..if min > 0 { 200_000 } else { 0 } {
                xorshift(&mut state);
                let s = phone_like(&mut state);
                if f(s.as_bytes(), &g) {
                    accepted += 1;
                    let digits = s.bytes().filter(u8::is_ascii_digit).count();
                    assert!(digits >= min, "{name} accepts {s:?} with {digits} digits");
                }
            }
        }
        // The inputs reach the validator's accepting paths.
        assert!(accepted > 100, "{accepted}");
        assert_eq!(min_value_digits("phone"), 8);
        assert_eq!(min_value_digits("email"), 0);
    }

    #[test]
    fn lookup_and_names_agree() {
        assert_eq!(names().len(), VALIDATORS.len());
        for (n, (m, _)) in names().iter().zip(VALIDATORS) {
            assert_eq!(n, m);
            assert!(lookup(n).is_some());
        }
        assert!(lookup("nope").is_none());
        assert!(lookup("").is_none());
    }

    #[test]
    fn calendar() {
        assert!(valid_date(2000, 2, 29));
        assert!(!valid_date(1900, 2, 29));
        assert!(valid_date(2024, 2, 29));
        assert!(!valid_date(2023, 2, 29));
        assert!(!valid_date(2024, 2, 30));
        assert!(!valid_date(2024, 4, 31));
        assert!(valid_date(2024, 12, 31));
        assert!(!valid_date(2024, 13, 1));
        assert!(!valid_date(2024, 0, 1));
        assert!(!valid_date(2024, 1, 0));
    }

    // ---- Sweden ----

    #[test]
    fn se_known_vectors() {
        // Skatteverket test number; the computed check digit agrees.
        assert_eq!(se("811218", "-", "987"), "811218-9876");
        accepts(
            "se_personnummer",
            &[
                "19811218-9876",
                "811218-9876",
                "8112189876",
                "198112189876",
                "811218+9876",
            ],
        );
        rejects(
            "se_personnummer",
            &["811218-9877", "19811218-9877", "8112189877", "198112189875"],
        );
    }

    #[test]
    fn se_valid_forms() {
        accepts(
            "se_personnummer",
            &[
                se("900101", "-", "123"),
                se("900101", "", "123"),
                se("19900101", "", "123"),
                se("19900101", "-", "123"),
                se("850709", "+", "123"), // born 1885
                se("811278", "-", "123"), // samordningsnummer (18 + 60)
                se("19811278", "-", "123"),
                se("000229", "-", "123"),  // 2000-02-29
                se("20000229", "", "123"), // leap year
                se("960229", "-", "123"),  // 1996-02-29
                se("270101", "-", "123"),  // 2027 is in the future → 1927
                se("260101", "-", "123"),  // 2026
                se("18991231", "-", "123"),
            ],
        );
    }

    #[test]
    fn se_invalid() {
        let mut bad = vec![
            bump_last(&se("900101", "-", "123")),
            se("901301", "-", "123"),   // month 13
            se("900132", "-", "123"),   // day 32
            se("900230", "-", "123"),   // Feb 30
            se("970229", "-", "123"),   // 1997 not leap
            se("000229", "+", "123"),   // 1900-02-29 does not exist
            se("19000229", "-", "123"), // 1900 not leap
            se("900100", "-", "123"),   // day 0
            se("900192", "-", "123"),   // samordning day 32
            se("20270101", "-", "123"), // in the future
            se("17900101", "-", "123"), // century 17
            se("900101", " ", "123"),   // space is no separator
            se("900101", "/", "123"),
            "900101-12".to_string(),
            "900101--1234".to_string(),
            "9001011234567".to_string(),
            "abcdefghij".to_string(),
            "１２３４５６７８９０".to_string(),
        ];
        bad.extend(HARD_NEGATIVES.iter().map(|s| s.to_string()));
        rejects("se_personnummer", &bad);
    }

    // ---- Denmark ----

    #[test]
    fn dk_valid() {
        accepts(
            "dk_cpr",
            &[
                "070761-4285",
                "0707614285",
                "010100-4000", // 7th digit 4, YY ≤ 36 → 2000
                "290200-4123", // 2000-02-29
                "290200-5123", // 2000-02-29
                "290296-1234", // 1996-02-29
                "010158-5000", // 5–8 with YY > 57 → 1858
                "311299-9999", // 9 with YY > 36 → 1999
                "310136-9999", // 9 with YY ≤ 36 → 2036... a valid date either way
                "150557-6123", // 2057
            ],
        );
    }

    #[test]
    fn dk_invalid() {
        rejects(
            "dk_cpr",
            &[
                "320161-1234", // day 32
                "011361-1234", // month 13
                "310461-1234", // April 31
                "000161-1234", // day 0
                "290200-1234", // 1900 not leap
                "290201-4123", // 2001 not leap
                "290237-4123", // 1937 not leap
                "070761 4285",
                "07076-14285",
                "070761-428",
                "070761-42855",
                "0707-614285",
            ],
        );
        rejects("dk_cpr", HARD_NEGATIVES);
    }

    // ---- Norway ----

    #[test]
    fn no_valid() {
        accepts(
            "no_fodselsnummer",
            &[
                no_in("010190", 0..=499),
                no_in("311299", 0..=499),
                no_in("290256", 500..=749), // 1856 leap
                no_in("290200", 500..=999), // 2000 leap
                no_in("150505", 500..=999), // 2005
                no_in("010145", 900..=999), // 1945 via 900–999
                no_in("410190", 0..=499),   // D-number
                no_in("014190", 0..=499),   // H-number
                no_in("715290", 0..=499),   // D-number 31, H-number December
            ],
        );
        let n = no_in("010190", 0..=499);
        accepts("no_fodselsnummer", &[format!("{} {}", &n[..6], &n[6..])]);
    }

    #[test]
    fn no_invalid() {
        let good = no_in("010190", 0..=499);
        let mut tenth = good.clone().into_bytes();
        tenth[9] = b'0' + (tenth[9] - b'0' + 1) % 10;
        let mut bad = vec![
            bump_last(&good),
            String::from_utf8(tenth).unwrap(),
            no_in("290255", 0..=499),   // 1955 not leap
            no_in("290200", 0..=499),   // 1900 not leap
            no_in("320190", 0..=499),   // day 32
            no_in("011390", 0..=499),   // month 13
            no_in("720190", 0..=499),   // D-number day 32
            no_in("010145", 750..=899), // no century for 750–899 with YY ≥ 40
            no_in("010150", 500..=749), // 500–749 only for YY ≥ 54 or ≤ 39
            format!("{}-{}", &good[..5], &good[5..]),
            good[..10].to_string(),
            format!("{good}0"),
        ];
        bad.extend(HARD_NEGATIVES.iter().map(|s| s.to_string()));
        rejects("no_fodselsnummer", &bad);
    }

    #[test]
    fn no_check_digit_ten_is_invalid() {
        // Find nine digits whose first check digit would be 10: no completion may validate.
        let w1 = [3u32, 7, 6, 1, 8, 9, 4, 5, 2];
        let base = (0..=499)
            .map(|i| format!("010190{i:03}"))
            .find(|b| {
                let d = digit_values(b);
                let s: u32 = w1.iter().zip(&d).map(|(w, &v)| w * u32::from(v)).sum();
                11 - s % 11 == 10
            })
            .expect("exists");
        let all: Vec<String> = (0..100).map(|k| format!("{base}{k:02}")).collect();
        rejects("no_fodselsnummer", &all);
    }

    // ---- Finland ----

    #[test]
    fn fi_valid() {
        assert_eq!(fi("131052", '-', "308"), "131052-308T");
        accepts(
            "fi_henkilotunnus",
            &[
                "131052-308T".to_string(),
                fi("010101", 'A', "123"),
                fi("010185", '+', "123"),
                fi("290200", 'A', "002"),
                fi("290204", 'Y', "899"),
                fi("311299", 'X', "456"),
                fi("010190", 'W', "250"),
                fi("010190", 'V', "250"),
                fi("010190", 'U', "250"),
                fi("010110", 'B', "250"),
                fi("010110", 'F', "250"),
            ],
        );
    }

    #[test]
    fn fi_invalid() {
        let mut bad = vec![
            "131052-308U".to_string(),
            "131052-308t".to_string(),
            fi("290200", '-', "123"), // 1900 not leap
            fi("310452", '-', "123"), // April 31
            fi("011352", '-', "123"), // month 13
            fi("000152", '-', "123"), // day 0
            fi("131052", '-', "001"), // individual 001
            fi("131052", '-', "900"), // individual 900
            fi("131052", 'G', "308"), // no such century sign
            fi("131052", 'a', "308"),
            "131052-3080".to_string(),
            "131052308T".to_string(),
            "131052--308T".to_string(),
            "13105Ä-308T".to_string(),
        ];
        bad.extend(HARD_NEGATIVES.iter().map(|s| s.to_string()));
        rejects("fi_henkilotunnus", &bad);
    }

    // ---- payment cards ----

    #[test]
    fn card_valid() {
        accepts(
            "payment_card",
            &[
                "4111 1111 1111 1111".to_string(),
                "4111-1111-1111-1111".to_string(),
                "4111111111111111".to_string(),
                "4012888888881881".to_string(),
                "4222222222222".to_string(),
                "5555 5555 5555 4444".to_string(),
                "2223003122003222".to_string(),
                "3782 822463 10005".to_string(),
                "6011111111111117".to_string(),
                "3530111333300000".to_string(),
                "30569309025904".to_string(),
                "6200000000000005".to_string(),
                card("4", 19),
                card("2720", 16),
                card("5019", 16),
                card("644", 16),
                card("65", 19),
                card("3589", 19),
                card("36", 14),
                card("5018", 13),
                card("6759", 19),
                card("34", 15),
            ],
        );
    }

    #[test]
    fn card_invalid() {
        let mut bad = vec![
            "4111 1111 1111 1112".to_string(),
            "5555 5555 5555 4445".to_string(),
            "0000 0000 0000 0000".to_string(),
            "0000000000000".to_string(),
            card("1", 16), // no issuer
            card("9", 16), // no issuer
            card("4", 15), // Visa has no 15-digit numbers
            card("4", 14),
            card("34", 16),   // Amex is 15 digits
            card("2721", 16), // beyond the Mastercard 2-series
            card("2220", 16),
            card("51", 19), // Mastercard is 16 digits
            card("4", 12),  // too short
            card("4", 20),  // too long
            " 4111111111111111".to_string(),
            "4111111111111111-".to_string(),
            "4111.1111.1111.1111".to_string(),
            "4111 1111 1111 111１".to_string(),
            "9789129657009".to_string(), // ISBN-13 digits
        ];
        bad.extend(HARD_NEGATIVES.iter().map(|s| s.to_string()));
        rejects("payment_card", &bad);
    }

    // ---- IBAN ----

    #[test]
    fn iban_valid() {
        accepts(
            "iban",
            &[
                "GB82 WEST 1234 5698 7654 32".to_string(),
                "GB82WEST12345698765432".to_string(),
                "SE45 5000 0000 0583 9825 7466".to_string(),
                "DE89 3704 0044 0532 0130 00".to_string(),
                "NO93 8601 1117 947".to_string(),
                "DK50 0040 0440 1162 43".to_string(),
                "FI21 1234 5600 0007 85".to_string(),
                iban_make("FO", "64600001631634"),
                iban_make("IS", "0159260076545510730339"),
                iban_make("TR", "0006100519786457841326"),
                iban_make("AE", "0331234567890123456"),
                iban_make("SA", "80000000608010167519"),
                iban_make("MT", "MALT011000012345MTLCAST001S"),
            ],
        );
    }

    #[test]
    fn iban_invalid() {
        let mut bad = vec![
            "GB83 WEST 1234 5698 7654 32".to_string(),  // check digits
            "GB82 WEST 1234 5698 7654 33".to_string(),  // body
            "gb82 west 1234 5698 7654 32".to_string(),  // lower case
            "SE45 5000 0000 0583 9825 746".to_string(), // length
            "SE45 5000 0000 0583 9825 74666".to_string(), // length
            "XX82 WEST 1234 5698 7654 32".to_string(),  // unknown country
            "US64 SVBK US6S 3300 9673 86".to_string(),  // no IBAN country
            "NO93-8601-1117-947".to_string(),           // dashes
            "NO93 8601 1117 94Å".to_string(),
            iban_make("SE", "50000000058398257466").replace("SE", "se"),
            "SE00 5000 0000 0583 9825 7466".to_string(),
            "1234 5678 9012 3456".to_string(),
        ];
        bad.extend(HARD_NEGATIVES.iter().map(|s| s.to_string()));
        rejects("iban", &bad);
    }

    // ---- e-mail ----

    #[test]
    fn email_cases() {
        accepts(
            "email",
            &[
                "anna.andersson@example.se",
                "åsa.öberg@företag.se",
                "j.smith+tickets@mail.example.co.uk",
                "mikko_korhonen@yritys.fi",
                "søren@firma.dk",
                "user@example.xn--p1ai",
                "o'neill@example.ie",
                "a@bc.io",
            ],
        );
        let long_local = format!("{}@example.se", "a".repeat(65));
        rejects(
            "email",
            &[
                "user@localhost",
                "a@b.c",
                "foo@1.2.3",
                "foo@example.123",
                ".anna@example.se",
                "anna.@example.se",
                "an..na@example.se",
                "anna@-example.se",
                "anna@example-.se",
                "anna@example..se",
                "anna@.example.se",
                "logo@2x.png",
                "icon@3x.PNG",
                "anna@@example.se",
                "anna@exa@mple.se",
                "@example.se",
                "anna@",
                "anna",
                "anna smith@example.se",
                "anna@exam ple.se",
                long_local.as_str(),
                "",
                "@",
            ],
        );
    }

    // ---- phone ----

    #[test]
    fn phone_valid() {
        accepts(
            "phone",
            &[
                "+46 70 123 45 67",
                "+46 (0)70-123 45 67",
                "+46 070-123 45 67",
                "0046 70 123 45 67",
                "+46812345678",
                "070-123 45 67",
                "0701234567",
                "08-123 456 78",
                "(08) 123 456 78",
                "+45 12 34 56 78",
                "+4512345678",
                "0045 12 34 56 78",
                "22 34 56 78",
                "12 34 56 78",
                "123 45 678",
                "412 34 678",
                "+47 412 34 567",
                "+358 40 123 4567",
                "+358 (0)9 123 4567",
                "040 123 4567",
                "09 123 4567",
                "+354 551 2345",
                "+1 (555) 123-4567",
                "+44 20 7946 0958",
                "+49 30 1234567",
            ],
        );
    }

    #[test]
    fn phone_invalid() {
        rejects(
            "phone",
            &[
                "12345678", // bare 8 digits: order numbers
                "42345678",
                "5050-1055", // bankgiro
                "3234 5678",
                "55 512 345",
                "0123456", // short and ungrouped
                "091234",
                "09 1234", // too short: often the tail of an order number
                "05-1234",
                "05.2024",
                "0812345678",  // ungrouped landline
                "010100-4123", // CPR-shaped: first group too long
                "0502151234x",
                "+45 1234 567", // DK needs 8
                "+45 12 34 56 78 9",
                "+47 123 456 789", // NO needs 8
                "+46 70 123",      // too short
                "+46 70 123 45 67 89 01",
                "+354 123 45",
                "+358 12",
                "+1 555 123 456",   // NANP needs 10
                "+999 123 456 789", // no such country code
                "+0 123 456 789",
                "0.12345678", // a decimal
                "01.05.2024",
                "1.5.2024",
                "01-05-2024",
                "2024-05-01",
                "20240501",
                "01052024",
                "2024-05-01 12:30",
                "192.168.1.100",
                "12 34 56 78 90",
                "12-34-56-789",
                "070-123 45 67 ext",
                "((08)) 123 456 78",
                "(08 123 456 78",
                "+46+70 123 45 67",
                "+46 (0)(0)70 123 45 67",
                "08-123 456 78 (0)",
                "12 34 56 78 9",
                "1",
                "+",
            ],
        );
        rejects("phone", HARD_NEGATIVES);
    }

    // ---- IP addresses ----

    #[test]
    fn ipv4_cases() {
        accepts(
            "ipv4",
            &[
                "192.168.1.10",
                "10.0.0.1",
                "8.8.8.8",
                "255.255.255.0",
                "81.232.1.254",
            ],
        );
        rejects(
            "ipv4",
            &[
                "0.0.0.0",
                "0.1.2.3",
                "255.255.255.255",
                "127.0.0.1",
                "127.1.2.3",
                "256.1.1.1",
                "1.2.3",
                "1.2.3.4.5",
                "01.2.3.4",
                "1..2.3",
                "1.2.3.",
                "a.b.c.d",
                "1.2.3.4 ",
                "1.2.3.-4",
                "1.2.3.1000",
                "١.٢.٣.٤",
                "",
                "2024-05-01",
            ],
        );
    }

    #[test]
    fn ipv6_cases() {
        accepts(
            "ipv6",
            &[
                "2001:db8::1",
                "fe80::1ff:fe23:4567:890a",
                "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
                "::ffff:192.0.2.1",
                "2a00:1450:4010:c0e::65",
            ],
        );
        rejects(
            "ipv6",
            &[
                "::",
                "::1",
                "12:30:45",
                "2001:db8::1::2",
                "fe80::1%eth0",
                "a:b",
                "gggg::1",
                "std::vector",
                "1:2",
                "",
                "2001:db8:0:0:0:0:0:0:1",
            ],
        );
    }

    // ---- credentials ----

    #[test]
    fn jwt_cases() {
        use base64::Engine as _;
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        let payload = enc(r#"{"sub":"42"}"#);
        let long_header = enc(&format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(900)));
        accepts(
            "jwt",
            &[
                token.to_string(),
                format!("{}.{payload}.", enc(r#"{"alg":"none"}"#)),
                format!("{}.{payload}.c2ln", enc(r#" {"typ":"JWT","alg":"ES256"}"#)),
                format!("{long_header}.{payload}.c2ln"),
            ],
        );
        rejects(
            "jwt",
            &[
                format!("{}.{payload}.c2ln", enc(r#"{"typ":"JWT"}"#)),
                format!("{}.{payload}.c2ln", enc("hello world, alg")),
                format!("{}.{payload}.c2ln", enc(r#"["alg"]"#)),
                format!("{}.{payload}", enc(r#"{"alg":"none"}"#)),
                format!("{}.{payload}.c2ln.x", enc(r#"{"alg":"none"}"#)),
                format!("{}..c2ln", enc(r#"{"alg":"none"}"#)),
                format!("{}.{payload}.c2+n", enc(r#"{"alg":"none"}"#)),
                token.replacen('e', "é", 1),
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9x.a.b".to_string(),
                "a.b.c".to_string(),
                "1.2.3".to_string(),
                String::new(),
            ],
        );
    }

    /// The counted classes are those a per-byte match finds, on random
    /// strings over token bytes and some that are not.
    #[test]
    fn token_pass_matches_a_per_byte_classification() {
        let alphabet = b"abcdezZ0A9-_.+/=~ \x00\x7f\xc3@";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            xorshift(&mut state);
            let len = (state % 40) as usize;
            let s: Vec<u8> = (0..len)
                .map(|i| alphabet[(state >> (i % 56)) as usize % alphabet.len()])
                .collect();
            let mut classes = [0usize; 4];
            let expected = s
                .iter()
                .try_for_each(|&b| {
                    let class = match b {
                        b'a'..=b'z' => 0,
                        b'A'..=b'Z' => 1,
                        b'0'..=b'9' => 2,
                        b'-' | b'_' | b'.' | b'+' | b'/' | b'=' | b'~' => 3,
                        _ => return None,
                    };
                    classes[class] += 1;
                    Some(())
                })
                .map(|()| classes);
            assert_eq!(token_pass(&s).map(|t| t.classes), expected, "{s:?}");
            if let Some(t) = token_pass(&s) {
                assert_eq!(t.wordy, wordy_letters(&s), "{s:?}");
            }
        }
    }

    /// Letters in word-like runs `[A-Za-z][a-z]{4,}` as a walk from run
    /// start to run end finds them: what [`token_pass`] counts on the fly.
    fn wordy_letters(s: &[u8]) -> usize {
        let mut wordy = 0;
        let mut i = 0;
        while i < s.len() {
            if s[i].is_ascii_alphabetic() {
                let mut j = i + 1;
                while j < s.len() && s[j].is_ascii_lowercase() {
                    j += 1;
                }
                if j - i >= 5 {
                    wordy += j - i;
                }
                i = j;
            } else {
                i += 1;
            }
        }
        wordy
    }

    /// The validators that read bytes get values the scanner no longer
    /// checks for UTF-8 first: they must turn away every value that is not
    /// UTF-8 themselves, and answer on the rest as they do on its text.
    /// Accepted values get bytes put in, before or after them: invalid
    /// UTF-8, non-ASCII letters and white space (which the phone trim
    /// takes off the ends), ASCII.
    #[test]
    fn byte_validators_answer_as_on_checked_text() {
        let accepted = [
            ("se_personnummer", "19811218-9876"),
            ("dk_cpr", "070761-4285"),
            ("no_fodselsnummer", "01010750160"),
            ("fi_henkilotunnus", "131052-308T"),
            ("payment_card", "4111 1111 1111 1111"),
            ("iban", "GB82 WEST 1234 5698 7654 32"),
            ("phone", "+46 70 123 45 67"),
            ("api_token", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
        ];
        let inserts: [&[u8]; 8] = [
            b"\xff",
            b"\xc3",
            b"\xc3\xa5",
            "\u{a0}".as_bytes(),
            "\u{3000}".as_bytes(),
            b" ",
            b"7",
            b"\xe3\x80",
        ];
        let g = gaz();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for (name, case) in accepted {
            let f = lookup(name).expect("validator exists");
            assert!(f(case.as_bytes(), &g), "{name} should accept {case:?}");
            for _ in 0..2_000 {
                xorshift(&mut state);
                let mut value = case.as_bytes().to_vec();
                for k in 0..=(state % 3) {
                    let insert = inserts[(state >> (8 * k + 2)) as usize % inserts.len()];
                    let at = match (state >> (8 * k + 5)) % 3 {
                        0 => 0,
                        1 => value.len(),
                        _ => (state >> 40) as usize % (value.len() + 1),
                    };
                    value.splice(at..at, insert.iter().copied());
                }
                let on_text = std::str::from_utf8(&value).is_ok_and(|text| f(text.as_bytes(), &g));
                assert_eq!(f(&value, &g), on_text, "{name} on {value:?}");
            }
        }
    }

    #[test]
    fn api_token_cases() {
        accepts(
            "api_token",
            &[
                "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "3f9a0c7e5b2d4186a9e0f1c2b3d4e5f6",
                "dGhpc2lzYXJhbmRvbXNlY3JldDEyMw",
                "xoxb-2048-1234-AbCdEfGhIjKlMnOp",
                "qRtZk-LmWpXvBnYcH_sJdFgQe", // no digit, but irregular case changes
            ],
        );
        rejects(
            "api_token",
            &[
                "this_is_not_a_secret_value",
                "ThisIsNotASecretValue",
                "Configuration_Settings_2024",
                "AKIAIOSFODNN7EXAMPLE", // two classes only (the AKIA rule needs no validator)
                "aaaaaaaaaaaaaaaaaaaaaaaa",
                "Aa1Aa1Aa1Aa1Aa1Aa1Aa1Aa1",
                "short_Tok3n",
                "0123456789012345678901234567890123",
                "abcdefabcdefabcdefabcdefabcdefabcd",
                "hemlighet_Åäö_12345678901",
                "has space in_it_Abc123456",
                "2024-05-01T12:30:00.000Z",
                "",
            ],
        );
    }

    #[test]
    fn secret_value_cases() {
        accepts(
            "secret_value",
            &[
                "hunter2!",
                "Sommar2024!",
                "S3cr3t-P@ss",
                "kissa123",
                "P4ssw0rd",
                "lösen0rd!",
                "Vinter#22",
                "correcthorsebatterystaple",
            ],
        );
        let long = "a".repeat(129);
        rejects(
            "secret_value",
            &[
                "********",
                "****",
                "xxxx",
                "XXXXXXXX",
                "••••••",
                "<redacted>",
                "[REDACTED]",
                "[redacted-by-agent]",
                "(hidden)",
                "hidden",
                "Dold",
                "skjult",
                "piilotettu",
                "is",
                "är",
                "reset",
                "reset.",
                "Expired",
                "expired,",
                "fungerar",
                "changed",
                "virker",
                "vanhentunut",
                "abc",
                long.as_str(),
                "${PASSWORD}",
                "{{password}}",
                "....",
                "?!?!",
                "",
            ],
        );
    }

    // ---- names ----

    /// The length cut in `is_initial` turns away no initial: the test
    /// agrees with the character-based definition on initials of 1- to
    /// 4-byte letters and on longer words.
    #[test]
    fn initial_length_cut_agrees_with_the_chars() {
        let by_chars = |w: &str| {
            let mut chars = w.chars();
            matches!((chars.next(), chars.next(), chars.next()), (Some(c), None | Some('.'), None) if c.is_uppercase())
        };
        for c in ['A', 'Ö', 'Ω', 'Ա', 'Ꭰ', '𐐀', 'a', '.'] {
            for rest in ["", ".", "..", "a", "ab", "abcd", ". "] {
                let w = format!("{c}{rest}");
                assert_eq!(is_initial(&w), by_chars(&w), "{w:?}");
            }
        }
        assert!(is_initial("𐐀.") && "𐐀.".len() == 5);
    }

    #[test]
    fn person_name_cases() {
        accepts(
            "person_name",
            &[
                "Anna",
                "Anna Andersson",
                "Anna-Karin Öberg",
                "Anna-Maria", // first part is a given name
                "Erik Johansson",
                "Will Smith", // not-name first, but a surname last
                "Hans Andersson",
                "John A. Smith",
                "Johansson",
                "Svensson", // surname morphology
                "Mikko Korhonen",
                "Sigríður Jónsdóttir",
                "Søren Kierkegaard",
                "Zlatan Svensson-Lind",
                "Mary O'Neill",
            ],
        );
        rejects(
            "person_name",
            &[
                "Will",
                "May",
                "Hans",
                "Per",
                "Summer Sale",
                "Prisen", // surname morphology, but an ordinary word
                "Mannen",
                "anna",
                "ANNA",
                "Anna Andersson Erik Lars Johansson",
                "Anna-Karin Maria Lind Olsson",
                "A. Smith",
                "Anna A.",
                "Monday",
                "Stockholm Office",
                "Anna  Andersson",
                "Anna3",
                "",
                "-",
                "Anna-",
            ],
        );
    }

    #[test]
    fn person_name_cued_cases() {
        accepts(
            "person_name_cued",
            &[
                "Anna",
                "Zlatan",
                "Anna-Karin",
                "Will Smith",
                "Sven Erik Olsson",
                "Kalle",
                "Åsa",
                "Mary O'Neill",
            ],
        );
        rejects(
            "person_name_cued",
            &[
                "All",
                "Alla",
                "Allihopa",
                "Kaikki",
                "Team",
                "Support",
                "Everyone",
                "There",
                "Igen",
                "Tack",
                "Kiitos",
                "Takk",
                "Thanks",
                "Will",
                "May",
                "Support Team",
                "The Acme Team",
                "anna",
                "Anna Karin Maria Olsson",
                "Hello World",
                "World",
                "Windows",
                "Sent",
                "Mvh",
                "Acme Oy",
                "Acme Support",
                "Valued Customer",
                "Hiring Manager",
                "Företaget",
                "",
            ],
        );
    }

    // ---- addresses ----

    #[test]
    fn postcode_city_cases() {
        accepts(
            "postcode_city",
            &[
                "114 55 Stockholm",
                "11455 Stockholm",
                "SE-114 55 Stockholm",
                "S-411 01 Göteborg",
                "2100 København Ø",
                "DK-2100 København",
                "0150 Oslo",
                "N-0150 Oslo",
                "NO-5003 Bergen",
                "00100 Helsinki",
                "FI-00100 Helsinki",
                "33100 Tampere",
                "8000 Aarhus C",
                "101 Reykjavík",
            ][..11],
        );
        rejects(
            "postcode_city",
            &[
                "2024 Maj",
                "2024 January",
                "2024 Total",
                "12 Maj",
                "1 234,50",
                "114 55 stockholm",
                "DK-11455 Stockholm",
                "FI-1234 Helsinki",
                "SE-2100 København",
                "XX-2100 København",
                "011 45 Stockholm",
                "12345678 Stockholm",
                "2100København",
                "2100 ",
                "3 Licenses",
                "2024 Windows",
                "",
            ],
        );
    }

    #[test]
    fn street_address_cases() {
        accepts(
            "street_address",
            &[
                "Storgatan 12",
                "Storgatan 12B",
                "Nørregade 7, 2. tv",
                "Mannerheimintie 5 A 7",
                "Karl Johans gate 1",
                "Drottninggatan 71",
                "Gamla vägen 5",
                "Laugavegur 12",
                "221B Baker Street",
                "Baker Street 221",
                "Hämeenkatu 10",
                "Strandvejen 100",
                "Sveavägen 9999",
            ],
        );
        rejects(
            "street_address",
            &[
                "Storgatan",
                "Storgatan 0",
                "Storgatan 012",
                "Storgatan 12345",
                "storgatan 12",
                "Windows 10",
                "Version 2",
                "Release 2024",
                "Gatan 5",
                "Tie 5",
                "Mannerheimintie A",
                "221 Baker",
                "12 Windows Update Street Lane Road",
                "",
            ],
        );
    }

    // ---- fast paths agree with the general ones ----

    #[test]
    fn entropy_bounds_decide_like_f64() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"abcdefghijklmnopqrst".to_vec(), // all distinct: the integer lower bound decides
            b"abcdefgabcdefgabcdefg".to_vec(), // 7 distinct: the integer upper bound decides
            b"abcdefgh".repeat(4),            // uniform over 8: exactly 3.0 in f64 too
            b"aaaabbccddeefghi".to_vec(),     // p = 1/4, 1/8 ×4, 1/16 ×4: exactly 3.0 too
            b"aaaaaaaabbbbccddeeffgghhiijjkkll".to_vec(),
            // counts 9,3,3,1×9: entropy is exactly 3 mathematically, f64 decides
            [&b"aaaaaaaaa"[..], b"bbb", b"ccc", b"defghijkl"].concat(),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            xorshift(&mut state);
            let len = 1 + (state % 64) as usize;
            let k = 2 + ((state >> 8) % 20) as usize;
            cases.push(
                (0..len)
                    .map(|i| b'a' + ((state >> (i % 48)) as usize % k) as u8)
                    .collect(),
            );
        }
        for s in &cases {
            let mut counts = [0u32; 128];
            for &b in s {
                counts[usize::from(b & 0x7f)] += 1;
            }
            assert_eq!(
                entropy_at_least_3(s, &counts),
                entropy(s) >= 3.0,
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn b64url_table_matches_the_predicate() {
        for b in 0..=255u8 {
            assert_eq!(B64URL[usize::from(b)], is_b64url(b), "{b}");
        }
    }

    #[test]
    fn cap_word_ascii_path_matches_unicode_path() {
        let alphabet = b"Aa'Z-.1 ";
        for len in 0..=5u32 {
            for mut k in 0..alphabet.len().pow(len) {
                let w: Vec<u8> = (0..len)
                    .map(|_| {
                        let c = alphabet[k % alphabet.len()];
                        k /= alphabet.len();
                        c
                    })
                    .collect();
                let s = std::str::from_utf8(&w).unwrap();
                assert_eq!(cap_word_ascii(&w), Some(is_cap_word_unicode(s)), "{s:?}");
            }
        }
        // Non-ASCII words, and ASCII prefixes that decide before a non-ASCII byte.
        for w in [
            "Åsa",
            "Öberg",
            "Ærø",
            "Sigríður",
            "Mc’Neill",
            "ÅSA",
            "åsa",
            "Ö",
            "Ő'Ő",
            "O’",
            "A’’b",
            "aÅ",
            "AÅ",
            "A1ö",
            "A''ö",
            "Ab'ö",
        ] {
            assert_eq!(is_cap_word(w), is_cap_word_unicode(w), "{w:?}");
        }
    }

    #[test]
    fn word_lookups_lower_case_like_to_lowercase() {
        const LIST: &[&str] = &["kund", "är", "it", "support", "i̇t"];
        static SET: WordSet = WordSet::new(&[LIST]);
        let long = "K".repeat(70);
        let words = [
            "Kund",
            "KUND",
            "kund",
            "Är",
            "ÄR",
            "är",
            "It",
            "IT",
            "İt",
            "\u{212A}und",
            "Support",
            "SUPPORT",
            "Supports",
            "",
            "Σ",
            long.as_str(),
        ];
        for w in words {
            let want = LIST.contains(&w.to_lowercase().as_str());
            assert_eq!(SET.contains_lowercased(w), want, "{w:?}");
            assert_eq!(SET.contains(w), LIST.contains(&w), "{w:?}");
        }
    }

    /// The ends filter never turns a member away: every set agrees with
    /// its lists on the words of all sets, in several cases and cut short.
    #[test]
    fn word_sets_agree_with_their_lists() {
        let sets = [
            &FILE_EXTENSION_SET,
            &SECRET_NON_VALUES,
            &CUE_NON_NAME_SET,
            &ORGANISATION_SET,
            &NON_CITY_SET,
            &STREET_WORD_SET,
            &STREET_WORD_EN_SET,
        ];
        let all: Vec<&str> = sets
            .iter()
            .flat_map(|s| s.lists.iter().copied().flatten().copied())
            .collect();
        let mut words = Vec::new();
        for w in &all {
            let mut cap = w.chars();
            let cap: String = cap
                .next()
                .into_iter()
                .flat_map(char::to_uppercase)
                .chain(cap)
                .collect();
            let cut: String = w.chars().skip(1).collect();
            words.extend([w.to_string(), cap, w.to_uppercase(), format!("{w}s"), cut]);
        }
        for set in sets {
            let listed = |w: &str| set.lists.iter().any(|l| l.contains(&w));
            for w in &words {
                assert_eq!(set.contains(w), listed(w), "{w:?}");
                assert_eq!(
                    set.contains_lowercased(w),
                    listed(&w.to_lowercase()),
                    "{w:?}"
                );
            }
        }
    }

    #[test]
    fn trim_trims_like_str_trim() {
        let ends = [
            "", " ", "\t", "\u{b}", "\u{c}", "\r\n", "\u{1c}", "\u{85}", "\u{a0}", "\u{3000}", "x",
            "é", "0", "+",
        ];
        for a in ends {
            for b in ends {
                for mid in ["", "7", "070 123", " 1 "] {
                    let s = format!("{a}{mid}{b}");
                    assert_eq!(trim(&s), s.trim(), "{s:?}");
                }
            }
        }
        for b in 0..=0x7fu8 {
            let s = char::from(b).to_string();
            assert_eq!(trim(&s), s.trim(), "{b:#x}");
        }
    }

    #[test]
    fn split_byte_splits_like_str_split() {
        for s in [
            "",
            " ",
            "a",
            "Anna Karin",
            " Anna  Karin ",
            "Åsa Öberg-Lind",
            "--",
            "a-",
        ] {
            for sep in [b' ', b'-'] {
                let want: Vec<&str> = s.split(char::from(sep)).collect();
                assert_eq!(split_byte(s, sep).collect::<Vec<_>>(), want, "{s:?}");
                assert_eq!(before_byte(s, sep), want[0], "{s:?}");
            }
        }
    }

    // ---- robustness ----

    #[test]
    fn no_validator_panics_on_odd_input() {
        let g = gaz();
        let mut inputs: Vec<String> = [
            "",
            " ",
            "-",
            "+",
            "@",
            ".",
            ":",
            "::",
            "(",
            ")",
            "(0)",
            "+(0)",
            "00",
            "0",
            "é",
            "ÅÄÖ",
            "𝟘𝟙𝟚",
            "\u{0}",
            "\n",
            "a@",
            "@b",
            "a.b.c",
            "[",
            "${",
            "Anna-",
            "-Anna",
            "A.",
            "SE-",
            "DK-2",
            "12 ",
            " 12",
            "1 2 3 4 5 6 7 8 9 0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        inputs.push("9".repeat(5000));
        inputs.push("é".repeat(3000));
        inputs.push(format!("{}@{}.se", "å".repeat(40), "ö".repeat(100)));
        // Deterministic pseudo-random strings over a tricky alphabet.
        let alphabet: Vec<char> = "0123456789 -+.()/:@_AaZzÅåØøÖöÐ'’\t\nxX*[]{}$=%"
            .chars()
            .collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            xorshift(&mut state);
            let len = (state % 40) as usize;
            let s: String = (0..len)
                .map(|i| alphabet[((state >> (i % 50)) as usize + i * 7) % alphabet.len()])
                .collect();
            inputs.push(s);
        }
        for s in &inputs {
            for (_, f) in VALIDATORS {
                let _ = f(s.as_bytes(), &g);
            }
        }
    }
}
