//! `brief.md`: the insight brief as Markdown that reads well as plain text, on GitHub and in
//! Notion.
//!
//! Structure (the same as `brief.html`): title and a one-line summary, the findings at a
//! glance, the top stories (headline, badge line, observation, 2–3 verbatim quotes with
//! participant id and time, implication, confidence), the priority table, saturation, and an
//! appendix (further stories, other kept themes, dropped themes with the reason, participants,
//! failures, how the brief was made).
//!
//! Everything that comes from data goes through [`inline`], which escapes what Markdown would
//! otherwise interpret (`*`, `_`, `` ` ``, `[`, `<`, `|`, `$`, a leading `#` or `>` …) and folds
//! line breaks, so a transcript can never change the shape of the brief.
//!
//! The helpers marked `pub(crate)` are shared with [`super::html`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::types::{Confidence, Insights, Method, Quote, Story, ThemeKind, ThemeStats, Verdict};

/// What the brief shows and links to.
#[derive(Debug, Clone, PartialEq)]
pub struct BriefOptions {
    /// Stories shown in the body (default 7; the brief shows 3–7, the rest go to the appendix).
    pub top: usize,
    /// Transcript/quote `source` → href of the recording relative to the brief's folder (only
    /// for recordings that exist); absent = no player. Give a plain relative path
    /// (`recordings/P01 call.m4a`): the HTML writer percent-encodes it.
    pub media: BTreeMap<String, String>,
}

impl Default for BriefOptions {
    fn default() -> Self {
        BriefOptions {
            top: 7,
            media: BTreeMap::new(),
        }
    }
}

