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
            '\u{9b}' => {
                if skip_until_final(&mut chars) {
                    skip_escape(&mut chars);
                }
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => {
                if skip_string(&mut chars) {
                    skip_escape(&mut chars);
                }
            }
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

/// After an ESC: skip the whole sequence. An ESC inside a sequence starts a new one, as in a
/// terminal's parser, so `ESC ESC [2J` or an OSC cut short by `ESC [` leave nothing behind.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    loop {
        let restart = match chars.next() {
            Some('\u{1b}') => true,
            Some('[') => skip_until_final(chars),
            Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
            // Two-character sequences such as ESC c (reset) or ESC 7.
            _ => false,
        };
        if !restart {
            return;
        }
    }
}

/// CSI: parameters and intermediates, then one final byte in @..~. True when an ESC began a
/// new sequence; CAN and SUB abort it.
fn skip_until_final(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    for c in chars.by_ref() {
        match c {
            '\u{1b}' => return true,
            '\u{18}' | '\u{1a}' => return false,
            c if ('\u{40}'..='\u{7e}').contains(&c) => return false,
            _ => {}
        }
    }
    false
}

/// OSC/DCS/APC/PM: until BEL, ST (ESC \\) or the 8-bit ST. True when an ESC that is not
/// ST began a new sequence.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' | '\u{18}' | '\u{1a}' => return false,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                    return false;
                }
                return true;
            }
            _ => {}
        }
    }
    false
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
        // An ESC inside a sequence starts a new one: nothing of either is left.
        assert_eq!(sanitize("a\u{1b}\u{1b}[2Jb"), "ab");
        assert_eq!(sanitize("a\u{1b}]0;t\u{1b}[31mb"), "ab");
        assert_eq!(sanitize("a\u{1b}[1\u{1b}[2Jb"), "ab");
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
