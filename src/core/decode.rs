//! Streaming decoders that turn raw bytes into the *view* the detectors
//! match on, remembering for every view byte where it came from in the raw
//! input. That map is what lets the core keep everything it does not change
//! byte-identical (original escapes and markup survive) while matching on
//! decoded text: `811218&#45;9876` and `"\u0038\u0031…"` are both seen as
//! digits, and `<br>` separates tokens.

/// View bytes with their raw origins.
#[derive(Debug, Default)]
pub(crate) struct ViewBuf {
    pub view: Vec<u8>,
    /// Where view bytes came from, as runs (empty when `mapped` is false).
    /// Runs, not a per-byte table: a JSON string with a few escapes is a
    /// few runs, so decoding costs a copy of the bytes and nothing more.
    spans: Vec<Span>,
    pub mapped: bool,
    /// Whether a markup run was pushed since `clear`: most views have none,
    /// and then a replacement need not look for markup to keep.
    has_markup: bool,
}

/// A run of view bytes from one place in the raw input.
#[derive(Debug, Clone, Copy)]
struct Span {
    /// View index of the run's first byte.
    at: usize,
    /// Raw offset of the first byte (of every byte, unless `identity`).
    raw: u64,
    /// Byte `k` of the run came from raw offset `raw + k`; otherwise all of
    /// it stands for one escape or tag at `raw`.
    identity: bool,
    /// The run stands for markup (an HTML tag) that a replacement must keep.
    markup: bool,
}

impl ViewBuf {
    fn push(&mut self, bytes: &[u8], off: u64, identity: bool, markup: bool) {
        let at = self.view.len();
        self.view.extend_from_slice(bytes);
        if !self.mapped || bytes.is_empty() {
            return;
        }
        if let Some(last) = self.spans.last() {
            let continues = if identity {
                last.identity && last.raw + (at - last.at) as u64 == off
            } else {
                !last.identity && last.raw == off
            };
            if continues && last.markup == markup {
                return;
            }
        }
        self.has_markup |= markup;
        self.spans.push(Span {
            at,
            raw: off,
            identity,
            markup,
        });
    }

    /// The run holding view byte `i` (which must exist, in a mapped view).
    fn span(&self, i: usize) -> Option<&Span> {
        let k = self.spans.partition_point(|s| s.at <= i);
        self.spans.get(k.checked_sub(1)?)
    }

    /// Raw offset of view byte `i`, if there is such a byte.
    pub fn raw(&self, i: usize) -> Option<u64> {
        if i >= self.view.len() {
            return None;
        }
        let s = self.span(i)?;
        Some(if s.identity {
            s.raw + (i - s.at) as u64
        } else {
            s.raw
        })
    }

    /// Whether view byte `i` stands for markup.
    #[cfg(test)]
    fn is_markup(&self, i: usize) -> bool {
        i < self.view.len() && self.span(i).is_some_and(|s| s.markup)
    }

    /// View indices in `[a, b)` where a piece of markup begins: each markup
    /// byte whose raw origin differs from the byte before it (or that is
    /// the first byte of the range).
    pub fn markup_starts(&self, a: usize, b: usize) -> Vec<usize> {
        let mut starts = Vec::new();
        if !self.has_markup || a >= b {
            return starts;
        }
        let first = self.spans.partition_point(|s| s.at <= a).saturating_sub(1);
        for (k, s) in self.spans.iter().enumerate().skip(first) {
            if s.at >= b {
                break;
            }
            if !s.markup {
                continue;
            }
            let end = self
                .spans
                .get(k + 1)
                .map_or(self.view.len(), |n| n.at)
                .min(b);
            let from = s.at.max(a);
            if s.identity {
                starts.extend(from..end);
            } else if from == a || self.raw(from - 1) != Some(s.raw) {
                starts.push(from);
            }
        }
        starts
    }

    pub fn clear(&mut self, mapped: bool) {
        self.view.clear();
        self.spans.clear();
        self.mapped = mapped;
        self.has_markup = false;
    }

