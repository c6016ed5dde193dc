//! Parse the configured upstream block and rewrite only its two server lines.
//!
//! The tokenizer follows nginx's own (`ngx_conf_read_token`): whitespace separates
//! words, `;` `{` `}` end them, `#` starts a comment only where a word could
//! start, quotes and backslash escapes hide all of that. Anything nginx itself
//! would reject is an error here too, so the file is never edited on a guess.
//! Every span is cut at an ASCII delimiter, so slicing stays on char boundaries.

use std::fmt;
use std::ops::Range;

use crate::model::{Color, PerColor, Weights};

/// Where the two color servers of an upstream block are, and what they say now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    name: String,
    line: usize,
    servers: PerColor<Server>,
    other_servers: Vec<String>,
}

/// What a server line says for one color.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    /// nginx weight; 1 when the line has no `weight=`.
    pub weight: u32,
    /// The line carries the `down` flag.
    pub down: bool,
    /// The other parameters as written, in order (e.g. `max_fails=3`).
    pub params: Vec<String>,
}

/// Why a file cannot be used; `Display` names the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamError {
    /// Blue and green were configured with the same address.
    SameAddress {
        /// The shared address.
        address: String,
    },
    /// The file has no `upstream NAME { ... }` block.
    NotFound {
        /// The upstream looked for.
        name: String,
    },
    /// The upstream block appears twice (nginx rejects it; which one to edit would be a guess).
    Duplicate {
        /// The upstream's name.
        name: String,
        /// Line of the second definition.
        line: usize,
        /// Line of the first definition.
        first_line: usize,
    },
    /// The block has no server line for one color's address.
    MissingServer {
        /// The upstream's name.
        name: String,
        /// Line of the `upstream` directive.
        line: usize,
        /// The color without a line.
        color: Color,
        /// Its configured address.
        address: String,
    },
    /// One color's address has two server lines.
    DuplicateServer {
        /// The upstream's name.
        name: String,
        /// Line of the second server line.
        line: usize,
        /// The color listed twice.
        color: Color,
        /// Its address.
        address: String,
        /// Line of the first server line.
        first_line: usize,
    },
    /// A color's server is `backup`, which cannot share traffic by weight.
    Backup {
        /// The upstream's name.
        name: String,
        /// Line of the server line.
        line: usize,
        /// The color at fault.
        color: Color,
        /// Its address.
        address: String,
    },
    /// A color's server says `weight=0`, which nginx rejects.
    ZeroWeight {
        /// The upstream's name.
        name: String,
        /// Line of the server line.
        line: usize,
        /// The color at fault.
        color: Color,
        /// Its address.
        address: String,
    },
    /// A `weight=` that is not a positive integer, or given twice.
    BadWeight {
        /// The upstream's name.
        name: String,
        /// Line of the parameter.
        line: usize,
        /// The color at fault.
        color: Color,
        /// Its address.
        address: String,
        /// What is wrong, e.g. `malformed "weight=ten"`.
        detail: String,
    },
    /// Both colors are `down`: no weights are in force.
    BothDown {
        /// The upstream's name.
        name: String,
        /// Line of the `upstream` directive.
        line: usize,
    },
    /// The two weights do not split 100 into whole percents (e.g. 1 and 2).
    NotWhole {
        /// The upstream's name.
        name: String,
        /// Line of the `upstream` directive.
        line: usize,
        /// Blue's nginx weight.
        blue: u32,
        /// Green's nginx weight.
        green: u32,
    },
    /// Target weights given to `rewrite` do not add up to 100.
    BadTarget {
        /// The target's blue share.
        blue: u8,
        /// The target's green share.
        green: u8,
    },
    /// A quote, directive or block that never ends.
    Unterminated {
        /// Line where it starts.
        line: usize,
        /// What is left open.
        what: String,
    },
    /// Anything else nginx's parser would reject.
    Syntax {
        /// Line of the offending character.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl UpstreamError {
    /// The 1-based line at fault, when the error has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            UpstreamError::SameAddress { .. }
            | UpstreamError::NotFound { .. }
            | UpstreamError::BadTarget { .. } => None,
            UpstreamError::Duplicate { line, .. }
            | UpstreamError::MissingServer { line, .. }
            | UpstreamError::DuplicateServer { line, .. }
            | UpstreamError::Backup { line, .. }
            | UpstreamError::ZeroWeight { line, .. }
            | UpstreamError::BadWeight { line, .. }
            | UpstreamError::BothDown { line, .. }
            | UpstreamError::NotWhole { line, .. }
            | UpstreamError::Unterminated { line, .. }
            | UpstreamError::Syntax { line, .. } => Some(*line),
        }
    }
}

