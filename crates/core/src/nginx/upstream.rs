//! Parse the configured upstream block and rewrite only its two server lines.
//!
//! The tokenizer follows nginx's own (`ngx_conf_read_token`): whitespace separates
//! words, `;` `{` `}` end them, `#` starts a comment only where a word could
//! start, quotes and backslash escapes hide all of that. Anything nginx itself
//! would reject is an error here too, so the file is never edited on a guess.
//! Every span is cut at an ASCII delimiter, so slicing stays on char boundaries.
//!
//! One file is not the whole story: `include` pulls other files into the block, and the
//! configured file may not be loaded at all. [`judge_loaded`] reads `nginx -T` output (every
//! file nginx loads) the way nginx does, following includes, to say so.

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
    includes: Vec<String>,
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
            includes: Vec::new(),
        };
        let line = scan.walk(&tokens)?;
        let Scan {
            servers,
            others,
            includes,
            ..
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
            includes,
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

    /// The `include` directives of the block, as written (`extra.inc`, `servers/*.conf`).
    ///
    /// nginx reads them in place, so servers they hold take traffic although this file does
    /// not show them; only the loaded configuration (`nginx -T`, see [`judge_loaded`]) says
    /// which servers they add.
    pub fn includes(&self) -> &[String] {
        &self.includes
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
/// more than 0 becomes `weight=N` (in place of the old `weight=`, else of the first
/// `down`, else right after the address) with every other `down` removed. Nothing else
/// on the line moves, so stepping away and back restores the operator's bytes. A line
/// that already says its share, and a file that already says `to`, however its weights
/// are written, are left unchanged; a rewritten weight is written as a plain integer.
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

/// What the configuration nginx loads (`nginx -T`) says about the configured upstream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadedReport {
    /// Why the configured file's weights are not the ones nginx uses, when they are not.
    pub problem: Option<String>,
    /// Each `include` of the configured upstream block, as written, with the servers nginx
    /// reads through it, each as `ADDR (from FILE)`; an include that adds none has an empty list.
    pub via_include: Vec<(String, Vec<String>)>,
}

/// Judge `nginx -T` output against the configured file `conf` and upstream `name`.
///
/// `is_conf` says whether a path nginx loaded is the configured file (the caller knows
/// symlinks). The configuration is followed from its main file through every `include`,
/// as nginx reads it, so a server that reaches the upstream through an include is found
/// however deep, and a configured file that nginx does not load at all is a problem.
pub fn judge_loaded(
    dump: &str,
    conf: &str,
    is_conf: &dyn Fn(&str) -> bool,
    name: &str,
) -> Result<LoadedReport, String> {
    let files = split_dump(dump);
    if files.is_empty() {
        return Err("nginx -T printed no configuration file".to_owned());
    }
    let loaded = load(&files, name)?;
    let ours: Vec<usize> = (0..loaded.blocks.len())
        .filter(|&b| is_conf(&loaded.blocks[b]))
        .collect();
    let problem = if !ours.is_empty() {
        None
    } else if files.iter().any(|f| is_conf(&f.path)) {
        Some(match loaded.blocks.first() {
            Some(other) => format!(
                "nginx uses upstream \"{}\" from {}, not the one in {}",
                Shown(name),
                Shown(other),
                Shown(conf)
            ),
            None => format!(
                "nginx loads {} but takes no http upstream \"{}\" from it",
                Shown(conf),
                Shown(name)
            ),
        })
    } else {
        const SHOWN_FILES: usize = 6;
        let mut list: Vec<String> = files
            .iter()
            .take(SHOWN_FILES)
            .map(|f| Shown(&f.path).to_string())
            .collect();
        if files.len() > SHOWN_FILES {
            list.push(format!("and {} more", files.len() - SHOWN_FILES));
        }
        Some(format!(
            "{} is not in the configuration nginx loads (nginx -T reads {}): its weights are not in force",
            Shown(conf),
            list.join(", ")
        ))
    };
    let mut via_include: Vec<(String, Vec<String>)> = Vec::new();
    for (block, arg) in &loaded.includes {
        if ours.contains(block) && !via_include.iter().any(|(a, _)| a == arg) {
            via_include.push((arg.clone(), Vec::new()));
        }
    }
    for s in loaded.servers.iter().filter(|s| ours.contains(&s.block)) {
        let Some(via) = &s.via else { continue };
        if let Some((_, list)) = via_include.iter_mut().find(|(a, _)| a == via) {
            list.push(format!("{} (from {})", Shown(&s.address), Shown(&s.file)));
        }
    }
    Ok(LoadedReport {
        problem,
        via_include,
    })
}

/// One file of `nginx -T` output.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DumpFile {
    /// Its path as nginx opened it.
    path: String,
    text: String,
}

