//! The streaming scanner: feeds raw bytes through a [`Decoder`] into a view
//! buffer, finds candidates, runs detectors on them once enough lookahead is
//! buffered, resolves overlaps and emits output.
//!
//! Chunk independence: every decision depends only on content. A candidate
//! at position `p` is evaluated on the view window `[p - back, p + max_token)`
//! exactly as it would be on the whole body; matches are accepted greedily in
//! (start, longest, rule order) order; output is emitted only up to a point
//! no undecided match can reach back before. Memory is bounded by
//! `max_token` plus the context window, not by the body.

use std::cell::Cell;
use std::ops::Range;
use std::sync::Arc;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::Anchored;
use regex_automata::dfa::onepass;
use regex_automata::nfa::thompson::backtrack;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored as ReAnchored, Input};

use super::action::{PseudonymKey, Pseudonymizer};
use super::decode::{Decoder, Encoding, ViewBuf};
use super::detect::{self, CaptureEngine, Detector, DetectorAction, Kind};
use super::engine::{
    is_word, Engine, FieldCtx, C_AT, C_COLON, C_DIGIT, C_HIGH, C_SIGN, C_UPPER, EMAIL_LOCAL_MAX,
    IS_WORD, KW_START,
};
use super::error::RedactError;
use super::finding::{ActionKind, Finding};

/// Bytes of lookahead the candidate pass needs beyond a position: the
/// prefilters look at up to 48 bytes (digit runs) and 40 (words) ahead.
const PEEK: usize = 64;
/// Raw input is decoded in slices of this size, so one huge chunk does not
/// grow the buffers.
const SLICE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy)]
enum Cand {
    /// Digit run, or `+`/`(` before a digit: number and postal detectors.
    Number,
    /// A digit run the number screen has answered already (see
    /// `number_candidate`): the members it lets through.
    Screened(u64),
    /// `@` at this position: e-mail detectors.
    Email,
    Iban,
    Ipv6,
    Name,
    /// Capitalised word followed by a house number.
    PostalWord,
    /// Anchored here for one detector (trigger end or prefix start).
    One(u16),
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    end: u64,
    kw: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Match {
    start: u64,
    neg_len: i64,
    /// false sorts first: of two matches over the same span, the one whose
    /// context words are present wins (a CPR number next to "CPR-nummer").
    without_context: bool,
    det: u16,
    end: u64,
}

/// Per-stream (or per JSON value) scanning state. Reusable: `reset` keeps
/// the allocations.
pub(crate) struct Scanner {
    vb: ViewBuf,
    /// Absolute view offset of `vb.view[0]`.
    base: u64,
    /// Raw bytes still needed for output (mapped encodings only).
    raw: Vec<u8>,
    raw_base: u64,
    raw_end: u64,
    decoder: Decoder,
    encoding: Encoding,
    ac_state: Option<StateID>,
    /// The keyword automaton's anchored start state, looked up once.
    ac_start: Option<StateID>,
    discovered: u64,
    emitted: u64,
    accepted_end: u64,
    /// Queued candidates; those from `cand_head` on are not evaluated yet
    /// and are ordered by position. A vector and a cursor rather than a
    /// deque: every candidate is queued and taken once, and the queue
    /// empties at the end of every value.
    cands: Vec<(u64, Cand)>,
    cand_head: usize,
    /// Context-word hits, ordered by end. A vector rather than a deque:
    /// the context check searches it for every candidate, and a slice is
    /// cheaper to search and walk; the few hits a value holds make
    /// dropping from the front cheap.
    hits: Vec<Hit>,
    /// Where the last context search ended in `hits`: the next one
    /// starts from there (see [`hits_ending_by`]).
    hits_hint: Cell<usize>,
    pending: Vec<Match>,
    scan_cursors: Vec<u64>,
    /// Detectors already tried anchored at `ones_at` (see `Cand::One`).
    ones_at: u64,
    ones_tried: Vec<u16>,
    /// Per detector: capture-engine caches for value groups.
    caps: Vec<CapState>,
    ctx: FieldCtx,
    path: String,
    /// `path` shared by the findings of the values at it, made at the
    /// first of them.
    finding_path: Option<Arc<str>>,
    shadow: bool,
    whole: Option<(u16, Option<Pseudonymizer>, bool)>,
    pub findings: Vec<Finding>,
}

impl Scanner {
    pub fn new(engine: &Engine) -> Scanner {
        Scanner {
            vb: ViewBuf::default(),
            base: 0,
            raw: Vec::new(),
            raw_base: 0,
            raw_end: 0,
            decoder: Decoder::new(Encoding::Plain),
            encoding: Encoding::Plain,
            ac_state: None,
            ac_start: engine
                .ac
                .as_ref()
                .and_then(|ac| ac.start_state(Anchored::Yes).ok()),
            discovered: 0,
            emitted: 0,
            accepted_end: 0,
            cands: Vec::new(),
            cand_head: 0,
            hits: Vec::new(),
            hits_hint: Cell::new(0),
            pending: Vec::new(),
            scan_cursors: vec![0; engine.kind(Kind::Scan).len()],
            ones_at: u64::MAX,
            ones_tried: Vec::new(),
            caps: engine
                .detectors
                .iter()
                .map(|_| CapState::default())
                .collect(),
            ctx: FieldCtx::default(),
            path: String::new(),
            finding_path: None,
            shadow: false,
            whole: None,
            findings: Vec::new(),
        }
    }

    /// Starts a new value or body whose first raw byte is at absolute `raw_offset`.
    #[allow(clippy::too_many_arguments)]
    pub fn reset(
        &mut self,
        engine: &Engine,
        key: &PseudonymKey,
        encoding: Encoding,
        raw_offset: u64,
        ctx: &FieldCtx,
        path: &str,
        shadow: bool,
    ) {
        // A JSON string's view is its raw bytes until its first escape
        // (see `map_view`): most values have none, and then they need no
        // copy of the raw bytes and no raw map.
        let mapped_from_start = encoding.is_mapped() && encoding != Encoding::Json;
        self.vb.clear(mapped_from_start);
        self.decoder.reset(encoding);
        self.start_value(encoding, raw_offset, ctx, path, shadow);
        if let Some(d) = ctx.whole {
            let hasher = matches!(engine.detectors[d as usize].action, DetectorAction::Hash)
                .then(|| key.hasher());
            self.whole = Some((d, hasher, false));
        }
    }

    /// What [`Self::reset`] and [`Self::scan_short_value`] both set: all
    /// but the view and the decoder (and no whole-value detector yet).
    fn start_value(
        &mut self,
        encoding: Encoding,
        raw_offset: u64,
        ctx: &FieldCtx,
        path: &str,
        shadow: bool,
    ) {
        self.base = 0;
        self.raw.clear();
        self.raw_base = raw_offset;
        self.raw_end = raw_offset;
        self.encoding = encoding;
        self.ac_state = self.ac_start;
        self.discovered = 0;
        self.emitted = 0;
        self.accepted_end = 0;
        self.cands.clear();
        self.cand_head = 0;
        self.hits.clear();
        self.pending.clear();
        self.scan_cursors.iter_mut().for_each(|c| *c = 0);
        self.ones_at = u64::MAX;
        self.ones_tried.clear();
        // Set in place: assigning a whole `Option` would copy the (large)
        // hasher slot for every value.
        self.whole = None;
        // Field by field: keeps the allocation.
        self.ctx.context_ok.clone_from(&ctx.context_ok);
        self.ctx.whole = ctx.whole;
        // A value at the same path as the last one (the JSON rewriter
        // names its findings itself and gives every value the same, empty,
        // path) shares its findings' path with it. Lengths first: `!=` on
        // two empty strings still calls `memcmp`, and that call took about
        // a tenth of a JSON body's time (perf samples; criterion's ticket
        // JSON ran 13-17% faster without it).
        if self.path.len() != path.len() || (!path.is_empty() && self.path != path) {
            self.path.clear();
            self.path.push_str(path);
            self.finding_path = None;
        }
        self.shadow = shadow;
    }

    /// Redacts a whole JSON string value the tokenizer has read in one
    /// piece (`raw`, at raw offset `raw_offset`): [`Self::reset`] for
    /// [`Encoding::Json`], [`Self::push_unescaped`] and [`Self::finish`] in
    /// one, for a value with no backslash, shorter than `max_token` and
    /// with no whole-value detector (`ctx.whole`), as most are. Such bytes
    /// decode to themselves and `push` decides nothing before `max_token`
    /// bytes are buffered: the view is `raw` as it is, with no decoder and
    /// no raw map, and one pass at the end decides it all, as the three
    /// calls would.
    #[allow(clippy::too_many_arguments)]
    pub fn scan_short_value(
        &mut self,
        engine: &Engine,
        key: &PseudonymKey,
        raw_offset: u64,
        ctx: &FieldCtx,
        path: &str,
        shadow: bool,
        raw: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        debug_assert!(ctx.whole.is_none() && raw.len() < engine.max_token && !raw.contains(&b'\\'));
        self.vb.clear(false);
        self.vb.view.extend_from_slice(raw);
        self.start_value(Encoding::Json, raw_offset, ctx, path, shadow);
        self.raw_end = raw_offset + raw.len() as u64;
        let len = self.len();
        if len > 0 {
            self.discover(engine, len, true);
        }
        // Most short values (types, tags, codes) hold no candidate: with
        // none and no `scan` detector, nothing is decided, and the value is
        // its own output.
        if self.cands.is_empty() && engine.kind(Kind::Scan).is_empty() {
            out.extend_from_slice(raw);
            self.emitted = len;
            return Ok(());
        }
        self.process(engine, key, true, out)
    }

    /// Feeds raw bytes; redacted output is appended to `out`.
    pub fn push(
        &mut self,
        engine: &Engine,
        key: &PseudonymKey,
        raw: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        self.push_run(engine, key, raw, false, out)
    }

    /// [`Self::push`] for a run of a JSON string with no backslash that
    /// does not start inside an escape: the tokenizer has just read every
    /// byte of it, so the decoder does not search it for escapes again
    /// (see [`Decoder::feed_unescaped`]).
    pub fn push_unescaped(
        &mut self,
        engine: &Engine,
        key: &PseudonymKey,
        raw: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        self.push_run(engine, key, raw, true, out)
    }

    fn push_run(
        &mut self,
        engine: &Engine,
        key: &PseudonymKey,
        raw: &[u8],
        unescaped: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        if !unescaped && !self.vb.mapped && self.encoding.is_mapped() {
            self.map_view();
        }
        for slice in raw.chunks(SLICE) {
            let off = self.raw_end;
            self.raw_end += slice.len() as u64;
            if unescaped {
                self.decoder.feed_unescaped(slice, off, &mut self.vb);
            } else {
                self.decoder.feed(slice, off, &mut self.vb);
            }
            if self.whole.is_some() {
                if self.shadow {
                    out.extend_from_slice(slice);
                }
                self.absorb_whole();
                continue;
            }
            if self.vb.mapped {
                self.raw.extend_from_slice(slice);
            }
            // Until `max_token` bytes are buffered nothing can be decided or
            // emitted: leave the whole pass to `finish` (most JSON values
            // are short) or to a later push.
            if self.len() >= engine.max_token as u64 {
                self.process(engine, key, false, out)?;
            }
        }
        Ok(())
    }

