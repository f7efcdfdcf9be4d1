//! Small files the upload tests send.

/// A PNG header declaring `width` × `height` (with its IHDR checksum), padded with zeros to
/// 2 KiB: upload confirmation reads only the header for the type and dimension checks.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend([8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89]);
    bytes.resize(2048, 0);
    bytes
}
