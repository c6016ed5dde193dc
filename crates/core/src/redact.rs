//! Masking secrets in everything cutover writes or prints: casts, session logs, the audit
//! log, `status --json` and the CLI's error lines.
//!
//! This is a safety net. Secrets should never be drawn or logged in the first place; but a
//! configured stop command, a health URL or a failing command's output quoting one reaches
//! the audit log, the screen and stderr, and those are files and scrollback that get shared.
//!
//! One [`Redactor`] masks, in any text:
//! - the secrets of the fleet configuration ([`Redactor::for_config`]), wherever they appear;
//! - the token after `Bearer` (and after `Basic`, behind a secret-named header);
//! - the value of `NAME=value` and `NAME: value` when NAME names a secret (`DB_PASSWORD`,
//!   `x-api-key`, `Authorization`; see `SECRET_WORDS`);
//! - the password of a URL: `scheme://user:********@host`;
//! - API keys of a few well-known shapes (see `SHAPES`).
//!
//! Names, schemes, users, hosts and key prefixes stay readable and only the secret becomes
//! [`MASK`], so a masked line still says what was there. Text with nothing to mask comes back
//! borrowed, without an allocation: the cast path calls this for every event.
//!
//! The binary installs the configured secrets once ([`install`]), so writers with no
//! configuration at hand (the audit log, session logs, stderr) mask them too ([`installed`]).

use crate::config::Config;
use serde::Serializer;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

/// What a masked secret is replaced with.
pub const MASK: &str = "********";

/// Shortest secret that is masked, configured or found as a `NAME=value` value: masking one-
/// to three-character strings would mask ordinary text all over the screen and protect
/// nothing a guess would not find.
pub const MIN_SECRET_CHARS: usize = 4;

/// Masking a span can join what was around it into a new match (a value whose terminator was
/// inside a configured secret now runs on): `apply` masks again until nothing changes, so
/// that applying twice is applying once. Two rounds are enough for any text we have seen;
/// the bound keeps a pathological one from looping.
const MAX_ROUNDS: usize = 4;

/// Longest NAME looked at before a `=` or `:` (bounds the work per separator).
const MAX_NAME: usize = 64;

/// Words that make NAME of `NAME=value` a secret's name, matched case-insensitively where
/// they end a word of the name (followed by a non-letter or the end). `DB_PASSWORD`,
/// `x-api-key`, `apiKey`, `AUTH_TOKEN`, `Authorization`, `client_secret` match; an AI
/// gateway's `max_tokens` and `tokens_per_sec`, `keys`, `keyboard`, `author` and ssh's
/// `StrictHostKeyChecking` do not, so counts and options on the screen stay readable.
const SECRET_WORDS: &[&[u8]] = &[
    b"token",
    b"secret",
    b"secrets",
    b"password",
    b"passwd",
    b"key",
    b"auth",
    b"authorization",
    b"credential",
    b"credentials",
];

/// Authentication schemes that stay readable before the credentials they introduce.
const SCHEMES: &[&[u8]] = &[b"bearer", b"basic"];

/// A well-known API key shape: `prefix` then a body of at least `min` (at most `max`) bytes
/// for which `body` holds. The prefix stays readable (`sk-********`): it says what leaked.
struct Shape {
    prefix: &'static [u8],
    body: fn(u8) -> bool,
    min: usize,
    max: usize,
}