/// What precedes each file nginx dumps: `# configuration file PATH:`.
const DUMP_HEADER: &str = "# configuration file ";

/// Split `nginx -T` output into its files. nginx prints each file it loads once, in load
/// order, after its header line and followed by one line break of its own; what comes before
/// the first header (nginx's messages, when stderr is mixed in) is not configuration.
fn split_dump(dump: &str) -> Vec<DumpFile> {
    let mut files = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let mut at = 0;
    let close = |current: Option<(String, usize)>, end: usize, files: &mut Vec<DumpFile>| {
        if let Some((path, start)) = current {
            let text = dump.get(start..end).unwrap_or("");
            let text = text.strip_suffix('\n').unwrap_or(text);
            files.push(DumpFile {
                path,
                text: text.to_owned(),
            });
        }
    };
    for line in dump.split_inclusive('\n') {
        let bare = line.strip_suffix('\n').unwrap_or(line);
        if let Some(path) = bare
            .strip_prefix(DUMP_HEADER)
            .and_then(|r| r.strip_suffix(':'))
        {
            close(current.take(), at, &mut files);
            current = Some((path.to_owned(), at + line.len()));
        }
        at += line.len();
    }
    close(current, dump.len(), &mut files);
    files
}

/// nginx stops far earlier on a real include loop; this only bounds the walk.
const MAX_INCLUDE_DEPTH: usize = 32;

/// The configured upstream's blocks and servers in the loaded configuration.
#[derive(Debug, Default)]
struct Loaded {
    /// Files holding an http `upstream NAME { ... }`, one entry per block.
    blocks: Vec<String>,
    /// `include` directives directly in those blocks: (block, argument as written).
    includes: Vec<(usize, String)>,
    servers: Vec<LoadedServer>,
}

/// A `server` of the configured upstream as nginx loads it.
#[derive(Debug)]
struct LoadedServer {
    address: String,
    /// The file its line is in.
    file: String,
    /// Index into [`Loaded::blocks`].
    block: usize,
    /// The block's `include` it came through, as written; `None` when written in the block.
    via: Option<String>,
}

/// Where a file's text sits, as the walk descends through blocks and includes.
#[derive(Debug, Clone, Default)]
struct Ctx {
    /// Inside our upstream block (index into [`Loaded::blocks`]).
    ours: Option<usize>,
    /// The include of our block that led here.
    via: Option<String>,
    /// Inside `stream { }`, whose upstreams are another namespace.
    stream: bool,
}

/// Follow the loaded configuration from its main file, reading includes in place as nginx does.
fn load(files: &[DumpFile], name: &str) -> Result<Loaded, String> {
    // Relative includes are relative to the main file's directory (nginx's conf prefix).
    let prefix = files
        .first()
        .and_then(|f| f.path.rfind('/').map(|i| f.path[..=i].to_owned()))
        .unwrap_or_default();
    let mut walk = LoadWalk {
        files,
        prefix,
        name,
        out: Loaded::default(),
    };
    walk.file(0, &Ctx::default(), 0)?;
    Ok(walk.out)
}

struct LoadWalk<'a> {
    files: &'a [DumpFile],
    prefix: String,
    name: &'a str,
    out: Loaded,
}

