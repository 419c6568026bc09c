//! Telling files apart: whether two paths are one file (so the input is never
//! overwritten), and a file's fingerprint (so a changed input is never resumed).

use std::{
    fs::File,
    io::{self, Read},
    path::Path,
};

use sha2::{Digest, Sha256};

use crate::journal::Fingerprint;

/// Whether two paths name one existing file: the same device and inode on
/// Unix, so a hard link or another spelling of the path is caught too. A path
/// that does not exist yet names no file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(a), Ok(b)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (a.dev(), a.ino()) == (b.dev(), b.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// The size and SHA-256 of the file at `path`, read in blocks.
pub fn fingerprint(path: &Path) -> io::Result<Fingerprint> {
    digest(File::open(path)?)
}

fn digest(mut input: impl Read) -> io::Result<Fingerprint> {
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let read = match input.read(&mut block) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&block[..read]);
        size += read as u64;
    }
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(Fingerprint { size, sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_what_sha256sum_prints() {
        let print = digest(&b"abc"[..]).unwrap();
        assert_eq!(print.size, 3);
        assert_eq!(
            print.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(digest(&b"abd"[..]).unwrap(), print);
    }

    #[test]
    fn a_hard_link_is_the_same_file_and_a_new_path_is_none() {
        let dir = std::env::temp_dir().join(format!("identity-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.csv");
        std::fs::write(&input, "email\n").unwrap();
        let link = dir.join("link.csv");
        std::fs::hard_link(&input, &link).unwrap();
        let other = dir.join("other.csv");
        std::fs::write(&other, "email\n").unwrap();
        assert!(same_file(&input, &link));
        assert!(same_file(&input, &dir.join(".").join("in.csv")));
        assert!(!same_file(&input, &other));
        assert!(!same_file(&input, &dir.join("new.json")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
