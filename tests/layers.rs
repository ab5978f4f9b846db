//! The library's layers point one way (docs/architecture.md): a module may use only the layers
//! below it. Read from the source (code lines only, comments excluded), so a new upward import
//! fails here with the file and the import named.

use std::path::{Path, PathBuf};

/// Layer of each top-level module, bottom (0) to top.
const LAYERS: &[(&str, usize)] = &[
    ("error", 0),
    ("settings", 0),
    ("grid", 1),
    ("problem", 2),
    ("norms", 3),
    ("scheme", 3),
    ("time", 4),
    ("stability", 5),
    ("solver", 6),
    ("validate", 7),
    ("mdp", 7),
    ("simulate", 7),
    ("score", 7),
    ("distributed", 7),
    ("io", 8),
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().find(|(name, _)| *name == module).map(|(_, layer)| *layer)
}

fn rust_files(directory: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&source, &mut files);
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&source).unwrap();
        let top = relative.components().next().unwrap().as_os_str().to_string_lossy().replace(".rs", "");
        let Some(own) = layer(&top) else { continue };
        checked += 1;
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for (position, _) in line.match_indices("crate::") {
                let rest = &line[position + "crate::".len()..];
                let used: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if let Some(other) = layer(&used) {
                    if other > own {
                        violations.push(format!(
                            "{}:{}: {top} uses crate::{used}",
                            relative.display(),
                            number + 1
                        ));
                    }
                }
            }
            assert!(!line.contains("crate::cli"), "{}: the library uses the binary", relative.display());
        }
    }
    assert!(checked > 30, "only {checked} library files found");
    assert!(violations.is_empty(), "upward imports:\n{}", violations.join("\n"));
}
