//! A small scriptable SMTP server for tests (feature `test-sink`): binds 127.0.0.1 on a free port, records
//! every accepted message (envelope and raw data), and can answer chosen replies to the next `MAIL`, `RCPT` or
//! `DATA` commands ("451 once, then OK", "550 always"). Plain SMTP only: point clients at [`SmtpSink::url`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use patron_mail::sink::{Command, SmtpSink};
//! let sink = SmtpSink::start().await?;
//! sink.reply_next(Command::Data, "451 4.3.0 Try again later", 1);
//! // … send twice to sink.url(): the first attempt fails temporarily, the second is recorded.
//! let received = sink.wait_for_messages(1, std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// The SMTP commands whose replies can be scripted. A `DATA` script answers at the end of the message
/// (after the client sent it), which is where real servers refuse content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Mail,
    Rcpt,
    Data,
}

/// A message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed, without the final `.` line.
    pub data: Vec<u8>,
}

impl ReceivedMail {
    pub fn data_text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

struct Script {
    command: Command,
    reply: String,
    /// `None` answers forever.
    remaining: Option<usize>,
}

#[derive(Default)]
struct State {
    messages: Vec<ReceivedMail>,
    scripts: Vec<Script>,
    logins: Vec<String>,
}

struct Shared {
    state: Mutex<State>,
    received: watch::Sender<usize>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking connection task must not take the whole test down with a poisoned lock.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The scripted reply for this command, if any script still applies; consumes one use.
    fn scripted(&self, command: Command) -> Option<String> {
        let mut state = self.state();
        let script = state
            .scripts
            .iter_mut()
            .find(|s| s.command == command && s.remaining != Some(0))?;
        if let Some(remaining) = &mut script.remaining {
            *remaining -= 1;
        }
        Some(script.reply.clone())
    }
}

/// A running sink; it stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_loop: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            received: watch::channel(0).0,
        });
        let accept_loop = tokio::spawn(accept(listener, Arc::clone(&shared)));
        Ok(SmtpSink {
            addr,
            shared,
            accept_loop,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `smtp://127.0.0.1:<port>?tls=none`, ready for `PATRON_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}?tls=none", self.addr)
    }

    /// Answers `reply` (e.g. `"451 4.3.0 Try again later"`) to the next `times` uses of `command`.
    pub fn reply_next(&self, command: Command, reply: impl Into<String>, times: usize) {
        self.add_script(command, reply.into(), Some(times));
    }

    /// Answers `reply` to every later use of `command`.
    pub fn reply_always(&self, command: Command, reply: impl Into<String>) {
        self.add_script(command, reply.into(), None);
    }

    fn add_script(&self, command: Command, reply: String, remaining: Option<usize>) {
        self.shared.state().scripts.push(Script {
            command,
            reply,
            remaining,
        });
    }

    /// Messages accepted so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared.state().messages.clone()
    }

    /// User names that authenticated (any password is accepted).
    pub fn logins(&self) -> Vec<String> {
        self.shared.state().logins.clone()
    }

    /// Waits until at least `count` messages arrived or `timeout` passed, then returns all of them.
    pub async fn wait_for_messages(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let mut received = self.shared.received.subscribe();
        let _ = tokio::time::timeout(timeout, received.wait_for(|n| *n >= count)).await;
        self.messages()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    // Connection tasks live in the set, so aborting the accept loop ends them too.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, Arc::clone(&shared)));
                }
                Err(err) => tracing::warn!(error = %err, "smtp sink: accept failed"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut tx = Transaction::default();
    write.write_all(b"220 patron-sink ESMTP ready\r\n").await?;
    loop {
        let Some(line) = read_line(&mut lines).await? else {
            return Ok(());
        };
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let reply = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => "250-patron-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 10485760".into(),
            "HELO" => "250 patron-sink".into(),
            "MAIL" => accept_or(&shared, Command::Mail, "250 2.1.0 OK", || tx.mail_from = Some(address(arg))),
            "RCPT" if tx.mail_from.is_none() => "503 5.5.1 MAIL first".into(),
            "RCPT" => accept_or(&shared, Command::Rcpt, "250 2.1.5 OK", || tx.rcpt_to.push(address(arg))),
            "DATA" if tx.rcpt_to.is_empty() => "503 5.5.1 RCPT first".into(),
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let data = read_data(&mut lines).await?;
                let mail = ReceivedMail {
                    mail_from: tx.mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut tx.rcpt_to),
                    data,
                };
                accept_or(&shared, Command::Data, "250 2.0.0 OK queued", || {
                    let count = {
                        let mut state = shared.state();
                        state.messages.push(mail);
                        state.messages.len()
                    };
                    shared.received.send_replace(count);
                })
            }
            "AUTH" => {
                let user = authenticate(arg, &mut lines, &mut write).await?;
                shared.state().logins.push(user);
                "235 2.7.0 Authentication successful".into()
            }
            "RSET" => {
                tx = Transaction::default();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 Command not recognized".into(),
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}

/// Runs `accept` and answers `ok` unless a script refuses the command; a scripted 2xx/3xx reply accepts
/// with its own text.
fn accept_or(shared: &Shared, command: Command, ok: &str, accept: impl FnOnce()) -> String {
    match shared.scripted(command) {
        Some(reply) if !(reply.starts_with('2') || reply.starts_with('3')) => reply,
        scripted => {
            accept();
            scripted.unwrap_or_else(|| ok.to_owned())
        }
    }
}

/// `FROM:<a@b> SIZE=12` → `a@b`.
fn address(arg: &str) -> String {
    let after_colon = arg.split_once(':').map_or(arg, |(_, rest)| rest);
    let inner = after_colon.split_whitespace().next().unwrap_or_default();
    inner
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

async fn read_line<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    if reader.read_until(b'\n', &mut buf).await? == 0 {
        return Ok(None);
    }
    let line = String::from_utf8_lossy(&buf);
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

async fn read_data<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(data);
        }
        let unstuffed = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        data.extend_from_slice(unstuffed);
    }
}

/// Accepts `AUTH PLAIN [initial]` and `AUTH LOGIN` with any password; returns the user name.
async fn authenticate<R, W>(arg: &str, reader: &mut R, writer: &mut W) -> std::io::Result<String>
where
    R: AsyncBufReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let mut words = arg.split_whitespace();
    let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
    let initial = words.next().map(str::to_owned);
    let mut ask = async |prompt: &[u8]| -> std::io::Result<String> {
        writer.write_all(prompt).await?;
        Ok(read_line(reader).await?.unwrap_or_default())
    };
    if mechanism == "LOGIN" {
        let user = ask(b"334 VXNlcm5hbWU6\r\n").await?;
        ask(b"334 UGFzc3dvcmQ6\r\n").await?;
        return Ok(decode_base64(&user));
    }
    let response = match initial {
        Some(initial) => initial,
        None => ask(b"334 \r\n").await?,
    };
    // PLAIN: authzid NUL authcid NUL password.
    let decoded = decode_base64(&response);
    Ok(decoded.split('\0').nth(1).unwrap_or_default().to_owned())
}

fn decode_base64(input: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in input.trim().bytes().take_while(|b| *b != b'=') {
        let Some(value) = ALPHABET.iter().position(|a| *a == byte) else {
            continue;
        };
        bits = (bits << 6) | value as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_addresses_lose_brackets_and_parameters() {
        assert_eq!(
            address("FROM:<a@example.com> BODY=8BITMIME"),
            "a@example.com"
        );
        assert_eq!(address("TO: <b@example.com>"), "b@example.com");
    }

    #[test]
    fn base64_credentials_decode() {
        assert_eq!(decode_base64("AHVzZXIAcGFzcw=="), "\0user\0pass");
    }
}
