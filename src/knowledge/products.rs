//! The KB's product list: the products its articles name with a model number, written the way
//! knowledge bases write them ("the Aurora 2 space heater (model AH-200)"). What the key-detail
//! extractor recognises when a customer names a product without its model number.

use super::Kb;
use regex::Regex;
use std::sync::OnceLock;

/// A product the KB names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// As the KB writes it, e.g. `Aurora 2 space heater`.
    pub name: String,
    pub model: String,
}

impl Product {
    /// The names a customer may use: the whole name, its brand part (the capitalised words and
    /// numbers it starts with, e.g. `Aurora 2`) when that is shorter, and the model number, also
    /// typed without its dash (`AH200`, `AH 200`); matched in any case.
    pub fn names(&self) -> Vec<String> {
        let brand: Vec<&str> = self
            .name
            .split_whitespace()
            .take_while(|w| w.chars().next().is_some_and(|c| c.is_uppercase() || c.is_ascii_digit()))
            .collect();
        let mut out = vec![self.name.clone()];
        let short = brand.join(" ");
        if !short.is_empty() && short != self.name && short.chars().count() >= 4 {
            out.push(short);
        }
        out.push(self.model.clone());
        if self.model.contains('-') {
            out.push(self.model.replace('-', ""));
            out.push(self.model.replace('-', " "));
        }
        out
    }
}

fn pattern() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    P.get_or_init(|| {
        #[allow(clippy::unwrap_used)] // a constant pattern, checked by the tests
        Regex::new(r"\b([A-Z][\w-]*(?: [\w-]+){0,3}) \((?:model|型号) ([A-Z]{1,3}-\d{2,3}[A-Z]?)\)").unwrap()
    })
}

/// Every product the KB's articles name with a model number, once each (by model).
pub fn products(kb: &Kb) -> Vec<Product> {
    let mut out: Vec<Product> = Vec::new();
    for a in &kb.articles {
        for c in pattern().captures_iter(&a.body) {
            let model = c[2].to_owned();
            // The name starts at its first capitalised word ("If your product is the Aurora 2
            // space heater" -> "Aurora 2 space heater").
            let words: Vec<&str> = c[1].split_whitespace().collect();
            let start = words.iter().rposition(|w| w.chars().next().is_some_and(char::is_uppercase)).unwrap_or(0);
            let name = words[start..].join(" ");
            if !out.iter().any(|p| p.model == model) && name.split_whitespace().count() >= 2 {
                out.push(Product { name, model });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_read_from_the_bundled_kb() {
        let kb = crate::knowledge::load_kb(&crate::config::bundled_kb_dir());
        let p = products(&kb);
        let heater = p.iter().find(|p| p.model == "AH-200").expect("the recalled heater");
        assert_eq!(heater.name, "Aurora 2 space heater");
        assert_eq!(heater.names(), ["Aurora 2 space heater", "Aurora 2", "AH-200", "AH200", "AH 200"]);
    }
}
