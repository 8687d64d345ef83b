//! `brief.html`: the insight brief as one self-contained HTML file.
//!
//! The same structure as `brief.md` (see [`super::markdown`]), plus: a table of contents, an
//! inline SVG priority matrix (prevalence × severity, one bubble per theme) and saturation
//! chart, and quotes linked to their moment in the recording when
//! [`BriefOptions::media`] names the recording: one `<audio preload="none">` per recording in a
//! compact player bar, and each quote's timestamp seeks it and plays.
//!
//! The file makes no external request: system fonts, inline CSS and JS, inline SVG, and a
//! Content-Security-Policy that forbids anything else (recordings excepted). Everything from
//! data goes through [`esc`] (text and attribute values alike); ids are reduced to
//! `[a-z0-9_-]`; recording hrefs are percent-encoded paths, so they cannot carry a scheme.
//! Print (`@media print`) hides the player, keeps each story on one page and keeps timestamps.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::markdown::{
    attribute_keys, badge_words, capitalise, confidence_word, date_of, file_name, format_time,
    kept_without_story, method_notes, no_story_message, participants_fraction, participants_phrase,
    percent, scrub_paths, segments_line, severity_word, shown_quotes, source_heading,
    split_stories, strengths_below_top, summary_line, theme_name, theme_of, title, BriefOptions,
};
use crate::types::{Insights, Origin, Quote, Story, ThemeKind, ThemeStats, Verdict};

