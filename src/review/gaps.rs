//! Knowledge gaps into article drafts (`deskpilot kb gaps`): resolved conversations whose
//! question no passage answered confidently are clustered by meaning (the sentence encoder;
//! shared content words when it is missing), ranked by how many conversations asked, and each
//! cluster becomes a draft KB article built from what agents actually answered, with personal
//! data and the customers' names masked, citing the conversations in `sources`.
//!
//! Drafts go to a review folder; nothing is added to the KB until a person moves a file there.

use crate::desk::{Author, ConversationId, Message, Millis, Status};
use crate::knowledge::Article;
use crate::privacy::erase::anonymise_text;
use crate::store::SqliteStore;
use crate::text::{has_cjk, sentences};
use crate::understand::summarize;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One asked question with the agent's answer to it.
#[derive(Debug, Clone)]
pub struct Asked {
    pub conversation: ConversationId,
    pub question: String,
    pub answer: String,
    pub summary: String,
    pub at: Millis,
}

/// Similar questions from several conversations.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    pub title: String,
    pub slug: String,
    pub lang: String,
    pub category: String,
    pub conversations: Vec<String>,
    pub questions: Vec<String>,
    pub answer: String,
    /// Where its draft was written (empty with --dry-run).
    pub file: String,
    #[serde(skip)]
    pub summaries: Vec<(String, String)>,
}

/// Text to vectors for clustering: the sentence encoder, or `None` for content words.
pub type Embed<'a> = &'a dyn Fn(&[&str]) -> Option<Vec<Vec<f32>>>;

/// The gap questions of resolved conversations, each with the first reply an agent sent after
/// it (questions nobody answered are left out: there is nothing to draft from).
pub fn collect(store: &SqliteStore, since: Option<Millis>) -> crate::store::Result<Vec<Asked>> {
    let policy = crate::privacy::policy::current().with_all_kinds();
    let mut out: Vec<Asked> = Vec::new();
    for (conversation, question, at) in store.resolved_gaps(since)? {
        if out.iter().any(|a| a.conversation == conversation && a.question.eq_ignore_ascii_case(&question)) {
            continue;
        }
        let messages = store.messages(&conversation)?;
        let Some(reply) = first_reply_after(&messages, &question, at) else { continue };
        let customer = store.customer_of(&conversation)?.unwrap_or_default();
        let scrub = |t: &str| anonymise_text(&policy, t, &customer);
        out.push(Asked {
            conversation,
            question: scrub(&question),
            answer: scrub(&answer_body(&reply.text)),
            summary: scrub(&summarize(&messages, Status::Resolved).one_line()),
            at,
        });
    }
    Ok(out)
}

/// The first agent reply after the customer asked `question` (by text, else by time).
fn first_reply_after<'a>(messages: &'a [Message], question: &str, at: Millis) -> Option<&'a Message> {
    let asked = messages
        .iter()
        .position(|m| m.author == Author::Customer && m.text.trim().eq_ignore_ascii_case(question.trim()))
        .or_else(|| messages.iter().rposition(|m| m.author == Author::Customer && m.at <= at))?;
    messages[asked..].iter().find(|m| m.author == Author::Agent && !m.internal && !m.text.trim().is_empty())
}

/// A reply's substance: greeting, closing pleasantries and questions back dropped.
fn answer_body(reply: &str) -> String {
    let pleasantry = |s: &str| {
        let l = s.to_lowercase();
        ["anything else", "have a great", "have a nice", "happy to help", "let me know", "thanks for", "thank you for"]
            .iter()
            .any(|p| l.contains(p))
            || s.contains("还有其他") && s.contains('？')
    };
    let body = crate::understand::summary::without_greeting(reply);
    let kept: Vec<&str> = sentences(body).into_iter().filter(|s| !pleasantry(s) && !s.ends_with('?')).collect();
    let sep = if has_cjk(body) { "" } else { " " };
    let text = if kept.is_empty() { body.trim().to_owned() } else { kept.join(sep) };
    capitalised(&text)
}

fn capitalised(t: &str) -> String {
    match t.chars().next() {
        Some(first) => first.to_uppercase().collect::<String>() + &t[first.len_utf8()..],
        None => String::new(),
    }
}

fn words(text: &str) -> HashSet<String> {
    const STOP: [&str; 24] = [
        "the", "a", "an", "i", "my", "you", "your", "do", "does", "can", "is", "it", "to", "of", "for", "and", "or",
        "in", "on", "me", "we", "be", "with", "what",
    ];
    let lower = text.to_lowercase();
    let mut w: HashSet<String> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1 && !STOP.contains(w) && !has_cjk(w))
        .map(|w| w.trim_end_matches('s').to_owned())
        .collect();
    let cjk: Vec<char> = lower.chars().filter(|c| has_cjk(c.encode_utf8(&mut [0; 4]))).collect();
    w.extend(cjk.windows(2).map(|p| p.iter().collect::<String>()));
    w
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f32 {
    let inter = a.intersection(b).count() as f32;
    let union = a.union(b).count() as f32;
    if union == 0.0 { 0.0 } else { inter / union }
}

