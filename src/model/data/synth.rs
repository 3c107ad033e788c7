//! Synthetic grounded dialogues from a knowledge base's passages.

use super::phrasing::{Idf, en_question, en_voice, finish, has_fact, key_phrase, sentences, zh_question};
use super::transcripts::top_passages;
use super::{Example, Kind};
use crate::desk::{Author, Tier};
use crate::knowledge::Chunk;
use crate::model::prompt::{Profile, PromptInput, PromptPassage};
use crate::model::rng::Rng;
use crate::retrieval::Retriever;

// ---------------------------------------------------------------------------------------------
// Synthesis

const EN_NAMES: [&str; 24] = [
    "Maya Chen",
    "Liam O'Brien",
    "Sofia Rossi",
    "Noah Williams",
    "Aisha Khan",
    "Lucas Martin",
    "Emma Johnson",
    "Mateo Garcia",
    "Olivia Brown",
    "Ethan Nguyen",
    "Zara Ahmed",
    "Jonas Becker",
    "Priya Patel",
    "Daniel Kim",
    "Chloe Dubois",
    "Samuel Okafor",
    "Hannah Schmidt",
    "Diego Fernandez",
    "Grace Lee",
    "Omar Haddad",
    "Ava Wilson",
    "Ivan Petrov",
    "Leila Rahimi",
    "Tom Baker",
];
const ZH_NAMES: [&str; 10] = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄丽", "周杰", "吴婷"];

fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or("")
}

fn greeting(name: &str, zh: bool, follow_up: bool, rng: &mut Rng) -> String {
    if zh {
        return if follow_up { "好的，".into() } else { format!("{name}您好！") };
    }
    let f = first_name(name);
    if follow_up {
        return rng.pick(&["Sure!", "Of course.", "Good question.", "Sure thing,"]).to_string();
    }
    if f.is_empty() {
        return rng.pick(&["Hi there,", "Hello,", "Hi, thanks for reaching out."]).to_string();
    }
    let options = [
        format!("Hi {f},"),
        format!("Hello {f},"),
        format!("Hi {f}, thanks for reaching out."),
        format!("Thanks for getting in touch, {f}."),
    ];
    rng.pick(&options).clone()
}

fn closing(title: &str, zh: bool, rng: &mut Rng) -> String {
    if zh {
        return rng.pick(&["还有什么可以帮您的吗？", "如有其他问题，欢迎随时联系我们。"]).to_string();
    }
    let options = [
        "Is there anything else I can help you with?".to_owned(),
        "Let me know if you have any other questions.".to_owned(),
        "Happy to help with anything else!".to_owned(),
        "If you need anything else, just reply here.".to_owned(),
        format!("You can find more details in our \"{title}\" article."),
    ];
    rng.pick(&options).clone()
}

const EMPATHY_EN: &str = "I'm really sorry about the trouble, and I'll help you sort this out now.";
const EMPATHY_ZH: &str = "非常抱歉给您带来不便，我们来尽快解决。";

/// Abstention replies: what an honest agent says when the knowledge base has no answer.
pub const ABSTAIN_EN: &str = "I want to make sure I give you the right answer, and I don't have that information in front of me. Could you tell me a bit more about what you need? I can also check with the team and get back to you.";
pub const ABSTAIN_ZH: &str =
    "为了给您准确的答复，我需要再确认一下。能否再详细说明一下您的问题？我也可以和团队核实后回复您。";

