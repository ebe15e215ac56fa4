//! A small stand-in for a Redis server, so the distributed stage grades your
//! `RedisWindowStore` and its Lua script even where no Redis runs.
//!
//! It listens on a loopback port and speaks RESP2, the protocol your store's
//! client already uses. `EVAL`/`EVALSHA` scripts run in a real Lua 5.1
//! interpreter (the Lua that Redis embeds), with `redis.call` / `redis.pcall`
//! over an in-memory keyspace that supports the common string, hash and expiry
//! commands. As in Redis, a script runs atomically, `KEYS` and `ARGV` hold
//! strings, Lua numbers come back as integers (truncated), `false` as nil, and
//! keys expire by the wall clock. Every command a client sends (not the ones a
//! script runs) is recorded, so the suite can tell a script from separate
//! round trips. It is not Redis: with `REDIS_URL` set, the suite uses a real one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mlua::{Lua, MultiValue, Value as LuaValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What every command is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Behave like a healthy server.
    Serve,
    /// Accept connections, then answer every command with a server error, like
    /// a Redis that is still loading its dataset: reachable, and of no use.
    Refuse,
}

/// A running stand-in; it stops with the test's runtime.
pub struct Emulator {
    url: String,
    shared: Arc<Shared>,
}

struct Shared {
    mode: Mode,
    db: Mutex<Db>,
    commands: Mutex<Vec<Vec<String>>>,
}

#[derive(Default)]
struct Db {
    keys: HashMap<Vec<u8>, Entry>,
    scripts: HashMap<String, String>,
}

struct Entry {
    value: Data,
    expires_at: Option<Instant>,
}

enum Data {
    Str(Vec<u8>),
    Hash(HashMap<Vec<u8>, Vec<u8>>),
}

#[derive(Debug, Clone)]
enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

