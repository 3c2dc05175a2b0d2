//! Automatic response decompression (`Content-Encoding: gzip | deflate | br | zstd`),
//! streaming,
//! with a cap on the total decompressed size so a zip bomb fails cleanly instead of
//! filling memory.

use std::io::{self, Write};

use bytes::Bytes;
use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};

use super::error::ClientError;

/// An output sink that refuses to grow past the cap.
struct Capped {
    buf: Vec<u8>,
    total: u64,
    cap: u64,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.total += data.len() as u64;
        if self.total > self.cap {
            return Err(io::Error::other("decompressed size over the cap"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Inner {
    Gzip(GzDecoder<Capped>),
    Zlib(ZlibDecoder<Capped>),
    Raw(DeflateDecoder<Capped>),
    Brotli(Box<brotli::DecompressorWriter<Capped>>),
    Zstd(zstd::stream::write::Decoder<'static, Capped>),
    /// `deflate` whose first bytes did not arrive yet: zlib-wrapped (RFC 9110) or raw
    /// (what some servers send) is decided on the first byte.
    DeflateUnknown(u64),
}

/// A streaming decoder for one response body.
pub(crate) struct Decoder {
    inner: Inner,
    encoding: &'static str,
}

impl Decoder {
    /// The decoder for a `Content-Encoding` value, or `None` when the body is used as
    /// it is (identity, or an encoding we do not decode: the caller gets raw bytes).
    pub(crate) fn for_encoding(value: &str, cap: u64) -> Option<Self> {
        let sink = || Capped {
            buf: Vec::new(),
            total: 0,
            cap,
        };
        let (inner, encoding) = match value.trim().to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => (Inner::Gzip(GzDecoder::new(sink())), "gzip"),
            "deflate" => (Inner::DeflateUnknown(cap), "deflate"),
            "br" => (
                Inner::Brotli(Box::new(brotli::DecompressorWriter::new(sink(), 4096))),
                "br",
            ),
            "zstd" => (
                Inner::Zstd(zstd::stream::write::Decoder::new(sink()).ok()?),
                "zstd",
            ),
            _ => return None,
        };
        Some(Self { inner, encoding })
    }

    fn err(&self, e: io::Error) -> ClientError {
        ClientError::Payload(format!("cannot decode {} body: {e}", self.encoding))
    }

    /// Feeds compressed bytes, returns what decompressed so far.
    pub(crate) fn feed(&mut self, data: &[u8]) -> Result<Bytes, ClientError> {
        if let Inner::DeflateUnknown(cap) = self.inner {
            let Some(&first) = data.first() else {
                return Ok(Bytes::new());
            };
            let sink = Capped {
                buf: Vec::new(),
                total: 0,
                cap,
            };
            // A zlib header's low nibble is 8 (deflate method); raw deflate rarely fits.
            self.inner = if first & 0x0f == 8 {
                Inner::Zlib(ZlibDecoder::new(sink))
            } else {
                Inner::Raw(DeflateDecoder::new(sink))
            };
        }
        let result = match &mut self.inner {
            Inner::Gzip(d) => d.write_all(data),
            Inner::Zlib(d) => d.write_all(data),
            Inner::Raw(d) => d.write_all(data),
            Inner::Brotli(d) => d.write_all(data),
            Inner::Zstd(d) => d.write_all(data).and_then(|()| d.flush()),
            Inner::DeflateUnknown(_) => Ok(()),
        };
        result.map_err(|e| self.err(e))?;
        Ok(self.take())
    }

    /// The body ended: flushes the decoder; a truncated stream is an error.
    pub(crate) fn finish(&mut self) -> Result<Bytes, ClientError> {
        let result = match &mut self.inner {
            Inner::Gzip(d) => d.try_finish(),
            Inner::Zlib(d) => d.try_finish(),
            Inner::Raw(d) => d.try_finish(),
            Inner::Brotli(d) => d.flush().and_then(|()| d.close()),
            Inner::Zstd(d) => d.flush(),
            Inner::DeflateUnknown(_) => Ok(()),
        };
        result.map_err(|e| self.err(e))?;
        Ok(self.take())
    }

    fn take(&mut self) -> Bytes {
        let buf = match &mut self.inner {
            Inner::Gzip(d) => &mut d.get_mut().buf,
            Inner::Zlib(d) => &mut d.get_mut().buf,
            Inner::Raw(d) => &mut d.get_mut().buf,
            Inner::Brotli(d) => &mut d.get_mut().buf,
            Inner::Zstd(d) => &mut d.get_mut().buf,
            Inner::DeflateUnknown(_) => return Bytes::new(),
        };
        Bytes::from(std::mem::take(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_split_at_every_byte_gives_the_same_output() {
        let plain = b"hello hello hello, compressed world".repeat(20);
        let packed = gz(&plain);
        for split in 0..packed.len() {
            let mut d = Decoder::for_encoding("gzip", 1 << 20).unwrap();
            let mut out = d.feed(&packed[..split]).unwrap().to_vec();
            out.extend_from_slice(&d.feed(&packed[split..]).unwrap());
            out.extend_from_slice(&d.finish().unwrap());
            assert_eq!(out, plain, "split at {split}");
        }
    }

    #[test]
    fn deflate_zlib_and_raw() {
        let plain = b"deflate me".repeat(10);
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(&plain).unwrap();
        let zlib = z.finish().unwrap();
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        r.write_all(&plain).unwrap();
        let raw = r.finish().unwrap();
        for packed in [zlib, raw] {
            let mut d = Decoder::for_encoding("deflate", 1 << 20).unwrap();
            let mut out = d.feed(&packed).unwrap().to_vec();
            out.extend_from_slice(&d.finish().unwrap());
            assert_eq!(out, plain);
        }
    }

    fn br(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }

    #[test]
    fn brotli_and_zstd_split_at_every_byte() {
        let plain = b"brotli and zstd, streamed ".repeat(40);
        let packed_br = br(&plain);
        let packed_zstd = zstd::encode_all(&plain[..], 3).unwrap();
        for (enc, packed) in [("br", packed_br), ("zstd", packed_zstd)] {
            for split in 0..packed.len() {
                let mut d = Decoder::for_encoding(enc, 1 << 20).unwrap();
                let mut out = d.feed(&packed[..split]).unwrap().to_vec();
                out.extend_from_slice(&d.feed(&packed[split..]).unwrap());
                out.extend_from_slice(&d.finish().unwrap());
                assert_eq!(out, plain, "{enc} split at {split}");
            }
        }
    }

    #[test]
    fn brotli_and_zstd_bombs_fail_at_the_cap() {
        let zeros = vec![0u8; 10 << 20];
        for (enc, packed) in [
            ("br", br(&zeros)),
            ("zstd", zstd::encode_all(&zeros[..], 3).unwrap()),
        ] {
            let mut d = Decoder::for_encoding(enc, 1 << 20).unwrap();
            let err = d.feed(&packed).and_then(|_| d.finish()).unwrap_err();
            assert!(
                matches!(err, ClientError::Payload(ref m) if m.contains("cap")),
                "{enc}: {err}"
            );
        }
    }

    #[test]
    fn bomb_fails_at_the_cap() {
        let packed = gz(&vec![0u8; 10 << 20]);
        let mut d = Decoder::for_encoding("gzip", 1 << 20).unwrap();
        let err = d.feed(&packed).and_then(|_| d.finish()).unwrap_err();
        assert!(
            matches!(err, ClientError::Payload(ref m) if m.contains("cap")),
            "{err}"
        );
    }

    #[test]
    fn truncated_gzip_is_an_error_and_identity_is_none() {
        let packed = gz(b"some data that is long enough");
        let mut d = Decoder::for_encoding("gzip", 1 << 20).unwrap();
        let _ = d.feed(&packed[..packed.len() - 4]).unwrap();
        assert!(d.finish().is_err());
        assert!(Decoder::for_encoding("identity", 10).is_none());
        assert!(Decoder::for_encoding("compress", 10).is_none());
    }
}