const OFF_TOPIC: [&str; 28] = [
    "do you sell car tyres?",
    "can I pay with bitcoin?",
    "what's the wifi password in your store?",
    "can you recommend a good restaurant nearby?",
    "do you ship to Antarctica?",
    "who is your CEO?",
    "can I bring my dog to the warehouse?",
    "what is the meaning of life",
    "do you have a job opening for a designer?",
    "can you fix my laptop's screen?",
    "will you sponsor our football club?",
    "is your company on the stock market?",
    "can you translate this letter to French?",
    "what time is the match tonight?",
    "do you price match with other shops on groceries?",
    "can I rent furniture by the hour?",
    "my neighbour's cat keeps coming over, what do I do",
    "do you sell concert tickets?",
    "what's the weather going to be tomorrow?",
    "can you book me a taxi?",
    "do you offer cooking classes?",
    "can I get a mortgage through you?",
    "how do I file my taxes?",
    "is there a discount for astronauts?",
    "can you delete my neighbour's account?",
    "what's your opinion on the election?",
    "can I order a custom-built boat?",
    "do you buy used cars?",
];
const OFF_TOPIC_ZH: [&str; 8] = [
    "你们卖汽车轮胎吗？",
    "可以用比特币付款吗？",
    "附近有什么好吃的餐厅？",
    "你们招聘设计师吗？",
    "明天天气怎么样？",
    "能帮我订一辆出租车吗？",
    "你们提供烹饪课程吗？",
    "可以帮我报税吗？",
];

struct Persona {
    name: String,
    tier: Tier,
    zh: bool,
}

impl Persona {
    fn random(zh: bool, rng: &mut Rng) -> Self {
        // Some conversations come without a known name (web chat, command line).
        let name = if rng.chance(0.15) {
            String::new()
        } else if zh {
            rng.pick(&ZH_NAMES).to_string()
        } else {
            rng.pick(&EN_NAMES).to_string()
        };
        let tier = match rng.below(10) {
            0..=5 => Tier::Standard,
            6..=8 => Tier::Plus,
            _ => Tier::Business,
        };
        Self { name, tier, zh }
    }

    fn profile(&self) -> Profile {
        Profile {
            name: self.name.clone(),
            tier: Some(self.tier),
            language: if self.zh { "zh".into() } else { "en".into() },
        }
    }
}

fn to_prompt(c: &Chunk) -> PromptPassage {
    PromptPassage { slug: c.slug.clone(), title: c.title.clone(), text: c.text.clone() }
}

/// Synthesises dialogues from a knowledge base's passages.
pub struct Synthesizer<'a> {
    chunks: Vec<&'a Chunk>,
    retriever: &'a Retriever,
    idf: Idf,
    /// The members' tier names (`[model] member_terms`): a member hears the sentence naming one.
    member_terms: Vec<String>,
}

/// One answerable question about a passage.
struct Qa {
    question: String,
    answer: Vec<String>,
    chunk: usize,
    upset: bool,
}

impl<'a> Synthesizer<'a> {
    pub fn new(chunks: &'a [Chunk], retriever: &'a Retriever) -> Self {
        let chunks: Vec<&Chunk> = chunks.iter().filter(|c| !sentences(&c.text).is_empty()).collect();
        let all: Vec<Chunk> = chunks.iter().map(|c| (*c).clone()).collect();
        Self { idf: Idf::new(&all), chunks, retriever, member_terms: Vec::new() }
    }

    /// The members' tier names, from the config (none: no members' rules are told apart).
    pub fn with_member_terms(mut self, terms: &[String]) -> Self {
        self.member_terms = terms.iter().filter(|t| !t.is_empty()).cloned().collect();
        self
    }

    pub fn passages(&self) -> usize {
        self.chunks.len()
    }