/// Shows text taken from the file with control characters escaped: it may come from a remote host.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.0.chars() {
            // Bidi overrides can reorder what the operator reads; control characters can do worse.
            let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for UpstreamError {
    /// `line 12: upstream "gateway": no server line for green address 127.0.0.1:8788`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use UpstreamError as E;
        if let Some(line) = self.line() {
            write!(f, "line {line}: ")?;
        }
        match self {
            E::SameAddress { address } => {
                write!(f, "blue and green have the same address {}", Shown(address))
            }
            E::NotFound { name } => write!(f, "upstream \"{}\" not found", Shown(name)),
            E::Duplicate {
                name, first_line, ..
            } => write!(
                f,
                "upstream \"{}\" defined twice (first at line {first_line})",
                Shown(name)
            ),
            E::MissingServer {
                name,
                color,
                address,
                ..
            } => write!(
                f,
                "upstream \"{}\": no server line for {color} address {}",
                Shown(name),
                Shown(address)
            ),
            E::DuplicateServer {
                name,
                color,
                address,
                first_line,
                ..
            } => write!(
                f,
                "upstream \"{}\": {color} address {} listed twice (first at line {first_line})",
                Shown(name),
                Shown(address)
            ),
            E::Backup {
                name,
                color,
                address,
                ..
            } => write!(
                f,
                "upstream \"{}\": {color} server {} is \"backup\", which cannot carry a weight share; remove \"backup\"",
                Shown(name),
                Shown(address)
            ),
            E::ZeroWeight {
                name,
                color,
                address,
                ..
            } => write!(
                f,
                "upstream \"{}\": {color} server {} has weight=0, which nginx rejects; use \"down\"",
                Shown(name),
                Shown(address)
            ),
            E::BadWeight {
                name,
                color,
                address,
                detail,
                ..
            } => write!(
                f,
                "upstream \"{}\": {color} server {}: {}",
                Shown(name),
                Shown(address),
                Shown(detail)
            ),
            E::BothDown { name, .. } => write!(
                f,
                "upstream \"{}\": both blue and green are down",
                Shown(name)
            ),
            E::NotWhole {
                name, blue, green, ..
            } => write!(
                f,
                "upstream \"{}\": weight={blue} (blue) and weight={green} (green) do not split into whole percents",
                Shown(name)
            ),
            E::BadTarget { blue, green } => {
                write!(f, "target weights {blue}/{green} do not add up to 100")
            }
            E::Unterminated { what, .. } => write!(f, "{}", Shown(what)),
            E::Syntax { message, .. } => write!(f, "{}", Shown(message)),
        }
    }
}

impl std::error::Error for UpstreamError {}

