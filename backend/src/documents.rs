//! PDF documents a patient downloads: the immunization record and the health summary. Text
//! is real, selectable PDF text in the standard Helvetica fonts (printpdf).

use domain::records::{
    AllergyView, ImmunizationView, MedicationView, ProblemView, ResultDay, VisitView, VitalView,
};
use printpdf::{
    BuiltinFont, IndirectFontRef, Mm, PdfDocument, PdfDocumentReference, PdfLayerReference,
};

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 18.0;
/// Helvetica's average advance is about half its size; a little under that keeps lines inside.
const CHAR_W_PER_PT: f32 = 0.19;

/// Who the document is about, as printed at its top.
pub struct Subject<'a> {
    pub name: &'a str,
    pub birth_date: &'a str,
    pub clinic: &'a str,
    pub printed_on: &'a str,
}

/// A page-by-page writer: keeps the cursor, starts a new page when the next line would not fit.
struct Writer {
    doc: PdfDocumentReference,
    layer: PdfLayerReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    y: f32,
    page: u32,
    footer: String,
}

impl Writer {
    fn new(title: &str, footer: String) -> Result<Self, String> {
        let (doc, page, layer) = PdfDocument::new(title, Mm(PAGE_W), Mm(PAGE_H), "text");
        let regular = doc
            .add_builtin_font(BuiltinFont::Helvetica)
            .map_err(|e| e.to_string())?;
        let bold = doc
            .add_builtin_font(BuiltinFont::HelveticaBold)
            .map_err(|e| e.to_string())?;
        let layer = doc.get_page(page).get_layer(layer);
        let w = Self {
            doc,
            layer,
            regular,
            bold,
            y: PAGE_H - MARGIN,
            page: 1,
            footer,
        };
        w.page_footer();
        Ok(w)
    }

    fn page_footer(&self) {
        self.layer.use_text(
            format!("{}  ·  page {}", self.footer, self.page),
            8.0,
            Mm(MARGIN),
            Mm(10.0),
            &self.regular,
        );
    }

    /// Makes room for `height` mm, starting a new page when needed.
    fn room(&mut self, height: f32) {
        if self.y - height < MARGIN + 6.0 {
            let (page, layer) = self.doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "text");
            self.layer = self.doc.get_page(page).get_layer(layer);
            self.page += 1;
            self.y = PAGE_H - MARGIN;
            self.page_footer();
        }
    }

    fn text(&mut self, s: &str, size: f32, bold: bool, x: f32) {
        let font = if bold { &self.bold } else { &self.regular };
        self.layer
            .use_text(printable(s), size, Mm(x), Mm(self.y), font);
    }

    fn line_height(size: f32) -> f32 {
        size * 0.3528 * 1.35
    }

    fn title(&mut self, s: &str) {
        self.room(12.0);
        self.text(s, 18.0, true, MARGIN);
        self.y -= 10.0;
    }

    fn heading(&mut self, s: &str) {
        self.room(14.0);
        self.y -= 3.0;
        self.text(s, 13.0, true, MARGIN);
        self.y -= 7.0;
    }

    /// A paragraph, wrapped to the page width.
    fn para(&mut self, s: &str, size: f32) {
        let width = PAGE_W - 2.0 * MARGIN;
        for line in wrap(s, chars_for(width, size)) {
            self.room(Self::line_height(size));
            self.text(&line, size, false, MARGIN);
            self.y -= Self::line_height(size);
        }
    }

    /// "Label: value" lines.
    fn field(&mut self, label: &str, value: &str) {
        self.room(Self::line_height(10.0));
        self.text(&format!("{label}:"), 10.0, true, MARGIN);
        self.text(value, 10.0, false, MARGIN + 34.0);
        self.y -= Self::line_height(10.0);
    }

    /// One table row: each cell wrapped inside its column (x positions and widths in mm).
    fn row(&mut self, cols: &[(f32, f32)], cells: &[&str], bold: bool) {
        let size = 9.0;
        let wrapped: Vec<Vec<String>> = cols
            .iter()
            .zip(cells)
            .map(|((_, w), c)| wrap(c, chars_for(*w - 2.0, size)))
            .collect();
        let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let lh = Self::line_height(size);
        self.room(lh * lines as f32 + 1.5);
        for ((x, _), cell) in cols.iter().zip(&wrapped) {
            for (i, l) in cell.iter().enumerate() {
                let font = if bold { &self.bold } else { &self.regular };
                self.layer
                    .use_text(printable(l), size, Mm(*x), Mm(self.y - lh * i as f32), font);
            }
        }
        self.y -= lh * lines as f32 + 1.5;
    }

    fn gap(&mut self, mm: f32) {
        self.y -= mm;
    }

    fn finish(self) -> Result<Vec<u8>, String> {
        self.doc.save_to_bytes().map_err(|e| e.to_string())
    }
}