/// Kept short: keys an AI gateway's commands and errors are likely to carry, each with a
/// prefix distinctive enough that plain text does not match it.
const SHAPES: &[Shape] = &[
    // OpenAI (`sk-…`, `sk-proj-…`), Anthropic (`sk-ant-…`): the providers behind the gateway.
    Shape {
        prefix: b"sk-",
        body: key_byte,
        min: 8,
        max: usize::MAX,
    },
    // Stripe-style live and test keys (`sk_live_…`, `sk_test_…`).
    Shape {
        prefix: b"sk_",
        body: key_byte,
        min: 8,
        max: usize::MAX,
    },
    // GitHub tokens: personal, OAuth, user-to-server, server-to-server, refresh, fine-grained.
    // Deploy and start scripts fetch builds with them.
    Shape {
        prefix: b"ghp_",
        body: alnum,
        min: 20,
        max: usize::MAX,
    },
    Shape {
        prefix: b"gho_",
        body: alnum,
        min: 20,
        max: usize::MAX,
    },
    Shape {
        prefix: b"ghu_",
        body: alnum,
        min: 20,
        max: usize::MAX,
    },
    Shape {
        prefix: b"ghs_",
        body: alnum,
        min: 20,
        max: usize::MAX,
    },
    Shape {
        prefix: b"ghr_",
        body: alnum,
        min: 20,
        max: usize::MAX,
    },
    Shape {
        prefix: b"github_pat_",
        body: key_byte,
        min: 20,
        max: usize::MAX,
    },
    // AWS access key ids, long-term and temporary: exactly 16 upper-case letters or digits.
    Shape {
        prefix: b"AKIA",
        body: upper_alnum,
        min: 16,
        max: 16,
    },
    Shape {
        prefix: b"ASIA",
        body: upper_alnum,
        min: 16,
        max: 16,
    },
];

/// Masks secrets in text: the configured ones and the patterns this module knows.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
}

/// Never the secrets themselves: a `{:?}` in a log line must not undo the redactor's work.
impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} configured secrets)", self.secrets.len())
    }
}

/// The patterns alone: what `installed` gives before a configuration is installed.
static PATTERNS: Redactor = Redactor::patterns();

/// The redactor the binary installed for this process (see `install`).
static INSTALLED: OnceLock<Redactor> = OnceLock::new();

impl Redactor {
    /// A redactor with no configured secrets: the patterns only.
    pub const fn patterns() -> Redactor {
        Redactor {
            secrets: Vec::new(),
        }
    }

    /// A redactor for `secrets` besides the patterns (shorter than `MIN_SECRET_CHARS` ones,
    /// and ones made of the mask's own character, are ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_SECRET_CHARS && s.bytes().any(|b| b != b'*'))
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// A redactor for the secrets `config` holds (see `secrets_in`).
    pub fn for_config(config: &Config) -> Redactor {
        Redactor::new(secrets_in(config))
    }

