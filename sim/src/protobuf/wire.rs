//! The protobuf wire format: varints, tags and length-delimited fields.

use super::ProtobufError;

pub struct Reader<'a> {
    pub buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) =
                self.buf.split_first().ok_or_else(|| ProtobufError::Malformed("truncated varint".into()))?;
            self.buf = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::Malformed("varint too long".into()))
    }

    /// The next field's number and wire type.
    pub fn tag(&mut self) -> Result<(u64, u64), ProtobufError> {
        let tag = self.varint()?;
        Ok((tag >> 3, tag & 7))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], ProtobufError> {
        let len = usize::try_from(self.varint()?).map_err(|_| ProtobufError::Malformed("length overflow".into()))?;
        if len > self.buf.len() {
            return Err(ProtobufError::Malformed("truncated field".into()));
        }
        let (field, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(field)
    }

    pub fn fixed64(&mut self) -> Result<u64, ProtobufError> {
        let (bytes, rest) =
            self.buf.split_first_chunk::<8>().ok_or_else(|| ProtobufError::Malformed("truncated fixed64".into()))?;
        self.buf = rest;
        Ok(u64::from_le_bytes(*bytes))
    }

    pub fn skip(&mut self, wire: u64) -> Result<(), ProtobufError> {
        match wire {
            0 => self.varint().map(drop),
            1 => self.fixed64().map(drop),
            2 => self.bytes().map(drop),
            5 => {
                if self.buf.len() < 4 {
                    return Err(ProtobufError::Malformed("truncated fixed32".into()));
                }
                self.buf = &self.buf[4..];
                Ok(())
            }
            other => Err(ProtobufError::Malformed(format!("unsupported wire type {other}"))),
        }
    }
}
