//! Which labs a student has completed, kept in a small file in the user's data
//! directory (`$XDG_DATA_HOME/pmap-lab/progress`, else
//! `~/.local/share/pmap-lab/progress`): one `LAB IMPL` line per completed run.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("pmap-lab").join("progress"))
}

/// The (lab, implementation) pairs completed so far.
pub fn completed() -> BTreeSet<(String, String)> {
    let text = file()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(lab, imp)| (lab.to_string(), imp.trim().to_string()))
        .collect()
}

/// Remember that `lab` was completed with `imp`. Progress is a convenience:
/// a data directory that cannot be written is not an error worth failing a run.
pub fn record(lab: &str, imp: &str) {
    let Some(path) = file() else { return };
    let mut done = completed();
    if !done.insert((lab.to_string(), imp.to_string())) {
        return;
    }
    let text: String = done.iter().map(|(l, i)| format!("{l} {i}\n")).collect();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, text);
}

/// Forget all progress. Returns the file that was removed, if there was one.
pub fn reset() -> std::io::Result<Option<PathBuf>> {
    let Some(path) = file() else { return Ok(None) };
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(Some(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