    /// `text` with every secret replaced by `MASK`; borrowed when there is none.
    pub fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(mut masked) = self.mask_once(text) else {
            return Cow::Borrowed(text);
        };
        for _ in 1..MAX_ROUNDS {
            match self.mask_once(&masked) {
                Some(again) => masked = again,
                None => break,
            }
        }
        Cow::Owned(masked)
    }

    /// JSON text with every string in it (keys too) redacted as `apply` would, and still the
    /// same JSON otherwise: field order, numbers and escapes of untouched strings unchanged.
    /// Masking the decoded strings, not the text, keeps escapes whole and catches a secret an
    /// escape would hide (`Bearer\t…` is `Bearer\\t…` in JSON). Text that is not JSON is
    /// never a panic: its quoted pieces are masked as raw text.
    pub fn apply_json<'a>(&self, json: &'a str) -> Cow<'a, str> {
        let b = json.as_bytes();
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut i = 0;
        while let Some(open) = memchr::memchr(b'"', &b[i..]).map(|n| i + n) {
            let mut j = open + 1;
            let mut escaped = false;
            let close = loop {
                match b.get(j) {
                    None => break None,
                    Some(b'"') => break Some(j),
                    Some(b'\\') => {
                        escaped = true;
                        j += 2;
                    }
                    Some(_) => j += 1,
                }
            };
            let Some(close) = close else { break };
            let raw = &json[open + 1..close];
            let decoded: Cow<str> = if escaped {
                match serde_json::from_str::<String>(&json[open..=close]) {
                    Ok(s) => Cow::Owned(s),
                    Err(_) => Cow::Borrowed(raw),
                }
            } else {
                Cow::Borrowed(raw)
            };
            if let Cow::Owned(masked) = self.apply(&decoded) {
                let o = out.get_or_insert_with(|| String::with_capacity(json.len()));
                o.push_str(&json[copied..open]);
                match serde_json::to_string(&masked) {
                    Ok(quoted) => o.push_str(&quoted),
                    Err(_) => o.push_str(&format!("\"{MASK}\"")),
                }
                copied = close + 1;
            }
            i = close + 1;
        }
        match out {
            Some(mut o) => {
                o.push_str(&json[copied..]);
                Cow::Owned(o)
            }
            None => Cow::Borrowed(json),
        }
    }

    /// One round: every span found masked (spans that already read `MASK` stay as they are);
    /// `None` when nothing changed.
    fn mask_once(&self, text: &str) -> Option<String> {
        let mut spans = Vec::new();
        self.find(text, &mut spans);
        if spans.is_empty() {
            return None;
        }
        spans.sort_unstable_by_key(|r| (r.start, r.end));
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut spans = spans.into_iter().peekable();
        while let Some(mut span) = spans.next() {
            // Overlapping and touching spans are one secret as far as the reader is concerned.
            while let Some(next) = spans.next_if(|n| n.start <= span.end) {
                span.end = span.end.max(next.end);
            }
            // Spans are found on ASCII bytes, so this never moves; it keeps a slip from panicking.
            while !text.is_char_boundary(span.start) {
                span.start -= 1;
            }
            while !text.is_char_boundary(span.end) {
                span.end += 1;
            }
            if span.start < copied || &text[span.clone()] == MASK {
                continue;
            }
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..span.start]);
            o.push_str(MASK);
            copied = span.end;
        }
        let mut o = out?;
        o.push_str(&text[copied..]);
        Some(o)
    }

    /// The byte ranges of `text` to mask, in no particular order, possibly overlapping.
    fn find(&self, text: &str, out: &mut Vec<Range<usize>>) {
        for s in &self.secrets {
            out.extend(
                text.match_indices(s.as_str())
                    .map(|(at, m)| at..at + m.len()),
            );
        }
        let b = text.as_bytes();
        bearer_tokens(b, out);
        assignments(b, out);
        url_passwords(b, out);
        shapes(b, out);
    }
}

/// Make `redactor` the one `installed` returns for the rest of the process. The binary calls
/// this once the configuration is loaded; the first call wins (false after that).
pub fn install(redactor: Redactor) -> bool {
    INSTALLED.set(redactor).is_ok()
}

/// The redactor installed for this process, or the patterns alone before `install`.
pub fn installed() -> &'static Redactor {
    INSTALLED.get().unwrap_or(&PATTERNS)
}

/// `text` redacted by the installed redactor.
pub fn redact(text: &str) -> Cow<'_, str> {
    installed().apply(text)
}

/// `#[serde(serialize_with)]` for a string field: written redacted.
pub fn serialize<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact(text))
}

/// `#[serde(serialize_with)]` for an optional string field: written redacted.
pub fn serialize_opt<S: Serializer>(text: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match text {
        Some(t) => s.serialize_some(&*redact(t)),
        None => s.serialize_none(),
    }
}

