//! `lab setup`: a venv with the workspace's dev dependencies, then a check that runs in it.
//! Needs python3 and access to the package registry, like a learner's first setup.

use crate::harness::Workspace;

#[test]
fn setup_makes_a_venv_that_check_then_uses() {
    let ws = Workspace::hello();
    ws.lab(["setup"]).succeeds().stdout_has("Ready");
    assert!(ws.join(".venv/bin/python").is_file());
    ws.lab(["check"]).fails_with(1).stdout_has("0/4 tests");
}

#[test]
fn lab_venv_puts_the_venv_elsewhere() {
    let ws = Workspace::hello();
    let venv = ws.scratch("shared-venv");
    ws.lab(["setup"]).env("LAB_VENV", &venv).succeeds();
    assert!(venv.join("bin/python").is_file());
    assert!(!ws.exists(".venv"));
    ws.lab(["check"]).env("LAB_VENV", &venv).fails_with(1).stdout_has("0/4 tests");
}

#[test]
fn setup_outside_a_workspace_exits_2() {
    Workspace::new().lab(["setup"]).fails_with(2).stderr_has("not inside a lab workspace");
}

#[test]
fn a_venv_left_without_pip_is_repaired() {
    let ws = Workspace::hello();
    // What a setup killed while the venv was being made leaves behind.
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(ws.join(".venv"))
        .status()
        .expect("run python3 -m venv");
    assert!(made.success());
    ws.lab(["setup"]).succeeds().stdout_has("Ready");
    ws.lab(["check"]).fails_with(1).stdout_has("0/4 tests");
}

#[test]
fn sigterm_during_setup_ends_the_installer_and_everything_it_started() {
    let ws = Workspace::hello();
    let ready = ws.scratch("ready");
    let survived = ws.scratch("survived");
    // An "interpreter" whose install starts a grandchild that would leave a marker, says it is
    // running, and hangs, as a slow pip download does.
    let python = ws.scratch("fake-python");
    std::fs::write(
        &python,
        format!(
            "#!/bin/sh\n(sleep 3; touch {}) &\necho $! > {}.tmp && mv {}.tmp {}\nsleep 60\n",
            survived.display(),
            ready.display(),
            ready.display(),
            ready.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&python).status().unwrap();
    let lab = ws.lab(["setup"]).env("LAB_PYTHON", &python).spawn();
    crate::harness::wait_for("the installer to start", crate::harness::PATIENCE, || ready.exists());
    lab.signal(libc::SIGTERM);
    let (status, _, stderr) = lab.finish(std::time::Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{stderr}");
    let grandchild = std::fs::read_to_string(&ready).unwrap().trim().to_string();
    // Gone at once if it was killed; if it was not, it leaves the marker on its way out.
    crate::harness::wait_for("the grandchild to be gone", std::time::Duration::from_secs(10), || {
        !std::path::Path::new(&format!("/proc/{grandchild}")).exists()
    });
    assert!(!survived.exists(), "a process the installer started outlived SIGTERM");
}
