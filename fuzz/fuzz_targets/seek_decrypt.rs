//! Random-access decryption (`file::SeekableDecryptor`) with seeks and
//! reads chosen by the fuzzer. Input: one byte `n` (low 3 bits: the
//! number of operations), `n` operations of 5 bytes (kind, u32 LE
//! argument), then the file. Never panics; when the whole file decrypts
//! (checked with the streaming reader), every seek lands where it should
//! and every read returns exactly the plaintext at that position.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::{Cursor, Read, Seek, SeekFrom};
use strongroom::file::{Decryptor, Identity, SeekableDecryptor};
use strongroom_fuzz::take_u32;

/// Largest single read, a little over four 16 KiB chunks.
const MAX_READ: usize = 70_000;

fuzz_target!(|data: &[u8]| {
    let Some((&n, mut rest)) = data.split_first() else {
        return;
    };
    let mut ops = Vec::new();
    for _ in 0..(n & 7) {
        let Some((&kind, after)) = rest.split_first() else {
            break;
        };
        let (arg, after) = take_u32(after);
        ops.push((kind, arg));
        rest = after;
    }
    let file = rest;
    let ids = [Identity::Keyring(strongroom_fuzz::keyring())];

    // The whole plaintext, when the file is valid.
    let plain = Decryptor::new(file, &ids).ok().and_then(|mut d| {
        let mut out = Vec::new();
        d.read_to_end(&mut out).ok().map(|_| out)
    });

    let Ok(mut dec) = SeekableDecryptor::new(Cursor::new(file), &ids) else {
        assert!(plain.is_none(), "the random-access reader refused a valid file");
        return;
    };
    let mut pos: u64 = 0;
    let mut buf = vec![0u8; MAX_READ];
    for (kind, arg) in ops {
        let (target, result) = match kind % 4 {
            0 => (Some(u64::from(arg)), dec.seek(SeekFrom::Start(u64::from(arg)))),
            1 => {
                let back = u64::from(arg);
                let len = plain.as_ref().map(|p| p.len() as u64);
                (
                    len.and_then(|l| l.checked_sub(back)),
                    dec.seek(SeekFrom::End(-i64::from(arg))),
                )
            }
            2 => {
                let delta = i64::from(arg as i32);
                (pos.checked_add_signed(delta), dec.seek(SeekFrom::Current(delta)))
            }
            _ => {
                let want = arg as usize % MAX_READ;
                let got = dec.read(&mut buf[..want]);
                if let Some(p) = &plain {
                    let got = got.expect("a read of a valid file failed");
                    let start = (pos as usize).min(p.len());
                    let expect = &p[start..];
                    assert!(got <= want);
                    assert_eq!(&buf[..got], &expect[..got], "a read returned other bytes");
                    if want > 0 && !expect.is_empty() {
                        assert!(got > 0, "a read stopped before the end of the plaintext");
                    }
                    pos += got as u64;
                } else if let Ok(got) = got {
                    pos += got as u64;
                }
                continue;
            }
        };
        match result {
            Ok(p) => {
                if plain.is_some() {
                    assert_eq!(Some(p), target, "a seek landed elsewhere");
                }
                pos = p;
            }
            Err(e) => {
                if plain.is_some() && kind % 4 == 0 {
                    panic!("seeking from the start of a valid file failed: {e}");
                }
            }
        }
    }
    if plain.is_some() {
        assert_eq!(
            dec.authenticated_len().expect("valid file"),
            plain.as_ref().map_or(0, |p| p.len() as u64)
        );
    }
});
