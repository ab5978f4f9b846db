//! Running the binary under `mpirun` (the `mpi` feature's tests) and comparing result files bit
//! for bit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hjb() -> &'static str {
    env!("CARGO_BIN_EXE_hjb")
}

/// `mpirun -np ranks hjb solve …` (ranks 0: the plain binary, no mpirun).
pub fn solve(ranks: usize, file: &str, extra: &[&str], out: &Path) -> Output {
    let mut arguments: Vec<String> = Vec::new();
    let program = if ranks == 0 {
        hjb().to_string()
    } else {
        arguments.extend(
            ["--oversubscribe", "--allow-run-as-root", "-np", &ranks.to_string(), hjb()].map(String::from),
        );
        "mpirun".to_string()
    };
    arguments.extend(["solve", file, "--no-plots", "--threads", "1", "--out"].map(String::from));
    arguments.push(out.display().to_string());
    arguments.extend(extra.iter().map(|a| a.to_string()));
    Command::new(program)
        .args(&arguments)
        .current_dir(super::repository_path(""))
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .output()
        .expect("mpirun runs")
}

/// The value, every policy field and every stored snapshot (value and policies), as bits.
pub fn bits(path: &Path) -> Vec<Vec<u64>> {
    let stored = hjb::io::hdf5::read_result(path).expect("a result file");
    let mut fields: Vec<&hjb::ndarray::ArrayD<f64>> =
        std::iter::once(&stored.values).chain(&stored.policy).collect();
    if let Some(snapshots) = &stored.snapshots {
        for (values, policies) in snapshots.values.iter().zip(&snapshots.policies) {
            fields.push(values);
            fields.extend(policies);
        }
    }
    fields.iter().map(|field| field.iter().map(|v| v.to_bits()).collect()).collect()
}

/// Solve `file` on one process and on each of `ranks` processes and assert that every field is
/// the same bits; the single run's output, then each decomposed run's, in order.
pub fn same_bits(name: &str, file: &str, extra: &[&str], ranks: &[usize]) -> Vec<Output> {
    let directory: PathBuf = super::scratch_directory(&format!("mpi_{name}"));
    let single = directory.join("single.h5");
    let run = solve(0, file, extra, &single);
    assert!(run.status.success(), "single run: {}", String::from_utf8_lossy(&run.stderr));
    let reference = bits(&single);
    let mut outputs = vec![run];
    for &ranks in ranks {
        let out = directory.join(format!("ranks{ranks}.h5"));
        let run = solve(ranks, file, extra, &out);
        assert!(
            run.status.success(),
            "{ranks} ranks: {}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        let decomposed = bits(&out);
        assert_eq!(decomposed.len(), reference.len());
        for (k, (a, b)) in decomposed.iter().zip(&reference).enumerate() {
            let differing = a.iter().zip(b).filter(|(x, y)| x != y).count();
            assert_eq!(differing, 0, "{name}: field {k} differs at {differing} nodes with {ranks} ranks");
        }
        outputs.push(run);
    }
    outputs
}

/// Assert that `run` stopped with exit code 2 and a message naming all of `words`.
pub fn refused(what: &str, run: &Output, words: &[&str]) {
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{what}: {stderr}");
    for word in words {
        assert!(stderr.contains(word), "{what}: no `{word}` in {stderr}");
    }
}
