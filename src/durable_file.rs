//! Files written whole and durably (the screen list, the city's hall list, a screen's board cache,
//! a first start's config): a temporary file beside the target, fsync, rename over it, fsync of
//! the folder. After a power cut the file is the old one or the new one, never half of either, and
//! a write that returned is on disk.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `contents` (creating it if missing), readable by its owner only.
pub fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    write(path, contents, Placement::Replace)
}

/// Creates `path` with `contents`, readable by its owner only (it holds secrets); an existing file
/// is left alone and the answer is `AlreadyExists`.
pub fn create_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    write(path, contents, Placement::CreateNew)
}

enum Placement {
    Replace,
    CreateNew,
}

fn write(path: &Path, contents: &[u8], placement: Placement) -> io::Result<()> {
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let temp = temp_path(folder, path);
    let written = write_synced(&temp, contents).and_then(|()| match placement {
        Placement::Replace => std::fs::rename(&temp, path),
        // A hard link fails when the target exists, where a rename would replace it.
        Placement::CreateNew => std::fs::hard_link(&temp, path).and_then(|()| std::fs::remove_file(&temp)),
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written?;
    // The rename is an entry in the folder: only the folder's fsync makes it survive a power cut.
    File::open(folder)?.sync_all()
}

fn write_synced(temp: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(temp)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// A name beside `path` that no other writer (another thread, another process) uses now.
fn temp_path(folder: &Path, path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy());
    folder.join(format!(".{name}.{}-{:08x}.tmp", std::process::id(), fastrand::u32(..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_replaced_file_holds_the_new_contents_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("screens.json");
        replace(&path, b"[1]").unwrap();
        replace(&path, b"[1,2]").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"[1,2]");
        assert_eq!(names(dir.path()), ["screens.json"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn a_private_file_is_never_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        create_private(&path, b"token = 1").unwrap();
        let again = create_private(&path, b"token = 2").unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"token = 1");
        assert_eq!(names(dir.path()), ["hub.toml"]);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("halls.json");
        replace(&path, b"old").unwrap();
        // A folder where the file should be: the rename fails after the temporary file is written.
        let blocked = dir.path().join("sub");
        std::fs::create_dir_all(blocked.join("halls.json/inner")).unwrap();
        assert!(replace(&blocked.join("halls.json"), b"new").is_err());
        assert_eq!(names(&blocked), ["halls.json"], "the temporary file is removed");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }
}
