//! The fuzz targets on stable: each runs on its seed corpus (`guest/fuzz/corpus/<target>/`)
//! and on deterministic mutations of it, so plain `cargo test` exercises what
//! `cargo +nightly fuzz run` does, a little, on every run. A failure prints the input.

use std::path::Path;

use fgd_sync_guest::fuzzing;

/// Mutated inputs per target; keeps the three tests to a few seconds in a debug build.
const MUTATIONS: usize = 700;

/// Seeded splitmix64: the same mutations on every run and machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` for mutations; `n` must not be 0.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    // Sorted, so the mutations do not depend on the file system's order.
    entries.sort();
    let files: Vec<Vec<u8>> = entries.iter().map(|p| std::fs::read(p).expect("corpus file")).collect();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
}

/// One to four mutations of a corpus file: byte flips, inserts, deletes, splices.
fn mutate(rng: &mut SplitMix, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut data = corpus[rng.below(corpus.len())].clone();
    // Bytes that matter to YAML and to the targets' decoders.
    const INTERESTING: &[u8] = b"\n\r\t :-#&*!|>'\"{}[],?%@`~0\xff";
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(5) {
            0 if at < data.len() => data[at] ^= 1 << rng.below(8),
            1 => data.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 => data.insert(at, rng.next() as u8),
            3 if at < data.len() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at..end);
            }
            _ => {
                // A slice of another file, pasted in.
                let other = &corpus[rng.below(corpus.len())];
                let start = rng.below(other.len() + 1);
                let end = (start + rng.below(64)).min(other.len());
                data.splice(at..at, other[start..end].iter().copied());
            }
        }
    }
    data
}

fn run(target: &str, seed: u64, body: fn(&[u8])) {
    let corpus = corpus(target);
    let mut rng = SplitMix(seed);
    let inputs = corpus.iter().cloned().chain((0..MUTATIONS).map(|_| mutate(&mut rng, &corpus)));
    for (i, input) in inputs.enumerate() {
        let outcome = std::panic::catch_unwind(|| body(&input));
        if let Err(panic) = outcome {
            eprintln!("{target}: input {i} failed: {:?}", String::from_utf8_lossy(&input));
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn parse_manifests() {
    run("parse_manifests", 1, fuzzing::parse_manifests);
}

#[test]
fn render() {
    run("render", 2, fuzzing::render);
}

#[test]
fn plan() {
    run("plan", 3, fuzzing::plan);
}
