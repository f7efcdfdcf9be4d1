//! What an uploaded file may be, and the checks that prove it: the declared MIME type must be on
//! the allow-list, the content's magic bytes must match it, and images must have sane dimensions.
//! Pure functions of the file's first bytes, shared by every upload path.

/// Bytes read from the start of an object for verification. Enough for the magic number and
/// the header of every accepted image format, including JPEGs with a large EXIF block.
pub const VERIFY_PREFIX_BYTES: usize = 256 * 1024;
/// Shortest side an identity image must have.
pub const MIN_IMAGE_SIDE: usize = 200;
/// Longest side accepted.
pub const MAX_IMAGE_SIDE: usize = 20_000;

/// A file type the platform accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Jpeg,
    Png,
    Heif,
    Webp,
    Pdf,
}

impl FileKind {
    /// Every kind, with the MIME types that declare it.
    pub const ALL: [(FileKind, &'static [&'static str]); 5] = [
        (FileKind::Jpeg, &["image/jpeg"]),
        (FileKind::Png, &["image/png"]),
        (FileKind::Heif, &["image/heic", "image/heif"]),
        (FileKind::Webp, &["image/webp"]),
        (FileKind::Pdf, &["application/pdf"]),
    ];

    /// The kind a MIME type declares (case-insensitive, parameters ignored).
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        Self::ALL.iter().find(|(_, mimes)| mimes.contains(&essence.as_str())).map(|(kind, _)| *kind)
    }

    /// File name extension used in object keys.
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Jpeg => "jpg",
            FileKind::Png => "png",
            FileKind::Heif => "heic",
            FileKind::Webp => "webp",
            FileKind::Pdf => "pdf",
        }
    }

    fn is_image(self) -> bool {
        self != FileKind::Pdf
    }
}

/// Checks a file's first bytes against the kind its MIME type declares.
pub fn verify_content(declared: FileKind, prefix: &[u8]) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("The uploaded file is empty".into());
    }
    let detected = infer::get(prefix).and_then(|t| FileKind::from_mime(t.mime_type()));
    if detected != Some(declared) {
        let what = infer::get(prefix).map_or("an unknown type", |t| t.mime_type());
        return Err(format!("File content does not match its declared type (the content is {what})"));
    }
    if declared.is_image() {
        // HEIF dimensions live deep in the container; the magic check above is what we can prove.
        if declared == FileKind::Heif {
            return Ok(());
        }
        let size = imagesize::blob_size(prefix).map_err(|_| "The image header cannot be read".to_owned())?;
        let (short, long) = (size.width.min(size.height), size.width.max(size.height));
        if short < MIN_IMAGE_SIDE {
            return Err(format!(
                "The image is too small ({}x{} px); its shorter side must be at least {MIN_IMAGE_SIDE} px",
                size.width, size.height
            ));
        }
        if long > MAX_IMAGE_SIDE {
            return Err(format!("The image is too large ({}x{} px)", size.width, size.height));
        }
    }
    Ok(())
}

/// Cleans a user-supplied file name for display: no directories, no control or path characters,
/// at most 200 characters. The name is never used in a storage key.
pub fn sanitize_file_name(name: &str) -> Result<String, String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        return Err("file_name must name a file".into());
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG header declaring `width` x `height` (enough for type and dimension checks).
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes =
            vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
        bytes.extend(width.to_be_bytes());
        bytes.extend(height.to_be_bytes());
        bytes.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn mime_types_map_to_kinds() {
        assert_eq!(FileKind::from_mime("image/JPEG"), Some(FileKind::Jpeg));
        assert_eq!(FileKind::from_mime("image/heic"), Some(FileKind::Heif));
        assert_eq!(FileKind::from_mime("application/pdf; charset=binary"), Some(FileKind::Pdf));
        assert_eq!(FileKind::from_mime("image/gif"), None);
        assert_eq!(FileKind::from_mime("text/html"), None);
    }

    #[test]
    fn content_must_match_the_declared_kind() {
        assert!(verify_content(FileKind::Png, &png(800, 600)).is_ok());
        let err = verify_content(FileKind::Pdf, &png(800, 600)).unwrap_err();
        assert_eq!(err, "File content does not match its declared type (the content is image/png)");
        assert!(verify_content(FileKind::Pdf, b"%PDF-1.7\n").is_ok());
        assert!(verify_content(FileKind::Jpeg, b"plain text").unwrap_err().contains("an unknown type"));
        assert_eq!(verify_content(FileKind::Png, b"").unwrap_err(), "The uploaded file is empty");
    }

    #[test]
    fn images_need_sane_dimensions() {
        assert!(verify_content(FileKind::Png, &png(199, 800)).unwrap_err().contains("at least 200 px"));
        assert!(verify_content(FileKind::Png, &png(200, 200)).is_ok());
        assert!(verify_content(FileKind::Png, &png(30_000, 800)).unwrap_err().contains("too large"));
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(sanitize_file_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(sanitize_file_name("C:\\Users\\me\\pass\u{0000}port.jpg").unwrap(), "passport.jpg");
        assert_eq!(sanitize_file_name("..").unwrap_err(), "file_name must name a file");
        assert_eq!(sanitize_file_name(&"a".repeat(300)).unwrap().len(), 200);
    }
}
