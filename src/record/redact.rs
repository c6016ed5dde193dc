//! Masking secrets in the text of a recording: configured secrets and bearer tokens.
//!
//! This is a safety net. Secrets should never be drawn in the first place; but a command
//! line or an error message quoting one could reach the screen, and a cast is a file that
//! gets shared, so every event's text passes through here before it is written.

use crate::config::Config;
use std::borrow::Cow;

/// What a masked secret is replaced with.
pub const MASK: &str = "********";

/// Shortest configured secret that is masked: a one- or two-character "secret" would mask
/// ordinary text all over the screen and protect nothing.
pub const MIN_SECRET_CHARS: usize = 4;

/// Masks configured secrets and `Bearer <token>` in text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for `secrets` (shorter than `MIN_SECRET_CHARS` ones are ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Redactor {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.chars().count() >= MIN_SECRET_CHARS)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// A redactor for the secrets `config` holds (see `secrets_in`).
    pub fn for_config(config: &Config) -> Redactor {
        Redactor::new(secrets_in(config))
    }

    /// `text` with every configured secret and bearer token replaced by `MASK`.
    pub fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), MASK));
            }
        }
        match mask_bearer(&out) {
            Some(masked) => Cow::Owned(masked),
            None => out,
        }
    }
}

/// Characters of a bearer token (RFC 6750's b64token).
fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// `text` with the token after every `Bearer` (any case, then blanks) masked; `None` if there
/// is nothing to mask. Works on bytes: the needle and the token are ASCII, so every cut is on
/// a character boundary.
fn mask_bearer(text: &str) -> Option<String> {
    const WORD: &[u8] = b"bearer";
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + WORD.len() < bytes.len() {
        if !bytes[i..i + WORD.len()].eq_ignore_ascii_case(WORD) {
            i += 1;
            continue;
        }
        let mut start = i + WORD.len();
        while start < bytes.len() && matches!(bytes[start], b' ' | b'\t') {
            start += 1;
        }
        let mut end = start;
        while end < bytes.len() && token_byte(bytes[end]) {
            end += 1;
        }
        if start == i + WORD.len() || end == start {
            i += WORD.len();
            continue;
        }
        let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
        o.push_str(&text[copied..start]);
        o.push_str(MASK);
        copied = end;
        i = end;
    }
    let mut o = out?;
    o.push_str(&text[copied..]);
    Some(o)
}

/// Secrets written into a fleet configuration: bearer tokens in the commands run on hosts
/// and passwords in URLs (`https://user:password@host/`).
pub fn secrets_in(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
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
            out.extend(bearer_tokens(t));
            out.extend(url_password(t));
        }
    }
    out
}

/// The tokens that follow `Bearer` in `text`.
fn bearer_tokens(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut out = Vec::new();
    for (at, _) in lower.match_indices("bearer") {
        let rest = text[at + "bearer".len()..].trim_start_matches([' ', '\t']);
        let token: String = rest
            .bytes()
            .take_while(|b| token_byte(*b))
            .map(char::from)
            .collect();
        if !token.is_empty() {
            out.push(token);
        }
    }
    out
}

/// The password of every `scheme://user:password@` in `text`.
fn url_password(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("://") {
        let rest = &text[at + 3..];
        let authority = rest
            .split(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .next()
            .unwrap_or("");
        if let Some((userinfo, _host)) = authority.rsplit_once('@') {
            if let Some((_user, password)) = userinfo.split_once(':') {
                if !password.is_empty() {
                    out.push(password.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_masked_in_any_case() {
        let r = Redactor::default();
        assert_eq!(
            r.apply("curl -H 'Authorization: Bearer abc.def' x"),
            "curl -H 'Authorization: Bearer ********' x"
        );
        assert_eq!(
            r.apply("bearer\tXYZ/+=; BEARER q"),
            "bearer\t********; BEARER ********"
        );
        assert_eq!(r.apply("no token here, bearer"), "no token here, bearer");
        assert_eq!(r.apply("Bearer ********"), "Bearer ********");
        assert!(matches!(r.apply("plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn bearer_next_to_multibyte_text_cuts_on_boundaries() {
        let r = Redactor::default();
        assert_eq!(r.apply("é Bearer tök"), "é Bearer ********ök");
        assert_eq!(
            r.apply("│Bearer│x"),
            "│Bearer│x",
            "no blank: not a credential"
        );
        assert_eq!(r.apply("│Bearer x│"), "│Bearer ********│");
    }

    #[test]
    fn configured_secrets_are_masked_longest_first() {
        let r = Redactor::new(["s3cr3t".to_string(), "s3cr3t-long".into(), "ab".into()]);
        assert_eq!(r.apply("a s3cr3t-long b s3cr3t"), "a ******** b ********");
        assert_eq!(r.apply("ab stays"), "ab stays", "too short to be masked");
    }

    #[test]
    fn secrets_are_found_in_commands_and_urls() {
        assert_eq!(
            bearer_tokens("curl -H 'Authorization: Bearer tok.123' http://x"),
            ["tok.123"]
        );
        assert_eq!(
            url_password("https://ops:hunter22@gw.example/health"),
            ["hunter22"]
        );
        assert!(url_password("https://gw.example/health").is_empty());
    }
}
