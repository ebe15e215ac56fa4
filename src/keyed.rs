//! Keys and keyed hashes for what lab must tell apart from forgeries: HMAC-SHA256, fresh random
//! keys, and the per-user key kept outside every repository that signs history lines.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// Where the per-user key lives instead of `$XDG_DATA_HOME/lab` (or `~/.local/share/lab`).
pub const ENV_DATA_DIR: &str = "LAB_DATA_DIR";
const KEY_FILE: &str = "history.key";

/// 32 random bytes from the kernel, as lowercase hex.
pub fn new_key() -> Result<String> {
    let mut key = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .context("cannot read /dev/urandom for a key")?;
    Ok(hex(&key))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

/// Whether `mac_hex` is the HMAC of `message` under `key`, compared in constant time.
pub fn verify(key: &[u8], message: &[u8], mac_hex: &str) -> bool {
    let expected = hmac_sha256(key, message);
    from_hex(mac_hex)
        .is_some_and(|mac| mac.len() == 32 && mac.iter().zip(expected).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0)
}

fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(ENV_DATA_DIR) {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("lab"))
}

/// This user's key for signing history, made on first use (readable by the user only). None when
/// there is nowhere to keep it: history is then written unsigned, and shown as unverified.
pub fn user_key() -> Option<Vec<u8>> {
    let dir = data_dir()?;
    let path = dir.join(KEY_FILE);
    if let Some(key) = fs::read_to_string(&path).ok().and_then(|t| from_hex(t.trim())).filter(|k| k.len() == 32) {
        return Some(key);
    }
    fs::create_dir_all(&dir).ok()?;
    let key = new_key().ok()?;
    write_private(&path, &key).ok()?;
    // Another lab may have won the race to make it: whatever is on disk is the key.
    fs::read_to_string(&path).ok().and_then(|t| from_hex(t.trim())).filter(|k| k.len() == 32)
}

fn write_private(path: &std::path::Path, key: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let long_key = [0xaau8; 131];
        assert_eq!(
            hex(&hmac_sha256(&long_key, b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        let mac = hex(&hmac_sha256(b"k", b"m"));
        assert!(verify(b"k", b"m", &mac));
        assert!(!verify(b"k", b"n", &mac) && !verify(b"j", b"m", &mac) && !verify(b"k", b"m", "zz"));
    }
}