/// One server line of a color: where it is and where its parameters are.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Server {
    line: usize,
    /// From `server` through its `;`.
    span: Range<usize>,
    address: Range<usize>,
    params: Vec<Param>,
    /// Byte offset of the closing `;`.
    semi: usize,
    entry: ServerEntry,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Param {
    span: Range<usize>,
    kind: ParamKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamKind {
    Weight,
    Down,
    Other,
}

impl Upstream {
    /// Find `upstream NAME { ... }` in `src` and its server lines for `blue` and `green`.
    pub fn parse(
        src: &str,
        name: &str,
        blue: &str,
        green: &str,
    ) -> Result<Upstream, UpstreamError> {
        if blue == green {
            return Err(UpstreamError::SameAddress {
                address: blue.to_owned(),
            });
        }
        let tokens = tokenize(src)?;
        let addresses = PerColor {
            blue: blue.to_owned(),
            green: green.to_owned(),
        };
        let mut scan = Scan {
            src,
            name,
            addresses: &addresses,
            servers: PerColor::default(),
            others: Vec::new(),
        };
        let line = scan.walk(&tokens)?;
        let Scan {
            servers, others, ..
        } = scan;
        let missing = |color: Color| UpstreamError::MissingServer {
            name: name.to_owned(),
            line,
            color,
            address: addresses[color].clone(),
        };
        let blue = servers.blue.ok_or_else(|| missing(Color::Blue))?;
        let green = servers.green.ok_or_else(|| missing(Color::Green))?;
        Ok(Upstream {
            name: name.to_owned(),
            line,
            servers: PerColor { blue, green },
            other_servers: others,
        })
    }

    /// The weights now in force, in percent; a `down` server counts 0.
    pub fn weights(&self) -> Result<Weights, UpstreamError> {
        let (b, g) = (&self.servers.blue.entry, &self.servers.green.entry);
        match (b.down, g.down) {
            (true, true) => Err(UpstreamError::BothDown {
                name: self.name.clone(),
                line: self.line,
            }),
            (true, false) => Ok(Weights {
                blue: 0,
                green: 100,
            }),
            (false, true) => Ok(Weights::STEADY),
            (false, false) => {
                // Both weights are at least 1, so the total is never 0 and blue lands in 1..=99.
                let total = u64::from(b.weight) + u64::from(g.weight);
                let scaled = u64::from(b.weight) * 100;
                let not_whole = || UpstreamError::NotWhole {
                    name: self.name.clone(),
                    line: self.line,
                    blue: b.weight,
                    green: g.weight,
                };
                if scaled % total != 0 {
                    return Err(not_whole());
                }
                let blue = u8::try_from(scaled / total).map_err(|_| not_whole())?;
                Ok(Weights {
                    blue,
                    green: 100 - blue,
                })
            }
        }
    }

    /// Each color's entry as written.
    pub fn entry(&self, color: Color) -> &ServerEntry {
        &self.servers[color].entry
    }

    /// Addresses of other servers in the block: they receive traffic too, so callers should warn.
    pub fn other_servers(&self) -> &[String] {
        &self.other_servers
    }

    /// Byte span of a color's server directive, from `server` through its `;`.
    pub fn span(&self, color: Color) -> Range<usize> {
        self.servers[color].span.clone()
    }

    /// 1-based line where a color's server directive starts.
    pub fn server_line(&self, color: Color) -> usize {
        self.servers[color].line
    }

    /// 1-based line of the `upstream` directive.
    pub fn line(&self) -> usize {
        self.line
    }
}

/// `src` with the two server lines rewritten for `to`; every other byte identical.
///
/// 0 becomes `down` (taking the place of `weight=`, or right after the address);
/// more than 0 becomes `weight=N` (in place of the old `weight=` or of a leading
/// `down`, else right after the address) with every `down` removed. When the file
/// already says `to`, it is returned unchanged, however its weights are written.
pub fn rewrite(
    src: &str,
    name: &str,
    blue: &str,
    green: &str,
    to: Weights,
) -> Result<String, UpstreamError> {
    if u16::from(to.blue) + u16::from(to.green) != 100 {
        return Err(UpstreamError::BadTarget {
            blue: to.blue,
            green: to.green,
        });
    }
    let upstream = Upstream::parse(src, name, blue, green)?;
    if upstream.weights().ok() == Some(to) {
        return Ok(src.to_owned());
    }
    let mut edits = Vec::new();
    for c in Color::BOTH {
        upstream.servers[c].edits(src, to.of(c), &mut edits);
    }
    // Insertions sort before a deletion starting at the same offset; only deletions overlap.
    edits.sort_by_key(|(r, _)| (r.start, r.end));
    let mut out = String::with_capacity(src.len() + 32);
    let mut cursor = 0;
    for (range, text) in edits {
        let start = range.start.max(cursor);
        out.push_str(&src[cursor..start]);
        out.push_str(&text);
        cursor = cursor.max(range.end);
    }
    out.push_str(&src[cursor..]);
    Ok(out)
}

/// A fresh upstream block (for the lab and docs), 4-space indent, ending with "}\n".
pub fn render_block(name: &str, blue: &str, green: &str, w: Weights) -> String {
    let line = |address: &str, weight: u8| {
        let flag = match weight {
            0 => "down".to_owned(),
            n => format!("weight={n}"),
        };
        format!(
            "    server {} {flag} max_fails=3 fail_timeout=10s;\n",
            quoted(address)
        )
    };
    format!(
        "upstream {} {{\n{}{}    keepalive 16;\n}}\n",
        quoted(name),
        line(blue, w.blue),
        line(green, w.green)
    )
}

/// `s` as one nginx word: quoted only when it holds something the tokenizer would split on.
fn quoted(s: &str) -> String {
    let plain = !s.is_empty()
        && !s
            .bytes()
            .any(|b| is_space(b) || matches!(b, b';' | b'{' | b'}' | b'#' | b'"' | b'\'' | b'\\'));
    if plain {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl Server {
    /// The edits that make this line say `target` percent.
    fn edits(&self, src: &str, target: u8, out: &mut Vec<(Range<usize>, String)>) {
        let weight = self.params.iter().position(|p| p.kind == ParamKind::Weight);
        let downs = self
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind == ParamKind::Down)
            .map(|(k, _)| k);
        let after_address = self.address.end..self.address.end;
        if target > 0 {
            let text = format!("weight={target}");
            // A `down` right after the address is where `weight=` was: reuse its place, so
            // a round trip through 0 gives back the original bytes.
            let slot = weight.or_else(|| {
                self.params
                    .first()
                    .filter(|p| p.kind == ParamKind::Down)
                    .map(|_| 0)
            });
            match slot.and_then(|k| self.params.get(k)) {
                Some(p) => out.push((p.span.clone(), text)),
                None => out.push((after_address, format!(" {text}"))),
            }
            for k in downs.filter(|&k| Some(k) != slot) {
                out.push((self.removal(src, k), String::new()));
            }
        } else if self.entry.down {
            if let Some(k) = weight {
                out.push((self.removal(src, k), String::new()));
            }
        } else {
            match weight.and_then(|k| self.params.get(k)) {
                Some(p) => out.push((p.span.clone(), "down".to_owned())),
                None => out.push((after_address, " down".to_owned())),
            }
        }
    }

    /// The bytes to delete to remove parameter `k` with one of its neighbouring gaps.
    ///
    /// Prefers the blank gap on the same line, so `a down;` becomes `a;` and a
    /// parameter alone on its line takes its line break with it; a gap holding a
    /// comment is never deleted.
    fn removal(&self, src: &str, k: usize) -> Range<usize> {
        let Some(p) = self.params.get(k) else {
            return 0..0;
        };
        let prev_end = match k.checked_sub(1).and_then(|j| self.params.get(j)) {
            Some(prev) => prev.span.end,
            None => self.address.end,
        };
        let (next_start, next_is_word) = match self.params.get(k + 1) {
            Some(next) => (next.span.start, true),
            None => (self.semi, false),
        };
        let before = src.get(prev_end..p.span.start).unwrap_or("");
        let after = src.get(p.span.end..next_start).unwrap_or("");
        let horizontal = |s: &str| !s.is_empty() && s.bytes().all(|b| b == b' ' || b == b'\t');
        let blank = |s: &str| s.bytes().all(is_space);
        if horizontal(before) {
            prev_end..p.span.end
        } else if next_is_word && horizontal(after) {
            p.span.start..next_start
        } else if blank(before) {
            prev_end..p.span.end
        } else {
            p.span.clone()
        }
    }
}

/// Walks the token stream once, tracking blocks, to find our upstream and its servers.
struct Scan<'a> {
    src: &'a str,
    name: &'a str,
    addresses: &'a PerColor<String>,
    servers: PerColor<Option<Server>>,
    others: Vec<String>,
}

/// An open block: whether it is our upstream, and how to name it if never closed.
struct Frame {
    ours: bool,
    line: usize,
    label: String,
}

impl Scan<'_> {
    /// Checks the whole file's structure and returns the line of our `upstream` directive.
    fn walk(&mut self, tokens: &[Token]) -> Result<usize, UpstreamError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut args: Vec<&Token> = Vec::new();
        let mut found: Option<usize> = None;
        for t in tokens {
            match t.kind {
                Kind::Word => args.push(t),
                Kind::Semi => {
                    let Some(first) = args.first() else {
                        return Err(syntax(t.line, "unexpected \";\""));
                    };
                    if stack.last().is_some_and(|f| f.ours) && first.value == "server" {
                        self.server(&args, t)?;
                    }
                    args.clear();
                }
                Kind::Open => {
                    let Some(first) = args.first() else {
                        return Err(syntax(t.line, "unexpected \"{\""));
                    };
                    // nginx compares upstream names case-insensitively (and calls a repeat a duplicate).
                    let ours = first.value == "upstream"
                        && args.len() == 2
                        && args
                            .get(1)
                            .is_some_and(|n| n.value.eq_ignore_ascii_case(self.name));
                    if ours {
                        if let Some(first_line) = found {
                            return Err(UpstreamError::Duplicate {
                                name: self.name.to_owned(),
                                line: first.line,
                                first_line,
                            });
                        }
                        found = Some(first.line);
                    }
                    let label = args
                        .iter()
                        .map(|a| a.value.as_str())
                        .collect::<Vec<_>>()
                        .join(" ");
                    stack.push(Frame {
                        ours,
                        line: first.line,
                        label,
                    });
                    args.clear();
                }
                Kind::Close => {
                    if let Some(first) = args.first() {
                        return Err(unterminated_directive(first));
                    }
                    if stack.pop().is_none() {
                        return Err(syntax(t.line, "unexpected \"}\""));
                    }
                }
            }
        }
        if let Some(first) = args.first() {
            return Err(unterminated_directive(first));
        }
        // If our block is the one left open, say so rather than name an outer block.
        if let Some(frame) = stack.iter().find(|f| f.ours).or(stack.last()) {
            return Err(UpstreamError::Unterminated {
                line: frame.line,
                what: format!("block \"{}\" has no closing \"}}\"", frame.label),
            });
        }
        found.ok_or_else(|| UpstreamError::NotFound {
            name: self.name.to_owned(),
        })
    }

    /// Records one `server ...;` directive found directly inside our block.
    fn server(&mut self, args: &[&Token], semi: &Token) -> Result<(), UpstreamError> {
        let (Some(keyword), Some(address)) = (args.first(), args.get(1)) else {
            let line = args.first().map_or(semi.line, |t| t.line);
            return Err(syntax(
                line,
                &format!("upstream \"{}\": server without an address", self.name),
            ));
        };
        // nginx would reject `server` as a parameter; it almost always means a missing `;`.
        if let Some(next) = args.iter().skip(2).find(|t| t.value == "server") {
            return Err(UpstreamError::Unterminated {
                line: keyword.line,
                what: format!(
                    "upstream \"{}\": server {} has no terminating \";\" (\"server\" follows on line {})",
                    self.name, address.value, next.line
                ),
            });
        }
        let Some(color) = Color::BOTH
            .into_iter()
            .find(|&c| self.addresses[c] == address.value)
        else {
            self.others.push(address.value.clone());
            return Ok(());
        };
        if let Some(first) = &self.servers[color] {
            return Err(UpstreamError::DuplicateServer {
                name: self.name.to_owned(),
                line: keyword.line,
                color,
                address: address.value.clone(),
                first_line: first.line,
            });
        }
        let mut entry = ServerEntry {
            weight: 1,
            down: false,
            params: Vec::new(),
        };
        let mut params = Vec::new();
        let mut weight_seen = false;
        for t in args.iter().skip(2) {
            let bad_weight = |detail: String| UpstreamError::BadWeight {
                name: self.name.to_owned(),
                line: t.line,
                color,
                address: address.value.clone(),
                detail,
            };
            let kind = if t.value == "backup" {
                return Err(UpstreamError::Backup {
                    name: self.name.to_owned(),
                    line: t.line,
                    color,
                    address: address.value.clone(),
                });
            } else if t.value == "down" {
                entry.down = true;
                ParamKind::Down
            } else if let Some(digits) = t.value.strip_prefix("weight=") {
                if weight_seen {
                    return Err(bad_weight("weight= given twice".to_owned()));
                }
                weight_seen = true;
                // nginx takes digits only: no sign, no spaces, no units.
                let parsed = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    digits.parse::<u32>().ok()
                } else {
                    None
                };
                match parsed {
                    Some(0) => {
                        return Err(UpstreamError::ZeroWeight {
                            name: self.name.to_owned(),
                            line: t.line,
                            color,
                            address: address.value.clone(),
                        });
                    }
                    Some(w) => entry.weight = w,
                    None => {
                        return Err(bad_weight(format!("malformed weight \"{}\"", t.value)));
                    }
                }
                ParamKind::Weight
            } else {
                entry.params.push(self.src[t.span.clone()].to_owned());
                ParamKind::Other
            };
            params.push(Param {
                span: t.span.clone(),
                kind,
            });
        }
        self.servers[color] = Some(Server {
            line: keyword.line,
            span: keyword.span.start..semi.span.end,
            address: address.span.clone(),
            params,
            semi: semi.span.start,
            entry,
        });
        Ok(())
    }
}

