use super::*;

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Deterministic pseudo-random text: `n` paragraphs of sentences of varied length.
fn random_blocks(seed: u64, n: usize, cjk: bool) -> (Vec<Block>, Vec<String>) {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let words = ["refund", "order", "AH-200", "ships", "within", "days", "the", "card", "$4.99", "label"];
    let hanzi = ["退款", "订单", "配送", "工作日", "账户", "保修", "商品", "快递"];
    let mut blocks = Vec::new();
    let mut all = Vec::new();
    let mut offset = 0;
    for _ in 0..n {
        let mut text = String::new();
        for _ in 0..(1 + next(6)) {
            let len = 3 + next(22) as usize; // at most 50 tokens: under every max below
            let mut s = String::new();
            for w in 0..len {
                if cjk {
                    s.push_str(hanzi[next(hanzi.len() as u64) as usize]);
                } else {
                    if w > 0 {
                        s.push(' ');
                    }
                    let word = words[next(words.len() as u64) as usize];
                    if w == 0 {
                        // Sentences start with a capital, as UAX #29 expects of a new sentence.
                        s.push_str(&word[..1].to_uppercase());
                        s.push_str(&word[1..]);
                    } else {
                        s.push_str(word);
                    }
                }
            }
            s.push_str(if cjk { "。" } else { ". " });
            all.push(norm(&s));
            text.push_str(&s);
        }
        let len = text.len();
        blocks.push(Block {
            section: vec![format!("S{}", next(3))],
            text: text.trim().to_owned(),
            range: offset..offset + len,
        });
        offset += len + 2;
    }
    (blocks, all)
}

fn check_properties(blocks: &[Block], sentences: &[String], opts: &ChunkOptions, cjk: bool) {
    let pieces = chunk_blocks(blocks, opts);
    assert!(!pieces.is_empty());
    for p in &pieces {
        assert!(!p.text.trim().is_empty(), "empty passage");
        assert!(approx_tokens(&p.text) <= opts.max, "passage over the limit: {} tokens", approx_tokens(&p.text));
        // Sentence boundaries: a passage starts and ends on a whole sentence.
        let t = norm(&p.text);
        let t_cmp = if cjk { t.replace(' ', "") } else { t.clone() };
        let starts = sentences.iter().any(|s| t_cmp.starts_with(&if cjk { s.replace(' ', "") } else { s.clone() }));
        let ends = sentences.iter().any(|s| t_cmp.ends_with(&if cjk { s.replace(' ', "") } else { s.clone() }));
        assert!(starts && ends, "passage does not start/end on a sentence: {t:?}");
    }
    // Coverage: every sentence is in some passage.
    for s in sentences {
        let s_cmp = if cjk { s.replace(' ', "") } else { s.clone() };
        assert!(
            pieces.iter().any(|p| {
                let t = norm(&p.text);
                if cjk { t.replace(' ', "").contains(&s_cmp) } else { t.contains(&s_cmp) }
            }),
            "sentence lost: {s:?}"
        );
    }
}

#[test]
fn properties_hold_on_random_english() {
    for seed in 0..40 {
        let (blocks, sentences) = random_blocks(seed, 12, false);
        check_properties(&blocks, &sentences, &ChunkOptions::default(), false);
        check_properties(&blocks, &sentences, &ChunkOptions { target: 50, max: 60, overlap: 10 }, false);
    }
}

#[test]
fn properties_hold_on_random_chinese() {
    for seed in 0..40 {
        let (blocks, sentences) = random_blocks(seed, 8, true);
        check_properties(&blocks, &sentences, &ChunkOptions { target: 80, max: 100, overlap: 20 }, true);
    }
}

#[test]
fn passages_never_cross_headings() {
    let (blocks, _) = random_blocks(7, 30, false);
    for p in chunk_blocks(&blocks, &ChunkOptions::default()) {
        let covered: Vec<_> =
            blocks.iter().filter(|b| b.range.start >= p.range.start && b.range.end <= p.range.end).collect();
        assert!(covered.iter().all(|b| b.section == p.section));
    }
}

#[test]
fn an_overlong_sentence_is_cut_to_the_limit() {
    let long = vec!["word"; 500].join(" ") + ".";
    let blocks = vec![Block { section: vec![], text: long, range: 0..2500 }];
    let pieces = chunk_blocks(&blocks, &ChunkOptions::default());
    assert!(pieces.len() >= 3);
    assert!(pieces.iter().all(|p| approx_tokens(&p.text) <= 200));
    let words: usize = pieces.iter().map(|p| p.text.split_whitespace().count()).sum();
    assert!(words >= 500, "text lost: {words}");
}

#[test]
fn cjk_without_punctuation_is_cut_too() {
    let text: String = std::iter::repeat_n("退款到账时间", 100).collect();
    let blocks = vec![Block { section: vec![], text, range: 0..1800 }];
    let pieces = chunk_blocks(&blocks, &ChunkOptions::default());
    assert!(pieces.len() >= 3, "{}", pieces.len());
    assert!(pieces.iter().all(|p| approx_tokens(&p.text) <= 200));
}

#[test]
fn token_estimate() {
    assert_eq!(approx_tokens("Standard shipping takes 3-5 business days."), 7);
    assert_eq!(approx_tokens("标准配送需要"), 6);
    assert_eq!(approx_tokens(""), 0);
}

#[test]
fn chinese_sentences_are_joined_without_a_space() {
    let text = "提交后，您会收到一封确认邮件。取消订单后，付款将退回原支付方式。".to_owned();
    let blocks = vec![Block { section: vec![], text: text.clone(), range: 0..text.len() }];
    let pieces = chunk_blocks(&blocks, &ChunkOptions::default());
    assert_eq!(pieces.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(), [text.as_str()]);
}
