//! A small strict JSON validator for example payloads (no values are built: the checker only
//! needs to know whether a payload parses and, if not, where it breaks). Depth is bounded so a
//! hostile document cannot overflow the stack.

const MAX_DEPTH: usize = 128;

/// Ok when `s` is one JSON value; Err names the 1-based line (within `s`) and the problem.
pub(crate) fn validate(s: &str) -> Result<(), (usize, String)> {
    let mut p = P { b: s.as_bytes(), i: 0 };
    p.ws();
    p.value(0)?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.err("unexpected text after the JSON value"));
    }
    Ok(())
}

struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn err(&self, m: &str) -> (usize, String) {
        let upto = self.i.min(self.b.len());
        let line = self.b[..upto].iter().filter(|c| **c == b'\n').count() + 1;
        (line, m.to_string())
    }
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn value(&mut self, depth: usize) -> Result<(), (usize, String)> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                self.ws();
                if self.eat(b'}') {
                    return Ok(());
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) == Some(&b'}') {
                        return Err(self.err("trailing comma before '}' (trailing commas are not JSON)"));
                    }
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(self.err("expected a quoted key"));
                    }
                    self.string()?;
                    self.ws();
                    if !self.eat(b':') {
                        return Err(self.err("expected ':' after the key"));
                    }
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    if self.eat(b'}') {
                        return Ok(());
                    }
                    if !self.eat(b',') {
                        return Err(self.err("expected ',' or '}' (trailing commas and comments are not JSON)"));
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.eat(b']') {
                    return Ok(());
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) == Some(&b']') {
                        return Err(self.err("trailing comma before ']' (trailing commas are not JSON)"));
                    }
                    self.value(depth + 1)?;
                    self.ws();
                    if self.eat(b']') {
                        return Ok(());
                    }
                    if !self.eat(b',') {
                        return Err(self.err("expected ',' or ']'"));
                    }
                }
            }
            Some(b'"') => self.string(),
            Some(b't') => self.word("true"),
            Some(b'f') => self.word("false"),
            Some(b'n') => self.word("null"),
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
            Some(_) => Err(self.err("expected a JSON value")),
            None => Err(self.err("the JSON ends too early")),
        }
    }
    fn word(&mut self, w: &str) -> Result<(), (usize, String)> {
        if self.b[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(())
        } else {
            Err(self.err("expected a JSON value (strings need double quotes)"))
        }
    }
    fn string(&mut self) -> Result<(), (usize, String)> {
        self.i += 1;
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(());
                }
                b'\\' => self.i += 2,
                b'\n' => return Err(self.err("unterminated string")),
                _ => self.i += 1,
            }
        }
        Err(self.err("unterminated string"))
    }
    fn number(&mut self) -> Result<(), (usize, String)> {
        let start = self.i;
        while self.b.get(self.i).is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')) {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
        if text.parse::<f64>().is_err() || text.starts_with('+') {
            return Err(self.err("malformed number"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_and_rejects() {
        assert!(validate(r#"{"a": [1, 2.5e3, -3], "b": {"c": null, "d": true}}"#).is_ok());
        assert!(validate("[]").is_ok());
        assert_eq!(validate("{\n\"a\": 1,\n}").unwrap_err().0, 3);
        assert!(validate("{'a': 1}").is_err());
        assert!(validate("{\"a\": 1} x").is_err());
        assert!(validate(&"[".repeat(500)).is_err());
        assert!(validate("").is_err());
    }
}
