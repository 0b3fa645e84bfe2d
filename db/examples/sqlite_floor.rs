//! The floor of an in-place column rewrite on SQLite: what SQLite itself
//! costs per row, without any encryption. Reads `table(id, column)` in
//! primary-key batches and writes a token-sized text (the length of a
//! strongroom text token for the value: `sr1.` and the unpadded base64 of
//! the value plus 47 bytes) back with `UPDATE ... WHERE id = ?` (`plain`)
//! or with the compare-and-swap `strongroom db` uses (`cas`), one
//! transaction per batch, the database's own durability settings.
//!
//! usage: sqlite_floor PATH TABLE COLUMN BATCH plain|cas [CACHE_KIB]

use rusqlite::{Connection, TransactionBehavior, params};
use std::time::Instant;

fn main() -> rusqlite::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 6 {
        eprintln!("usage: sqlite_floor PATH TABLE COLUMN BATCH plain|cas [CACHE_KIB]");
        std::process::exit(2);
    }
    let (path, table, column) = (&a[1], &a[2], &a[3]);
    let batch: i64 = a[4].parse().expect("BATCH is a number");
    let cas = match a[5].as_str() {
        "plain" => false,
        "cas" => true,
        m => panic!("unknown mode {m}"),
    };
    let mut conn = Connection::open(path)?;
    if let Some(kib) = a.get(6) {
        conn.execute_batch(&format!("PRAGMA cache_size = -{kib}"))?;
    }
    let started = Instant::now();
    let select = format!("SELECT id, {column} FROM {table} WHERE id > ?1 ORDER BY id LIMIT ?2");
    let update = if cas {
        format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2 AND {column} IS ?3 COLLATE BINARY")
    } else {
        format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2")
    };
    let (mut last, mut rows) = (i64::MIN, 0u64);
    loop {
        let chunk: Vec<(i64, String)> = conn
            .prepare_cached(&select)?
            .query_map(params![last, batch], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let Some(&(l, _)) = chunk.last() else { break };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(&update)?;
            for (id, old) in &chunk {
                let token = format!("sr1.{}", "A".repeat((4 * (old.len() + 47)).div_ceil(3)));
                if cas {
                    stmt.execute(params![token, id, old])?;
                } else {
                    stmt.execute(params![token, id])?;
                }
            }
        }
        tx.commit()?;
        rows += chunk.len() as u64;
        last = l;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{rows} rows in {secs:.2} s: {:.0} rows/s", rows as f64 / secs);
    Ok(())
}
