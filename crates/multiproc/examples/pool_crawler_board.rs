//! Seed 003 (爬虫, 猫眼电影榜单): `apply_async(get_page, (url, pattern), callback=parse_page)`: the
//! worker fetches a film board and hands back the page with the pattern, and the callback, in the
//! main process, pulls one record a film out of it with `findall` and prints it as a dict. The board
//! comes from a web server this example starts on 127.0.0.1 (a thread, `std::net` only), not from
//! maoyan.com. Two things in the seed do not work as printed: its pattern has five groups while
//! `parse_page` reads `item[5]`, the sixth (here the pattern has the `fraction` group the score
//! needs), and without `re.S` its `.*?` stops at line ends, so on a board laid out over several
//! lines it finds nothing (here `.` matches newlines, as with `re.S`). In Python an exception in a
//! callback also stops the pool from handling results, so the `get` after it never returns; here a
//! panicking callback is reported on stderr and the result is still delivered. No `regex` crate:
//! `findall` is a small matcher for the part of the syntax the pattern uses.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2570-L2604, 003_c397d4ee5c18e9b7.txt#L2610-L2614

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use multiproc::{Callbacks, Pool};

const PATTERN1: &str = r#"<dd>.*?board-index.*?>(\d+)<.*?title="(.*?)".*?star.*?>(.*?)<.*?releasetime.*?>(.*?)<.*?integer.*?>(.*?)<.*?fraction.*?>(.*?)<.*?</dd>"#;

/// The board the local server serves, laid out as maoyan lays it out.
const BOARD: &str = r#"<html><body><dl class="board-wrapper">
<dd>
    <i class="board-index board-index-1">1</i>
    <a href="/films/1203" title="霸王别姬" class="image-link"></a>
    <p class="star">
        主演：张国荣,张丰毅,巩俐
    </p>
    <p class="releasetime">上映时间：1993-01-01</p>
    <p class="score"><i class="integer">9.</i><i class="fraction">5</i></p>
</dd>
<dd>
    <i class="board-index board-index-2">2</i>
    <a href="/films/1297" title="肖申克的救赎" class="image-link"></a>
    <p class="star">
        主演：蒂姆·罗宾斯,摩根·弗里曼,鲍勃·冈顿
    </p>
    <p class="releasetime">上映时间：1994-09-10(加拿大)</p>
    <p class="score"><i class="integer">9.</i><i class="fraction">5</i></p>
</dd>
<dd>
    <i class="board-index board-index-3">3</i>
    <a href="/films/2641" title="罗马假日" class="image-link"></a>
    <p class="star">
        主演：格利高里·派克,奥黛丽·赫本,埃迪·艾伯特
    </p>
    <p class="releasetime">上映时间：1953-09-02(美国)</p>
    <p class="score"><i class="integer">9.</i><i class="fraction">1</i></p>
</dd>
</dl></body></html>
"#;

/// Runs in a worker: fetches `url` with an HTTP/1.0 GET; the page and the pattern on a 200.
fn get_page(url: String, pattern: String) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://").expect("an http:// url");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut conn = TcpStream::connect(host).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(20))).expect("read timeout");
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").expect("send the request");
    let mut response = String::new();
    conn.read_to_string(&mut response).expect("read the response");
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200 ").then(|| (body.to_string(), pattern))
}

/// Runs in the main process when the page is in.
fn parse_page(info: &Option<(String, String)>) {
    let Some((page_content, pattern)) = info else { return };
    for item in findall(pattern, page_content) {
        let after = |s: &str, n: usize| s.chars().skip(n).collect::<String>();
        println!(
            "{{'index': '{}', 'title': '{}', 'actor': '{}', 'time': '{}', 'score': '{}'}}",
            item[0],
            item[1],
            after(item[2].trim(), 3), // drops "主演："
            after(&item[3], 5),       // drops "上映时间："
            item[4].clone() + &item[5],
        );
    }
}

/// The pieces of the pattern syntax `findall` knows: literal text, `.*?`, `(.*?)` and `(\d+)`.
#[derive(Clone, Copy)]
enum Piece<'a> {
    Text(&'a str),
    Skip,
    Group,
    Digits,
}

fn pieces(pattern: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        let (piece, len) =
            [("(.*?)", Piece::Group), (r"(\d+)", Piece::Digits), (".*?", Piece::Skip)]
                .into_iter()
                .find(|(token, _)| rest.starts_with(token))
                .map(|(token, piece)| (piece, token.len()))
                .unwrap_or_else(|| {
                    // Literal text runs to the next token (at least one character, so that a `(`
                    // that starts no token is taken as text).
                    let first = rest.chars().next().map_or(1, char::len_utf8);
                    let next = |t: &str| rest[first..].find(t).map(|i| i + first);
                    let end = ["(", ".*?"].into_iter().filter_map(next).min().unwrap_or(rest.len());
                    (Piece::Text(&rest[..end]), end)
                });
        out.push(piece);
        rest = &rest[len..];
    }
    out
}

/// Matches `pieces` at `text[at..]`, shortest first as `.*?` does (with `re.S`: `.` takes
/// newlines); the end of the match, with the groups pushed on `groups`.
fn match_at(
    pieces: &[Piece<'_>],
    text: &str,
    at: usize,
    groups: &mut Vec<String>,
) -> Option<usize> {
    let Some((&first, rest)) = pieces.split_first() else { return Some(at) };
    if let Piece::Text(t) = first {
        return if text[at..].starts_with(t) {
            match_at(rest, text, at + t.len(), groups)
        } else {
            None
        };
    }
    // `\d+` takes at least one digit and only digits; the others take anything.
    let digits = matches!(first, Piece::Digits);
    let ends = text[at..].char_indices().map(|(i, _)| at + i).chain([text.len()]);
    for end in ends.skip(usize::from(digits)) {
        if digits && !text[at..end].bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mark = groups.len();
        if !matches!(first, Piece::Skip) {
            groups.push(text[at..end].to_string());
        }
        if let Some(done) = match_at(rest, text, end, groups) {
            return Some(done);
        }
        groups.truncate(mark);
    }
    None
}

/// Python's `re.findall` for a pattern with groups: the groups of each match, left to right.
fn findall(pattern: &str, text: &str) -> Vec<Vec<String>> {
    let pieces = pieces(pattern);
    let mut found = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let mut groups = Vec::new();
        match match_at(&pieces, text, at, &mut groups) {
            Some(end) if end > at => {
                found.push(groups);
                at = end;
            }
            _ => at += text[at..].chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

/// The local web server: one request, answered with the board.
fn serve_board(listener: TcpListener) -> io::Result<()> {
    let (mut conn, _) = listener.accept()?;
    conn.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") && conn.read(&mut byte)? == 1 {
        request.push(byte[0]);
    }
    write!(conn, "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{BOARD}", BOARD.len())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url_dic = [(format!("http://{}/board/7", listener.local_addr()?), PATTERN1.to_string())];
    let server = std::thread::spawn(move || serve_board(listener));

    let p = Pool::builder().build()?;
    let mut res_l = Vec::new();
    for (url, pattern) in url_dic {
        let res =
            p.apply_async_with(get_page, (url, pattern), Callbacks::new().on_success(parse_page))?;
        res_l.push(res);
    }

    for i in res_l {
        i.get()?;
    }
    server.join().expect("server thread")?;
    Ok(())
}
