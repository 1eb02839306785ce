//! Every WGSL file parses and validates with naga — no adapter needed, so
//! this runs on any machine and catches shader mistakes before a GPU does.

use kernels_gpu::Shader;

#[test]
fn every_shader_parses_and_validates() {
    let mut failures = Vec::new();
    for shader in Shader::ALL {
        let module = match naga::front::wgsl::parse_str(shader.source()) {
            Ok(module) => module,
            Err(e) => {
                failures.push(format!(
                    "{}: {}",
                    shader.file_name(),
                    e.emit_to_string(shader.source())
                ));
                continue;
            }
        };
        // Only the modules that ask for subgroups may use them: a stray
        // subgroup call in a portable kernel fails here.
        // pack2x16float / unpack2x16float are core WGSL; naga gates them
        // only for OpenGL ES drivers that lack them.
        let mut capabilities = naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32;
        if shader.needs_subgroups() {
            capabilities |= naga::valid::Capabilities::SUBGROUP;
        }
        if shader.needs_f16() {
            capabilities |= naga::valid::Capabilities::SHADER_FLOAT16;
        }
        let mut validator =
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities);
        if shader.needs_subgroups() {
            validator.subgroup_stages(naga::valid::ShaderStages::COMPUTE);
            validator.subgroup_operations(naga::valid::SubgroupOperationSet::all());
        }
        if let Err(e) = validator.validate(&module) {
            failures.push(format!(
                "{}: {}",
                shader.file_name(),
                e.emit_to_string(shader.source())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "invalid shaders:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_shader_opens_with_an_explaining_comment() {
    for shader in Shader::ALL {
        // A module that needs an extension opens with its `enable`, which
        // WGSL wants before everything else; the file's comment comes next.
        let first = shader
            .source()
            .lines()
            .find(|line| !line.starts_with("enable "))
            .unwrap_or("");
        assert!(
            first.starts_with(&format!("// {}", shader.file_name())),
            "{} must start with `// {} — what it computes`",
            shader.file_name(),
            shader.file_name()
        );
    }
}
