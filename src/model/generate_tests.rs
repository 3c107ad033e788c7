//! Unit tests of the guided decode loop's steps and of reply layout.

use super::{Plan, inside_word, tidy, tok};
use crate::model::copying::copy_verbatim;
use crate::model::net::StepOutput;
use std::collections::HashSet;

/// Positions 0-1 are sentence 0, 2-3 sentence 1, 4-5 sentence 2; sentences 0 and 2 wanted.
fn plan() -> Plan {
    Plan {
        weight: vec![1.0; 6],
        sentence: vec![0, 0, 1, 1, 2, 2],
        wanted: vec![(0, 0), (2, 4)],
        words: vec![HashSet::new(); 3],
    }
}

#[test]
fn fresh_quotes_go_to_wanted_sentences_not_yet_quoted() {
    let plan = plan();
    let mut copy = vec![1.0; 6];
    plan.restrict_fresh_quotes(&mut copy, &HashSet::new(), false);
    assert_eq!(copy, [1.0, 1.0, 0.1, 0.1, 1.0, 1.0]);
    // Sentence 0 quoted: it is never quoted again.
    let mut copy = vec![1.0; 6];
    plan.restrict_fresh_quotes(&mut copy, &HashSet::from([0]), false);
    assert_eq!(copy, [0.0, 0.0, 0.1, 0.1, 1.0, 1.0]);
    // Everything wanted is in: nothing more is quoted.
    let mut copy = vec![1.0; 6];
    plan.restrict_fresh_quotes(&mut copy, &HashSet::from([0, 2]), false);
    assert_eq!(copy, [0.0; 6]);
    // Right after a comma no wanted sentence starts (a splice), other text stays unlikely.
    let mut copy = vec![1.0; 6];
    plan.restrict_fresh_quotes(&mut copy, &HashSet::new(), true);
    assert_eq!(copy, [0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
}

#[test]
fn a_verbatim_copy_takes_the_next_prompt_token_and_stops_at_a_special_one() {
    let first = tok::SPECIALS.len() as u32;
    let prompt = [tok::KB, first, first + 1, tok::PROFILE];
    let mut step = StepOutput { vocab: vec![0.5; 8], copy: vec![0.25; 4], gate: 0.6 };
    assert_eq!(copy_verbatim(&mut step, &prompt, 1), Some(first + 1));
    assert_eq!((step.gate, step.copy.as_slice()), (0.0, &[0.0, 1.0, 0.0, 0.0][..]));
    assert_eq!(copy_verbatim(&mut step, &prompt, 2), None, "the passage ends");
}

#[test]
fn tidy_spaces_sentences_quoted_back_to_back() {
    assert_eq!(tidy("Then turn on 2FA.An app"), "Then turn on 2FA. An app");
    assert_eq!(tidy("It is placed.Free Express"), "It is placed. Free Express");
    assert_eq!(tidy("并通过电子邮件通知您。 仓库收到"), "并通过电子邮件通知您。仓库收到");
    assert_eq!(tidy("It does not cover:\ndrops, cracked screens"), "It does not cover:\nDrops, cracked screens");
    assert_eq!(
        tidy("It costs $4.99 and U.S. orders; see harborandpine.com"),
        "It costs $4.99 and U.S. orders; see harborandpine.com"
    );
}

#[test]
fn tidy_lays_out_replies_and_is_stable_while_streaming() {
    let raw = "\n Hi there,\n\n\n  Standard shipping takes 3-5 days. \n\n If you need anything else, reply.";
    let want = "Hi there,\n\nStandard shipping takes 3-5 days. \n\nIf you need anything else, reply.";
    assert_eq!(tidy(raw), want);
    // Every prefix's layout is a prefix of the whole reply's: streamed text is never taken back.
    for (i, _) in raw.char_indices() {
        assert!(want.starts_with(&tidy(&raw[..i])), "prefix {i}: {:?}", tidy(&raw[..i]));
    }
}

#[test]
fn a_full_stop_inside_an_address_does_not_end_a_quoted_sentence() {
    assert!(inside_word("@harborandpine.", "example"));
    assert!(inside_word("www.", "example"));
    assert!(!inside_word("address.", " For"));
    assert!(!inside_word("address.", "\n"));
    assert!(!inside_word("address", "example"));
}