/// Renders the brief as one self-contained HTML page.
pub fn render(insights: &Insights, opts: &BriefOptions) -> String {
    let ctx = Ctx::new(insights, opts);
    let mut h = String::with_capacity(64 * 1024);
    let title_text = title(insights);
    let (top, rest) = split_stories(insights, opts.top);

    h.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing may be fetched but the recordings next to the brief.
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; media-src 'self' file: blob:; base-uri 'none'; form-action 'none'\">\n");
    if !insights.study.tool.trim().is_empty() {
        let _ = writeln!(
            h,
            "<meta name=\"generator\" content=\"{}\">",
            esc(insights.study.tool.trim())
        );
    }
    let _ = writeln!(h, "<title>{} — insight brief</title>", esc(&title_text));
    h.push_str("<style>\n");
    h.push_str(CSS);
    h.push_str("</style>\n</head>\n<body>\n<main class=\"brief\">\n");

    // Masthead.
    h.push_str("<header class=\"masthead\">\n<p class=\"eyebrow\">Insight brief</p>\n");
    let _ = writeln!(h, "<h1>{}</h1>", esc(&title_text));
    let _ = writeln!(
        h,
        "<p class=\"summary\">{}</p>",
        esc(&summary_line(insights))
    );
    let kept = insights
        .themes
        .iter()
        .filter(|t| t.verdict == Verdict::Keep)
        .count();
    let dropped = insights.themes.len() - kept;
    let discovered = insights
        .themes
        .iter()
        .filter(|t| t.origin == Origin::Discovered)
        .count();
    h.push_str("<ul class=\"stats\">");
    let _ = write!(
        h,
        "<li><b>{}</b> {}</li>",
        insights.stories.len(),
        if insights.stories.len() == 1 {
            "finding"
        } else {
            "findings"
        }
    );
    let _ = write!(
        h,
        "<li><b>{}</b> {} kept</li>",
        kept,
        if kept == 1 { "theme" } else { "themes" }
    );
    let _ = write!(h, "<li><b>{}</b> dropped</li>", dropped);
    if discovered > 0 {
        let _ = write!(h, "<li><b>{}</b> discovered</li>", discovered);
    }
    if !insights.saturation.steps.is_empty() {
        if insights.saturation.saturated {
            h.push_str("<li class=\"sat yes\">Saturated</li>");
        } else {
            h.push_str("<li class=\"sat no\">Not yet saturated</li>");
        }
    }
    if !insights.failures.is_empty() {
        let _ = write!(
            h,
            "<li class=\"warn\"><b>{}</b> failed</li>",
            insights.failures.len()
        );
    }
    h.push_str("</ul>\n</header>\n");

    // Table of contents.
    h.push_str("<nav class=\"toc\" aria-label=\"Contents\">\n<h2>Contents</h2>\n");
    if !top.is_empty() {
        h.push_str("<ol class=\"toc-stories\">\n");
        for story in top {
            let t = theme_of(insights, &story.theme);
            let kind = t.map(|t| t.kind.as_str()).unwrap_or("neutral");
            let n = t
                .map(|t| participants_fraction(t, ctx.n_total))
                .unwrap_or_default();
            let _ = writeln!(
                h,
                "<li><a href=\"#{}\"><span class=\"dot {}\"></span>{}</a> <span class=\"toc-n\">{}</span></li>",
                ctx.story_anchor(story),
                kind,
                esc(&story.headline),
                esc(&n)
            );
        }
        h.push_str("</ol>\n");
    }
    let strengths = strengths_below_top(insights, top);
    if !strengths.is_empty() {
        h.push_str("<p class=\"toc-strengths\"><span class=\"dot delight\"></span>Strengths: ");
        let items: Vec<String> = strengths
            .iter()
            .map(|(t, story)| {
                let name = match story {
                    Some(s) => format!("<a href=\"#{}\">{}</a>", ctx.story_anchor(s), esc(&t.name)),
                    None => esc(&t.name),
                };
                format!(
                    "{name} <span class=\"toc-n\">{}</span>",
                    esc(&participants_fraction(t, ctx.n_total))
                )
            })
            .collect();
        h.push_str(&items.join(" · "));
        h.push_str("</p>\n");
    }
    h.push_str("<p class=\"toc-sections\">");
    if top.is_empty() {
        h.push_str("<a href=\"#findings\">Top findings</a> · ");
    }
    h.push_str("<a href=\"#matrix\">Priority matrix</a> · <a href=\"#saturation\">Saturation</a> · <a href=\"#appendix\">Appendix</a>");
    if !rest.is_empty() {
        let _ = write!(
            h,
            " <span class=\"toc-n\">({} more {} there)</span>",
            rest.len(),
            if rest.len() == 1 {
                "finding"
            } else {
                "findings"
            }
        );
    }
    h.push_str("</p>\n</nav>\n");

    // Top findings.
    h.push_str("<section id=\"findings\">\n<h2>Top findings</h2>\n");
    if top.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"empty\">{}</p>",
            esc(&no_story_message(insights))
        );
    }
    for (i, story) in top.iter().enumerate() {
        story_html(&mut h, &ctx, story, i + 1, false);
    }
    h.push_str("</section>\n");

    // Priority matrix.
    h.push_str("<section id=\"matrix\">\n<h2>Priority matrix</h2>\n");
    if insights.themes.is_empty() {
        h.push_str("<p class=\"empty\">No theme was found, so there is nothing to plot.</p>\n");
    } else {
        h.push_str("<p class=\"lede\">Each bubble is a theme: how many participants raised it (across) and how bad the strongest evidence was (up). Bigger bubbles have more mentions. Click a bubble to read its story.</p>\n");
        h.push_str("<figure class=\"chart\">\n");
        let (svg, key) = matrix_svg(&ctx);
        h.push_str(&svg);
        if !key.is_empty() {
            h.push_str("<figcaption class=\"matrix-key\"><b>Numbered bubbles:</b> ");
            let items: Vec<String> = key
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    format!(
                        "<a href=\"#{}\"><span class=\"k\">{}</span> {}</a>",
                        ctx.theme_anchor(t),
                        i + 1,
                        esc(&t.name)
                    )
                })
                .collect();
            h.push_str(&items.join(" · "));
            h.push_str("</figcaption>\n");
        }
        h.push_str("<figcaption class=\"legend\"><span><i class=\"sw pain\"></i>pain</span><span><i class=\"sw delight\"></i>delight</span><span><i class=\"sw request\"></i>request</span><span><i class=\"sw neutral\"></i>neutral</span><span><i class=\"sw dropped\"></i>dropped by the filter</span><span>size = mentions</span></figcaption>\n");
        h.push_str("</figure>\n");
    }
    h.push_str("</section>\n");

    // Saturation.
    h.push_str("<section id=\"saturation\">\n<h2>Saturation</h2>\n");
    let sat = &insights.saturation;
    if !sat.statement.trim().is_empty() {
        let _ = writeln!(h, "<p class=\"lede\">{}</p>", esc(sat.statement.trim()));
    }
    if sat.steps.is_empty() {
        h.push_str(
            "<p class=\"empty\">No saturation data: no interview was analysed in order.</p>\n",
        );
    } else {
        h.push_str("<figure class=\"chart\">\n");
        h.push_str(&saturation_svg(&ctx));
        h.push_str("<figcaption class=\"legend\"><span><i class=\"sw line\"></i>themes found so far</span><span><i class=\"sw newkept\"></i>new kept themes</span><span><i class=\"sw newdropped\"></i>new dropped themes</span></figcaption>\n");
        h.push_str("</figure>\n");
        // The same numbers as a table, with theme names (folded by default, open in print).
        h.push_str("<details class=\"sat-table\"><summary>Interview by interview</summary>\n<table>\n<thead><tr><th class=\"num\">#</th><th>Interview</th><th>Participants</th><th>New themes</th><th class=\"num\">So far</th></tr></thead>\n<tbody>\n");
        for (i, step) in sat.steps.iter().enumerate() {
            let names: Vec<String> = step
                .new_themes
                .iter()
                .map(|id| esc(&theme_name(insights, id)))
                .collect();
            let _ = writeln!(
                h,
                "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                i + 1,
                esc(file_name(&step.source)),
                esc(&step.participants.join(", ")),
                if names.is_empty() { "—".to_string() } else { names.join(", ") },
                step.total
            );
        }
        h.push_str("</tbody>\n</table>\n</details>\n");
    }
    h.push_str("</section>\n");

    // Appendix.
    h.push_str("<section id=\"appendix\" class=\"appendix\">\n<h2>Appendix</h2>\n");
    if !rest.is_empty() {
        h.push_str("<h3 id=\"more-findings\">More findings</h3>\n");
        for (i, story) in rest.iter().enumerate() {
            story_html(&mut h, &ctx, story, top.len() + i + 1, true);
        }
    }
    let storyless = kept_without_story(insights);
    if !storyless.is_empty() {
        h.push_str("<h3 id=\"other-kept\">Other kept themes</h3>\n<p>Kept by the filter, but without enough quotes for a story.</p>\n");
        h.push_str(&theme_table(&ctx, &storyless, "Why kept"));
    }
    h.push_str("<h3 id=\"dropped\">Dropped themes</h3>\n");
    let dropped_themes: Vec<&ThemeStats> = insights
        .themes
        .iter()
        .filter(|t| t.verdict == Verdict::Drop)
        .collect();
    if dropped_themes.is_empty() {
        h.push_str("<p class=\"empty\">The filter dropped no theme.</p>\n");
    } else {
        h.push_str("<p>Mentioned, but neither common nor severe enough to report. Each with the rule that dropped it.</p>\n");
        h.push_str(&theme_table(&ctx, &dropped_themes, "Why dropped"));
    }

    h.push_str("<h3 id=\"participants\">Participants</h3>\n");
    if insights.participants.is_empty() {
        h.push_str("<p class=\"empty\">No participant was identified.</p>\n");
    } else {
        let keys = attribute_keys(insights);
        let _ = write!(
            h,
            "<div class=\"scroll\"><table>\n<thead><tr><th>Participant</th><th>{}</th><th>Language</th>",
            source_heading(insights)
        );
        for k in &keys {
            let _ = write!(h, "<th>{}</th>", esc(&capitalise(k)));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for p in &insights.participants {
            let lang = p
                .language
                .as_deref()
                .map(super::markdown::language_name)
                .unwrap_or_else(|| "—".into());
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"file\">{}</td><td>{}</td>",
                esc(&p.id),
                esc(file_name(&p.source)),
                esc(&lang)
            );
            for k in &keys {
                let _ = write!(
                    h,
                    "<td>{}</td>",
                    p.attributes
                        .get(k)
                        .map(|v| esc(v))
                        .unwrap_or_else(|| "—".into())
                );
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table></div>\n");
    }

    if !insights.failures.is_empty() {
        h.push_str("<h3 id=\"failures\">Failures</h3>\n<p>These inputs could not be used; the brief is based on the others.</p>\n<ul class=\"failures\">\n");
        for f in &insights.failures {
            let _ = writeln!(
                h,
                "<li><span class=\"file\">{}</span>: {}</li>",
                esc(file_name(&f.source)),
                esc(&scrub_paths(&f.error, &f.source))
            );
        }
        h.push_str("</ul>\n");
    }

    h.push_str("<h3 id=\"method\">How this brief was made</h3>\n<ul class=\"method\">\n");
    for line in method_notes(insights) {
        let _ = writeln!(h, "<li>{}</li>", esc(&line));
    }
    h.push_str("</ul>\n</section>\n");
    let date = date_of(&insights.study.generated);
    let _ = writeln!(
        h,
        "<footer class=\"colophon\">{}{}</footer>",
        esc(if insights.study.tool.trim().is_empty() {
            "sowhat"
        } else {
            insights.study.tool.trim()
        }),
        if date.is_empty() {
            String::new()
        } else {
            format!(" · {}", esc(&date))
        }
    );
    h.push_str("</main>\n");

    // The player: one <audio> per recording, shown when a timestamp is clicked.
    if !ctx.audio_ids.is_empty() {
        h.push_str("<div id=\"player\" class=\"player\" hidden>\n<span class=\"now\" aria-live=\"polite\"></span>\n");
        for (source, id) in &ctx.audio_ids {
            let _ = writeln!(
                h,
                "<audio id=\"{}\" preload=\"none\" controls hidden src=\"{}\" title=\"{}\"></audio>",
                id,
                esc(&ctx.media_href[source]),
                // The recording's name (for an imported transcript, the one beside it).
                esc(file_name(opts.media.get(source).map_or(source.as_str(), |m| m.as_str())))
            );
        }
        h.push_str("<button type=\"button\" class=\"close\" aria-label=\"Stop and close the player\">×</button>\n</div>\n");
        h.push_str("<script>\n");
        h.push_str(JS);
        h.push_str("</script>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// What the writer works out once: totals, anchors, recordings.
struct Ctx<'a> {
    insights: &'a Insights,
    n_total: usize,
    /// theme id → anchor of its story or its table row.
    anchors: BTreeMap<String, String>,
    /// quote source → `rec-N`, for recordings with media that a shown quote uses.
    audio_ids: BTreeMap<String, String>,
    /// quote source → percent-encoded href.
    media_href: BTreeMap<String, String>,
    /// participant id → language code (for `lang` on quotes).
    languages: BTreeMap<String, String>,
}

impl<'a> Ctx<'a> {
    fn new(insights: &'a Insights, opts: &BriefOptions) -> Self {
        let mut used = BTreeSet::new();
        let mut anchors = BTreeMap::new();
        for s in &insights.stories {
            if !anchors.contains_key(&s.theme) {
                anchors.insert(s.theme.clone(), unique_id("story", &s.theme, &mut used));
            }
        }
        for t in &insights.themes {
            if !anchors.contains_key(&t.id) {
                anchors.insert(t.id.clone(), unique_id("theme", &t.id, &mut used));
            }
        }
        let mut media_href = BTreeMap::new();
        let mut audio_ids = BTreeMap::new();
        for s in &insights.stories {
            for q in shown_quotes(s) {
                if audio_ids.contains_key(&q.source) {
                    continue;
                }
                if let Some(href) = opts.media.get(&q.source).map(|h| encode_path(h)) {
                    if href.is_empty() {
                        continue;
                    }
                    let id = format!("rec-{}", audio_ids.len() + 1);
                    audio_ids.insert(q.source.clone(), id);
                    media_href.insert(q.source.clone(), href);
                }
            }
        }
        let languages = insights
            .participants
            .iter()
            .filter_map(|p| p.language.as_ref().map(|l| (p.id.clone(), l.clone())))
            .filter(|(_, l)| {
                !l.is_empty()
                    && l.len() <= 12
                    && l.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
            })
            .collect();
        Ctx {
            insights,
            n_total: insights.participants.len(),
            anchors,
            audio_ids,
            media_href,
            languages,
        }
    }

    fn story_anchor(&self, story: &Story) -> &str {
        self.anchors
            .get(&story.theme)
            .map(String::as_str)
            .unwrap_or("findings")
    }

    fn theme_anchor(&self, theme: &ThemeStats) -> &str {
        self.anchors
            .get(&theme.id)
            .map(String::as_str)
            .unwrap_or("matrix")
    }
}

fn story_html(h: &mut String, ctx: &Ctx, story: &Story, number: usize, compact: bool) {
    let theme = theme_of(ctx.insights, &story.theme);
    let kind = theme.map(|t| t.kind.as_str()).unwrap_or("neutral");
    let _ = writeln!(
        h,
        "<article class=\"story {}{}\" id=\"{}\">",
        kind,
        if compact { " compact" } else { "" },
        ctx.story_anchor(story)
    );
    // The number beside the headline; the headline itself starts with the theme's name.
    let _ = writeln!(
        h,
        "<h3 class=\"story-head\"><span class=\"num\">{}</span><span>{}</span></h3>",
        number,
        esc(&story.headline)
    );

    // Badge line: kind, n of N (with dots), severity, confidence, single source.
    h.push_str("<p class=\"badges\">");
    let words = badge_words(theme, story, ctx.n_total);
    let mut words = words.into_iter();
    if let Some(t) = theme {
        let _ = write!(
            h,
            "<span class=\"badge kind\">{}</span>",
            esc(&words.next().unwrap_or_default())
        );
        if t.origin == Origin::Discovered {
            let _ = write!(
                h,
                "<span class=\"badge disc\" title=\"{}\">{}</span>",
                esc(&t.description),
                esc(&words.next().unwrap_or_default())
            );
        }
        let phrase = words.next().unwrap_or_default();
        let _ = write!(
            h,
            "<span class=\"badge people\" title=\"{}\">{}{}</span>",
            esc(&t.participants.join(", ")),
            people_dots(t, ctx.n_total),
            esc(&phrase)
        );
        if t.severity > 0 {
            let _ = write!(
                h,
                "<span class=\"badge sev sev{}\">{}</span>",
                t.severity.min(4),
                esc(&capitalise(&words.next().unwrap_or_default()))
            );
        }
    }
    let _ = write!(
        h,
        "<span class=\"badge conf {}\">{}</span>",
        confidence_word(story.confidence),
        esc(&capitalise(&words.next().unwrap_or_default()))
    );
    if let Some(flag) = words.next() {
        let _ = write!(h, "<span class=\"badge flag\" title=\"Kept on one participant's critical evidence alone\">{}</span>", esc(&flag));
    }
    h.push_str("</p>\n");

    if !story.observation.trim().is_empty() {
        let _ = writeln!(h, "<p class=\"obs\">{}</p>", esc(story.observation.trim()));
    }
    if let Some(seg) = theme.and_then(segments_line) {
        let _ = writeln!(
            h,
            "<p class=\"segments\"><span>By segment</span> {}</p>",
            esc(&seg)
        );
    }
    let quotes = shown_quotes(story);
    if !quotes.is_empty() {
        h.push_str("<div class=\"quotes\">\n");
        for q in quotes {
            quote_html(h, ctx, q);
        }
        h.push_str("</div>\n");
    }
    if !story.implication.trim().is_empty() {
        let _ = writeln!(
            h,
            "<div class=\"sowhat\"><h4>So what?</h4><p>{}</p></div>",
            esc(story.implication.trim())
        );
    }
    let reason = story.confidence_reason.trim();
    let _ = writeln!(
        h,
        "<p class=\"confidence\"><b>Confidence: {}.</b>{}{}</p>",
        confidence_word(story.confidence),
        if reason.is_empty() { "" } else { " " },
        esc(reason)
    );
    h.push_str("</article>\n");
}

fn quote_html(h: &mut String, ctx: &Ctx, q: &Quote) {
    let lang = ctx
        .languages
        .get(&q.participant)
        .map(|l| format!(" lang=\"{}\"", esc(l)))
        .unwrap_or_default();
    let _ = writeln!(h, "<blockquote class=\"quote\"{}>", lang);
    let _ = writeln!(h, "<p>{}</p>", esc(q.text.trim()));
    let _ = write!(
        h,
        "<footer><span class=\"who\" title=\"{}\">— {}</span>",
        esc(file_name(&q.source)),
        esc(&q.participant)
    );
    if let Some(start) = q.start {
        let time = format_time(start);
        h.push_str(" · ");
        match (ctx.audio_ids.get(&q.source), ctx.media_href.get(&q.source)) {
            (Some(id), Some(href)) => {
                let start = if start.is_finite() && start > 0.0 {
                    start
                } else {
                    0.0
                };
                let label = format!("{} · {} · {}", q.participant, file_name(&q.source), time);
                let _ = write!(
                    h,
                    "<a class=\"ts\" href=\"{}#t={:.1}\" data-audio=\"{}\" data-start=\"{:.2}\" data-label=\"{}\" title=\"Listen from {} in {}\"><span class=\"play\" aria-hidden=\"true\">▶</span>{}</a>",
                    esc(href),
                    start,
                    id,
                    start,
                    esc(&label),
                    time,
                    esc(file_name(&q.source)),
                    time
                );
            }
            _ => {
                let _ = write!(h, "<span class=\"ts\">{}</span>", time);
            }
        }
    }
    if let Some(c) = q.confidence {
        if c < 0.6 {
            h.push_str(" · <span class=\"unclear\" title=\"The speech recogniser was unsure of these words: listen before quoting them.\">unclear audio</span>");
        }
    }
    h.push_str("</footer>\n</blockquote>\n");
}

fn theme_table(ctx: &Ctx, themes: &[&ThemeStats], why: &str) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<div class=\"scroll\"><table class=\"themes\">\n<thead><tr><th>Theme</th><th>Kind</th><th class=\"num\">Participants</th><th>Severity</th><th>{}</th></tr></thead>\n<tbody>",
        esc(why)
    );
    for t in themes {
        let _ = write!(
            h,
            "<tr id=\"{}\"><td><span class=\"dot {}\"></span>{}",
            ctx.theme_anchor(t),
            t.kind.as_str(),
            esc(&t.name)
        );
        if t.origin == Origin::Discovered {
            h.push_str(" <span class=\"badge disc\">discovered</span>");
        }
        if !t.description.trim().is_empty() {
            let _ = write!(h, "<div class=\"desc\">{}</div>", esc(t.description.trim()));
        }
        let _ = writeln!(
            h,
            "</td><td>{}</td><td class=\"num\">{}</td><td class=\"nowrap\">{} · {}</td><td>{}</td></tr>",
            t.kind.as_str(),
            esc(&participants_fraction(t, ctx.n_total)),
            t.severity,
            severity_word(t.severity),
            esc(&t.reason).replace(" %", "\u{a0}%")
        );
    }
    h.push_str("</tbody>\n</table></div>\n");
    h
}

/// ●●●○○○ — participants with the theme out of all participants (up to 40).
fn people_dots(theme: &ThemeStats, n_total: usize) -> String {
    let n = theme.participants.len().min(n_total);
    if n_total == 0 || n_total > 40 {
        return String::new();
    }
    let mut s = String::from("<span class=\"dots\" aria-hidden=\"true\">");
    for i in 0..n_total {
        s.push_str(if i < n {
            "<i class=\"on\"></i>"
        } else {
            "<i></i>"
        });
    }
    s.push_str("</span>");
    s
}

fn kind_colour(kind: ThemeKind) -> (&'static str, &'static str) {
    // (fill, stroke)
    match kind {
        ThemeKind::Pain => ("#e5534b", "#a8261f"),
        ThemeKind::Delight => ("#3fa36b", "#1d6b40"),
        ThemeKind::Request => ("#4a7fe0", "#1f4fa8"),
        ThemeKind::Neutral => ("#98a2b3", "#5b6475"),
    }
}

// ---------------------------------------------------------------------------------------------
// Charts.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Rect {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Rect {
    fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    fn inside(&self, o: &Rect) -> bool {
        self.x0 >= o.x0 && self.x1 <= o.x1 && self.y0 >= o.y0 && self.y1 <= o.y1
    }
}

