//! What /proc says about a running process (Linux): its memory and CPU time, for the screen's
//! status reports and the benchmarks, and how often one of this process's threads woke.

use anyhow::Context;

/// Which process to read: this one, or another by pid.
#[derive(Clone, Copy, Debug)]
pub enum Process {
    This,
    Pid(u32),
}

impl Process {
    fn path(self, file: &str) -> String {
        match self {
            Process::This => format!("/proc/self/{file}"),
            Process::Pid(pid) => format!("/proc/{pid}/{file}"),
        }
    }
}

/// A `kB` line of `/proc/PID/status`, such as `VmRSS:` or `VmHWM:`.
pub fn status_kib(process: Process, key: &str) -> anyhow::Result<u64> {
    number_line(&std::fs::read_to_string(process.path("status"))?, key)
}

/// Proportional set size: shared pages split between the processes sharing them.
pub fn pss_kib(process: Process) -> anyhow::Result<u64> {
    number_line(&std::fs::read_to_string(process.path("smaps_rollup"))?, "Pss:")
}

/// Context switches so far, voluntary and not, of this process's thread named `name`: how often
/// it woke, which a thread with nothing to do should not.
pub fn thread_context_switches(name: &str) -> anyhow::Result<u64> {
    threads_context_switches(Process::This)?.remove(name).with_context(|| format!("no thread named {name}"))
}

/// Context switches so far, voluntary and not, of each of a process's threads, summed by thread
/// name (several threads may share one, like a pool's workers).
pub fn threads_context_switches(process: Process) -> anyhow::Result<std::collections::BTreeMap<String, u64>> {
    let mut by_name = std::collections::BTreeMap::new();
    for task in std::fs::read_dir(process.path("task"))? {
        let dir = task?.path();
        // A thread that ended since the listing is simply not counted.
        let (Ok(comm), Ok(status)) =
            (std::fs::read_to_string(dir.join("comm")), std::fs::read_to_string(dir.join("status")))
        else {
            continue;
        };
        let switches = number_line(&status, "voluntary_ctxt_switches:")?
            + number_line(&status, "nonvoluntary_ctxt_switches:")?;
        *by_name.entry(comm.trim().to_string()).or_default() += switches;
    }
    Ok(by_name)
}

/// The number on a `Key: N [kB]` line of a /proc file.
fn number_line(text: &str, key: &str) -> anyhow::Result<u64> {
    let line = text.lines().find(|l| l.starts_with(key)).with_context(|| format!("no {key}"))?;
    Ok(line.split_whitespace().nth(1).context("odd /proc line")?.parse()?)
}

/// utime + stime, in clock ticks.
pub fn cpu_ticks(process: Process) -> anyhow::Result<u64> {
    let fields = stat_fields(process)?;
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

/// The fields of `/proc/PID/stat` after the command name (which may hold spaces): state first.
fn stat_fields(process: Process) -> anyhow::Result<Vec<String>> {
    let stat = std::fs::read_to_string(process.path("stat"))?;
    let rest = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let fields: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
    anyhow::ensure!(fields.len() > 12, "odd /proc stat");
    Ok(fields)
}

/// `root` and every process below it alive now.
pub fn tree(root: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let parent = stat_fields(Process::Pid(pid)).ok().and_then(|fields| fields[1].parse::<u32>().ok());
        if let Some(parent) = parent {
            parents.push((pid, parent));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let here = found[i];
        found.extend(parents.iter().filter(|(_, parent)| *parent == here).map(|(pid, _)| *pid));
        i += 1;
    }
    found
}

pub fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_cpu_time_and_children() {
        let rss = status_kib(Process::This, "VmRSS:").unwrap();
        let by_pid = status_kib(Process::Pid(std::process::id()), "VmHWM:").unwrap();
        assert!(rss > 100 && by_pid >= rss / 2, "RSS {rss} KiB, peak {by_pid} KiB");
        let before = cpu_ticks(Process::This).unwrap();
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < std::time::Duration::from_millis(150) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(cpu_ticks(Process::This).unwrap() > before, "150 ms of spinning counted");
        assert!(status_kib(Process::This, "NoSuchKey:").is_err());
        let pss = pss_kib(Process::This).unwrap();
        assert!(pss > 0 && pss <= rss * 2, "PSS {pss} KiB, RSS {rss} KiB");
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let family = tree(std::process::id());
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(family[0], std::process::id());
        assert!(family.contains(&child.id()), "the child is below this process: {family:?}");
        let (woken, ask) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let sleeper = std::thread::Builder::new()
            .name("papan-test-wake".into())
            .spawn(move || {
                for () in ask.1 {
                    woken.0.send(()).unwrap();
                }
            })
            .unwrap();
        // A thread counts a switch when it blocks again after answering: let it get back to its
        // wait before each reading, or the last wake-up may not be counted yet.
        let settle = || std::thread::sleep(std::time::Duration::from_millis(50));
        settle();
        let before = thread_context_switches("papan-test-wake").unwrap();
        for _ in 0..5 {
            ask.0.send(()).unwrap();
            woken.1.recv().unwrap();
            settle();
        }
        let after = thread_context_switches("papan-test-wake").unwrap();
        assert!(after >= before + 5, "woken five times: {before} → {after}");
        drop(ask.0);
        sleeper.join().unwrap();
        assert!(thread_context_switches("no-such-thread").is_err());
    }
}
