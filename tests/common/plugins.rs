//! Builds the plugins the tests load: the `stamp` and `noop` examples (cargo, release) and C
//! libraries (`cc`) from `plugins-abi/examples/c` or from source text.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the example plugins once (release, as the README says) and returns their paths.
pub fn examples() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let out = Command::new(cargo)
            .current_dir(workspace())
            .args([
                "build",
                "--release",
                "-p",
                "ringway-plugins-abi",
                "--example",
                "stamp",
                "--example",
                "noop",
                "--message-format=json",
            ])
            .output()
            .expect("run cargo build for the example plugins");
        assert!(
            out.status.success(),
            "building the example plugins failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut stamp = None;
        let mut noop = None;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(msg) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if msg["reason"] != "compiler-artifact" {
                continue;
            }
            let so = msg["filenames"]
                .as_array()
                .and_then(|f| {
                    f.iter()
                        .filter_map(Value::as_str)
                        .find(|f| f.ends_with(".so"))
                })
                .map(PathBuf::from);
            match msg["target"]["name"].as_str() {
                Some("stamp") => stamp = so,
                Some("noop") => noop = so,
                _ => {}
            }
        }
        (
            stamp.expect("cargo reported libstamp.so"),
            noop.expect("cargo reported libnoop.so"),
        )
    })
}

pub fn stamp_path() -> String {
    examples().0.to_string_lossy().into_owned()
}

/// A private directory for this test process.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("ringway-plugins-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    })
}

/// Compiles a C file of `plugins-abi/examples/c` (or `source` text) into a shared library.
pub fn build_c(name: &str, source: &Path, defines: &[&str]) -> String {
    let out = scratch_dir().join(format!("lib{name}.so"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let res = Command::new(cc)
        .args(["-shared", "-fPIC", "-O2", "-std=c11", "-I"])
        .arg(workspace().join("plugins-abi/include"))
        .args(defines)
        .arg(source)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("a C compiler (cc) is needed for the C plugin tests");
    assert!(
        res.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&res.stderr)
    );
    out.to_string_lossy().into_owned()
}

pub fn c_example(file: &str) -> PathBuf {
    workspace().join("plugins-abi/examples/c").join(file)
}

/// Path of the built `noop` example.
pub fn noop_path() -> String {
    examples().1.to_string_lossy().into_owned()
}
