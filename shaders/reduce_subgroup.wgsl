// reduce_subgroup.wgsl — a workgroup's sum and maximum by subgroup operations.
//
// The same `Lane`, `wg_sum` and `wg_max` as reduce_tree.wgsl, for adapters
// with the SUBGROUP feature: a subgroup (a warp or wavefront, 8 to 64 lanes
// that run in lockstep) combines its values in registers with one
// subgroupAdd / subgroupMax, its first lane writes the result to
// `partial[subgroup_id]`, and after one barrier every invocation adds the
// num_subgroups partials in the same order (so all get the same bits).
// Two barriers instead of log2(RW) + 1, and no shared-memory traffic for the
// first five or six tree levels. `partial` keeps RW slots so that even a
// subgroup of one lane fits.

struct Lane {
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_invocation_id) sg_lane: u32,
    @builtin(subgroup_id) sg_id: u32,
    @builtin(num_subgroups) sg_count: u32,
}

var<workgroup> partial: array<f32, RW>;

fn wg_sum(lane: Lane, v: f32) -> f32 {
    let mine = subgroupAdd(v);
    if (lane.sg_lane == 0u) { partial[lane.sg_id] = mine; }
    workgroupBarrier();
    var result = partial[0];
    for (var s = 1u; s < lane.sg_count; s++) { result += partial[s]; }
    workgroupBarrier();
    return result;
}

fn wg_max(lane: Lane, v: f32) -> f32 {
    let mine = subgroupMax(v);
    if (lane.sg_lane == 0u) { partial[lane.sg_id] = mine; }
    workgroupBarrier();
    var result = partial[0];
    for (var s = 1u; s < lane.sg_count; s++) { result = max(result, partial[s]); }
    workgroupBarrier();
    return result;
}
