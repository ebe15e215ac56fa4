//! Whole-word search in text, ignoring ASCII case: where a marker ("chosen"), a message name or
//! an abbreviation ("RPO") occurs as a word of its own, not inside a longer word.

/// Byte offsets in `hay` where `needle` occurs with no letter, digit or `_` glued to either end
/// (a needle that starts or ends with punctuation, like "(chosen)", needs no boundary there).
pub(crate) fn find(hay: &str, needle: &str) -> Vec<usize> {
    if needle.is_empty() {
        return Vec::new();
    }
    // ASCII lower-casing keeps every byte offset of the input
    let (h, n) = (hay.to_ascii_lowercase(), needle.to_ascii_lowercase());
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = h[from..].find(&n) {
        let at = from + pos;
        let end = at + n.len();
        let before = !n.starts_with(is_word) || !h[..at].chars().next_back().is_some_and(is_word);
        let after = !n.ends_with(is_word) || !h[end..].chars().next().is_some_and(is_word);
        if before && after {
            out.push(at);
        }
        from = end;
    }
    out
}

/// Does `needle` occur in `hay` as a whole word?
pub(crate) fn has(hay: &str, needle: &str) -> bool {
    !find(hay, needle).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_any_case() {
        assert_eq!(find("Kafka CHOSEN, unchosen, chosen_x", "chosen"), vec![6]);
        assert!(has("RPO 60 s", "rpo"));
        assert!(!has("RPOs are", "rpo"));
        assert!(has("x (chosen)", "(chosen)"));
        assert!(has("é chosen ü", "chosen"));
        assert!(!has("anything", ""));
    }
}
