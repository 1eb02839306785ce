//! The layer chapters in docs/layers/: README.md links every chapter, in
//! reading order, and the attention heatmap picture is drawn by the real
//! attention layer (`cargo test -p seq2seq --test docs -- --ignored` redraws
//! it). The chapters' quoted code is checked against the source, with the
//! rest of the book, by `tests/book.rs` at the repository root.

use seq2seq::nn::{Attention, Score};
use std::path::{Path, PathBuf};
use tensor::{Device, Rng, Tensor};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chapters() -> Vec<PathBuf> {
    let dir = repo().join("docs/layers");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files
}

#[test]
fn readme_links_every_chapter_in_reading_order() {
    let readme = std::fs::read_to_string(repo().join("docs/layers/README.md")).unwrap();
    for chapter in chapters() {
        let name = chapter.file_name().unwrap().to_string_lossy().to_string();
        if name != "README.md" {
            assert!(
                readme.contains(&format!("]({name})")),
                "README.md does not link {name}"
            );
        }
    }
    let order = [
        "rnn.md",
        "gru.md",
        "lstm.md",
        "encoder-decoder.md",
        "bahdanau.md",
        "luong.md",
        "multihead-attention.md",
        "transformer.md",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|c| {
            readme
                .find(&format!("]({c})"))
                .unwrap_or_else(|| panic!("README.md does not link {c}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "reading order must be {order:?}"
    );
    let image = "img/luong-dot-attention.svg";
    assert!(
        repo().join("docs/layers").join(image).exists(),
        "{image} is missing"
    );
}

/// The tiny example of the heatmap: target words attend over source words
/// with Luong's dot score. Queries are built near the aligned source word,
/// so the picture shows the crossing "black cat" → "chat noir".
fn heatmap_example() -> (Vec<&'static str>, Vec<&'static str>, Vec<f32>) {
    let d = Device::Cpu;
    let src = ["the", "black", "cat", "sleeps"];
    let tgt = ["le", "chat", "noir", "dort"];
    let mut rng = Rng::new(3);
    let noise = Tensor::rand([1, 4, 4], -0.4, 0.4, &mut rng, &d)
        .unwrap()
        .to_vec();
    let eye: Vec<f32> = (0..16)
        .map(|i| if i % 5 == 0 { 2.0 } else { 0.0 })
        .collect();
    let keys = Tensor::from_vec(
        eye.iter().zip(&noise).map(|(a, b)| a + b).collect(),
        [1, 4, 4],
        &d,
    )
    .unwrap();
    let aligned = [0usize, 2, 1, 3]; // le→the, chat→cat, noir→black, dort→sleeps
    let q: Vec<f32> = aligned
        .iter()
        .flat_map(|&s| (0..4).map(move |j| if j == s { 1.5 } else { 0.2 }))
        .collect();
    let queries = Tensor::from_vec(q, [1, 4, 4], &d).unwrap();
    let attention = Attention::new(Score::Dot, 4, 4, 0, &mut rng, &d).unwrap();
    let out = attention.forward(&queries, &keys, None).unwrap();
    (src.to_vec(), tgt.to_vec(), out.weights.to_vec())
}

fn heatmap_svg(src: &[&str], tgt: &[&str], w: &[f32]) -> String {
    let (cell, left, top) = (56, 64, 56);
    let (width, height) = (left + cell * src.len() + 8, top + cell * tgt.len() + 8);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n"
    );
    for (j, s) in src.iter().enumerate() {
        let x = left + cell * j + cell / 2;
        svg += &format!(
            "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{s}</text>\n",
            top - 10
        );
    }
    for (i, t) in tgt.iter().enumerate() {
        let y = top + cell * i + cell / 2 + 4;
        svg += &format!(
            "<text x=\"{}\" y=\"{y}\" text-anchor=\"end\">{t}</text>\n",
            left - 8
        );
        for j in 0..src.len() {
            let a = w[i * src.len() + j];
            let shade = (255.0 * (1.0 - a)).round() as u8;
            let (x, y0) = (left + cell * j, top + cell * i);
            svg += &format!(
                "<rect x=\"{x}\" y=\"{y0}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({shade},{shade},255)\" stroke=\"#ccc\"/>\n"
            );
            let ink = if a > 0.5 { "white" } else { "black" };
            svg += &format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{ink}\">{a:.2}</text>\n",
                x + cell / 2,
                y0 + cell / 2 + 4
            );
        }
    }
    svg + "</svg>\n"
}

#[test]
fn heatmap_example_shows_the_alignment() {
    let (src, tgt, w) = heatmap_example();
    for (i, &s) in [0usize, 2, 1, 3].iter().enumerate() {
        let row = &w[i * src.len()..(i + 1) * src.len()];
        let best = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(best, s, "{} should attend to {}: {row:?}", tgt[i], src[s]);
    }
    let svg =
        std::fs::read_to_string(repo().join("docs/layers/img/luong-dot-attention.svg")).unwrap();
    for word in src.iter().chain(&tgt) {
        assert!(
            svg.contains(&format!(">{word}</text>")),
            "the picture lacks {word}"
        );
    }
}

#[test]
#[ignore = "redraws docs/layers/img/luong-dot-attention.svg"]
fn draw_heatmap() {
    let (src, tgt, w) = heatmap_example();
    let path = repo().join("docs/layers/img/luong-dot-attention.svg");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, heatmap_svg(&src, &tgt, &w)).unwrap();
}