/// Renders the brief as Markdown.
pub fn render(insights: &Insights, opts: &BriefOptions) -> String {
    let mut md = String::new();
    let n_total = insights.participants.len();
    let (top, rest) = split_stories(insights, opts.top);

    // Title and summary.
    let _ = writeln!(md, "# {}\n", inline(&title(insights)));
    let _ = writeln!(md, "{}\n", inline(&summary_line(insights)));

    // At a glance.
    if !top.is_empty() {
        md.push_str("**At a glance**\n\n");
        for (i, story) in top.iter().enumerate() {
            let theme = theme_of(insights, &story.theme);
            let mut facts = Vec::new();
            if let Some(t) = theme {
                facts.push(t.kind.as_str().to_string());
                // Headlines usually lead with the count already ("…: 6 of 9 participants").
                let people = participants_phrase(t, n_total);
                if !story.headline.contains(&people) {
                    facts.push(people);
                }
                if t.severity > 0 {
                    facts.push(severity_word(t.severity).to_string());
                }
            }
            let facts = if facts.is_empty() {
                String::new()
            } else {
                format!(" — {}", inline(&facts.join(", ")))
            };
            let _ = writeln!(md, "{}. {}{}", i + 1, inline(&story.headline), facts);
        }
        md.push('\n');
    }
    let strengths = strengths_below_top(insights, top);
    if !strengths.is_empty() {
        let list: Vec<String> = strengths
            .iter()
            .map(|(t, _)| format!("{} ({})", t.name, participants_phrase(t, n_total)))
            .collect();
        let _ = writeln!(
            md,
            "**Strengths** (in the appendix): {}.\n",
            inline(&list.join("; "))
        );
    }

    // Top findings.
    md.push_str("## Top findings\n\n");
    if top.is_empty() {
        let _ = writeln!(md, "_{}_\n", inline(&no_story_message(insights)));
    }
    for (i, story) in top.iter().enumerate() {
        story_md(&mut md, insights, story, i + 1, "###");
    }

    // Priority matrix.
    md.push_str("## Priority matrix\n\n");
    let kept: Vec<&ThemeStats> = insights
        .themes
        .iter()
        .filter(|t| t.verdict == Verdict::Keep)
        .collect();
    if kept.is_empty() {
        md.push_str("_No theme was kept, so there is nothing to prioritise._\n\n");
    } else {
        md.push_str(
            "Priority = prevalence × severity (0–4). Kept themes, highest priority first.\n\n",
        );
        md.push_str("| # | Theme | Kind | Participants | Prevalence | Severity | Priority |\n");
        md.push_str("|--:|---|---|--:|--:|---|--:|\n");
        let mut sorted = kept.clone();
        sorted.sort_by(|a, b| b.priority.total_cmp(&a.priority));
        for (i, t) in sorted.iter().enumerate() {
            let mut name = inline(&t.name);
            if t.origin == crate::types::Origin::Discovered {
                name.push_str(" (discovered)");
            }
            if t.single_source {
                name.push_str(" ⚠ single source");
            }
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} · {} | {:.2} |",
                i + 1,
                name,
                t.kind.as_str(),
                participants_fraction(t, n_total),
                percent(t.prevalence),
                t.severity,
                severity_word(t.severity),
                t.priority
            );
        }
        md.push('\n');
    }

    // Saturation.
    md.push_str("## Saturation\n\n");
    let sat = &insights.saturation;
    if !sat.statement.trim().is_empty() {
        let _ = writeln!(md, "{}\n", inline(&sat.statement));
    }
    if sat.steps.is_empty() {
        md.push_str("_No saturation data: no interview was analysed in order._\n\n");
    } else {
        md.push_str("| # | Interview | Participants | New themes | Themes so far |\n");
        md.push_str("|--:|---|---|---|--:|\n");
        for (i, step) in sat.steps.iter().enumerate() {
            let new: Vec<String> = step
                .new_themes
                .iter()
                .map(|id| inline(&theme_name(insights, id)))
                .collect();
            let new = if new.is_empty() {
                "—".to_string()
            } else {
                format!("+{}: {}", new.len(), new.join(", "))
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                i + 1,
                inline(file_name(&step.source)),
                inline(&step.participants.join(", ")),
                new,
                step.total
            );
        }
        md.push('\n');
    }

    // Appendix.
    md.push_str("## Appendix\n\n");
    if !rest.is_empty() {
        md.push_str("### More findings\n\n");
        for (i, story) in rest.iter().enumerate() {
            story_md(&mut md, insights, story, top.len() + i + 1, "####");
        }
    }

    let storyless = kept_without_story(insights);
    if !storyless.is_empty() {
        md.push_str("### Other kept themes\n\n");
        md.push_str("Kept by the filter, but without enough quotes for a story.\n\n");
        for t in storyless {
            let _ = writeln!(
                md,
                "- **{}** ({}, {}, severity {}): {}",
                inline(&t.name),
                t.kind.as_str(),
                participants_phrase(t, n_total),
                severity_word(t.severity),
                inline(&t.reason)
            );
        }
        md.push('\n');
    }

    md.push_str("### Dropped themes\n\n");
    let dropped: Vec<&ThemeStats> = insights
        .themes
        .iter()
        .filter(|t| t.verdict == Verdict::Drop)
        .collect();
    if dropped.is_empty() {
        md.push_str("_The filter dropped no theme._\n\n");
    } else {
        md.push_str("| Theme | Kind | Participants | Severity | Why dropped |\n");
        md.push_str("|---|---|--:|---|---|\n");
        for t in dropped {
            let mut name = inline(&t.name);
            if t.origin == crate::types::Origin::Discovered {
                name.push_str(" (discovered)");
            }
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} · {} | {} |",
                name,
                t.kind.as_str(),
                participants_fraction(t, n_total),
                t.severity,
                severity_word(t.severity),
                inline(&t.reason)
            );
        }
        md.push('\n');
    }

    md.push_str("### Participants\n\n");
    if insights.participants.is_empty() {
        md.push_str("_No participant was identified._\n\n");
    } else {
        let keys = attribute_keys(insights);
        let _ = write!(
            md,
            "| Participant | {} | Language",
            source_heading(insights)
        );
        for k in &keys {
            let _ = write!(md, " | {}", inline(&capitalise(k)));
        }
        md.push_str(" |\n|---|---|---");
        for _ in &keys {
            md.push_str("|---");
        }
        md.push_str("|\n");
        for p in &insights.participants {
            let _ = write!(
                md,
                "| {} | {} | {}",
                inline(&p.id),
                inline(file_name(&p.source)),
                inline(
                    &p.language
                        .as_deref()
                        .map(language_name)
                        .unwrap_or_else(|| "—".into())
                )
            );
            for k in &keys {
                let v = p
                    .attributes
                    .get(k)
                    .map(|v| inline(v))
                    .unwrap_or_else(|| "—".into());
                let _ = write!(md, " | {}", v);
            }
            md.push_str(" |\n");
        }
        md.push('\n');
    }

    if !insights.failures.is_empty() {
        md.push_str("### Failures\n\n");
        md.push_str("These inputs could not be used; the brief is based on the others.\n\n");
        for f in &insights.failures {
            let _ = writeln!(
                md,
                "- **{}**: {}",
                inline(file_name(&f.source)),
                inline(&scrub_paths(&f.error, &f.source))
            );
        }
        md.push('\n');
    }

    md.push_str("### How this brief was made\n\n");
    for line in method_notes(insights) {
        let _ = writeln!(md, "- {}", inline(&line));
    }
    md
}

