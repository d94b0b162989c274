//! The built static files: whether their names carry content hashes, the stylesheet's address,
//! and how long a browser may keep each one.
//!
//! The release build (`make build`) names the wasm, its chunks, the JavaScript and the
//! stylesheet after their content and writes the hashes to `hash.txt` beside the binary, which
//! is where Leptos looks for them. A hashed file never changes, so it is cached for a year;
//! anything else under the site is revalidated on every use.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The hashes `hash.txt` gives, when the build that wrote it is the one in the site folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashes {
    pub js: String,
    pub wasm: String,
    pub css: String,
}

/// Reads `hash.txt` (lines such as `js: AbC…`) and keeps it only if the hashed JavaScript it
/// names is in `pkg_dir`: a file left from an older build must not send pages to missing files.
pub fn read_hashes(hash_file: &Path, pkg_dir: &Path, output_name: &str) -> Option<Hashes> {
    let text = std::fs::read_to_string(hash_file).ok()?;
    let get = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let h = Hashes {
        js: get("js")?,
        wasm: get("wasm")?,
        css: get("css")?,
    };
    let present = pkg_dir.join(format!("{output_name}.{}.js", h.js)).is_file();
    present.then_some(h)
}

/// `hash.txt` beside the running binary, as Leptos reads it.
pub fn hash_file() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default()
        .join("hash.txt")
}

static STYLESHEET: OnceLock<String> = OnceLock::new();

/// Decides once, at start-up, whether this build's files are hashed; sets the stylesheet's
/// address for the pages the server writes itself.
pub fn init(site_root: &str, pkg_dir: &str, output_name: &str) -> Option<Hashes> {
    let pkg = Path::new(site_root).join(pkg_dir);
    let hashes = read_hashes(&hash_file(), &pkg, output_name);
    let css = match &hashes {
        Some(h) => format!("/{pkg_dir}/{output_name}.{}.css", h.css),
        None => format!("/{pkg_dir}/{output_name}.css"),
    };
    let _ = STYLESHEET.set(css);
    hashes
}

/// The stylesheet's address (after [`init`]; the unhashed name before it).
pub fn stylesheet() -> &'static str {
    STYLESHEET
        .get()
        .map(String::as_str)
        .unwrap_or("/pkg/mhc.css")
}

/// Whether a request path names a content-hashed build file (`/pkg/name.<22 characters>.ext`,
/// the chunks and split loader included), which may be cached for good.
pub fn is_hashed(path: &str) -> bool {
    let Some(file) = path.strip_prefix("/pkg/") else {
        return false;
    };
    if file.contains('/') {
        return false;
    }
    let mut parts = file.rsplit('.');
    let (Some(ext), Some(hash)) = (parts.next(), parts.next()) else {
        return false;
    };
    parts.next().is_some()
        && matches!(ext, "js" | "wasm" | "css" | "json")
        && hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        // The split loader's unhashed placeholder name is all underscores.
        && hash.bytes().any(|b| b.is_ascii_alphanumeric())
}

/// Whether a request path may be a static file (hashed or not): under `/pkg/`, or a file of
/// the site's root folder (`/icon.svg`, `/manifest.webmanifest`). Routes such as
/// `/results/x.png` are pages, and the response's type settles what the address cannot.
pub fn is_static(path: &str) -> bool {
    if path.starts_with("/pkg/") {
        return true;
    }
    let Some(file) = path.strip_prefix('/') else {
        return false;
    };
    !file.contains('/')
        && (file.ends_with(".svg") || file.ends_with(".png") || file == "manifest.webmanifest")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_hashed_build_files_count_as_hashed() {
        assert!(is_hashed("/pkg/mhc.AbCdEfGhIjKlMnOpQrStUv.wasm"));
        assert!(is_hashed("/pkg/mhc.AbCdEfGhIjKlMnOp-r_tUv.js"));
        assert!(is_hashed("/pkg/__wasm_split.AbCdEfGhIjKlMnOpQrStUv.js"));
        assert!(is_hashed(
            "/pkg/__wasm_split_manifest.AbCdEfGhIjKlMnOpQrStUv.json"
        ));
        assert!(is_hashed(
            "/pkg/mhc_route_view_0.AbCdEfGhIjKlMnOpQrStUv.wasm"
        ));
        // Unhashed names, the placeholder loader name, other folders and other types.
        assert!(!is_hashed("/pkg/mhc.wasm"));
        assert!(!is_hashed("/pkg/__wasm_split.______________________.js"));
        assert!(!is_hashed("/pkg/snippets/x/AbCdEfGhIjKlMnOpQrStUv.js"));
        assert!(!is_hashed("/pkg/mhc.AbCdEfGhIjKlMnOpQrStU.wasm"));
        assert!(!is_hashed("/pkg/mhc.AbCdEfGhIjKlMnOpQrSt!v.wasm"));
        assert!(!is_hashed("/pkg/AbCdEfGhIjKlMnOpQrStUv.wasm"));
        assert!(!is_hashed("/icon.AbCdEfGhIjKlMnOpQrStUv.svg"));
        assert!(!is_hashed("/pkg/mhc.AbCdEfGhIjKlMnOpQrStUv.html"));
        assert!(is_static("/icon.svg") && is_static("/manifest.webmanifest"));
        assert!(is_static("/pkg/anything"));
        assert!(!is_static("/results/x.png") && !is_static("/messages/a.svg"));
    }

    #[test]
    fn a_hash_file_counts_only_with_its_files() {
        let dir = std::env::temp_dir().join(format!("mhc-assets-{}", std::process::id()));
        let pkg = dir.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        let hash = dir.join("hash.txt");
        std::fs::write(
            &hash,
            "js: AAAAAAAAAAAAAAAAAAAAAA\nwasm: BBBBBBBBBBBBBBBBBBBBBB\ncss: CCCCCCCCCCCCCCCCCCCCCC\n",
        )
        .unwrap();
        assert_eq!(read_hashes(&hash, &pkg, "mhc"), None, "stale: no such js");
        std::fs::write(pkg.join("mhc.AAAAAAAAAAAAAAAAAAAAAA.js"), "").unwrap();
        let h = read_hashes(&hash, &pkg, "mhc").unwrap();
        assert_eq!(h.css, "CCCCCCCCCCCCCCCCCCCCCC");
        assert_eq!(read_hashes(&dir.join("none.txt"), &pkg, "mhc"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
