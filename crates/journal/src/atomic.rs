//! Replacing a file so that no reader, and no kill at any moment, ever sees it half-written:
//! the new text goes to a temporary file in the same directory, which is then renamed over
//! the file (one atomic step on POSIX file systems).

use std::io::Write;
use std::path::{Path, PathBuf};

/// How [`write_atomically`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durability {
    /// Flush the file and its directory to disk before returning, so the new text also
    /// survives a power loss. Without it, the rename still makes the change all-or-nothing
    /// for any process that reads the file, and after a kill of the writer.
    pub sync: bool,
}

/// Writes `bytes` to `path` through a temporary file next to it, renamed over it.
///
/// An existing file keeps its permissions (and owner, where allowed): its temporary file is
/// mode 0600 while it is written. A new file gets the mode a plain create gives it (0666
/// less the umask). A symbolic link is followed, so the file it points to is replaced, not
/// the link. On error the temporary file is removed and `path` is as it was.
pub fn write_atomically(path: &Path, bytes: &[u8], durability: Durability) -> std::io::Result<()> {
    if is_stream(path) {
        return std::fs::write(path, bytes);
    }
    let existing = std::fs::canonicalize(path)
        .ok()
        .and_then(|target| std::fs::metadata(&target).ok().map(|meta| (target, meta)));
    let target = match &existing {
        Some((target, _)) => target.clone(),
        None => path.to_path_buf(),
    };
    let mode = if existing.is_some() { 0o600 } else { 0o666 };
    let (tmp, mut file) = create_temporary(&target, mode)?;
    let written = (|| {
        file.write_all(bytes)?;
        if durability.sync {
            file.sync_all()?;
        }
        if let Some((_, meta)) = &existing {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                // Only root may give a file away; for anyone else the owner is already theirs.
                let _ = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()));
            }
            file.set_permissions(meta.permissions())?;
        }
        drop(file);
        std::fs::rename(&tmp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if durability.sync {
        if let Ok(d) = std::fs::File::open(directory_of(&target)) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Whether `path` is a device, a pipe or a socket (`/dev/stdout`, a FIFO), which
/// [`write_atomically`] writes in place: there is no file to replace, and replacing the
/// name would put a file where the device was.
pub fn is_stream(path: &Path) -> bool {
    if path.starts_with("/dev") || path.starts_with("/proc") {
        return true;
    }
    std::fs::metadata(path).is_ok_and(|meta| !meta.is_file() && !meta.is_dir())
}

/// Whether [`write_atomically`] could write `path` now: `path` is not a directory, and a
/// temporary file can be created (and is removed again) in its directory. The error says
/// which.
pub fn check_writable(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    if is_stream(path) {
        return Ok(());
    }
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let (tmp, file) = create_temporary(&target, 0o600)?;
    drop(file);
    std::fs::remove_file(&tmp)
}

/// The directory a file is in (`.` for a bare file name).
fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `.<name>.<pid>.<n>.tmp` next to `target`, created new with `mode`.
fn create_temporary(target: &Path, mode: u32) -> std::io::Result<(PathBuf, std::fs::File)> {
    let dir = directory_of(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| std::io::Error::other("the path names no file"))?;
    let mut n = 0u32;
    loop {
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        match opts.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot create a temporary file in {}: {e}", dir.display()),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "shakedown-journal-atomic-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn creates_then_replaces_and_leaves_no_temporary_file() {
        let dir = scratch("replace");
        let path = dir.join("j.json");
        let quick = Durability { sync: false };
        write_atomically(&path, b"{\"a\": 1}", quick).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\": 1}");
        write_atomically(&path, b"{}", Durability { sync: true }).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
        assert!(leftovers(&dir).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("mode");
        let path = dir.join("j.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"new", Durability { sync: false }).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_in_place_never_replaced() {
        let null = Path::new("/dev/null");
        assert!(is_stream(null) && is_stream(Path::new("/dev/stdout")));
        assert!(check_writable(null).is_ok());
        write_atomically(null, b"{}", Durability { sync: true }).unwrap();
        let meta = std::fs::metadata(null).unwrap();
        assert!(!meta.is_file(), "/dev/null is still a device");
        assert!(!is_stream(&std::env::temp_dir().join("j.json")));
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it_and_nothing_is_left() {
        let dir = scratch("missing");
        let path = dir.join("no/such/j.json");
        let e = write_atomically(&path, b"{}", Durability { sync: false }).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "cannot create a temporary file in {}",
                dir.join("no/such").display()
            )),
            "{e}"
        );
        let e = check_writable(&path).unwrap_err();
        assert!(e.to_string().contains("No such file or directory"), "{e}");
        assert!(check_writable(&dir.join("j.json")).is_ok());
        assert!(leftovers(&dir).is_empty());
        assert_eq!(
            check_writable(&dir).unwrap_err().to_string(),
            "it is a directory"
        );
    }
}
