//! Runs the blocking std::net example (core driven with no runtime) and checks it exits 0
//! having served two keep-alive requests on one connection.

use std::process::Command;

#[test]
fn blocking_std_example_runs_to_completion() {
    // `cargo test` builds the examples next to the test binaries (target/*/examples/);
    // run that binary, or build and run it with cargo when it is not there.
    let exe = std::env::current_exe().expect("test binary path");
    let built = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| {
            dir.join("examples")
                .join(format!("blocking_std{}", std::env::consts::EXE_SUFFIX))
        })
        .filter(|p| p.exists());
    let out = match built {
        Some(path) => Command::new(path).output().expect("example runs"),
        None => {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            Command::new(cargo)
                .args([
                    "run",
                    "-q",
                    "-p",
                    "sansweb-examples",
                    "--example",
                    "blocking_std",
                ])
                .output()
                .expect("cargo runs")
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("GET /two -> 200 \"you asked for /two\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("server answered 2 requests on one connection"),
        "{stdout}"
    );
}
