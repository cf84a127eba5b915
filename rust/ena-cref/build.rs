//! Compiles the upstream `ena_eth_com.c` (taken from the fixture tarball, its
//! checksum verified, never committed) with our platform shim and glue, and
//! the C loops of the benchmark, all at -O2 as the kernel builds.
use std::path::{Path, PathBuf};
use std::process::Command;

const TARBALL: &str = "amzn-drivers-ena_linux_2.15.0.tar.gz";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let fixtures = std::env::var("ENA_LAB_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest.join("../../../shared/fixtures"));
    let tarball = fixtures.join(TARBALL);
    println!("cargo:rerun-if-env-changed=ENA_LAB_FIXTURES");
    println!("cargo:rerun-if-changed={}", tarball.display());
    println!("cargo:rerun-if-changed=c");
    println!("cargo:rerun-if-changed=shim");

    verify(&tarball, &fixtures.join("SHA256SUMS"));
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let src = out.join("ena_com");
    std::fs::create_dir_all(&src).unwrap();
    let status = Command::new("tar")
        .args(["-xzf"])
        .arg(&tarball)
        .arg("-C")
        .arg(&src)
        .args([
            "--strip-components=5",
            "amzn-drivers-ena_linux_2.15.0/kernel/linux/common/ena_com",
        ])
        .status()
        .expect("running tar");
    assert!(
        status.success(),
        "extracting ena_com from {} failed",
        tarball.display()
    );

    cc::Build::new()
        .std("gnu11")
        .include(manifest.join("shim"))
        .include(&src)
        .file(src.join("ena_eth_com.c"))
        .file(manifest.join("c/glue.c"))
        .file(manifest.join("c/bench.c"))
        .flag_if_supported("-Wno-unused-variable")
        .flag_if_supported("-Wno-unused-parameter")
        // ena_com is written for the kernel's C: no strict aliasing.
        .flag("-fno-strict-aliasing")
        .opt_level(2)
        .compile("ena_cref");
}

fn verify(tarball: &Path, sums: &Path) {
    let listing = std::fs::read_to_string(sums)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (set ENA_LAB_FIXTURES)", sums.display()));
    let want = listing
        .lines()
        .find_map(|l| {
            l.strip_suffix(TARBALL)
                .map(|h| h.trim().trim_end_matches('*').trim().to_string())
        })
        .unwrap_or_else(|| panic!("{} has no line for {TARBALL}", sums.display()));
    let out = Command::new("sha256sum")
        .arg(tarball)
        .output()
        .expect("running sha256sum");
    let got = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string();
    assert_eq!(got, want, "checksum mismatch for {}", tarball.display());
}
