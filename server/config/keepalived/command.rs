//! Splitting a program's command line as keepalived 2.2.7 splits it
//! (`alloc_strvec_quoted_escaped()` in `lib/parser.c`, used by `notify_script_init()` and
//! `set_script_params_array()` in `lib/notify.c`).
//!
//! keepalived splits a `script` or `notify*` statement twice: the statement into words, the
//! second of which is the command; then the command into the program and its arguments.
//! Both splits take blanks as separators, single and double quotes around any part of a
//! word (the quotes are removed), and backslash escapes (`\n`, `\t`, `\x41`, `\101`, `\c@`,
//! and a backslash before any other character is that character). The program is then run
//! without a shell, as here.

/// The words of `text`, or why it cannot be split (an unclosed quote, a backslash at the
/// end), in keepalived's words.
pub(super) fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (c, quote) {
                ('\\', _) => {
                    word.push(escaped(&mut chars).ok_or_else(|| {
                        format!("a backslash ends `{text}` with nothing to escape")
                    })?)
                }
                (c, Some(open)) if c == open => quote = None,
                (c, Some(_)) => word.push(c),
                ('"' | '\'', None) => quote = Some(c),
                (' ' | '\t', None) => break,
                (c, None) => word.push(c),
            }
        }
        if let Some(open) = quote {
            return Err(format!("`{text}` is missing a closing {open}"));
        }
        words.push(word);
    }
}

/// The character a backslash stands for with what follows it; `None` at the end.
fn escaped(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    let first = chars.next()?;
    let value = match first {
        'x' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
            let mut value: u32 = 0;
            while let Some(digit) = chars.peek().and_then(|c| c.to_digit(16)) {
                // keepalived keeps the low byte of a long run of digits.
                value = ((value << 4) | digit) & 0xff;
                chars.next();
            }
            value
        }
        'c' if chars.peek().is_some() => u32::from(chars.next()?) & 0x1f,
        '0'..='7' => {
            let mut value = first.to_digit(8)?;
            for _ in 0..2 {
                match chars.peek().and_then(|c| c.to_digit(8)) {
                    Some(digit) => {
                        value = ((value << 3) + digit) & 0xff;
                        chars.next();
                    }
                    None => break,
                }
            }
            value
        }
        'a' => 0x07,
        'b' => 0x08,
        'E' => 0x1b,
        'f' => 0x0c,
        'n' => u32::from('\n'),
        'r' => u32::from('\r'),
        't' => u32::from('\t'),
        'v' => 0x0b,
        other => u32::from(other),
    };
    char::from_u32(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        split(text).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn quotes_group_and_disappear() {
        assert_eq!(
            words("notify_master \"/etc/keepalived/notify.sh master\""),
            vec!["notify_master", "/etc/keepalived/notify.sh master"]
        );
        assert_eq!(
            words("/bin/sh -c 'pidof x'"),
            vec!["/bin/sh", "-c", "pidof x"]
        );
        assert_eq!(words("a\"b c\"d 'e'"), vec!["ab cd", "e"]);
        assert_eq!(
            words("sh -c \"echo '中文 ok'\""),
            vec!["sh", "-c", "echo '中文 ok'"]
        );
    }

    #[test]
    fn escapes_are_keepalived_s() {
        assert_eq!(words(r"a\ b \x41\102\tc \q"), vec!["a b", "AB\tc", "q"]);
        assert_eq!(words(r"'it\'s'"), vec!["it's"]);
    }

    #[test]
    fn unclosed_quotes_and_trailing_backslashes_are_errors() {
        assert!(split("a 'b").is_err());
        assert!(split("a \\").is_err());
        assert_eq!(words("  "), Vec::<String>::new());
    }
}