    fn qa(&self, ci: usize, persona: &Persona, rng: &mut Rng) -> Qa {
        let c = self.chunks[ci];
        let sents = sentences(&c.text);
        let weights: Vec<usize> = sents.iter().map(|s| if has_fact(s) { 3 } else { 1 }).collect();
        let total: usize = weights.iter().sum();
        let mut r = rng.below(total);
        let mut si = 0;
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                si = i;
                break;
            }
            r -= w;
        }
        let target = &sents[si];
        let heading = c.section.last().map(String::as_str);
        let (question, upset) = if persona.zh {
            (zh_question(target, heading, &c.title, rng), false)
        } else {
            let q = en_question(target, heading, &c.title, &self.idf, rng);
            let s = en_voice(&q, persona.tier, self.member_terms.first().map(String::as_str), rng);
            (s.text, s.upset)
        };
        let mut answer = vec![finish(target, persona.zh)];
        if si + 1 < sents.len() && rng.chance(0.35) {
            answer.push(finish(&sents[si + 1], persona.zh));
        }
        // Members hear their own rule.
        if persona.tier == Tier::Plus
            && let Some(plus) = sents.iter().find(|s| {
                self.member_terms.iter().any(|t| s.contains(t.as_str()))
                    && !answer.iter().any(|a| a.starts_with(s.as_str()))
            })
            && rng.chance(0.6)
        {
            answer.push(finish(plus, persona.zh));
        }
        Qa { question, answer, chunk: ci, upset }
    }

    /// The best passage retrieval finds for `question` other than the answering one.
    fn distractor(&self, question: &str, gold: &Chunk) -> Option<PromptPassage> {
        let r = self.retriever.search_text(question, 4).ok()?;
        r.passages.into_iter().find(|h| h.text != gold.text).map(|h| PromptPassage {
            slug: h.slug,
            title: h.title,
            text: h.text,
        })
    }

    fn reply(
        &self,
        persona: &Persona,
        body: &[String],
        title: &str,
        upset: bool,
        follow_up: bool,
        rng: &mut Rng,
    ) -> String {
        let zh = persona.zh;
        let greet = greeting(&persona.name, zh, follow_up, rng);
        let empathy = match (upset, zh) {
            (true, true) => EMPATHY_ZH,
            (true, false) => EMPATHY_EN,
            _ => "",
        };
        let close = closing(title, zh, rng);
        if zh {
            return format!("{greet}{empathy}{}{close}", body.concat());
        }
        let body = body.join(" ");
        let lead = if empathy.is_empty() { body } else { format!("{empathy} {body}") };
        if follow_up { format!("{greet} {lead}\n\n{close}") } else { format!("{greet}\n\n{lead}\n\n{close}") }
    }

    /// `per_passage` examples for every passage, plus multi-question, follow-up and abstention
    /// cases in fixed proportions.
    /// Customer questions only, `per_passage` per English passage, with the article each asks
    /// about (the intent head's training texts).
    pub fn questions(&self, per_passage: usize, rng: &mut Rng) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for ci in (0..self.chunks.len()).filter(|&ci| !self.chunks[ci].lang.starts_with("zh")) {
            for _ in 0..per_passage {
                let persona = Persona::random(false, rng);
                out.push((self.qa(ci, &persona, rng).question, self.chunks[ci].slug.clone()));
            }
        }
        out
    }

    pub fn generate(&self, per_passage: usize, rng: &mut Rng) -> Vec<Example> {
        let mut out = Vec::new();
        if self.chunks.is_empty() {
            return out;
        }
        for ci in 0..self.chunks.len() {
            let zh = self.chunks[ci].lang.starts_with("zh");
            for _ in 0..per_passage {
                let persona = Persona::random(zh, rng);
                let roll = rng.f32();
                if roll < 0.12 {
                    out.push(self.multi(ci, &persona, rng));
                } else if roll < 0.3 {
                    out.push(self.follow_up(ci, &persona, rng));
                } else {
                    out.push(self.single(ci, &persona, rng));
                }
            }
        }
        let abstentions = (out.len() / 14).max(4);
        for _ in 0..abstentions {
            let zh = rng.chance(0.15);
            out.push(self.abstain(&Persona::random(zh, rng), rng));
        }
        out
    }

    fn passages_for(&self, gold: &Chunk, question: &str, rng: &mut Rng) -> Vec<PromptPassage> {
        let mut passages = vec![to_prompt(gold)];
        if let Some(d) = self.distractor(question, gold) {
            passages.push(d);
            if rng.chance(0.2) {
                passages.swap(0, 1);
            }
        }
        passages
    }

    fn single(&self, ci: usize, persona: &Persona, rng: &mut Rng) -> Example {
        let qa = self.qa(ci, persona, rng);
        let gold = self.chunks[ci];
        let passages = self.passages_for(gold, &qa.question, rng);
        let reply = self.reply(persona, &qa.answer, &gold.title, qa.upset, false, rng);
        Example {
            input: PromptInput { passages, profile: persona.profile(), turns: vec![(Author::Customer, qa.question)] },
            reply,
            kind: Kind::Grounded,
        }
    }

    fn multi(&self, ci: usize, persona: &Persona, rng: &mut Rng) -> Example {
        let a = self.qa(ci, persona, rng);
        let same_lang: Vec<usize> =
            (0..self.chunks.len()).filter(|&j| j != ci && self.chunks[j].lang == self.chunks[ci].lang).collect();
        if same_lang.is_empty() {
            return self.single(ci, persona, rng);
        }
        let cj = *rng.pick(&same_lang);
        let mut b = self.qa(cj, persona, rng);
        // The second question is asked plainly (no second greeting).
        if !persona.zh {
            let q = en_question(
                &b.answer[0],
                self.chunks[cj].section.last().map(String::as_str),
                &self.chunks[cj].title,
                &self.idf,
                rng,
            );
            b.question = q;
        }
        let joiner = if persona.zh { "另外，" } else { *rng.pick(&[" Also, ", " And ", " Oh and ", ". Also "]) };
        let question = format!("{}{}{}", a.question.trim_end(), joiner, b.question);
        let passages = vec![to_prompt(self.chunks[a.chunk]), to_prompt(self.chunks[b.chunk])];
        let mut body = a.answer.clone();
        body.truncate(1);
        body.push(b.answer[0].clone());
        let reply = self.reply(persona, &body, &self.chunks[ci].title, a.upset, false, rng);
        Example {
            input: PromptInput { passages, profile: persona.profile(), turns: vec![(Author::Customer, question)] },
            reply,
            kind: Kind::MultiQuestion,
        }
    }

    fn follow_up(&self, ci: usize, persona: &Persona, rng: &mut Rng) -> Example {
        let first = self.qa(ci, persona, rng);
        let gold = self.chunks[ci];
        let first_reply = self.reply(persona, &first.answer, &gold.title, first.upset, false, rng);
        let sents = sentences(&gold.text);
        // A second sentence of the same passage, asked about with a reference back.
        let others: Vec<&String> = sents.iter().filter(|s| !first.answer[0].starts_with(s.as_str())).collect();
        let Some(second) = (if others.is_empty() { None } else { Some(rng.pick(&others).to_string()) }) else {
            return self.single(ci, persona, rng);
        };
        let question = if persona.zh {
            let kp = gold.section.last().map(String::as_str).unwrap_or(&gold.title);
            format!("{}那{kp}呢？", rng.pick(&["", "好的，", "明白了，"]))
        } else {
            let kp = key_phrase(&second, &self.idf).unwrap_or_else(|| "that".into());
            let opts = [
                format!("and what about {kp}?"),
                format!("ok thanks. and {kp}?"),
                format!("got it. what about {kp} then?"),
                format!("Thanks! Does that also cover {kp}?"),
                format!("and how does that work for {kp}?"),
            ];
            rng.pick(&opts).clone()
        };
        let passages = self.passages_for(gold, &format!("{} {question}", first.question), rng);
        let reply = self.reply(persona, &[finish(&second, persona.zh)], &gold.title, false, true, rng);
        Example {
            input: PromptInput {
                passages,
                profile: persona.profile(),
                turns: vec![
                    (Author::Customer, first.question),
                    (Author::Agent, first_reply),
                    (Author::Customer, question),
                ],
            },
            reply,
            kind: Kind::FollowUp,
        }
    }

    fn abstain(&self, persona: &Persona, rng: &mut Rng) -> Example {
        let question = if persona.zh {
            rng.pick(&OFF_TOPIC_ZH).to_string()
        } else {
            {
                let q: &str = OFF_TOPIC[rng.below(OFF_TOPIC.len())];
                en_voice(q, persona.tier, self.member_terms.first().map(String::as_str), rng).text
            }
        };
        let passages = top_passages(self.retriever.search_text(&question, 2), 2);
        let greet = greeting(&persona.name, persona.zh, false, rng);
        let reply = if persona.zh { format!("{greet}{ABSTAIN_ZH}") } else { format!("{greet} {ABSTAIN_EN}") };
        Example {
            input: PromptInput { passages, profile: persona.profile(), turns: vec![(Author::Customer, question)] },
            reply,
            kind: Kind::Abstain,
        }
    }
}
