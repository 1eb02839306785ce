//! Detokenization: from the model's word tokens back to ordinary text, so
//! that sacreBLEU-style BLEU (which tokenizes with its own 13a rules) sees
//! what a person would have written, not our token boundaries.
//!
//! Our word tokenizer (seq2seq::data::tokenize) splits punctuation off
//! words but keeps an apostrophe or hyphen between letters inside a word
//! ("don't", "aujourd'hui", "est-ce"), so putting text back together is
//! mostly a question of where a space goes around punctuation. Joining
//! `[t₁ … tₙ]`, a space is written before tᵢ unless one of these says no:
//!
//! | rule | English | French |
//! |---|---|---|
//! | `. , ) ] } % …` close up to the word before | yes | yes |
//! | `! ? ; :` close up to the word before | yes | no: "Va !", "Quoi ?" (French typography puts a space before them) |
//! | `( [ { $ # ¿ ¡ “` close up to the word after | yes | yes |
//! | `«` keeps its space after, `»` its space before | — | yes: « Oui » |
//! | a clitic token (`'s`, `'re`, `n't` …) closes up to the word before | yes | — |
//! | an elided word ending in an apostrophe (`l'`, `qu'`, `j'` …) closes up to the word after | — | yes |
//! | straight double quotes `"` alternate: the opening one closes up to the word after, the closing one to the word before | yes | yes |
//!
//! The clitic and elision rules matter for text tokenized elsewhere (Moses
//! or PTB style "do n't", "l' homme"); our own tokenizer never splits
//! those. The language is the target language of the model: English rules
//! are the default; [`Lang::guess`] picks French when the references
//! themselves put a space before `! ? ; :`.

use seq2seq::data::join_tokens;
use std::fmt;

/// Whose spacing rules to follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    English,
    French,
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::English => "en",
            Lang::French => "fr",
        })
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        match s {
            "en" => Ok(Lang::English),
            "fr" => Ok(Lang::French),
            other => Err(format!("unknown language {other:?}: expected en or fr")),
        }
    }
}

impl Lang {
    /// French when most reference lines that use `! ? ; :` put a space
    /// before them ("Va !"), English otherwise.
    pub fn guess<S: AsRef<str>>(references: &[S]) -> Lang {
        let (mut spaced, mut glued) = (0usize, 0usize);
        for line in references {
            let chars: Vec<char> = line.as_ref().chars().collect();
            for (i, &c) in chars.iter().enumerate().skip(1) {
                if matches!(c, '!' | '?' | ';' | ':') {
                    match chars[i - 1].is_whitespace() {
                        true => spaced += 1,
                        false if chars[i - 1].is_alphanumeric() => glued += 1,
                        false => {}
                    }
                }
            }
        }
        match spaced > glued {
            true => Lang::French,
            false => Lang::English,
        }
    }
}

/// Is `t` an English clitic written without a space before it?
fn english_clitic(t: &str) -> bool {
    let lower = t.to_lowercase().replace('\u{2019}', "'");
    matches!(
        lower.as_str(),
        "'s" | "'re" | "'ve" | "'ll" | "'m" | "'d" | "n't" | "'"
    )
}

/// Is `t` a French elided word ("l'", "qu'", "aujourd'"), written without
/// a space after it?
fn french_elision(t: &str) -> bool {
    let mut chars = t.chars().rev();
    matches!(chars.next(), Some('\'' | '\u{2019}')) && chars.next().is_some_and(char::is_alphabetic)
}

/// Does `t` close up to the token before it?
fn closes(t: &str, lang: Lang) -> bool {
    match t {
        "." | "," | ")" | "]" | "}" | "%" | "…" | "”" | "..." => true,
        "!" | "?" | ";" | ":" => lang == Lang::English,
        _ if t.chars().all(|c| matches!(c, '.' | '!' | '?')) => lang == Lang::English,
        _ => lang == Lang::English && english_clitic(t),
    }
}

/// Does `t` close up to the token after it?
fn opens(t: &str, lang: Lang) -> bool {
    matches!(t, "(" | "[" | "{" | "$" | "#" | "¿" | "¡" | "“")
        || (lang == Lang::French && french_elision(t))
}

/// Joins word tokens into text by `lang`'s spacing rules (module docs).
pub fn detokenize<S: AsRef<str>>(tokens: &[S], lang: Lang) -> String {
    join_tokens(tokens, |t| closes(t, lang), |t| opens(t, lang))
}

#[cfg(test)]
mod tests {
    use super::*;
    use seq2seq::data::tokenize::tokenize;

    fn en(tokens: &[&str]) -> String {
        detokenize(tokens, Lang::English)
    }
    fn fr(tokens: &[&str]) -> String {
        detokenize(tokens, Lang::French)
    }

    #[test]
    fn english_punctuation_closes_up() {
        assert_eq!(
            en(&["Hello", ",", "world", "!", "Is", "it", "3.5", "%", "?"]),
            "Hello, world! Is it 3.5%?"
        );
        assert_eq!(
            en(&["He", "said", "\"", "hi", "\"", "(", "twice", ")", "..."]),
            "He said \"hi\" (twice)..."
        );
        assert_eq!(
            en(&["Note", ":", "it", "costs", "$", "5", "."]),
            "Note: it costs $5."
        );
        assert_eq!(en(&["What", "?!"]), "What?!");
    }

    #[test]
    fn english_clitics_join_the_word_before() {
        assert_eq!(
            en(&["It", "'s", "Tom", "'s", "and", "I", "do", "n't", "know", "."]),
            "It's Tom's and I don't know."
        );
        assert_eq!(en(&["They", "'re", "here", "."]), "They're here.");
    }

    #[test]
    fn french_spacing_and_elision() {
        assert_eq!(fr(&["Va", "!"]), "Va !");
        assert_eq!(
            fr(&["Qu'", "est-ce", "que", "c'", "est", "?"]),
            "Qu'est-ce que c'est ?"
        );
        assert_eq!(
            fr(&["Il", "a", "dit", ":", "«", "l'", "été", "»", "."]),
            "Il a dit : « l'été »."
        );
        assert_eq!(
            fr(&["Bonjour", ",", "Tom", ";", "ça", "va", "?"]),
            "Bonjour, Tom ; ça va ?"
        );
        // An apostrophe inside a token (our tokenizer's output) is left alone.
        assert_eq!(fr(&["aujourd'hui", "."]), "aujourd'hui.");
    }

    #[test]
    fn round_trips_our_tokenizer() {
        for s in [
            "I don't think so, Tom.",
            "Where's the (old) car? It's 10.5 km away!",
            "She said \"no\" twice.",
        ] {
            assert_eq!(detokenize(&tokenize(s), Lang::English), s);
        }
        for s in [
            "Je ne sais pas, Tom.",
            "Qu'est-ce que c'est ?",
            "Attention : l'eau est froide !",
        ] {
            assert_eq!(detokenize(&tokenize(s), Lang::French), s);
        }
    }

    #[test]
    fn guesses_french_from_spaced_marks() {
        assert_eq!(Lang::guess(&["Va !", "Qui ?", "Bonjour."]), Lang::French);
        assert_eq!(Lang::guess(&["Go!", "Who?", "Bonjour !"]), Lang::English);
        assert_eq!(Lang::guess::<&str>(&[]), Lang::English);
        assert_eq!("fr".parse::<Lang>(), Ok(Lang::French));
        assert!("de".parse::<Lang>().unwrap_err().contains("en or fr"));
    }
}