/// Roughly how wide a label is at `size` px in a system sans-serif.
/// Errs on the wide side (DejaVu Sans, the Linux fallback, is wider than most), so labels
/// never run into bubbles.
fn text_width(s: &str, size: f64, bold: bool) -> f64 {
    let w: f64 = s
        .chars()
        .map(|c| {
            if c.is_uppercase() || c == 'm' || c == 'w' {
                0.74
            } else if matches!(
                c,
                'i' | 'l' | 'j' | 't' | 'f' | 'r' | ' ' | '.' | ',' | '\''
            ) {
                0.36
            } else {
                0.6
            }
        })
        .sum();
    w * size * if bold { 1.07 } else { 1.0 }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t = t.trim_end().to_string();
        t.push('…');
        t
    }
}

/// Prevalence (across) × severity (up), one bubble per theme.
fn matrix_svg<'a>(ctx: &Ctx<'a>) -> (String, Vec<&'a ThemeStats>) {
    let mut key: Vec<&ThemeStats> = Vec::new();
    const W: f64 = 720.0;
    const H: f64 = 460.0;
    let (l, r, t, b) = (92.0, 20.0, 20.0, 50.0);
    let pw = W - l - r;
    let ph = H - t - b;
    let x = |p: f64| l + (p.clamp(0.0, 1.0) * 0.94 + 0.03) * pw;
    let y = |s: f64| t + (1.0 - (s + 0.5) / 5.0) * ph;
    let band = ph / 5.0;
    let split_x = x(0.3);
    let split_y = y(2.5);

    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg class=\"matrix\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"matrix-title\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,sans-serif\">\n<title id=\"matrix-title\">Priority matrix: prevalence against severity for each theme</title>"
    );
    // "Fix first" quadrant.
    let _ = writeln!(
        s,
        "<rect x=\"{:.1}\" y=\"{t}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#fdf0ef\"/>",
        split_x,
        l + pw - split_x,
        split_y - t
    );
    // Grid: severity rows and prevalence columns.
    for sev in 0..=4u8 {
        let yy = y(sev as f64);
        let _ = writeln!(
            s,
            "<line x1=\"{l}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e4e7ec\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#5b6475\"><tspan font-weight=\"600\" fill=\"#1d2433\">{sev}</tspan> {}</text>",
            l + pw,
            l - 8.0,
            yy + 4.0,
            severity_word(sev)
        );
    }
    for p in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let xx = x(p);
        let _ = writeln!(
            s,
            "<line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{t}\" y2=\"{:.1}\" stroke=\"#eef0f3\"/><text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#5b6475\">{}%</text>",
            t + ph,
            t + ph + 18.0,
            (p * 100.0) as u32
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{split_x:.1}\" x2=\"{split_x:.1}\" y1=\"{t}\" y2=\"{:.1}\" stroke=\"#98a2b3\" stroke-dasharray=\"4 4\"/><line x1=\"{l}\" x2=\"{:.1}\" y1=\"{split_y:.1}\" y2=\"{split_y:.1}\" stroke=\"#98a2b3\" stroke-dasharray=\"4 4\"/>",
        t + ph,
        l + pw
    );
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#5b6475\">Prevalence: share of participants who raised it</text>",
        l + pw / 2.0,
        H - 10.0
    );
    let _ = writeln!(
        s,
        "<text transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\" fill=\"#5b6475\">Severity of the strongest evidence</text>",
        t + ph / 2.0
    );
    // Quadrant hints.
    let hint = |s: &mut String, x: f64, y: f64, anchor: &str, text: &str, strong: bool| {
        let _ = writeln!(
            s,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" font-size=\"11\" letter-spacing=\"0.08em\" font-weight=\"700\" fill=\"{}\">{}</text>",
            if strong { "#b42318" } else { "#98a2b3" },
            text
        );
    };
    let mut hints = vec![
        (l + pw - 8.0, t + 16.0, "end", "FIX FIRST", true),
        (l + 8.0, t + 16.0, "start", "SEVERE FOR A FEW", false),
        (l + pw - 8.0, t + ph - 8.0, "end", "COMMON, MILD", false),
        (l + 8.0, t + ph - 8.0, "start", "LOW PRIORITY", false),
    ];
    let mut placed: Vec<Rect> = hints
        .iter()
        .map(|(hx, hy, anchor, text, _)| {
            let w = text_width(text, 11.0, true) * 1.1;
            let x0 = if *anchor == "end" { hx - w } else { *hx };
            Rect {
                x0,
                y0: hy - 11.0,
                x1: x0 + w,
                y1: hy + 2.0,
            }
        })
        .collect();
    for (hx, hy, anchor, text, strong) in hints.drain(..) {
        hint(&mut s, hx, hy, anchor, text, strong);
    }

    // Bubbles: kept themes first, then by priority, so the important ones get the best labels.
    let mut themes: Vec<&'a ThemeStats> = ctx.insights.themes.iter().collect();
    themes.sort_by(|a, b| {
        (a.verdict == Verdict::Drop)
            .cmp(&(b.verdict == Verdict::Drop))
            .then(b.priority.total_cmp(&a.priority))
    });
    let max_mentions = themes.iter().map(|t| t.mentions).max().unwrap_or(1).max(1) as f64;
    let dense = themes.len() > 14;
    let mut bubbles: Vec<(f64, f64, f64, f64)> = themes
        .iter()
        .map(|th| {
            let (r_min, r_range) = if dense { (6.0, 11.0) } else { (7.0, 15.0) };
            let r = r_min + r_range * (th.mentions as f64 / max_mentions).sqrt();
            let cy = y(th.severity.min(4) as f64);
            (x(th.prevalence), cy, r, cy)
        })
        .collect();
    // Separate overlapping bubbles vertically, within their severity row.
    let limit = band * 0.42;
    for _ in 0..200 {
        let mut moved = false;
        for i in 0..bubbles.len() {
            for j in (i + 1)..bubbles.len() {
                let (xi, yi, ri, _) = bubbles[i];
                let (xj, yj, rj, _) = bubbles[j];
                let dx = xj - xi;
                let dy = yj - yi;
                let need = ri + rj + 2.0;
                if dx * dx + dy * dy < need * need {
                    let gap = (need * need - dx * dx).max(0.0).sqrt() - dy.abs();
                    let push = (gap / 2.0).max(0.5);
                    let dir = if dy > 0.0 || (dy == 0.0 && i % 2 == 0) {
                        1.0
                    } else {
                        -1.0
                    };
                    bubbles[i].1 -= dir * push;
                    bubbles[j].1 += dir * push;
                    moved = true;
                }
            }
        }
        for bb in bubbles.iter_mut() {
            bb.1 = bb.1.clamp(bb.3 - limit, bb.3 + limit);
        }
        if !moved {
            break;
        }
    }
    let plot = Rect {
        x0: l + 2.0,
        y0: t + 2.0,
        x1: l + pw - 2.0,
        y1: t + ph - 2.0,
    };
    let bubble_rects: Vec<Rect> = bubbles
        .iter()
        .map(|(cx, cy, r, _)| Rect {
            x0: cx - r,
            y0: cy - r,
            x1: cx + r,
            y1: cy + r,
        })
        .collect();
    let mut svg_bubbles = String::new();
    let mut svg_labels = String::new();
    for (i, th) in themes.iter().enumerate() {
        let (cx, cy, r, _) = bubbles[i];
        let kept = th.verdict == Verdict::Keep;
        let (fill, stroke) = kind_colour(th.kind);
        let tip = format!(
            "{} — {} ({}), severity {} {}, {} mentions, priority {:.2}, {}",
            th.name,
            participants_phrase(th, ctx.n_total),
            percent(th.prevalence),
            th.severity,
            severity_word(th.severity),
            th.mentions,
            th.priority,
            if kept { "kept" } else { "dropped" }
        );
        let _ = write!(
            svg_bubbles,
            "<a href=\"#{}\"><title>{}</title>",
            ctx.theme_anchor(th),
            esc(&tip)
        );
        if kept {
            let _ = write!(
                svg_bubbles,
                "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{r:.1}\" fill=\"{fill}\" fill-opacity=\"0.78\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>"
            );
        } else {
            let _ = write!(
                svg_bubbles,
                "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"{r:.1}\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"{stroke}\" stroke-opacity=\"0.8\" stroke-width=\"1.5\" stroke-dasharray=\"3 3\"/>"
            );
        }
        svg_bubbles.push_str("</a>\n");

        // Label: right, left, above, below, then further out; never over a bubble or label.
        let text = truncate(&th.name, 40);
        let fs = 12.0;
        let w = text_width(&text, fs, kept);
        let hgt = 15.0;
        // (text-anchor, its x, rect's left edge, rect's top): the anchor pins the end of the
        // label that faces the bubble, whatever the real font's width.
        let right = |xa: f64, y0: f64| ("start", xa, xa, y0);
        let left = |xa: f64, y0: f64| ("end", xa, xa - w, y0);
        let mid = |y0: f64| ("middle", cx, cx - w / 2.0, y0);
        let candidates = [
            right(cx + r + 5.0, cy - hgt / 2.0),
            left(cx - r - 5.0, cy - hgt / 2.0),
            mid(cy - r - 3.0 - hgt),
            mid(cy + r + 3.0),
            right(cx + r * 0.7 + 4.0, cy - r - hgt + 2.0),
            right(cx + r * 0.7 + 4.0, cy + r - 2.0),
            left(cx - r * 0.7 - 4.0, cy - r - hgt + 2.0),
            left(cx - r * 0.7 - 4.0, cy + r - 2.0),
            right(cx + r + 5.0, cy - hgt * 1.6),
            right(cx + r + 5.0, cy + hgt * 0.6),
            left(cx - r - 5.0, cy - hgt * 1.6),
            left(cx - r - 5.0, cy + hgt * 0.6),
        ];
        let mut chosen = None;
        for (anchor, xa, x0, y0) in candidates {
            let rect = Rect {
                x0,
                y0,
                x1: x0 + w,
                y1: y0 + hgt,
            };
            if !rect.inside(&plot) {
                continue;
            }
            let hits_label = placed.iter().any(|p| p.overlaps(&rect));
            let hits_bubble = bubble_rects
                .iter()
                .enumerate()
                .any(|(j, br)| j != i && shrink(br, 2.0).overlaps(&rect));
            if !hits_label && !hits_bubble {
                chosen = Some((anchor, xa, rect));
                break;
            }
        }
        match chosen {
            Some((anchor, xa, rect)) => {
                placed.push(rect);
                let _ = writeln!(
                    svg_labels,
                    "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{}\" font-size=\"{fs}\" fill=\"{}\"{} class=\"lbl\">{}</text>",
                    xa,
                    rect.y1 - 3.5,
                    anchor,
                    if kept { "#1d2433" } else { "#667085" },
                    if kept { " font-weight=\"600\"" } else { "" },
                    esc(&text)
                );
            }
            None => {
                // No room for the name: number the bubble and name it in the key below.
                key.push(*th);
                let _ = writeln!(
                    svg_labels,
                    "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" font-weight=\"700\" fill=\"{}\" class=\"lbl\">{}</text>",
                    cy + 4.0,
                    if kept { "#ffffff" } else { "#475467" },
                    key.len()
                );
            }
        }
    }
    s.push_str(&svg_bubbles);
    s.push_str(&svg_labels);
    s.push_str("</svg>\n");
    (s, key)
}