fn story_md(md: &mut String, insights: &Insights, story: &Story, number: usize, level: &str) {
    let n_total = insights.participants.len();
    let theme = theme_of(insights, &story.theme);
    let _ = writeln!(md, "{} {}. {}\n", level, number, inline(&story.headline));
    let badges = badge_words(theme, story, n_total);
    let _ = writeln!(
        md,
        "*{}*\n",
        badges
            .iter()
            .map(|b| inline(b))
            .collect::<Vec<_>>()
            .join(" · ")
    );
    if !story.observation.trim().is_empty() {
        let _ = writeln!(md, "{}\n", inline(&story.observation));
    }
    if let Some(seg) = theme.and_then(segments_line) {
        let _ = writeln!(md, "By segment: {}\n", inline(&seg));
    }
    for q in shown_quotes(story) {
        let _ = writeln!(
            md,
            "> {}\n>\n> — {}\n",
            inline(&q.text),
            inline(&attribution(q))
        );
    }
    if !story.implication.trim().is_empty() {
        let _ = writeln!(md, "**So what?** {}\n", inline(&story.implication));
    }
    let reason = story.confidence_reason.trim();
    if reason.is_empty() {
        let _ = writeln!(
            md,
            "**Confidence: {}.**\n",
            confidence_word(story.confidence)
        );
    } else {
        let _ = writeln!(
            md,
            "**Confidence: {}.** {}\n",
            confidence_word(story.confidence),
            inline(reason)
        );
    }
}

