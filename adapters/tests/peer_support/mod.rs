//! Shared by the tests that start an outside program as a peer (Chromium, nginx): finding
//! its binary, and a scratch directory for its profile or configuration.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The first of `candidates` that runs with `version_arg` and succeeds; else a failure
/// saying `need` (these tests fail, never skip, without their peer).
pub fn find_binary(candidates: &[&'static str], version_arg: &str, need: &str) -> &'static str {
    candidates
        .iter()
        .copied()
        .find(|b| {
            Command::new(b)
                .arg(version_arg)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .unwrap_or_else(|| panic!("none of {candidates:?} found; {need}"))
}

/// A fresh directory under the system's temp dir, one per process, test thread and `tag`;
/// removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "sansweb-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
