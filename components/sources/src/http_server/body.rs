//! Request bodies: read with a size limit, then `Content-Encoding` undone with the same limit.

use std::io::Read;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

/// Why a body was refused, with the status code the client gets.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(super) enum BodyError {
    #[error("request body is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("content encoding {0:?} is not supported (use gzip, zstd, deflate or identity)")]
    UnsupportedEncoding(String),
    #[error("request body could not be decompressed as {encoding}: {reason}")]
    Corrupt { encoding: &'static str, reason: String },
    #[error("request body could not be read: {0}")]
    Read(String),
}

impl BodyError {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            BodyError::Corrupt { .. } | BodyError::Read(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// One `Content-Encoding` step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Gzip,
    Zstd,
    Deflate,
}

/// The encodings applied to the body, in the order they were applied (`identity` dropped).
pub(super) fn encodings(headers: &HeaderMap) -> Result<Vec<Encoding>, BodyError> {
    let mut encodings = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let value = value.to_str().map_err(|_| BodyError::UnsupportedEncoding(format!("{value:?}")))?;
        for name in value.split(',').map(str::trim).filter(|name| !name.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "identity" => {}
                "gzip" | "x-gzip" => encodings.push(Encoding::Gzip),
                "zstd" => encodings.push(Encoding::Zstd),
                "deflate" => encodings.push(Encoding::Deflate),
                _ => return Err(BodyError::UnsupportedEncoding(name.to_owned())),
            }
        }
    }
    Ok(encodings)
}

/// Reads the whole body, refusing it as soon as it passes `limit`: a declared `Content-Length`
/// over the limit is refused before anything is read.
pub(super) async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    // The declared length is at most `limit` here, so preallocating it is bounded.
    let mut buffer = BytesMut::with_capacity(declared.unwrap_or(0) as usize);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| BodyError::Read(error.to_string()))?;
        if buffer.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// Undoes `encodings` (last applied first), never producing more than `limit` bytes at any step:
/// a small compressed body that expands past the limit (a "zip bomb") is refused after reading
/// at most `limit + 1` decompressed bytes. This is blocking work; run it off the runtime threads.
pub(super) fn decompress(mut body: Bytes, encodings: &[Encoding], limit: usize) -> Result<Bytes, BodyError> {
    for encoding in encodings.iter().rev() {
        let (name, reader): (&'static str, Box<dyn Read + '_>) = match encoding {
            Encoding::Gzip => ("gzip", Box::new(flate2::read::MultiGzDecoder::new(&body[..]))),
            Encoding::Deflate => ("deflate", Box::new(flate2::read::ZlibDecoder::new(&body[..]))),
            Encoding::Zstd => {
                let decoder = zstd::stream::read::Decoder::new(&body[..])
                    .map_err(|error| BodyError::Corrupt { encoding: "zstd", reason: error.to_string() })?;
                ("zstd", Box::new(decoder))
            }
        };
        let mut output = Vec::new();
        reader
            .take(limit as u64 + 1)
            .read_to_end(&mut output)
            .map_err(|error| BodyError::Corrupt { encoding: name, reason: error.to_string() })?;
        if output.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body = Bytes::from(output);
    }
    Ok(body)
}
