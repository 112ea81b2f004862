//! Seed 002 (Managers): five processes write into a dict and a list that a manager process holds,
//! and the parent prints both at the end. As in the Python, the dict's keys are of mixed types (an
//! int, a str, a float): a managed dict compares keys by their encoding, so a key type needs only
//! serde, not `Hash` or `Eq`, and an enum stands in for Python's dynamic types.
//! Seed: 002_2f3e4e8f19c04ddd.txt#L135-L155

use std::fmt;

use multiproc::{DictProxy, ListProxy, Manager, Process};
use serde::{Deserialize, Serialize};

/// A Python key: `n`, `'2'` or `0.25`.
#[derive(Serialize, Deserialize)]
enum Key {
    Int(i32),
    Str(String),
    Float(f64),
}

/// A Python value: `'1'`, `2` or `None`.
#[derive(Serialize, Deserialize)]
enum Val {
    Str(String),
    Int(i64),
    None,
}

/// Prints like Python's `repr`.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(n) => write!(f, "{n}"),
            Key::Str(s) => write!(f, "'{s}'"),
            Key::Float(x) => write!(f, "{x}"),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Str(s) => write!(f, "'{s}'"),
            Val::Int(n) => write!(f, "{n}"),
            Val::None => f.write_str("None"),
        }
    }
}

fn py_list(l: &[i32]) -> String {
    let items: Vec<String> = l.iter().map(i32::to_string).collect();
    format!("[{}]", items.join(", "))
}

fn py_dict(d: &[(Key, Val)]) -> String {
    let items: Vec<String> = d.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", items.join(", "))
}

fn f(d: DictProxy<Key, Val>, l: ListProxy<i32>, n: i32) {
    d.insert(Key::Int(n), Val::Str("1".into())).unwrap();
    d.insert(Key::Str("2".into()), Val::Int(2)).unwrap();
    d.insert(Key::Float(0.25), Val::None).unwrap();
    l.push(n).unwrap();
    println!("{}", py_list(&l.to_vec().unwrap()));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `with Manager() as manager:` — the manager shuts down when `manager` is dropped.
    let manager = Manager::start()?;
    let d = manager.dict::<Key, Val>()?; // 通过他来创建一个字典
    let l = manager.list::<i32>()?; // 通过他来创建一个列表
    l.extend(0..5)?;
    let mut p_list = Vec::new();
    for i in 0..5 {
        let mut p = Process::new(f, (d.clone(), l.clone(), i));
        p.start()?;
        p_list.push(p);
    }
    for res in &mut p_list {
        res.join()?;
    }
    println!("{}", py_dict(&d.items()?));
    let l = l.to_vec()?;
    println!("{}", py_list(&l));
    // The order of the appends depends on scheduling; what was appended does not.
    let mut appended = l[5..].to_vec();
    appended.sort();
    println!("appended, sorted: {}", py_list(&appended));
    Ok(())
}