    /// Maps an unmapped view whose bytes came one for one from raw offset
    /// `raw` on, so that bytes pushed next can be mapped.
    pub fn map_identity(&mut self, raw: u64) {
        debug_assert!(!self.mapped && self.spans.is_empty());
        self.mapped = true;
        if !self.view.is_empty() {
            self.spans.push(Span {
                at: 0,
                raw,
                identity: true,
                markup: false,
            });
        }
    }

    /// Drops the first `n` view bytes.
    pub fn drain(&mut self, n: usize) {
        self.view.drain(..n);
        if !self.mapped {
            return;
        }
        // The run holding the new first byte starts there now.
        let k = self.spans.partition_point(|s| s.at <= n).saturating_sub(1);
        self.spans.drain(..k);
        for (j, s) in self.spans.iter_mut().enumerate() {
            if j == 0 && s.at < n {
                if s.identity {
                    s.raw += (n - s.at) as u64;
                }
                s.at = 0;
            } else {
                s.at -= n;
            }
        }
    }
}

/// How the raw input is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The view is the raw input.
    Plain,
    /// HTML text: tags separate tokens, entities are decoded.
    Html,
    /// The inside of a JSON string (escapes decoded).
    Json,
    /// HTML inside a JSON string.
    JsonHtml,
}

impl Encoding {
    pub fn is_mapped(self) -> bool {
        self != Encoding::Plain
    }
    pub fn is_html(self) -> bool {
        matches!(self, Encoding::Html | Encoding::JsonHtml)
    }
    pub fn is_json(self) -> bool {
        matches!(self, Encoding::Json | Encoding::JsonHtml)
    }
}

/// The decoder chain for one value or body.
#[derive(Debug)]
pub(crate) struct Decoder {
    encoding: Encoding,
    json: JsonUnescape,
    html: Html,
}

impl Decoder {
    pub fn new(encoding: Encoding) -> Self {
        Decoder {
            encoding,
            json: JsonUnescape::default(),
            html: Html::default(),
        }
    }

    pub fn reset(&mut self, encoding: Encoding) {
        self.encoding = encoding;
        self.json = JsonUnescape::default();
        self.html.reset();
    }

    /// Decodes `raw`, whose first byte is at absolute offset `off`.
    pub fn feed(&mut self, raw: &[u8], off: u64, out: &mut ViewBuf) {
        match self.encoding {
            Encoding::Plain => out.push(raw, off, true, false),
            Encoding::Html => self.html.feed(raw, off, true, out),
            Encoding::Json => self
                .json
                .feed(raw, off, &mut |b: &[u8], o, id| out.push(b, o, id, false)),
            Encoding::JsonHtml => {
                let html = &mut self.html;
                self.json
                    .feed(raw, off, &mut |b: &[u8], o, id| html.feed(b, o, id, out));
            }
        }
    }

    /// [`Self::feed`] for raw bytes with no backslash that do not start
    /// inside an escape, as the JSON tokenizer knows of a string run it
    /// has just read. Outside an escape such bytes decode to themselves,
    /// so they are not searched for escapes again. After a high surrogate
    /// (which waits for its pair) they take the general path.
    pub fn feed_unescaped(&mut self, raw: &[u8], off: u64, out: &mut ViewBuf) {
        debug_assert!(!raw.contains(&b'\\'));
        if !matches!(self.json.state, JsonState::Normal) {
            return self.feed(raw, off, out);
        }
        match self.encoding {
            Encoding::Json => out.push(raw, off, true, false),
            Encoding::JsonHtml => self.html.feed(raw, off, true, out),
            Encoding::Plain | Encoding::Html => self.feed(raw, off, out),
        }
    }

    /// Flushes whatever a decoder still holds at the end of input.
    #[inline]
    pub fn finish(&mut self, out: &mut ViewBuf) {
        match self.encoding {
            Encoding::Plain => {}
            Encoding::Html => self.html.finish(out),
            Encoding::Json => self
                .json
                .finish(&mut |b: &[u8], o, id| out.push(b, o, id, false)),
            Encoding::JsonHtml => {
                let html = &mut self.html;
                self.json
                    .finish(&mut |b: &[u8], o, id| html.feed(b, o, id, out));
                self.html.finish(out);
            }
        }
    }
}

/// Receives decoded bytes: (bytes, raw offset, identity). With `identity`,
/// byte k came from raw offset `off + k`; otherwise all came from one escape at `off`.
type Emit<'a> = dyn FnMut(&[u8], u64, bool) + 'a;

