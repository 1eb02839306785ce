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
        let capabilities = if shader.needs_subgroups() {
            naga::valid::Capabilities::SUBGROUP
        } else {
            naga::valid::Capabilities::empty()
        };
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
        let first = shader.source().lines().next().unwrap_or("");
        assert!(
            first.starts_with(&format!("// {}", shader.file_name())),
            "{} must start with `// {} — what it computes`",
            shader.file_name(),
            shader.file_name()
        );
    }
}
