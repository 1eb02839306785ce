// reduce_tree.wgsl — a workgroup's sum and maximum by a tree in workgroup memory.
//
// Appended to the row kernels (softmax, layer norm, cross-entropy) on adapters
// without subgroup operations; reduce_subgroup.wgsl is the other choice, with
// the same `Lane` and the same two functions, so the kernels are written once.
// Every invocation puts its value in `partial`, then half of them add the
// other half's: log2(RW) steps, a barrier each. The result is read by all
// invocations, and a last barrier lets the caller reuse `partial` at once.

struct Lane {
    @builtin(local_invocation_index) lid: u32,
}

var<workgroup> partial: array<f32, RW>;

fn wg_sum(lane: Lane, v: f32) -> f32 {
    partial[lane.lid] = v;
    workgroupBarrier();
    for (var half = RW / 2u; half > 0u; half /= 2u) {
        if (lane.lid < half) { partial[lane.lid] += partial[lane.lid + half]; }
        workgroupBarrier();
    }
    let result = partial[0];
    workgroupBarrier();
    return result;
}

fn wg_max(lane: Lane, v: f32) -> f32 {
    partial[lane.lid] = v;
    workgroupBarrier();
    for (var half = RW / 2u; half > 0u; half /= 2u) {
        if (lane.lid < half) { partial[lane.lid] = max(partial[lane.lid], partial[lane.lid + half]); }
        workgroupBarrier();
    }
    let result = partial[0];
    workgroupBarrier();
    return result;
}