fn shrink(r: &Rect, by: f64) -> Rect {
    Rect {
        x0: r.x0 + by,
        y0: r.y0 + by,
        x1: r.x1 - by,
        y1: r.y1 - by,
    }
}

/// Cumulative themes per interview (step line) and new themes per interview (bars).
fn saturation_svg(ctx: &Ctx) -> String {
    let steps = &ctx.insights.saturation.steps;
    let n = steps.len().max(1);
    const W: f64 = 720.0;
    const H: f64 = 270.0;
    let (l, r, t, b) = (44.0, 16.0, 34.0, 40.0);
    let pw = W - l - r;
    let ph = H - t - b;
    let max_total = steps
        .iter()
        .map(|s| s.total.max(s.new_themes.len()))
        .max()
        .unwrap_or(0)
        .max(1);
    let y_max = nice_ceiling(max_total);
    let y = |v: f64| t + ph - v / y_max as f64 * ph;
    let bw = pw / n as f64;
    let bar_w = (bw * 0.5).min(26.0);

    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg class=\"saturation\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"sat-title\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,sans-serif\">\n<title id=\"sat-title\">Themes found so far after each interview, and new themes per interview</title>"
    );
    // Trailing interviews that added no kept theme.
    let adds_kept = |step: &crate::types::SaturationStep| {
        step.new_themes.iter().any(|id| {
            theme_of(ctx.insights, id)
                .map(|t| t.verdict == Verdict::Keep)
                .unwrap_or(false)
        })
    };
    let trailing = steps.iter().rev().take_while(|s| !adds_kept(s)).count();
    if trailing > 0 && trailing < steps.len() {
        let x0 = l + bw * (steps.len() - trailing) as f64;
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#e6f4ec\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" font-weight=\"700\" letter-spacing=\"0.06em\" fill=\"#1d6b40\">NO NEW KEPT THEME</text>",
            t - 20.0,
            l + pw - x0,
            ph + 20.0,
            (x0 + l + pw) / 2.0,
            t - 7.0
        );
    }
    // Grid.
    let step_v = if y_max <= 10 {
        2
    } else if y_max <= 25 {
        5
    } else {
        10
    };
    let mut v = 0;
    while v <= y_max {
        let yy = y(v as f64);
        let _ = writeln!(
            s,
            "<line x1=\"{l}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e4e7ec\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\" fill=\"#5b6475\">{v}</text>",
            l + pw,
            l - 8.0,
            yy + 4.0
        );
        v += step_v;
    }
    // Bars.
    let label_every = if n > 24 {
        3
    } else if n > 14 {
        2
    } else {
        1
    };
    for (i, step) in steps.iter().enumerate() {
        let cx = l + bw * (i as f64 + 0.5);
        let kept_new = step
            .new_themes
            .iter()
            .filter(|id| {
                theme_of(ctx.insights, id)
                    .map(|t| t.verdict == Verdict::Keep)
                    .unwrap_or(false)
            })
            .count();
        let other_new = step.new_themes.len() - kept_new;
        let names: Vec<String> = step
            .new_themes
            .iter()
            .map(|id| theme_name(ctx.insights, id))
            .collect();
        let tip = format!(
            "{} ({}): {} new — {}; {} so far",
            file_name(&step.source),
            step.participants.join(", "),
            step.new_themes.len(),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
            step.total
        );
        let _ = write!(s, "<g><title>{}</title>", esc(&tip));
        let y_base = y(0.0);
        let y_kept = y(kept_new as f64);
        let y_all = y((kept_new + other_new) as f64);
        if kept_new > 0 {
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{y_kept:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" fill=\"#3b3f99\" rx=\"2\"/>",
                cx - bar_w / 2.0,
                y_base - y_kept
            );
        }
        if other_new > 0 {
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{y_all:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" fill=\"#c7cbe8\" rx=\"2\"/>",
                cx - bar_w / 2.0,
                y_kept - y_all
            );
        }
        // Invisible hit area so the tooltip works on the whole column.
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{t}\" width=\"{bw:.1}\" height=\"{ph:.1}\" fill=\"transparent\"/>",
            cx - bw / 2.0
        );
        let new = step.new_themes.len();
        if new > 0 && bw >= 26.0 {
            let bar_h = y_base - y_all;
            if bar_h >= 16.0 && kept_new > 0 {
                let _ = write!(
                    s,
                    "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" font-weight=\"700\" fill=\"#ffffff\">+{new}</text>",
                    y_base - 5.0
                );
            } else {
                let _ = write!(
                    s,
                    "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" font-weight=\"700\" fill=\"{}\">+{new}</text>",
                    y_all - 4.0,
                    if kept_new > 0 { "#3b3f99" } else { "#667085" }
                );
            }
        }
        if i % label_every == 0 || i + 1 == steps.len() {
            let label = step
                .participants
                .first()
                .cloned()
                .unwrap_or_else(|| (i + 1).to_string());
            let _ = write!(
                s,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#5b6475\">{}</text>",
                t + ph + 16.0,
                esc(&truncate(&label, 8))
            );
        }
        s.push_str("</g>\n");
    }
    // Step line of the running total.
    let mut d = String::new();
    for (i, step) in steps.iter().enumerate() {
        let x0 = l + bw * i as f64;
        let yy = y(step.total as f64);
        if i == 0 {
            let _ = write!(d, "M{:.1} {:.1}", x0 + bw * 0.5, yy);
        } else {
            let _ = write!(d, " V{:.1}", yy);
        }
        let _ = write!(
            d,
            " H{:.1}",
            if i + 1 == steps.len() {
                x0 + bw * 0.5
            } else {
                x0 + bw
            }
        );
    }
    let _ = writeln!(s, "<path d=\"{d}\" fill=\"none\" stroke=\"#1d2433\" stroke-width=\"2.2\" stroke-linejoin=\"round\"/>");
    let mut last_total = usize::MAX;
    for (i, step) in steps.iter().enumerate() {
        let cx = l + bw * (i as f64 + 0.5);
        let yy = y(step.total as f64);
        let _ = write!(
            s,
            "<circle cx=\"{cx:.1}\" cy=\"{yy:.1}\" r=\"3.2\" fill=\"#1d2433\"/>"
        );
        if (step.total != last_total && (bw >= 26.0 || i % 2 == 0)) || i + 1 == steps.len() {
            let _ = write!(
                s,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" font-weight=\"600\" fill=\"#1d2433\">{}</text>",
                yy - 8.0,
                step.total
            );
        }
        last_total = step.total;
    }
    let _ = writeln!(
        s,
        "\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#5b6475\">Interviews, in the order analysed</text>",
        l + pw / 2.0,
        H - 6.0
    );
    s.push_str("</svg>\n");
    s
}

