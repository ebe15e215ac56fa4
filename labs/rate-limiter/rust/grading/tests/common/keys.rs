//! RSA key pairs made when the suite runs (2048 bits, by aws-lc-rs), so no
//! private key is ever committed. They protect nothing and die with the process.

use std::sync::OnceLock;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A fresh key pair as (PKCS#8 private PEM, SPKI public PEM).
pub fn generate_pem_pair() -> (String, String) {
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("aws-lc-rs makes an RSA key");
    let private = AsDer::<Pkcs8V1Der>::as_der(&pair).expect("the private key encodes");
    let public =
        AsDer::<PublicKeyX509Der>::as_der(pair.public_key()).expect("the public key encodes");
    (
        pem("PRIVATE KEY", private.as_ref()),
        pem("PUBLIC KEY", public.as_ref()),
    )
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

fn signing_pair() -> &'static (String, String) {
    static PAIR: OnceLock<(String, String)> = OnceLock::new();
    PAIR.get_or_init(generate_pem_pair)
}

/// The private key the app under test signs access tokens with (PKCS#8 PEM).
pub fn signing_key_pem() -> &'static str {
    &signing_pair().0
}

/// The public half of [`signing_key_pem`], as an attacker would find it (SPKI PEM).
pub fn signing_public_key_pem() -> &'static str {
    &signing_pair().1
}

/// A key the app has never seen.
pub fn foreign_key_pem() -> &'static str {
    static PAIR: OnceLock<(String, String)> = OnceLock::new();
    &PAIR.get_or_init(generate_pem_pair).0
}
