//! safetensors round trips and the errors of bad files.

mod common;
use common::*;
use tensor::{io, Device};

fn tmpdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("s2s-io-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn round_trip_keeps_names_shapes_and_values() {
    let path = tmpdir("rt").join("w.safetensors");
    let a = t(&[1.0, -2.5, 3.25, 4.0, 5.0, 6.0], &[2, 3]);
    let b = t(&[7.0], &[]);
    io::save(
        &path,
        &[("enc.weight".into(), a.clone()), ("bias".into(), b.clone())],
        None,
    )
    .unwrap();
    let loaded = io::load(&path, &Device::Cpu).unwrap();
    assert_eq!(loaded.tensors.len(), 2);
    let la = loaded.get("enc.weight").unwrap();
    assert_eq!((la.dims(), la.to_vec()), (a.dims(), a.to_vec()));
    assert_eq!(loaded.get("bias").unwrap().to_vec(), vec![7.0]);
    assert!(!path.with_extension("safetensors.tmp").exists());
}

#[test]
fn bad_files_are_errors_naming_the_file() {
    let dir = tmpdir("bad");
    let missing = dir.join("nope.safetensors");
    let e = io::load(&missing, &Device::Cpu).err().unwrap().to_string();
    assert!(
        e.contains("nope.safetensors") && e.contains("cannot read"),
        "{e}"
    );

    let good = dir.join("good.safetensors");
    io::save(&good, &[("w".into(), t(&[1.0; 64], &[8, 8]))], None).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    let e = io::load(&truncated, &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("truncated.safetensors") && e.contains("not a valid safetensors"),
        "{e}"
    );

    let garbage = dir.join("garbage.safetensors");
    std::fs::write(&garbage, b"hello").unwrap();
    assert!(io::load(&garbage, &Device::Cpu).is_err());

    // An f16 tensor written by hand: header + 2 bytes of data.
    let header = br#"{"half":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}"#;
    let mut f16 = (header.len() as u64).to_le_bytes().to_vec();
    f16.extend_from_slice(header);
    f16.extend_from_slice(&[0, 60]);
    let wrong = dir.join("f16.safetensors");
    std::fs::write(&wrong, f16).unwrap();
    let e = io::load(&wrong, &Device::Cpu).err().unwrap().to_string();
    assert!(
        e.contains("f16.safetensors") && e.contains("\"half\"") && e.contains("F16"),
        "{e}"
    );
}

#[test]
fn duplicate_names_are_refused() {
    let path = tmpdir("dup").join("d.safetensors");
    let a = t(&[1.0], &[1]);
    let e = io::save(&path, &[("x".into(), a.clone()), ("x".into(), a)], None).unwrap_err();
    assert!(e.to_string().contains("appears twice"));
}
