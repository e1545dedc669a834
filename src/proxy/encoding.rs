//! Content-Encoding handling. Bodies that must be inspected are decoded
//! before the redactor sees them (a gzip'd personnummer is still a
//! personnummer) and forwarded as identity; encodings we cannot decode are
//! refused, never passed through uninspected.

use std::io::Write;

/// A content coding deskguard can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// No coding (absent header or `identity`).
    Identity,
    /// `gzip` / `x-gzip`.
    Gzip,
    /// `deflate` (zlib framing, RFC 9110 §8.4.1.2).
    Deflate,
    /// `br`.
    Brotli,
    /// `zstd`.
    Zstd,
}

/// The `Accept-Encoding` tokens we can decode.
pub const DECODABLE: &[&str] = &["gzip", "deflate", "br", "zstd"];

/// Parses a `Content-Encoding` header value. `Err(())` for unknown or
/// stacked codings (which we refuse rather than guess).
#[allow(clippy::result_unit_err)]
pub fn parse_coding(value: Option<&http::HeaderValue>) -> Result<Coding, ()> {
    let Some(v) = value else {
        return Ok(Coding::Identity);
    };
    let v = v.to_str().map_err(|_| ())?;
    let codings: Vec<&str> = v
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
        .collect();
    match codings.as_slice() {
        [] => Ok(Coding::Identity),
        [c] => match c.to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Ok(Coding::Gzip),
            "deflate" => Ok(Coding::Deflate),
            "br" => Ok(Coding::Brotli),
            "zstd" => Ok(Coding::Zstd),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

/// Narrows a client's `Accept-Encoding` to the codings we can decode, so the
/// upstream never answers in one we would have to refuse. `None` = remove the header.
pub fn narrow_accept_encoding(value: Option<&http::HeaderValue>) -> Option<http::HeaderValue> {
    let v = value?.to_str().ok()?;
    let kept: Vec<&str> = v
        .split(',')
        .map(str::trim)
        .filter(|item| {
            let name = item.split(';').next().unwrap_or("").trim();
            DECODABLE.iter().any(|d| d.eq_ignore_ascii_case(name))
        })
        .collect();
    if kept.is_empty() {
        None
    } else {
        http::HeaderValue::from_str(&kept.join(", ")).ok()
    }
}

/// Largest slice of compressed input fed to a decoder at once; bounds the
/// output one push can produce (decompression bombs stay bounded per step).
const FEED: usize = 8 * 1024;

/// A streaming push decoder: compressed bytes in, decoded bytes out.
pub enum Decoder {
    /// Identity.
    Identity,
    /// gzip.
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
    /// zlib.
    Deflate(Box<flate2::write::ZlibDecoder<Vec<u8>>>),
    /// brotli.
    Brotli(Box<brotli::DecompressorWriter<Vec<u8>>>),
    /// zstd.
    Zstd(Box<zstd::stream::write::Decoder<'static, Vec<u8>>>),
}

impl Decoder {
    /// A decoder for `coding`.
    pub fn new(coding: Coding) -> std::io::Result<Decoder> {
        Ok(match coding {
            Coding::Identity => Decoder::Identity,
            Coding::Gzip => Decoder::Gzip(Box::new(flate2::write::GzDecoder::new(Vec::new()))),
            Coding::Deflate => {
                Decoder::Deflate(Box::new(flate2::write::ZlibDecoder::new(Vec::new())))
            }
            Coding::Brotli => {
                Decoder::Brotli(Box::new(brotli::DecompressorWriter::new(Vec::new(), 4096)))
            }
            Coding::Zstd => Decoder::Zstd(Box::new(zstd::stream::write::Decoder::new(Vec::new())?)),
        })
    }

    /// Whether this is the identity decoder.
    pub fn is_identity(&self) -> bool {
        matches!(self, Decoder::Identity)
    }

    /// Decodes `input`, calling `sink` with each decoded piece.
    pub fn push(
        &mut self,
        input: &[u8],
        sink: &mut dyn FnMut(&[u8]) -> Result<(), crate::proxy::body::FilterError>,
    ) -> Result<(), crate::proxy::body::FilterError> {
        if let Decoder::Identity = self {
            return sink(input);
        }
        for piece in input.chunks(FEED) {
            self.write(piece).map_err(decode_err)?;
            let out = self.take();
            if !out.is_empty() {
                sink(&out)?;
            }
        }
        Ok(())
    }

    /// Flushes the decoder at end of body; a truncated stream is an error.
    pub fn finish(
        &mut self,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), crate::proxy::body::FilterError>,
    ) -> Result<(), crate::proxy::body::FilterError> {
        let out = match std::mem::replace(self, Decoder::Identity) {
            Decoder::Identity => return Ok(()),
            Decoder::Gzip(d) => d.finish(),
            Decoder::Deflate(d) => d.finish(),
            Decoder::Brotli(mut d) => d.close().and_then(|_| {
                d.into_inner().map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "truncated brotli")
                })
            }),
            Decoder::Zstd(mut d) => d.flush().map(|_| std::mem::take(d.get_mut())),
        }
        .map_err(decode_err)?;
        if !out.is_empty() {
            sink(&out)?;
        }
        Ok(())
    }

    fn write(&mut self, piece: &[u8]) -> std::io::Result<()> {
        match self {
            Decoder::Identity => Ok(()),
            Decoder::Gzip(d) => d.write_all(piece),
            Decoder::Deflate(d) => d.write_all(piece),
            Decoder::Brotli(d) => d.write_all(piece),
            Decoder::Zstd(d) => d.write_all(piece),
        }
    }

    fn take(&mut self) -> Vec<u8> {
        match self {
            Decoder::Identity => Vec::new(),
            Decoder::Gzip(d) => std::mem::take(d.get_mut()),
            Decoder::Deflate(d) => std::mem::take(d.get_mut()),
            Decoder::Brotli(d) => std::mem::take(d.get_mut()),
            Decoder::Zstd(d) => std::mem::take(d.get_mut()),
        }
    }
}

