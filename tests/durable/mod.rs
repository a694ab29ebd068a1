//! Files that must survive a power cut are written whole and synced: watched with strace on a real
//! `papan hub` process (the first start's hub.toml, the screen list saved at shutdown).

use std::process::{Command as Process, Stdio};

use papan::client::Session;
use papan::protocol::Role;

use super::HubProcess;

/// The file descriptor a syscall line returns (`… = 7`).
fn returned_fd(line: &str) -> Option<String> {
    line.rsplit_once(" = ").map(|(_, fd)| fd.trim().to_string()).filter(|fd| fd.parse::<u32>().is_ok())
}

/// Checks, in the order of one thread's trace (strace -ff writes a file per thread), that `name`
/// was written to a temporary file beside it that was fsynced, then put in place by `placed`
/// (rename or link), then the folder fsynced.
fn assert_written_durably(threads: &[Vec<String>], folder: &str, name: &str, placed: &str) {
    let temp = format!("/.{name}.");
    let is_placing =
        |l: &String| l.starts_with(placed) && l.contains(&temp) && l.contains(&format!("/{name}\""));
    let Some(trace) = threads.iter().find(|lines| lines.iter().any(is_placing)) else {
        panic!("no {placed} of a temporary file onto {name} in any thread's trace");
    };
    let place = trace.iter().position(is_placing).expect("found above");
    let open = trace[..place]
        .iter()
        .rposition(|l| l.starts_with("openat(") && l.contains(&temp) && l.contains("O_CREAT"))
        .unwrap_or_else(|| panic!("{name}'s temporary file was not created before the {placed}"));
    let fd = returned_fd(&trace[open]).expect("the open returned a descriptor");
    assert!(
        trace[open..place].iter().any(|l| l.starts_with(&format!("fsync({fd})"))),
        "{name}'s temporary file (fd {fd}) was not fsynced before the {placed}:\n{}",
        trace[open..=place].join("\n")
    );
    let dir_open = trace[place..]
        .iter()
        .position(|l| l.starts_with("openat(") && l.contains(&format!("\"{folder}\"")))
        .map(|i| i + place)
        .unwrap_or_else(|| panic!("the folder {folder} was not opened after the {placed} of {name}"));
    let dir_fd = returned_fd(&trace[dir_open]).expect("the folder's open returned a descriptor");
    assert!(
        trace[dir_open..].iter().any(|l| l.starts_with(&format!("fsync({dir_fd})"))),
        "the folder {folder} (fd {dir_fd}) was not fsynced after the {placed} of {name}:\n{}",
        trace[place..].join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_must_survive_a_power_cut_are_synced_and_renamed_into_place() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let trace_path = dir.path().join("trace");
    let mut strace = Process::new("strace");
    strace
        .args(["-ff", "-e", "trace=openat,fsync,fdatasync,rename,renameat,renameat2,link,linkat", "-o"])
        .arg(&trace_path)
        .arg(env!("CARGO_BIN_EXE_papan"));
    let mut hub = HubProcess::spawn_under(strace, &data, "127.0.0.1:0", Stdio::null(), &[]);
    let screen = Session::connect(&hub.options(&data, Role::Display), 0).await.unwrap();
    // The child is strace; the hub is its child, and the one to stop.
    let strace_pid = hub.child.id();
    let children = std::fs::read_to_string(format!("/proc/{strace_pid}/task/{strace_pid}/children")).unwrap();
    let papan_pid = children.split_whitespace().next().expect("strace runs the hub").to_string();
    assert!(Process::new("kill").args(["-TERM", &papan_pid]).status().unwrap().success());
    drop(screen);
    assert!(hub.child.wait().unwrap().success());

    let threads: Vec<Vec<String>> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("trace.")))
        .map(|path| std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect())
        .collect();
    let folder = data.display().to_string();
    assert_written_durably(&threads, &folder, "hub.toml", "link");
    assert_written_durably(&threads, &folder, "screens.json", "rename");
    let lines: Vec<&String> = threads.iter().flatten().collect();
    let written = lines.iter().filter(|l| l.starts_with("fsync(")).count();
    println!(
        "strace of a hub's first start and stop: {} lines, {written} fsyncs; hub.toml and screens.json durable",
        lines.len()
    );
}
