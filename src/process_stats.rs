//! What /proc says about a running process (Linux): its memory and CPU time, for the screen's
//! status reports and the benchmarks.

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
    let status = std::fs::read_to_string(process.path("status"))?;
    let line = status.lines().find(|l| l.starts_with(key)).with_context(|| format!("no {key}"))?;
    Ok(line.split_whitespace().nth(1).context("odd status line")?.parse()?)
}

/// utime + stime, in clock ticks.
pub fn cpu_ticks(process: Process) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(process.path("stat"))?;
    // Fields after the command name (which may hold spaces) start at ")".
    let fields: Vec<&str> = stat.rsplit_once(')').context("odd /proc stat")?.1.split_whitespace().collect();
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
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
    fn this_process_has_memory_and_spends_cpu() {
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
    }
}