#[derive(Debug, Default, Clone, Copy)]
enum JsonState {
    #[default]
    Normal,
    Backslash {
        off: u64,
    },
    Hex {
        off: u64,
        n: u8,
        val: u32,
    },
    /// After a high surrogate at `off`; `stage` 0 expects `\`, 1 expects `u`,
    /// 2.. collects hex digits of the following escape at `off2`.
    High {
        hi: u32,
        off: u64,
        stage: u8,
        off2: u64,
        val: u32,
    },
}

/// JSON string unescaping, streaming. Lone surrogates become U+FFFD in the
/// view only; the raw escape is kept in the output.
#[derive(Debug, Default)]
struct JsonUnescape {
    state: JsonState,
}

fn emit_char(c: u32, off: u64, emit: &mut Emit) {
    let ch = char::from_u32(c).unwrap_or('\u{FFFD}');
    let mut buf = [0u8; 4];
    emit(ch.encode_utf8(&mut buf).as_bytes(), off, false);
}

/// What the escape `\b` stands for, unless it is `\u` (which takes four
/// more bytes). Escapes JSON does not have (the rewriter refuses them)
/// stand for their letter.
fn one_letter(b: u8) -> Option<u8> {
    Some(match b {
        b'u' => return None,
        b'b' => 8,
        b'f' => 12,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => b,
    })
}