    /// Starts mapping view bytes to raw ones in a JSON string read unmapped
    /// so far. Until now every run was fed unescaped from the plain state,
    /// so the view holds exactly the raw bytes from `raw_base + base` on:
    /// they become the raw buffer and one identity run.
    fn map_view(&mut self) {
        self.raw_base += self.base;
        self.raw.clear();
        self.raw.extend_from_slice(&self.vb.view);
        self.vb.map_identity(self.raw_base);
    }

    /// Ends the value or body.
    pub fn finish(
        &mut self,
        engine: &Engine,
        key: &PseudonymKey,
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        self.decoder.finish(&mut self.vb);
        if self.whole.is_some() {
            self.absorb_whole();
            return self.finish_whole(engine, out);
        }
        self.process(engine, key, true, out)
    }

    fn absorb_whole(&mut self) {
        if let Some((_, hasher, nonempty)) = &mut self.whole {
            if let Some(h) = hasher {
                h.update(&self.vb.view);
            }
            *nonempty |= !self.vb.view.is_empty();
        }
        self.vb.clear(self.vb.mapped);
    }

    fn finish_whole(&mut self, engine: &Engine, out: &mut Vec<u8>) -> Result<(), RedactError> {
        let Some((det, hasher, nonempty)) = self.whole.take() else {
            return Ok(());
        };
        if !nonempty {
            return Ok(());
        }
        let d = &engine.detectors[det as usize];
        let rendered;
        // As in `replace`: a placeholder was checked once for bytes an
        // encoding escapes, and is not copied.
        let (text, plain, action) = match (d.action, hasher) {
            (DetectorAction::Hash, Some(h)) => {
                rendered = engine.renderer.hashed(&d.id, &h.finish());
                (rendered.as_str(), false, ActionKind::Hash)
            }
            (DetectorAction::Reject, _) if !self.shadow => {
                return Err(RedactError::Rejected {
                    detector: d.id.to_string(),
                    path: self.path.clone(),
                })
            }
            _ => (
                &*engine.placeholders[det as usize],
                engine.plain_placeholders[det as usize],
                ActionKind::Mask,
            ),
        };
        let action = if self.shadow {
            ActionKind::Report
        } else {
            action
        };
        let path = self.finding_path();
        self.findings.push(Finding {
            detector: d.id.clone(),
            path,
            start: self.raw_base,
            end: self.raw_end,
            action,
        });
        if !self.shadow {
            if plain {
                out.extend_from_slice(text.as_bytes());
            } else {
                self.write_escaped(text, out);
            }
        }
        Ok(())
    }

    /// The path for a finding: one allocation per path, not per finding.
    fn finding_path(&mut self) -> Arc<str> {
        let path = &self.path;
        Arc::clone(
            self.finding_path
                .get_or_insert_with(|| Arc::from(path.as_str())),
        )
    }

    fn len(&self) -> u64 {
        self.base + self.vb.view.len() as u64
    }

    fn process(
        &mut self,
        engine: &Engine,
        key: &PseudonymKey,
        eof: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        let len = self.len();
        let disc_to = if eof {
            len
        } else {
            len.saturating_sub(PEEK as u64)
        };
        if disc_to > self.discovered {
            self.discover(engine, disc_to, eof);
        }
        let decided = self.evaluate(engine, eof)?;
        let emit_to = if eof {
            len
        } else {
            decided
                .saturating_sub(engine.back_reach as u64)
                .max(self.emitted)
        };
        self.emit(engine, key, emit_to, out)?;
        // At the end nothing is looked at again before `reset` clears it all.
        if !eof {
            self.compact(engine);
        }
        Ok(())
    }

    fn at(&self, pos: u64) -> u8 {
        self.vb.view[(pos - self.base) as usize]
    }

    /// Byte before `pos`, or a space at the start of the value.
    fn before(&self, pos: u64) -> u8 {
        if pos == 0 {
            b' '
        } else {
            self.at(pos - 1)
        }
    }

    fn peek(&self, pos: u64) -> u8 {
        if pos < self.len() {
            self.at(pos)
        } else {
            b' '
        }
    }

    /// The candidate and keyword pass over `[discovered, to)`: keywords are
    /// looked up only where a word starts. Whole blocks are classified at
    /// once (see [`block_starts`]), so only the bytes where something may
    /// start are visited, not every separator and word byte. The last
    /// block ends at `to`, overlapping the one before, so no byte past
    /// `to` is read; a view shorter than a block goes byte by byte.
    fn discover(&mut self, engine: &Engine, to: u64, eof: bool) {
        let (mut i, end) = (
            (self.discovered - self.base) as usize,
            (to - self.base) as usize,
        );
        if end < BLOCK {
            self.discover_bytes(engine, i, end, eof);
        } else {
            if i == 0 {
                let window = self.window_at(0);
                self.visit_starts(engine, 0, block_starts(&window), eof);
                i = BLOCK;
            }
            while i + BLOCK <= end {
                let window = self.vb.view[i - 1..i + BLOCK]
                    .try_into()
                    .expect("a block and the byte before it");
                self.visit_starts(engine, i, block_starts(window), eof);
                i += BLOCK;
            }
            if i < end {
                // Bytes before `i` were visited in the block before.
                let b = end - BLOCK;
                let window = self.window_at(b);
                let starts = block_starts(&window) & (u32::MAX << (i - b));
                self.visit_starts(engine, b, starts, eof);
            }
        }
        self.discovered = to;
        // Keyword candidates were queued before the byte pass's; keep the
        // queue ordered by position (stable, so rule order is kept too).
        // Mostly they are in order already (a trigger's candidate is
        // queued at its word's end, ahead of the words before that): check
        // in one pass before sorting.
        let pending = &mut self.cands[self.cand_head..];
        if !pending.is_sorted_by_key(|c| c.0) {
            pending.sort_by_key(|c| c.0);
        }
    }

    /// Visits the starts bit mask `starts` flags in the block at view
    /// index `b` (see [`block_starts`]).
    #[inline(always)]
    fn visit_starts(&mut self, engine: &Engine, b: usize, mut starts: u32, eof: bool) {
        while starts != 0 {
            let at = b + starts.trailing_zeros() as usize;
            starts &= starts - 1;
            self.start_at(engine, at, eof);
        }
    }

    /// The block at view index `b` and the byte before it (see
    /// [`Self::before`]: the view's first block has none in view).
    fn window_at(&self, b: usize) -> [u8; BLOCK + 1] {
        let mut window = [self.before(self.base + b as u64); BLOCK + 1];
        window[1..].copy_from_slice(&self.vb.view[b..b + BLOCK]);
        window
    }

    /// The byte-by-byte pass over view range `[i, end)`.
    fn discover_bytes(&mut self, engine: &Engine, mut i: usize, end: usize, eof: bool) {
        let mut prev_word = is_word(self.before(self.base + i as u64));
        while i < end {
            let b = self.vb.view[i];
            // One table lookup gives both the candidate class and whether
            // the byte is part of a word. Inside a word nothing can start:
            // every class but `@` needs a word start, and `@` is no word byte.
            let info = engine.byte_info[b as usize];
            if info & IS_WORD == 0 {
                if info != 0 {
                    self.candidate(engine, self.base + i as u64, info, prev_word, eof);
                }
                prev_word = false;
                i += 1;
                continue;
            }
            if !prev_word {
                // The letters `word_start` read are skipped (up to the end
                // of the pass: the next one starts inside the word and
                // skips the rest).
                i = (i + self.word_start(engine, i, info, eof)).min(end) - 1;
            }
            prev_word = true;
            i += 1;
            // Skip the rest of the word.
            let rest = &self.vb.view[i..end];
            i += rest
                .iter()
                .position(|&b| engine.byte_info[usize::from(b)] & IS_WORD == 0)
                .unwrap_or(rest.len());
        }
    }

    /// Visits view index `i`, which [`block_starts`] flagged: a word start
    /// or a byte that may have a class of its own.
    #[inline(always)]
    fn start_at(&mut self, engine: &Engine, i: usize, eof: bool) {
        let info = engine.byte_info[usize::from(self.vb.view[i])];
        if info & IS_WORD != 0 {
            // No later start is inside the letters it read: they are word
            // bytes after a word byte.
            self.word_start(engine, i, info, eof);
        } else if info != 0 {
            let pos = self.base + i as u64;
            self.candidate(engine, pos, info, is_word(self.before(pos)), eof);
        }
    }

    /// Queues what the word starting at view index `i` (byte info `info`)
    /// starts: keywords, and the candidates of its class. Returns how many
    /// of its bytes it read, all word bytes, at least one.
    #[inline(always)]
    fn word_start(&mut self, engine: &Engine, i: usize, info: u8, eof: bool) -> usize {
        let pos = self.base + i as u64;
        if info & KW_START != 0 {
            // Past the end of the view, spaces; one bounds check for the
            // three bytes where the view holds them (nearly always).
            let (a, b, c) = match self.vb.view.get(i..i + 3) {
                Some(&[a, b, c]) => (a, b, c),
                _ => {
                    let at = |j: usize| self.vb.view.get(j).copied().unwrap_or(b' ');
                    (at(i), at(i + 1), at(i + 2))
                }
            };
            if engine.kw_starts.may_start(a, b, c) {
                self.keywords_at(engine, pos);
            }
        }
        let class = info & !(IS_WORD | KW_START);
        if class & (C_UPPER | C_HIGH) != 0 {
            return self.word_candidates(engine, pos, class);
        }
        if class != 0 {
            self.candidate(engine, pos, class, false, eof);
        }
        1
    }

    /// Runs the anchored keyword automaton from a word start.
    ///
    /// Not forced inline (nor are `keyword_hit` and `word_candidates`):
    /// the candidate pass's visit is inlined at four places, and with
    /// these inside each, its code outgrew the instruction cache on JSON
    /// bodies, where the rewriter's code runs between values. Forced, they
    /// saved 1.2 instructions a byte, but callgrind's cache simulation
    /// counted 12% more first-level instruction misses on ticket JSON, and
    /// the CLI ran ticket JSON about 6-9% slower.
    #[inline]
    fn keywords_at(&mut self, engine: &Engine, pos: u64) {
        let (Some(ac), Some(mut sid)) = (engine.ac.as_ref(), self.ac_state) else {
            return;
        };
        debug_assert!(!is_word(self.before(pos)), "keywords start at word starts");
        let mut i = (pos - self.base) as usize;
        while let Some((len, at)) = next_keyword_end(ac, &mut sid, &self.vb.view[i..]) {
            i += len;
            let end = self.base + i as u64;
            // A match ending inside a word ("kr" in "kraschar") counts
            // only for a prefix: a whole word must stand alone. One test
            // for all the keywords ending here.
            let inside = is_word(self.vb.view[i - 1]) && is_word(self.peek(end));
            for k in 0..ac.match_len(at) {
                let kw = ac.match_pattern(at, k).as_u32();
                if !(inside && engine.keywords[kw as usize].whole_word) {
                    self.keyword_hit(engine, kw, end);
                }
            }
        }
    }

