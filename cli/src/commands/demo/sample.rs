//! Generated sample data for the demo: documents for the archive and
//! customers for the database. Deterministic (a fixed seed per item), so
//! every run builds the same archive and the same table.

use anyhow::Result;
use serde_json::json;
use std::fs;
use std::io::Write;
use std::path::Path;

/// A small deterministic generator (SplitMix64) for the sample documents.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const REGIONS: [&str; 6] = ["north", "south", "east", "west", "central", "overseas"];
const PRODUCTS: [&str; 8] = [
    "ledger",
    "vault",
    "padlock",
    "safe",
    "keycard",
    "archive box",
    "shredder",
    "cabinet",
];
const FIRST: [&str; 10] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Leslie",
];
const LAST: [&str; 10] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lamport",
];
const WORDS: [&str; 24] = [
    "the",
    "quarterly",
    "review",
    "covered",
    "storage",
    "retention",
    "policy",
    "budget",
    "team",
    "agreed",
    "to",
    "encrypt",
    "archives",
    "before",
    "upload",
    "and",
    "rotate",
    "keys",
    "every",
    "year",
    "minutes",
    "of",
    "audit",
    "backup",
];

fn csv_document(rng: &mut Rng, rows: usize) -> String {
    let mut s = String::from("date,region,product,units,unit_price_cents,total_cents\n");
    for _ in 0..rows {
        let (units, price) = (1 + rng.below(500), 100 + rng.below(99_900));
        s.push_str(&format!(
            "2024-{:02}-{:02},{},{},{units},{price},{}\n",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.pick(&REGIONS),
            rng.pick(&PRODUCTS),
            units * price
        ));
    }
    s
}

fn json_document(rng: &mut Rng, records: usize) -> String {
    let customers: Vec<_> = (0..records)
        .map(|i| {
            let (first, last) = (rng.pick(&FIRST), rng.pick(&LAST));
            json!({
                "id": i,
                "name": format!("{first} {last}"),
                "email": format!("{}.{}@example.com", first.to_lowercase(), last.to_lowercase()),
                "region": rng.pick(&REGIONS),
                "balance_cents": rng.below(10_000_000),
                "active": rng.below(4) != 0,
            })
        })
        .collect();
    serde_json::to_string_pretty(&customers).unwrap_or_default()
}

fn text_document(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        s.push_str(rng.pick(&WORDS));
        s.push(if i % 14 == 13 { '\n' } else { ' ' });
    }
    s
}

/// Writes the sample archive; returns the number of documents.
pub fn build_archive(path: &Path) -> Result<usize> {
    let mut docs: Vec<(String, String)> = Vec::new();
    for q in 0..8u64 {
        let mut rng = Rng(1000 + q);
        docs.push((
            format!("documents/sales/2024-part{}.csv", q + 1),
            csv_document(&mut rng, 5000),
        ));
    }
    for b in 0..6u64 {
        let mut rng = Rng(2000 + b);
        docs.push((
            format!("documents/customers/batch-{}.json", b + 1),
            json_document(&mut rng, 900),
        ));
    }
    for m in 0..6u64 {
        let mut rng = Rng(3000 + m);
        docs.push((
            format!("documents/notes/meeting-{}.txt", m + 1),
            text_document(&mut rng, 8000),
        ));
    }
    let file = fs::File::create(path).map_err(strongroom::Error::Io)?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    for (name, body) in &docs {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_704_067_200); // 2024-01-01: identical archives every run
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, name, body.as_bytes())
            .map_err(strongroom::Error::Io)?;
    }
    builder
        .into_inner()
        .map_err(strongroom::Error::Io)?
        .flush()
        .map_err(strongroom::Error::Io)?;
    Ok(docs.len())
}

/// One generated customer: the plaintext row of the demo database.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// Primary key (1-based).
    pub id: i64,
    /// Full name (left in clear: not every column needs encryption).
    pub name: String,
    /// E-mail address, unique.
    pub email: String,
    /// National identity number `NNN-NN-NNNN`, unique.
    pub national_id: String,
    /// Birth date, days since 1970-01-01.
    pub birth_date: i32,
    /// Account balance in cents.
    pub balance_cents: i64,
    /// A free-text note, absent (SQL NULL) for about a third of customers.
    pub note: Option<String>,
}

/// `count` customers with unique e-mail addresses and national ids.
pub fn customers(count: usize) -> Vec<Customer> {
    let mut rng = Rng(4000);
    (1..=count as i64)
        .map(|id| {
            let (first, last) = (rng.pick(&FIRST), rng.pick(&LAST));
            // An affine map modulo 10^9 with a multiplier prime to 10^9 is
            // one-to-one, so national ids never repeat.
            let n = (id as u64 * 7_919 + 123_456_789) % 1_000_000_000;
            let note = (rng.below(3) != 0).then(|| {
                let words: Vec<&str> = (0..6).map(|_| rng.pick(&WORDS)).collect();
                words.join(" ")
            });
            Customer {
                id,
                name: format!("{first} {last}"),
                email: format!("{}.{}{id}@example.com", first.to_lowercase(), last.to_lowercase()),
                national_id: format!("{:03}-{:02}-{:04}", n / 1_000_000, n / 10_000 % 100, n % 10_000),
                // 1940-01-01 (-10957) to about 2005.
                birth_date: -10_957 + rng.below(24_000) as i32,
                balance_cents: rng.below(50_000_000) as i64 - 1_000_000,
                note,
            }
        })
        .collect()
}