impl Emulator {
    /// Start serving on a free loopback port.
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port for the Redis stand-in");
        let port = listener.local_addr().expect("bound address").port();
        let shared = Arc::new(Shared {
            mode,
            db: Mutex::new(Db::default()),
            commands: Mutex::new(Vec::new()),
        });
        let serving = shared.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, serving.clone()));
            }
        });
        Self {
            url: format!("redis://127.0.0.1:{port}/0"),
            shared,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The names of the commands clients sent that mention `needle`, in order.
    pub fn commands_mentioning(&self, needle: &str) -> Vec<String> {
        lock(&self.shared.commands)
            .iter()
            .filter(|command| command.iter().skip(1).any(|arg| arg.contains(needle)))
            .map(|command| command[0].to_ascii_uppercase())
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn serve(mut socket: TcpStream, shared: Arc<Shared>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let read = match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buffer.extend_from_slice(&chunk[..read]);
        let mut out = Vec::new();
        loop {
            match parse_command(&buffer) {
                Parsed::Incomplete => break,
                Parsed::Invalid => return,
                Parsed::Command(args, used) => {
                    buffer.drain(..used);
                    encode(&execute_client(&shared, args), &mut out);
                }
            }
        }
        if !out.is_empty() && socket.write_all(&out).await.is_err() {
            return;
        }
    }
}

enum Parsed {
    Incomplete,
    Invalid,
    Command(Vec<Vec<u8>>, usize),
}

/// One RESP array of bulk strings (what clients send), or an inline command.
fn parse_command(buffer: &[u8]) -> Parsed {
    fn line(buffer: &[u8], from: usize) -> Option<(&[u8], usize)> {
        let end = buffer[from..].windows(2).position(|w| w == b"\r\n")? + from;
        Some((&buffer[from..end], end + 2))
    }
    fn number(raw: &[u8]) -> Option<i64> {
        std::str::from_utf8(raw).ok()?.parse().ok()
    }
    if buffer.is_empty() {
        return Parsed::Incomplete;
    }
    if buffer[0] != b'*' {
        return match line(buffer, 0) {
            None => Parsed::Incomplete,
            Some((text, used)) => Parsed::Command(
                text.split(|b| *b == b' ')
                    .filter(|w| !w.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect(),
                used,
            ),
        };
    }
    let Some((head, mut at)) = line(buffer, 1) else {
        return Parsed::Incomplete;
    };
    let Some(count) = number(head) else {
        return Parsed::Invalid;
    };
    let mut args = Vec::new();
    for _ in 0..count.max(0) {
        if at >= buffer.len() {
            return Parsed::Incomplete;
        }
        if buffer[at] != b'$' {
            return Parsed::Invalid;
        }
        let Some((len, start)) = line(buffer, at + 1) else {
            return Parsed::Incomplete;
        };
        let Some(len) = number(len).and_then(|n| usize::try_from(n).ok()) else {
            return Parsed::Invalid;
        };
        if buffer.len() < start + len + 2 {
            return Parsed::Incomplete;
        }
        args.push(buffer[start..start + len].to_vec());
        at = start + len + 2;
    }
    Parsed::Command(args, at)
}

fn encode(reply: &Reply, out: &mut Vec<u8>) {
    match reply {
        Reply::Status(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
        Reply::Error(e) => {
            out.extend_from_slice(format!("-{}\r\n", e.replace("\r\n", " ")).as_bytes())
        }
        Reply::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
        Reply::Bulk(None) => out.extend_from_slice(b"$-1\r\n"),
        Reply::Bulk(Some(data)) => {
            out.extend_from_slice(format!("${}\r\n", data.len()).as_bytes());
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Array(items) => {
            out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
            for item in items {
                encode(item, out);
            }
        }
    }
}

fn text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

fn upper(raw: &[u8]) -> String {
    text(raw).to_ascii_uppercase()
}

fn int_arg(raw: &[u8]) -> Result<i64, Reply> {
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Reply::Error(NOT_INTEGER.into()))
}

fn arity(name: &str) -> Reply {
    Reply::Error(format!(
        "ERR wrong number of arguments for '{}' command",
        name.to_ascii_lowercase()
    ))
}

/// A command from a client connection.
fn execute_client(shared: &Shared, args: Vec<Vec<u8>>) -> Reply {
    if args.is_empty() {
        return Reply::Error("ERR empty command".into());
    }
    lock(&shared.commands).push(args.iter().map(|a| text(a)).collect());
    let name = upper(&args[0]);
    match name.as_str() {
        // Connection set-up is answered even by a server that refuses work.
        "CLIENT" | "SELECT" => return Reply::Status("OK".into()),
        "HELLO" => return Reply::Error("ERR unknown command 'HELLO'".into()),
        "QUIT" => return Reply::Status("OK".into()),
        _ => {}
    }
    if shared.mode == Mode::Refuse {
        return Reply::Error("LOADING Redis is loading the dataset in memory".into());
    }
    let mut db = lock(&shared.db);
    match name.as_str() {
        "PING" => match args.get(1) {
            Some(message) => Reply::Bulk(Some(message.clone())),
            None => Reply::Status("PONG".into()),
        },
        "ECHO" if args.len() == 2 => Reply::Bulk(Some(args[1].clone())),
        "SCRIPT" => script_command(&mut db, &args),
        "EVAL" | "EVAL_RO" | "EVALSHA" | "EVALSHA_RO" => {
            if args.len() < 3 {
                return arity(&name);
            }
            let body = if name.starts_with("EVALSHA") {
                match db.scripts.get(&text(&args[1]).to_ascii_lowercase()) {
                    Some(body) => body.clone(),
                    None => {
                        return Reply::Error(
                            "NOSCRIPT No matching script. Please use EVAL.".into(),
                        );
                    }
                }
            } else {
                let body = text(&args[1]);
                db.scripts.insert(sha1(&body), body.clone());
                body
            };
            let Some(numkeys) = int_arg(&args[2])
                .ok()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| 3 + n <= args.len())
            else {
                return Reply::Error(
                    "ERR Number of keys can't be greater than number of args".into(),
                );
            };
            let keys = args[3..3 + numkeys].to_vec();
            let argv = args[3 + numkeys..].to_vec();
            run_script(&mut db, &body, keys, argv)
        }
        _ => data_command(&mut db, &args),
    }
}

fn sha1(body: &str) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

fn script_command(db: &mut Db, args: &[Vec<u8>]) -> Reply {
    match args.get(1).map(|a| upper(a)).as_deref() {
        Some("LOAD") if args.len() == 3 => {
            let body = text(&args[2]);
            let hash = sha1(&body);
            db.scripts.insert(hash.clone(), body);
            Reply::Bulk(Some(hash.into_bytes()))
        }
        Some("EXISTS") => Reply::Array(
            args[2..]
                .iter()
                .map(|h| {
                    Reply::Int(i64::from(
                        db.scripts.contains_key(&text(h).to_ascii_lowercase()),
                    ))
                })
                .collect(),
        ),
        Some("FLUSH") => {
            db.scripts.clear();
            Reply::Status("OK".into())
        }
        _ => Reply::Error("ERR unknown or unsupported SCRIPT subcommand".into()),
    }
}

impl Db {
    /// The live entry at `key`, dropping it first if it has expired.
    fn live(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let expired = self
            .keys
            .get(key)
            .and_then(|e| e.expires_at)
            .is_some_and(|at| at <= Instant::now());
        if expired {
            self.keys.remove(key);
        }
        self.keys.get_mut(key)
    }

    fn string(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Reply> {
        match self.live(key) {
            None => Ok(None),
            Some(Entry {
                value: Data::Str(s),
                ..
            }) => Ok(Some(s.clone())),
            Some(_) => Err(Reply::Error(WRONGTYPE.into())),
        }
    }

    fn incr_by(&mut self, key: &[u8], by: i64) -> Reply {
        let current = match self.string(key) {
            Err(e) => return e,
            Ok(None) => 0,
            Ok(Some(raw)) => match int_arg(&raw) {
                Ok(n) => n,
                Err(e) => return e,
            },
        };
        let Some(next) = current.checked_add(by) else {
            return Reply::Error("ERR increment or decrement would overflow".into());
        };
        let value = Data::Str(next.to_string().into_bytes());
        match self.live(key) {
            Some(entry) => entry.value = value,
            None => {
                self.keys.insert(
                    key.to_vec(),
                    Entry {
                        value,
                        expires_at: None,
                    },
                );
            }
        }
        Reply::Int(next)
    }

    /// PEXPIRE-like: a TTL that is not positive deletes the key.
    fn expire_in(&mut self, key: &[u8], ms: i64, condition: Option<&str>) -> Reply {
        let Some(entry) = self.live(key) else {
            return Reply::Int(0);
        };
        let current = entry.expires_at;
        let new_at = Instant::now() + Duration::from_millis(ms.max(0).unsigned_abs());
        let allowed = match condition {
            None => true,
            Some("NX") => current.is_none(),
            Some("XX") => current.is_some(),
            Some("GT") => current.is_some_and(|at| new_at > at),
            Some("LT") => current.is_none_or(|at| new_at < at),
            Some(_) => return Reply::Error("ERR Unsupported option".into()),
        };
        if !allowed {
            return Reply::Int(0);
        }
        if ms <= 0 {
            self.keys.remove(key);
        } else {
            entry.expires_at = Some(new_at);
        }
        Reply::Int(1)
    }

    fn pttl(&mut self, key: &[u8]) -> i64 {
        match self.live(key) {
            None => -2,
            Some(Entry {
                expires_at: None, ..
            }) => -1,
            Some(Entry {
                expires_at: Some(at),
                ..
            }) => {
                let left = at.saturating_duration_since(Instant::now());
                i64::try_from(left.as_millis()).unwrap_or(i64::MAX)
            }
        }
    }

    fn hash(
        &mut self,
        key: &[u8],
        create: bool,
    ) -> Result<Option<&mut HashMap<Vec<u8>, Vec<u8>>>, Reply> {
        if create && self.live(key).is_none() {
            self.keys.insert(
                key.to_vec(),
                Entry {
                    value: Data::Hash(HashMap::new()),
                    expires_at: None,
                },
            );
        }
        match self.live(key) {
            None => Ok(None),
            Some(Entry {
                value: Data::Hash(h),
                ..
            }) => Ok(Some(h)),
            Some(_) => Err(Reply::Error(WRONGTYPE.into())),
        }
    }
}

fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| glob(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && glob(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && glob(rest, &name[1..]),
    }
}

/// The keyspace commands, for clients and scripts alike.
fn data_command(db: &mut Db, args: &[Vec<u8>]) -> Reply {
    let name = upper(&args[0]);
    let n = args.len();
    let result: Result<Reply, Reply> = (|| {
        Ok(match name.as_str() {
            "GET" if n == 2 => Reply::Bulk(db.string(&args[1])?),
            "SET" if n >= 3 => return set(db, args),
            "SETEX" | "PSETEX" if n == 4 => {
                let ttl = int_arg(&args[2])?;
                let ms = if name == "SETEX" {
                    ttl.saturating_mul(1000)
                } else {
                    ttl
                };
                db.keys.insert(
                    args[1].clone(),
                    Entry {
                        value: Data::Str(args[3].clone()),
                        expires_at: None,
                    },
                );
                db.expire_in(&args[1], ms, None);
                Reply::Status("OK".into())
            }
            "INCR" if n == 2 => db.incr_by(&args[1], 1),
            "DECR" if n == 2 => db.incr_by(&args[1], -1),
            "INCRBY" if n == 3 => db.incr_by(&args[1], int_arg(&args[2])?),
            "DECRBY" if n == 3 => db.incr_by(&args[1], int_arg(&args[2])?.saturating_neg()),
            "DEL" | "UNLINK" if n >= 2 => {
                let mut removed = 0;
                for key in &args[1..] {
                    if db.live(key).is_some() {
                        db.keys.remove(key);
                        removed += 1;
                    }
                }
                Reply::Int(removed)
            }
            "EXISTS" if n >= 2 => Reply::Int(
                args[1..]
                    .iter()
                    .map(|key| i64::from(db.live(key).is_some()))
                    .sum(),
            ),
            "EXPIRE" | "PEXPIRE" if n == 3 || n == 4 => {
                let ttl = int_arg(&args[2])?;
                let ms = if name == "EXPIRE" {
                    ttl.saturating_mul(1000)
                } else {
                    ttl
                };
                let condition = args.get(3).map(|c| upper(c));
                db.expire_in(&args[1], ms, condition.as_deref())
            }
            "EXPIREAT" | "PEXPIREAT" if n == 3 => {
                let at = int_arg(&args[2])?;
                let at_ms = if name == "EXPIREAT" {
                    at.saturating_mul(1000)
                } else {
                    at
                };
                let now_ms = i64::try_from(epoch().as_millis()).unwrap_or(i64::MAX);
                db.expire_in(&args[1], at_ms - now_ms, None)
            }
            "PERSIST" if n == 2 => match db.live(&args[1]) {
                Some(entry) if entry.expires_at.is_some() => {
                    entry.expires_at = None;
                    Reply::Int(1)
                }
                _ => Reply::Int(0),
            },
            "PTTL" if n == 2 => Reply::Int(db.pttl(&args[1])),
            "TTL" if n == 2 => Reply::Int(match db.pttl(&args[1]) {
                ms if ms < 0 => ms,
                ms => (ms + 500) / 1000,
            }),
            "TYPE" if n == 2 => Reply::Status(
                match db.live(&args[1]).map(|e| &e.value) {
                    None => "none",
                    Some(Data::Str(_)) => "string",
                    Some(Data::Hash(_)) => "hash",
                }
                .into(),
            ),
            "KEYS" if n == 2 => {
                let now = Instant::now();
                db.keys
                    .retain(|_, e| e.expires_at.is_none_or(|at| at > now));
                let mut names: Vec<&Vec<u8>> =
                    db.keys.keys().filter(|k| glob(&args[1], k)).collect();
                names.sort();
                Reply::Array(
                    names
                        .into_iter()
                        .map(|k| Reply::Bulk(Some(k.clone())))
                        .collect(),
                )
            }
            "TIME" if n == 1 => {
                let now = epoch();
                Reply::Array(vec![
                    Reply::Bulk(Some(now.as_secs().to_string().into_bytes())),
                    Reply::Bulk(Some(now.subsec_micros().to_string().into_bytes())),
                ])
            }
            "HGET" if n == 3 => Reply::Bulk(
                db.hash(&args[1], false)?
                    .and_then(|h| h.get(&args[2]).cloned()),
            ),
            "HMGET" if n >= 3 => {
                let hash = db.hash(&args[1], false)?;
                Reply::Array(
                    args[2..]
                        .iter()
                        .map(|f| Reply::Bulk(hash.as_ref().and_then(|h| h.get(f).cloned())))
                        .collect(),
                )
            }
            "HSET" | "HMSET" if n >= 4 && n % 2 == 0 => {
                let hash = db.hash(&args[1], true)?.expect("created");
                let mut added = 0;
                for pair in args[2..].chunks(2) {
                    if hash.insert(pair[0].clone(), pair[1].clone()).is_none() {
                        added += 1;
                    }
                }
                if name == "HMSET" {
                    Reply::Status("OK".into())
                } else {
                    Reply::Int(added)
                }
            }
            "HINCRBY" if n == 4 => {
                let by = int_arg(&args[3])?;
                let hash = db.hash(&args[1], true)?.expect("created");
                let current = match hash.get(&args[2]) {
                    None => 0,
                    Some(raw) => int_arg(raw)?,
                };
                let next = current
                    .checked_add(by)
                    .ok_or_else(|| Reply::Error(NOT_INTEGER.into()))?;
                hash.insert(args[2].clone(), next.to_string().into_bytes());
                Reply::Int(next)
            }
            "HGETALL" if n == 2 => Reply::Array(
                db.hash(&args[1], false)?
                    .map(|h| {
                        let mut fields: Vec<_> = h.iter().collect();
                        fields.sort();
                        fields
                            .into_iter()
                            .flat_map(|(k, v)| {
                                [Reply::Bulk(Some(k.clone())), Reply::Bulk(Some(v.clone()))]
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            "HDEL" if n >= 3 => {
                let removed = match db.hash(&args[1], false)? {
                    None => 0,
                    Some(h) => args[2..].iter().filter(|f| h.remove(*f).is_some()).count(),
                };
                Reply::Int(i64::try_from(removed).unwrap_or(0))
            }
            "GET" | "SET" | "SETEX" | "PSETEX" | "INCR" | "DECR" | "INCRBY" | "DECRBY" | "DEL"
            | "UNLINK" | "EXISTS" | "EXPIRE" | "PEXPIRE" | "EXPIREAT" | "PEXPIREAT" | "PERSIST"
            | "PTTL" | "TTL" | "TYPE" | "KEYS" | "TIME" | "HGET" | "HMGET" | "HSET" | "HMSET"
            | "HINCRBY" | "HGETALL" | "HDEL" => arity(&name),
            _ => Reply::Error(format!(
                "ERR unknown command '{}' (the grading suite's Redis stand-in supports the \
                 common string, hash and expiry commands; set REDIS_URL to grade against a real Redis)",
                text(&args[0])
            )),
        })
    })();
    result.unwrap_or_else(|error| error)
}

fn epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn set(db: &mut Db, args: &[Vec<u8>]) -> Result<Reply, Reply> {
    let (key, value) = (&args[1], &args[2]);
    let mut ttl_ms = None;
    let (mut nx, mut xx, mut keep_ttl, mut get) = (false, false, false, false);
    let mut options = args[3..].iter();
    while let Some(option) = options.next() {
        match upper(option).as_str() {
            "NX" => nx = true,
            "XX" => xx = true,
            "KEEPTTL" => keep_ttl = true,
            "GET" => get = true,
            unit @ ("EX" | "PX") => {
                let amount = int_arg(
                    options
                        .next()
                        .ok_or_else(|| Reply::Error("ERR syntax error".into()))?,
                )?;
                if amount <= 0 {
                    return Err(Reply::Error(
                        "ERR invalid expire time in 'set' command".into(),
                    ));
                }
                ttl_ms = Some(if unit == "EX" {
                    amount.saturating_mul(1000)
                } else {
                    amount
                });
            }
            _ => return Err(Reply::Error("ERR syntax error".into())),
        }
    }
    let old = if get { db.string(key)? } else { None };
    let exists = db.live(key).is_some();
    if (nx && exists) || (xx && !exists) {
        return Ok(if get {
            Reply::Bulk(old)
        } else {
            Reply::Bulk(None)
        });
    }
    let kept = if keep_ttl {
        db.live(key).and_then(|e| e.expires_at)
    } else {
        None
    };
    db.keys.insert(
        key.clone(),
        Entry {
            value: Data::Str(value.clone()),
            expires_at: kept,
        },
    );
    if let Some(ms) = ttl_ms {
        db.expire_in(key, ms, None);
    }
    Ok(if get {
        Reply::Bulk(old)
    } else {
        Reply::Status("OK".into())
    })
}

// ---------------------------------------------------------------- Lua

fn run_script(db: &mut Db, body: &str, keys: Vec<Vec<u8>>, argv: Vec<Vec<u8>>) -> Reply {
    let lua = Lua::new();
    let db = RefCell::new(db);
    let outcome = lua.scope(|scope| {
        let globals = lua.globals();
        let strings = |items: &[Vec<u8>]| {
            lua.create_sequence_from(
                items
                    .iter()
                    .map(|item| lua.create_string(item))
                    .collect::<mlua::Result<Vec<_>>>()?,
            )
        };
        globals.set("KEYS", strings(&keys)?)?;
        globals.set("ARGV", strings(&argv)?)?;
        let redis = lua.create_table()?;
        let call = |lua: &Lua, args: MultiValue, protected: bool| -> mlua::Result<LuaValue> {
            let command = command_args(args)?;
            let reply = script_call(&mut db.borrow_mut(), &command);
            match reply {
                Reply::Error(message) if !protected => Err(mlua::Error::RuntimeError(message)),
                reply => to_lua(lua, &reply),
            }
        };
        redis.set(
            "call",
            scope.create_function(move |lua, args: MultiValue| call(lua, args, false))?,
        )?;
        redis.set(
            "pcall",
            scope.create_function(move |lua, args: MultiValue| call(lua, args, true))?,
        )?;
        redis.set(
            "error_reply",
            lua.create_function(|lua, message: String| {
                let table = lua.create_table()?;
                table.set("err", message)?;
                Ok(table)
            })?,
        )?;
        redis.set(
            "status_reply",
            lua.create_function(|lua, message: String| {
                let table = lua.create_table()?;
                table.set("ok", message)?;
                Ok(table)
            })?,
        )?;
        redis.set(
            "sha1hex",
            lua.create_function(|_, body: String| Ok(sha1(&body)))?,
        )?;
        redis.set("log", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
        for (level, name) in ["LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"]
            .iter()
            .enumerate()
        {
            redis.set(*name, level)?;
        }
        globals.set("redis", redis)?;
        let value: LuaValue = lua.load(body).set_name("@user_script").eval()?;
        from_lua(&value)
    });
    outcome.unwrap_or_else(|error| {
        let message = error.to_string();
        let first = message.lines().next().unwrap_or("").to_owned();
        Reply::Error(format!("ERR user_script error: {first}"))
    })
}

/// A command run by `redis.call` inside a script.
fn script_call(db: &mut Db, args: &[Vec<u8>]) -> Reply {
    if args.is_empty() {
        return Reply::Error(
            "ERR Please specify at least one argument for this redis lib call".into(),
        );
    }
    match upper(&args[0]).as_str() {
        "EVAL" | "EVALSHA" | "EVAL_RO" | "EVALSHA_RO" | "SCRIPT" | "MULTI" | "EXEC" | "WATCH" => {
            Reply::Error("ERR This Redis command is not allowed from script".into())
        }
        "PING" => Reply::Status("PONG".into()),
        _ => data_command(db, args),
    }
}

fn command_args(args: MultiValue) -> mlua::Result<Vec<Vec<u8>>> {
    args.into_iter()
        .map(|value| match value {
            LuaValue::String(s) => Ok(s.as_bytes().to_vec()),
            LuaValue::Integer(i) => Ok(i.to_string().into_bytes()),
            LuaValue::Number(f) => Ok(lua_number(f).into_bytes()),
            _ => Err(mlua::Error::RuntimeError(
                "Lua redis lib command arguments must be strings or integers".into(),
            )),
        })
        .collect()
}

/// How Lua 5.1 prints a number (`%.14g`).
fn lua_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

fn to_lua(lua: &Lua, reply: &Reply) -> mlua::Result<LuaValue> {
    Ok(match reply {
        Reply::Int(n) => LuaValue::Integer(*n),
        Reply::Bulk(Some(data)) => LuaValue::String(lua.create_string(data)?),
        Reply::Bulk(None) => LuaValue::Boolean(false),
        Reply::Status(s) => {
            let table = lua.create_table()?;
            table.set("ok", s.as_str())?;
            LuaValue::Table(table)
        }
        Reply::Error(e) => {
            let table = lua.create_table()?;
            table.set("err", e.as_str())?;
            LuaValue::Table(table)
        }
        Reply::Array(items) => {
            let table = lua.create_table()?;
            for (i, item) in items.iter().enumerate() {
                table.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            LuaValue::Table(table)
        }
    })
}

fn from_lua(value: &LuaValue) -> mlua::Result<Reply> {
    Ok(match value {
        LuaValue::Nil | LuaValue::Boolean(false) => Reply::Bulk(None),
        LuaValue::Boolean(true) => Reply::Int(1),
        LuaValue::Integer(i) => Reply::Int(*i),
        // Redis truncates Lua numbers to integers.
        #[allow(clippy::cast_possible_truncation)]
        LuaValue::Number(f) => Reply::Int(f.trunc() as i64),
        LuaValue::String(s) => Reply::Bulk(Some(s.as_bytes().to_vec())),
        LuaValue::Table(table) => {
            if let Ok(LuaValue::String(err)) = table.raw_get::<LuaValue>("err") {
                return Ok(Reply::Error(err.to_string_lossy()));
            }
            if let Ok(LuaValue::String(ok)) = table.raw_get::<LuaValue>("ok") {
                return Ok(Reply::Status(ok.to_string_lossy()));
            }
            let mut items = Vec::new();
            for i in 1.. {
                let item: LuaValue = table.raw_get(i)?;
                if item.is_nil() {
                    break;
                }
                items.push(from_lua(&item)?);
            }
            Reply::Array(items)
        }
        _ => Reply::Bulk(None),
    })
}