fn hex_val(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

impl JsonUnescape {
    /// Generic over the receiver, unlike the escape steps: plain runs are
    /// nearly every byte, and their receiver is worth inlining.
    fn feed(&mut self, raw: &[u8], off: u64, emit: &mut impl FnMut(&[u8], u64, bool)) {
        let mut i = 0;
        while i < raw.len() {
            if let JsonState::Normal = self.state {
                // Escapes come in runs (`\n\n`): the next one needs no search.
                let next = if raw[i] == b'\\' {
                    i
                } else {
                    memchr::memchr(b'\\', &raw[i..]).map_or(raw.len(), |p| i + p)
                };
                if next > i {
                    emit(&raw[i..next], off + i as u64, true);
                }
                i = next + 1;
                // A one-letter escape that is all here is decoded on the spot.
                match raw.get(i).and_then(|&b| one_letter(b)) {
                    Some(c) => {
                        emit(&[c], off + next as u64, false);
                        i += 1;
                    }
                    None if next < raw.len() => {
                        self.state = JsonState::Backslash {
                            off: off + next as u64,
                        }
                    }
                    None => {}
                }
                continue;
            }
            if self.step(raw[i], off + i as u64, emit) {
                i += 1;
            }
        }
    }

    /// Advances on one byte of an escape; false means "reprocess this byte".
    fn step(&mut self, b: u8, at: u64, emit: &mut Emit) -> bool {
        match self.state {
            JsonState::Normal => unreachable!("handled by feed"),
            JsonState::Backslash { off } => {
                self.state = match one_letter(b) {
                    Some(c) => {
                        emit(&[c], off, false);
                        JsonState::Normal
                    }
                    None => JsonState::Hex { off, n: 0, val: 0 },
                };
            }
            JsonState::Hex { off, n, val } => {
                let val = (val << 4) | hex_val(b).unwrap_or(0);
                self.state = if n + 1 < 4 {
                    JsonState::Hex { off, n: n + 1, val }
                } else {
                    self.code_point(val, off, emit)
                };
            }
            JsonState::High {
                hi,
                off,
                stage,
                off2,
                val,
            } => match stage {
                0 if b == b'\\' => {
                    self.state = JsonState::High {
                        hi,
                        off,
                        stage: 1,
                        off2: at,
                        val: 0,
                    }
                }
                1 if b == b'u' => {
                    self.state = JsonState::High {
                        hi,
                        off,
                        stage: 2,
                        off2,
                        val: 0,
                    }
                }
                0 => {
                    emit_char(0xFFFD, off, emit);
                    self.state = JsonState::Normal;
                    return false;
                }
                1 => {
                    emit_char(0xFFFD, off, emit);
                    self.state = JsonState::Backslash { off: off2 };
                    return false;
                }
                _ => {
                    let val = (val << 4) | hex_val(b).unwrap_or(0);
                    if stage < 5 {
                        self.state = JsonState::High {
                            hi,
                            off,
                            stage: stage + 1,
                            off2,
                            val,
                        };
                    } else if (0xDC00..0xE000).contains(&val) {
                        emit_char(0x10000 + ((hi - 0xD800) << 10) + (val - 0xDC00), off, emit);
                        self.state = JsonState::Normal;
                    } else {
                        emit_char(0xFFFD, off, emit);
                        self.state = self.code_point(val, off2, emit);
                    }
                }
            },
        }
        true
    }

    fn code_point(&mut self, val: u32, off: u64, emit: &mut Emit) -> JsonState {
        if (0xD800..0xDC00).contains(&val) {
            return JsonState::High {
                hi: val,
                off,
                stage: 0,
                off2: 0,
                val: 0,
            };
        }
        emit_char(val, off, emit);
        JsonState::Normal
    }

    fn finish(&mut self, emit: &mut Emit) {
        if let JsonState::High { off, .. } = self.state {
            emit_char(0xFFFD, off, emit);
        }
        self.state = JsonState::Normal;
    }
}

/// Longest tag stretch one view byte stands for; longer tags (inline images
/// as data URIs) get more view bytes, so raw output keeps flowing.
const TAG_STRETCH: u64 = 256;
const ENTITY_MAX: usize = 12;

#[derive(Debug, Default, Clone)]
enum HtmlState {
    #[default]
    Text,
    /// Saw `<` at `off`; the next byte decides tag or literal.
    Lt { off: u64 },
    /// Inside a tag; `quote` is the open attribute quote, `since` where the
    /// current view byte's stretch began.
    Tag { quote: u8, since: u64 },
    /// Collecting an entity that began at `off`.
    Entity {
        off: u64,
        buf: Vec<u8>,
        offs: Vec<u64>,
    },
}

/// HTML → text view: tags become one separator (newline for block tags,
/// space otherwise), entities are decoded; markup is remembered so a
/// replacement keeps it.
#[derive(Debug, Default)]
struct Html {
    state: HtmlState,
    name: Vec<u8>,
    named: bool,
    tag_at: usize,
}

impl Html {
    /// Back to the start of a text, keeping the tag-name buffer.
    fn reset(&mut self) {
        self.state = HtmlState::Text;
        self.name.clear();
        self.named = false;
        self.tag_at = 0;
    }
}

const BLOCK_TAGS: &[&[u8]] = &[
    b"br",
    b"p",
    b"div",
    b"li",
    b"tr",
    b"td",
    b"th",
    b"ul",
    b"ol",
    b"table",
    b"blockquote",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"hr",
    b"pre",
];

impl Html {
    fn feed(&mut self, bytes: &[u8], off: u64, identity: bool, out: &mut ViewBuf) {
        let mut k = 0;
        while k < bytes.len() {
            // Fast path: plain text up to the next tag or entity in one go.
            if identity && matches!(self.state, HtmlState::Text) {
                // `<br>` is most of the markup in ticket bodies: what the
                // tag states would make of it (one block separator), at
                // once. Looked for first: tags come in runs (`<br><br>`).
                if bytes[k..].starts_with(b"<br>") {
                    out.push(b"\n", off + k as u64, false, true);
                    k += 4;
                    continue;
                }
                let run = memchr::memchr2(b'<', b'&', &bytes[k..]).unwrap_or(bytes.len() - k);
                if run > 0 {
                    out.push(&bytes[k..k + run], off + k as u64, true, false);
                    k += run;
                    continue;
                }
            }
            let at = if identity { off + k as u64 } else { off };
            while !self.step(bytes[k], at, out) {}
            k += 1;
        }
    }

    /// One byte; false means "reprocess this byte in the new state".
    fn step(&mut self, b: u8, at: u64, out: &mut ViewBuf) -> bool {
        match &mut self.state {
            HtmlState::Text => match b {
                b'<' => self.state = HtmlState::Lt { off: at },
                b'&' => {
                    self.state = HtmlState::Entity {
                        off: at,
                        buf: Vec::new(),
                        offs: Vec::new(),
                    }
                }
                _ => out.push(&[b], at, true, false),
            },
            HtmlState::Lt { off } => {
                let off = *off;
                if b.is_ascii_alphabetic() || matches!(b, b'/' | b'!' | b'?') {
                    self.name.clear();
                    self.named = false;
                    self.tag_at = out.view.len();
                    out.push(b" ", off, false, true);
                    self.state = HtmlState::Tag {
                        quote: 0,
                        since: off,
                    };
                    return false;
                }
                out.push(b"<", off, true, false);
                self.state = HtmlState::Text;
                return false;
            }
            HtmlState::Tag { quote, since } => {
                if !self.named {
                    if b.is_ascii_alphanumeric() {
                        if self.name.len() < 12 {
                            self.name.push(b.to_ascii_lowercase());
                        }
                    } else if !(b == b'/' && self.name.is_empty()) && b != b'<' {
                        self.named = true;
                        if BLOCK_TAGS.contains(&self.name.as_slice()) {
                            out.view[self.tag_at] = b'\n';
                        }
                    }
                }
                if *quote != 0 {
                    if b == *quote {
                        *quote = 0;
                    }
                } else if b == b'"' || b == b'\'' {
                    *quote = b;
                } else if b == b'>' {
                    self.state = HtmlState::Text;
                    return true;
                }
                if at >= *since + TAG_STRETCH {
                    *since = at;
                    out.push(b" ", at, false, true);
                }
            }
            HtmlState::Entity { off, buf, offs } => {
                if b == b';' && !buf.is_empty() {
                    let off = *off;
                    match decode_entity(buf) {
                        Some(c) => emit_entity(c, off, out),
                        None => {
                            out.push(b"&", off, true, false);
                            for (c, o) in buf.iter().zip(offs.iter()) {
                                out.push(&[*c], *o, true, false);
                            }
                            out.push(b";", at, true, false);
                        }
                    }
                    self.state = HtmlState::Text;
                    return true;
                }
                if (b.is_ascii_alphanumeric() || (b == b'#' && buf.is_empty()))
                    && buf.len() < ENTITY_MAX
                {
                    buf.push(b);
                    offs.push(at);
                    return true;
                }
                self.flush_entity(out);
                return false;
            }
        }
        true
    }

    fn flush_entity(&mut self, out: &mut ViewBuf) {
        if let HtmlState::Entity { off, buf, offs } = std::mem::take(&mut self.state) {
            out.push(b"&", off, true, false);
            for (c, o) in buf.iter().zip(offs.iter()) {
                out.push(&[*c], *o, true, false);
            }
        }
        self.state = HtmlState::Text;
    }

    fn finish(&mut self, out: &mut ViewBuf) {
        match self.state {
            HtmlState::Lt { off } => out.push(b"<", off, true, false),
            HtmlState::Entity { .. } => self.flush_entity(out),
            _ => {}
        }
        self.state = HtmlState::Text;
    }
}

fn emit_entity(c: char, off: u64, out: &mut ViewBuf) {
    // Non-breaking spaces are plain spaces to the detectors: editors put
    // them between card-number groups and names.
    let c = if c == '\u{a0}' { ' ' } else { c };
    let mut b = [0u8; 4];
    out.push(c.encode_utf8(&mut b).as_bytes(), off, false, false);
}

/// Decodes an entity body (between `&` and `;`).
fn decode_entity(body: &[u8]) -> Option<char> {
    if let Some(num) = body.strip_prefix(b"#") {
        let s = std::str::from_utf8(num).ok()?;
        let v = match s.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => s.parse().ok()?,
        };
        return char::from_u32(v);
    }
    Some(match body {
        b"nbsp" => '\u{a0}',
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        b"ndash" => '–',
        b"mdash" => '—',
        b"aring" => 'å',
        b"Aring" => 'Å',
        b"auml" => 'ä',
        b"Auml" => 'Ä',
        b"ouml" => 'ö',
        b"Ouml" => 'Ö',
        b"aelig" => 'æ',
        b"AElig" => 'Æ',
        b"oslash" => 'ø',
        b"Oslash" => 'Ø',
        b"eacute" => 'é',
        b"Eacute" => 'É',
        b"uuml" => 'ü',
        b"Uuml" => 'Ü',
        b"szlig" => 'ß',
        b"eth" => 'ð',
        b"thorn" => 'þ',
        b"aacute" => 'á',
        b"iacute" => 'í',
        b"oacute" => 'ó',
        b"uacute" => 'ú',
        b"yacute" => 'ý',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeding the runs between escapes through `feed_unescaped` gives the
    /// same view, raw map and markup as feeding everything through `feed`:
    /// escapes of every kind (one-letter, `\u`, surrogate pairs, lone
    /// surrogates followed by plain text), markup and entities, in both
    /// JSON encodings.
    #[test]
    fn unescaped_runs_decode_as_the_general_path() {
        let pieces: [&[u8]; 12] = [
            b"Hej <b>Anna</b>",
            br"\n",
            b" ring 070&#45;123 ",
            br"\u00e9",
            b"plain",
            br"\ud83d\ude00",
            b"<br>after",
            br"\ud800",
            b"lone high",
            br"\\",
            b"&amp; end",
            br"\udc00",
        ];
        for enc in [Encoding::Json, Encoding::JsonHtml] {
            for from in 0..pieces.len() {
                for n in 1..=pieces.len() - from {
                    let parts = &pieces[from..from + n];
                    let whole = parts.concat();
                    let (mut general, mut fast) = (Decoder::new(enc), Decoder::new(enc));
                    let (mut a, mut b) = (ViewBuf::default(), ViewBuf::default());
                    a.clear(true);
                    b.clear(true);
                    general.feed(&whole, 0, &mut a);
                    let mut off = 0;
                    for part in parts {
                        if part.contains(&b'\\') {
                            fast.feed(part, off, &mut b);
                        } else {
                            fast.feed_unescaped(part, off, &mut b);
                        }
                        off += part.len() as u64;
                    }
                    general.finish(&mut a);
                    fast.finish(&mut b);
                    let text = String::from_utf8_lossy(&whole);
                    assert_eq!(a.view, b.view, "{enc:?} {text}");
                    for i in 0..=a.view.len() {
                        assert_eq!(a.raw(i), b.raw(i), "{enc:?} {text} at {i}");
                    }
                    assert_eq!(
                        a.markup_starts(0, a.view.len()),
                        b.markup_starts(0, b.view.len()),
                        "{enc:?} {text}"
                    );
                }
            }
        }
    }

    fn decode(enc: Encoding, raw: &[u8], split: usize) -> ViewBuf {
        let mut d = Decoder::new(enc);
        let mut out = ViewBuf {
            mapped: true,
            ..Default::default()
        };
        let split = split.min(raw.len());
        d.feed(&raw[..split], 0, &mut out);
        d.feed(&raw[split..], split as u64, &mut out);
        d.finish(&mut out);
        out
    }

    #[test]
    fn json_escapes_and_surrogates_decode_at_any_split() {
        let raw = br#"a\"b\\c\u00e5\ud83d\ude00\n\ud800x"#;
        for split in 0..=raw.len() {
            let v = decode(Encoding::Json, raw, split);
            assert_eq!(
                String::from_utf8_lossy(&v.view),
                "a\"b\\cå😀\n\u{fffd}x",
                "split {split}"
            );
            // å came from the escape at raw offset 7
            assert_eq!(v.raw(6), Some(7));
            assert_eq!(v.raw(v.view.len()), None);
        }
    }

    /// `raw` decoded in pieces of `step` bytes.
    fn fed(enc: Encoding, raw: &[u8], step: usize) -> ViewBuf {
        let mut d = Decoder::new(enc);
        let mut out = ViewBuf {
            mapped: true,
            ..Default::default()
        };
        for (k, piece) in raw.chunks(step).enumerate() {
            d.feed(piece, (k * step) as u64, &mut out);
        }
        d.finish(&mut out);
        out
    }

    /// Every view byte and its raw origin, fed in pieces of `step` bytes.
    fn mapped(enc: Encoding, raw: &[u8], step: usize) -> Vec<(u8, Option<u64>)> {
        let out = fed(enc, raw, step);
        (0..out.view.len())
            .map(|i| (out.view[i], out.raw(i)))
            .collect()
    }

    /// Fed whole, split anywhere, or byte by byte, escapes (and markup
    /// around them) decode to the same view with the same raw offsets:
    /// plain runs and escape states must agree wherever a piece ends.
    #[test]
    fn escapes_decode_alike_whole_and_split() {
        let raw = br#"\n\\a\"b\/\t\r\b\fc\u00e5\nd<br>\ud83d\ude00\\\n&amp;\x"#;
        for enc in [Encoding::Json, Encoding::JsonHtml] {
            let bytewise = mapped(enc, raw, 1);
            for split in 0..=raw.len() {
                let v = decode(enc, raw, split);
                let got: Vec<_> = (0..v.view.len()).map(|i| (v.view[i], v.raw(i))).collect();
                assert_eq!(got, bytewise, "{enc:?} split {split}");
            }
            assert_eq!(mapped(enc, raw, raw.len()), bytewise);
        }
    }

    #[test]
    fn html_tags_separate_and_entities_decode() {
        let raw = b"Anna<br>Svensson 811218&#45;9876 4111&nbsp;1111 &unknown; a < b <b>x</b>";
        for split in 0..=raw.len() {
            let v = decode(Encoding::Html, raw, split);
            assert_eq!(
                String::from_utf8_lossy(&v.view),
                "Anna\nSvensson 811218-9876 4111 1111 &unknown; a < b  x ",
                "split {split}"
            );
            let tag = v.view.iter().position(|&b| b == b'\n').unwrap();
            assert!(v.is_markup(tag));
            assert!(!v.is_markup(tag + 1));
            assert_eq!(v.markup_starts(0, v.view.len()).first(), Some(&tag));
            let x = v.view.iter().rposition(|&c| c == b'x').unwrap();
            assert_eq!(v.markup_starts(tag + 1, v.view.len()), vec![x - 1, x + 1]);
            assert_eq!(v.raw(tag), Some(4));
            assert_eq!(v.raw(tag + 1), Some(8));
        }
    }

    /// The `<br>` shortcut (taken only when the whole tag is in one piece)
    /// agrees with the tag states (byte by byte) on the view, raw offsets
    /// and markup, next to tags it must not take.
    #[test]
    fn br_shortcut_agrees_with_the_tag_states() {
        let raw = br#"a<br>b<br><br>c<BR>d<br/>e<br >f<bra>g<b>h<br"#;
        for enc in [Encoding::Html, Encoding::JsonHtml] {
            let marked = |step| {
                let out = fed(enc, raw, step);
                let bytes: Vec<_> = (0..out.view.len())
                    .map(|i| (out.view[i], out.raw(i), out.is_markup(i)))
                    .collect();
                (bytes, out.markup_starts(0, out.view.len()))
            };
            let bytewise = marked(1);
            assert_eq!(marked(raw.len()), bytewise, "{enc:?}");
            assert_eq!(bytewise.0.iter().filter(|b| b.0 == b'\n').count(), 6);
        }
    }

    /// The markup flag lives as long as the value: a reused buffer finds
    /// markup in the value that has it, and none after `clear`.
    #[test]
    fn markup_is_found_per_value() {
        let mut v = decode(Encoding::Html, b"a<br>b", 6);
        assert_eq!(v.markup_starts(0, v.view.len()), vec![1]);
        v.clear(true);
        v.push(b"a b", 0, true, false);
        assert!(v.markup_starts(0, v.view.len()).is_empty());
        v.push(b" ", 3, false, true);
        assert_eq!(v.markup_starts(0, v.view.len()), vec![3]);
    }

    #[test]
    fn long_tags_get_several_view_bytes() {
        let mut raw = b"<img src=\"data:".to_vec();
        raw.extend(std::iter::repeat_n(b'A', 1000));
        raw.extend(b"\">after");
        let v = decode(Encoding::Html, &raw, 500);
        assert!(v.view.starts_with(b"    "));
        assert!(v.view.ends_with(b"after"));
    }

    #[test]
    fn html_in_json_composes() {
        let raw = br#"Hej<br>Anna\u0020Svensson"#;
        let v = decode(Encoding::JsonHtml, raw, 9);
        assert_eq!(String::from_utf8_lossy(&v.view), "Hej\nAnna Svensson");
    }
}