    /// Keyword `kw` matched up to `end`; a whole word does not end inside
    /// a word (`keywords_at` checked). It starts at the walk's start or,
    /// a keyword the automaton reports as a suffix of a longer one ("på"
    /// of "bor på", "nummer" of "fakturanummer"), later.
    #[inline]
    fn keyword_hit(&mut self, engine: &Engine, kw: u32, end: u64) {
        let k = &engine.keywords[kw as usize];
        let start = end - k.len as u64;
        if let Some(exact) = &k.exact {
            let s = (start - self.base) as usize;
            if &self.vb.view[s..s + exact.len()] != exact.as_slice() || is_word(self.before(start))
            {
                return;
            }
            for &d in &k.prefix_for {
                self.cands.push((start, Cand::One(d)));
            }
            return;
        }
        if is_word(self.at(start)) && is_word(self.before(start)) {
            return;
        }
        if !k.context_for.is_empty() || !k.negative_for.is_empty() {
            self.push_hit(Hit { end, kw });
        }
        for &d in &k.trigger_for {
            self.cands.push((end, Cand::One(d)));
        }
    }

    /// Queues a context hit, keeping the queue ordered by end (stable):
    /// `context_allows` relies on it. Hits come in word-start order, so
    /// only a keyword inside a longer one (a "på" in "bor på gatan") ends
    /// before the last hit and is put in its place.
    fn push_hit(&mut self, hit: Hit) {
        if self.hits.last().is_none_or(|h| h.end <= hit.end) {
            self.hits.push(hit);
        } else {
            let at = self.hits.partition_point(|h| h.end <= hit.end);
            self.hits.insert(at, hit);
        }
    }

    /// Queues the candidates byte class `class` starts at `pos`.
    /// `after_word` is whether the byte before is a word byte: the byte
    /// pass knows it, so the byte is not read again here (a debug build
    /// checks the two agree). `eof`: the view holds the rest of the value.
    fn candidate(&mut self, engine: &Engine, pos: u64, class: u8, after_word: bool, eof: bool) {
        debug_assert_eq!(after_word, is_word(self.before(pos)));
        if class & (C_DIGIT | C_SIGN) != 0 && !after_word {
            // Not after a word byte, so not after a digit either.
            let digit_start = class & C_DIGIT != 0;
            let sign_start = class & C_SIGN != 0 && self.peek(pos + 1).is_ascii_digit();
            // Each detector's own minimum is checked when it is tried (see
            // `try_number`): counting here only pays when the rules' least
            // minimum can drop the run for all of them.
            if (digit_start || sign_start)
                && (engine.number_min_digits == 0
                    || self.digit_count(pos) >= engine.number_min_digits)
            {
                self.number_candidate(engine, pos, eof);
            }
        }
        if class & C_AT != 0 {
            self.cands.push((pos, Cand::Email));
        }
        if class & C_COLON != 0 {
            self.ipv6_candidate(pos);
        }
    }

    /// Queues the number candidate at `pos`, with the number screen's
    /// answer where the bytes in view settle it: most runs (dates, times,
    /// amounts) pass no detector within a few bytes, and such a run is
    /// not queued at all. The answer is the one evaluation would get: the
    /// view keeps these bytes until then, and only grows at the end. Where
    /// the whole window is in view (`eof`, or it ends before the view
    /// does), the full answer is taken here: a run the screen walks to the
    /// end of a short value (an id in a JSON string) need not be queued to
    /// be walked again.
    fn number_candidate(&mut self, engine: &Engine, pos: u64, eof: bool) {
        let settled = engine.number_screen.as_ref().and_then(|screen| {
            let (s, end) = self.screen_window(engine, pos);
            screen.settled(&self.vb.view, s, end, eof || end < self.vb.view.len())
        });
        match settled {
            Some(0) if engine.unscreened.is_empty() => {}
            Some(mask) => self.cands.push((pos, Cand::Screened(mask))),
            None => self.cands.push((pos, Cand::Number)),
        }
    }

    /// The view range the number screen reads for the run at `pos`: up to
    /// `max_token` bytes. The candidate pass and evaluation both take it
    /// from here, so an answer the candidate pass settles is the one
    /// evaluation would get.
    fn screen_window(&self, engine: &Engine, pos: u64) -> (usize, usize) {
        let s = (pos - self.base) as usize;
        (s, (s + engine.max_token).min(self.vb.view.len()))
    }

    /// Queues the IPv6 candidate the colon at `colon` implies: a word of one
    /// to four hex digits right before it (`fe80:`), or the colon itself
    /// when a second one follows (`::1`). The start must not follow a word
    /// byte, `:` or `.` (the middle of an address or of a dotted number).
    fn ipv6_candidate(&mut self, colon: u64) {
        let mut start = colon;
        while start > self.base && colon - start < 5 && self.at(start - 1).is_ascii_hexdigit() {
            start -= 1;
        }
        let hex = colon - start;
        if hex > 4 || (hex == 0 && self.peek(colon + 1) != b':') {
            return;
        }
        let prev = self.before(start);
        if !is_word(prev) && prev != b':' && prev != b'.' {
            self.cands.push((start, Cand::Ipv6));
        }
    }

    /// Queues the candidates of a word starting at `pos` with a capital
    /// (byte class `class`); returns how many of its bytes it read, all
    /// letters, so at least one: the byte pass need not read them again.
    #[inline]
    fn word_candidates(&mut self, engine: &Engine, pos: u64, class: u8) -> usize {
        if class & C_UPPER != 0
            && self.peek(pos + 1).is_ascii_uppercase()
            && self.peek(pos + 2).is_ascii_digit()
            && self.peek(pos + 3).is_ascii_digit()
            && !engine.kind(Kind::Iban).is_empty()
        {
            self.cands.push((pos, Cand::Iban));
        }
        if class & C_HIGH != 0 && !self.upper_at(pos) {
            return 1;
        }
        let (word_end, known) = self.word_at(engine, pos);
        if known && !engine.kind(Kind::Name).is_empty() {
            self.cands.push((pos, Cand::Name));
        }
        if !engine.kind(Kind::Postal).is_empty()
            && self.peek(word_end) == b' '
            && self.peek(word_end + 1).is_ascii_digit()
            && self.postal_word_may_match(engine, pos, word_end)
        {
            self.cands.push((pos, Cand::PostalWord));
        }
        // At least the capital: `word_at` stops at the first non-letter.
        (word_end - pos).max(1) as usize
    }

    /// Whether a postal detector may match at the word `[pos, end)`, which
    /// a space and a digit follow, by its last two letters (see
    /// [`Engine::postal_word_ends`]): most such words ("Invoice 12") end
    /// in no street suffix. Shorter words always may.
    fn postal_word_may_match(&self, engine: &Engine, pos: u64, end: u64) -> bool {
        let Some(pairs) = &engine.postal_word_ends else {
            return true;
        };
        let e = (end - self.base) as usize;
        end - pos < 2 || pairs.may_end(self.vb.view[e - 2], self.vb.view[e - 1])
    }

    fn upper_at(&self, pos: u64) -> bool {
        let s = (pos - self.base) as usize;
        let end = (s + 4).min(self.vb.view.len());
        let bytes = &self.vb.view[s..end];
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        };
        text.chars().next().is_some_and(char::is_uppercase)
    }

    /// End of the word (letters) starting at `pos` (at most 40 bytes), and
    /// whether the name gazetteer knows it.
    fn word_at(&self, engine: &Engine, pos: u64) -> (u64, bool) {
        let s = (pos - self.base) as usize;
        let bytes = &self.vb.view[s..(s + 40).min(self.vb.view.len())];
        let len = letters_run(bytes);
        let known = engine.gazetteer.is_candidate(&bytes[..len]);
        (pos + len as u64, known)
    }

    /// Digits in the number-like run at `pos` (see [`run_digits`]).
    fn digit_count(&self, pos: u64) -> usize {
        let s = (pos - self.base) as usize;
        run_digits(&self.vb.view[s..(s + RUN_WINDOW).min(self.vb.view.len())])
    }

    /// Evaluates every candidate that has enough lookahead; returns the
    /// position below which all candidates are decided.
    fn evaluate(&mut self, engine: &Engine, eof: bool) -> Result<u64, RedactError> {
        let len = self.len();
        let ready = if eof {
            len
        } else {
            len.saturating_sub(engine.max_token as u64)
        };
        let mut decided = self.discovered.min(ready);
        while let Some(&(pos, cand)) = self.cands.get(self.cand_head) {
            if pos >= ready && !eof {
                decided = decided.min(pos);
                break;
            }
            self.cand_head += 1;
            self.eval_candidate(engine, pos, cand)?;
        }
        self.cands.drain(..self.cand_head);
        self.cand_head = 0;
        for (i, &det) in engine.kind(Kind::Scan).iter().enumerate() {
            let cursor = self.scan_pass(engine, det, i, ready, eof)?;
            decided = decided.min(cursor);
        }
        Ok(if eof { len } else { decided })
    }

    fn eval_candidate(&mut self, engine: &Engine, pos: u64, cand: Cand) -> Result<(), RedactError> {
        match cand {
            Cand::Number => self.try_numbers(engine, pos, None)?,
            Cand::Screened(mask) => self.try_numbers(engine, pos, Some(mask))?,
            Cand::Email => {
                let start = self.local_part_start(pos);
                if start < pos {
                    for &d in engine.kind(Kind::Email) {
                        self.try_detector(engine, d, start, pos + 1)?;
                    }
                }
            }
            Cand::Iban => self.try_all(engine, Kind::Iban, pos)?,
            Cand::Ipv6 => self.try_all(engine, Kind::Ipv6, pos)?,
            Cand::Name => self.try_all(engine, Kind::Name, pos)?,
            Cand::PostalWord => self.try_all(engine, Kind::Postal, pos)?,
            Cand::One(d) => {
                // Nested triggers ("med venlig hilsen", "venlig hilsen",
                // "hilsen") end at the same place and queue the same
                // anchored candidate: the result is the same, so try it once.
                if self.ones_at != pos {
                    self.ones_at = pos;
                    self.ones_tried.clear();
                }
                if !self.ones_tried.contains(&d) {
                    self.ones_tried.push(d);
                    self.try_detector(engine, d, pos, pos)?;
                }
            }
        }
        Ok(())
    }