/// The standard PDF fonts print Windows-1252 only and drop anything else without a trace:
/// a reference range "≤ 5" would read " 5". Signs that matter are spelled out; any other
/// character outside the set becomes "?" so that a reader sees something is missing.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '≤' => out.push_str("<="),
            '≥' => out.push_str(">="),
            '−' => out.push('-'),
            '→' => out.push_str("->"),
            c if c.is_ascii() || in_windows_1252(c) => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// Characters the standard fonts' encoding has: Latin-1 and the extra 0x80–0x9F symbols.
fn in_windows_1252(c: char) -> bool {
    matches!(c as u32, 0xA0..=0xFF) || "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ".contains(c)
}

fn chars_for(width_mm: f32, size: f32) -> usize {
    ((width_mm / (size * CHAR_W_PER_PT * 1.0)).floor() as usize).max(8)
}

/// Greedy word wrap; a word longer than a line is cut.
pub fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut out = vec![];
    for para in s.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word = word.to_owned();
            while word.chars().count() > width {
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                out.push(head);
            }
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        out.push(line);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

fn header(w: &mut Writer, title: &str, who: &Subject<'_>) {
    w.title(title);
    w.field("Patient", who.name);
    w.field("Date of birth", who.birth_date);
    w.field("Clinic", who.clinic);
    w.field("Printed on", who.printed_on);
    w.gap(3.0);
}

fn or_dash(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

/// The immunization record for school or travel: every vaccine with date, dose, lot and who
/// gave it, oldest first.
pub fn immunization_pdf(who: &Subject<'_>, shots: &[ImmunizationView]) -> Result<Vec<u8>, String> {
    let mut w = Writer::new(
        "Immunization record",
        format!("Immunization record of {} · {}", who.name, who.clinic),
    )?;
    header(&mut w, "Immunization record", who);
    if shots.is_empty() {
        w.para("No immunizations are on record.", 10.0);
        return w.finish();
    }
    let cols = [
        (MARGIN, 24.0),
        (MARGIN + 24.0, 66.0),
        (MARGIN + 90.0, 30.0),
        (MARGIN + 120.0, 22.0),
        (MARGIN + 142.0, 32.0),
    ];
    w.row(
        &cols,
        &["Date", "Vaccine", "Dose", "Lot", "Administered by"],
        true,
    );
    let mut ordered: Vec<&ImmunizationView> = shots.iter().collect();
    ordered.sort_by(|a, b| a.date.cmp(&b.date).then(a.name.cmp(&b.name)));
    for s in ordered {
        let dose = match (&s.dose, &s.dose_number) {
            (Some(d), Some(n)) => format!("{d}, dose {n}"),
            (Some(d), None) => d.clone(),
            (None, Some(n)) => format!("dose {n}"),
            (None, None) => "-".into(),
        };
        w.row(
            &cols,
            &[
                s.date.as_deref().unwrap_or("-"),
                &s.name,
                &dose,
                or_dash(&s.lot),
                or_dash(&s.performer),
            ],
            false,
        );
    }
    w.gap(4.0);
    w.para(
        "This record lists the vaccinations held by the clinic named above. Ask the clinic for a signed certificate where one is required.",
        8.5,
    );
    w.finish()
}

/// Everything the health summary holds, already narrowed to its date range.
pub struct Summary<'a> {
    pub range: &'a str,
    pub problems: &'a [ProblemView],
    pub medications: &'a [MedicationView],
    pub allergies: &'a [AllergyView],
    pub immunizations: &'a [ImmunizationView],
    pub visits: &'a [VisitView],
    pub results: &'a [ResultDay],
    pub vitals: &'a [VitalView],
}

