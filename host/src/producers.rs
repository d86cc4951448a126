//! What built a module, read from its `producers` custom sections (the WebAssembly tool
//! conventions: fields `language`, `processed-by` and `sdk`), for `weft check`.
//!
//! A component nests many core modules, and the small ones are glue whose producers mislead (a
//! Python or JavaScript component carries the WASI adapter, written in Rust). So the language is,
//! in order: one a component declares for itself (the Python and JavaScript SDK builds write
//! theirs), the language of the largest core module (the program: Go's, or a wasm32-wasip1 core
//! module's), or the language a known tool implies (wit-bindgen-rust is Rust's). Tools are listed
//! from the components and the largest core module, in the order first seen.

use std::fmt;

use wasmparser::{Encoding, KnownCustom, Parser, Payload};

/// A tool or language with its version, as a producers section records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub name: String,
    pub version: String,
}

/// The language, SDK and tools recorded in a module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Toolchain {
    pub language: Option<Versioned>,
    pub sdk: Vec<Versioned>,
    pub processed_by: Vec<Versioned>,
}

/// Tools that only one language's builds use.
const TOOL_LANGUAGES: &[(&str, &str)] = &[
    ("wit-bindgen-rust", "Rust"),
    ("rustc", "Rust"),
    ("wit-bindgen-go", "Go"),
    ("TinyGo", "Go"),
    ("componentize-py", "Python"),
    ("componentize-js", "JavaScript"),
    ("componentize-qjs", "JavaScript"),
    ("jco", "JavaScript"),
];

/// The producers of one module or component, as parsed.
#[derive(Debug, Default)]
struct Section {
    core: bool,
    size: usize,
    language: Vec<Versioned>,
    sdk: Vec<Versioned>,
    processed_by: Vec<Versioned>,
}

/// The toolchain recorded in `bytes` (a component or a core module); empty when nothing is
/// recorded or the bytes do not parse.
pub fn toolchain(bytes: &[u8]) -> Toolchain {
    let sections = sections(bytes);
    let program = sections.iter().filter(|s| s.core).max_by_key(|s| s.size);
    let relevant = || sections.iter().filter(|s| !s.core || program.is_some_and(|p| std::ptr::eq(*s, p)));
    let declared = sections.iter().filter(|s| !s.core).find_map(|s| s.language.first());
    let implied = || {
        relevant().flat_map(|s| &s.processed_by).find_map(|tool| {
            let (_, language) = TOOL_LANGUAGES.iter().find(|(name, _)| *name == tool.name)?;
            Some(Versioned { name: (*language).to_owned(), version: String::new() })
        })
    };
    let language = declared.or_else(|| program.and_then(|p| p.language.first())).cloned().or_else(implied);
    let mut toolchain = Toolchain { language, ..Toolchain::default() };
    for section in relevant() {
        add_new(&mut toolchain.sdk, &section.sdk);
        add_new(&mut toolchain.processed_by, &section.processed_by);
    }
    toolchain
}

fn add_new(into: &mut Vec<Versioned>, from: &[Versioned]) {
    for item in from {
        if !into.iter().any(|known| known.name == item.name) {
            into.push(item.clone());
        }
    }
}

/// Every module and component in `bytes`, outermost first, with its producers.
fn sections(bytes: &[u8]) -> Vec<Section> {
    let mut done = Vec::new();
    // Open modules and components: their index in `done`, and where they started.
    let mut open: Vec<(usize, usize)> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else { break };
        match payload {
            Payload::Version { encoding, range, .. } => {
                open.push((done.len(), range.start));
                done.push(Section { core: encoding == Encoding::Module, ..Section::default() });
            }
            Payload::CustomSection(custom) => {
                let (Some(&(index, _)), KnownCustom::Producers(fields)) = (open.last(), custom.as_known()) else {
                    continue;
                };
                let section = &mut done[index];
                for field in fields.into_iter().flatten() {
                    let into = match field.name {
                        "language" => &mut section.language,
                        "sdk" => &mut section.sdk,
                        "processed-by" => &mut section.processed_by,
                        _ => continue,
                    };
                    let values = field.values.into_iter().flatten();
                    into.extend(values.map(|v| Versioned { name: v.name.to_owned(), version: v.version.to_owned() }));
                }
            }
            Payload::End(end) => {
                if let Some((index, start)) = open.pop() {
                    done[index].size = end.saturating_sub(start);
                }
            }
            _ => {}
        }
    }
    done
}

impl fmt::Display for Versioned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        // Go writes its language version as `go1.27.3`.
        let version = self.version.strip_prefix(&self.name.to_lowercase()).unwrap_or(&self.version);
        if !version.is_empty() {
            write!(f, " {version}")?;
        }
        Ok(())
    }
}

fn join(items: &[Versioned]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// `Python 3.14, SDK weft-plugin 0.1.0 (componentize-py 0.25.1, wit-component 0.245.1)`.
impl fmt::Display for Toolchain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.language {
            Some(language) => write!(f, "{language}")?,
            None => f.write_str("language not recorded")?,
        }
        if !self.sdk.is_empty() {
            write!(f, ", SDK {}", join(&self.sdk))?;
        }
        if !self.processed_by.is_empty() {
            write!(f, " (built with {})", join(&self.processed_by))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{program}` becomes a core module bigger than the glue around it, as real programs are.
    fn toolchain_of(wat: &str) -> String {
        let program = format!(r#"(memory 1) (data (i32.const 0) "{}")"#, "x".repeat(1000));
        toolchain(&wat::parse_str(wat.replace("{program}", &program)).expect("wat")).to_string()
    }

    #[test]
    fn a_go_core_module_names_its_language_and_compiler() {
        let go = r#"(module (@producers (language "Go" "go1.27.3") (processed-by "Go cmd/compile" "go1.27.3")))"#;
        assert_eq!(toolchain_of(go), "Go 1.27.3 (built with Go cmd/compile go1.27.3)");
    }

    #[test]
    fn a_language_the_component_declares_wins_over_its_glue_modules() {
        let python = r#"(component
            (@producers (language "Python" "3.14") (processed-by "componentize-py" "0.25.1") (sdk "weft-plugin" "0.1.0"))
            (core module (@producers (processed-by "wit-component" "0.245.1")) {program})
            (core module (@producers (language "Rust" "") (processed-by "rustc" "1.75.0"))))"#;
        assert_eq!(
            toolchain_of(python),
            "Python 3.14, SDK weft-plugin 0.1.0 (built with componentize-py 0.25.1, wit-component 0.245.1)"
        );
    }

    #[test]
    fn without_a_declared_language_the_largest_module_or_a_known_tool_decides() {
        let rust = r#"(component
            (core module (@producers (processed-by "wit-bindgen-rust" "0.57.1")) {program})
            (core module (@producers (processed-by "wit-component" "0.245.1"))))"#;
        assert_eq!(toolchain_of(rust), "Rust (built with wit-bindgen-rust 0.57.1)");
        let adapter_only = r#"(component
            (core module {program})
            (core module (@producers (language "Rust" "") (processed-by "rustc" "1.75.0"))))"#;
        assert_eq!(toolchain_of(adapter_only), "language not recorded");
    }

    #[test]
    fn a_module_without_producers_records_nothing() {
        assert_eq!(toolchain(&wat::parse_str("(module)").expect("wat")), Toolchain::default());
        assert_eq!(toolchain(b"not wasm"), Toolchain::default());
    }
}