    /// Tries the numeric detectors at a digit run: only those the number
    /// screen lets through (`screened`: its answer, if the candidate pass
    /// had it), or all of them when there is no screen.
    fn try_numbers(
        &mut self,
        engine: &Engine,
        pos: u64,
        screened: Option<u64>,
    ) -> Result<(), RedactError> {
        // The run's digits are counted on first need: the screen turns most
        // runs (dates, times, amounts) away from every detector.
        let mut digits = None;
        let Some(screen) = &engine.number_screen else {
            for &d in &engine.numeric {
                self.try_number(engine, d, &mut digits, pos)?;
            }
            return Ok(());
        };
        for &d in &engine.unscreened {
            self.try_number(engine, d, &mut digits, pos)?;
        }
        let mask = screened.unwrap_or_else(|| {
            let (s, end) = self.screen_window(engine, pos);
            screen.matching(&self.vb.view, s, end)
        });
        // A member screened by its digit minimum passed it only if the run
        // has the digits, unless the screen was undecided (all ones).
        let gated = if mask == u64::MAX {
            0
        } else {
            engine.digit_gated
        };
        for d in screen.members_of(mask & gated) {
            self.try_detector(engine, d, pos, pos)?;
        }
        for d in screen.members_of(mask & !gated) {
            self.try_number(engine, d, &mut digits, pos)?;
        }
        Ok(())
    }

    /// Tries numeric detector `d` at the run at `pos`, unless the run has
    /// fewer digits than it needs. `digits` caches the run's count; taken
    /// here rather than in the candidate pass, it is still the same: the
    /// count reads at most [`RUN_WINDOW`] bytes past `pos`, and the candidate pass
    /// reached `pos` with [`PEEK`] bytes of lookahead (or at the value's
    /// end), which the view still holds.
    fn try_number(
        &mut self,
        engine: &Engine,
        d: u16,
        digits: &mut Option<usize>,
        pos: u64,
    ) -> Result<(), RedactError> {
        let min = engine.detectors[d as usize].min_digits;
        if min == 0 || min <= *digits.get_or_insert_with(|| self.digit_count(pos)) {
            self.try_detector(engine, d, pos, pos)?;
        }
        Ok(())
    }

    fn try_all(&mut self, engine: &Engine, kind: Kind, pos: u64) -> Result<(), RedactError> {
        for &d in engine.kind(kind) {
            self.try_detector(engine, d, pos, pos)?;
        }
        Ok(())
    }

    /// Walks back from `@` over local-part bytes.
    fn local_part_start(&self, at: u64) -> u64 {
        let floor = at.saturating_sub(EMAIL_LOCAL_MAX as u64).max(self.base);
        let mut s = at;
        while s > floor {
            let b = self.at(s - 1);
            if is_word(b) || b"._%+-'".contains(&b) {
                s -= 1;
            } else {
                break;
            }
        }
        s
    }

    /// Runs detector `d` anchored at `start`; its match must reach past `min_end`.
    fn try_detector(
        &mut self,
        engine: &Engine,
        d: u16,
        start: u64,
        min_end: u64,
    ) -> Result<(), RedactError> {
        let det = &engine.detectors[d as usize];
        let s = (start - self.base) as usize;
        // A trigger word can end the input: nothing follows to match.
        if s >= self.vb.view.len() || !det.first[self.vb.view[s] as usize] {
            return Ok(());
        }
        // Where the engine allows it, context goes first: it is cheaper
        // than the search and rules out most numbers near "order".
        let early = if engine.context_first[d as usize] {
            let Some(context) = self.context_allows(engine, d, start) else {
                return Ok(());
            };
            Some(context)
        } else {
            None
        };
        let cap_end = s + engine.max_token;
        let wend = cap_end.min(self.vb.view.len());
        let input = Input::new(&self.vb.view)
            .range(s..wend)
            .anchored(ReAnchored::Yes);
        let group = engine.value_groups[d as usize];
        let Some((m, value)) = self.caps[d as usize].find(det, &input, group) else {
            return Ok(());
        };
        if m.end >= cap_end {
            return Err(RedactError::TokenTooLong {
                offset: self.raw_at(self.base + s as u64),
                limit: engine.max_token,
            });
        }
        if value.is_empty() || self.base + (m.end as u64) < min_end {
            return Ok(());
        }
        let (vs, ve) = (self.base + value.start as u64, self.base + value.end as u64);
        // Both checks are pure: the cheap context one goes first.
        let Some(context) = early.or_else(|| self.context_allows(engine, d, vs)) else {
            return Ok(());
        };
        let found = Match {
            start: vs,
            neg_len: -((ve - vs) as i64),
            without_context: !context,
            det: d,
            end: ve,
        };
        // Validated when accepted, not now (see [`Self::valid`]).
        self.pending.push(found);
        Ok(())
    }

    /// Whether context lets detector `d` match a value starting at `vs`:
    /// `None` if not, else whether a context word (or field) supports it.
    /// The nearest relevant word in the window decides, so "telefon" right
    /// before a number beats "ordernummer" earlier in the sentence.
    fn context_allows(&self, engine: &Engine, d: u16, vs: u64) -> Option<bool> {
        let det = &engine.detectors[d as usize];
        if self.ctx.context_ok.contains(d) {
            return Some(true);
        }
        // Without context words of its own no hit can decide (names,
        // credentials): skip the search.
        let word = if engine.context_words[d as usize] {
            self.nearest_context_word(engine, d, vs)
        } else {
            None
        };
        match word {
            Some(supports) => supports.then_some(true),
            None => (!det.require_context).then_some(false),
        }
    }

    /// The nearest context (`true`) or negative (`false`) word for detector
    /// `d` in its window before `vs`, if any.
    fn nearest_context_word(&self, engine: &Engine, d: u16, vs: u64) -> Option<bool> {
        let det = &engine.detectors[d as usize];
        let window = det.context_window.unwrap_or(engine.window) as u64;
        let lo = vs.saturating_sub(window);
        // Hits are ordered by end; candidates are decided well behind
        // discovery, and mostly in order: find the window's end from where
        // the last search ended. The window itself holds a few hits at
        // most: walk back from there.
        let to = hits_ending_by(&self.hits, vs, self.hits_hint.get());
        self.hits_hint.set(to);
        for h in self.hits[..to].iter().rev().take_while(|h| h.end >= lo) {
            let k = &engine.keywords[h.kw as usize];
            if k.negative_for.contains(d) {
                return Some(false);
            }
            if k.context_for.contains(d) {
                return Some(true);
            }
        }
        None
    }

    /// The own pass of a `scan` detector, from its cursor; returns the new cursor.
    fn scan_pass(
        &mut self,
        engine: &Engine,
        d: u16,
        i: usize,
        ready: u64,
        eof: bool,
    ) -> Result<u64, RedactError> {
        let det = &engine.detectors[d as usize];
        loop {
            let cursor = self.scan_cursors[i].max(self.base);
            let s = (cursor - self.base) as usize;
            // Where a whole match would fit in view, the search has seen
            // every match that starts there: the next search starts past it.
            let fits = det.max_len.map_or(cursor, |n| {
                (self.len() + 1).saturating_sub(n as u64).min(self.len())
            });
            let input = Input::new(&self.vb.view).range(s..);
            let group = engine.value_groups[d as usize];
            let Some((m, value)) = self.caps[d as usize].find(det, &input, group) else {
                self.scan_cursors[i] = cursor.max(ready).max(fits);
                return Ok(self.scan_cursors[i]);
            };
            let (ms, me) = (self.base + m.start as u64, self.base + m.end as u64);
            if ms >= ready && !eof {
                // No match starts before `ms` in view; one may still, once
                // more bytes come, where a whole match would not fit.
                self.scan_cursors[i] = cursor.max(fits.min(ms));
                return Ok(ms);
            }
            if m.len() >= engine.max_token {
                return Err(RedactError::TokenTooLong {
                    offset: self.raw_at(ms),
                    limit: engine.max_token,
                });
            }
            self.scan_cursors[i] = if me > ms { me } else { ms + 1 };
            if value.is_empty() {
                continue;
            }
            // Like an anchored match: the `value` group is what context,
            // validation and the action see.
            let (vs, ve) = (self.base + value.start as u64, self.base + value.end as u64);
            if let Some(context) = self.context_allows(engine, d, vs) {
                self.pending.push(Match {
                    start: vs,
                    neg_len: -((ve - vs) as i64),
                    without_context: !context,
                    det: d,
                    end: ve,
                });
            }
        }
    }

    /// Raw offset of view position `pos`.
    fn raw_at(&self, pos: u64) -> u64 {
        if !self.vb.mapped {
            return self.raw_base + pos;
        }
        let i = (pos - self.base) as usize;
        self.vb.raw(i).unwrap_or(self.raw_end)
    }

    /// Accepts decided matches and writes output up to `emit_to`.
    fn emit(
        &mut self,
        engine: &Engine,
        key: &PseudonymKey,
        emit_to: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        // Raw offset of `self.emitted` once known: in a mapped view each
        // lookup is a search, and a match's end is where the next copy starts.
        let mut emitted_raw = None;
        if !self.pending.is_empty() {
            // Undecided matches are kept in place: the queue keeps its
            // allocation from value to value.
            let mut pending = std::mem::take(&mut self.pending);
            pending.sort_unstable();
            let mut kept = 0;
            for i in 0..pending.len() {
                let m = pending[i];
                if m.start < self.accepted_end {
                    continue;
                }
                debug_assert!(
                    m.start >= self.emitted,
                    "a match reached back into emitted output"
                );
                if m.start >= emit_to {
                    pending[kept] = m;
                    kept += 1;
                    continue;
                }
                if !self.valid(engine, &m) {
                    continue;
                }
                let (ra, rb) = (self.raw_at(m.start), self.raw_at(m.end));
                self.copy(self.emitted, emitted_raw, m.start, Some(ra), out);
                self.replace(engine, key, m, (ra, rb), out)?;
                emitted_raw = Some(rb);
                self.emitted = m.end;
                self.accepted_end = m.end;
            }
            pending.truncate(kept);
            self.pending = pending;
        }
        if emit_to > self.emitted {
            self.copy(self.emitted, emitted_raw, emit_to, None, out);
            self.emitted = emit_to;
        }
        Ok(())
    }

    /// Whether match `m` passes its detector's validator. Called when the
    /// match is about to be accepted rather than when it is found: a match
    /// that starts inside an accepted one is dropped unvalidated (a name
    /// after a greeting is found again by the gazetteer; a card number is
    /// found again by the generic number detectors), and an invalid match
    /// skipped here leaves the queue as if it had never been found. The
    /// view still holds its bytes: nothing at or after `emitted` is
    /// compacted away.
    fn valid(&self, engine: &Engine, m: &Match) -> bool {
        let (s, e) = ((m.start - self.base) as usize, (m.end - self.base) as usize);
        engine.detectors[m.det as usize]
            .validator
            .is_none_or(|validate| validate(&self.vb.view[s..e], &engine.gazetteer))
    }