/// How alike two questions must be to share a cluster: cosine of the encoder's vectors, or the
/// share of content words when there is no encoder.
pub const COSINE_MIN: f32 = 0.62;
pub const JACCARD_MIN: f32 = 0.4;

/// Groups the questions: each joins the most similar cluster whose first question is similar
/// enough, else starts one. Returns index lists, largest (by conversations) first.
pub fn cluster(asked: &[Asked], embed: Embed<'_>) -> Vec<Vec<usize>> {
    let texts: Vec<&str> = asked.iter().map(|a| a.question.as_str()).collect();
    let vectors = embed(&texts);
    let bags: Vec<HashSet<String>> = texts.iter().map(|t| words(t)).collect();
    let sim = |i: usize, j: usize| match &vectors {
        Some(v) => crate::semantic::dot(&v[i], &v[j]),
        None => jaccard(&bags[i], &bags[j]),
    };
    let min = if vectors.is_some() { COSINE_MIN } else { JACCARD_MIN };
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    for i in 0..asked.len() {
        let best = clusters
            .iter()
            .enumerate()
            .map(|(c, members)| (c, members.iter().map(|&j| sim(i, j)).sum::<f32>() / members.len() as f32))
            .filter(|(_, s)| *s >= min)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((c, _)) => clusters[c].push(i),
            None => clusters.push(vec![i]),
        }
    }
    let distinct = |c: &Vec<usize>| c.iter().map(|&i| &asked[i].conversation).collect::<HashSet<_>>().len();
    clusters.sort_by_key(|c| (std::cmp::Reverse(distinct(c)), c.first().copied()));
    clusters
}

/// The member most like the others (its question titles the draft, its answer leads it).
fn medoid(members: &[usize], texts: &[&str]) -> usize {
    let bags: Vec<HashSet<String>> = members.iter().map(|&i| words(texts[i])).collect();
    let score = |a: usize| bags.iter().map(|b| jaccard(&bags[a], b)).sum::<f32>();
    let best = (0..members.len()).max_by(|&a, &b| score(a).total_cmp(&score(b)).then(b.cmp(&a))).unwrap_or(0);
    members[best]
}

fn slug_of(title: &str, taken: &dyn Fn(&str) -> bool) -> String {
    let ascii: Vec<String> = title
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(7)
        .map(str::to_owned)
        .collect();
    let base = if ascii.len() >= 2 && !has_cjk(title) {
        format!("gap-{}", ascii.join("-"))
    } else {
        let h = crate::semantic::vectors::key_of(title);
        format!("gap-{}", h.iter().take(4).map(|b| format!("{b:02x}")).collect::<String>())
    };
    let mut slug = base.clone();
    let mut n = 2;
    while taken(&slug) {
        slug = format!("{base}-{n}");
        n += 1;
    }
    slug
}

/// The clusters asked by at least `min_conversations` conversations, as article drafts.
pub fn drafts(asked: &[Asked], embed: Embed<'_>, kb: &[Article], min_conversations: usize) -> Vec<Cluster> {
    let mut out: Vec<Cluster> = Vec::new();
    let questions: Vec<&str> = asked.iter().map(|a| a.question.as_str()).collect();
    let answers: Vec<&str> = asked.iter().map(|a| a.answer.as_str()).collect();
    for members in cluster(asked, embed) {
        let mut conversations: Vec<String> = Vec::new();
        for &i in &members {
            if !conversations.contains(&asked[i].conversation.0) {
                conversations.push(asked[i].conversation.0.clone());
            }
        }
        if conversations.len() < min_conversations.max(1) {
            continue;
        }
        let q = medoid(&members, &questions);
        let a = medoid(&members, &answers);
        let title = title_of(&asked[q].question);
        let lang = if has_cjk(&asked[q].question) { "zh" } else { "en" }.to_owned();
        let taken = |s: &str| kb.iter().any(|a| a.slug == s) || out.iter().any(|c| c.slug == s);
        let slug = slug_of(&title, &taken);
        let mut qs: Vec<String> = Vec::new();
        for &i in &members {
            if !qs.iter().any(|x| x.eq_ignore_ascii_case(&asked[i].question)) {
                qs.push(asked[i].question.clone());
            }
        }
        let mut summaries: Vec<(String, String)> = Vec::new();
        for &i in &members {
            if !summaries.iter().any(|(c, _)| *c == asked[i].conversation.0) {
                summaries.push((asked[i].conversation.0.clone(), asked[i].summary.clone()));
            }
        }
        out.push(Cluster {
            category: nearest_category(&title, kb),
            title,
            slug,
            lang,
            conversations,
            questions: qs,
            answer: asked[a].answer.clone(),
            file: String::new(),
            summaries,
        });
    }
    out
}