fn decode_err(_: std::io::Error) -> crate::proxy::body::FilterError {
    crate::proxy::body::FilterError::new("invalid_encoding", "the body's content coding is corrupt")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn roundtrip(coding: Coding, encoded: &[u8], plain: &[u8]) {
        for chunk in [1usize, 7, 4096] {
            let mut d = Decoder::new(coding).unwrap();
            let mut out = Vec::new();
            for c in encoded.chunks(chunk) {
                d.push(c, &mut |b| {
                    out.extend_from_slice(b);
                    Ok(())
                })
                .unwrap();
            }
            d.finish(&mut |b| {
                out.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
            assert_eq!(out, plain, "{coding:?} chunk {chunk}");
        }
    }

    #[test]
    fn decoders_roundtrip() {
        let plain: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).unwrap();
        roundtrip(Coding::Gzip, &gz.finish().unwrap(), &plain);
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        zl.write_all(&plain).unwrap();
        roundtrip(Coding::Deflate, &zl.finish().unwrap(), &plain);
        let mut br = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
        br.write_all(&plain).unwrap();
        roundtrip(Coding::Brotli, &br.into_inner(), &plain);
        roundtrip(
            Coding::Zstd,
            &zstd::encode_all(&plain[..], 3).unwrap(),
            &plain,
        );
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[b'a'; 10_000]).unwrap();
        let enc = gz.finish().unwrap();
        let mut d = Decoder::new(Coding::Gzip).unwrap();
        let mut sink = |_: &[u8]| Ok(());
        d.push(&enc[..enc.len() / 2], &mut sink).unwrap();
        assert!(d.finish(&mut sink).is_err());
    }

    #[test]
    fn coding_headers() {
        assert_eq!(parse_coding(None), Ok(Coding::Identity));
        assert_eq!(
            parse_coding(Some(&HeaderValue::from_static("GZIP"))),
            Ok(Coding::Gzip)
        );
        assert!(parse_coding(Some(&HeaderValue::from_static("compress"))).is_err());
        assert!(parse_coding(Some(&HeaderValue::from_static("gzip, br"))).is_err());
        let n = narrow_accept_encoding(Some(&HeaderValue::from_static("gzip;q=1, sdch, br")));
        assert_eq!(n.unwrap(), "gzip;q=1, br");
        assert!(narrow_accept_encoding(Some(&HeaderValue::from_static("sdch"))).is_none());
    }
}