impl LoadWalk<'_> {
    fn file(&mut self, k: usize, outer: &Ctx, depth: usize) -> Result<(), String> {
        let files = self.files;
        let Some(f) = files.get(k) else {
            return Ok(());
        };
        if depth > MAX_INCLUDE_DEPTH {
            return Err(format!(
                "{}: includes nested more than {MAX_INCLUDE_DEPTH} deep",
                Shown(&f.path)
            ));
        }
        let tokens = tokenize(&f.text).map_err(|e| format!("{}: {e}", Shown(&f.path)))?;
        let mut stack: Vec<Ctx> = Vec::new();
        let mut args: Vec<&Token> = Vec::new();
        for t in &tokens {
            let here = stack.last().unwrap_or(outer);
            match t.kind {
                Kind::Word => args.push(t),
                Kind::Semi => {
                    match (args.first().map(|a| a.value.as_str()), args.get(1)) {
                        (Some("include"), Some(arg)) => {
                            if let Some(block) = here.ours.filter(|_| here.via.is_none()) {
                                self.out.includes.push((block, arg.value.clone()));
                            }
                            let inner = Ctx {
                                via: here
                                    .via
                                    .clone()
                                    .or_else(|| here.ours.map(|_| arg.value.clone())),
                                ..here.clone()
                            };
                            for m in self.matches(&arg.value) {
                                self.file(m, &inner, depth + 1)?;
                            }
                        }
                        (Some("server"), Some(address)) => {
                            if let Some(block) = here.ours {
                                self.out.servers.push(LoadedServer {
                                    address: address.value.clone(),
                                    file: f.path.clone(),
                                    block,
                                    via: here.via.clone(),
                                });
                            }
                        }
                        _ => {}
                    }
                    args.clear();
                }
                Kind::Open => {
                    let first = args.first().map(|a| a.value.as_str());
                    let is_ours = !here.stream
                        && here.ours.is_none()
                        && first == Some("upstream")
                        && args.len() == 2
                        && args[1].value.eq_ignore_ascii_case(self.name);
                    let ours = is_ours.then(|| {
                        self.out.blocks.push(f.path.clone());
                        self.out.blocks.len() - 1
                    });
                    let stream = here.stream || first == Some("stream");
                    stack.push(Ctx {
                        ours,
                        via: None,
                        stream,
                    });
                    args.clear();
                }
                Kind::Close => {
                    stack.pop();
                    args.clear();
                }
            }
        }
        Ok(())
    }

    /// The dumped files an `include` argument names, as nginx resolves it (globs sorted).
    fn matches(&self, arg: &str) -> Vec<usize> {
        include_matches(self.files, &self.prefix, arg)
    }
}

/// The dumped files an `include` argument names, as nginx resolves it against `prefix` (the
/// main file's directory; globs sorted).
fn include_matches(files: &[DumpFile], prefix: &str, arg: &str) -> Vec<usize> {
    let full = if arg.starts_with('/') {
        arg.to_owned()
    } else {
        format!("{prefix}{arg}")
    };
    if !arg.contains(['*', '?', '[']) {
        return files
            .iter()
            .position(|f| f.path == full)
            .into_iter()
            .collect();
    }
    let mut found: Vec<usize> = (0..files.len())
        .filter(|&i| glob_match(full.as_bytes(), files[i].path.as_bytes()))
        .collect();
    found.sort_by(|&a, &b| files[a].path.cmp(&files[b].path));
    found
}

/// One directive of the configuration nginx loads, in load order, with includes read in
/// place (the `include` directive itself is kept too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedDirective {
    /// Its words, unquoted: `["proxy_read_timeout", "300s"]`.
    pub args: Vec<String>,
    /// The file it is written in, as nginx printed it.
    pub file: String,
    /// 1-based line of its first word in that file.
    pub line: usize,
    /// Index (in the same list) of the block directive it is inside; `None` in the main context.
    pub parent: Option<usize>,
    /// Whether it opens a block (`server {`, `location = /x {`).
    pub block: bool,
}

/// Every directive of `nginx -T` output, walked from the main file through every `include`
/// the way nginx reads them (the same reader as [`judge_loaded`]), for lints that need to know
/// what applies where and on which line it is written.
pub fn loaded_directives(dump: &str) -> Result<Vec<LoadedDirective>, String> {
    let files = split_dump(dump);
    if files.is_empty() {
        return Err("nginx -T printed no configuration file".to_owned());
    }
    let prefix = files
        .first()
        .and_then(|f| f.path.rfind('/').map(|i| f.path[..=i].to_owned()))
        .unwrap_or_default();
    let mut out = Vec::new();
    flat_file(&files, &prefix, 0, None, 0, &mut out)?;
    Ok(out)
}