/// Secrets written into a fleet configuration, to be masked wherever they show up (a failing
/// command may echo one bare): bearer tokens, URL passwords and API keys in the commands and
/// URLs, and the secret-looking values of secret-named variables (`DB_PASSWORD=…`).
pub fn secrets_in(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    // The Grafana token ([export] grafana_token_file) is masked wherever it could show up.
    out.extend(
        config
            .export
            .grafana_token
            .as_ref()
            .map(|t| t.expose().to_string()),
    );
    // So is Prometheus's bearer token ([telemetry] bearer_token_file).
    out.extend(
        config
            .telemetry
            .bearer_token
            .as_ref()
            .map(|t| t.expose().to_string()),
    );
    let mut spans = Vec::new();
    for g in &config.gateway {
        let texts = [
            g.nginx.as_str(),
            g.health_url.as_str(),
            g.stub_status_url.as_deref().unwrap_or(""),
            g.blue.start.as_str(),
            g.blue.stop.as_str(),
            g.blue.version.as_str(),
            g.green.start.as_str(),
            g.green.stop.as_str(),
            g.green.version.as_str(),
        ];
        for t in texts {
            let b = t.as_bytes();
            bearer_tokens(b, &mut spans);
            url_passwords(b, &mut spans);
            shapes(b, &mut spans);
            out.extend(spans.drain(..).filter_map(|r| t.get(r)).map(str::to_string));
            // Masked everywhere only if it looks like a secret: `AUTH_MODE=basic` must not
            // mask every "basic" on the screen. Assignments are masked in place regardless.
            assignments(b, &mut spans);
            out.extend(
                spans
                    .drain(..)
                    .filter_map(|r| t.get(r))
                    .filter(|v| v.len() >= 8 && !v.bytes().all(|c| c.is_ascii_alphabetic()))
                    .map(str::to_string),
            );
        }
    }
    out
}

/// Characters of a bearer token (RFC 6750's b64token).
fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Characters of an API key body.
fn key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

/// Characters of a `NAME` in `NAME=value`: environment variables and header names.
fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')
}

/// Characters of an unquoted value: up to a blank, a control character, a quote, or a
/// separator of shell words, query strings and lists. Non-ASCII is part of the value (a
/// password may have it); the cost is a box-drawing border masked along in a cast.
fn value_byte(b: u8) -> bool {
    !(b.is_ascii_whitespace()
        || b.is_ascii_control()
        || matches!(b, b'"' | b'\'' | b'`' | b'&' | b',' | b';'))
}

/// Characters of a URL's authority, as far as finding `user:password@` needs.
fn authority_byte(b: u8) -> bool {
    !(b.is_ascii_whitespace()
        || b.is_ascii_control()
        || matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b'<' | b'>'))
}

/// End of the run of `pred` bytes from `at`.
fn run(b: &[u8], at: usize, pred: impl Fn(u8) -> bool) -> usize {
    at + b
        .get(at..)
        .map_or(0, |r| r.iter().take_while(|c| pred(**c)).count())
}

/// First byte from `at` that is not a blank.
fn skip_blanks(b: &[u8], at: usize) -> usize {
    run(b, at, |c| c == b' ' || c == b'\t')
}

/// The token after every `Bearer` (any case, then blanks).
fn bearer_tokens(b: &[u8], out: &mut Vec<Range<usize>>) {
    const WORD: &[u8] = b"bearer";
    for i in memchr::memchr2_iter(b'b', b'B', b) {
        if !b
            .get(i..i + WORD.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(WORD))
        {
            continue;
        }
        let start = skip_blanks(b, i + WORD.len());
        if start == i + WORD.len() {
            continue;
        }
        let end = run(b, start, token_byte);
        if end > start {
            out.push(start..end);
        }
    }
}

/// The value of every `NAME=value`, `NAME: value` (blanks and quotes around allowed, so
/// `"password": "x"` too) whose NAME names a secret.
fn assignments(b: &[u8], out: &mut Vec<Range<usize>>) {
    for i in memchr::memchr2_iter(b'=', b':', b) {
        // `Type::method` is a path, not a header.
        if b[i] == b':' && (b.get(i + 1) == Some(&b':') || (i > 0 && b[i - 1] == b':')) {
            continue;
        }
        if !name_before(b, i).is_some_and(|n| names_secret(&b[n])) {
            continue;
        }
        if let Some(v) = value_after(b, i + 1, b[i] == b':') {
            out.push(v);
        }
    }
}

