//! The protocol buffer wire format, read only as far as a SentencePiece
//! model needs: a message is a list of (field number, value) records, each
//! a varint key `number << 3 | wire type` and then a varint (type 0), 8
//! bytes (1), a length-prefixed byte string (2: strings and nested
//! messages) or 4 bytes (5: floats). Groups (3, 4) are obsolete and refused.

/// One field's value as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Reads a varint at `*at`, moving past it.
fn varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&b) = bytes.get(*at) else {
            return Err(format!("truncated varint at byte {at}"));
        };
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(format!("varint longer than 10 bytes before byte {at}"))
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], String> {
    let end = at.checked_add(n).filter(|&e| e <= bytes.len());
    let Some(end) = end else {
        return Err(format!(
            "a {n}-byte field at byte {at} runs past the end ({} bytes)",
            bytes.len()
        ));
    };
    let slice = &bytes[*at..end];
    *at = end;
    Ok(slice)
}

/// The fields of one message, in file order.
pub(super) fn fields(bytes: &[u8]) -> Result<Vec<(u64, Field<'_>)>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let (number, wire) = (key >> 3, key & 7);
        let value = match wire {
            0 => Field::Varint(varint(bytes, &mut at)?),
            1 => Field::Fixed64(u64::from_le_bytes(
                take(bytes, &mut at, 8)?.try_into().unwrap_or([0; 8]),
            )),
            2 => {
                let n = varint(bytes, &mut at)?;
                let n = usize::try_from(n).map_err(|_| format!("length {n} too large"))?;
                Field::Bytes(take(bytes, &mut at, n)?)
            }
            5 => Field::Fixed32(u32::from_le_bytes(
                take(bytes, &mut at, 4)?.try_into().unwrap_or([0; 4]),
            )),
            other => {
                return Err(format!(
                    "field {number} has wire type {other}, not a protocol buffer this reader knows"
                ))
            }
        };
        out.push((number, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_wire_type_and_refuses_truncation() {
        // field 1 varint 300, field 2 "hi", field 3 float 1.5
        let mut msg = vec![0x08, 0xAC, 0x02, 0x12, 2, b'h', b'i', 0x1D];
        msg.extend(1.5f32.to_le_bytes());
        let f = fields(&msg).unwrap();
        assert_eq!(f[0], (1, Field::Varint(300)));
        assert_eq!(f[1], (2, Field::Bytes(b"hi")));
        assert_eq!(f[2], (3, Field::Fixed32(1.5f32.to_bits())));
        assert!(fields(&msg[..5]).unwrap_err().contains("runs past the end"));
    }
}