/// Append file `k`'s directives to `out`, inside block `outer`, following its includes.
fn flat_file(
    files: &[DumpFile],
    prefix: &str,
    k: usize,
    outer: Option<usize>,
    depth: usize,
    out: &mut Vec<LoadedDirective>,
) -> Result<(), String> {
    let Some(f) = files.get(k) else {
        return Ok(());
    };
    if depth > MAX_INCLUDE_DEPTH {
        return Err(format!(
            "{}: includes nested more than {MAX_INCLUDE_DEPTH} deep",
            Shown(&f.path)
        ));
    }
    let tokens = tokenize(&f.text).map_err(|e| format!("{}: {e}", Shown(&f.path)))?;
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut args: Vec<&Token> = Vec::new();
    for t in &tokens {
        let parent = stack.last().copied().unwrap_or(outer);
        match t.kind {
            Kind::Word => args.push(t),
            Kind::Semi | Kind::Open => {
                let Some(first) = args.first() else {
                    // `nginx -T` printed what nginx accepted; a stray token is not ours to judge.
                    args.clear();
                    if t.kind == Kind::Open {
                        stack.push(parent);
                    }
                    continue;
                };
                out.push(LoadedDirective {
                    args: args.iter().map(|a| a.value.clone()).collect(),
                    file: f.path.clone(),
                    line: first.line,
                    parent,
                    block: t.kind == Kind::Open,
                });
                if t.kind == Kind::Open {
                    stack.push(Some(out.len() - 1));
                } else if first.value == "include" {
                    if let Some(arg) = args.get(1) {
                        for m in include_matches(files, prefix, &arg.value) {
                            flat_file(files, prefix, m, parent, depth + 1, out)?;
                        }
                    }
                }
                args.clear();
            }
            Kind::Close => {
                stack.pop();
                args.clear();
            }
        }
    }
    Ok(())
}

/// `glob(3)` matching of one path: `*` and `?` stop at `/`, `[...]` classes, `\` escapes.
fn glob_match(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => {
            for i in 0..=s.len() {
                if glob_match(rest, &s[i..]) {
                    return true;
                }
                if s.get(i) == Some(&b'/') {
                    break;
                }
            }
            false
        }
        Some((b'?', rest)) => s.first().is_some_and(|&c| c != b'/') && glob_match(rest, &s[1..]),
        Some((b'[', rest)) => match (class(rest), s.split_first()) {
            (Some((set, after)), Some((&c, tail))) => {
                c != b'/' && set(c) && glob_match(after, tail)
            }
            (Some(_), None) => false,
            // No closing `]`: a plain `[`.
            (None, _) => s.first() == Some(&b'[') && glob_match(rest, &s[1..]),
        },
        Some((b'\\', rest)) if !rest.is_empty() => {
            s.first() == rest.first() && glob_match(&rest[1..], &s[1..])
        }
        Some((&c, rest)) => s.first() == Some(&c) && glob_match(rest, &s[1..]),
    }
}

/// A `[...]` class (after its `[`): a test for one byte, and the pattern after `]`.
fn class(p: &[u8]) -> Option<(impl Fn(u8) -> bool + '_, &[u8])> {
    let (negated, body) = match p.first() {
        Some(b'!' | b'^') => (true, &p[1..]),
        _ => (false, p),
    };
    // A `]` first in the class is a member, not its end.
    let skip = usize::from(body.first() == Some(&b']'));
    let end = skip + body.get(skip..)?.iter().position(|&b| b == b']')?;
    let members = &body[..end];
    let test = move |c: u8| {
        let mut hit = false;
        let mut i = 0;
        while i < members.len() {
            if members.get(i + 1) == Some(&b'-') && i + 2 < members.len() {
                hit |= (members[i]..=members[i + 2]).contains(&c);
                i += 3;
            } else {
                hit |= members[i] == c;
                i += 1;
            }
        }
        hit != negated
    };
    Some((test, &body[end + 1..]))
}

impl Server {
    /// Whether the line already says `target` percent: `down` for 0, else that weight and no `down`.
    fn says(&self, target: u8) -> bool {
        if target == 0 {
            self.entry.down
        } else {
            !self.entry.down && self.entry.weight == u32::from(target)
        }
    }

