//! Every fuzz target over every file of its committed corpus (`fuzz/corpus/<target>/`): the
//! seeds and every input that once crashed, run on stable by the ordinary test suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn every_target_runs_its_whole_corpus() {
    for (name, body) in lpgate_fuzz_targets::TARGETS {
        let dir = corpus(name);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(
            files.len() >= 3,
            "{name}: at least three seeds, got {}",
            files.len()
        );
        for f in files {
            let data = std::fs::read(&f).unwrap();
            let started = std::time::Instant::now();
            body(&data);
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{}: took {:?}",
                f.display(),
                started.elapsed()
            );
        }
    }
}

#[test]
fn every_target_has_a_cargo_fuzz_binary() {
    let manifest = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/Cargo.toml"),
    )
    .unwrap();
    for (name, _) in lpgate_fuzz_targets::TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/fuzz_targets")
            .join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&src).unwrap();
        assert!(
            text.contains(&format!("lpgate_fuzz_targets::{name}(")),
            "{} does not call lpgate_fuzz_targets::{name}",
            src.display()
        );
    }
}