    /// Copies the raw bytes behind view range `[a, b)`, given the raw
    /// offsets of `a` and `b` where the caller has already looked them up.
    fn copy(&self, a: u64, ra: Option<u64>, b: u64, rb: Option<u64>, out: &mut Vec<u8>) {
        if a >= b {
            return;
        }
        if !self.vb.mapped {
            out.extend_from_slice(
                &self.vb.view[(a - self.base) as usize..(b - self.base) as usize],
            );
            return;
        }
        let ra = ra.unwrap_or_else(|| self.raw_at(a));
        let rb = rb.unwrap_or_else(|| self.raw_at(b));
        out.extend_from_slice(
            &self.raw[(ra - self.raw_base) as usize..(rb - self.raw_base) as usize],
        );
    }

    /// Accepts match `m`, whose ends are at raw offsets `ra` and `rb`: its
    /// finding, and its replacement in the output.
    fn replace(
        &mut self,
        engine: &Engine,
        key: &PseudonymKey,
        m: Match,
        (ra, rb): (u64, u64),
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        let det = &engine.detectors[m.det as usize];
        let action = match det.action {
            _ if self.shadow => ActionKind::Report,
            DetectorAction::Mask => ActionKind::Mask,
            DetectorAction::Partial { .. } => ActionKind::Partial,
            DetectorAction::Hash => ActionKind::Hash,
            DetectorAction::Reject => {
                return Err(RedactError::Rejected {
                    detector: det.id.to_string(),
                    path: self.path.clone(),
                })
            }
        };
        let path = self.finding_path();
        self.findings.push(Finding {
            detector: det.id.clone(),
            path,
            start: ra,
            end: rb,
            action,
        });
        if self.shadow {
            self.copy(m.start, Some(ra), m.end, Some(rb), out);
            return Ok(());
        }
        let (a, b) = ((m.start - self.base) as usize, (m.end - self.base) as usize);
        let rendered;
        // A placeholder does not depend on the value: don't decode it; and
        // it was checked once for bytes an encoding escapes.
        let (text, plain) = match det.action {
            DetectorAction::Mask => {
                let d = m.det as usize;
                (&*engine.placeholders[d], engine.plain_placeholders[d])
            }
            action => {
                let value = String::from_utf8_lossy(&self.vb.view[a..b]);
                rendered = engine.renderer.render(&det.id, action, &value, key);
                (rendered.as_str(), false)
            }
        };
        if plain {
            out.extend_from_slice(text.as_bytes());
        } else {
            self.write_escaped(text, out);
        }
        // Markup inside the replaced span (a `<br>` between name parts) is kept.
        for i in self.vb.markup_starts(a, b) {
            let pos = self.base + i as u64;
            let (ta, tb) = (self.raw_at(pos), self.raw_at(pos + 1));
            out.extend_from_slice(
                &self.raw[(ta - self.raw_base) as usize..(tb - self.raw_base) as usize],
            );
        }
        Ok(())
    }

    /// Writes replacement text escaped for the encoding it lands in.
    fn write_escaped(&self, text: &str, out: &mut Vec<u8>) {
        let (html, json) = (self.encoding.is_html(), self.encoding.is_json());
        // Placeholders rarely need escaping: copy them in one go.
        let special = |b: u8| {
            (html && matches!(b, b'&' | b'<' | b'>'))
                || (json && (b == b'"' || b == b'\\' || b < 0x20))
        };
        if !text.bytes().any(special) {
            out.extend_from_slice(text.as_bytes());
            return;
        }
        for &b in text.as_bytes() {
            match b {
                b'&' if html => out.extend_from_slice(b"&amp;"),
                b'<' if html => out.extend_from_slice(b"&lt;"),
                b'>' if html => out.extend_from_slice(b"&gt;"),
                _ if json => json_escape_byte(b, out),
                _ => out.push(b),
            }
        }
    }

    /// Drops buffered bytes nothing can look at any more.
    fn compact(&mut self, engine: &Engine) {
        let keep_back = (engine.max_window.max(engine.back_reach) + PEEK) as u64;
        let keep_from = self.emitted.saturating_sub(keep_back).min(self.discovered);
        // Hits are ordered by end, so those out of every window are a prefix.
        let stale = self
            .hits
            .partition_point(|h| h.end + (engine.max_window as u64) < self.emitted);
        if stale > 0 {
            self.hits.drain(..stale);
        }
        let n = (keep_from.saturating_sub(self.base)) as usize;
        if n < 8192 {
            return;
        }
        if self.vb.mapped {
            let raw_cut = self.raw_at(keep_from);
            self.raw.drain(..(raw_cut - self.raw_base) as usize);
            self.raw_base = raw_cut;
        }
        self.vb.drain(n);
        self.base += n as u64;
    }
}

/// Steps the anchored keyword automaton from `*sid` over `bytes` to its
/// next match state: the bytes consumed and that state, or `None` once it
/// dies or the bytes run out. A walk over the slice, not indexed steps:
/// every word start that passes the keyword filter takes a few of these.
fn next_keyword_end(ac: &DFA, sid: &mut StateID, bytes: &[u8]) -> Option<(usize, StateID)> {
    for (k, &b) in bytes.iter().enumerate() {
        *sid = ac.next_state(Anchored::Yes, *sid, b);
        if ac.is_special(*sid) {
            if ac.is_dead(*sid) {
                return None;
            }
            if ac.is_match(*sid) {
                return Some((k + 1, *sid));
            }
        }
    }
    None
}

/// How many of `hits` (ordered by end) end at or before `vs`, as
/// `partition_point` answers, searched from `hint` (any index; a stale one
/// only costs time): candidates are evaluated mostly in order, so the
/// answer is usually at or a few hits past the previous one, while a
/// binary search over the hits discovery has run ahead to (hundreds in a
/// long text) costs a dozen steps every time.
fn hits_ending_by(hits: &[Hit], vs: u64, hint: usize) -> usize {
    let by = |h: &Hit| h.end <= vs;
    let hint = hint.min(hits.len());
    if hint > 0 && !by(&hits[hint - 1]) {
        return hits[..hint].partition_point(by);
    }
    let ahead = &hits[hint..];
    match ahead.iter().take(8).position(|h| !by(h)) {
        Some(n) => hint + n,
        None => hint + ahead.partition_point(by),
    }
}

/// Bytes the candidate pass classifies at once (see [`block_starts`]).
const BLOCK: usize = 16;

/// Bit `k` set where byte `k + 1` of `window` (a block and the byte before
/// it) may start something: a word start, or a byte some candidate class
/// may mark that is no word byte (`@`, `:`, `+`, `(`; the byte table then
/// tells which are classes of these rules). Every byte is tested with no
/// branch, which vectorises: most bytes (word bodies, separators) start
/// nothing, and are then never visited one by one.
fn block_starts(window: &[u8; BLOCK + 1]) -> u32 {
    let mut flags = [0u8; BLOCK];
    for (k, flag) in flags.iter_mut().enumerate() {
        let (before, b) = (window[k], window[k + 1]);
        *flag = u8::from(word_byte(b) & !word_byte(before) | class_mark(b));
    }
    gather_bits(flags)
}

/// [`is_word`] as range tests, which vectorise (a table lookup does not).
fn word_byte(b: u8) -> bool {
    (b.wrapping_sub(b'0') < 10) | ((b | 0x20).wrapping_sub(b'a') < 26) | (b >= 0x80)
}

/// The bytes no word contains that a candidate class may mark.
fn class_mark(b: u8) -> bool {
    (b == b'@') | (b == b':') | (b == b'+') | (b == b'(')
}

/// Bit `k` of the result is byte `k` of `flags` (each 0 or 1): one
/// multiplication gathers eight bytes' low bits into the top byte.
fn gather_bits(flags: [u8; BLOCK]) -> u32 {
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let half = |h: u64| (h.wrapping_mul(GATHER) >> 56) as u32;
    let x = u128::from_le_bytes(flags);
    half(x as u64) | half((x >> 64) as u64) << 8
}

/// What a byte is to the runs the candidate pass measures: a digit or a
/// separator of a number-like run ([`Scanner::digit_count`]), a letter of a
/// word ([`Scanner::word_at`]: ASCII letters and every byte from 0x80), or
/// neither. One table load per byte instead of a chain of range tests.
const RUN_BYTES: [u8; 256] = {
    let mut t = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = match c {
            b'0'..=b'9' => DIGIT,
            b' ' | b'-' | b'.' | b'/' | b'+' | b'(' | b')' => SEPARATOR,
            _ if c.is_ascii_alphabetic() || c >= 0x80 => LETTER,
            _ => 0,
        };
        b += 1;
    }
    t
};
const DIGIT: u8 = 1;
const SEPARATOR: u8 = 2;
const LETTER: u8 = 3;