fn nice_ceiling(v: usize) -> usize {
    if v <= 5 {
        v.max(1) + 1
    } else if v <= 10 {
        v.div_ceil(2) * 2 + if v.is_multiple_of(2) { 2 } else { 0 }
    } else {
        v.div_ceil(5) * 5 + if v.is_multiple_of(5) { 5 } else { 0 }
    }
}

// ---------------------------------------------------------------------------------------------
// Escaping and ids.
// ---------------------------------------------------------------------------------------------

/// Escapes text for HTML text and for attribute values (double- or single-quoted).
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newlines are not allowed in HTML.
            c if c.is_control() && c != '\t' && c != '\n' && c != '\r' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `prefix-slug`, unique within the page: only `[a-z0-9_-]` survives from the data.
fn unique_id(prefix: &str, raw: &str, used: &mut BTreeSet<String>) -> String {
    let mut slug = String::new();
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    let base = if slug.is_empty() {
        prefix.to_string()
    } else {
        format!("{}-{}", prefix, slug)
    };
    let mut id = base.clone();
    let mut n = 2;
    while used.contains(&id) {
        id = format!("{}-{}", base, n);
        n += 1;
    }
    used.insert(id.clone());
    id
}

/// Percent-encodes a relative path for an `href`/`src`: `/` stays, `\` becomes `/`, and
/// everything but unreserved characters is encoded — so `:` cannot start a scheme
/// (`javascript:`), and `#`, `?`, spaces and quotes in file names stay part of the path.
fn encode_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.trim().replace('\\', "/").bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{:02X}", b);
            }
        }
    }
    out
}