/// The customer's question as a title: greeting dropped, first question sentence, capitalised.
fn title_of(question: &str) -> String {
    let body = crate::understand::summary::without_greeting(question);
    let ss = sentences(body);
    let s = ss.iter().find(|s| s.ends_with('?') || s.ends_with('？')).or(ss.first()).copied().unwrap_or(body);
    capitalised(&s.trim().chars().take(90).collect::<String>())
}

/// The category of the KB article whose title and tags share most words with `title`.
fn nearest_category(title: &str, kb: &[Article]) -> String {
    let w = words(title);
    kb.iter()
        .filter(|a| !a.meta.category.is_empty())
        .map(|a| (jaccard(&w, &words(&format!("{} {}", a.meta.title, a.meta.tags.join(" ")))), &a.meta.category))
        .filter(|(s, _)| *s > 0.0)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(|| "general".to_owned(), |(_, c)| c.clone())
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A draft's Markdown: front matter (title, category, lang, tags, updated, sources) and
/// sections (the answer, the questions as customers asked them, the conversations it came from).
pub fn render(c: &Cluster, today: &str) -> String {
    let zh = c.lang == "zh";
    let mut out = String::from("---\n");
    out += &format!("title: {}\n", yaml_str(&c.title));
    out += &format!("category: {}\n", yaml_str(&c.category));
    out += &format!("lang: {}\n", c.lang);
    out += "tags: [draft, kb-gap]\n";
    out += &format!("updated: {today}\n");
    out += "audience: public\n";
    out += &format!("sources: [{}]\n", c.conversations.iter().map(|s| yaml_str(s)).collect::<Vec<_>>().join(", "));
    out += "---\n\n";
    out += &c.answer;
    out += "\n\n";
    out += if zh { "## 客户的问法\n\n" } else { "## How customers ask\n\n" };
    for q in &c.questions {
        out += &format!("- {}\n", q.replace('\n', " "));
    }
    out += if zh { "\n## 来源对话\n\n" } else { "\n## Drafted from\n\n" };
    out += "Check every fact against current policy, then remove this section and move the file into the KB.\n\n";
    for (id, summary) in &c.summaries {
        out += &format!("- {id}: {}\n", summary.replace('\n', " "));
    }
    out
}

/// Writes each draft into `dir` (created), one `<slug>.md` per cluster; returns the paths.
pub fn write(dir: &Path, clusters: &mut [Cluster], today: &str) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut paths = Vec::new();
    for c in clusters.iter_mut() {
        let path = dir.join(format!("{}.md", c.slug));
        std::fs::write(&path, render(c, today))?;
        c.file = path.display().to_string();
        paths.push(path);
    }
    Ok(paths)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn asked(conv: &str, q: &str, a: &str) -> Asked {
        Asked {
            conversation: ConversationId(conv.into()),
            question: q.into(),
            answer: a.into(),
            summary: String::new(),
            at: 0,
        }
    }

    #[test]
    fn similar_questions_cluster_without_an_encoder() {
        let a = [
            asked("C-1", "Do you ship to Iceland?", "Yes, DHL in 7-10 days."),
            asked("C-2", "Is the sofa fabric vegan?", "Yes, it is polyester."),
            asked("C-3", "do you ship to iceland", "Yes, DHL in 7-10 days, $29."),
            asked("C-4", "Can you ship my order to Iceland?", "We do, by DHL."),
        ];
        let none = |_: &[&str]| None;
        let c = cluster(&a, &none);
        assert_eq!(c[0], vec![0, 2, 3]);
        assert_eq!(c[1], vec![1]);
        let d = drafts(&a, &none, &[], 2);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].title, "Do you ship to Iceland?");
        assert_eq!(d[0].slug, "gap-do-you-ship-to-iceland");
        assert_eq!(d[0].conversations, ["C-1", "C-3", "C-4"]);
    }

    #[test]
    fn answers_lose_greetings_and_pleasantries() {
        assert_eq!(
            answer_body("Hi Ana, yes we ship to Iceland by DHL in 7-10 days. Anything else I can help with?"),
            "Yes we ship to Iceland by DHL in 7-10 days."
        );
    }
}