/// How many letters `bytes` starts with (as [`RUN_BYTES`] tells letters).
/// Eight bytes at a time: most capitalised words, which the candidate
/// pass measures, are shorter than that and take a single step instead
/// of a table load and a branch per letter. The last bytes, fewer than
/// eight, go one by one.
fn letters_run(bytes: &[u8]) -> usize {
    let mut n = 0;
    while let Some(chunk) = bytes.get(n..n + 8) {
        let lanes = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let others = !letter_lanes(lanes) & LANE_HIGH;
        if others != 0 {
            return n + (others.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    let rest = &bytes[n..];
    n + rest
        .iter()
        .position(|&b| RUN_BYTES[usize::from(b)] != LETTER)
        .unwrap_or(rest.len())
}

/// The high bit of every byte lane of a `u64`.
const LANE_HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte lane of `lanes` set where the byte is a
/// letter: from 0x80, or ASCII `a`..=`z` once case is folded. The low
/// seven bits of a lane plus a constant below 0x80 stay within the lane,
/// so one addition compares every lane with a bound.
fn letter_lanes(lanes: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const CASE: u64 = 0x20 * ONES;
    let folded = (lanes | CASE) & !LANE_HIGH;
    let from_a = folded + u64::from(0x80 - b'a') * ONES;
    let past_z = folded + u64::from(0x7f - b'z') * ONES;
    (lanes & LANE_HIGH) | (from_a & !past_z & LANE_HIGH)
}

/// Bytes of a number-like run [`Scanner::digit_count`] looks at.
const RUN_WINDOW: usize = 48;

/// Digits in the number-like run `bytes` starts with: digits with at most
/// two separators before each.
fn run_digits(bytes: &[u8]) -> usize {
    let mut digits = 0;
    let mut seps = 0;
    for &b in bytes {
        match RUN_BYTES[usize::from(b)] {
            DIGIT => {
                digits += 1;
                seps = 0;
            }
            SEPARATOR if seps < 2 => seps += 1,
            _ => break,
        }
    }
    digits
}

/// A pattern that matches, anchored at a candidate, exactly when
/// [`Scanner::digit_count`] counts at least `n` digits there: `n` times up
/// to two separators and a digit. A detector needing `n` digits is tried
/// only then, so the number screen can screen it by this (see
/// `engine::number_screen`) when its own pattern does not screen. `None`
/// for `n` below 2 (every candidate has a digit) and where `n` digits may
/// lie past the count's window (three bytes a digit; the screen reads at
/// least `max_token` bytes, 64 or more).
pub(crate) fn digit_gate(n: usize) -> Option<String> {
    if n < 2 || 3 * n > RUN_WINDOW {
        return None;
    }
    let separators: String = (0..=255u8)
        .filter(|&b| RUN_BYTES[usize::from(b)] == SEPARATOR)
        .map(|b| format!(r"\x{b:02X}"))
        .collect();
    Some(format!(r"(?-u:(?:[{separators}]{{0,2}}[0-9]){{{n}}})"))
}

/// One detector's capture-engine state, made on first use.
#[derive(Default)]
struct CapState {
    onepass: Option<onepass::Cache>,
    backtrack: Option<backtrack::Cache>,
    caps: Option<Captures>,
    /// For the general engine (no capture engine, or a span too long for
    /// the backtracker).
    meta: Option<Captures>,
}

impl CapState {
    /// The match of `det` on `input` (anchored for every kind but `scan`)
    /// and its `value` span (the whole match when the pattern has no
    /// `value` group).
    fn find(
        &mut self,
        det: &Detector,
        input: &Input,
        group: Option<usize>,
    ) -> Option<(Range<usize>, Range<usize>)> {
        let s = input.start();
        if let (Some(g), Some(split), Some(fast)) = (group, &det.value_split, &det.fast) {
            // The DFA finds the match, the split its `value` group; only a
            // split that stays open needs the capture engine.
            if let Some(found) = detect::match_end(fast, input.haystack(), s, input.end()) {
                let end = found?;
                return match split.value_start(input.haystack(), s, end) {
                    Some(vs) => Some((s..end, vs..end)),
                    None => self.resolve(det, &input.clone().range(s..end), g),
                };
            }
        }
        if let (Some(g), Some(CaptureEngine::OnePass(_))) = (group, &det.captures) {
            // A one-pass search stops at its dead state just as the DFA
            // does, so running it on the whole window costs one walk, not
            // a DFA walk and then a capture walk over the same bytes.
            return self.resolve(det, input, g);
        }
        let fast_end = match &det.fast {
            Some(fast) => match detect::match_end(fast, input.haystack(), s, input.end()) {
                Some(Some(end)) => Some(end),
                Some(None) => return None,
                None => None,
            },
            None => None,
        };
        match (group, fast_end) {
            (None, Some(end)) => Some((s..end, s..end)),
            (None, None) => det.regex.search(input).map(|m| (m.range(), m.range())),
            (Some(g), fast_end) => {
                // Find where the match ends with a DFA first, then resolve
                // the groups on exactly that span: the backtracker pays per
                // byte of haystack, and the window can be kilobytes.
                let end = match fast_end {
                    Some(end) => end,
                    None => det.regex.search(input)?.end(),
                };
                let input = input.clone().range(s..end);
                self.resolve(det, &input, g)
            }
        }
    }

    /// The match and `value` group (index `g`) of `det` on `input`: the
    /// whole window for a one-pass engine, else exactly the span its DFA
    /// matched (see [`CapState::find`]).
    fn resolve(
        &mut self,
        det: &Detector,
        input: &Input,
        g: usize,
    ) -> Option<(Range<usize>, Range<usize>)> {
        let resolved = match &det.captures {
            Some(CaptureEngine::OnePass(dfa)) => {
                let cache = self.onepass.get_or_insert_with(|| dfa.create_cache());
                let caps = self.caps.get_or_insert_with(|| dfa.create_captures());
                dfa.try_search(cache, input, caps).is_ok().then_some(&*caps)
            }
            Some(CaptureEngine::Backtrack(bt)) => {
                let cache = self.backtrack.get_or_insert_with(|| bt.create_cache());
                let caps = self.caps.get_or_insert_with(|| bt.create_captures());
                bt.try_search(cache, input, caps).is_ok().then_some(&*caps)
            }
            None => None,
        };
        let caps = match resolved {
            Some(caps) => caps,
            None => {
                let caps = self.meta.get_or_insert_with(|| det.regex.create_captures());
                det.regex.search_captures(input, caps);
                caps
            }
        };
        match (caps.get_match(), caps.get_group(g)) {
            (Some(m), Some(v)) => Some((m.range(), v.range())),
            _ => None,
        }
    }
}

/// Whether some output encoding escapes byte `b` (see
/// [`Scanner::write_escaped`]): text without such bytes is copied as is.
pub(crate) fn escaped_somewhere(b: u8) -> bool {
    matches!(b, b'&' | b'<' | b'>' | b'"' | b'\\') || b < 0x20
}

/// Escapes text for the inside of a JSON string.
pub(crate) fn json_escape(text: &str, out: &mut Vec<u8>) {
    for &b in text.as_bytes() {
        json_escape_byte(b, out);
    }
}

fn json_escape_byte(b: u8, out: &mut Vec<u8>) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0..=0x1f => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        }
        _ => out.push(b),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::detect::word_end_pairs::is_letter;
    use crate::core::ruleset::{RuleSource, Ruleset};
    use crate::core::screen::{Screen, SCREEN_LIMIT};
    use crate::core::test_rng::xorshift;

    /// The run table classifies every byte as the range tests it replaces.
    #[test]
    fn run_bytes_agree_with_the_byte_tests() {
        for b in 0..=255u8 {
            let expected = if b.is_ascii_digit() {
                DIGIT
            } else if matches!(b, b' ' | b'-' | b'.' | b'/' | b'+' | b'(' | b')') {
                SEPARATOR
            } else if is_letter(b) {
                // The letters the postal word filter is built over.
                LETTER
            } else {
                0
            };
            assert_eq!(RUN_BYTES[usize::from(b)], expected, "byte {b:#04x}");
        }
    }

    /// The eight-byte letter run agrees with reading byte by byte, for
    /// every byte value at every place of runs of every length.
    #[test]
    fn letters_run_agrees_with_the_byte_loop() {
        let by_bytes = |bytes: &[u8]| {
            bytes
                .iter()
                .position(|&b| RUN_BYTES[usize::from(b)] != LETTER)
                .unwrap_or(bytes.len())
        };
        for len in 0..=20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    for fill in [b'a', b'Z', 0xC3, 0xFF] {
                        let mut bytes = vec![fill; len];
                        bytes[at] = b;
                        assert_eq!(letters_run(&bytes), by_bytes(&bytes), "{bytes:?}");
                    }
                }
            }
        }
    }

    /// The number screen's digit gate answers what the digit count does,
    /// at every start in runs of digits, separators and other bytes.
    #[test]
    fn digit_gates_agree_with_the_digit_count() {
        let alphabet = b"0123456789 -./+()a:,";
        let gates: Vec<(usize, Screen)> = (2..=RUN_WINDOW / 3)
            .map(|n| {
                let gate = digit_gate(n).expect("a gate within the window");
                (
                    n,
                    Screen::build(&[(0, &gate)], SCREEN_LIMIT).expect("builds"),
                )
            })
            .collect();
        assert!(digit_gate(1).is_none() && digit_gate(RUN_WINDOW / 3 + 1).is_none());
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            xorshift(&mut state);
            // Mostly digits, with separator streaks of one to three.
            let len = (state >> 58) as usize + 8;
            let hay: Vec<u8> = (0..len)
                .map(|i| {
                    let r = (state >> (i % 50)) as usize ^ (i * 7);
                    alphabet[if r % 3 == 0 {
                        r % alphabet.len()
                    } else {
                        r % 10
                    }]
                })
                .collect();
            for start in 0..hay.len() {
                let digits = run_digits(&hay[start..(start + RUN_WINDOW).min(hay.len())]);
                let end = (start + 64).min(hay.len());
                for (n, gate) in &gates {
                    assert_eq!(
                        gate.matching(&hay, start, end) == 1,
                        digits >= *n,
                        "{:?} at {start}, {n} digits",
                        String::from_utf8_lossy(&hay)
                    );
                }
            }
        }
    }

    /// The number screen lets a digit-gated detector through at every run
    /// where it has the digits and its search and validator find a value:
    /// a gate that goes on to the word boundary (a phone number's) drops
    /// only runs where the detector would find nothing.
    #[test]
    fn gated_detectors_pass_the_screen_wherever_they_find_a_value() {
        let rules = shipped_rules();
        let engine = &rules.engine;
        let screen = engine.number_screen.as_ref().expect("a number screen");
        let gated: Vec<(u64, &Detector)> = (0..screen.members.len())
            .filter(|i| engine.digit_gated >> i & 1 == 1)
            .map(|i| (1u64 << i, &engine.detectors[screen.members[i] as usize]))
            .collect();
        assert!(gated.iter().any(|(_, d)| &*d.id == "contact.phone"));
        // Digit groups between the bytes phone numbers, dates and times
        // are written with.
        const BETWEEN: &[&str] = &[
            " ", " ", " ", "", "-", ".", "T", ":", "x", "(0) ", "(", ") ", "/",
        ];
        let (mut state, mut found, mut dropped) = (0x2545_f491_4f6c_dd1du64, 0, 0);
        for _ in 0..20_000 {
            xorshift(&mut state);
            let len = (state >> 59) as usize + 8;
            let mut hay = if state & 1 == 0 {
                b"+".to_vec()
            } else {
                Vec::new()
            };
            while hay.len() < len {
                xorshift(&mut state);
                let digits = (state >> 8) % 4 + 1;
                hay.extend((0..digits).map(|i| b'0' + (state >> (16 + 4 * i)) as u8 % 10));
                hay.extend(BETWEEN[(state >> 40) as usize % BETWEEN.len()].bytes());
            }
            for start in 0..hay.len() {
                let end = (start + engine.max_token).min(hay.len());
                let mask = screen.matching(&hay, start, end);
                let digits = run_digits(&hay[start..(start + RUN_WINDOW).min(hay.len())]);
                for &(bit, det) in &gated {
                    let input = Input::new(&hay).range(start..end).anchored(ReAnchored::Yes);
                    let finds = digits >= det.min_digits
                        && det.regex.search(&input).is_some_and(|m| {
                            det.validator
                                .is_none_or(|v| v(&hay[m.range()], &engine.gazetteer))
                        });
                    let passes = mask & bit != 0;
                    assert!(
                        passes || !finds,
                        "{} at {start} in {:?}",
                        det.id,
                        String::from_utf8_lossy(&hay)
                    );
                    found += usize::from(finds);
                    dropped += usize::from(!passes && digits >= det.min_digits);
                }
            }
        }
        // Both sides are reached: values found, and runs with the digits
        // turned away.
        assert!(found > 100 && dropped > 100, "{found} {dropped}");
    }

    /// The block classifier's byte tests are the byte table's: its word
    /// bytes are [`is_word`]'s, and every byte outside words that the
    /// shipped rules give a class is one it flags.
    #[test]
    fn block_classes_agree_with_the_byte_table() {
        let rules = shipped_rules();
        let engine = &rules.engine;
        for b in 0..=255u8 {
            assert_eq!(word_byte(b), is_word(b), "byte {b:#04x}");
            let info = engine.byte_info[usize::from(b)];
            if info & IS_WORD == 0 && info != 0 {
                assert!(class_mark(b), "byte {b:#04x}");
            }
        }
    }

    /// The block pass (`discover`) queues the candidates and hits the byte
    /// pass does, in the same order, for texts of every length around the
    /// block size, discovered whole or in two parts split anywhere (the
    /// second resuming inside a word, a number or a keyword).
    #[test]
    fn block_pass_agrees_with_the_byte_pass() {
        let rules = shipped_rules();
        let engine = &rules.engine;
        let key = PseudonymKey::new(b"0123456789abcdef".to_vec());
        let pieces: [&[u8]; 24] = [
            b"Anna",
            b"12",
            b"@",
            b":",
            b"+46",
            b"(0)",
            b" ",
            b"  ",
            b"fe80",
            b"x",
            b"\xc3\x85sa",
            b"-",
            b"bor",
            b"p\xc3\xa5",
            b"Gatan",
            b".",
            b"SE35",
            b"kr",
            b"tel",
            b"\xc3\xa4r",
            b"\"",
            b"e",
            b"Q",
            b"\n",
        ];
        let queued = |text: &[u8], parts: &[usize], bytes: bool| {
            let mut scanner = Scanner::new(engine);
            let ctx = FieldCtx::default();
            scanner.reset(engine, &key, Encoding::Plain, 0, &ctx, "", false);
            scanner.vb.view.extend_from_slice(text);
            for &to in parts {
                // The last part ends the value, as at `finish`.
                let eof = to == text.len();
                if bytes {
                    let from = scanner.discovered as usize;
                    scanner.discover_bytes(engine, from, to, eof);
                    scanner.discovered = to as u64;
                    scanner.cands.sort_by_key(|c| c.0);
                } else {
                    scanner.discover(engine, to as u64, eof);
                }
            }
            format!("{:?} {:?}", scanner.cands, scanner.hits)
        };
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..400 {
            xorshift(&mut state);
            let count = (state >> 59) as usize + 1;
            let text: Vec<u8> = (0..count)
                .flat_map(|k| pieces[(state >> (k * 2 % 60)) as usize % pieces.len()].to_vec())
                .collect();
            let len = text.len();
            assert_eq!(queued(&text, &[len], false), queued(&text, &[len], true));
            for split in 1..len {
                let parts = [split, len];
                let expected = queued(&text, &parts, true);
                assert_eq!(
                    queued(&text, &parts, false),
                    expected,
                    "{split} in {text:?}"
                );
            }
        }
    }

    /// The hinted search answers what `partition_point` does, from any hint.
    #[test]
    fn hits_ending_by_agrees_with_partition_point() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..300 {
            xorshift(&mut state);
            let len = (state >> 59) as usize * 2;
            let mut end = 0;
            let hits: Vec<Hit> = (0..len)
                .map(|i| {
                    end += (state >> (i % 60)) % 3;
                    Hit { end, kw: 0 }
                })
                .collect();
            for vs in 0..=end + 1 {
                let expected = hits.partition_point(|h| h.end <= vs);
                for hint in 0..=len + 2 {
                    assert_eq!(
                        hits_ending_by(&hits, vs, hint),
                        expected,
                        "{vs} from {hint}"
                    );
                }
            }
        }
    }

    /// The shipped detector rules, compiled in (no file I/O in the core).
    /// The shipped detectors (and default settings), for tests here and
    /// in the JSON rewriter.
    pub(crate) fn shipped_rules() -> Ruleset {
        let files = [
            (
                "addresses.toml",
                include_str!("../../rules/detectors/addresses.toml"),
            ),
            (
                "contact.toml",
                include_str!("../../rules/detectors/contact.toml"),
            ),
            (
                "credentials.toml",
                include_str!("../../rules/detectors/credentials.toml"),
            ),
            (
                "names.toml",
                include_str!("../../rules/detectors/names.toml"),
            ),
            (
                "nordic-ids.toml",
                include_str!("../../rules/detectors/nordic-ids.toml"),
            ),
            (
                "payment.toml",
                include_str!("../../rules/detectors/payment.toml"),
            ),
        ];
        let sources: Vec<RuleSource> = files
            .iter()
            .map(|(path, text)| RuleSource {
                path: path.to_string(),
                text: text.to_string(),
            })
            .collect();
        Ruleset::compile(&sources).expect("shipped rules compile")
    }

    /// Every rule example, at every byte offset and with text after it: the
    /// anchored positions the scanner tries detectors at.
    fn haystacks(rules: &Ruleset) -> Vec<(Vec<u8>, usize)> {
        let mut out = Vec::new();
        for ex in rules.examples() {
            for tail in ["", " ", ", och mer text", "\n"] {
                let hay = format!("{}{tail}", ex.text).into_bytes();
                (0..hay.len()).for_each(|s| out.push((hay.clone(), s)));
            }
        }
        out
    }

    #[test]
    fn find_agrees_with_the_general_engine() {
        let rules = shipped_rules();
        let hays = haystacks(&rules);
        let one_pass = |d: &&Detector| matches!(d.captures, Some(CaptureEngine::OnePass(_)));
        assert!(rules.engine.detectors.iter().any(|d| one_pass(&d)));
        for det in &rules.engine.detectors {
            if det.kind == Kind::Scan {
                continue;
            }
            let group = det.value_group();
            let mut caps = CapState::default();
            let mut general = det.regex.create_captures();
            for (hay, s) in &hays {
                let input = Input::new(hay).range(*s..).anchored(ReAnchored::Yes);
                det.regex.search_captures(&input, &mut general);
                let want = general.get_match().map(|m| {
                    let value =
                        group.map_or(Some(m.range()), |g| general.get_group(g).map(|v| v.range()));
                    (m.range(), value)
                });
                let got = caps.find(det, &input, group);
                let want = want.and_then(|(m, v)| Some((m, v?)));
                assert_eq!(
                    got,
                    want,
                    "{} at {s} in {:?}",
                    det.id,
                    String::from_utf8_lossy(hay)
                );
            }
        }
    }

    /// A finding as tests compare it: detector, start, end.
    type Found = (Arc<str>, u64, u64);

    /// Redacts `text` as one plain-text body: the output and the findings.
    fn redact(engine: &Engine, text: &str) -> (Vec<u8>, Vec<Found>) {
        redact_pieces(engine, Encoding::Plain, 0, &[text], false)
    }

    /// Redacts one value in `encoding` at raw offset `raw_offset`, fed in
    /// `pieces`: with `unescaped`, pieces without a backslash take
    /// `push_unescaped`, the others `push`.
    fn redact_pieces(
        engine: &Engine,
        encoding: Encoding,
        raw_offset: u64,
        pieces: &[&str],
        unescaped: bool,
    ) -> (Vec<u8>, Vec<Found>) {
        let key = PseudonymKey::new(b"0123456789abcdef".to_vec());
        let mut scanner = Scanner::new(engine);
        let ctx = FieldCtx::default();
        scanner.reset(engine, &key, encoding, raw_offset, &ctx, "v", false);
        let mut out = Vec::new();
        for piece in pieces {
            let raw = piece.as_bytes();
            if unescaped && !raw.contains(&b'\\') {
                scanner.push_unescaped(engine, &key, raw, &mut out)
            } else {
                scanner.push(engine, &key, raw, &mut out)
            }
            .expect("push");
        }
        scanner.finish(engine, &key, &mut out).expect("finish");
        let findings = scanner.findings.iter();
        (
            out,
            findings
                .map(|f| (f.detector.clone(), f.start, f.end))
                .collect(),
        )
    }

    /// A capitalised word followed by a number that the postal word filter
    /// turns away is one no postal detector matches at, after any byte:
    /// random words, many ending in a street suffix or a part of one.
    #[test]
    fn postal_words_filtered_out_match_no_postal_detector() {
        let rules = shipped_rules();
        let engine = &rules.engine;
        let pairs = engine.postal_word_ends.as_ref().expect("a filter");
        let endings = [
            "gatan", "vägen", "vej", "gade", "allé", "katu", "tie", "veien", "er", "an", "é", "ce",
            "ö", "s", "n", "",
        ];
        let letters = ["a", "e", "g", "t", "n", "r", "v", "s", "é", "ä", "ø", "x"];
        let capitals = ["S", "G", "A", "Ö", "Å", "Æ"];
        let (mut state, mut turned_away) = (0xd1b5_4a32_d192_ed03u64, 0);
        for _ in 0..5000 {
            xorshift(&mut state);
            let mut word = capitals[state as usize % capitals.len()].to_string();
            for k in 0..(state >> 8) % 5 {
                word.push_str(letters[(state >> (12 + 4 * k)) as usize % letters.len()]);
            }
            word.push_str(endings[(state >> 40) as usize % endings.len()]);
            let w = word.as_bytes();
            if w.len() < 2 || pairs.may_end(w[w.len() - 2], w[w.len() - 1]) {
                continue;
            }
            turned_away += 1;
            for before in ["", " ", "x", "1", "\n"] {
                let text = format!("{before}{word} 12, 3. tv 4000 Bygd");
                for &d in engine.kind(Kind::Postal) {
                    let input = Input::new(&text)
                        .range(before.len()..)
                        .anchored(ReAnchored::Yes);
                    let det = &engine.detectors[d as usize];
                    assert!(det.regex.search(&input).is_none(), "{} in {text:?}", det.id);
                }
            }
        }
        assert!(turned_away > 500, "only {turned_away} words turned away");
        assert!(pairs.may_end(b'a', b'n') && pairs.may_end(0xC3, 0xA9));
    }

    /// Validating a match when `emit` accepts it (see [`Scanner::valid`])
    /// writes what validating it when found did: random queues of
    /// overlapping matches over valid and invalid IDs, cards and IBANs give
    /// the same output and findings as the same queues with the invalid
    /// matches left out (what `try_detector` used to do).
    #[test]
    fn validating_on_accept_accepts_what_validating_when_found_did() {
        let rules = shipped_rules();
        let engine = &rules.engine;
        let det = |id: &str| {
            engine
                .detectors
                .iter()
                .position(|d| &*d.id == id)
                .unwrap_or_else(|| panic!("no detector {id}")) as u16
        };
        let dets = [
            det("se.personnummer"),
            det("payment.card"),
            det("payment.iban"),
        ];
        let key = PseudonymKey::new(b"0123456789abcdef".to_vec());
        let ctx = FieldCtx::default();
        // Each valid for one detector, or a checksum digit off.
        let tokens = [
            "811228-9874",
            "811228-9875",
            "4111111111111111",
            "4111111111111112",
            "SE4550000000058398257466",
            "SE4550000000058398257467",
        ];
        let text = tokens.join(" ");
        let mut spans = Vec::new();
        let mut at = 0u64;
        for t in &tokens {
            spans.push((at, at + t.len() as u64));
            at += t.len() as u64 + 1;
        }
        let run = |queue: &[Match]| {
            let mut scanner = Scanner::new(engine);
            scanner.reset(engine, &key, Encoding::Plain, 0, &ctx, "v", false);
            let mut out = Vec::new();
            scanner
                .push(engine, &key, text.as_bytes(), &mut out)
                .expect("push");
            scanner.pending = queue.to_vec();
            scanner.finish(engine, &key, &mut out).expect("finish");
            let findings: Vec<(Arc<str>, u64, u64)> = scanner
                .findings
                .iter()
                .map(|f| (f.detector.clone(), f.start, f.end))
                .collect();
            (out, findings)
        };
        let valid = |m: &Match| {
            let bytes = &text.as_bytes()[m.start as usize..m.end as usize];
            engine.detectors[m.det as usize]
                .validator
                .is_none_or(|v| v(bytes, &engine.gazetteer))
        };
        let (mut state, mut left_out, mut accepted) = (0x853c_49e6_748f_ea9bu64, 0, 0);
        for _ in 0..3000 {
            let mut all = Vec::new();
            for _ in 0..6 {
                xorshift(&mut state);
                let first = state as usize % spans.len();
                let last = (first + (state >> 8) as usize % 2).min(spans.len() - 1);
                let (start, end) = (spans[first].0, spans[last].1);
                all.push(Match {
                    start,
                    neg_len: -((end - start) as i64),
                    without_context: (state >> 16) & 1 == 0,
                    det: dets[(state >> 20) as usize % dets.len()],
                    end,
                });
            }
            let kept: Vec<Match> = all.iter().copied().filter(valid).collect();
            left_out += all.len() - kept.len();
            let (out, findings) = run(&all);
            accepted += findings.len();
            assert_eq!((out, findings), run(&kept), "{all:?}");
        }
        assert!(left_out > 1000, "only {left_out} matches invalid");
        assert!(accepted > 1000, "only {accepted} matches accepted");
    }

    #[test]
    fn context_before_the_search_finds_what_context_after_it_does() {
        let rules = shipped_rules();
        let mut late = shipped_rules();
        assert!(rules.engine.context_first.iter().any(|&first| first));
        late.engine.context_first.fill(false);
        let words: Vec<&str> = rules
            .engine
            .detectors
            .iter()
            .flat_map(|d| d.context.iter().chain(&d.negative_context))
            .map(String::as_str)
            .chain([""])
            .collect();
        for ex in rules.examples() {
            for word in &words {
                for text in [
                    format!("{word} {}", ex.text),
                    format!("{word}: {} {word} {}", ex.text, ex.text),
                ] {
                    assert_eq!(
                        redact(&rules.engine, &text),
                        redact(&late.engine, &text),
                        "{text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn context_hits_stay_ordered_by_end() {
        // "på" starts inside "bor på gatan" and ends before it.
        let rule = r#"
[[detector]]
id = "t.number"
description = "d"
kind = "number"
pattern = '[0-9]{5}'
context = ["bor på gatan"]
negative_context = ["på", "gatan"]
action = "mask"
must_match = ["bor på gatan 12345"]
"#;
        let source = RuleSource {
            path: "t.toml".into(),
            text: rule.into(),
        };
        let rules = Ruleset::compile(&[source]).expect("compiles");
        let engine = &rules.engine;
        let key = PseudonymKey::new(b"0123456789abcdef".to_vec());
        let mut scanner = Scanner::new(engine);
        let ctx = FieldCtx::default();
        scanner.reset(engine, &key, Encoding::Plain, 0, &ctx, "", false);
        let mut out = Vec::new();
        let text = b"jag bor p\xc3\xa5 gatan 12345 nu";
        scanner.push(engine, &key, text, &mut out).expect("push");
        scanner.discover(engine, text.len() as u64, false);
        let ends: Vec<u64> = scanner.hits.iter().map(|h| h.end).collect();
        // In arrival order "bor på gatan" (17) came before "på" (11).
        assert!(ends.contains(&11) && ends.contains(&17), "{ends:?}");
        assert!(ends.is_sorted(), "{ends:?}");
    }

    #[test]
    fn detectors_without_context_words_are_never_decided_by_a_hit() {
        let rules = shipped_rules();
        let engine = &rules.engine;
        let words: Vec<&str> = engine
            .detectors
            .iter()
            .flat_map(|d| d.context.iter().chain(&d.negative_context))
            .map(String::as_str)
            .collect();
        let text = words.join(" x ");
        let key = PseudonymKey::new(b"0123456789abcdef".to_vec());
        let mut scanner = Scanner::new(engine);
        scanner.reset(
            engine,
            &key,
            Encoding::Plain,
            0,
            &FieldCtx::default(),
            "",
            false,
        );
        scanner.vb.view.extend_from_slice(text.as_bytes());
        scanner.discover(engine, text.len() as u64, false);
        assert!(scanner.hits.len() >= words.len(), "every word is a hit");
        let mut skipped = 0;
        for (d, _) in engine.detectors.iter().enumerate() {
            if engine.context_words[d] {
                continue;
            }
            skipped += 1;
            for vs in 0..=text.len() as u64 {
                assert_eq!(scanner.nearest_context_word(engine, d as u16, vs), None);
            }
        }
        assert!(skipped > 0);
    }

    /// Redacts one JSON string value, at raw offset 7, fed in `pieces`:
    /// with `unescaped`, pieces without a backslash take `push_unescaped`
    /// (read unmapped until the first escape); otherwise every piece takes
    /// `push` (mapped from the start).
    fn redact_json(engine: &Engine, pieces: &[&str], unescaped: bool) -> (Vec<u8>, Vec<Found>) {
        redact_pieces(engine, Encoding::Json, 7, pieces, unescaped)
    }

    /// A JSON value read unmapped until its first escape is redacted as
    /// when mapped from the start: same output, same findings at the same
    /// raw offsets, whether the escape comes first, after a few bytes, or
    /// after enough text that the view was compacted.
    #[test]
    fn values_read_unmapped_until_an_escape_redact_as_mapped_ones() {
        let rules = shipped_rules();
        let engine = &rules.engine;
        let long = "Ring 070-123 45 67 eller anna.svensson@example.se, Anna Svensson. ".repeat(400);
        let segments = [
            "Hej Anna Svensson, ",
            r"\n",
            "personnummer 19811218-9876 ",
            r"\u0038\u0031",
            "1218-9876 och ",
            long.as_str(),
            r"\t",
            "kort 4111 1111 1111 1111",
            r"\ud83d\ude00",
            " anna@example.se",
        ];
        for from in 0..segments.len() {
            for n in 1..=segments.len() - from {
                let pieces = &segments[from..from + n];
                let mapped = redact_json(engine, pieces, false);
                let lazy = redact_json(engine, pieces, true);
                assert_eq!(lazy, mapped, "segments {from}..{}", from + n);
            }
        }
        let whole = segments.concat();
        let (out, found) = redact_json(engine, &[whole.as_str()], false);
        assert_ne!(out, whole.as_bytes());
        assert!(found.len() > 400);
    }

    /// A short JSON value scanned whole redacts as the general path does
    /// (`reset`, `push_unescaped`, `finish`): same output, same findings,
    /// for rule examples with random text around them, in fields that
    /// bring context or none, reported or not, with both scanners reused
    /// from value to value.
    #[test]
    fn short_values_scanned_whole_redact_as_pushed_ones() {
        let rules = shipped_rules();
        let engine = &rules.engine;
        let key = PseudonymKey::new(b"0123456789abcdef".to_vec());
        let (mut general, mut whole) = (Scanner::new(engine), Scanner::new(engine));
        let around = [
            "",
            " ",
            "Anna ",
            "tel ",
            "070-123 45 67",
            "x@y.se",
            "é ",
            "12 ",
            ", ",
            "CPR ",
        ];
        let fields = ["v", "phone", "email", "personnummer", "name"];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut seen_findings = 0;
        for ex in rules.examples() {
            for _ in 0..6 {
                xorshift(&mut state);
                let pick = |k: u64| around[(k % around.len() as u64) as usize];
                let text = format!("{}{}{}", pick(state), ex.text, pick(state >> 8));
                let raw = text.as_bytes();
                let ctx = engine.field_ctx(fields[(state >> 16) as usize % fields.len()]);
                let shadow = state >> 24 & 1 == 1;
                if raw.contains(&b'\\') || raw.len() >= engine.max_token || ctx.whole.is_some() {
                    continue;
                }
                general.reset(engine, &key, Encoding::Json, 7, &ctx, "v", shadow);
                let mut want = Vec::new();
                let want = general
                    .push_unescaped(engine, &key, raw, &mut want)
                    .and_then(|()| general.finish(engine, &key, &mut want))
                    .map(|()| want);
                let mut got = Vec::new();
                let got = whole
                    .scan_short_value(engine, &key, 7, &ctx, "v", shadow, raw, &mut got)
                    .map(|()| got);
                assert_eq!(
                    format!("{got:?}"),
                    format!("{want:?}"),
                    "{text:?} in {ctx:?}"
                );
                let found = |s: &mut Scanner| {
                    let f = std::mem::take(&mut s.findings);
                    f.into_iter()
                        .map(|f| (f.detector, f.path, f.start, f.end, f.action))
                        .collect::<Vec<_>>()
                };
                let want = found(&mut general);
                seen_findings += want.len();
                assert_eq!(found(&mut whole), want, "{text:?}");
            }
        }
        assert!(seen_findings > 100, "{seen_findings} findings");
    }

    #[test]
    fn text_without_escaped_bytes_is_written_as_is_in_every_encoding() {
        let rules = shipped_rules();
        let engine = &rules.engine;
        let key = PseudonymKey::new(b"0123456789abcdef".to_vec());
        let mut scanner = Scanner::new(engine);
        let ctx = FieldCtx::default();
        let encodings = [
            Encoding::Plain,
            Encoding::Html,
            Encoding::Json,
            Encoding::JsonHtml,
        ];
        for enc in encodings {
            scanner.reset(engine, &key, enc, 0, &ctx, "", false);
            for b in 0..0x80u8 {
                let text = char::from(b).to_string();
                let mut out = Vec::new();
                scanner.write_escaped(&text, &mut out);
                if !escaped_somewhere(b) {
                    assert_eq!(out, text.as_bytes(), "{b:#x} in {enc:?}");
                }
            }
        }
        for (d, p) in engine.placeholders.iter().enumerate() {
            assert_eq!(
                engine.plain_placeholders[d],
                !p.bytes().any(escaped_somewhere)
            );
        }
        assert!(engine.plain_placeholders.iter().any(|&plain| plain));
    }
}