const CSS: &str = r#":root{--ink:#1d2433;--muted:#5b6475;--faint:#98a2b3;--line:#e4e7ec;--paper:#f6f7f9;--card:#fff;--accent:#3b3f99;
--pain:#c0362c;--pain-bg:#fdecea;--delight:#1f7a4d;--delight-bg:#e4f4ea;--request:#2456c7;--request-bg:#e8effc;--neutral:#5b6475;--neutral-bg:#eef0f3;
--sans:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;--serif:ui-serif,"Iowan Old Style","Palatino Linotype",Palatino,Georgia,Cambria,"Times New Roman",serif}
*{box-sizing:border-box}
html{font-size:17px;-webkit-text-size-adjust:100%}
body{margin:0;background:var(--paper);color:var(--ink);font-family:var(--sans);line-height:1.55}
.brief{max-width:47rem;margin:0 auto;padding:3.2rem 1.5rem 6rem}
a{color:var(--accent)}
h1,h2,h3,h4{line-height:1.2;text-wrap:balance}
h1{font-size:2.3rem;letter-spacing:-.015em;margin:.25rem 0 .5rem}
h2{font-size:1.4rem;margin:3.2rem 0 1.1rem;padding-top:.9rem;border-top:2px solid var(--ink)}
h3{font-size:1.15rem}
.eyebrow{margin:0;text-transform:uppercase;letter-spacing:.12em;font-size:.72rem;font-weight:700;color:var(--accent)}
.summary{margin:0;color:var(--muted);font-size:1.02rem}
.stats{list-style:none;display:flex;flex-wrap:wrap;gap:.5rem;margin:1.2rem 0 0;padding:0}
.stats li{background:var(--card);border:1px solid var(--line);border-radius:999px;padding:.22rem .8rem;font-size:.85rem;line-height:1.6rem;color:var(--muted)}
.stats b{color:var(--ink);font-size:.95rem}
.stats .sat.yes{background:var(--delight-bg);border-color:transparent;color:var(--delight);font-weight:600}
.stats .sat.no{background:#fff4e5;border-color:transparent;color:#93530d;font-weight:600}
.stats .warn{background:var(--pain-bg);border-color:transparent;color:var(--pain)}
.toc{margin:2rem 0 0;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1rem 1.3rem .9rem}
.toc h2{border:0;margin:0 0 .4rem;padding:0;font-size:.75rem;text-transform:uppercase;letter-spacing:.12em;color:var(--muted)}
.toc ol{margin:0;padding-left:1.4rem}
.toc li{margin:.22rem 0}
.toc li::marker{color:var(--faint);font-size:.85rem}
.toc a{text-decoration:none;color:var(--ink)}
.toc a:hover{color:var(--accent);text-decoration:underline}
.toc-n{color:var(--faint);font-size:.82rem;font-variant-numeric:tabular-nums;white-space:nowrap}
.toc-sections{margin:.7rem 0 0;padding-top:.6rem;border-top:1px solid var(--line);font-size:.9rem}
.toc-strengths{margin:.6rem 0 0;font-size:.9rem;color:var(--muted)}
.dot{display:inline-block;width:.55rem;height:.55rem;border-radius:50%;margin-right:.5rem;vertical-align:.08em;background:var(--neutral)}
.dot.pain{background:var(--pain)}.dot.delight{background:var(--delight)}.dot.request{background:var(--request)}
.story{--k:var(--neutral);--kbg:var(--neutral-bg);background:var(--card);border:1px solid var(--line);border-top:4px solid var(--k);border-radius:12px;padding:1.3rem 1.6rem 1.2rem;margin:0 0 1.6rem;break-inside:avoid;scroll-margin-top:1rem}
.story.pain{--k:var(--pain);--kbg:var(--pain-bg)}.story.delight{--k:var(--delight);--kbg:var(--delight-bg)}.story.request{--k:var(--request);--kbg:var(--request-bg)}
.story:target{box-shadow:0 0 0 3px var(--kbg)}
.story-head{display:flex;gap:.6rem;align-items:flex-start}
.story-head .num{flex:none;min-width:1.6rem;height:1.6rem;line-height:1.6rem;margin-top:.1rem;text-align:center;border-radius:50%;background:var(--k);color:#fff;font-size:.85rem;font-weight:700}
.story h3{font-size:1.38rem;margin:0 0 .6rem;letter-spacing:-.005em}
.story.compact h3{font-size:1.18rem}
.badges{display:flex;flex-wrap:wrap;gap:.35rem;margin:0 0 .9rem;padding:0}
.badge{display:inline-flex;align-items:center;gap:.4rem;font-size:.78rem;line-height:1.2;padding:.22rem .6rem;border-radius:999px;background:var(--neutral-bg);color:var(--ink);white-space:nowrap}
.badge.kind{background:var(--k);color:#fff;font-weight:700;text-transform:uppercase;letter-spacing:.06em;font-size:.7rem}
.badge.disc{background:#f3e8ff;color:#6b21a8}
.badge.sev1{background:#f2f4f7}.badge.sev2{background:#fff4e5;color:#93530d}.badge.sev3{background:#fde4d8;color:#a3360f;font-weight:600}.badge.sev4{background:#fbd5d2;color:#8f1d15;font-weight:700}
.badge.conf.high{background:#e4f4ea;color:#1d6b40}.badge.conf.medium{background:#f2f4f7;color:var(--muted)}.badge.conf.low{background:#fff4e5;color:#93530d}
.badge.flag{background:#fff4e5;color:#93530d;font-weight:600}
.dots{display:inline-flex;gap:2px}
.dots i{width:6px;height:6px;border-radius:50%;background:#d0d5dd}
.dots i.on{background:var(--k)}
.obs{margin:0 0 .6rem;font-size:1.02rem}
.segments{margin:0 0 .6rem;font-size:.84rem;color:var(--muted)}
.segments span{font-weight:600;color:var(--ink);margin-right:.3rem}
.quotes{margin:1rem 0}
.quote{margin:0 0 .85rem;padding:.15rem 0 .15rem 1rem;border-left:3px solid var(--k)}
.quote p{margin:0;font-family:var(--serif);font-size:1.1rem;line-height:1.5;quotes:"\201C" "\201D"}
.quote p::before{content:open-quote}.quote p::after{content:close-quote}
.quote footer{margin-top:.2rem;font-size:.82rem;color:var(--muted);font-variant-numeric:tabular-nums}
.quote .who{font-weight:600;color:var(--ink)}
.quote.playing{background:linear-gradient(90deg,var(--kbg),transparent 80%)}
.ts{font-variant-numeric:tabular-nums}
a.ts{display:inline-flex;align-items:center;gap:.3rem;text-decoration:none;color:var(--accent);font-weight:600;border-radius:999px;padding:.05rem .5rem .05rem .35rem;background:#eef0fb}
a.ts:hover,a.ts:focus-visible{background:var(--accent);color:#fff;outline:none}
.play{font-size:.62rem}
.unclear{color:#93530d}
.sowhat{background:var(--kbg);border-radius:8px;padding:.75rem 1rem;margin:1rem 0 .7rem}
.sowhat h4{margin:0 0 .2rem;font-size:.72rem;text-transform:uppercase;letter-spacing:.12em;color:var(--k)}
.sowhat p{margin:0;font-weight:500}
.confidence{margin:0;font-size:.85rem;color:var(--muted)}
.confidence b{color:var(--ink)}
.lede{color:var(--muted);margin:0 0 1rem}
.empty{background:var(--card);border:1px dashed var(--faint);border-radius:12px;padding:1.2rem 1.4rem;color:var(--muted)}
.chart{margin:0 -2.5rem;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1rem 1rem .6rem;break-inside:avoid}
.chart svg{display:block;width:100%;height:auto}
.matrix a circle{transition:stroke-width .1s}
.matrix a:hover circle{stroke-width:3}
.matrix text{pointer-events:none}
.matrix-key{font-size:.8rem;color:var(--muted);padding:.4rem .6rem 0;line-height:1.7}
.matrix-key a{color:var(--ink);text-decoration:none;white-space:nowrap}
.matrix-key .k{display:inline-block;min-width:1.2rem;text-align:center;border-radius:999px;background:var(--neutral-bg);font-weight:700;font-size:.72rem}
.legend{display:flex;flex-wrap:wrap;gap:.4rem 1.1rem;justify-content:center;font-size:.8rem;color:var(--muted);padding:.5rem 0 .2rem}
.legend span{display:inline-flex;align-items:center;gap:.35rem}
.sw{display:inline-block;width:.8rem;height:.8rem;border-radius:50%}
.sw.pain{background:#e5534b}.sw.delight{background:#3fa36b}.sw.request{background:#4a7fe0}.sw.neutral{background:#98a2b3}
.sw.dropped{border:1.5px dashed #667085;background:#fff}
.sw.line{height:3px;border-radius:2px;background:var(--ink);width:1.2rem}
.sw.newkept{border-radius:2px;background:#3b3f99}.sw.newdropped{border-radius:2px;background:#c7cbe8}
details.sat-table{margin:1rem 0 0}
details summary{cursor:pointer;color:var(--accent);font-size:.9rem}
.appendix>h3{margin:2.2rem 0 .6rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.86rem;background:var(--card);border:1px solid var(--line);border-radius:8px}
th,td{text-align:left;vertical-align:top;padding:.45rem .7rem;border-bottom:1px solid var(--line)}
th{font-size:.72rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);background:#fafbfc}
.nowrap{white-space:nowrap}
table.themes td:first-child{min-width:11rem}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.file{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.8rem}
.desc{color:var(--muted);font-size:.8rem;margin-top:.15rem}
.failures li,.method li{margin:.3rem 0}
.method{color:var(--muted);font-size:.92rem}
.colophon{margin-top:3rem;color:var(--faint);font-size:.8rem;text-align:center}
.player{position:fixed;left:50%;bottom:1rem;transform:translateX(-50%);display:flex;align-items:center;gap:.7rem;background:var(--ink);color:#fff;border-radius:999px;padding:.4rem .5rem .4rem 1.1rem;box-shadow:0 8px 30px rgba(16,24,40,.3);max-width:calc(100% - 2rem);z-index:10}
.player[hidden]{display:none}
.player .now{font-size:.82rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:16rem}
.player audio{height:2.2rem;max-width:22rem}
.player audio[hidden]{display:none}
.player .close{border:0;background:rgba(255,255,255,.15);color:#fff;width:2rem;height:2rem;border-radius:50%;font-size:1.1rem;cursor:pointer}
@media (max-width:52rem){.chart{margin:0}}
@media (max-width:34rem){html{font-size:16px}.brief{padding:2rem 1rem 5rem}.story{padding:1.1rem 1.1rem 1rem}h1{font-size:1.8rem}}
@media print{
html{font-size:9.5pt}
body{background:#fff}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
@page{margin:14mm 14mm 16mm}
.brief{max-width:none;padding:0}
.player,audio,button,.play,details{display:none!important}
.masthead,.toc{break-inside:avoid}
.toc{margin-top:1.2rem}
h2{margin:1.8rem 0 .8rem}
.story{padding:.9rem 1.2rem .8rem;margin-bottom:1rem;border:1px solid #d0d5dd;border-top:4px solid var(--k);box-shadow:none}
.story h3{font-size:1.25rem}
.quotes{margin:.6rem 0}
.quote{margin-bottom:.55rem}
.quote p{font-size:1.02rem}
.sowhat{margin:.6rem 0 .5rem;padding:.55rem .9rem}
.story,.chart,figure,tr,blockquote,.masthead{break-inside:avoid;page-break-inside:avoid}
h2,h3,h4,.lede{break-after:avoid;page-break-after:avoid}
.lede{break-inside:avoid;page-break-inside:avoid}
a{color:inherit;text-decoration:none}
a.ts{background:none;padding:0;color:var(--muted);font-weight:400}
.chart{margin:0;padding:.6rem .6rem .3rem}
.stats li{border-color:#d0d5dd}
}
"#;

const JS: &str = r#"(function(){
var bar=document.getElementById('player');if(!bar)return;
var now=bar.querySelector('.now'),current=null,lit=null;
function stop(except){var all=bar.querySelectorAll('audio');for(var i=0;i<all.length;i++){var a=all[i];if(a!==except){a.pause();a.hidden=true;}}}
document.addEventListener('click',function(e){
var b=e.target.closest?e.target.closest('a.ts[data-audio]'):null;if(!b)return;
var a=document.getElementById(b.getAttribute('data-audio'));if(!a)return;
e.preventDefault();
var t=parseFloat(b.getAttribute('data-start'))||0;
stop(a);a.hidden=false;bar.hidden=false;now.textContent=b.getAttribute('data-label');current=a;
if(lit)lit.classList.remove('playing');lit=b.closest('blockquote');if(lit)lit.classList.add('playing');
if(a.readyState>0){a.currentTime=t;}else{
a.addEventListener('loadedmetadata',function(){if(Math.abs(a.currentTime-t)>0.5)a.currentTime=t;},{once:true});
try{a.currentTime=t;}catch(_){}}
var p=a.play();if(p&&p.catch)p.catch(function(){});
});
bar.querySelector('.close').addEventListener('click',function(){stop(null);bar.hidden=true;if(lit)lit.classList.remove('playing');lit=null;});
document.addEventListener('keydown',function(e){if(e.key==='Escape'&&!bar.hidden){stop(null);bar.hidden=true;if(lit)lit.classList.remove('playing');lit=null;}});
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::*;
    use crate::types::*;

    fn media(pairs: &[(&str, &str)]) -> BriefOptions {
        BriefOptions {
            top: 7,
            media: pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        }
    }

    /// Every `<tag` in the page is one the writer produces.
    fn tags(html: &str) -> BTreeSet<String> {
        // Our own script and style may contain `<` (comparisons); skip them.
        let html = html.replace(JS, "").replace(CSS, "");
        let html = html.as_str();
        let mut out = BTreeSet::new();
        let bytes = html.as_bytes();
        for (i, _) in html.match_indices('<') {
            let rest = &html[i + 1..];
            let name: String = rest
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                .collect();
            let _ = bytes;
            if !name.is_empty() {
                out.insert(name.to_ascii_lowercase());
            }
        }
        out
    }

    #[test]
    fn hostile_data_comes_out_inert() {
        let mut ins = insights();
        let evil = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'";
        ins.study.title = evil.into();
        ins.study.tool = evil.into();
        ins.study.codebook = evil.into();
        ins.study.rules = evil.into();
        ins.study.languages = vec![evil.into()];
        ins.stories[0].headline = evil.into();
        ins.stories[0].observation = evil.into();
        ins.stories[0].implication = evil.into();
        ins.stories[0].confidence_reason = evil.into();
        ins.stories[0].quotes[0].text = evil.into();
        ins.stories[0].quotes[0].participant = evil.into();
        ins.stories[0].quotes[0].source = evil.into();
        ins.stories[0].theme = evil.into();
        ins.themes[0].id = evil.into();
        ins.themes[0].name = evil.into();
        ins.themes[0].description = evil.into();
        ins.themes[0].reason = evil.into();
        ins.themes[0].origin = Origin::Discovered;
        ins.themes[0].segments.insert(
            evil.into(),
            [(evil.to_string(), 2usize)].into_iter().collect(),
        );
        ins.themes[2].name = evil.into();
        ins.themes[2].reason = evil.into();
        ins.participants[0].id = evil.into();
        ins.participants[0].source = evil.into();
        ins.participants[0].language = Some(evil.into());
        ins.participants[0]
            .attributes
            .insert(evil.into(), evil.into());
        ins.saturation.statement = evil.into();
        ins.saturation.steps[0].source = evil.into();
        ins.saturation.steps[0].participants = vec![evil.into()];
        ins.saturation.steps[0].new_themes = vec![evil.into()];
        ins.failures.push(Failure {
            source: evil.into(),
            error: evil.into(),
        });
        let opts = media(&[(evil, "javascript:alert(3)\"><script>alert(4)</script>")]);
        let html = render(&ins, &opts);

        assert!(!html.contains("<script>alert"), "raw script tag leaked");
        assert!(!html.contains("<img"), "raw img tag leaked");
        // Every `onerror` is inside escaped text, never an attribute of a real element.
        assert_eq!(
            html.matches("onerror=").count(),
            html.matches("&lt;img src=x onerror=").count()
        );
        assert!(!html.contains("\"><img"), "attribute break-out leaked");
        assert!(
            !html.contains("src=\"javascript:"),
            "javascript: href leaked"
        );
        assert!(
            !html.contains("href=\"javascript:"),
            "javascript: href leaked"
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;"));
        // Only the writer's own elements exist; exactly one script, ours.
        let allowed: BTreeSet<String> = [
            "!doctype",
            "html",
            "head",
            "meta",
            "title",
            "style",
            "body",
            "main",
            "header",
            "p",
            "h1",
            "h2",
            "h3",
            "h4",
            "ul",
            "ol",
            "li",
            "b",
            "nav",
            "a",
            "span",
            "section",
            "article",
            "i",
            "div",
            "blockquote",
            "footer",
            "figure",
            "figcaption",
            "svg",
            "rect",
            "line",
            "text",
            "tspan",
            "circle",
            "g",
            "path",
            "details",
            "summary",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "audio",
            "button",
            "script",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let found = tags(&html);
        assert!(
            found.is_subset(&allowed),
            "unexpected tags: {:?}",
            found.difference(&allowed).collect::<Vec<_>>()
        );
        assert_eq!(html.matches("<script>").count(), 1);
        // The hostile quote source still gets a player, with an encoded href.
        assert!(
            html.contains(
                "src=\"javascript%3Aalert%283%29%22%3E%3Cscript%3Ealert%284%29%3C/script%3E\""
            ),
            "{}",
            html
        );
        // Ids stay plain.
        assert!(html.contains("id=\"story-script-alert-1-script-img-src-x-onerror-alert-2\""));
    }

    #[test]
    fn no_external_requests() {
        let html = render(
            &insights(),
            &media(&[("/home/r/rec/P01.m4a", "recordings/P01.m4a")]),
        );
        for bad in [
            "src=\"http",
            "href=\"http",
            "src=\"//",
            "href=\"//",
            "@import",
            "url(",
            "<link",
            "<img",
            "<iframe",
        ] {
            assert!(!html.contains(bad), "found {}", bad);
        }
        assert!(html.contains("Content-Security-Policy"));
    }

    #[test]
    fn media_gives_one_player_per_recording_and_seekable_timestamps() {
        let mut ins = insights();
        ins.stories[0]
            .quotes
            .push(quote("P01", "Twice.", Some(30.0)));
        let opts = media(&[("/home/r/rec/P01.m4a", "recordings/P01 call #1.m4a")]);
        let html = render(&ins, &opts);
        assert_eq!(html.matches("<audio ").count(), 1, "{}", html);
        assert!(html.contains("<audio id=\"rec-1\" preload=\"none\" controls hidden src=\"recordings/P01%20call%20%231.m4a\" title=\"P01 call #1.m4a\""));
        assert!(html.contains("href=\"recordings/P01%20call%20%231.m4a#t=761.9\" data-audio=\"rec-1\" data-start=\"761.90\""));
        assert!(html.contains("data-start=\"30.00\""));
        assert!(html.contains("00:12:41</a>"));
        // P03 has no media: plain text time; P02 has no time at all.
        assert!(html.contains("<span class=\"ts\">00:00:05</span>"));
        assert!(html.contains("— P02</span></footer>"), "{}", html);
        assert!(html.contains("<script>"));
    }

    #[test]
    fn without_media_timestamps_are_plain_text_and_no_script() {
        let html = render(&insights(), &BriefOptions::default());
        assert!(!html.contains("<audio"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("data-audio"));
        assert!(html.contains("<span class=\"ts\">00:12:41</span>"));
    }

    #[test]
    fn stories_have_anchors_and_a_table_of_contents() {
        let html = render(&insights(), &BriefOptions::default());
        assert!(html.contains("<article class=\"story pain\" id=\"story-a\">"));
        assert!(
            html.contains("<a href=\"#story-a\"><span class=\"dot pain\"></span>Headline a</a>")
        );
        assert!(html.contains("<a href=\"#story-b\">"));
        // The dropped theme has a row anchor the matrix links to.
        assert!(html.contains("<tr id=\"theme-c\">"));
        assert!(html.contains("<a href=\"#theme-c\">"));
    }

    #[test]
    fn top_moves_the_rest_to_the_appendix() {
        let html = render(
            &insights(),
            &BriefOptions {
                top: 1,
                ..Default::default()
            },
        );
        let appendix = html.find("id=\"appendix\"").unwrap();
        assert!(html.find("id=\"story-b\"").unwrap() > appendix);
        assert!(html.contains("class=\"story delight compact\""));
        assert!(html.contains("(1 more finding there)"));
        // The praise moved to the appendix is still named, and linked, in the contents.
        let strengths = html.find("class=\"toc-strengths\"").unwrap();
        assert!(html[strengths..].starts_with(
            "class=\"toc-strengths\"><span class=\"dot delight\"></span>Strengths: <a href=\"#story-b\">"
        ), "{}", &html[strengths..strengths + 200]);
        assert!(!render(&insights(), &BriefOptions::default()).contains("class=\"toc-strengths\""));
    }

    #[test]
    fn badges_and_print_rules() {
        let mut ins = insights();
        ins.themes[0].single_source = true;
        let html = render(&ins, &BriefOptions::default());
        assert!(html.contains("4 of 10 participants</span>"));
        assert!(html.contains("<span class=\"badge sev sev3\">Serious (3/4)</span>"));
        assert!(html.contains("High confidence"));
        assert!(html.contains("⚠ single source"));
        assert!(html.contains("@media print"));
        assert!(html.contains("break-inside:avoid"));
    }

    #[test]
    fn participants_and_failures_show_file_names_only() {
        let mut ins = insights();
        ins.failures.push(Failure {
            source: "/home/r/rec/P11.m4a".into(),
            error: "could not decode /home/r/rec/P11.m4a: unsupported codec".into(),
        });
        let html = render(&ins, &BriefOptions::default());
        assert!(!html.contains("/home/r"), "absolute path leaked");
        assert!(html.contains("<td class=\"file\">P01.m4a</td>"));
        assert!(html.contains("could not decode P11.m4a"));
    }

    #[test]
    fn empty_insights_render_a_sensible_page() {
        let ins = Insights::default();
        let html = render(&ins, &BriefOptions::default());
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.ends_with("</html>\n"));
        assert!(
            html.contains("No theme passed the &quot;so what?&quot; filter"),
            "{}",
            html
        );
        assert!(html.contains("nothing to plot"));
        assert!(!html.contains("<svg"));
    }

    #[test]
    fn charts_are_drawn_with_one_bubble_per_theme() {
        let html = render(&insights(), &BriefOptions::default());
        let matrix = &html[html.find("<svg class=\"matrix\"").unwrap()..];
        let matrix = &matrix[..matrix.find("</svg>").unwrap()];
        assert_eq!(matrix.matches("<circle").count(), 3);
        assert_eq!(
            matrix.matches("stroke-dasharray=\"3 3\"").count(),
            1,
            "one dropped theme"
        );
        assert!(matrix.contains("FIX FIRST"));
        let sat = &html[html.find("<svg class=\"saturation\"").unwrap()..];
        assert!(sat.contains("<path d=\"M"));
        assert!(sat.contains("+2"));
        assert!(sat.contains("NO NEW KEPT THEME"));
    }

    #[test]
    fn ids_and_paths_are_sanitised() {
        let mut used = BTreeSet::new();
        assert_eq!(
            unique_id("story", "Delivery & waiting", &mut used),
            "story-delivery-waiting"
        );
        assert_eq!(
            unique_id("story", "delivery--waiting", &mut used),
            "story-delivery-waiting-2"
        );
        assert_eq!(unique_id("story", "ąčę", &mut used), "story");
        assert_eq!(encode_path("rec\\a b.m4a"), "rec/a%20b.m4a");
        assert_eq!(encode_path("ąžuolas.wav"), "%C4%85%C5%BEuolas.wav");
        assert_eq!(esc("a\u{0}b"), "a\u{FFFD}b");
    }
}