    /// The edits that make this line say `target` percent.
    ///
    /// Only the weight token and the `down` flag are ever touched; every other byte of
    /// the line (parameters, their quotes and order, comments, line breaks) stays where
    /// the operator wrote it. `weight=N` and `down` trade places in situ, so any number of
    /// steps that come back to the same weights give back the same bytes.
    fn edits(&self, src: &str, target: u8, out: &mut Vec<(Range<usize>, String)>) {
        // A line that already says its target keeps its own spelling (`weight=0100` at 100).
        if self.says(target) {
            return;
        }
        let weight = self.params.iter().position(|p| p.kind == ParamKind::Weight);
        let downs: Vec<usize> = self
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind == ParamKind::Down)
            .map(|(k, _)| k)
            .collect();
        let after_address = self.address.end..self.address.end;
        if target > 0 {
            let text = format!("weight={target}");
            // The weight token is rewritten where it is; without one, `weight=` takes the
            // place of the first `down`, where going to 0 put it (or where the operator did).
            let slot = weight.or_else(|| downs.first().copied());
            match slot.and_then(|k| self.params.get(k)) {
                Some(p) => out.push((p.span.clone(), text)),
                None => out.push((after_address, format!(" {text}"))),
            }
            for &k in downs.iter().filter(|&&k| Some(k) != slot) {
                out.push((self.removal(src, k), String::new()));
            }
        } else {
            // Not down yet (else `says` held): `down` takes the weight token's place.
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
    includes: Vec<String>,
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
                    if stack.last().is_some_and(|f| f.ours) {
                        match (first.value.as_str(), args.get(1)) {
                            ("server", _) => self.server(&args, t)?,
                            ("include", Some(path)) => self.includes.push(path.value.clone()),
                            _ => {}
                        }
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
    fn weight_takes_the_place_of_down_or_comes_after_the_address() {
        let src = "upstream gateway {\n  server 127.0.0.1:8787 max_fails=3 down;\n  server 127.0.0.1:8788 max_fails=3;\n}\n";
        let out = rewrite_to(src, 30);
        assert_eq!(
            out,
            "upstream gateway {\n  server 127.0.0.1:8787 max_fails=3 weight=70;\n  server 127.0.0.1:8788 weight=30 max_fails=3;\n}\n"
        );
        let back = rewrite_to(&out, 100);
        assert_eq!(
            back,
            "upstream gateway {\n  server 127.0.0.1:8787 max_fails=3 down;\n  server 127.0.0.1:8788 weight=100 max_fails=3;\n}\n"
        );
        // `down` with `weight=` on the same line: the weight is rewritten, the flag goes.
        let both = "upstream gateway {\n  server 127.0.0.1:8787 weight=5 down;\n  server 127.0.0.1:8788 weight=5;\n}\n";
        assert_eq!(parse(both).unwrap().weights().unwrap(), w(100));
        let out = rewrite_to(both, 50);
        assert!(out.contains("server 127.0.0.1:8787 weight=50;"), "{out}");
        // Two `down`s: the first gives its place, the second goes.
        let twice = "upstream gateway {\n  server 127.0.0.1:8787 down max_fails=3 down;\n  server 127.0.0.1:8788;\n}\n";
        let out = rewrite_to(twice, 50);
        assert!(
            out.contains("server 127.0.0.1:8787 weight=50 max_fails=3;"),
            "{out}"
        );
    }

    /// A block whose blue and green lines say `server ADDR` followed by `blue` and `green`.
    fn hand(blue: &str, green: &str) -> String {
        format!(
            "http {{\n  upstream gateway {{\n    server {BLUE}{blue}\n    server {GREEN}{green}\n    keepalive 16;\n  }}\n}}\n"
        )
    }

    #[test]
    fn hand_written_parameters_stay_in_place_and_order() {
        // The case: `max_conns=100 down` at 0 -> 20 and back.
        let src = hand(" weight=100 max_conns=100;", " max_conns=100 down;");
        let up = rewrite_to(&src, 20);
        assert_eq!(
            up,
            hand(" weight=80 max_conns=100;", " max_conns=100 weight=20;")
        );
        assert_eq!(rewrite_to(&up, 0), src);
        // Every step of a ramp and back, through 0 on the other side too.
        for g in (0..=100).step_by(10) {
            let out = rewrite_to(&src, g);
            assert_eq!(parse(&out).unwrap().weights().unwrap(), w(g));
            assert!(!out.contains("weight=0"), "{out}");
            assert_eq!(rewrite_to(&out, 0), src, "via green {g}");
            let complete = rewrite_to(&rewrite_to(&out, 100), g);
            assert_eq!(complete, out, "to 0/100 and back to green {g}");
        }
    }

    #[test]
    fn quoted_parameters_keep_their_quotes() {
        let src = hand(
            " \"max_conns=100\" weight=90 'slow_start=5s' \"route=a b\";",
            " 'max_fails=3' down \"fail_timeout=10s\";",
        );
        let up = parse(&src).unwrap();
        assert_eq!(up.weights().unwrap(), w(0));
        assert_eq!(
            up.entry(Color::Blue).params,
            ["\"max_conns=100\"", "'slow_start=5s'", "\"route=a b\""]
        );
        let half = rewrite_to(&src, 50);
        assert_eq!(
            half,
            hand(
                " \"max_conns=100\" weight=50 'slow_start=5s' \"route=a b\";",
                " 'max_fails=3' weight=50 \"fail_timeout=10s\";",
            )
        );
        // Back to the same split: the operator's bytes, quotes and all.
        let steady = hand(
            " \"max_conns=100\" weight=100 'slow_start=5s' \"route=a b\";",
            " 'max_fails=3' down \"fail_timeout=10s\";",
        );
        assert_eq!(rewrite_to(&half, 0), steady);
        // A quoted weight or flag is the token being rewritten: it is written plain.
        let quoted = hand(" \"weight=90\" max_fails=1;", " 'weight=10' max_fails=1;");
        assert_eq!(
            rewrite_to(&quoted, 0),
            hand(" weight=100 max_fails=1;", " down max_fails=1;")
        );
    }

    #[test]
    fn a_weight_with_leading_zeros_is_kept_while_its_share_holds() {
        let src = hand(" weight=0100 max_fails=3;", " weight=0100 max_fails=3;");
        assert_eq!(parse(&src).unwrap().weights().unwrap(), w(50));
        // Blue goes to 0; green's 0100 already says 100: its line is not touched.
        let complete = rewrite_to(&src, 100);
        assert_eq!(
            complete,
            hand(" down max_fails=3;", " weight=0100 max_fails=3;")
        );
        // A weight that changes is written as a plain integer, in the same place.
        let half = rewrite_to(&complete, 50);
        assert_eq!(
            half,
            hand(" weight=50 max_fails=3;", " weight=50 max_fails=3;")
        );
        let canary = rewrite_to(&src, 10);
        assert_eq!(
            canary,
            hand(" weight=90 max_fails=3;", " weight=10 max_fails=3;")
        );
        // Only the weight token changed: the rest is byte for byte the operator's.
        assert_eq!(
            rewrite_to(&hand(" weight=090;", " weight=010 max_conns=5;"), 50),
            hand(" weight=50;", " weight=50 max_conns=5;")
        );
    }

    #[test]
    fn crlf_and_comments_on_the_line_survive_a_round_trip() {
        let src = crlf(&hand(
            " weight=100 # blue, capped\n        max_conns=100 ;  # trailing",
            "\t# green: parked\n        max_conns=100\n        down\n        fail_timeout=10s; # end",
        ));
        for g in (10..=100).step_by(10) {
            let out = rewrite_to(&src, g);
            assert_eq!(parse(&out).unwrap().weights().unwrap(), w(g));
            assert_outside_spans_equal(&src, &out);
            for comment in ["# blue, capped", "# green: parked", "# trailing", "# end"] {
                assert!(out.contains(comment), "{out:?}");
            }
            assert!(
                !out.replace("\r\n", "").contains('\n'),
                "LF without CR: {out:?}"
            );
            assert_eq!(rewrite_to(&out, 0), src, "via green {g}");
        }
        let half = rewrite_to(&src, 50);
        assert!(
            half.contains("max_conns=100\r\n        weight=50\r\n        fail_timeout=10s;"),
            "{half:?}"
        );
    }

    #[test]
    fn includes_in_the_block_are_listed() {
        let src = "upstream gateway {\n  server 127.0.0.1:8787;\n  include extra.inc;\n  server 127.0.0.1:8788;\n  include \"more/*.conf\";\n}\ninclude mime.types;\n";
        let u = parse(src).unwrap();
        assert_eq!(u.includes(), ["extra.inc", "more/*.conf"]);
        assert!(u.other_servers().is_empty());
        assert!(parse(CONF).unwrap().includes().is_empty());
        assert_eq!(rewrite_to(src, 50), src);
        assert!(rewrite_to(src, 10).contains("  include extra.inc;\n"));
    }

    /// `nginx -T` output for `files` (path, text), with nginx's messages first.
    fn dump(files: &[(&str, &str)]) -> String {
        let mut out = String::from(
            "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\nnginx: configuration file /etc/nginx/nginx.conf test is successful\n",
        );
        for (path, text) in files {
            out.push_str(&format!("# configuration file {path}:\n{text}\n"));
        }
        out
    }

    const MAIN: &str = "/etc/nginx/nginx.conf";
    const GW: &str = "/etc/nginx/conf.d/gateway.conf";

    fn main_including(what: &str) -> String {
        format!("events {{}}\nhttp {{\n    include mime.types;\n    include {what};\n}}\n")
    }

    fn judge(d: &str) -> LoadedReport {
        judge_loaded(d, GW, &|p| p == GW, "gateway").unwrap()
    }

    #[test]
    fn the_loaded_configuration_names_servers_from_includes() {
        let gw = "upstream gateway {\n    server 127.0.0.1:8787 weight=50;\n    server 127.0.0.1:8788 weight=50;\n    include extra.inc;\n    include pools/*.conf;\n}\n";
        let d = dump(&[
            (MAIN, &main_including("conf.d/*.conf")),
            ("/etc/nginx/mime.types", "types { text/html html; }"),
            (GW, gw),
            (
                "/etc/nginx/extra.inc",
                "server 10.0.0.7:8787;\ninclude nested.inc;",
            ),
            (
                "/etc/nginx/nested.inc",
                "server 10.0.0.8:8787 weight=3; # deep",
            ),
            ("/etc/nginx/pools/a.conf", "# no servers here\n"),
            ("/etc/nginx/pools/b.conf", "keepalive 8;"),
        ]);
        let r = judge(&d);
        assert_eq!(r.problem, None);
        assert_eq!(
            r.via_include,
            [
                (
                    "extra.inc".to_owned(),
                    vec![
                        "10.0.0.7:8787 (from /etc/nginx/extra.inc)".to_owned(),
                        "10.0.0.8:8787 (from /etc/nginx/nested.inc)".to_owned()
                    ]
                ),
                ("pools/*.conf".to_owned(), vec![])
            ]
        );
        // An include that adds nothing is known to add nothing.
        let d = dump(&[
            (MAIN, &main_including(GW)),
            ("/etc/nginx/mime.types", ""),
            (
                GW,
                "upstream gateway {\n server 127.0.0.1:8787;\n server 127.0.0.1:8788;\n}",
            ),
        ]);
        assert_eq!(judge(&d), LoadedReport::default());
    }

    #[test]
    fn a_configured_file_nginx_does_not_load_is_a_problem() {
        let stale = dump(&[
            (MAIN, &main_including("/etc/nginx/sites/gateway.conf")),
            ("/etc/nginx/mime.types", ""),
            (
                "/etc/nginx/sites/gateway.conf",
                "upstream gateway { server 127.0.0.1:8787; server 127.0.0.1:8788; }",
            ),
        ]);
        let r = judge(&stale);
        assert_eq!(
            r.problem.as_deref(),
            Some(
                "/etc/nginx/conf.d/gateway.conf is not in the configuration nginx loads (nginx -T reads /etc/nginx/nginx.conf, /etc/nginx/mime.types, /etc/nginx/sites/gateway.conf): its weights are not in force"
            )
        );
        // The same path, reached as the caller knows (a symlink), is the configured file.
        let r = judge_loaded(
            &stale,
            GW,
            &|p| p == "/etc/nginx/sites/gateway.conf",
            "gateway",
        )
        .unwrap();
        assert_eq!(r.problem, None);
        // Loaded, but in a stream block: not the http upstream nginx proxies with.
        let in_stream = dump(&[
            (
                MAIN,
                "events {}\nstream {\n include conf.d/gateway.conf;\n}\n",
            ),
            (
                GW,
                "upstream gateway { server 127.0.0.1:8787; server 127.0.0.1:8788; }",
            ),
        ]);
        assert_eq!(
            judge(&in_stream).problem.as_deref(),
            Some(
                "nginx loads /etc/nginx/conf.d/gateway.conf but takes no http upstream \"gateway\" from it"
            )
        );
        let elsewhere = dump(&[
            (
                MAIN,
                "events {}\nhttp {\n include conf.d/gateway.conf;\n upstream Gateway { server 10.1.1.1; }\n}\n",
            ),
            (GW, "# moved\n"),
        ]);
        assert_eq!(
            judge(&elsewhere).problem.as_deref(),
            Some(
                "nginx uses upstream \"gateway\" from /etc/nginx/nginx.conf, not the one in /etc/nginx/conf.d/gateway.conf"
            )
        );
        assert!(judge_loaded("nginx: [emerg] oops\n", GW, &|_| true, "gateway").is_err());
    }

    #[test]
    fn dump_splitting_keeps_each_files_bytes() {
        let d = format!(
            "nginx: [warn] something\n# configuration file {MAIN}:\nhttp {{\r\n}}\r\n\n# configuration file /x y/b.conf:\nno final newline\n"
        );
        let files = split_dump(&d);
        assert_eq!(
            files,
            [
                DumpFile {
                    path: MAIN.into(),
                    text: "http {\r\n}\r\n".into()
                },
                DumpFile {
                    path: "/x y/b.conf".into(),
                    text: "no final newline".into()
                }
            ]
        );
        assert!(split_dump("nginx: [emerg] unknown directive\n").is_empty());
    }

    #[test]
    fn include_globs_match_as_glob_does() {
        let m = |p: &str, s: &str| glob_match(p.as_bytes(), s.as_bytes());
        assert!(m("/e/conf.d/*.conf", "/e/conf.d/a.conf"));
        assert!(!m("/e/conf.d/*.conf", "/e/conf.d/sub/a.conf"));
        assert!(!m("/e/*.conf", "/e/a.conf.bak"));
        assert!(m("/e/?.inc", "/e/a.inc"));
        assert!(!m("/e/?.inc", "/e/ab.inc"));
        assert!(m("/e/[ab].inc", "/e/b.inc"));
        assert!(!m("/e/[!ab].inc", "/e/b.inc"));
        assert!(m("/e/[a-c]*", "/e/cat"));
        assert!(m("/e/[]x].inc", "/e/].inc"));
        assert!(m("/e/[x.inc", "/e/[x.inc"));
        assert!(m("/e/\\*.inc", "/e/*.inc"));
        assert!(!m("/e/\\*.inc", "/e/a.inc"));
        assert!(m("*", ""));
    }

    #[test]
    fn a_loaded_configuration_never_panics_the_judge() {
        let d = dump(&[
            (MAIN, "http { include self.conf; }"),
            ("/etc/nginx/self.conf", "include self.conf;"),
        ]);
        let e = judge_loaded(&d, GW, &|_| false, "gateway").unwrap_err();
        assert!(e.contains("nested more than"), "{e}");
        let broken = dump(&[(MAIN, "http { \"open")]);
        assert!(judge_loaded(&broken, GW, &|_| false, "gateway").is_err());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// A parameter nginx would accept on a server line, as an operator may write it.
        fn param() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "max_conns=100",
                "max_fails=3",
                "fail_timeout=10s",
                "\"max_conns=7\"",
                "'slow_start=5s'",
                "route=a\\;b",
                "resolve",
                "\"route=two words\"",
            ])
            .prop_map(str::to_owned)
        }

