//! Shell quoting for values substituted into remote commands.

/// `s` as one POSIX shell word: single-quoted, with embedded quotes spliced in as `'\''`.
pub(crate) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A whole script run as `sh -c '<script>' name args...`, so the remote login shell's
/// dialect (bash, zsh, fish) never matters.
pub(crate) fn sh_c(script: &str, args: &[&str]) -> String {
    let mut s = format!("sh -c {} cutover", shell_quote(script));
    for a in args {
        s.push(' ');
        s.push_str(&shell_quote(a));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn quoted_words_reach_the_shell_unchanged() {
        let nasty = [
            "plain",
            "it's",
            "$(rm -rf /)",
            "a b\tc",
            "`x`",
            "\\'\"",
            "",
            "-n",
        ];
        for word in nasty {
            let script = format!("printf '%s' {}", shell_quote(word));
            let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), word, "{script}");
        }
    }

    #[test]
    fn sh_c_passes_positional_arguments() {
        let cmd = sh_c("printf '%s|%s' \"$1\" \"$2\"", &["a'b", "$HOME"]);
        let out = Command::new("sh").arg("-c").arg(&cmd).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a'b|$HOME");
    }
}
