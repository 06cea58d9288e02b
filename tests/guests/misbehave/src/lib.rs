//! What the hostile guests do when asked to misbehave, shared so that every world misbehaves
//! the same way. Each guest maps its own vocabulary onto [`Word`].
//!
//! | word          | [`Word`]              | what the guest does with it                         |
//! |---------------|-----------------------|-----------------------------------------------------|
//! | `loop`        | [`Word::Loop`]        | [`spin`]: loops forever (the deadline must stop it)  |
//! | `memory`      | [`Word::Memory`]      | [`hoard`]: allocates until the memory cap says no    |
//! | `trap`        | [`Word::Trap`]        | panics with the message `boom` (a trap)              |
//! | `recurse`     | [`Word::Recurse`]     | [`recurse`]: unbounded recursion (stack overflow)    |
//! | `big:N`       | [`Word::Big`]         | [`big`]: a text of N MiB somewhere in its answer     |
//! | `many:N`      | [`Word::Many`]        | N of something (fields, keys, records)               |
//! | `wait:MS`     | [`Word::Wait`]        | [`busy_wait`]: spins for MS ms, then answers         |
//! | `file:PATH`   | [`Word::File`]        | [`read_file`]: the file's text, or `error: ...`      |
//! | `env:NAME`    | [`Word::Env`]         | the variable's value, or none                        |
//! | `env`         | [`Word::EnvCount`]    | how many variables it sees                           |
//! | `socket:ADDR` | [`Word::Socket`]      | [`connect`]: opens a TCP connection with `std::net`  |
//! | `log:MESSAGE` | [`Word::Log`]         | logs MESSAGE through the host's `log`                |
//! | `fail:MSG`    | [`Word::Fail`]        | an error value with MSG                              |
//! | anything else | [`Word::Plain`]       | behaves                                              |
//!
//! `N` and `MS` that do not parse as numbers make the word [`Word::Plain`].

/// One misbehaviour, parsed from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word<'a> {
    /// `loop`.
    Loop,
    /// `memory`.
    Memory,
    /// `trap`.
    Trap,
    /// `recurse`.
    Recurse,
    /// `big:N`, N in MiB.
    Big(usize),
    /// `many:N`.
    Many(usize),
    /// `wait:MS`, in milliseconds.
    Wait(u64),
    /// `file:PATH`.
    File(&'a str),
    /// `env:NAME`.
    Env(&'a str),
    /// `env`.
    EnvCount,
    /// `socket:ADDR`.
    Socket(&'a str),
    /// `log:MESSAGE`.
    Log(&'a str),
    /// `fail:MSG`.
    Fail(&'a str),
    /// Anything else.
    Plain,
}

impl<'a> Word<'a> {
    /// Reads `text` as a word of the vocabulary.
    pub fn parse(text: &'a str) -> Word<'a> {
        let (head, rest) = text.split_once(':').unwrap_or((text, ""));
        let has_rest = text.contains(':');
        match (head, has_rest) {
            ("loop", false) => Word::Loop,
            ("memory", false) => Word::Memory,
            ("trap", false) => Word::Trap,
            ("recurse", false) => Word::Recurse,
            ("env", false) => Word::EnvCount,
            ("big", true) => rest.parse().map_or(Word::Plain, Word::Big),
            ("many", true) => rest.parse().map_or(Word::Plain, Word::Many),
            ("wait", true) => rest.parse().map_or(Word::Plain, Word::Wait),
            ("file", true) => Word::File(rest),
            ("env", true) => Word::Env(rest),
            ("socket", true) => Word::Socket(rest),
            ("log", true) => Word::Log(rest),
            ("fail", true) => Word::Fail(rest),
            _ => Word::Plain,
        }
    }
}

/// Loops without end, in a way the optimiser cannot remove.
pub fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Spins for `ms` milliseconds of the clock: a slow call that uses CPU all along.
pub fn busy_wait(ms: u64) {
    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    while std::time::Instant::now() < until {
        std::hint::black_box(0u64);
    }
}

/// Keeps allocating 16 MiB blocks and touching them; returns only if the host never says no.
pub fn hoard() -> usize {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 16 << 20];
        block[0] = 1;
        blocks.push(std::hint::black_box(block));
        if blocks.len() > 1 << 20 {
            return blocks.len();
        }
    }
}

/// Recurses without end until the stack overflows (a trap). Each frame keeps an array that
/// its caller reads after the call returns, so the recursion is not a tail call and the
/// optimiser cannot turn it into a loop.
pub fn recurse() -> u64 {
    dive(std::hint::black_box(0))
}

#[inline(never)]
fn dive(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 32]);
    // Never true, but the optimiser cannot know: the recursion is not unconditional.
    if std::hint::black_box(depth) == u64::MAX {
        return frame[0];
    }
    let below = dive(depth + 1);
    below.wrapping_add(std::hint::black_box(frame)[(depth % 32) as usize])
}

/// A text of `mib` MiB.
pub fn big(mib: usize) -> String {
    "x".repeat(mib << 20)
}

/// The text of the file at `path`, or `error: ...` saying why not.
pub fn read_file(path: &str) -> String {
    match std::fs::read_to_string(path) {
        Ok(contents) => contents,
        Err(e) => format!("error: {e}"),
    }
}

/// Opens a TCP connection to `addr` with `std::net` and says what happened: `connected to
/// ADDR` (the sandbox leaked) or `error: ...` (refused, as it must be).
pub fn connect(addr: &str) -> String {
    match std::net::TcpStream::connect(addr) {
        Ok(stream) => {
            let peer = stream
                .peer_addr()
                .map_or_else(|_| addr.to_owned(), |a| a.to_string());
            format!("connected to {peer}")
        }
        Err(e) => format!("error: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::Word;

    #[test]
    fn words_parse() {
        assert_eq!(Word::parse("loop"), Word::Loop);
        assert_eq!(Word::parse("big:3"), Word::Big(3));
        assert_eq!(Word::parse("big:x"), Word::Plain);
        assert_eq!(Word::parse("big"), Word::Plain);
        assert_eq!(Word::parse("file:/etc/passwd"), Word::File("/etc/passwd"));
        assert_eq!(Word::parse("env"), Word::EnvCount);
        assert_eq!(Word::parse("env:HOME"), Word::Env("HOME"));
        assert_eq!(
            Word::parse("socket:127.0.0.1:80"),
            Word::Socket("127.0.0.1:80")
        );
        assert_eq!(Word::parse("fail:a:b"), Word::Fail("a:b"));
        assert_eq!(Word::parse("loop:x"), Word::Plain);
        assert_eq!(Word::parse("Acme"), Word::Plain);
    }
}
