//! A word tokenizer that splits off punctuation, and its inverse.
//!
//! Translation models see sentences as sequences of tokens. Splitting on
//! white space alone would make "mat." and "mat" two different words, so
//! punctuation becomes a token of its own — except where it is part of a
//! word or a number:
//!
//! * an apostrophe or hyphen between two letters or digits stays inside
//!   ("aujourd'hui", "don't", "well-known"),
//! * a full stop or comma between two digits stays inside ("3.5", "1,000"),
//! * a run of one repeated mark is one token ("...", "!!", "--").
//!
//! This is in the spirit of the Moses tokenizer (Koehn et al. 2007) without
//! its language-specific rules. [`detokenize`] joins tokens back into text
//! with English spacing rules (no space before `.,!?;:`), so that
//! `detokenize(&tokenize(s)) == s` for ordinarily written English — which
//! is what sacreBLEU needs to score our output as plain text. (French puts
//! a space before `!?;:`; its round trip loses that space.)

/// Is `c` punctuation or a symbol (everything that is neither a letter, a
/// digit, a combining mark nor white space)?
pub fn is_punctuation(c: char) -> bool {
    !(c.is_alphanumeric() || c.is_whitespace() || unicode_normalization::char::is_combining_mark(c))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
}

/// Should the mark at `i` stay inside the word around it?
fn joins_word(chars: &[char], i: usize) -> bool {
    let (Some(&prev), Some(&next)) = (
        i.checked_sub(1).and_then(|p| chars.get(p)),
        chars.get(i + 1),
    ) else {
        return false;
    };
    match chars[i] {
        '\'' | '\u{2019}' | '-' | '\u{2010}' => is_word_char(prev) && is_word_char(next),
        '.' | ',' => prev.is_ascii_digit() && next.is_ascii_digit(),
        _ => false,
    }
}

/// Splits `text` into words and punctuation tokens (see the module docs).
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for chunk in text.split_whitespace() {
        let chars: Vec<char> = chunk.chars().collect();
        let mut word = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !is_punctuation(c) || joins_word(&chars, i) {
                word.push(c);
                i += 1;
                continue;
            }
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            // A run of the same mark is one token: "...", "?!" stays two.
            let start = i;
            while i < chars.len() && chars[i] == c {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        }
        if !word.is_empty() {
            tokens.push(word);
        }
    }
    tokens
}

/// Tokens written without a space before them.
fn closes(token: &str) -> bool {
    let first = token.chars().next().unwrap_or(' ');
    matches!(
        first,
        '.' | ','
            | '!'
            | '?'
            | ';'
            | ':'
            | ')'
            | ']'
            | '}'
            | '%'
            | '\u{bb}'
            | '\u{201d}'
            | '\u{2026}'
    ) || (first == '\'' && token.len() > 1) // English clitics: "'s", "'re"
}

/// Tokens written without a space after them.
fn opens(token: &str) -> bool {
    matches!(
        token,
        "(" | "[" | "{" | "\u{ab}" | "\u{201c}" | "\u{bf}" | "\u{a1}" | "$" | "#"
    )
}

/// Joins tokens into text: one space between tokens, none before closing
/// punctuation or after opening brackets; straight double quotes alternate
/// between opening and closing.
pub fn detokenize<S: AsRef<str>>(tokens: &[S]) -> String {
    join_tokens(tokens, closes, opens)
}

/// Joins tokens with one space between them, except before a token that
/// `closes` up to the one before it and after one that `opens` onto the
/// next; a straight double quote `"` opens and closes in turn. The spacing
/// rules of [`detokenize`], and of any language's detokenizer built on it.
pub fn join_tokens<S: AsRef<str>>(
    tokens: &[S],
    closes: impl Fn(&str) -> bool,
    opens: impl Fn(&str) -> bool,
) -> String {
    let mut out = String::new();
    let mut glue_next = true; // no space before the first token
    let mut quote_open = false;
    for token in tokens {
        let token = token.as_ref();
        let mut glue = glue_next || closes(token);
        glue_next = opens(token);
        if token == "\"" {
            // An opening quote glues to what follows, a closing one to what precedes.
            if quote_open {
                glue = true;
            } else {
                glue_next = true;
            }
            quote_open = !quote_open;
        }
        if !glue {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_punctuation_but_not_words() {
        assert_eq!(
            tokenize("Hello, world! It's 3.5 km (well-known)..."),
            [
                "Hello",
                ",",
                "world",
                "!",
                "It's",
                "3.5",
                "km",
                "(",
                "well-known",
                ")",
                "..."
            ]
        );
    }

    #[test]
    fn round_trip() {
        for s in [
            "Hello, world!",
            "He said \"hi\" to me.",
            "It costs $5 (about 4%).",
            "Wait... what?!",
        ] {
            assert_eq!(detokenize(&tokenize(s)), s);
        }
    }
}