/// The health summary for a chosen date range.
pub fn summary_pdf(who: &Subject<'_>, s: &Summary<'_>) -> Result<Vec<u8>, String> {
    let mut w = Writer::new(
        "Health summary",
        format!("Health summary of {} · {}", who.name, who.clinic),
    )?;
    header(&mut w, "Health summary", who);
    w.field("Covers", s.range);

    w.heading("Problems");
    if s.problems.is_empty() {
        w.para("None on record for these dates.", 10.0);
    }
    for p in s.problems {
        let since = p
            .onset
            .as_deref()
            .map(|o| format!(", since {o}"))
            .unwrap_or_default();
        w.para(&format!("{} ({}{since})", p.name, p.status), 10.0);
    }

    w.heading("Medications");
    if s.medications.is_empty() {
        w.para("None on record for these dates.", 10.0);
    }
    for m in s.medications {
        let dosage = m
            .dosage
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        w.para(&format!("{} ({}){dosage}", m.name, m.status), 10.0);
    }

    w.heading("Allergies");
    if s.allergies.is_empty() {
        w.para("None on record for these dates.", 10.0);
    }
    for a in s.allergies {
        let reaction = a
            .reaction
            .as_deref()
            .map(|r| format!(", reaction: {r}"))
            .unwrap_or_default();
        w.para(
            &format!("{} ({}, {}{reaction})", a.name, a.status, a.criticality),
            10.0,
        );
    }

    w.heading("Visits");
    if s.visits.is_empty() {
        w.para("No visits in these dates.", 10.0);
    }
    for v in s.visits {
        let mut line = format!("{}: {}", v.date_label.as_deref().unwrap_or("-"), v.kind);
        if let Some(c) = &v.clinician {
            line.push_str(&format!(" with {c}"));
        }
        if let Some(l) = &v.location {
            line.push_str(&format!(" at {l}"));
        }
        w.para(&line, 10.0);
        if let Some(r) = &v.reason {
            w.para(&format!("Reason: {r}"), 9.0);
        }
        if !v.diagnoses.is_empty() {
            w.para(&format!("Diagnoses: {}", v.diagnoses.join("; ")), 9.0);
        }
        if !v.medications_started.is_empty() {
            w.para(
                &format!("Started: {}", v.medications_started.join("; ")),
                9.0,
            );
        }
        if !v.medications_stopped.is_empty() {
            w.para(
                &format!("Stopped: {}", v.medications_stopped.join("; ")),
                9.0,
            );
        }
        for i in &v.instructions {
            w.para(&format!("Instructions: {i}"), 9.0);
        }
        w.gap(1.5);
    }

    w.heading("Test results");
    if s.results.is_empty() {
        w.para("No results in these dates.", 10.0);
    }
    let cols = [
        (MARGIN, 70.0),
        (MARGIN + 70.0, 36.0),
        (MARGIN + 106.0, 44.0),
        (MARGIN + 150.0, 24.0),
    ];
    for day in s.results {
        w.para(&day.label, 10.0);
        w.row(&cols, &["Test", "Result", "Reference range", "Flag"], true);
        for r in day.reports.iter().flat_map(|r| &r.rows) {
            let value = match &r.unit {
                Some(u) => format!("{} {u}", r.value),
                None => r.value.clone(),
            };
            w.row(
                &cols,
                &[&r.name, &value, or_dash(&r.range), r.flag.label()],
                false,
            );
        }
        w.gap(1.5);
    }

    w.heading("Vital signs");
    if s.vitals.is_empty() {
        w.para("None in these dates.", 10.0);
    }
    for v in s.vitals {
        w.para(&format!("{}: {} ({})", v.date_label, v.name, v.value), 9.0);
    }

    w.heading("Immunizations");
    if s.immunizations.is_empty() {
        w.para("None in these dates.", 10.0);
    }
    for i in s.immunizations {
        w.para(
            &format!("{}: {}", i.date.as_deref().unwrap_or("-"), i.name),
            9.0,
        );
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn signs_the_standard_fonts_cannot_print_are_spelled_out() {
        assert_eq!(super::printable("≤ 5 mg/L"), "<= 5 mg/L");
        assert_eq!(super::printable("≥ 60"), ">= 60");
        assert_eq!(super::printable("Zoë · 3–4 °C"), "Zoë · 3–4 °C");
        assert_eq!(super::printable("李"), "?");
    }

    #[test]
    fn wrapping_keeps_every_word_and_respects_the_width() {
        let text = "Influenza, trivalent, preservative free (Fluzone 2025-2026 formula)";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }
}