fn syntax(line: usize, message: &str) -> UpstreamError {
    UpstreamError::Syntax {
        line,
        message: message.to_owned(),
    }
}

fn unterminated_directive(first: &Token) -> UpstreamError {
    UpstreamError::Unterminated {
        line: first.line,
        what: format!("directive \"{}\" has no terminating \";\"", first.value),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    Semi,
    Open,
    Close,
}

/// A word (span includes its quotes; `value` is unquoted and unescaped) or `;` `{` `}`.
#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    span: Range<usize>,
    line: usize,
    value: String,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Appends the value of the escape `\next` as nginx does: `\"` `\'` `\\` lose the
/// backslash, `\t` `\r` `\n` become control characters, any other keeps both.
fn unescape(next: u8, out: &mut Vec<u8>) {
    match next {
        b'"' | b'\'' | b'\\' => out.push(next),
        b't' => out.push(b'\t'),
        b'r' => out.push(b'\r'),
        b'n' => out.push(b'\n'),
        _ => out.extend_from_slice(&[b'\\', next]),
    }
}

/// Splits `src` into nginx tokens, dropping whitespace and comments.
fn tokenize(src: &str) -> Result<Vec<Token>, UpstreamError> {
    let b = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            // A comment runs to the end of the line; the newline itself is counted above.
            b'#' => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b';' | b'{' | b'}' => {
                let kind = match c {
                    b';' => Kind::Semi,
                    b'{' => Kind::Open,
                    _ => Kind::Close,
                };
                tokens.push(Token {
                    kind,
                    span: i..i + 1,
                    line,
                    value: String::new(),
                });
                i += 1;
            }
            b'"' | b'\'' => {
                let (quote, start, start_line) = (c, i, line);
                let mut value = Vec::new();
                i += 1;
                loop {
                    let Some(&c) = b.get(i) else {
                        return Err(UpstreamError::Unterminated {
                            line: start_line,
                            what: "quoted string has no closing quote".to_owned(),
                        });
                    };
                    if c == b'\\' {
                        if let Some(&next) = b.get(i + 1) {
                            line += usize::from(next == b'\n');
                            unescape(next, &mut value);
                            i += 2;
                        } else {
                            i += 1;
                        }
                        continue;
                    }
                    i += 1;
                    if c == quote {
                        break;
                    }
                    line += usize::from(c == b'\n');
                    value.push(c);
                }
                // nginx wants a separator right after a closing quote (`)` starts the next word).
                if let Some(&next) = b.get(i) {
                    if !(is_space(next) || matches!(next, b';' | b'{' | b')')) {
                        let ch = src.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
                        return Err(syntax(
                            line,
                            &format!("unexpected \"{ch}\" right after a quoted string"),
                        ));
                    }
                }
                tokens.push(Token {
                    kind: Kind::Word,
                    span: start..i,
                    line: start_line,
                    value: String::from_utf8_lossy(&value).into_owned(),
                });
            }
            _ => {
                let (start, start_line) = (i, line);
                let mut value = Vec::new();
                // After `$`, a `{` belongs to the word (`${var}`), as in nginx.
                let mut variable = false;
                while let Some(&c) = b.get(i) {
                    if c == b'\\' {
                        if let Some(&next) = b.get(i + 1) {
                            line += usize::from(next == b'\n');
                            unescape(next, &mut value);
                            i += 2;
                        } else {
                            value.push(c);
                            i += 1;
                        }
                        variable = false;
                        continue;
                    }
                    if c == b'{' && variable {
                        value.push(c);
                        i += 1;
                        continue;
                    }
                    if is_space(c) || c == b';' || c == b'{' {
                        break;
                    }
                    variable = c == b'$';
                    value.push(c);
                    i += 1;
                }
                tokens.push(Token {
                    kind: Kind::Word,
                    span: start..i,
                    line: start_line,
                    value: String::from_utf8_lossy(&value).into_owned(),
                });
            }
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLUE: &str = "127.0.0.1:8787";
    const GREEN: &str = "127.0.0.1:8788";

    /// A realistic file: look-alike servers in comments, a prefix-named upstream with the
    /// same addresses, quotes holding `#` `;` and braces, tabs, a two-line green directive,
    /// trailing whitespace, and no final newline.
    const CONF: &str = concat!(
        "# nginx.conf for gw-1 (blue/green managed by cutover)\n",
        "# old layout: server 127.0.0.1:8787 weight=100;\n",
        "user  nginx;\n",
        "worker_processes  auto;\n",
        "\n",
        "events {\n",
        "\tworker_connections 1024;\n",
        "}\n",
        "\n",
        "http {\n",
        "    log_format cutover escape=json '{\"time\":\"$msec\",\"status\":\"$status\"}';\n",
        "    add_header X-Note \"not # a comment; { nor a block\";\n",
        "\n",
        "    upstream gateway_v2 {\n",
        "        server 127.0.0.1:8787 weight=50;\n",
        "        server 127.0.0.1:8788 weight=50;\n",
        "    }\n",
        "\n",
        "    upstream gateway {\n",
        "        # blue: server 127.0.0.1:8787 weight=1 backup;\n",
        "        server 127.0.0.1:8787 weight=90 max_fails=3 fail_timeout=10s;  \t\n",
        "\tserver 127.0.0.1:8788\n",
        "               weight=10 max_fails=3 fail_timeout=10s; # green }\n",
        "        keepalive 16;\n",
        "    }\n",
        "\n",
        "    server {\n",
        "        listen 443 ssl;\n",
        "        location / {\n",
        "            proxy_pass http://gateway;\n",
        "        }\n",
        "        location /v2 { proxy_pass http://gateway_v2; }\n",
        "    }\n",
        "}",
    );

    fn crlf(s: &str) -> String {
        s.replace('\n', "\r\n")
    }

    fn w(green: u8) -> Weights {
        Weights::with_green(green).unwrap()
    }

    fn parse(src: &str) -> Result<Upstream, UpstreamError> {
        Upstream::parse(src, "gateway", BLUE, GREEN)
    }

    fn rewrite_to(src: &str, green: u8) -> String {
        rewrite(src, "gateway", BLUE, GREEN, w(green)).unwrap()
    }

    fn err(src: &str) -> String {
        parse(src).unwrap_err().to_string()
    }

    fn server_text(src: &str, c: Color) -> String {
        src[parse(src).unwrap().span(c)].to_owned()
    }

    /// Every byte outside the two server directives is the same in `a` and `b`.
    fn assert_outside_spans_equal(a: &str, b: &str) {
        let cut = |s: &str| {
            let u = parse(s).unwrap();
            let mut spans = [u.span(Color::Blue), u.span(Color::Green)];
            spans.sort_by_key(|r| r.start);
            let [first, second] = spans;
            (
                s[..first.start].to_owned(),
                s[first.end..second.start].to_owned(),
                s[second.end..].to_owned(),
            )
        };
        assert_eq!(cut(a), cut(b));
    }

    #[test]
    fn parses_the_realistic_file() {
        let u = parse(CONF).unwrap();
        assert_eq!(u.line(), 19);
        assert_eq!(u.server_line(Color::Blue), 21);
        assert_eq!(u.server_line(Color::Green), 22);
        assert_eq!(u.weights().unwrap(), w(10));
        let params = vec!["max_fails=3".to_owned(), "fail_timeout=10s".to_owned()];
        assert_eq!(
            u.entry(Color::Blue),
            &ServerEntry {
                weight: 90,
                down: false,
                params: params.clone()
            }
        );
        assert_eq!(
            u.entry(Color::Green),
            &ServerEntry {
                weight: 10,
                down: false,
                params
            }
        );
        assert!(u.other_servers().is_empty());
        assert_eq!(
            &CONF[u.span(Color::Green)],
            "server 127.0.0.1:8788\n               weight=10 max_fails=3 fail_timeout=10s;"
        );
        let crlf = crlf(CONF);
        assert_eq!(parse(&crlf).unwrap().weights().unwrap(), w(10));
    }

    #[test]
    fn round_trips_the_cutover_phases() {
        for src in [CONF.to_owned(), crlf(CONF)] {
            for green in [0, 10, 50, 100] {
                let out = rewrite_to(&src, green);
                let u = parse(&out).unwrap();
                assert_eq!(u.weights().unwrap(), w(green), "green {green}");
                for c in Color::BOTH {
                    let e = u.entry(c);
                    let pct = w(green).of(c);
                    assert_eq!(e.down, pct == 0, "{c} at {green}");
                    if pct > 0 {
                        assert_eq!(e.weight, u32::from(pct));
                    }
                    assert_eq!(e.params, ["max_fails=3", "fail_timeout=10s"]);
                }
                assert_outside_spans_equal(&src, &out);
                assert!(!out.contains("weight=0"));
                // Going back to the original split restores every byte.
                assert_eq!(rewrite_to(&out, 10), src, "via green {green}");
            }
        }
    }

    #[test]
    fn down_appears_and_disappears_in_place() {
        let steady = rewrite_to(CONF, 0);
        assert_eq!(
            server_text(&steady, Color::Blue),
            "server 127.0.0.1:8787 weight=100 max_fails=3 fail_timeout=10s;"
        );
        assert_eq!(
            server_text(&steady, Color::Green),
            "server 127.0.0.1:8788\n               down max_fails=3 fail_timeout=10s;"
        );
        let complete = rewrite_to(&steady, 100);
        assert_eq!(
            server_text(&complete, Color::Blue),
            "server 127.0.0.1:8787 down max_fails=3 fail_timeout=10s;"
        );
        assert_eq!(
            server_text(&complete, Color::Green),
            "server 127.0.0.1:8788\n               weight=100 max_fails=3 fail_timeout=10s;"
        );
        let half = rewrite_to(&complete, 50);
        assert!(half.contains("server 127.0.0.1:8787 weight=50 max_fails=3"));
        assert!(!half[parse(&half).unwrap().span(Color::Blue)].contains("down"));
    }

    #[test]
    fn weight_is_inserted_after_the_address_and_trailing_down_removed() {
        let src = "upstream gateway {\n  server 127.0.0.1:8787 max_fails=3 down;\n  server 127.0.0.1:8788 max_fails=3;\n}\n";
        let out = rewrite_to(src, 30);
        assert_eq!(
            out,
            "upstream gateway {\n  server 127.0.0.1:8787 weight=70 max_fails=3;\n  server 127.0.0.1:8788 weight=30 max_fails=3;\n}\n"
        );
        let back = rewrite_to(&out, 100);
        assert_eq!(
            back,
            "upstream gateway {\n  server 127.0.0.1:8787 down max_fails=3;\n  server 127.0.0.1:8788 weight=100 max_fails=3;\n}\n"
        );
        // `down` with `weight=` on the same line: the weight goes, the flag stays.
        let both = "upstream gateway {\n  server 127.0.0.1:8787 weight=5 down;\n  server 127.0.0.1:8788 weight=5;\n}\n";
        assert_eq!(parse(both).unwrap().weights().unwrap(), w(100));
        let out = rewrite_to(both, 50);
        assert!(out.contains("server 127.0.0.1:8787 weight=50;"));
    }

    #[test]
    fn down_alone_on_its_line_takes_the_line_break_with_it() {
        let src = "upstream gateway {\n  server 127.0.0.1:8787 weight=9 max_fails=3\n      down;\n  server 127.0.0.1:8788 weight=1;\n}\n";
        let out = rewrite_to(src, 20);
        assert!(
            out.contains("server 127.0.0.1:8787 weight=80 max_fails=3;\n"),
            "{out}"
        );
        // A comment in the gap is never deleted.
        let src = "upstream gateway {\n  server 127.0.0.1:8787 max_fails=3 # keep me\n      down;\n  server 127.0.0.1:8788;\n}\n";
        let out = rewrite_to(src, 50);
        assert!(out.contains("# keep me"), "{out}");
        assert_eq!(parse(&out).unwrap().weights().unwrap(), w(50));
        assert_outside_spans_equal(src, &out);
    }

    #[test]
    fn rewriting_to_the_current_weights_changes_nothing() {
        for src in [CONF.to_owned(), crlf(CONF)] {
            assert_eq!(rewrite_to(&src, 10), src);
        }
        let nine_one = "upstream gateway {\n  server 127.0.0.1:8787 weight=9;\n  server 127.0.0.1:8788 weight=1;\n}";
        assert_eq!(rewrite_to(nine_one, 10), nine_one);
        for green in (0..=100).step_by(10) {
            let once = rewrite_to(CONF, green);
            assert_eq!(rewrite_to(&once, green), once);
        }
    }

    #[test]
    fn weights_follow_nginx_shares() {
        let file = |b: &str, g: &str| {
            format!("upstream gateway {{\n  server {BLUE} {b};\n  server {GREEN} {g};\n}}\n")
        };
        let weights = |b: &str, g: &str| parse(&file(b, g)).unwrap().weights();
        assert_eq!(weights("weight=9", "weight=1").unwrap(), w(10));
        assert_eq!(weights("weight=3", "weight=1").unwrap(), w(25));
        assert_eq!(weights("max_fails=1", "weight=1").unwrap(), w(50));
        assert_eq!(weights("down", "weight=7").unwrap(), w(100));
        assert_eq!(weights("weight=7", "down").unwrap(), w(0));
        let u = parse(&file("max_fails=1", "down")).unwrap();
        assert_eq!(u.entry(Color::Blue).weight, 1, "default weight");

        let e = weights("weight=1", "weight=2").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: upstream \"gateway\": weight=1 (blue) and weight=2 (green) do not split into whole percents"
        );
        let e = weights("down", "down").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: upstream \"gateway\": both blue and green are down"
        );
        // A non-whole file can still be rewritten to a clean split.
        let out = rewrite_to(&file("weight=1", "weight=2"), 40);
        assert_eq!(parse(&out).unwrap().weights().unwrap(), w(40));
    }

    #[test]
    fn unix_socket_addresses() {
        let (b, g) = ("unix:/run/gw-blue.sock", "unix:/run/gw-green.sock");
        let src = render_block("gateway", b, g, w(0));
        assert_eq!(
            src,
            "upstream gateway {\n    server unix:/run/gw-blue.sock weight=100 max_fails=3 fail_timeout=10s;\n    server unix:/run/gw-green.sock down max_fails=3 fail_timeout=10s;\n    keepalive 16;\n}\n"
        );
        let out = rewrite(&src, "gateway", b, g, w(10)).unwrap();
        assert_eq!(out, render_block("gateway", b, g, w(10)));
        let u = Upstream::parse(&out, "gateway", b, g).unwrap();
        assert_eq!(u.weights().unwrap(), w(10));
        // A quoted address is matched by its value and keeps its quotes.
        let quoted = "upstream gateway {\n  server \"unix:/run/gw-blue.sock\" weight=1;\n  server 'unix:/run/gw-green.sock' weight=1;\n}\n";
        let out = rewrite(quoted, "gateway", b, g, w(100)).unwrap();
        assert!(
            out.contains("server \"unix:/run/gw-blue.sock\" down;"),
            "{out}"
        );
        assert!(out.contains("server 'unix:/run/gw-green.sock' weight=100;"));
    }

    #[test]
    fn every_step_reads_back_as_written() {
        for src in [
            CONF.to_owned(),
            crlf(CONF),
            render_block("gateway", BLUE, GREEN, w(0)),
        ] {
            for g in (0..=100).step_by(10) {
                let out = rewrite_to(&src, g);
                assert_eq!(parse(&out).unwrap().weights().unwrap(), w(g));
                assert_outside_spans_equal(&src, &out);
            }
        }
        for from in (0..=100).step_by(10) {
            for to in (0..=100).step_by(10) {
                let src = render_block("gateway", BLUE, GREEN, w(from));
                assert_eq!(
                    rewrite_to(&src, to),
                    render_block("gateway", BLUE, GREEN, w(to))
                );
            }
        }
    }

    #[test]
    fn other_servers_are_reported() {
        let src = "upstream gateway {\n  server 127.0.0.1:8787;\n  server 10.0.0.9:8787 weight=5;\n  server 127.0.0.1:8788 down;\n}\n";
        let u = parse(src).unwrap();
        assert_eq!(u.other_servers(), ["10.0.0.9:8787"]);
        let out = rewrite_to(src, 50);
        assert!(out.contains("server 10.0.0.9:8787 weight=5;"));
    }

    #[test]
    fn upstream_name_is_matched_whole_and_case_insensitively() {
        let src = "http {\n upstream gateway_v2 {\n  server 127.0.0.1:8787;\n  server 127.0.0.1:8788;\n }\n}\n";
        assert_eq!(err(src), "upstream \"gateway\" not found");
        let src = "upstream Gateway {\n  server 127.0.0.1:8787;\n  server 127.0.0.1:8788;\n}\n";
        assert_eq!(parse(src).unwrap().weights().unwrap(), w(50));
    }

    #[test]
    fn errors_name_the_line() {
        let dup = "upstream gateway {\n server 127.0.0.1:8787;\n server 127.0.0.1:8788;\n}\n\nupstream gateway {\n}\n";
        assert_eq!(
            err(dup),
            "line 6: upstream \"gateway\" defined twice (first at line 1)"
        );
        let missing = "http {\n\n  upstream gateway {\n    server 127.0.0.1:8787;\n    # server 127.0.0.1:8788;\n  }\n}\n";
        assert_eq!(
            err(missing),
            "line 3: upstream \"gateway\": no server line for green address 127.0.0.1:8788"
        );
        let twice = "upstream gateway {\n server 127.0.0.1:8787;\n server 127.0.0.1:8788;\n server 127.0.0.1:8787 down;\n}\n";
        assert_eq!(
            err(twice),
            "line 4: upstream \"gateway\": blue address 127.0.0.1:8787 listed twice (first at line 2)"
        );
        let backup =
            "upstream gateway {\n server 127.0.0.1:8787;\n server 127.0.0.1:8788\n   backup;\n}\n";
        assert_eq!(
            err(backup),
            "line 4: upstream \"gateway\": green server 127.0.0.1:8788 is \"backup\", which cannot carry a weight share; remove \"backup\""
        );
        let zero =
            "upstream gateway {\n server 127.0.0.1:8787 weight=0;\n server 127.0.0.1:8788;\n}\n";
        assert_eq!(
            err(zero),
            "line 2: upstream \"gateway\": blue server 127.0.0.1:8787 has weight=0, which nginx rejects; use \"down\""
        );
        for bad in [
            "weight=ten",
            "weight=",
            "weight=+5",
            "weight=5s",
            "weight=99999999999",
        ] {
            let src = format!(
                "upstream gateway {{\n server 127.0.0.1:8787;\n server 127.0.0.1:8788 {bad};\n}}\n"
            );
            assert_eq!(
                err(&src),
                format!(
                    "line 3: upstream \"gateway\": green server 127.0.0.1:8788: malformed weight \"{bad}\""
                )
            );
        }
        let twice_weight = "upstream gateway {\n server 127.0.0.1:8787 weight=1 weight=2;\n server 127.0.0.1:8788;\n}\n";
        assert_eq!(
            err(twice_weight),
            "line 2: upstream \"gateway\": blue server 127.0.0.1:8787: weight= given twice"
        );
        let open_block = "http {\n  upstream gateway {\n    server 127.0.0.1:8787;\n    server 127.0.0.1:8788;\n}\n";
        assert_eq!(
            err(open_block),
            "line 1: block \"http\" has no closing \"}\""
        );
        let open_ours = "upstream gateway {\n server 127.0.0.1:8787;\n server 127.0.0.1:8788;\n";
        assert_eq!(
            err(open_ours),
            "line 1: block \"upstream gateway\" has no closing \"}\""
        );
        let open_quote = "upstream gateway {\n server 127.0.0.1:8787;\n server 127.0.0.1:8788;\n}\nadd_header X \"oops;\n}\n";
        assert_eq!(
            err(open_quote),
            "line 5: quoted string has no closing quote"
        );
        let no_semi = "upstream gateway {\n server 127.0.0.1:8787\n server 127.0.0.1:8788;\n}\n";
        assert_eq!(
            err(no_semi),
            "line 2: upstream \"gateway\": server 127.0.0.1:8787 has no terminating \";\" (\"server\" follows on line 3)"
        );
        let no_semi_at_end =
            "upstream gateway {\n server 127.0.0.1:8787;\n server 127.0.0.1:8788\n}\n";
        assert_eq!(
            err(no_semi_at_end),
            "line 3: directive \"server\" has no terminating \";\""
        );
        let stray = "upstream gateway {\n server 127.0.0.1:8787;\n server 127.0.0.1:8788;\n}\n}\n";
        assert_eq!(err(stray), "line 5: unexpected \"}\"");
        let after_quote = "upstream gateway {\n server \"127.0.0.1:8787\"weight=1;\n}\n";
        assert_eq!(
            err(after_quote),
            "line 2: unexpected \"w\" right after a quoted string"
        );
        assert_eq!(
            Upstream::parse(CONF, "gateway", BLUE, BLUE)
                .unwrap_err()
                .to_string(),
            "blue and green have the same address 127.0.0.1:8787"
        );
        let bad_target = rewrite(
            CONF,
            "gateway",
            BLUE,
            GREEN,
            Weights {
                blue: 50,
                green: 60,
            },
        );
        assert_eq!(
            bad_target.unwrap_err().to_string(),
            "target weights 50/60 do not add up to 100"
        );
        assert_eq!(parse(zero).unwrap_err().line(), Some(2));
    }

    #[test]
    fn file_text_in_errors_cannot_drive_the_terminal() {
        let src = "upstream gateway {\n server 127.0.0.1:8787 weight=\u{1b}[2J;\n server 127.0.0.1:8788;\n}\n";
        let msg = err(src);
        assert!(!msg.contains('\u{1b}'), "{msg}");
        assert!(msg.contains("\\u{1b}[2J"), "{msg}");
    }

    #[test]
    fn nginx_token_rules() {
        // `#` inside a word is not a comment; `${var}` braces stay in the word; escapes
        // hide delimiters; a server inside a nested block is not ours.
        let src = "upstream gateway {\n  server 127.0.0.1:8787 max_fails=3#x weight=4;\n  server 127.0.0.1:8788 weight=1 route=a\\;b;\n  map ${a} $b { server 127.0.0.1:8788; }\n}\nset $x ${y}z;\n";
        let u = parse(src).unwrap();
        assert_eq!(u.weights().unwrap(), w(20));
        assert_eq!(u.entry(Color::Blue).params, ["max_fails=3#x"]);
        assert_eq!(u.entry(Color::Green).params, ["route=a\\;b"]);
    }

    #[test]
    fn never_panics_on_broken_or_odd_input() {
        let mut inputs: Vec<String> = Vec::new();
        let multi = format!("{CONF}\n# ünïcödé ✓ \"'\\\n");
        for (i, _) in multi.char_indices() {
            inputs.push(multi[..i].to_owned());
            inputs.push(multi[i..].to_owned());
        }
        // Deterministic noise over the characters that matter to the tokenizer.
        let alphabet: Vec<char> =
            "server weight=1 down ;{}#\"'\\\n\r\t$é 127.0.0.1:8787 gateway upstream"
                .chars()
                .collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let mut s =
                String::from("upstream gateway { server 127.0.0.1:8787; server 127.0.0.1:8788; ");
            for _ in 0..40 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let k = (seed >> 33) as usize % alphabet.len();
                s.push(alphabet[k]);
            }
            inputs.push(s);
        }
        for s in &inputs {
            if let Ok(u) = parse(s) {
                let _ = u.weights();
            }
            for g in [0, 50, 100] {
                if let Ok(out) = rewrite(s, "gateway", BLUE, GREEN, w(g)) {
                    assert_eq!(parse(&out).unwrap().weights().unwrap(), w(g), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn render_block_quotes_what_nginx_would_split() {
        let block = render_block("gateway", "unix:/run/a b.sock", GREEN, w(50));
        assert!(block.contains("server \"unix:/run/a b.sock\" weight=50"));
        let u = Upstream::parse(&block, "gateway", "unix:/run/a b.sock", GREEN).unwrap();
        assert_eq!(u.weights().unwrap(), w(50));
    }
}
