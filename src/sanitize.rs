//! Strip anything from a remote host that could drive the terminal.
//!
//! Escape sequences (CSI, OSC, DCS and friends) are removed whole, other control
//! characters and bidi overrides become spaces, and the result is capped in length.

/// Longest string kept from a remote host, in characters.
pub const MAX_REMOTE_CHARS: usize = 512;

/// Make a remote string safe to draw on one line.
pub fn sanitize(input: &str) -> String {
    let mut out = String::with_capacity(input.len().min(MAX_REMOTE_CHARS));
    let mut chars = input.chars().peekable();
    let mut kept = 0;
    while let Some(c) = chars.next() {
        if kept >= MAX_REMOTE_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // 8-bit CSI/OSC/DCS introducers behave like ESC sequences on some terminals.
            '\u{9b}' => skip_until_final(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if c.is_control() || is_bidi_control(c) => {
                out.push(' ');
                kept += 1;
            }
            c => {
                out.push(c);
                kept += 1;
            }
        }
    }
    out
}

/// True when `s` has nothing `sanitize` would change (short of the length cap).
pub fn is_clean(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() || is_bidi_control(c))
}

/// Sanitize raw bytes (invalid UTF-8 becomes U+FFFD).
pub fn sanitize_bytes(input: &[u8]) -> String {
    sanitize(&String::from_utf8_lossy(input))
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_until_final(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // Two-character sequences such as ESC c (reset) or ESC 7.
        _ => {}
    }
}

/// CSI: parameters and intermediates, then one final byte in @..~.
fn skip_until_final(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

/// OSC/DCS/APC/PM: until BEL, ST (ESC \) or the 8-bit ST.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escape_sequences_whole() {
        assert_eq!(sanitize("ok\u{1b}[2J\u{1b}[31mred"), "okred");
        assert_eq!(sanitize("a\u{1b}]0;pwned\u{7}b"), "ab");
        assert_eq!(sanitize("a\u{1b}]2;title\u{1b}\\b"), "ab");
        assert_eq!(sanitize("a\u{9b}1;1Hb"), "ab");
        assert_eq!(sanitize("a\u{1b}cb"), "ab");
    }

    #[test]
    fn control_chars_become_spaces() {
        assert_eq!(sanitize("a\nb\rc\td\u{7}"), "a b c d ");
        assert_eq!(sanitize("x\u{202e}y"), "x y");
    }

    #[test]
    fn no_escape_survives_any_input() {
        let nasty = "\u{1b}\u{1b}[\u{1b}]\u{9b}\u{9d}\u{1b}P\u{1b}[?1049h\u{1b}";
        let s = sanitize(nasty);
        assert!(!s.chars().any(|c| c.is_control()), "{s:?}");
    }

    #[test]
    fn long_input_is_capped_and_bytes_are_lossy() {
        let s = sanitize(&"x".repeat(10_000));
        assert_eq!(s.chars().count(), MAX_REMOTE_CHARS + 1);
        assert_eq!(sanitize_bytes(b"ok\xff\x1b[1m!"), "ok\u{fffd}!");
    }
}