        /// What separates two words: blanks, line breaks, comments.
        fn gap() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                " ",
                "  ",
                "\t",
                "\n        ",
                " # note; {\n   ",
                "\n\n ",
            ])
            .prop_map(str::to_owned)
        }

        /// The text after a color's address: its parameters with the weight token or `down`
        /// (for share 0) somewhere among them, each followed by its own gap, then `;`.
        fn line(share: u8) -> impl Strategy<Value = String> {
            (
                prop::collection::vec((param(), gap()), 0..4),
                any::<prop::sample::Index>(),
                gap(),
                gap(),
            )
                .prop_map(move |(params, at, first, last)| {
                    let flag = if share == 0 {
                        "down".to_owned()
                    } else {
                        format!("weight={share}")
                    };
                    let mut words: Vec<(String, String)> = params;
                    let k = at.index(words.len() + 1);
                    words.insert(k, (flag, last));
                    let mut out = first;
                    for (i, (word, gap)) in words.iter().enumerate() {
                        out.push_str(word);
                        if i + 1 < words.len() {
                            out.push_str(gap);
                        }
                    }
                    out.push(';');
                    out
                })
        }

        fn file() -> impl Strategy<Value = (String, u8)> {
            (0u8..=10)
                .prop_flat_map(|g| {
                    let g = g * 10;
                    (line(100 - g), line(g), any::<bool>(), Just(g))
                })
                .prop_map(|(blue, green, crlf_file, g)| {
                    let src = format!(
                        "http {{\n  upstream gateway {{\n    server {BLUE} {blue} # blue\n    server 10.0.0.9:1 weight=5;\n    server {GREEN} {green}\n  }}\n}}\n"
                    );
                    (if crlf_file { crlf(&src) } else { src }, g)
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Rewriting the weights and then rewriting them back gives the original bytes.
            #[test]
            fn weights_there_and_back_give_the_original_bytes(
                (src, from) in file(),
                via in prop::collection::vec(0u8..=10, 1..4),
            ) {
                prop_assert_eq!(parse(&src).unwrap().weights().unwrap(), w(from));
                let mut out = src.clone();
                for g in via {
                    out = rewrite_to(&out, g * 10);
                    prop_assert_eq!(parse(&out).unwrap().weights().unwrap(), w(g * 10));
                    prop_assert!(!out.contains("weight=0"));
                    assert_outside_spans_equal(&src, &out);
                }
                prop_assert_eq!(rewrite_to(&out, from), src);
            }
        }
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
