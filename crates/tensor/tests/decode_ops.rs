//! The two shortcuts of a decoding step against the ops they stand for,
//! on the CPU and (when an adapter is there) the GPU: `select_cat` gives
//! `cat([index_select(0, ids), new])` and `log_softmax_topk` gives
//! `log_softmax(-1).topk(k)`, the same bits; bad arguments are refused
//! with the shape at fault named.

use tensor::{no_grad, Device, Result, Rng, Tensor};

fn devices() -> Vec<Device> {
    let mut d = vec![Device::Cpu];
    if kernels_gpu::gpu_ready_for_tests() {
        d.push(Device::Gpu);
    }
    d
}

fn bits(t: &Tensor) -> Vec<u32> {
    t.to_vec().iter().map(|v| v.to_bits()).collect()
}

/// `[rows, h, len, d]` past, `picked` ids (repeats, and rows left out),
/// appended `extra` positions along axis 2; also rank 3 along axis 1 and
/// rank 2 along axis 1 (outer = inner = 1).
#[test]
fn select_cat_is_index_select_then_cat() -> Result<()> {
    let mut rng = Rng::new(11);
    let shapes: [(&[usize], usize, usize, &[f32]); 6] = [
        (&[3, 2, 5, 4], 2, 1, &[2.0, 0.0, 0.0, 1.0]),
        (&[1, 1, 1, 1], 2, 1, &[0.0]),
        (&[5, 3, 7, 13], 2, 2, &[4.0, 4.0, 1.0]),
        (&[4, 17, 3], 1, 1, &[3.0, 2.0, 1.0, 0.0, 0.0]),
        (&[2, 0, 5], 1, 1, &[1.0]),
        (&[6, 9], 1, 3, &[5.0, 0.0]),
    ];
    for device in devices() {
        for &(dims, axis, extra, ids) in &shapes {
            let past = Tensor::rand(dims, -1.0, 1.0, &mut rng, &Device::Cpu)?.to(&device)?;
            let ids_t = Tensor::from_vec(ids.to_vec(), [ids.len()], &device)?;
            let mut nd = dims.to_vec();
            nd[0] = ids.len();
            nd[axis] = extra;
            let new =
                Tensor::rand(nd.as_slice(), -1.0, 1.0, &mut rng, &Device::Cpu)?.to(&device)?;
            let want = Tensor::cat(&[past.index_select(0, &ids_t)?, new.clone()], axis as isize)?;
            let got = no_grad(|| past.select_cat(Some(&ids_t), &new, axis as isize))?;
            assert_eq!(got.dims(), want.dims(), "{dims:?} on {device:?}");
            assert_eq!(
                bits(&got),
                bits(&want),
                "{dims:?} ids {ids:?} on {device:?}"
            );
            // every row, in order
            let mut nd = dims.to_vec();
            nd[axis] = extra;
            let new =
                Tensor::rand(nd.as_slice(), -1.0, 1.0, &mut rng, &Device::Cpu)?.to(&device)?;
            let want = Tensor::cat(&[past.clone(), new.clone()], axis as isize)?;
            let got = no_grad(|| past.select_cat(None, &new, axis as isize))?;
            assert_eq!(bits(&got), bits(&want), "{dims:?} all rows on {device:?}");
        }
    }
    Ok(())
}

#[test]
fn select_cat_refuses_what_it_cannot_append() -> Result<()> {
    let cpu = Device::Cpu;
    let past = Tensor::zeros([3, 2, 5, 4], &cpu)?;
    let ids = Tensor::from_vec(vec![0.0, 2.0], [2], &cpu)?;
    let err = |r: Result<Tensor>| r.unwrap_err().to_string();
    let new = Tensor::zeros([2, 2, 1, 4], &cpu)?;
    assert!(err(past.select_cat(Some(&ids), &new, 0)).contains("axis ≥ 1"));
    let wrong_rows = Tensor::zeros([3, 2, 1, 4], &cpu)?;
    assert!(err(past.select_cat(Some(&ids), &wrong_rows, 2)).contains("2 rows"));
    let wrong_width = Tensor::zeros([2, 2, 1, 3], &cpu)?;
    assert!(err(past.select_cat(Some(&ids), &wrong_width, 2)).contains("[2, 2, 1, 3]"));
    let far = Tensor::from_vec(vec![0.0, 3.0], [2], &cpu)?;
    assert!(err(past.select_cat(Some(&far), &new, 2)).contains('3'));
    Ok(())
}

/// Rows of a vocabulary (a prime width), ties and a row with -∞ entries.
#[test]
fn log_softmax_topk_is_log_softmax_then_topk() -> Result<()> {
    let mut x = Tensor::rand([2, 7, 1009], -6.0, 6.0, &mut Rng::new(5), &Device::Cpu)?.to_vec();
    for (i, v) in x.iter_mut().enumerate() {
        match i % 11 {
            0 => *v = v.round(),
            3 if i < 1009 => *v = f32::NEG_INFINITY,
            _ => {}
        }
    }
    for device in devices() {
        let logits = Tensor::from_vec(x.clone(), [2, 7, 1009], &device)?;
        for k in [1, 10, 1009] {
            let (wv, wi) = logits.log_softmax(-1)?.topk(k)?;
            let (gv, gi) = logits.log_softmax_topk(k)?;
            assert_eq!(gv.dims(), [2, 7, k]);
            assert_eq!(bits(&gv), bits(&wv), "values, k = {k} on {device:?}");
            assert_eq!(gi.to_vec(), wi.to_vec(), "indices, k = {k} on {device:?}");
        }
        assert!(logits
            .log_softmax_topk(1010)
            .unwrap_err()
            .to_string()
            .contains("1 ≤ k"));
    }
    Ok(())
}

/// A permutation that moves only dimensions of size 1 keeps the buffer
/// (no copy) and reads as the copying permutation would.
#[test]
fn permuting_a_size_one_dimension_shares_the_buffer() -> Result<()> {
    let x = Tensor::rand([3, 1, 4, 2], -1.0, 1.0, &mut Rng::new(2), &Device::Cpu)?;
    let y = x.permute(&[0, 2, 1, 3])?;
    assert!(y.same_storage(&x));
    assert_eq!(y.dims(), [3, 4, 1, 2]);
    assert_eq!(y.to_vec(), x.to_vec());
    let z = x.permute(&[2, 1, 0, 3])?;
    assert!(!z.same_storage(&x), "a real permutation copies");
    // z[i, 0, k, l] = x[k, 0, i, l]: z[1, 0, 2, 1] is element (1·3 + 2)·2 + 1 = 11
    // of z, x[2, 0, 1, 1] element (2·4 + 1)·2 + 1 = 19 of x
    assert_eq!(z.to_vec()[11], x.to_vec()[19]);
    Ok(())
}