/// Escapes text from data for use anywhere in Markdown: a paragraph, a heading, a table cell,
/// a blockquote. Folds every run of whitespace (line breaks included) into one space.
///
/// Escapes only what could change the shape of the brief, so file names and speech stay
/// readable as plain text: `\\`, `` ` ``, `*`, `|`, `$` (GitHub math), `~` (strikethrough)
/// everywhere; `_` at a word boundary (intraword `_` is never emphasis); `<` before a letter,
/// `/`, `!` or `?` (an HTML tag or autolink); `]` before `(`, `[` or `:` (a link); an
/// entity-looking `&name;`; and at the start: `#`, `>`, `-`, `+`, `=`, `[`, `1.`/`1)`.
pub(crate) fn inline(text: &str) -> String {
    let folded = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(folded.len() + 8);
    let chars: Vec<char> = folded.chars().collect();
    let mut start = 0;
    match chars.first() {
        Some('#') | Some('>') | Some('-') | Some('+') | Some('=') | Some('[') => {
            out.push('\\');
            out.push(chars[0]);
            start = 1;
        }
        Some(c) if c.is_ascii_digit() => {
            let n = chars.iter().take_while(|c| c.is_ascii_digit()).count();
            if matches!(chars.get(n), Some('.') | Some(')')) {
                out.extend(&chars[..n]);
                out.push('\\');
                start = n;
            }
        }
        _ => {}
    }
    let word = |c: Option<&char>| c.map(|c| c.is_alphanumeric()).unwrap_or(false);
    for i in start..chars.len() {
        let c = chars[i];
        let prev = if i == 0 { None } else { chars.get(i - 1) };
        let next = chars.get(i + 1);
        let escape = match c {
            '\\' | '`' | '*' | '|' | '$' | '~' => true,
            '_' => !(word(prev) && word(next)),
            '<' => {
                matches!(next, Some(n) if n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'))
            }
            ']' => matches!(next, Some('(') | Some('[') | Some(':')),
            '&' => {
                // Only an entity-looking `&name;` / `&#123;` needs escaping.
                let tail: String = chars[i + 1..].iter().take(33).collect();
                tail.find(';')
                    .map(|semi| {
                        let body = &tail[..semi];
                        !body.is_empty()
                            && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '#')
                    })
                    .unwrap_or(false)
            }
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Shared with the HTML writer.
// ---------------------------------------------------------------------------------------------

/// `hh:mm:ss` from seconds (rounded down; negative or not-a-number shows as `00:00:00`).
pub(crate) fn format_time(seconds: f64) -> String {
    let s = if seconds.is_finite() && seconds > 0.0 {
        seconds.floor() as u64
    } else {
        0
    };
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// Nielsen's severity in a word.
pub(crate) fn severity_word(severity: u8) -> &'static str {
    match severity {
        0 => "none",
        1 => "cosmetic",
        2 => "friction",
        3 => "serious",
        _ => "critical",
    }
}

pub(crate) fn confidence_word(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The file name of a source path (never the folders of the researcher's machine).
/// The participants table's heading for where each came from: "Recording" when sowhat
/// transcribed them all, "Transcript" when all were imported, "Source" for a mix.
pub(crate) fn source_heading(insights: &Insights) -> &'static str {
    let recorded = insights
        .participants
        .iter()
        .filter(|p| crate::audio::is_audio_path(std::path::Path::new(&p.source)))
        .count();
    if recorded == insights.participants.len() {
        "Recording"
    } else if recorded == 0 {
        "Transcript"
    } else {
        "Source"
    }
}

pub(crate) fn file_name(source: &str) -> &str {
    source.rsplit(['/', '\\']).next().unwrap_or(source)
}

/// An error message with the failing input's folders removed.
pub(crate) fn scrub_paths(error: &str, source: &str) -> String {
    if source.is_empty() || file_name(source) == source {
        return error.to_string();
    }
    error.replace(source, file_name(source))
}

pub(crate) fn title(insights: &Insights) -> String {
    let t = insights.study.title.trim();
    if t.is_empty() {
        "Insight brief".to_string()
    } else {
        t.to_string()
    }
}

/// English name of an ISO 639-1 code (the code itself when unknown).
pub(crate) fn language_name(code: &str) -> String {
    let name = match code.trim().to_ascii_lowercase().as_str() {
        "en" => "English",
        "lt" => "Lithuanian",
        "lv" => "Latvian",
        "et" => "Estonian",
        "pl" => "Polish",
        "ru" => "Russian",
        "uk" => "Ukrainian",
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        "it" => "Italian",
        "pt" => "Portuguese",
        "nl" => "Dutch",
        "sv" => "Swedish",
        "no" | "nb" => "Norwegian",
        "da" => "Danish",
        "fi" => "Finnish",
        "cs" => "Czech",
        "sk" => "Slovak",
        "hu" => "Hungarian",
        "ro" => "Romanian",
        "tr" => "Turkish",
        "el" => "Greek",
        "ja" => "Japanese",
        "zh" => "Chinese",
        "ko" => "Korean",
        "ar" => "Arabic",
        "he" => "Hebrew",
        "hi" => "Hindi",
        _ => return code.trim().to_string(),
    };
    name.to_string()
}

/// "12 interviews · 12 participants · English, Polish · 2026-04-02".
pub(crate) fn summary_line(insights: &Insights) -> String {
    let interviews = if insights.study.interviews > 0 {
        insights.study.interviews
    } else {
        insights
            .participants
            .iter()
            .map(|p| p.source.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    };
    let mut parts = vec![
        plural(interviews, "interview", "interviews"),
        plural(insights.participants.len(), "participant", "participants"),
    ];
    let mut langs: Vec<String> = insights.study.languages.clone();
    if langs.is_empty() {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for p in &insights.participants {
            if let Some(l) = &p.language {
                *count.entry(l.clone()).or_default() += 1;
            }
        }
        let mut v: Vec<(String, usize)> = count.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        langs = v.into_iter().map(|(l, _)| l).collect();
    }
    if !langs.is_empty() {
        parts.push(
            langs
                .iter()
                .map(|l| language_name(l))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    let date = date_of(&insights.study.generated);
    if !date.is_empty() {
        parts.push(date);
    }
    parts.join(" · ")
}

/// The date part of an RFC 3339 time stamp.
pub(crate) fn date_of(generated: &str) -> String {
    let g = generated.trim();
    match g.find('T') {
        Some(i) => g[..i].to_string(),
        None => g.to_string(),
    }
}

pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", n, if n == 1 { one } else { many })
}

pub(crate) fn percent(p: f64) -> String {
    let p = if p.is_finite() {
        (p * 100.0).round().clamp(0.0, 100.0)
    } else {
        0.0
    };
    format!("{}%", p as u32)
}

pub(crate) fn theme_of<'a>(insights: &'a Insights, id: &str) -> Option<&'a ThemeStats> {
    insights.themes.iter().find(|t| t.id == id)
}

pub(crate) fn theme_name(insights: &Insights, id: &str) -> String {
    theme_of(insights, id)
        .map(|t| t.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// "7 of 12 participants" (people, never mentions).
pub(crate) fn participants_phrase(theme: &ThemeStats, n_total: usize) -> String {
    let n = theme.participants.len();
    if n_total == 0 {
        plural(n, "participant", "participants")
    } else {
        format!("{} of {} participants", n, n_total)
    }
}

/// "7 / 12" for tables.
pub(crate) fn participants_fraction(theme: &ThemeStats, n_total: usize) -> String {
    if n_total == 0 {
        theme.participants.len().to_string()
    } else {
        format!("{} / {}", theme.participants.len(), n_total)
    }
}

/// The story's badge line in words: kind, n of N, severity, confidence, single source.
pub(crate) fn badge_words(
    theme: Option<&ThemeStats>,
    story: &Story,
    n_total: usize,
) -> Vec<String> {
    let mut b = Vec::new();
    if let Some(t) = theme {
        b.push(capitalise(t.kind.as_str()));
        if t.origin == crate::types::Origin::Discovered {
            b.push("discovered theme".into());
        }
        b.push(participants_phrase(t, n_total));
        if t.severity > 0 {
            b.push(format!("{} ({}/4)", severity_word(t.severity), t.severity));
        }
    }
    b.push(format!("{} confidence", confidence_word(story.confidence)));
    if theme.map(|t| t.single_source).unwrap_or(false) {
        b.push("⚠ single source".into());
    }
    b
}

/// "plan: plus 5, free 3 · city: Vilnius 4, Kaunas 2" from the theme's segments.
pub(crate) fn segments_line(theme: &ThemeStats) -> Option<String> {
    if theme.segments.is_empty() {
        return None;
    }
    let parts: Vec<String> = theme
        .segments
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(attr, values)| {
            let mut v: Vec<(&String, &usize)> = values.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let vals: Vec<String> = v.iter().map(|(k, n)| format!("{} {}", k, n)).collect();
            format!("{}: {}", attr, vals.join(", "))
        })
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" · "))
    }
}

/// The quotes a story shows: at most three.
pub(crate) fn shown_quotes(story: &Story) -> &[Quote] {
    &story.quotes[..story.quotes.len().min(3)]
}

/// "P03 · 00:12:41" (no time when the transcript had none).
pub(crate) fn attribution(q: &Quote) -> String {
    match q.start {
        Some(s) => format!("{} · {}", q.participant, format_time(s)),
        None => q.participant.clone(),
    }
}

/// The stories in the body and the ones for the appendix.
pub(crate) fn split_stories(insights: &Insights, top: usize) -> (&[Story], &[Story]) {
    let k = top.min(insights.stories.len());
    insights.stories.split_at(k)
}

/// Kept praise themes whose stories are not in the body (`top`), most widespread first, with
/// their story when they have one. Praise has no severity, so it ranks after every problem;
/// the brief still names what works well next to the problems.
pub(crate) fn strengths_below_top<'a>(
    insights: &'a Insights,
    top: &[Story],
) -> Vec<(&'a ThemeStats, Option<&'a Story>)> {
    let mut v: Vec<(&ThemeStats, Option<&Story>)> = insights
        .themes
        .iter()
        .filter(|t| t.verdict == Verdict::Keep && t.kind == ThemeKind::Delight)
        .filter(|t| !top.iter().any(|s| s.theme == t.id))
        .map(|t| (t, insights.stories.iter().find(|s| s.theme == t.id)))
        .collect();
    v.sort_by(|a, b| b.0.prevalence.total_cmp(&a.0.prevalence));
    v.truncate(5);
    v
}

/// Kept themes that have no story.
pub(crate) fn kept_without_story(insights: &Insights) -> Vec<&ThemeStats> {
    insights
        .themes
        .iter()
        .filter(|t| t.verdict == Verdict::Keep && !insights.stories.iter().any(|s| s.theme == t.id))
        .collect()
}

/// Attribute columns of the participants table, in a stable order.
pub(crate) fn attribute_keys(insights: &Insights) -> Vec<String> {
    insights
        .participants
        .iter()
        .flat_map(|p| p.attributes.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// What the body says when there is no story to show.
pub(crate) fn no_story_message(insights: &Insights) -> String {
    let n_themes = insights.themes.len();
    let kept = insights
        .themes
        .iter()
        .filter(|t| t.verdict == Verdict::Keep)
        .count();
    if insights.participants.is_empty() && insights.themes.is_empty() {
        "No theme passed the \"so what?\" filter: no interview could be analysed, so there is nothing to report yet."
            .to_string()
    } else if n_themes == 0 {
        "No theme passed the \"so what?\" filter: nothing the participants said matched a theme of the codebook or formed a new one."
            .to_string()
    } else if kept == 0 {
        format!(
            "No theme passed the \"so what?\" filter: {} found, none common or severe enough to report. See the dropped themes in the appendix.",
            plural(n_themes, "theme was", "themes were")
        )
    } else {
        format!(
            "No story to show: {} passed the \"so what?\" filter, but without enough quotes for a story. See the appendix.",
            plural(kept, "theme", "themes")
        )
    }
}

/// The "How this brief was made" notes, in plain words.
pub(crate) fn method_notes(insights: &Insights) -> Vec<String> {
    let s = &insights.study;
    let mut v = Vec::new();
    let tool = if s.tool.trim().is_empty() {
        "sowhat"
    } else {
        s.tool.trim()
    };
    let date = date_of(&s.generated);
    if date.is_empty() {
        v.push(format!(
            "Made by {} on this machine, offline; no recording or transcript left it.",
            tool
        ));
    } else {
        v.push(format!(
            "Made by {} on {}, offline; no recording or transcript left the machine.",
            tool, date
        ));
    }
    let mut how: Vec<&str> = Vec::new();
    let has = |m: &[Method]| insights.mentions.iter().any(|x| m.contains(&x.method));
    if has(&[Method::Keyword, Method::Both]) {
        how.push("keywords");
    }
    if has(&[Method::Embedding, Method::Both]) {
        how.push("multilingual sentence similarity");
    }
    if has(&[Method::Examples]) {
        how.push("the researcher's coded examples");
    }
    let how = if how.is_empty() {
        String::new()
    } else {
        format!(" (by {})", how.join(", "))
    };
    let codebook = if s.codebook.trim().is_empty() {
        "Participants' sentences were tagged with themes".to_string()
    } else {
        format!(
            "Participants' sentences were tagged with the themes of the codebook \"{}\"",
            s.codebook.trim()
        )
    };
    let discovered = insights
        .themes
        .iter()
        .any(|t| t.origin == crate::types::Origin::Discovered);
    v.push(format!(
        "{}{}{}.",
        codebook,
        how,
        if discovered {
            "; themes marked \"discovered\" emerged from sentences that no codebook theme matched"
        } else {
            ""
        }
    ));
    let rules = s.rules.trim();
    if rules.is_empty() {
        v.push("The \"so what?\" filter counts people, not mentions: a theme is kept when enough participants raise it or when its evidence is severe (severity 0–4: none, cosmetic, friction, serious, critical).".to_string());
    } else {
        v.push(format!(
            "The \"so what?\" filter counts people, not mentions. Rules: {}",
            rules
        ));
    }
    if let Some(u) = s.unnamed.as_deref() {
        v.push(u.to_string());
    }
    if let Some(r) = s.redaction.as_deref() {
        v.push(r.to_string());
    }
    // Say what the transcripts are: recordings sowhat transcribed, or transcripts imported.
    let recorded = insights
        .participants
        .iter()
        .filter(|p| crate::audio::is_audio_path(std::path::Path::new(&p.source)))
        .count();
    let origin = if recorded == insights.participants.len() {
        "Transcripts are machine-made (speech recognition) and may contain errors"
    } else if recorded == 0 {
        "Transcripts were read as given (imported files, not transcribed by sowhat)"
    } else {
        "Transcripts of recordings are machine-made (speech recognition) and may contain errors; imported transcripts were read as given"
    };
    v.push(format!("{origin}; quotes are verbatim from the transcripts, in the participant's language, and only ever the participant's words, never the interviewer's."));
    // Over the quotes the brief shows and every mention behind them.
    let (timed, all) = insights
        .stories
        .iter()
        .flat_map(|s| s.quotes.iter().map(|q| q.start.is_some()))
        .chain(insights.mentions.iter().map(|m| m.start.is_some()))
        .fold((0, 0), |(t, n), timed| (t + usize::from(timed), n + 1));
    if timed == all && timed > 0 {
        v.push("Timestamps (hh:mm:ss) point to the moment in the recording, so every quote can be checked by listening.".to_string());
    } else if timed > 0 {
        v.push("Timestamps (hh:mm:ss) point to the moment in the recording, so a quote can be checked by listening; quotes from transcripts without times name the participant only.".to_string());
    } else {
        v.push("The transcripts carry no times, so quotes name the participant only; transcripts with [hh:mm:ss] stamps, subtitles (VTT, SRT) or sowhat's own transcription give every quote its moment in the recording.".to_string());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::*;
    use crate::types::*;

    #[test]
    fn time_is_hh_mm_ss_rounded_down() {
        assert_eq!(format_time(0.0), "00:00:00");
        assert_eq!(format_time(761.9), "00:12:41");
        assert_eq!(format_time(3600.0 * 2.0 + 61.0), "02:01:01");
        assert_eq!(format_time(-3.0), "00:00:00");
        assert_eq!(format_time(f64::NAN), "00:00:00");
        assert_eq!(format_time(3600.0 * 100.0), "100:00:00");
    }

    #[test]
    fn severity_in_words() {
        assert_eq!(
            (1..=4).map(severity_word).collect::<Vec<_>>(),
            ["cosmetic", "friction", "serious", "critical"]
        );
    }

    #[test]
    fn quotes_are_attributed_with_time_or_without() {
        let md = render(&insights(), &BriefOptions::default());
        assert!(
            md.contains("> It broke.\n>\n> — P01 · 00:12:41\n"),
            "{}",
            md
        );
        assert!(md.contains("> Again.\n>\n> — P02\n"), "{}", md);
    }

    /// The notes say what the transcripts are: a brief on imported, untimed transcripts must
    /// not claim speech recognition or timestamps.
    #[test]
    fn method_notes_tell_recordings_from_imported_transcripts() {
        let mut ins = insights();
        let notes = method_notes(&ins).join("\n");
        assert!(notes.contains("machine-made"), "{notes}");
        assert_eq!(source_heading(&ins), "Recording");
        assert!(
            notes.contains("without times name the participant only"),
            "{notes}"
        );
        for s in &mut ins.stories {
            for q in &mut s.quotes {
                q.start = Some(1.0);
            }
        }
        let notes = method_notes(&ins).join("\n");
        assert!(
            notes.contains("every quote can be checked by listening"),
            "{notes}"
        );
        for p in &mut ins.participants {
            p.source = p.source.replace(".m4a", ".vtt");
        }
        for s in &mut ins.stories {
            for q in &mut s.quotes {
                q.start = None;
            }
        }
        let notes = method_notes(&ins).join("\n");
        assert!(!notes.contains("machine-made"), "{notes}");
        assert!(notes.contains("read as given"), "{notes}");
        assert!(notes.contains("carry no times"), "{notes}");
        assert!(!notes.contains("checked by listening"), "{notes}");
        assert_eq!(source_heading(&ins), "Transcript");
        assert!(render(&ins, &BriefOptions::default()).contains("| Participant | Transcript |"));
        ins.participants[0].source = "/home/r/rec/P01.m4a".into();
        assert_eq!(source_heading(&ins), "Source");
        let notes = method_notes(&ins).join("\n");
        assert!(
            notes.contains("Transcripts of recordings are machine-made"),
            "{notes}"
        );
    }

    /// The headline already gives the count; the at-a-glance line does not repeat it.
    #[test]
    fn at_a_glance_names_the_count_once() {
        let mut ins = insights();
        let people = participants_phrase(&ins.themes[0], ins.participants.len());
        ins.stories[0].headline = format!("A: {people} hit problems");
        let md = render(&ins, &BriefOptions::default());
        let line = md.lines().find(|l| l.starts_with("1. ")).unwrap();
        assert_eq!(line.matches(&people).count(), 1, "{line}");
        assert!(line.contains("— pain"), "{line}");
    }

    #[test]
    fn strengths_below_the_body_are_named_at_a_glance() {
        let ins = insights();
        let md = render(&ins, &BriefOptions::default());
        assert!(
            !md.contains("**Strengths**"),
            "both stories are in the body: {md}"
        );
        let md = render(
            &ins,
            &BriefOptions {
                top: 1,
                ..Default::default()
            },
        );
        let b = ins.themes.iter().find(|t| t.id == "b").unwrap();
        let line = format!(
            "**Strengths** (in the appendix): {} (5 of 10 participants).",
            inline(&b.name)
        );
        assert!(md.contains(&line), "{md}");
        assert!(md.find(&line).unwrap() < md.find("## Top findings").unwrap());
    }

    #[test]
    fn markdown_specials_in_data_are_escaped() {
        let mut ins = insights();
        ins.stories[0].quotes[0].text =
            "# not a heading | pipe <script>alert(1)</script> *bold* $5 and $6\nnext line".into();
        ins.stories[0].headline = "> 1. [link](http://x) `code`".into();
        ins.themes[0].name = "A | B".into();
        let md = render(&ins, &BriefOptions::default());
        assert!(md.contains(
            "> \\# not a heading \\| pipe \\<script>alert(1)\\</script> \\*bold\\* \\$5 and \\$6 next line\n"
        ), "{}", md);
        assert!(
            md.contains("### 1. \\> 1. [link\\](http://x) \\`code\\`"),
            "{}",
            md
        );
        assert!(md.contains("| A \\| B |"), "{}", md);
        // No raw HTML: every `<` that could open a tag is escaped.
        let b = md.as_bytes();
        for (i, _) in md.match_indices('<') {
            let opens_tag = b
                .get(i + 1)
                .map(|c| c.is_ascii_alphabetic() || b"/!?".contains(c))
                .unwrap_or(false);
            assert!(
                !opens_tag || (i > 0 && b[i - 1] == b'\\'),
                "raw tag at {}: {}",
                i,
                &md[i..]
            );
        }
        assert_eq!(inline("1. item"), "1\\. item");
        assert_eq!(inline("- item"), "\\- item");
        assert_eq!(
            inline("Fish & chips &amp; more"),
            "Fish & chips \\&amp; more"
        );
        assert_eq!(
            inline("snake_case and _emphasis_"),
            "snake_case and \\_emphasis\\_"
        );
        assert_eq!(inline("[laughs] <1 yr, a < b"), "\\[laughs] <1 yr, a < b");
        assert_eq!(
            inline("see [x][y] and ![i](u)"),
            "see [x\\][y] and ![i\\](u)"
        );
        assert_eq!(
            inline("<!-- hi --> <http://x>"),
            "\\<!-- hi --> \\<http://x>"
        );
        assert_eq!(inline("P01_2026-03-04.m4a"), "P01_2026-03-04.m4a");
    }

    #[test]
    fn every_table_row_has_the_same_number_of_cells() {
        let mut ins = insights();
        ins.themes[2].reason = "a | b | c".into();
        let md = render(&ins, &BriefOptions::default());
        let mut in_table: Option<usize> = None;
        for line in md.lines() {
            if line.starts_with('|') {
                let cells = line.replace("\\|", "").matches('|').count();
                match in_table {
                    None => in_table = Some(cells),
                    Some(n) => assert_eq!(n, cells, "{}", line),
                }
            } else {
                in_table = None;
            }
        }
    }

    #[test]
    fn top_splits_body_and_appendix() {
        let md = render(
            &insights(),
            &BriefOptions {
                top: 1,
                ..Default::default()
            },
        );
        let appendix = md.find("## Appendix").unwrap();
        let second = md.find("Headline b").unwrap();
        let at_a_glance_has_b = md[..md.find("## Top findings").unwrap()].contains("Headline b");
        assert!(second > appendix, "{}", md);
        assert!(!at_a_glance_has_b);
        assert!(md.contains("#### 2. Headline b"));
    }

    #[test]
    fn badges_say_n_of_n_severity_confidence_and_single_source() {
        let mut ins = insights();
        ins.themes[0].single_source = true;
        let md = render(&ins, &BriefOptions::default());
        assert!(
            md.contains(
                "*Pain · 4 of 10 participants · serious (3/4) · high confidence · ⚠ single source*"
            ),
            "{}",
            md
        );
        // A delight theme with no pain shows no severity.
        assert!(
            md.contains("*Delight · 5 of 10 participants · high confidence*"),
            "{}",
            md
        );
    }

    #[test]
    fn participants_show_file_names_only() {
        let mut ins = insights();
        ins.failures.push(Failure {
            source: "/home/r/rec/P11.m4a".into(),
            error: "could not decode /home/r/rec/P11.m4a: unsupported codec".into(),
        });
        let md = render(&ins, &BriefOptions::default());
        assert!(!md.contains("/home/r"), "{}", md);
        assert!(md.contains("| P01 | P01.m4a | English |"));
        assert!(md.contains("could not decode P11.m4a"));
    }

    #[test]
    fn empty_insights_say_no_theme_passed() {
        let ins = Insights::default();
        let md = render(&ins, &BriefOptions::default());
        assert!(md.starts_with("# Insight brief\n"));
        assert!(
            md.contains("No theme passed the \"so what?\" filter"),
            "{}",
            md
        );
        assert!(md.contains("## Priority matrix"));
        assert!(md.contains("### How this brief was made"));

        let mut dropped_only = insights();
        dropped_only.stories.clear();
        for t in &mut dropped_only.themes {
            t.verdict = Verdict::Drop;
        }
        let md = render(&dropped_only, &BriefOptions::default());
        assert!(
            md.contains("No theme passed the \"so what?\" filter: 3 themes were found"),
            "{}",
            md
        );
    }

    #[test]
    fn at_most_three_quotes() {
        let mut ins = insights();
        ins.stories[0].quotes = (1..=5)
            .map(|i| quote(&format!("P0{}", i), "q", Some(1.0)))
            .collect();
        let md = render(&ins, &BriefOptions::default());
        assert!(md.contains("— P03 ·"));
        assert!(!md.contains("— P04 ·"));
    }
}
