//! Finding the files to read: the `include` and `exclude` patterns and the directory walk.

use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// The compiled `include` and `exclude` patterns, and where each include's walk starts.
#[derive(Debug, Clone)]
pub(super) struct Patterns {
    include: GlobSet,
    exclude: GlobSet,
    /// One per include pattern: the directory before its first wildcard, and how many levels
    /// below it the pattern reaches (`None` for `**`, which reaches any depth).
    roots: Vec<(PathBuf, Option<usize>)>,
}

fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

fn compile(patterns: &[PathBuf], option: &str) -> Result<GlobSet, String> {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        let text = pattern.to_string_lossy();
        let glob = GlobBuilder::new(&text)
            .literal_separator(true)
            .build()
            .map_err(|e| format!("`{option}` pattern {text:?} is not a valid glob: {e}"))?;
        set.add(glob);
    }
    set.build().map_err(|e| format!("`{option}` patterns do not compile: {e}"))
}

impl Patterns {
    pub(super) fn new(include: &[PathBuf], exclude: &[PathBuf]) -> Result<Self, String> {
        let mut roots = Vec::new();
        for pattern in include {
            if !pattern.is_absolute() {
                return Err(format!("`include` pattern {} is not an absolute path", pattern.display()));
            }
            let mut root = PathBuf::new();
            let mut depth = Some(0);
            let mut in_pattern = false;
            for component in pattern.components() {
                let text = component.as_os_str().to_string_lossy();
                if !in_pattern && !has_wildcard(&text) {
                    root.push(component);
                    continue;
                }
                in_pattern = true;
                depth = match (depth, component) {
                    (_, Component::Normal(_)) if text.contains("**") => None,
                    (Some(d), _) => Some(d + 1),
                    (None, _) => None,
                };
            }
            roots.push((root, depth));
        }
        Ok(Self { include: compile(include, "include")?, exclude: compile(exclude, "exclude")?, roots })
    }

    /// Every regular file (or link to one) that an include matches and no exclude does, sorted
    /// and without repeats. Unreadable directories are skipped: a file that cannot be listed
    /// cannot be read either, and the next search tries again.
    pub(super) fn matching_files(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for (root, depth) in &self.roots {
            match depth {
                Some(0) => self.consider(root, &mut found),
                _ => self.walk(root, *depth, &mut found),
            }
        }
        found.sort();
        found.dedup();
        found
    }

    fn consider(&self, path: &Path, found: &mut Vec<PathBuf>) {
        if self.include.is_match(path) && !self.exclude.is_match(path) && path.is_file() {
            found.push(path.to_path_buf());
        }
    }

    fn walk(&self, dir: &Path, depth: Option<usize>, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            // Linked directories are not followed, so that a link loop cannot trap the walk.
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                match depth {
                    Some(d) if d > 1 => self.walk(&path, Some(d - 1), found),
                    None => self.walk(&path, None, found),
                    _ => {}
                }
            } else {
                self.consider(&path, found);
            }
        }
    }
}
