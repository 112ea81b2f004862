//! Seed 003 (使用进程池来搞爬虫): the crawler pattern. A pool of three fetches five pages with
//! `apply_async(get_page, (url,), callback=parse_page)`: the slow part, the request, runs in the
//! workers, and the callback, which runs in the main process as each page arrives, measures it. The
//! seed fetches five public websites with `requests` and appends each `url:<…> size:[…]` line to
//! `db.txt`; here the example starts its own HTTP server on 127.0.0.1 (a thread, `std::net` only)
//! serving five pages of known sizes under the seed's host names, the workers fetch them with a
//! minimal HTTP/1.0 GET, and the callback prints the line instead of writing a file. The seed's own
//! comment holds: the final `get` gives back what the callback already handled.
//! Seed: 003_c397d4ee5c18e9b7.txt#L2510-L2540, 003_c397d4ee5c18e9b7.txt#L2545-L2562

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use multiproc::{Callbacks, Pool};
use serde::{Deserialize, Serialize};

/// The pages the local server has: path and body size in bytes.
const PAGES: [(&str, usize); 5] = [
    ("/www.baidu.com", 2_381),
    ("/www.python.org", 49_152),
    ("/www.openstack.org", 12_288),
    ("/help.github.com/", 731),
    ("/www.sina.com.cn/", 100_000),
];
/// Bounds every blocking socket call.
const PATIENCE: Duration = Duration::from_secs(20);

#[derive(Serialize, Deserialize)]
struct Page {
    url: String,
    text: String,
}

/// A minimal HTTP/1.0 GET: the status code and the body.
fn http_get(url: &str) -> io::Result<(u16, String)> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{url}: {why}"));
    let rest = url.strip_prefix("http://").ok_or_else(|| bad("not an http:// url"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut conn = TcpStream::connect(host)?;
    conn.set_read_timeout(Some(PATIENCE))?;
    write!(
        conn,
        "GET {} HTTP/1.0\r\nHost: {host}\r\n\r\n",
        if path.is_empty() { "/" } else { path }
    )?;
    let mut response = String::new();
    conn.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(|| bad("no header end"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status code"))?;
    Ok((status, body.to_string()))
}

/// Runs in a worker: the slow part.
fn get_page(url: String) -> Option<Page> {
    println!("<进程{}> get {url}", std::process::id());
    match http_get(&url) {
        Ok((200, text)) => Some(Page { url, text }),
        Ok(_) => None,
        Err(e) => panic!("{e}"),
    }
}

/// Runs in the main process, as each page arrives.
fn parse_page(res: &Option<Page>) {
    let Some(res) = res else { return };
    // One write for both lines, so a worker's output cannot land between them.
    println!(
        "<进程{}> parse {}\nurl:<{}> size:[{}]",
        std::process::id(),
        res.url,
        res.url,
        res.text.len()
    );
}

/// The local web server: answers `requests` GETs, then ends.
fn serve(listener: TcpListener, requests: usize) -> io::Result<()> {
    for _ in 0..requests {
        let (mut conn, _) = listener.accept()?;
        conn.set_read_timeout(Some(PATIENCE))?;
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
            match conn.read(&mut buf)? {
                0 => break,
                n => request.extend_from_slice(&buf[..n]),
            }
        }
        let request = String::from_utf8_lossy(&request);
        let path = request.split_whitespace().nth(1).unwrap_or("");
        let (status, body) = match PAGES.iter().find(|(p, _)| *p == path) {
            Some(&(_, size)) => {
                let head = "<!DOCTYPE html>\r\n";
                ("200 OK", format!("{head}{}", "x".repeat(size - head.len())))
            }
            None => ("404 Not Found", String::from("not found")),
        };
        write!(conn, "HTTP/1.0 {status}\r\nContent-Length: {}\r\n\r\n{body}", body.len())?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = std::thread::spawn(move || serve(listener, PAGES.len()));
    let urls: Vec<String> = PAGES.iter().map(|(path, _)| format!("{base}{path}")).collect();

    let p = Pool::new(3)?;
    let mut res_l = Vec::new();
    for url in urls {
        let res = p.apply_async_with(get_page, (url,), Callbacks::new().on_success(parse_page))?;
        res_l.push(res);
    }

    p.close();
    p.join()?;
    // What get_page returned: the callback has handled it already.
    let mut got = Vec::new();
    for res in res_l {
        got.push(res.get()?.map(|page| (page.url, page.text.len())));
    }
    println!("{got:?}");
    server.join().expect("server thread")?;
    Ok(())
}