/// The NAME ending right before the separator at `sep`.
fn name_before(b: &[u8], sep: usize) -> Option<Range<usize>> {
    let mut end = sep;
    while end > 0 && matches!(b[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    if end > 0 && matches!(b[end - 1], b'"' | b'\'') {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && end - start < MAX_NAME && name_byte(b[start - 1]) {
        start -= 1;
    }
    // `scheme://user:password@`: the URL rule masks the password and keeps the host.
    if start == end || b[..start].ends_with(b"//") {
        return None;
    }
    Some(start..end)
}

/// Whether NAME has a `SECRET_WORDS` word ending one of its words.
fn names_secret(name: &[u8]) -> bool {
    SECRET_WORDS.iter().any(|w| {
        name.windows(w.len()).enumerate().any(|(at, win)| {
            win.eq_ignore_ascii_case(w)
                && !name.get(at + w.len()).is_some_and(u8::is_ascii_alphabetic)
        })
    })
}

/// The secret part of the value starting at `at` (after the separator): inside its quotes,
/// or, in a `header: value`, after an authentication scheme; `None` if too short to be one.
fn value_after(b: &[u8], at: usize, header: bool) -> Option<Range<usize>> {
    let v = skip_blanks(b, at);
    let first = *b.get(v)?;
    let span = if first == b'"' || first == b'\'' {
        let body = v + 1;
        match memchr::memchr(first, &b[body..]) {
            Some(n) => body..body + n,
            None => body..run(b, body, value_byte),
        }
    } else {
        let end = run(b, v, value_byte);
        // Only a header has a scheme before its credentials: in `AUTH_MODE=basic NEXT`,
        // NEXT is the next shell word.
        if header && SCHEMES.iter().any(|s| b[v..end].eq_ignore_ascii_case(s)) {
            let t = skip_blanks(b, end);
            if t == end {
                return None;
            }
            t..run(b, t, value_byte)
        } else {
            v..end
        }
    };
    let value = &b[span.clone()];
    if value.len() < MIN_SECRET_CHARS {
        return None;
    }
    // Ports and counts (`auth-proxy:8080`, `token_limit=4096`) are not secrets.
    if value.len() <= 5 && value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(span)
}

/// The password of every `scheme://user:password@host`.
fn url_passwords(b: &[u8], out: &mut Vec<Range<usize>>) {
    for p in memchr::memmem::find_iter(b, b"://") {
        let start = p + 3;
        let end = run(b, start, authority_byte);
        let authority = &b[start..end];
        let Some(at) = memchr::memrchr(b'@', authority) else {
            continue;
        };
        let Some(colon) = memchr::memchr(b':', &authority[..at]) else {
            continue;
        };
        if colon + 1 < at {
            out.push(start + colon + 1..start + at);
        }
    }
}

/// The body of every key of a `SHAPES` shape that starts a word.
fn shapes(b: &[u8], out: &mut Vec<Range<usize>>) {
    for i in memchr::memchr3_iter(b's', b'g', b'A', b) {
        if i > 0 && b[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        for shape in SHAPES {
            if !b[i..].starts_with(shape.prefix) {
                continue;
            }
            let start = i + shape.prefix.len();
            let end = run(b, start, shape.body);
            let body = &b[start..end];
            let long_enough = (shape.min..=shape.max).contains(&body.len());
            // Mostly random keys: a digit, or enough length, tells them from `sk-learn-docs`.
            let random = body.iter().any(u8::is_ascii_digit) || body.len() >= 20;
            // A fixed-length id is whole only if a non-word follows it.
            let whole =
                shape.max == usize::MAX || !b.get(end).is_some_and(u8::is_ascii_alphanumeric);
            if long_enough && random && whole {
                out.push(start..end);
            }
        }
    }
}

#[cfg(test)]
mod tests;
